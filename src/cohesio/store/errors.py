"""Failures of a backend that are not the query's fault (kept apart so the web layer can catch
them without importing the remote client)."""

from __future__ import annotations


class RemoteError(Exception):
    """The remote server failed or refused in a way that is not the query's fault."""


class RemoteUnavailable(RemoteError):
    """The remote server could not be reached at all."""

    def __init__(self, url: str, reason: object) -> None:
        super().__init__(
            f"Serveur SPARQL injoignable ({url}) : {reason}. Vérifiez qu'il est démarré et l'adresse configurée. / "
            f"SPARQL server unreachable ({url}): {reason}. Check that it is running and the configured URL."
        )
        self.url = url


class RemoteNotLoaded(RemoteError):
    """The server answers, but holds no cohesio version (``cohesio push`` never ran against it)."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"Le serveur {url} ne contient aucune version de cohesio : lancez « cohesio push ». / "
            f"The server {url} holds no cohesio version: run 'cohesio push'."
        )
