"""cohesio: publish local social-cohesion initiatives as validated linked open data.

The package is a library first: :mod:`cohesio.build` turns the sources into a published,
immutable version; :mod:`cohesio.cli` and (later) the web layer are thin shells over it.
"""

__version__ = "0.1.0"
