"""Allow ``python -m cohesio`` as well as the ``cohesio`` console script."""

from cohesio.cli import run as main

if __name__ == "__main__":
    main()
