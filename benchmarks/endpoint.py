"""Endpoint benchmark: cohesio's real server against raw pyoxigraph (the floor) and rdflib-endpoint.

One run:

1. generates a synthetic graph shaped like cohesio's (benchmarks/synthetic.py: the real vocabularies
   and the real official geography, plus synthetic initiatives) and publishes it as a cohesio version
   (SHACL validation skipped: it is measured elsewhere);
2. measures the **floor**: ``Store.query`` + pyoxigraph's own JSON serialiser, in this process, on
   the published store;
3. starts the real ``cohesio --store-dir DIR serve`` (gunicorn, 127.0.0.1, a free port) and measures
   it over HTTP POST; also a **breakdown** of where cohesio's time goes, layer by layer (cohesio's
   serialiser in-process, + the query process hop, + Flask, + gunicorn/HTTP), a gunicorn "hello"
   app with the same settings, and the **floor over HTTP** (benchmarks/floor_http.py: the same
   ``Store.query`` behind the leanest HTTP server we could write, with no bound and no guard), which
   is what any HTTP endpoint could reach on this machine; and the same ``cohesio serve`` with
   ``inline_lookup_budget = 0`` (every query through a query process), to show what answering
   lookups in the request thread changes;
4. starts rdflib-endpoint (own venv, benchmarks/.venv-peers) on the same N-Quads and measures it;
5. prints a table (ratios cohesio/floor and rdflib-endpoint/cohesio) and writes JSON + Markdown to
   benchmarks/results/.

Latency: median and p90 at concurrency 1 after warm-up, ``--runs`` runs or 10 s, whichever first.
Throughput: queries/s at concurrency 4 (threads, one keep-alive connection each) for ``--duration``
seconds (10 s max). Every HTTP request has a timeout (``--timeout``); a peer that passes it is
reported as "> timeout" and stopped. All traffic goes to 127.0.0.1.

    .venv/bin/python benchmarks/endpoint.py --quick      # smoke run (~355k triples)
    .venv/bin/python benchmarks/endpoint.py              # 1M triples

The peer venv (once)::

    python3.11 -m venv benchmarks/.venv-peers && benchmarks/.venv-peers/bin/pip install rdflib-endpoint uvicorn
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import http.client
import json
import os
import platform
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

PEER_PYTHON = HERE / ".venv-peers" / "bin" / "python"
COHESIO_BIN = Path(sys.executable).parent / "cohesio"
GUNICORN_BIN = Path(sys.executable).parent / "gunicorn"

PREFIXES = """PREFIX coh: <https://w3id.org/cohesio/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX igeo: <http://rdf.insee.fr/def/geo#>
"""


@dataclasses.dataclass(frozen=True)
class Query:
    name: str
    kind: str  # "selective" or "heavy"
    title: str
    template: str

    def text(self, probes: dict[str, str]) -> str:
        return PREFIXES + self.template.format(**probes)


# Written as a user would write them; not tuned for any engine.
QUERIES: tuple[Query, ...] = (
    Query("record", "selective", "one initiative's record by IRI",
          "SELECT ?p ?o WHERE {{ <{initiative}> ?p ?o }}"),
    Query("commune", "selective", "initiatives of one commune",
          'SELECT ?i ?label WHERE {{ ?i dct:spatial <{commune}> ; rdfs:label ?label . FILTER(lang(?label) = "fr") }}'),
    Query("theme-practices", "selective", "labels of one theme's practices",
          "SELECT ?practice ?label WHERE {{ ?practice skos:inScheme <https://w3id.org/cohesio/id/scheme/practices> ;\n"
          "  dct:subject <{theme}> ; skos:prefLabel ?label }}"),
    Query("theme-in-departement", "selective", "initiatives of one theme in one département's communes",
          "SELECT ?i ?label WHERE {{ ?commune igeo:subdivisionDe <{departement}> .\n"
          "  ?i dct:spatial ?commune ; dct:subject <{theme}> ; rdfs:label ?label .\n"
          '  FILTER(lang(?label) = "fr") }}'),
    Query("departement", "selective", "initiatives of one département (igeo:subdivisionDe+)",
          "SELECT ?i ?label WHERE {{ ?i a coh:Initiative ; dct:spatial ?place ; rdfs:label ?label .\n"
          "  ?place igeo:subdivisionDe+ <{departement}> .\n"
          '  FILTER(lang(?label) = "fr") }}'),
    Query("theme-x-departement", "heavy", "initiatives counted per theme × département",
          "SELECT ?theme ?dep (COUNT(?i) AS ?n) WHERE {{\n"
          "  ?i a coh:Initiative ; dct:subject ?theme ; dct:spatial ?commune .\n"
          "  ?commune igeo:subdivisionDe ?dep .\n"
          "}} GROUP BY ?theme ?dep ORDER BY ?theme ?dep"),
)


class Timeout(Exception):
    pass


# --------------------------------------------------------------------------- measuring


def latency(call: Callable[[], object], runs: int, warmup: int, budget: float) -> dict:
    """Median and p90 (ms) of ``call`` at concurrency 1: ``runs`` runs or ``budget`` seconds."""
    try:
        for _ in range(warmup):
            call()
        times: list[float] = []
        loop_start = time.perf_counter()
        while len(times) < runs:
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
            if time.perf_counter() - loop_start > budget:
                break
    except Timeout:
        return {"timeout": True}
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "p90_ms": times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))] * 1000,
        "min_ms": times[0] * 1000,
        "runs": len(times),
    }


def throughput(make_call: Callable[[], Callable[[], object]], concurrency: int, duration: float) -> dict:
    """Queries/s with ``concurrency`` threads, each calling in a loop for ``duration`` seconds."""
    stop = time.perf_counter() + duration
    counts = [0] * concurrency
    errors: list[str] = []

    def worker(i: int) -> None:
        call = make_call()
        try:
            while time.perf_counter() < stop:
                call()
                counts[i] += 1
        except Timeout:
            errors.append("timeout")
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            errors.append(repr(exc))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    result = {"qps": sum(counts) / elapsed, "completed": sum(counts), "seconds": elapsed}
    if errors:
        result["errors"] = errors[:4]
        if "timeout" in errors:
            result["timeout"] = True
    return result


class HttpClient:
    """SPARQL protocol POST (form-encoded) over one keep-alive connection."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def post(self, query: str) -> bytes:
        body = urllib.parse.urlencode({"query": query})
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/sparql-results+json"}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", "/sparql", body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except socket.timeout:
                self.conn.close()
                self.conn = None
                raise Timeout() from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed an idle keep-alive connection: reconnect once
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {data[:300]!r}")
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return data
        raise AssertionError("unreachable")


