"""Run SPARQL queries in worker processes that can be killed, so every query has a real time bound.

pyoxigraph's ``Store.query`` has no timeout and a Python signal cannot interrupt it (it only fires
when the query ends), so a bound that really stops the work must kill the process doing it. Each
worker holds the read-only store of the published version, evaluates one query at a time and sends
back serialised bytes, so the only cost of the process boundary is one copy of the answer.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from cohesio.sparql import formats


@dataclass(frozen=True)
class Job:
    """One query to run. Graph lists follow the SPARQL protocol's dataset parameters."""

    query: str
    format: str  # a name of cohesio.sparql.formats.BY_NAME
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    substitutions: tuple[tuple[str, str], ...] = ()  # (variable, N-Triples term)
    union_default_graph: bool = True
    max_rows: int = 10_000
    max_chars: int = formats.MAX_RESULT_CHARS
    prefixes: tuple[tuple[str, str], ...] = ()
    #: A query written by anyone (``/sparql``), as opposed to the library's own bounded queries
    #: (pages, named queries): it runs in its own, lower-priority pool (see EmbeddedBackend).
    public: bool = False


@dataclass(frozen=True)
class Outcome:
    body: bytes
    form: str
    format: str
    rows: int | None  # None: not counted (evaluate_within_cap)
    truncated: bool
    seconds: float = 0.0


class QueryError(Exception):
    """The engine refused the query (syntax error, bad IRI…): a client error."""


class QueryTimeout(Exception):
    """The query ran past its time bound and its worker was killed."""


class QueryCrashed(Exception):
    """The query process died while evaluating (e.g. the engine exhausted its stack, or the query
    needed more memory than ``query_memory_limit``): a server-side failure of that one query,
    answered 503; a fresh process has taken its place."""


class PoolClosed(Exception):
    pass


# ------------------------------------------------------------------ inside the worker


def _parse_term(text: str):
    """A single N-Triples term, as the API's bound parameters are passed."""
    quad = next(ox.parse(f"<urn:s> <urn:p> {text} .", format=ox.RdfFormat.N_TRIPLES))
    return quad.object


def evaluate(store: ox.Store, job: Job) -> Outcome:
    """Evaluate one job against an open store. Used in workers, and directly by tests."""
    started = time.perf_counter()
    return _write(_query(store, job), job, started)


#: Result formats pyoxigraph writes exactly as cohesio's own writer does (tests/test_sparql_lookup.py
#: compares them). Not TSV: pyoxigraph shortens numbers there (``1`` for ``"1"^^xsd:integer``).
_ENGINE_WRITERS = {"json": ox.QueryResultsFormat.JSON, "csv": ox.QueryResultsFormat.CSV}


def evaluate_within_cap(store: ox.Store, job: Job) -> Outcome:
    """Evaluate a job whose solutions are known, before it runs, to be at most ``job.max_rows``
    (a lookup counted by :mod:`cohesio.sparql.lookup`): the engine's own writer can then write the
    whole result, which costs about half of cohesio's capped writer on a small answer. The text
    bound still holds: the engine's writer is stopped past ``max_chars`` bytes and the job
    evaluated again through the capped writer.
    ``rows`` is then not counted (``None``)."""
    started = time.perf_counter()
    result = _query(store, job)
    native = _ENGINE_WRITERS.get(job.format)
    if native is None or not isinstance(result, ox.QuerySolutions):
        return _write(result, job, started)
    out = _BoundedOutput(job.max_chars)
    try:
        result.serialize(out, format=native)
    except _BoundedOutput.Full:  # wider rows than the count foresaw: the capped writer cuts them
        return evaluate(store, job)
    return Outcome(b"".join(out.parts), "SELECT", job.format, None, False, time.perf_counter() - started)


class _BoundedOutput:
    """A file for pyoxigraph's writer that stops it (by raising) once past ``limit`` bytes, so a
    result of few rows but wide ones is never written whole."""

    class Full(Exception):
        pass

    def __init__(self, limit: int) -> None:
        self.limit, self.size, self.parts = limit, 0, []

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise self.Full()
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def _query(store: ox.Store, job: Job):
    kwargs: dict = {}
    try:
        if job.default_graphs:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
        elif job.union_default_graph:
            kwargs["use_default_graph_as_union"] = True
        if job.named_graphs:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    except ValueError as exc:  # a client-given graph IRI that is not an IRI
        raise QueryError(f"default-graph-uri / named-graph-uri : {exc}") from None
    if job.substitutions:
        kwargs["substitutions"] = {ox.Variable(v): _parse_term(t) for v, t in job.substitutions}
    try:
        return store.query(job.query, **kwargs)
    except SyntaxError as exc:
        raise QueryError(str(exc)) from None


