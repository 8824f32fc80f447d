"""Allow ``python -m cohesio`` as well as the ``cohesio`` console script."""

from cohesio.cli import main

if __name__ == "__main__":
    main()
