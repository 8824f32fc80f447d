"""Scale benchmark: the real ``cohesio build`` and ``cohesio serve`` on national-scale synthetic data,
side by side with the raw tools (pyoxigraph, pyshacl) and rdflib-endpoint, at several sizes in one run.

For each size (a number of initiatives; ``--sizes 10000,100000,1000000``):

1. **data as project sources**: a project directory whose ``ontology/``, ``shapes/``, ``queries/``,
   ``catalog.toml`` and the files of ``data/guide``, ``data/editorial``, ``data/geography`` are links
   to this repository's, plus the synthetic initiatives written by :func:`synthetic.write_sources`
   (``--territories`` mode: over communes, EPCIs, départements and régions of the official geography)
   as ``data/guide/synthetic-initiatives.nt`` and ``data/editorial/synthetic-initiatives.nt``;
2. **the real build**: :func:`cohesio.build.build` (what ``cohesio build`` runs) in a child process,
   its steps timed from outside by wrapping the functions it calls (parse, load, neighbourhood, union,
   copy for pyshacl, pyshacl, dumps, CSV, VoID statistics…), its peak memory taken, bounded by
   ``--build-budget`` seconds and ``--mem-limit`` GB (killed past them: the step it was in is reported);
   the store size on disk (``du`` of the version directory, of its store and of its dumps);
3. **the raw tools on the same data**: pyoxigraph ``bulk_load`` of the same source files into a fresh
   on-disk store; pyshacl alone (in a child, bounded by ``--shacl-budget``) on exactly the triples the
   build validates (the edited sources + the part of the geography they point at), once on an rdflib
   Graph (pyshacl's usual input) and once on a pyoxigraph Store (pyshacl 0.40's other input, without
   cohesio's patch);
4. **serving**: the real ``cohesio serve`` (gunicorn) on the published version; the memory of its
   whole process tree (gunicorn master, workers, query processes: sum of RSS and of PSS) sampled every
   0.25 s while the following run; the latency (median / p90 of ``--runs`` runs at concurrency 1, in
   interleaved rounds) of every named query of ``queries/`` (bound to resources of the data: Rennes,
   Ille-et-Vilaine, Bretagne, Ville de Rennes…), through ``/sparql`` (POST, the bound query text)
   and ``/api/<name>`` (the REST form), against pyoxigraph in-process on the same store (the floor)
   and rdflib-endpoint (same text, only up to ``--peer-max-triples``: it holds the graph in memory);
   pages of random resources of each kind (HTML and Turtle, ``/doc/…``), against a CONSTRUCT +
   Turtle in-process floor and the same CONSTRUCT on rdflib-endpoint; ``/catalog.ttl`` and
   ``/.well-known/void``.

Results: ``benchmarks/results/scale-<sizes>.{json,md}``. Work files under ``--work-dir``
(default /tmp/cohesio-scale; one directory per size, removed after it unless ``--keep-work``).
All traffic is to 127.0.0.1. Run it niced on a shared machine::

    nice -n 10 .venv/bin/python benchmarks/scale.py --sizes 10000,100000
    nice -n 10 .venv/bin/python benchmarks/scale.py --tiny --sizes 200 --runs 1   # smoke (tests/test_scale_smoke.py)

The rdflib-endpoint peer needs its own venv (see benchmarks/endpoint.py); without it, it is skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

import pyoxigraph as ox  # noqa: E402

import synthetic  # noqa: E402

PYTHON = sys.executable
COHESIO_BIN = Path(sys.executable).parent / "cohesio"
PEER_PYTHON = HERE / ".venv-peers" / "bin" / "python"
GiB = 1024 ** 3
MiB = 1024 ** 2

#: The communes of a tiny run (``--tiny``): a mini geography, no official geography file.
TINY_COMMUNES = [
    synthetic.Commune("35238", "Rennes", "35", 227830, "243500139"),
    synthetic.Commune("35047", "Bruz", "35", 18900, "243500139"),
    synthetic.Commune("35281", "Saint-Malo", "35", 47000, "200039022"),
    synthetic.Commune("86194", "Poitiers", "86", 90000, "200069854"),
    synthetic.Commune("38151", "Échirolles", "38", 37000, "200040715"),
    synthetic.Commune("38185", "Grenoble", "38", 157000, "200040715"),
]

#: Which probe of the data binds each parameter name of the named queries (others: their default).
PARAM_PROBES = {"commune": "commune", "departement": "departement", "region": "region", "initiative": "initiative",
                "actor": "actor", "practice": "practice", "theme": "theme", "audience": "audience"}

#: Kinds of resources whose pages are measured (first path segment after id/ → kind).
PAGE_KINDS = {"initiative": "initiative", "organization": "organization", "commune": "commune", "epci": "epci",
              "departement": "departement", "region": "region", "theme": "concept", "practice": "concept",
              "audience": "concept", "source": "source"}


# =========================================================================== process memory


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields after the last ')'
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    kids = _children()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(kids.get(pid, []))
    return found


def memory_of(pids: list[int]) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in bytes of ``pids`` (processes gone meanwhile count 0)."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith(b"Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


class MemorySampler(threading.Thread):
    """Samples the memory of the process trees of ``roots`` every ``interval`` seconds."""

    def __init__(self, roots: dict[str, int], interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.roots, self.interval = roots, interval
        self.peak: dict[str, dict] = {name: {"rss": 0, "pss": 0, "processes": 0} for name in roots}
        self.last: dict[str, dict] = {}
        #: peak of each phase (see :meth:`phase`), per root
        self.phases: dict[str, dict[str, dict]] = {}
        self.current_phase: str | None = None
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        for name, root in list(self.roots.items()):
            pids = tree(root)
            rss, pss = memory_of(pids)
            self.last[name] = {"rss": rss, "pss": pss, "processes": len(pids)}
            peak = self.peak.setdefault(name, {"rss": 0, "pss": 0, "processes": 0})
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            peak["processes"] = max(peak["processes"], len(pids))
            if self.current_phase is not None:
                ph = self.phases.setdefault(self.current_phase, {}).setdefault(name, {"rss": 0, "pss": 0})
                ph["rss"], ph["pss"] = max(ph["rss"], rss), max(ph["pss"], pss)
        self.samples += 1

    def phase(self, name: str) -> None:
        """Peaks from now on are also kept under ``name``."""
        self.current_phase = name

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def run_bounded(argv: list[str], *, budget: float, mem_limit: float, log: Path, env: dict | None = None,
                cwd: Path | None = None, status: Path | None = None) -> dict:
    """Run a child process group; kill it past ``budget`` seconds or ``mem_limit`` bytes of RSS (its
    whole tree). Returns status ("ok", "failed", "timeout", "memory"), seconds, peak RSS, and the
    last step the child wrote to ``status``."""
    started = time.perf_counter()
    peak = 0
    verdict = None
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        try:
            while proc.poll() is None:
                rss, _ = memory_of(tree(proc.pid))
                peak = max(peak, rss)
                elapsed = time.perf_counter() - started
                if rss > mem_limit:
                    verdict = "memory"
                elif elapsed > budget:
                    verdict = "timeout"
                if verdict:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
                time.sleep(0.5)
        except BaseException:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            raise
    result = {"status": verdict or ("ok" if proc.returncode == 0 else "failed"), "returncode": proc.returncode,
              "seconds": time.perf_counter() - started, "peak_rss": peak}
    if status is not None and status.exists():
        result["last_step"] = status.read_text(encoding="utf-8").strip()
    if result["status"] == "failed":
        result["log_tail"] = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    return result


# =========================================================================== child: the real build


def _build_child(argv: list[str]) -> int:
    """``scale.py _build PROJECT STORE OUT STATUS [--skip-validation]``: run cohesio's build,
    instrumented; write its timings to OUT (JSON)."""
    project, store, out, status = (Path(a) for a in argv[:4])
    skip_validation = "--skip-validation" in argv[4:]
    import pyshacl
    import rdflib

    import cohesio.build as B
    import cohesio.publishing.dumps as D
    import cohesio.publishing.void as VO
    import cohesio.validation as V
    import cohesio.versions as VS
    from cohesio.config import load_settings

    steps: dict[str, float] = {}
    stack: list[str] = []

    def wrap(module, name: str, label: str, replacement: Callable | None = None) -> None:
        if not hasattr(module, name):  # a step this version of cohesio does not have
            return
        original = replacement or getattr(module, name)

        def wrapper(*args, **kwargs):
            key = label if "validate reference" not in stack else f"validate reference > {label}"
            stack.append(label)
            status.write_text(key + "\n", encoding="utf-8")
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                steps[key] = steps.get(key, 0.0) + time.perf_counter() - t0
                stack.pop()
        setattr(module, name, wrapper)

    # Earlier versions validated one rdflib graph (load_data, union_graph, validate); since the
    # validation in pieces, the edited graphs are validated from the store (validate_graphs). Steps a
    # version lacks are left out, so that any commit can be measured.
    if skip_validation:
        empty = V.Report(conforms=True, violations=())
        wrap(B, "load_data", "parse (rdflib, edited sources)", lambda paths: rdflib.Dataset())
        wrap(B, "geography_neighbourhood", "geography neighbourhood", lambda store, base: rdflib.Graph())
        wrap(B, "validate_graphs", "validate (total)", lambda *a, **k: (empty, 0))
        wrap(B, "validate", "validate (total)" if not hasattr(B, "validate_graphs") else "validate (one graph)",
             lambda *a, **k: empty)
        wrap(B, "validate_reference", "validate reference", lambda *a, **k: None)
    else:
        wrap(B, "load_data", "parse (rdflib, edited sources)")
        wrap(B, "geography_neighbourhood", "geography neighbourhood")
        wrap(B, "validate_graphs", "validate (total)")
        wrap(B, "validate", "validate (total)" if not hasattr(B, "validate_graphs") else "validate (one graph)")
        wrap(B, "validate_reference", "validate reference")
    try:
        import cohesio.validation_chunks as VC
    except ImportError:  # before the validation in pieces
        VC = None
    for module, name, label in (
        (B, "fingerprint", "fingerprint (hash of the inputs)"),
        (B, "load_sources", "load (pyoxigraph bulk_load)"),
        (B, "union_graph", "union graph (rdflib copy)"),
        (B, "geography_nodes", "geography nodes (territories the data points at)"),
        (VC, "shapes_reach", "what the shapes read (shapes_reach)"),
        (VC, "neighbourhood", "neighbourhoods of the pieces"),
        (V, "load_shapes", "load shapes"),
        (V, "_data_store", "copy to pyoxigraph for pyshacl"),
        (pyshacl, "validate", "pyshacl.validate"),
        (B, "count_graphs", "count graphs"),
        (B, "write_artefacts", "artefacts (total)"),
        (D, "write_dumps", "dumps (Turtle, N-Triples, JSON-LD, N-Quads, CSV)"),
        (D, "initiatives_csv", "CSV of the initiatives"),
        (D, "resource_iris", "resource list (sitemap)"),
        (D, "summary", "summary (catalogue numbers)"),
        (VO, "compute_statistics", "VoID statistics"),
        (VO, "build_void", "VoID description"),
        (VS, "publish", "publish"),
        (VS, "prune", "prune"),
    ):
        if module is not None:
            wrap(module, name, label)

    def progress(step: str, done: int, total: int) -> None:
        if not stack:
            status.write_text(f"{step} {done}/{total}\n", encoding="utf-8")

    settings = load_settings(None, environ={}, project_dir=project, store_dir=store)
    started = time.perf_counter()
    result: dict = {"skip_validation": skip_validation}
    code = 0
    try:
        built = B.build(settings, progress)
        result.update({"published": True, "version": built.version.id, "path": str(built.version.path),
                       "counts": built.counts, "timings": built.timings, "conforms": built.report.conforms,
                       "results": len(built.report.violations)})
    except B.BuildRefused as refused:
        code = 1
        result.update({"published": False, "conforms": False, "results": len(refused.report.violations),
                       "first_results": [dataclasses.asdict(v) for v in refused.report.violations[:5]]})
    result["seconds"] = time.perf_counter() - started
    result["steps"] = steps
    result["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return code


# =========================================================================== child: pyshacl alone


def _shacl_child(argv: list[str]) -> int:
    """``scale.py _shacl MODE SHAPES OUT STATUS DATA...``: pyshacl alone on the DATA files (MODE
    rdflib: an rdflib Graph, pyshacl's usual input; oxigraph: a pyoxigraph Store)."""
    mode, shapes, out, status = argv[0], Path(argv[1]), Path(argv[2]), Path(argv[3])
    data = [Path(a) for a in argv[4:]]
    import pyshacl
    import rdflib

    result: dict = {"mode": mode}
    status.write_text("parse\n", encoding="utf-8")
    t0 = time.perf_counter()
    if mode == "rdflib":
        graph = rdflib.Graph()
        for path in data:
            graph.parse(path, format="nt" if path.suffix == ".nt" else "turtle")
        triples = len(graph)
    else:
        graph = ox.Store()
        for path in data:
            graph.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES if path.suffix == ".nt" else ox.RdfFormat.TURTLE)
        triples = len(graph)
    result["parse_seconds"] = time.perf_counter() - t0
    result["triples"] = triples
    shapes_graph = rdflib.Graph().parse(shapes, format="turtle")
    status.write_text("pyshacl.validate\n", encoding="utf-8")
    t0 = time.perf_counter()
    conforms, report, _text = pyshacl.validate(graph, shacl_graph=shapes_graph, inference="none", advanced=True,
                                               allow_warnings=True, abort_on_first=False, meta_shacl=False,
                                               inplace=True)
    result["validate_seconds"] = time.perf_counter() - t0
    result["conforms"] = bool(conforms)
    result["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def _floor_child(argv: list[str]) -> int:
    """``scale.py _floor STORE QUERYFILE OUT``: one in-process evaluation, for a query too slow to run
    unbounded in the benchmark process."""
    store = ox.Store.read_only(argv[0])
    text = Path(argv[1]).read_text(encoding="utf-8")
    t0 = time.perf_counter()
    body = store.query(text, use_default_graph_as_union=True).serialize(format=ox.QueryResultsFormat.JSON)
    seconds = time.perf_counter() - t0
    Path(argv[2]).write_text(json.dumps({"seconds": seconds, "rows": len(json.loads(body)["results"]["bindings"])}))
    return 0


# =========================================================================== the project


def make_project(project: Path, tiny: bool, seed: int, initiatives: int) -> synthetic.Dataset:
    """A project directory: the repository's sources linked, the synthetic initiatives written."""
    if project.exists():
        shutil.rmtree(project)
    for name in ("ontology", "shapes", "queries"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).symlink_to(REPO / name, target_is_directory=True)
    (project / "catalog.toml").symlink_to(REPO / "catalog.toml")
    if tiny:
        # the vocabularies only (the guide's own data points at territories a mini geography lacks)
        for graph, rel in synthetic.VOCABULARY_FILES:
            if rel.startswith("data/"):
                (project / rel).parent.mkdir(parents=True, exist_ok=True)
                (project / rel).symlink_to(REPO / rel)
        geo = project / "data" / "geography" / "mini.nt"
        geo.parent.mkdir(parents=True, exist_ok=True)
        geo.write_text("\n".join(synthetic.mini_geography(TINY_COMMUNES, graph=False)) + "\n", encoding="utf-8")
    else:
        for group in ("guide", "editorial", "geography"):
            (project / "data" / group).mkdir(parents=True, exist_ok=True)
            for path in sorted((REPO / "data" / group).iterdir()):
                if path.is_file():
                    (project / "data" / group / path.name).symlink_to(path)
    if initiatives <= 0:
        return synthetic.Dataset(project, 0, 0, 0, 0, 0, 0.0, seed, {})
    return synthetic.write_sources(project, initiatives, seed=seed, communes=TINY_COMMUNES if tiny else None,
                                   territories=True)


def du(path: Path) -> int:
    """Bytes on disk under ``path`` (allocated blocks, as du)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


# =========================================================================== HTTP


class HttpTimeout(Exception):
    pass


class HttpError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status


class Http:
    """One keep-alive connection to 127.0.0.1:port."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, accept: str, body: bytes | None = None,
                content_type: str | None = None) -> bytes:
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except socket.timeout:
                self.conn.close()
                self.conn = None
                raise HttpTimeout() from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            if response.status != 200:
                raise HttpError(response.status, data)
            return data
        raise AssertionError("unreachable")

    def get(self, path: str, accept: str) -> bytes:
        return self.request("GET", path, accept)

    def sparql(self, query: str, accept: str = "application/sparql-results+json") -> bytes:
        return self.request("POST", "/sparql", accept, urllib.parse.urlencode({"query": query}).encode(),
                            "application/x-www-form-urlencoded")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A child process group started here, stopped by its id."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path, cwd: Path | None = None,
                 env: dict | None = None) -> None:
        self.name, self.port, self.log_path = name, port, log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                     start_new_session=True)
        self.started = time.perf_counter()

    def ready(self, probe: Callable[[Http], object]) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
        try:
            probe(Http(self.port, 5))
            return True
        except (OSError, HttpError, HttpTimeout, http.client.HTTPException):
            return False

    def wait_ready(self, probe: Callable[[Http], object], limit: float) -> float:
        while time.perf_counter() - self.started < limit:
            if self.ready(probe):
                return time.perf_counter() - self.started
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} not ready after {limit:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.log.close()


class Peer:
    """rdflib-endpoint (its own venv, benchmarks/rdflib_peer.py) on the version's N-Quads."""

    def __init__(self, nquads: Path, log_dir: Path) -> None:
        port = free_port()
        self.server = Server("rdflib-endpoint", [str(PEER_PYTHON), str(HERE / "rdflib_peer.py"), "--data",
                                                 str(nquads), "--port", str(port)], port, log_dir / "rdflib-endpoint.log")

    def wait(self, limit: float) -> float:
        return self.server.wait_ready(lambda h: h.sparql("ASK { ?s ?p ?o }"), limit)

    def stop(self) -> None:
        self.server.stop()


# =========================================================================== measuring


def _stats(times: list[float]) -> dict:
    times = sorted(times)
    return {"median_ms": statistics.median(times) * 1000,
            "p90_ms": times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))] * 1000,
            "min_ms": times[0] * 1000, "runs": len(times)}


