"""Where the graph is queried: the embedded pyoxigraph store, or an existing SPARQL server.

Both backends answer the same :class:`~cohesio.sparql.executor.Job` with the same
:class:`~cohesio.sparql.executor.Outcome`, so the web layer and the tests do not know which one
they talk to.
"""

from __future__ import annotations

from typing import Protocol

from cohesio.config import Settings
from cohesio.sparql.executor import Job, Outcome


class Backend(Protocol):
    #: Identifies the data being served (ETags, caches); changes when a new version is published.
    @property
    def version(self) -> str: ...

    #: The IRIs of the named graphs (for the service description and dataset checks).
    def graphs(self) -> list[str]: ...

    def run(self, job: Job, timeout: float | None = None) -> Outcome: ...

    def close(self) -> None: ...


def open_backend(settings: Settings) -> Backend:
    if settings.backend == "remote":
        from cohesio.store.remote import RemoteBackend

        return RemoteBackend(settings)
    from cohesio.store.embedded import EmbeddedBackend

    return EmbeddedBackend(settings)