def _write(result, job: Job, started: float) -> Outcome:
    fmt = formats.BY_NAME[job.format]
    if isinstance(result, ox.QueryBoolean):
        if fmt.kind != "solutions":
            fmt = formats.SOLUTION_FORMATS[0]
        body = formats.write_solutions(fmt, [], [], boolean=bool(result))
        return Outcome(body, "ASK", fmt.name, 1, False, time.perf_counter() - started)
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        if fmt.kind != "solutions":
            fmt = formats.SOLUTION_FORMATS[0]
        if fmt.name == "json":
            body, count, truncated = formats.capped_json(result, variables, job.max_rows, job.max_chars)
            return Outcome(body, "SELECT", fmt.name, count, truncated, time.perf_counter() - started)
        rows, truncated = formats.capped_rows(result, job.max_rows, job.max_chars)
        body = formats.write_solutions(fmt, variables, rows)
        return Outcome(body, "SELECT", fmt.name, len(rows), truncated, time.perf_counter() - started)
    triples, truncated = formats.capped(iter(result), job.max_rows, job.max_chars)
    if fmt.kind != "graph":
        fmt = formats.GRAPH_FORMATS[0]
    body = formats.write_graph(fmt, triples, dict(job.prefixes))
    return Outcome(body, "CONSTRUCT", fmt.name, len(triples), truncated, time.perf_counter() - started)


def _die_with_parent(parent: int) -> None:
    """Be killed by the kernel when the server worker that started this process dies.

    A worker killed with SIGKILL (OOM killer, gunicorn's own timeout, an operator) cannot stop its
    query processes, and a query holds the GIL while it runs, so nothing in this process could
    notice either: without this, a query that runs for hours would go on with nobody waiting.
    Linux only (``PR_SET_PDEATHSIG``); elsewhere a no-op.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the worker died before the signal was set up
        os._exit(0)


def _without_network() -> bool:
    """Move this process into a network namespace of its own, where no interface is up, so that the
    engine cannot open a connection whatever it is asked (``SERVICE``, ``FROM`` of a remote IRI).

    The guard refuses such queries before they get here; this is the second wall, for a query that
    would slip past it (two reviews found lexer tricks that did). Linux only; an unprivileged user
    namespace is tried first, then the network namespace alone (root). Where neither is allowed
    (some containers), nothing changes and the guard is the only wall. Must run before the process
    starts threads (the store opens its own).
    """
    try:
        import ctypes

        unshare = ctypes.CDLL(None, use_errno=True).unshare
    except (OSError, AttributeError):
        return False
    clone_newuser, clone_newnet = 0x10000000, 0x40000000
    return unshare(clone_newuser | clone_newnet) == 0 or unshare(clone_newnet) == 0


def _limit_heap(mib: int) -> None:
    """Bound the memory this process may allocate (RLIMIT_DATA: heap and private mappings, not the
    store's files). A query that needs more fails its allocation and the process ends: the server
    answers 503 and starts a fresh one, instead of the machine swapping or the OOM killer choosing."""
    if mib <= 0:
        return
    try:
        import resource

        limit = mib * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (ImportError, ValueError, OSError):  # not Linux, or not allowed: the time bound still holds
        pass


def resident_bytes() -> int:
    """This process's resident memory now (not its peak), from /proc; 0 where unknown."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _worker_main(store_path: str, conn: Connection, parent: int | None = None, nice: int = 0,
                 memory_limit_mib: int = 0) -> None:
    if parent is not None:
        _die_with_parent(parent)
    _without_network()
    if nice:
        os.nice(nice)  # a heavy public query yields the CPU to pages and API calls
    _limit_heap(memory_limit_mib)
    store = ox.Store.read_only(store_path)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            reply: tuple = ("ok", evaluate(store, job))
        except QueryError as exc:
            reply = ("query-error", str(exc))
        except MemoryError:  # Python's own allocations past the bound; the engine's abort the process
            reply = ("memory", "")
        except Exception as exc:  # an engine failure must not kill the worker silently
            reply = ("error", f"{type(exc).__name__}: {exc}")
        # the resident memory after the query, so the pool can replace a process a large query grew
        conn.send(reply + (resident_bytes(),))


# ------------------------------------------------------------------ in the server