def _failure(exc: BaseException, timeout: float) -> dict:
    if isinstance(exc, HttpTimeout):
        return {"timeout": True, "error": f"> {timeout:g} s (client timeout)"}
    if isinstance(exc, HttpError):
        return {"error": f"HTTP {exc.status}", "status": exc.status, "timeout": exc.status == 503}
    return {"error": repr(exc)[:200]}


def interleaved(calls: dict[str, Callable[[], bytes]], count: dict[str, Callable[[bytes], int]], runs: int,
                warmup: int, budget: float, timeout: float, on_failure: Callable[[str], None] | None = None) -> dict:
    """Latency at concurrency 1 of each call, in interleaved rounds (A, B, C, A, B, C…): one checked
    call (rows), ``warmup`` untimed calls, then up to ``runs`` timed calls or ``budget`` s each."""
    out: dict[str, dict] = {}
    live: dict[str, Callable[[], bytes]] = {}
    for name, call in calls.items():
        try:
            t0 = time.perf_counter()
            body = call()
            first = time.perf_counter() - t0
            for _ in range(warmup if first < budget / 4 else 0):
                call()
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            out[name] = _failure(exc, timeout)
            if on_failure:
                on_failure(name)
            continue
        out[name] = {"rows": count[name](body), "first_ms": first * 1000, "bytes": len(body)}
        live[name] = call
    times: dict[str, list[float]] = {n: [] for n in live}
    spent = {n: 0.0 for n in live}
    for _ in range(runs):
        active = [n for n in live if spent[n] < budget]
        if not active:
            break
        for name in active:
            t0 = time.perf_counter()
            try:
                live[name]()
            except Exception as exc:  # noqa: BLE001
                out[name].update(_failure(exc, timeout))
                del live[name]
                if on_failure:
                    on_failure(name)
                continue
            dt = time.perf_counter() - t0
            times[name].append(dt)
            spent[name] += dt
    for name, ts in times.items():
        if ts and name in live:
            out[name].update(_stats(ts))
    return out


