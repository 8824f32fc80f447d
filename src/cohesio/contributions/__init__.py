"""Contributions: editors' changes, validated incrementally with SHACL, logged, then published.

A change is a set of removed and added quads with who, when and why. Accepted changes are kept
as an append-only log of files (``contributions/``) next to ``data/``; a build replays them, and
the server's writer applies each one to a new published version, so the published graph is always
``data/`` plus the log.
"""