@dataclass
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection
    store_path: str
    jobs: int = field(default=0)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class QueryPool:
    """A fixed number of worker processes over one published store.

    ``run`` borrows an idle worker (waiting if all are busy), sends the job and waits at most
    ``timeout`` seconds; on timeout the worker is killed, a fresh one takes its place, and
    :class:`QueryTimeout` is raised. Other requests keep being served by the other workers.
    """

    def __init__(self, store_path: Path | str, size: int = 2, timeout: float = 30.0, *, nice: int = 0,
                 overflow: int = 0, memory_limit_mib: int = 0, recycle_mib: int = 0) -> None:
        self._ctx = mp.get_context("spawn")  # no fork after threads: gunicorn and Flask use them
        self._store_path = str(store_path)
        self.timeout = timeout
        self.size = size
        self.nice = nice
        #: Extra processes started when every one is busy, so that a query arriving behind long
        #: ones starts at once instead of waiting for them (each is retired after its query).
        self.overflow = overflow
        #: Heap bound of each query process (MiB, 0: none), and the resident size past which a
        #: process is replaced after its query (MiB, 0: never).
        self.memory_limit_mib = memory_limit_mib
        self.recycle_mib = recycle_mib
        #: Processes replaced because a query left them above ``recycle_mib`` (for tests and stats).
        self.recycled = 0
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._all: list[_Worker] = []
        self._closed = False
        # Query processes are started from this one long-lived thread: the kernel's parent-death
        # signal (see _die_with_parent) follows the *thread* that started a process, and a request
        # thread that replaces a killed process may end (Flask's threaded server, tests).
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cohesio-spawn")
        for _ in range(size):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        try:
            future = self._spawner.submit(self._start)
        except RuntimeError:  # the pool is closed: the process is retired at once anyway
            return self._start()
        return future.result()

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main,
                                    args=(self._store_path, child, os.getpid(), self.nice, self.memory_limit_mib),
                                    daemon=True, name="cohesio-query")
        process.start()
        child.close()
        worker = _Worker(process, parent, self._store_path)
        with self._lock:
            self._all.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def switch(self, store_path: Path | str) -> None:
        """Serve another published version: idle workers are replaced now, busy ones when done."""
        self._store_path = str(store_path)

    @property
    def store_path(self) -> str:
        return self._store_path

    def run(self, job: Job, timeout: float | None = None) -> Outcome:
        if self._closed:
            raise PoolClosed()
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        worker = self._borrow(limit)
        if worker.store_path != self._store_path or not worker.process.is_alive():
            self._retire(worker)
            worker = self._spawn()
        resident = 0  # the process's resident bytes after the query, as it reports them
        try:
            worker.conn.send(job)
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._retire(worker)
                worker = self._spawn()
                raise QueryTimeout()
            status, payload, resident = worker.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            self._retire(worker)
            worker = self._spawn()
            raise QueryCrashed() from None
        finally:
            with self._lock:
                surplus = len(self._all) > self.size
            if self._closed or surplus:
                self._retire(worker)
            elif self.recycle_mib and resident > self.recycle_mib * 1024 * 1024:
                self._replace_later(worker)
            else:
                self._idle.put(worker)
        if status == "ok":
            return payload
        if status == "query-error":
            raise QueryError(payload)
        if status == "memory":
            raise QueryCrashed()
        raise RuntimeError(payload)

    def _replace_later(self, worker: _Worker) -> None:
        """Retire a process a query grew, and start its successor on the spawner thread: the answer
        is not held up by the new process's start (the others serve meanwhile)."""
        with self._lock:  # request threads finish their queries concurrently
            self.recycled += 1
        self._retire(worker)

        def started(future) -> None:  # noqa: ANN001
            try:
                fresh = future.result()
            except Exception:  # noqa: BLE001 - the next run() spawns one if none is idle
                return
            if self._closed:
                self._retire(fresh)
            else:
                self._idle.put(fresh)

        try:
            self._spawner.submit(self._start).add_done_callback(started)
        except RuntimeError:  # the pool is closing
            pass

    def pids(self) -> list[int]:
        """The query processes' ids (for tests and operators)."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]

    def _borrow(self, limit: float) -> _Worker:
        """An idle process; if none frees up within a moment, an extra one (up to ``overflow``)."""
        if self.overflow:
            try:
                return self._idle.get(timeout=min(0.05, limit))
            except queue.Empty:
                with self._lock:
                    room = len(self._all) < self.size + self.overflow
                if room:
                    return self._spawn()
        try:
            return self._idle.get(timeout=limit)
        except queue.Empty:
            raise QueryTimeout() from None

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            worker.kill()
        self._all.clear()
        self._spawner.shutdown(wait=False)