def json_rows(body: bytes) -> int:
    return len(json.loads(body)["results"]["bindings"])


def api_rows(body: bytes) -> int:
    return len(json.loads(body)["rows"])


def nbytes(body: bytes) -> int:
    return len(body)


def named_queries(probes: dict[str, str], max_rows: int) -> list[dict]:
    """Every query of queries/, bound to the probes: name, title, API path, bound text."""
    from cohesio import api
    from cohesio.queries import load_queries

    found = []
    for q in load_queries(REPO / "queries"):
        params = {p.name: probes[PARAM_PROBES[p.name]] for p in q.params
                  if p.name in PARAM_PROBES and PARAM_PROBES[p.name] in probes}
        if any(p.name == "text" for p in q.params) and "commune_name" in probes:
            params["text"] = probes["commune_name"]
        call = api.read_call(q, list(params.items()), max_rows)
        path = f"/api/{urllib.parse.quote(q.name)}" + ("?" + urllib.parse.urlencode(params) if params else "")
        found.append({"name": q.name, "title": q.title_in("en"), "params": params, "path": path, "text": call.text()})
    return found


def sample_resources(resources: list[str], base: str, per_kind: int, seed: int, probes: dict[str, str]) -> dict:
    """``per_kind`` random resources of each kind (deterministic for ``seed``)."""
    by_kind: dict[str, list[str]] = {}
    for iri in resources:
        if not iri.startswith(base + "id/"):
            continue
        head = iri[len(base) + 3:].split("/", 1)[0]
        kind = PAGE_KINDS.get(head)
        if kind:
            by_kind.setdefault(kind, []).append(iri)
    rng = random.Random(seed)
    chosen = {kind: sorted(rng.sample(iris, min(per_kind, len(iris)))) for kind, iris in sorted(by_kind.items())}
    # the probes' resources too: the city, its département and région, its council, a theme
    chosen["probes"] = [probes[k] for k in ("commune", "departement", "region", "actor", "theme") if k in probes]
    return chosen


# =========================================================================== one size


def raw_load(project: Path, target: Path) -> dict:
    """pyoxigraph alone: bulk_load of the same source files, each into its named graph, on disk."""
    from cohesio.config import CANONICAL_BASE_IRI
    from cohesio.sources import discover, open_bytes

    if target.exists():
        shutil.rmtree(target)
    t0 = time.perf_counter()
    store = ox.Store(str(target))
    for source in discover(project):
        with open_bytes(source.path) as stream:
            store.bulk_load(stream, format=source.format, base_iri=source.path.as_uri(),
                            to_graph=ox.NamedNode(source.group.graph_iri(CANONICAL_BASE_IRI)))
    store.flush()
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    store.optimize()
    optimize = time.perf_counter() - t1
    triples = len(store)
    del store
    size = du(target)
    shutil.rmtree(target, ignore_errors=True)
    return {"seconds": load, "optimize_seconds": optimize, "triples": triples, "disk_bytes": size}


