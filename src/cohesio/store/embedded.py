"""The embedded backend: the published pyoxigraph store, queried through killable processes."""

from __future__ import annotations

import os
import threading

import pyoxigraph as ox

from cohesio import versions
from cohesio.config import Settings
from cohesio.sparql import lookup
from cohesio.sparql.executor import Job, Outcome, QueryPool, evaluate, evaluate_within_cap


#: How much lower the CPU priority of /sparql query processes is (os.nice): heavy public queries
#: take what the pages and the API leave.
PUBLIC_NICENESS = 10


class EmbeddedBackend:
    """Serves ``<store_dir>/current`` and follows it when a new version is published.

    The pointer is a symlink, so noticing a new build costs one ``readlink`` per request; the
    query processes are then replaced one by one as they become free.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._store_dir = settings.store_path
        self._lock = threading.Lock()
        self._version = versions.current(self._store_dir)
        self._link = os.readlink(self._store_dir / versions.CURRENT)
        # Two pools: the library's own queries (pages, named queries) never wait behind the queries
        # anyone sends to /sparql, which run at a lower CPU priority and may overflow into extra
        # processes rather than queue behind long ones (benchmarks/load.py measures it).
        memory = {"memory_limit_mib": settings.query_memory_limit, "recycle_mib": settings.query_process_recycle}
        self._pool = QueryPool(self._version.store_path, size=settings.query_processes,
                               timeout=settings.query_timeout, **memory)
        self._public = QueryPool(self._version.store_path, size=settings.query_processes,
                                 timeout=settings.query_timeout, nice=PUBLIC_NICENESS,
                                 overflow=settings.query_processes, **memory)
        self._graphs: list[str] | None = None
        #: This server worker's own read-only handle on the served version, for lookups answered
        #: in the request thread (opening one costs milliseconds; pyoxigraph reads are thread-safe).
        self._store: tuple[str, ox.Store] | None = None
        #: Lookups answered in the request thread (for tests and operators).
        self.inline_answers = 0

    def _refresh(self) -> None:
        try:
            link = os.readlink(self._store_dir / versions.CURRENT)
        except OSError:
            return
        if link == self._link:
            return
        with self._lock:
            if link != self._link:
                self._version = versions.current(self._store_dir)
                self._link = link
                self._graphs = None
                self._pool.switch(self._version.store_path)
                self._public.switch(self._version.store_path)

    @property
    def version(self) -> str:
        self._refresh()
        return self._version.id

    @property
    def published(self) -> versions.Version:
        """The version being served (directory and manifest, read together)."""
        self._refresh()
        return self._version

    @property
    def manifest(self) -> dict:
        self._refresh()
        return self._version.manifest

    def graphs(self) -> list[str]:
        self._refresh()
        if self._graphs is None:
            store = self._version.open_store()
            self._graphs = sorted(g.value for g in store.named_graphs())
        return self._graphs

    def run(self, job: Job, timeout: float | None = None) -> Outcome:
        self._refresh()
        if job.public and self._settings.inline_lookup_budget:
            bound = self._lookup_bound(job)
            if bound is not None:
                with self._lock:
                    self.inline_answers += 1
                store = self._open_store()
                return evaluate_within_cap(store, job) if bound <= job.max_rows else evaluate(store, job)
        return (self._public if job.public else self._pool).run(job, timeout)

    def _lookup_bound(self, job: Job) -> int | None:
        """If ``job`` is a lookup whose work is bounded before it runs (cohesio.sparql.lookup), that
        bound: the query-process hop, most of the cost of a lookup, is then not needed for a time
        bound. ``None`` for every other query."""
        if job.default_graphs or job.named_graphs or not job.union_default_graph or job.substitutions:
            return None
        patterns = lookup.anchored_patterns(job.query)
        if patterns is None:
            return None
        return lookup.bound(self._open_store(), patterns, self._settings.inline_lookup_budget)

    def _open_store(self) -> ox.Store:
        version = self._version
        held = self._store
        if held is None or held[0] != version.id:
            held = (version.id, version.open_store())
            self._store = held
        return held[1]

    def run_inline(self, job: Job) -> Outcome:
        """Evaluate in this process, for the library's own trusted, bounded queries."""
        self._refresh()
        return evaluate(self._version.open_store(), job)

    def close(self) -> None:
        self._pool.close()
        self._public.close()