def http_caller(port: int, timeout: float, text: str) -> Callable[[], Callable[[], bytes]]:
    """For :func:`throughput`: makes, per thread, a call over that thread's own connection."""
    def make() -> Callable[[], bytes]:
        client = HttpClient(port, timeout)
        return lambda: client.post(text)
    return make


def rows_of(body: bytes) -> int:
    return len(json.loads(body)["results"]["bindings"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A child process group started here, stopped by its id."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path, cwd: Path | None = None,
                 env: dict | None = None) -> None:
        self.name, self.port = name, port
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd,
                                     env=env, start_new_session=True)

    def wait_ready(self, probe: str, limit: float) -> float:
        started = time.perf_counter()
        client = HttpClient(self.port, timeout=5)
        while time.perf_counter() - started < limit:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                client.post(probe)
                return time.perf_counter() - started
            except (OSError, RuntimeError, Timeout, http.client.HTTPException):
                client.conn = None
                time.sleep(0.25)
        raise RuntimeError(f"{self.name} not ready after {limit:.0f} s; see {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.log.close()


# --------------------------------------------------------------------------- the targets


@dataclasses.dataclass
class Target:
    """Something that answers a query text; ``make`` gives a call bound to one query (and, for
    HTTP targets, to a fresh keep-alive connection)."""

    name: str
    make: Callable[[str], Callable[[], bytes]]
    restart: Callable[[], None] | None = None  # for a server that passed the timeout
    alive: bool = True


def interleaved_latency(targets: list[Target], text: str, args) -> dict[str, dict]:
    """Latency at concurrency 1 of every target on one query, measured in interleaved rounds
    (target A, B, C, A, B, C…) so that background load falls on all of them alike.

    Each target: one checked call (rows), ``warmup`` calls, then up to ``runs`` timed calls or
    ``budget`` seconds of its own time. A call past ``--timeout`` marks the target "timeout"."""
    out: dict[str, dict] = {}
    calls: dict[str, Callable[[], bytes]] = {}
    for t in targets:
        if not t.alive:
            continue
        call = t.make(text)
        try:
            body = call()
            for _ in range(args.warmup):
                call()
        except Timeout:
            out[t.name] = {"timeout": True}
            continue
        out[t.name] = {"rows": rows_of(body)}
        calls[t.name] = call
    times: dict[str, list[float]] = {n: [] for n in calls}
    spent = {n: 0.0 for n in calls}
    for _ in range(args.runs):
        active = [n for n in calls if spent[n] < args.budget]
        if not active:
            break
        for n in active:
            t0 = time.perf_counter()
            try:
                calls[n]()
            except Timeout:
                out[n] = {"timeout": True}
                del calls[n]
                continue
            dt = time.perf_counter() - t0
            times[n].append(dt)
            spent[n] += dt
    for n, ts in times.items():
        if n not in calls or not ts:
            continue
        ts.sort()
        out[n].update({
            "median_ms": statistics.median(ts) * 1000,
            "p90_ms": ts[min(len(ts) - 1, int(round(0.9 * (len(ts) - 1))))] * 1000,
            "min_ms": ts[0] * 1000,
            "runs": len(ts),
        })
    return out


def http_target(name: str, port: int, timeout: float) -> Target:
    def make(text: str) -> Callable[[], bytes]:
        client = HttpClient(port, timeout)
        return lambda: client.post(text)
    return Target(name, make)


def floor_target(store: ox.Store) -> Target:
    fmt = ox.QueryResultsFormat.JSON

    def make(text: str) -> Callable[[], bytes]:
        return lambda: store.query(text, use_default_graph_as_union=True).serialize(format=fmt)
    return Target("floor", make)


def layer_targets(store: ox.Store, store_dir: Path, args) -> tuple[list[Target], Callable[[], None]]:
    """cohesio's layers one by one, in this process: its serialiser, + the query process hop,
    + Flask (guard, negotiation, response)."""
    from cohesio.config import load_settings
    from cohesio.namespaces import PREFIXES as COH_PREFIXES
    from cohesio.sparql.executor import Job, QueryPool, evaluate
    from cohesio.web import create_app

    settings = load_settings(environ={}, store_dir=store_dir, project_dir=REPO)
    pool = QueryPool(synthetic_store_path(store_dir), size=1, timeout=args.timeout)
    app = create_app(settings)
    flask_client = app.test_client()

    def job(text: str):
        return Job(query=text, format="json", max_rows=settings.max_rows, prefixes=tuple(COH_PREFIXES.items()))

    def evaluate_make(text: str):
        j = job(text)
        return lambda: evaluate(store, j).body

    def pool_make(text: str):
        j = job(text)
        return lambda: pool.run(j).body

    def flask_make(text: str):
        return lambda: _flask_post(flask_client, text)

    def close() -> None:
        pool.close()
        app.extensions["cohesio.backend"].close()

    return [Target(LAYERS[0], evaluate_make), Target(LAYERS[1], pool_make), Target(LAYERS[2], flask_make)], close


#: cohesio with ``inline_lookup_budget = 0``: every query through a query process.
NO_LOOKUPS = "cohesio, every query in a process"

LAYERS = (
    "evaluate (query + cohesio serialiser, in-process)",
    "QueryPool.run (+ pickled job, pipe, query process)",
    "Flask test client (+ Flask, guard, negotiation)",
)


def synthetic_store_path(store_dir: Path) -> Path:
    from cohesio import versions

    return versions.current(store_dir).store_path


def _flask_post(client, text: str) -> bytes:
    response = client.post("/sparql", data={"query": text}, headers={"Accept": "application/sparql-results+json"})
    if response.status_code != 200:
        raise RuntimeError(response.data[:300])
    return response.data


# --------------------------------------------------------------------------- report


def fmt_ms(entry: dict | None, timeout: float) -> str:
    if not entry:
        return "n/a"
    if entry.get("timeout"):
        return f"> {timeout:g} s"
    return f"{entry['median_ms']:.2f} / {entry['p90_ms']:.2f}"


def ratio(a: dict | None, b: dict | None, key: str = "median_ms", timeout: float = 0) -> str:
    if not a or not b:
        return "n/a"
    if a.get("timeout"):
        return f"> {timeout * 1000 / b[key]:.0f}×" if key in b else "n/a"
    if b.get("timeout") or key not in a or key not in b:
        return "n/a"
    return f"{a[key] / b[key]:.2f}×"


def qps(entry: dict | None, c: int) -> str:
    if not entry:
        return "n/a"
    if entry.get("timeout") or entry.get(f"c{c}_timeout"):
        return "timeout"
    v = entry.get(f"c{c}_qps")
    return "n/a" if v is None else f"{v:.1f}"


def render_markdown(report: dict) -> str:
    a = report["settings"]
    c = a["concurrency"]
    t = a["timeout"]
    lines = []
    ds = report["dataset"]
    lines.append(f"Dataset: {ds['triples']:,} triples ({ds['initiatives']:,} initiatives, "
                 f"{ds['organizations']:,} organisations, {ds['static_triples']:,} triples of real vocabularies "
                 f"and official geography), seed {ds['seed']}.")
    lines.append("")
    lines.append("Latency at concurrency 1, median / p90 in ms (HTTP POST for the servers, in-process for the floor):")
    lines.append("")
    lines.append("| query | rows | floor (pyoxigraph in-process) | floor over HTTP | cohesio | rdflib-endpoint "
                 "| floor over HTTP / floor | cohesio / floor | cohesio / floor over HTTP | rdflib-endpoint / cohesio |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for q in QUERIES:
        r = report["results"].get(q.name, {})
        rows = r.get("rows", {})
        rows_text = str(rows.get("floor", "?"))
        if len(set(rows.values())) > 1:
            rows_text += " (differ: " + ", ".join(f"{k} {v}" for k, v in rows.items()) + ")"
        over_http = r.get("floor over HTTP")
        lines.append(f"| {q.name} ({q.kind}) | {rows_text} | {fmt_ms(r.get('floor'), t)} | {fmt_ms(over_http, t)} | "
                     f"{fmt_ms(r.get('cohesio'), t)} | {fmt_ms(r.get('rdflib-endpoint'), t)} | "
                     f"{ratio(over_http, r.get('floor'))} | **{ratio(r.get('cohesio'), r.get('floor'))}** | "
                     f"{ratio(r.get('cohesio'), over_http)} | "
                     f"{ratio(r.get('rdflib-endpoint'), r.get('cohesio'), timeout=t)} |")
    lines.append("")
    lines.append(f"Throughput at concurrency {c} ({a['duration']:g} s per cell), queries/s:")
    lines.append("")
    lines.append("| query | floor | cohesio | rdflib-endpoint | cohesio / floor | cohesio / rdflib-endpoint |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for q in QUERIES:
        r = report["results"].get(q.name, {})
        f, co, rd = r.get("floor"), r.get("cohesio"), r.get("rdflib-endpoint")

        def div(x, y):
            try:
                return f"{x[f'c{c}_qps'] / y[f'c{c}_qps']:.2f}×"
            except (TypeError, KeyError, ZeroDivisionError):
                return "n/a"
        lines.append(f"| {q.name} | {qps(f, c)} | {qps(co, c)} | {qps(rd, c)} | {div(co, f)} | {div(co, rd)} |")
    lines.append("")
    lines.append("Where cohesio's time goes, selective queries (concurrency 1, median ms, measured in the same "
                 "interleaved rounds; each layer includes the ones to its left):")
    lines.append("")
    header = ["floor"] + list(LAYERS) + ["cohesio over HTTP (gunicorn)", "gunicorn hello (HTTP alone)",
                                         "floor over HTTP (asyncio, no bounds)",
                                         "cohesio over HTTP, every query in a process (inline_lookup_budget = 0)"]
    lines.append("| query | " + " | ".join(header) + " |")
    lines.append("| --- |" + " --- |" * len(header))
    for q in QUERIES:
        if q.kind != "selective":
            continue
        r = report["results"].get(q.name, {})
        cells = [r.get(n, {}).get("median_ms")
                 for n in ["floor", *LAYERS, "cohesio", "gunicorn hello", "floor over HTTP", NO_LOOKUPS]]
        lines.append(f"| {q.name} | " + " | ".join("n/a" if v is None else f"{v:.2f}" for v in cells) + " |")
    lines.append("")
    lines.append("A lookup (`record`: every triple pattern anchored on an IRI, few matches; cohesio.sparql.lookup) "
                 "is answered by Flask and by the server in the request thread, without the query-process hop: "
                 "for it, those two columns do not include the QueryPool.run column.")
    if report.get("profile_summary"):
        prof = dict(report["profile_summary"])
        n = prof.pop("samples")
        lines.append("")
        lines.append(f"py-spy, cohesio serve under the selective queries at concurrency 1 ({n} on-CPU samples of "
                     "the gunicorn workers and their query processes):")
        lines.append("")
        lines.append("| where | share of samples |")
        lines.append("| --- | --- |")
        for k, v in prof.items():
            lines.append(f"| {k} | {v:.1f} % |")
    return "\n".join(lines) + "\n"


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "memory": mem, "python": platform.python_version(),
            "platform": platform.platform()}


def versions_of() -> dict:
    import importlib.metadata as md

    out = {}
    for pkg in ("cohesio", "pyoxigraph", "flask", "gunicorn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    if PEER_PYTHON.exists():
        peer = subprocess.run([str(PEER_PYTHON), "-c", "import importlib.metadata as m;"
                               "print(m.version('rdflib-endpoint'), m.version('rdflib'), m.version('uvicorn'))"],
                              capture_output=True, text=True, timeout=60)
        if peer.returncode == 0:
            e, r, u = peer.stdout.split()
            out.update({"rdflib-endpoint": e, "rdflib (peer venv)": r, "uvicorn (peer venv)": u})
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cohesio endpoint benchmark (see module docstring)")
    parser.add_argument("--size", type=int, default=1_000_000, help="triples in all (default 1,000,000)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: ~100k synthetic triples on top of the ~255k static ones, 10 runs, 3 s loops")
    parser.add_argument("--runs", type=int, default=30, help="latency runs per cell after warm-up (default 30)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed calls per target and query first (default 10: warms every query process)")
    parser.add_argument("--budget", type=float, default=10.0, help="max seconds of one latency loop (≤ 10)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of one throughput loop (≤ 10)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/cohesio-bench"),
                        help="generated data and stores (default /tmp/cohesio-bench)")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument("--skip-peer", action="store_true", help="do not run rdflib-endpoint")
    parser.add_argument("--skip-breakdown", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="also record a py-spy profile of one gunicorn worker under the selective queries")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="only print the Markdown tables of an earlier run's JSON")
    args = parser.parse_args(argv)
    if args.render:
        print(render_markdown(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    if args.quick:
        args.size = 355_000
        args.runs = min(args.runs, 10)
        args.budget = min(args.budget, 3.0)
        args.duration = min(args.duration, 3.0)
    args.budget = min(args.budget, 10.0)
    args.duration = min(args.duration, 10.0)

    tag = "quick" if args.quick else f"{args.size // 1000}k"
    work = args.work_dir / tag
    work.mkdir(parents=True, exist_ok=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    # (a) data
    print(f"[1/4] generating ~{args.size:,} triples (seed {args.seed})", flush=True)
    nq = work / "data.nq"
    ds = synthetic.generate(nq, size=args.size, seed=args.seed)
    store_dir = work / "store"
    if store_dir.exists():
        shutil.rmtree(store_dir)
    t0 = time.perf_counter()
    version = synthetic.publish(nq, store_dir, ds.as_dict())
    load_seconds = time.perf_counter() - t0
    print(f"      {ds.triples:,} triples, {ds.initiatives:,} initiatives; generated in {ds.seconds:.1f} s, "
          f"bulk-loaded and published in {load_seconds:.1f} s (no SHACL validation)", flush=True)
    queries = {q.name: q.text(ds.probes) for q in QUERIES}
    kinds = {q.name: q.kind for q in QUERIES}
    results: dict[str, dict] = {}
    report: dict = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine(),
        "versions": versions_of(),
        "dataset": {**ds.as_dict(), "load_seconds": load_seconds, "version": version.id},
        "queries": {q.name: {"kind": q.kind, "title": q.title, "text": queries[q.name]} for q in QUERIES},
        "results": results,
    }

    # servers: cohesio (the real `cohesio serve`), a gunicorn "hello" app, rdflib-endpoint
    print("[2/4] starting cohesio serve, gunicorn hello, the floor over HTTP and rdflib-endpoint", flush=True)
    store = ox.Store.read_only(str(version.store_path))
    servers: dict[str, Server] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
    ask = PREFIXES + "ASK { ?s ?p ?o }"

    def start_peer() -> Server:
        pport = free_port()
        return Server("rdflib-endpoint", [str(PEER_PYTHON), str(HERE / "rdflib_peer.py"), "--data", str(nq),
                                          "--port", str(pport)], pport, work / "rdflib-endpoint.log")

    layers_close = None
    try:
        port = free_port()
        servers["cohesio"] = Server("cohesio", [str(COHESIO_BIN), "--store-dir", str(store_dir), "serve",
                                                "--host", "127.0.0.1", "--port", str(port)],
                                    port, work / "cohesio-serve.log", cwd=work, env=env)
        # the same server with every query in a query process: what answering lookups in the
        # request thread (cohesio.sparql.lookup) changes, measured in the same rounds
        nport = free_port()
        servers[NO_LOOKUPS] = Server(NO_LOOKUPS, [str(COHESIO_BIN), "--store-dir", str(store_dir), "serve",
                                                  "--host", "127.0.0.1", "--port", str(nport)],
                                     nport, work / "cohesio-no-lookups.log", cwd=work,
                                     env={**env, "COHESIO_INLINE_LOOKUP_BUDGET": "0"})
        hport = free_port()
        servers["hello"] = Server("hello", [str(GUNICORN_BIN), "--bind", f"127.0.0.1:{hport}", "--workers", "2",
                                            "--threads", "4", "--worker-class", "gthread", "--access-logfile", "-",
                                            "--chdir", str(HERE), "hello_wsgi:app"], hport, work / "hello.log")
        fport = free_port()
        servers["floor over HTTP"] = Server("floor over HTTP", [sys.executable, str(HERE / "floor_http.py"), "--store",
                                                                str(version.store_path), "--port", str(fport)],
                                            fport, work / "floor-http.log")
        run_peer = not args.skip_peer and PEER_PYTHON.exists()
        if not args.skip_peer and not run_peer:
            print(f"      no peer venv at {PEER_PYTHON}: rdflib-endpoint skipped (see the module docstring)")
            report["peer_missing"] = True
        if run_peer:
            servers["rdflib-endpoint"] = start_peer()
        ready = servers["cohesio"].wait_ready(ask, 120)
        print(f"      cohesio ready in {ready:.1f} s", flush=True)
        servers["hello"].wait_ready("ASK {}", 30)
        servers["floor over HTTP"].wait_ready(ask, 60)
        servers[NO_LOOKUPS].wait_ready(ask, 120)

        targets = [floor_target(store), http_target("floor over HTTP", servers["floor over HTTP"].port, args.timeout),
                   http_target("cohesio", servers["cohesio"].port, args.timeout),
                   http_target(NO_LOOKUPS, servers[NO_LOOKUPS].port, args.timeout),
                   http_target("gunicorn hello", servers["hello"].port, args.timeout)]
        if not args.skip_breakdown:
            layers, layers_close = layer_targets(store, store_dir, args)
            targets += layers
        peer_target = None
        if run_peer:
            ready = servers["rdflib-endpoint"].wait_ready(ask, 1800)
            report["dataset"]["rdflib_load_seconds"] = ready
            print(f"      rdflib-endpoint ready in {ready:.1f} s (parsing the N-Quads)", flush=True)
            peer_target = http_target("rdflib-endpoint", servers["rdflib-endpoint"].port, args.timeout)
            targets.append(peer_target)
        report["load_average_start"] = os.getloadavg()

        print("[3/4] measuring (latency interleaved across targets, then throughput)", flush=True)
        for i, q in enumerate(QUERIES):
            text = queries[q.name]
            active = [t for t in targets if q.kind == "selective" or t.name not in (*LAYERS, NO_LOOKUPS)]
            lat = interleaved_latency(active, text, args)
            entry = results.setdefault(q.name, {})
            entry["rows"] = {n: v["rows"] for n, v in lat.items() if "rows" in v and n != "gunicorn hello"}
            entry.update(lat)
            for name in ("floor", "cohesio", "rdflib-endpoint"):
                v = lat.get(name)
                if v is None:
                    continue
                if v.get("timeout"):
                    print(f"  {name:16} {q.name:22} > {args.timeout:g} s", flush=True)
                    continue
                tgt = next(t for t in targets if t.name == name)
                thr = throughput(lambda tgt=tgt: tgt.make(text), args.concurrency, args.duration)
                v.update({f"c{args.concurrency}_{k}": val for k, val in thr.items()})
                print(f"  {name:16} {q.name:22} median {v['median_ms']:8.2f} ms  p90 {v['p90_ms']:8.2f} ms"
                      f"  ({v['runs']} runs)  {thr['qps']:8.1f} q/s at c={args.concurrency}", flush=True)
            if peer_target is not None and lat.get("rdflib-endpoint", {}).get("timeout"):
                # rdflib evaluates in the event loop and cannot be interrupted: restart it
                servers["rdflib-endpoint"].stop()
                if i + 1 < len(QUERIES):
                    print("      restarting rdflib-endpoint after its timeout", flush=True)
                    servers["rdflib-endpoint"] = start_peer()
                    servers["rdflib-endpoint"].wait_ready(ask, 1800)
                    peer_target.make = http_target("rdflib-endpoint", servers["rdflib-endpoint"].port,
                                                   args.timeout).make
                else:
                    peer_target.alive = False
        if args.profile:
            print("[4/4] py-spy profile of cohesio serve under the selective queries", flush=True)
            profile_path = profile_worker(servers["cohesio"], servers["cohesio"].port, queries, args, work)
            report["profile"] = str(profile_path)
            if profile_path:
                report["profile_summary"] = summarise_profile(profile_path)
                print("      " + json.dumps(report["profile_summary"], ensure_ascii=False), flush=True)
        report["load_average_end"] = os.getloadavg()
    finally:
        if layers_close:
            layers_close()
        for server in servers.values():
            server.stop()

    report["seconds"] = time.perf_counter() - started
    md = render_markdown(report)
    print()
    print(md)
    (args.results_dir / f"endpoint-{tag}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                                           encoding="utf-8")
    (args.results_dir / f"endpoint-{tag}.md").write_text(
        f"# Endpoint benchmark ({tag})\n\nCommand: `.venv/bin/python benchmarks/endpoint.py "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
        f"Machine: {report['machine']['cpus']} CPUs ({report['machine']['cpu']}), {report['machine']['memory']}; "
        f"Python {report['machine']['python']}; " + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
        + f"\n\n{md}", encoding="utf-8")
    print(f"wrote {args.results_dir / f'endpoint-{tag}.json'} and .md ({report['seconds']:.0f} s in all)")
    return 0


def profile_worker(server: Server, port: int, queries: dict[str, str], args, work: Path) -> Path | None:
    """py-spy the gunicorn worker processes (and their query processes) while the selective
    queries run at concurrency 1, for ``args.duration`` seconds."""
    pyspy = Path(sys.executable).parent / "py-spy"
    if not pyspy.exists():
        return None
    out = work / "cohesio-profile.txt"
    # the fast selective queries only: a slow one would fill the profile with query evaluation
    selective = [v for k, v in queries.items() if k in ("record", "commune", "theme-practices")]
    spy = subprocess.Popen([str(pyspy), "record", "--pid", str(server.proc.pid), "--subprocesses", "--format",
                            "raw", "--duration", str(int(args.duration) + 2), "--rate", "500", "--output", str(out),
                            "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    client = HttpClient(port, args.timeout)
    stop = time.perf_counter() + args.duration
    while time.perf_counter() < stop:
        for text in selective:
            client.post(text)
    try:
        spy.wait(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
    return out if out.exists() else None


#: (category, substrings of a frame): a sampled stack goes to the category of its deepest frame that
#: matches; "{side}" is "query process" or "server" (gunicorn worker) depending on the process.
PROFILE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("query process: cohesio serialiser (formats.write_solutions, json)", ("write_solutions", "_term_json",
                                                                           "json/encoder")),
    ("query process: pyoxigraph evaluation (store.query + iterating the solutions)",
     ("capped (cohesio/sparql/formats", "evaluate (cohesio/sparql/executor", "evaluate.<locals>")),
    ("{side}: process hop (pickle, pipe send/recv)", ("multiprocessing/", "_worker_main", "QueryPool.run")),
    ("server: guard (query lexer)", ("cohesio/sparql/guard.py",)),
    ("server: backend (_refresh: readlink of current)", ("cohesio/store/embedded.py",)),
    ("server: Flask / Werkzeug / cohesio.web (request, negotiation, response)",
     ("flask/", "werkzeug/", "cohesio/web/sparql.py", "cohesio/web/negotiation.py", "cohesio/web/errors.py")),
    ("server: gunicorn (event loop, thread hand-off, sockets, access log)",
     ("gunicorn/", "selectors.py", "concurrent/futures", "socket.py", "logging/")),
)


def summarise_profile(path: Path) -> dict[str, float]:
    """Share of py-spy's samples (on-CPU Python stacks of the server and its query processes)."""
    totals: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        side = "query process" if "spawn_main" in stack else "server"
        category = "other"
        for frame in reversed([f for f in stack.split(";") if not f.startswith("process ")]):
            hit = next((name for name, keys in PROFILE_RULES if any(k in frame for k in keys)), None)
            if hit:
                category = hit.format(side=side)
                break
        totals[category] = totals.get(category, 0) + int(count)
    n = sum(totals.values()) or 1
    return {k: round(100 * v / n, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])} | {"samples": n}


if __name__ == "__main__":
    raise SystemExit(main())