def shacl_inputs(project: Path, version_store: Path, work: Path) -> list[Path]:
    """The files holding exactly what the build validates: the edited sources (validated in full)
    and the part of the geography they point at (cohesio.build.geography_neighbourhood, written once
    as N-Triples: data preparation, not timed)."""
    from cohesio.build import geography_neighbourhood
    from cohesio.config import CANONICAL_BASE_IRI
    from cohesio.sources import discover

    files = [s.path for s in discover(project) if s.group.validated_in_full]
    store = ox.Store.read_only(str(version_store))
    neighbourhood = geography_neighbourhood(store, CANONICAL_BASE_IRI)
    del store
    path = work / "geography-neighbourhood.nt"
    neighbourhood.serialize(destination=str(path), format="nt", encoding="utf-8")
    return files + [path]


def run_size(args, initiatives: int, cache: Path, report: dict) -> dict:
    from cohesio import versions
    from cohesio.config import CANONICAL_BASE_IRI

    tag = f"{initiatives}"
    work = args.work_dir / tag
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    entry: dict = {"initiatives": initiatives, "load_average_start": os.getloadavg(), "git": git_head()}
    report["sizes"].append(entry)
    say = lambda text: print(f"[{initiatives:,}] {text}", flush=True)  # noqa: E731
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
    env["XDG_CACHE_HOME"] = str(cache)

    # 1. data
    say("writing the synthetic initiatives as project sources")
    project = work / "project"
    ds = make_project(project, args.tiny, args.seed, initiatives)
    entry["dataset"] = ds.as_dict()
    say(f"  {ds.triples:,} synthetic triples, {ds.organizations:,} organisations, levels {ds.levels} "
        f"({ds.seconds:.1f} s); files {du(project / 'data'):,} bytes")

    # 2. the real build
    store_dir = work / "store"
    build_json, status = work / "build.json", work / "build.status"
    mode = ["--skip-validation"] if initiatives > args.validate_max else []
    say("cohesio build" + (" (validation skipped: above --validate-max)" if mode else ""))
    run = run_bounded([PYTHON, str(Path(__file__).resolve()), "_build", str(project), str(store_dir), str(build_json),
                       str(status)] + mode, budget=args.build_budget, mem_limit=args.mem_limit * GiB,
                      log=work / "build.log", env=env, cwd=project, status=status)
    entry["build_run"] = run
    build = json.loads(build_json.read_text()) if build_json.exists() else None
    if build is None or not build.get("published"):
        say(f"  build {run['status']} after {run['seconds']:.0f} s (peak {run['peak_rss'] / GiB:.1f} GiB, "
            f"in step {run.get('last_step')!r})")
        entry["build_failed"] = {**run, **({"report": build} if build else {})}
        if mode or not args.fallback:
            return entry
        say("cohesio build again with validation skipped, to measure the rest and serve")
        build_json.unlink(missing_ok=True)
        run = run_bounded([PYTHON, str(Path(__file__).resolve()), "_build", str(project), str(store_dir),
                           str(build_json), str(status), "--skip-validation"], budget=args.build_budget,
                          mem_limit=args.mem_limit * GiB, log=work / "build-novalidation.log", env=env, cwd=project,
                          status=status)
        entry["build_run_novalidation"] = run
        build = json.loads(build_json.read_text()) if build_json.exists() else None
        if build is None or not build.get("published"):
            say(f"  failed again: {run}")
            return entry
    build["wall_seconds"] = run["seconds"]
    build["peak_rss"] = run["peak_rss"]
    entry["build"] = build
    version = versions.current(store_dir)
    entry["triples"] = version.manifest["counts"]["total"]
    entry["disk"] = {"version": du(version.path), "store": du(version.store_path), "dumps": du(version.path / "dumps")}
    say(f"  {run['status']} in {run['seconds']:.1f} s, {entry['triples']:,} triples, peak {run['peak_rss'] / GiB:.2f} GiB; "
        f"timings " + ", ".join(f"{k} {v:.1f}" for k, v in build["timings"].items()))

    # 3. raw tools
    say("raw pyoxigraph bulk_load of the same files")
    entry["raw_load"] = raw_load(project, work / "raw-store")
    say(f"  {entry['raw_load']['seconds']:.1f} s (+ optimize {entry['raw_load']['optimize_seconds']:.1f} s)")
    entry["raw_shacl"] = {}
    if not args.skip_raw_shacl:
        inputs = shacl_inputs(project, version.store_path, work)
        for shacl_mode in args.shacl_modes.split(","):
            if initiatives > args.shacl_max:
                entry["raw_shacl"][shacl_mode] = {"status": "not run", "why": f"above --shacl-max {args.shacl_max:,}"}
                continue
            say(f"pyshacl alone ({shacl_mode}), budget {args.shacl_budget:g} s")
            out, st = work / f"shacl-{shacl_mode}.json", work / f"shacl-{shacl_mode}.status"
            run = run_bounded([PYTHON, str(Path(__file__).resolve()), "_shacl", shacl_mode,
                               str(REPO / "shapes" / "cohesio.shapes.ttl"), str(out), str(st)] + [str(p) for p in inputs],
                              budget=args.shacl_budget, mem_limit=args.mem_limit * GiB, log=work / f"shacl-{shacl_mode}.log",
                              env=env, status=st)
            result = {**run, **(json.loads(out.read_text()) if out.exists() else {})}
            entry["raw_shacl"][shacl_mode] = result
            say(f"  {result['status']} in {result['seconds']:.1f} s" + (
                f" (parse {result['parse_seconds']:.1f} s, validate {result['validate_seconds']:.1f} s, "
                f"conforms {result['conforms']})" if "validate_seconds" in result else f" in step {result.get('last_step')!r}"))

    # 4. serving
    serve(args, entry, project, store_dir, version, env, work, say, ds.probes)
    entry["load_average_end"] = os.getloadavg()
    if not args.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return entry


def serve(args, entry: dict, project: Path, store_dir: Path, version, env: dict, work: Path,
          say: Callable[[str], None], probes: dict[str, str]) -> None:
    """Phase 1: cohesio serve against the in-process floor, interleaved (catalogue, VoID, named
    queries, pages), memory sampled. Phase 2: rdflib-endpoint on the same queries and pages, started
    only then (its load would take a core from phase 1)."""
    from cohesio.config import CANONICAL_BASE_IRI

    max_rows = 10_000  # cohesio's default max_rows, which the server runs with
    queries = named_queries(probes, max_rows)
    resources = (version.path / "publishing" / "resources.txt").read_text(encoding="utf-8").split()
    pages = sample_resources(resources, CANONICAL_BASE_IRI, args.pages, args.seed, probes)
    entry["queries"] = {q["name"]: {k: q[k] for k in ("title", "params", "path", "text")} for q in queries}
    entry["pages_sampled"] = pages
    documents = [(kind, iri, "/doc/" + urllib.parse.quote(iri[len(CANONICAL_BASE_IRI) + 3:]),
                  f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}")
                 for kind, iris in pages.items() for iri in iris]
    results: dict[str, dict] = {q["name"]: {} for q in queries}
    entry["query_results"] = results
    by_resource: dict[str, dict] = {}

    store = ox.Store.read_only(str(version.store_path))
    port = free_port()
    say("cohesio serve")
    server = Server("cohesio", [str(COHESIO_BIN), "--project-dir", str(project), "--store-dir", str(store_dir), "serve",
                                "--host", "127.0.0.1", "--port", str(port)], port, work / "cohesio-serve.log",
                    cwd=project, env=env)
    sampler = None
    peer = None
    try:
        entry["serve_ready_seconds"] = server.wait_ready(lambda h: h.sparql("ASK { ?s ?p ?o }"), 180)
        sampler = MemorySampler({"cohesio": server.proc.pid})
        sampler.sample()
        entry["memory_idle"] = dict(sampler.last)
        sampler.start()
        cohesio = Http(port, args.timeout)

        say("catalogue and VoID")
        sampler.phase("catalogue and VoID")
        entry["publishing"] = interleaved(
            {"catalog.ttl": lambda: cohesio.get("/catalog.ttl", "text/turtle"),
             "void": lambda: cohesio.get("/.well-known/void", "text/turtle")},
            {"catalog.ttl": nbytes, "void": nbytes}, args.runs, args.warmup, args.budget, args.timeout)

        counts = {"cohesio /sparql": json_rows, "cohesio /api": api_rows, "floor": json_rows, "rdflib-endpoint": json_rows}
        for q in queries:
            sampler.phase("named queries")
            text, path = q["text"], q["path"]
            sparql = lambda text=text: cohesio.sparql(text)  # noqa: E731
            # one call first: a query cohesio stops at its query_timeout is not run unbounded in this process
            pre = interleaved({"cohesio /sparql": sparql}, counts, 0, 0, args.budget, args.timeout)["cohesio /sparql"]
            calls: dict[str, Callable[[], bytes]] = {"cohesio /sparql": sparql,
                                                     "cohesio /api": lambda path=path: cohesio.get(path, "application/json")}
            if "rows" in pre:
                calls["floor"] = lambda text=text: store.query(text, use_default_graph_as_union=True).serialize(
                    format=ox.QueryResultsFormat.JSON)
            else:
                results[q["name"]]["floor"] = bounded_floor(version.store_path, text, work, args.floor_limit)
            results[q["name"]].update(interleaved(calls, counts, args.runs, args.warmup, args.budget, args.timeout))
            say("  " + q["name"].ljust(36) + "  ".join(f"{n.replace('cohesio ', '')} {_ms(v)}"
                                                       for n, v in results[q["name"]].items()))

        say(f"pages: {len(documents)} resources × HTML, Turtle")
        sampler.phase("pages")
        for kind, iri, doc, construct in documents:
            by_resource[f"{kind} {iri}"] = {"kind": kind, "iri": iri, **interleaved({
                "cohesio HTML": lambda doc=doc: cohesio.get(doc, "text/html"),
                "cohesio Turtle": lambda doc=doc: cohesio.get(doc, "text/turtle"),
                "floor Turtle": lambda c=construct: ox.serialize(
                    list(store.query(c, use_default_graph_as_union=True)), format=ox.RdfFormat.TURTLE),
            }, {"cohesio HTML": nbytes, "cohesio Turtle": nbytes, "floor Turtle": nbytes},
                args.page_runs, args.page_warmup, args.budget, args.timeout)}
        sampler.stop()
        entry["memory_peak"] = dict(sampler.peak)
        entry["memory_end"] = dict(sampler.last)
        entry["memory_samples"] = sampler.samples
        entry["memory_phases"] = sampler.phases
        sampler = None
        say(f"  cohesio serve memory: idle {entry['memory_idle']['cohesio']['rss'] / MiB:.0f} MiB RSS, peak "
            f"{entry['memory_peak']['cohesio']['rss'] / MiB:.0f} MiB RSS / "
            f"{entry['memory_peak']['cohesio']['pss'] / MiB:.0f} MiB PSS "
            f"({entry['memory_peak']['cohesio']['processes']} processes)")
    finally:
        if sampler is not None:
            sampler.stop()
        server.stop()

    # phase 2: rdflib-endpoint
    run_peer = not args.skip_peer and PEER_PYTHON.exists() and entry["triples"] <= args.peer_max_triples
    if not run_peer:
        entry["peer"] = ("skipped (--skip-peer)" if args.skip_peer else
                         "not run: no peer venv" if not PEER_PYTHON.exists() else
                         f"not run: {entry['triples']:,} triples > --peer-max-triples {args.peer_max_triples:,}")
    else:
        nq = work / "peer.nq"
        with gzip.open(version.path / "dumps" / "cohesio.nq.gz", "rb") as src, open(nq, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        say("rdflib-endpoint: loading the same data (the version's dumps/cohesio.nq.gz)")
        peer = Peer(nq, work)
        sampler = None
        try:
            entry["peer_load_seconds"] = peer.wait(args.peer_load_limit)
            sampler = MemorySampler({"rdflib-endpoint": peer.server.proc.pid})
            sampler.start()
            say(f"  ready in {entry['peer_load_seconds']:.0f} s")
            client = Http(peer.server.port, args.peer_timeout)
            for kind, iri, doc, construct in documents:
                by_resource[f"{kind} {iri}"].update(interleaved(
                    {"rdflib-endpoint Turtle": lambda c=construct: client.sparql(c, "text/turtle")},
                    {"rdflib-endpoint Turtle": nbytes}, args.page_runs, args.page_warmup, args.budget, args.peer_timeout))
            # cheapest first (by the floor); rdflib-endpoint cannot be interrupted: after a timeout it is
            # restarted (and waited for) up to --peer-restarts times, then the remaining queries are not run
            order = sorted(queries, key=lambda q: _median(results[q["name"]].get("floor")) or float("inf"))
            restarts = 0
            for q in order:
                if restarts > args.peer_restarts:
                    results[q["name"]]["rdflib-endpoint"] = {
                        "timeout": True, "error": f"not run: {args.peer_restarts} restarts after timeouts spent"}
                    continue
                text = q["text"]
                got = interleaved({"rdflib-endpoint": lambda text=text: client.sparql(text)}, counts, args.runs,
                                  args.warmup, args.budget, args.peer_timeout)["rdflib-endpoint"]
                results[q["name"]]["rdflib-endpoint"] = got
                say("  " + q["name"].ljust(36) + f"rdflib-endpoint {_ms(got)}")
                if got.get("timeout"):
                    restarts += 1
                    if restarts <= args.peer_restarts:
                        sampler.stop()
                        entry.setdefault("memory_peak", {})["rdflib-endpoint"] = sampler.peak["rdflib-endpoint"]
                        peer.stop()
                        peer = Peer(nq, work)
                        peer.wait(args.peer_load_limit)
                        sampler = MemorySampler({"rdflib-endpoint": peer.server.proc.pid})
                        sampler.start()
                        client = Http(peer.server.port, args.peer_timeout)
            entry["peer_restarts"] = min(restarts, args.peer_restarts)
        finally:
            if sampler is not None:
                sampler.stop()
                before = entry.setdefault("memory_peak", {}).get("rdflib-endpoint", {"rss": 0, "pss": 0})
                now = sampler.peak["rdflib-endpoint"]
                entry["memory_peak"]["rdflib-endpoint"] = {k: max(before.get(k, 0), v) for k, v in now.items()}
            peer.stop()
            nq.unlink(missing_ok=True)
    del store

    # pages: per kind and over all, each resource counting once (the median of its runs)
    summary: dict[str, dict] = {}
    pooled: dict[str, dict[str, list[float]]] = {}
    for key, measured in by_resource.items():
        iri = measured["iri"]
        for name, m in measured.items():
            if name in ("kind", "iri"):
                continue
            if "median_ms" in m:
                for key in (measured["kind"], "all"):
                    pooled.setdefault(key, {}).setdefault(name, []).append(m["median_ms"] / 1000)
            else:
                for key in (measured["kind"], "all"):
                    summary.setdefault(key, {}).setdefault(name, {}).setdefault("failures", []).append({"iri": iri, **m})
    for key, by_target in pooled.items():
        for name, ts in by_target.items():
            summary.setdefault(key, {}).setdefault(name, {}).update(_stats(ts))
    entry["page_results"] = {"summary": summary, "by_resource": by_resource}
    for key in ["all"] + sorted(k for k in summary if k != "all"):
        say(f"  pages {key:13} " + "  ".join(f"{n} {_ms(v)}" for n, v in summary[key].items()))


def bounded_floor(store_path: Path, text: str, work: Path, limit: float) -> dict:
    """The floor of a query too slow for the benchmark process: once, in a child, bounded."""
    qfile, out = work / "floor-query.rq", work / "floor.json"
    qfile.write_text(text, encoding="utf-8")
    out.unlink(missing_ok=True)
    run = run_bounded([PYTHON, str(Path(__file__).resolve()), "_floor", str(store_path), str(qfile), str(out)],
                      budget=limit, mem_limit=8 * GiB, log=work / "floor.log")
    if out.exists():
        data = json.loads(out.read_text())
        return {"median_ms": data["seconds"] * 1000, "p90_ms": data["seconds"] * 1000, "runs": 1, "rows": data["rows"],
                "note": "one run in a child process"}
    return {"timeout": True, "error": f"> {limit:g} s ({run['status']})"}


def _ms(v: dict) -> str:
    if not v:
        return "n/a"
    if "median_ms" in v:
        return f"{v['median_ms']:.1f}ms"
    return v.get("error") or ("timeout" if v.get("timeout") else "n/a")


# =========================================================================== report


def fmt_ms(v: dict | None) -> str:
    if not v:
        return "n/a"
    if "median_ms" in v:
        m = v["median_ms"]
        return f"{m:.1f}" if m < 100 else f"{m:,.0f}"
    if v.get("timeout"):
        return v.get("error", "timeout").replace("(client timeout)", "").strip() or "timeout"
    return v.get("error", "n/a")


def fmt_s(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "n/a"
    r = a / b
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def _median(v: dict | None) -> float | None:
    return v.get("median_ms") if v else None


def _size_label(entry: dict) -> str:
    return f"{entry['initiatives']:,}"


def build_rows(entry: dict) -> dict:
    """The build numbers of one size, flattened for the tables."""
    b = entry.get("build") or {}
    steps = b.get("steps", {})
    t = b.get("timings", {})
    raw = entry.get("raw_shacl", {})
    raw_times = {}
    for mode, r in raw.items():
        if "validate_seconds" in r:
            raw_times[mode] = r["parse_seconds"] + r["validate_seconds"]
    best = min(raw_times.values()) if raw_times else None
    validation = (t.get("parse", 0) + t.get("validate", 0)) if not b.get("skip_validation") else None
    total = b.get("wall_seconds", b.get("seconds"))
    raw_load = (entry.get("raw_load") or {}).get("seconds")
    return {
        "total": total, "load": t.get("load"), "parse": t.get("parse"), "validate": t.get("validate"),
        "validation": validation, "artefacts": t.get("artefacts"),
        "pyshacl": steps.get("pyshacl.validate"), "copy": steps.get("copy to pyoxigraph for pyshacl"),
        "union": steps.get("union graph (rdflib copy)"),
        "neighbourhood": steps.get("geography neighbourhood", steps.get("geography nodes (territories the data points at)")),
        "dumps": (steps.get("dumps (Turtle, N-Triples, JSON-LD, N-Quads, CSV)") or 0) - (steps.get("CSV of the initiatives") or 0)
        if steps.get("dumps (Turtle, N-Triples, JSON-LD, N-Quads, CSV)") is not None else None,
        "csv": steps.get("CSV of the initiatives"), "void": steps.get("VoID statistics"),
        "resources": steps.get("resource list (sitemap)"), "summary": steps.get("summary (catalogue numbers)"),
        "raw_load": raw_load, "raw_shacl": raw_times, "raw_best": best,
        "raw_sum": (raw_load + best) if (raw_load is not None and best is not None) else None,
        "peak_rss": b.get("peak_rss"),
    }


def edited_triples(entry: dict) -> int | None:
    """Triples of the graphs the build validates in full (not the geography), from the build's counts."""
    counts = (entry.get("build") or {}).get("counts") or {}
    graphs = [g for g in ("ontology", "guide", "editorial", "contributions") if g in counts]
    return sum(counts[g] for g in graphs) if graphs else None


def raw_shacl_lower_bound(entry: dict, sizes: list[dict]) -> tuple[float, dict] | None:
    """Where raw pyshacl was not run at this size: a lower bound of its time, scaled linearly from
    the largest smaller size where it ran (seconds per validated triple × this size's edited triples).

    pyshacl checks every focus node against its shapes, so its time grows at least linearly with the
    data (measured superlinear: 94 s at 300k triples, 556 s at 1M, ``benchmarks/contributions.py``);
    the geography's part, which it would validate too, is left out of the count. A lower bound, so the
    ratio built on it is an upper bound."""
    if "validate_seconds" in (entry.get("raw_shacl", {}).get("rdflib") or {}):
        return None
    here = edited_triples(entry)
    if not here:
        return None
    ran = [e for e in sizes if e["initiatives"] < entry["initiatives"]
           and "validate_seconds" in (e.get("raw_shacl", {}).get("rdflib") or {})]
    if not ran:
        return None
    ref = max(ran, key=lambda e: e["initiatives"])
    x = ref["raw_shacl"]["rdflib"]
    per_triple = (x["parse_seconds"] + x["validate_seconds"]) / x["triples"]
    return per_triple * here, ref


def render_markdown(report: dict) -> str:
    sizes = [e for e in report["sizes"]]
    lines: list[str] = []
    settings = report["settings"]
    add = lines.append
    footnotes: list[str] = []

    add("### Build (seconds) and store size\n")
    add("| initiatives | triples | build (wall) | load | parse + validate (of which pyshacl.validate) | artefacts: dumps / CSV / VoID stats / resource list | build peak RSS | raw bulk_load | raw pyshacl (rdflib Graph: parse + validate) | **build ÷ (raw load + raw pyshacl)** | build ÷ (raw load + the build's own validation) | store on disk | version dir (store + dumps) |")
    add("| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for e in sizes:
        r = build_rows(e)
        b = e.get("build") or {}
        failed = e.get("build_failed")
        notes = []
        if failed:
            notes.append(f"full build **{failed['status']}** after {failed['seconds']:.0f} s in step "
                         f"“{failed.get('last_step', '?')}”, peak {failed['peak_rss'] / GiB:.1f} GiB; the numbers are "
                         "of a build with validation skipped")
        elif b.get("skip_validation"):
            notes.append("validation skipped")
        note = f" ({'; '.join(notes)})" if notes else ""
        x = e.get("raw_shacl", {}).get("rdflib")
        if not x:
            raw = "n/a"
        elif "validate_seconds" in x:
            raw = fmt_s(x["parse_seconds"] + x["validate_seconds"])
        elif x.get("status") == "timeout":
            raw = f"> {settings['shacl_budget']:g} (budget)"
        elif x.get("status") == "memory":
            raw = f"> {settings['mem_limit']:g} GiB after {x['seconds']:.0f} s"
        else:
            raw = x.get("status", "n/a") + (f" ({x['why']})" if x.get("why") else "")
        pv = "skipped" if r["validation"] is None else f"{fmt_s(r['validation'])} ({fmt_s(r['pyshacl'])})"
        arte = " / ".join(fmt_s(r[k]) for k in ("dumps", "csv", "void", "resources"))
        disk = e.get("disk") or {}
        b_ratio = "n/a"
        bound = raw_shacl_lower_bound(e, sizes)
        if bound is not None and (raw == "n/a" or raw.startswith("not run")):
            raw = f"≥ {fmt_s(bound[0])} (linear lower bound¹)"
            if not footnotes:
                footnotes.append(
                    "¹ raw pyshacl was not run at this size (hours): its time per validated triple at the largest "
                    "size where it ran, times this size's triples of the edited graphs (the geography's part left "
                    "out). pyshacl's time grows at least linearly with the data, so this is a lower bound of the raw "
                    "validation and the ratio beside it an upper bound.")
        if r["validation"] is not None and r["raw_load"] is not None:
            if x and "validate_seconds" in x:
                b_ratio = ratio(r["total"], r["raw_load"] + x["parse_seconds"] + x["validate_seconds"])
            elif x and x.get("status") == "timeout":
                b_ratio = f"< {r['total'] / (r['raw_load'] + settings['shacl_budget']):.2f}×"
            elif bound is not None:
                b_ratio = f"≤ {r['total'] / (r['raw_load'] + bound[0]):.2f}×"
        # The build's own validation: pyshacl.validate where it runs in the build's process, else the
        # whole validation step (pieces validated by worker processes, which the wrapping cannot see).
        own_validation = r["pyshacl"] or r["validation"]
        own = (ratio(r["total"], r["raw_load"] + own_validation)
               if r["validation"] is not None and r["raw_load"] is not None and own_validation else "n/a")
        add(f"| {_size_label(e)}{note} | {e.get('triples', 0):,} | {fmt_s(r['total'])} | {fmt_s(r['load'])} | {pv} | {arte} | "
            f"{(r['peak_rss'] or 0) / GiB:.2f} GiB | {fmt_s(r['raw_load'])} | {raw} | **{b_ratio}** | {own} | "
            f"{disk.get('store', 0) / MiB:,.0f} MiB | {disk.get('version', 0) / MiB:,.0f} MiB |")
    add("")
    for note in footnotes:
        add(note + "\n")
    add("Where the build's time goes (seconds, from wrapping the functions `cohesio.build.build` calls):\n")
    keys: list[str] = []
    for e in sizes:
        for k in (e.get("build") or {}).get("steps", {}):
            if k not in keys:
                keys.append(k)
    add("| step | " + " | ".join(_size_label(e) for e in sizes) + " |")
    add("| --- | " + " | ".join("---:" for _ in sizes) + " |")
    for k in keys:
        add(f"| {k} | " + " | ".join(fmt_s((e.get("build") or {}).get("steps", {}).get(k)) for e in sizes) + " |")
    add("| **whole build (in the child)** | " + " | ".join(fmt_s((e.get("build") or {}).get("seconds")) for e in sizes) + " |")
    add("")

    add("### Serving: memory, catalogue, VoID, pages (median / p90 ms)\n")
    add("| initiatives | triples | cohesio serve memory, idle → peak: RSS sum (PSS sum), processes | rdflib-endpoint RSS (load s) | /catalog.ttl | /.well-known/void | page HTML | page Turtle | floor Turtle (CONSTRUCT in-process) | rdflib-endpoint Turtle (CONSTRUCT) | Turtle page / floor |")
    add("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for e in sizes:
        if "memory_peak" not in e:
            pub = e.get("publishing") or {}

            def mp0(v):
                return "n/a" if not v or "median_ms" not in v else f"{fmt_ms(v)} / {v['p90_ms']:.1f}"
            if pub:  # the run was stopped after the catalogue and VoID (the rest measured by other scripts)
                add(f"| {_size_label(e)} | {e.get('triples', 0):,} | not measured in this run | | "
                    f"{mp0(pub.get('catalog.ttl'))} | {mp0(pub.get('void'))} | | | | | |")
            else:
                add(f"| {_size_label(e)} | {e.get('triples', 0):,} | not served | | | | | | | | |")
            continue
        idle, peak = e["memory_idle"]["cohesio"], e["memory_peak"]["cohesio"]
        mem = (f"{idle['rss'] / MiB:,.0f} → {peak['rss'] / MiB:,.0f} MiB ({idle['pss'] / MiB:,.0f} → "
               f"{peak['pss'] / MiB:,.0f} MiB), {peak['processes']}")
        pages_peak = (e.get("memory_phases") or {}).get("pages", {}).get("cohesio")
        if pages_peak:
            mem += f"; pages only: {pages_peak['rss'] / MiB:,.0f} MiB ({pages_peak['pss'] / MiB:,.0f})"
        pm = e["memory_peak"].get("rdflib-endpoint")
        peer_mem = (f"{pm['rss'] / MiB:,.0f} MiB ({e.get('peer_load_seconds', 0):.0f} s)" if pm else
                    (e.get("peer") or "n/a"))
        allp = e["page_results"]["summary"]["all"]
        pub = e["publishing"]

        def mp(v):
            return "n/a" if not v or "median_ms" not in v else f"{fmt_ms(v)} / {v['p90_ms']:.1f}"
        add(f"| {_size_label(e)} | {e['triples']:,} | {mem} | {peer_mem} | {mp(pub.get('catalog.ttl'))} | {mp(pub.get('void'))} | "
            f"{mp(allp.get('cohesio HTML'))} | {mp(allp.get('cohesio Turtle'))} | {mp(allp.get('floor Turtle'))} | "
            f"{mp(allp.get('rdflib-endpoint Turtle'))} | {ratio(_median(allp.get('cohesio Turtle')), _median(allp.get('floor Turtle')))} |")
    add("")
    kinds = sorted({k for e in sizes if "page_results" in e for k in e["page_results"]["summary"] if k != "all"})
    if kinds:
        add("Page latency by kind of resource, median ms (HTML / Turtle), each resource the median of its runs:\n")
        add("| kind | " + " | ".join(_size_label(e) for e in sizes if "page_results" in e) + " |")
        add("| --- | " + " | ".join("---:" for e in sizes if "page_results" in e) + " |")
        for kind in kinds:
            cells = []
            for e in sizes:
                if "page_results" not in e:
                    continue
                s = e["page_results"]["summary"].get(kind, {})
                cells.append(f"{fmt_ms(s.get('cohesio HTML'))} / {fmt_ms(s.get('cohesio Turtle'))}")
            add(f"| {kind} | " + " | ".join(cells) + " |")
        add("")

    served = [e for e in sizes if "query_results" in e]
    if served:
        add("### Named queries (`queries/`), median ms at concurrency 1\n")
        add("cohesio through `/sparql` (POST, the bound text) and `/api/<name>` (REST, JSON); floor = pyoxigraph "
            "in-process on the same store; ratio = cohesio /sparql ÷ floor. rows = rows returned (the API caps at "
            "10,000 and adds one to see a next page).\n")
        for e in served:
            add(f"**{_size_label(e)} initiatives ({e['triples']:,} triples)**\n")
            add("| query | rows | floor | cohesio /sparql | cohesio /api | rdflib-endpoint | cohesio / floor | rdflib-endpoint / cohesio |")
            add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for name, res in e["query_results"].items():
                rows = next((v["rows"] for v in res.values() if isinstance(v, dict) and "rows" in v), "")
                add(f"| {name} | {rows} | {fmt_ms(res.get('floor'))} | {fmt_ms(res.get('cohesio /sparql'))} | "
                    f"{fmt_ms(res.get('cohesio /api'))} | {fmt_ms(res.get('rdflib-endpoint'))} | "
                    f"{ratio(_median(res.get('cohesio /sparql')), _median(res.get('floor')))} | "
                    f"{ratio(_median(res.get('rdflib-endpoint')), _median(res.get('cohesio /sparql')))} |")
            add("")
        if len(served) > 1:
            first, last = served[0], served[-1]
            add(f"Flatness: cohesio `/sparql` median, smallest → largest size, and the factor "
                f"({first['triples']:,} → {last['triples']:,} triples):\n")
            add("| query | rows | " + " | ".join(_size_label(e) for e in served) + " | largest / smallest |")
            add("| --- | --- | " + " | ".join("---:" for _ in served) + " | ---: |")
            for name in first["query_results"]:
                rows = []
                for e in served:
                    res = e["query_results"].get(name, {})
                    rows.append(str(next((v["rows"] for v in res.values() if isinstance(v, dict) and "rows" in v), "?")))
                meds = [_median(e["query_results"].get(name, {}).get("cohesio /sparql")) for e in served]
                add(f"| {name} | {' → '.join(rows)} | " + " | ".join(fmt_ms(e["query_results"].get(name, {}).get("cohesio /sparql"))
                                                              for e in served) + f" | {ratio(meds[-1], meds[0])} |")
            add("")
    return "\n".join(lines)


# =========================================================================== main


def machine() -> dict:
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    kb = 0
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "memory_gib": round(kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(), "nice": os.nice(0)}


def versions_of() -> dict:
    import importlib.metadata as md

    out = {}
    for pkg in ("cohesio", "pyoxigraph", "pyshacl", "rdflib", "flask", "gunicorn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    if PEER_PYTHON.exists():
        peer = subprocess.run([str(PEER_PYTHON), "-c", "import importlib.metadata as m;"
                               "print(m.version('rdflib-endpoint'), m.version('rdflib'))"],
                              capture_output=True, text=True, timeout=60)
        if peer.returncode == 0:
            e, r = peer.stdout.split()
            out.update({"rdflib-endpoint": e, "rdflib (peer venv)": r})
    return out


def merge(reports: list[dict]) -> dict:
    """Several runs' reports as one (sizes in order of initiatives; settings of the first run)."""
    merged = dict(reports[0])
    merged["sizes"] = sorted((e for r in reports for e in r["sizes"]), key=lambda e: e["initiatives"])
    merged["commands"] = [r["command"] for r in reports]
    return merged


def git_head() -> str | None:
    """The commit of the checkout (the code measured; ``+`` when the work tree differs)."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+" if dirty else "")) or None


def parse_sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        mult = 1
        if part.endswith("k"):
            part, mult = part[:-1], 1000
        elif part.endswith("m"):
            part, mult = part[:-1], 1_000_000
        out.append(int(float(part) * mult))
    return out


def tag_of(sizes: list[int], tiny: bool) -> str:
    def one(n: int) -> str:
        return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
            f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))
    return ("tiny-" if tiny else "") + "-".join(one(n) for n in sizes)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("_build", "_shacl", "_floor"):
        return {"_build": _build_child, "_shacl": _shacl_child, "_floor": _floor_child}[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(description="cohesio scale benchmark (see the module docstring)")
    parser.add_argument("--sizes", default="10000,100000", help="numbers of initiatives, comma-separated (10k, 1M allowed)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--tiny", action="store_true", help="a mini geography of 6 communes (smoke test)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per latency cell (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per cell first (default 2)")
    parser.add_argument("--budget", type=float, default=8.0, help="max seconds of timed runs per cell (default 8)")
    parser.add_argument("--pages", type=int, default=6, help="random resources per kind (default 6)")
    parser.add_argument("--page-runs", type=int, default=3, help="timed runs per page (default 3)")
    parser.add_argument("--page-warmup", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0, help="HTTP client timeout, s (cohesio's own query "
                                                                     "bound is its query_timeout, 30 s)")
    parser.add_argument("--build-budget", type=float, default=3600.0, help="kill the build past this, s")
    parser.add_argument("--mem-limit", type=float, default=16.0, help="kill a build or pyshacl child past this RSS, GiB")
    parser.add_argument("--validate-max", type=int, default=10_000_000,
                        help="above this many initiatives, build with validation skipped (say so)")
    parser.add_argument("--fallback", action=argparse.BooleanOptionalAction, default=True,
                        help="if the full build fails, build again without validation to measure the rest")
    parser.add_argument("--shacl-budget", type=float, default=900.0, help="budget of each raw pyshacl run, s")
    parser.add_argument("--shacl-max", type=int, default=10_000_000, help="no raw pyshacl above this many initiatives")
    parser.add_argument("--skip-raw-shacl", action="store_true")
    parser.add_argument("--shacl-modes", default="rdflib",
                        help="raw pyshacl inputs, comma-separated: rdflib (an rdflib Graph, pyshacl's usual input), "
                             "oxigraph (a pyoxigraph Store, without cohesio's patch: quadratic, see docs/performance.md)")
    parser.add_argument("--floor-limit", type=float, default=120.0, help="bound of a slow query's floor run, s")
    parser.add_argument("--skip-peer", action="store_true", help="no rdflib-endpoint")
    parser.add_argument("--peer-max-triples", type=int, default=2_500_000,
                        help="run rdflib-endpoint only up to this many triples (it holds the graph in memory)")
    parser.add_argument("--peer-load-limit", type=float, default=1800.0)
    parser.add_argument("--peer-restarts", type=int, default=3,
                        help="restarts of rdflib-endpoint after a timeout, per size (each reloads the data)")
    parser.add_argument("--peer-timeout", type=float, default=30.0,
                        help="rdflib-endpoint request timeout, s (it cannot be interrupted: it is restarted)")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=None,
                        help="first build the project's own data alone (warms the geography's validation cache; "
                             "default: on, off with --tiny)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/cohesio-scale"))
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument("--keep-work", action="store_true")
    parser.add_argument("--render", type=Path, nargs="+", metavar="JSON",
                        help="only print the tables of earlier runs (several: their sizes side by side)")
    args = parser.parse_args(argv)
    if args.render:
        print(render_markdown(merge([json.loads(path.read_text(encoding="utf-8")) for path in args.render])))
        return 0
    sizes = parse_sizes(args.sizes)
    if args.baseline is None:
        args.baseline = not args.tiny
    tag = tag_of(sizes, args.tiny)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    cache = args.work_dir / "cache"
    started = time.perf_counter()
    command = "nice -n 10 .venv/bin/python benchmarks/scale.py " + " ".join(argv)
    report: dict = {
        "command": command.strip(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine(), "versions": versions_of(), "sizes": [], "git": git_head(),
        "load_average_start": os.getloadavg(),
    }
    json_path = args.results_dir / f"scale-{tag}.json"
    md_path = args.results_dir / f"scale-{tag}.md"

    def save() -> None:
        report["seconds"] = time.perf_counter() - started
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        m = report["machine"]
        md_path.write_text(
            f"# Scale benchmark ({tag})\n\nCommand: `{report['command']}`\n\n"
            f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM, Python {m['python']}; "
            + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
            + f". Load average at start {report['load_average_start'][0]:.1f}; "
              f"run time {report['seconds'] / 60:.0f} min.\n\n" + render_markdown(report) + "\n", encoding="utf-8")

    if args.baseline:
        print("[baseline] the project's own data alone (warms the validation cache of the geography)", flush=True)
        work = args.work_dir / "baseline"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        make_project(work / "project", args.tiny, args.seed, 0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
        env["XDG_CACHE_HOME"] = str(cache)
        run = run_bounded([PYTHON, str(Path(__file__).resolve()), "_build", str(work / "project"), str(work / "store"),
                           str(work / "build.json"), str(work / "build.status")], budget=args.build_budget,
                          mem_limit=args.mem_limit * GiB, log=work / "build.log", env=env, cwd=work / "project",
                          status=work / "build.status")
        baseline = json.loads((work / "build.json").read_text()) if (work / "build.json").exists() else {}
        report["baseline"] = {"run": run, "build": baseline}
        print(f"[baseline] {run['status']} in {run['seconds']:.1f} s: " +
              ", ".join(f"{k} {v:.1f}" for k, v in baseline.get("timings", {}).items()), flush=True)
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    for n in sizes:
        try:
            run_size(args, n, cache, report)
        finally:
            save()
    save()
    print()
    print(render_markdown(report))
    print(f"\nwrote {json_path} and {md_path.name} ({report['seconds'] / 60:.1f} min in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
