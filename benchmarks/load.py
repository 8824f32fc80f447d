"""Load test: the real ``cohesio serve`` under a mix of page views, API calls and SPARQL queries.

One run:

1. takes a published store: by default the bundled project, built with ``cohesio build`` into the
   work directory (reused while its inputs are unchanged); ``--store-dir DIR`` serves an existing
   store directory instead (e.g. a synthetic one made by ``benchmarks/endpoint.py`` or
   ``benchmarks/synthetic.py --store-dir``), ``--synthetic SIZE`` generates and publishes one here;
2. samples what to ask from that store (initiatives, communes, départements, themes, organisations;
   the named queries of ``queries/`` with their example parameters; light SPARQL queries) and checks
   that every one of them answers as expected once;
3. starts the real server, ``cohesio --project-dir REPO --store-dir DIR serve`` (gunicorn, loopback,
   a free port, ``taskset -c 0,1`` when taskset exists: two cores), with a short ``query_timeout``;
4. runs steps of increasing concurrency with locust (library API, headless), each bounded in time:
   N "light" users (closed loop, no think time) mixing HTML pages and browse pages (``page``),
   Turtle documents (``rdf``), named-query API calls (``api``) and light SPARQL SELECT/ASK queries
   (``sparql``); and, in a second step at the same N, the same plus ``--heavy-users`` users who
   send a cross join that runs until the query timeout (``heavy``, answered 503 by design);
5. reports per step and per kind: requests/s, p50/p90/p99/max latency, non-expected statuses, 5xx
   other than the heavy queries' expected 503, requests that got no HTTP answer; and compares the
   light kinds' p99 with and without heavy queries. Writes ``benchmarks/results/load-<tag>.{json,md}``.

locust runs in its own venv, ``benchmarks/.venv-load`` (created on first use with pip, like
``benchmarks/.venv-peers`` for the endpoint benchmark), as a child process of this script: locust
monkey-patches the whole interpreter with gevent on import, and its ~15 dependencies (gevent,
greenlet, pyzmq, Flask-Login, python-socketio…) stay out of cohesio's environment, so the server
measured runs exactly the versions ``make run`` installs. This script itself runs with cohesio's
venv and imports only the standard library at top level, so the same file is the locust child.

    .venv/bin/python benchmarks/load.py                      # bundled build, 1/4/16/64 users, ~4 min
    .venv/bin/python benchmarks/load.py --store-dir /tmp/cohesio-bench/1000k/store --tag 1000k
    .venv/bin/python benchmarks/load.py --smoke --store-dir DIR   # a few seconds (tests/test_load_smoke.py)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LOAD_VENV = HERE / ".venv-load"
LOCUST_REQUIREMENT = "locust==2.47.0"

KINDS = ("page", "rdf", "api", "sparql", "heavy")
LIGHT_KINDS = ("page", "rdf", "api", "sparql")
#: What each kind must answer; anything else is counted as a failure.
EXPECTED = {"page": {200}, "rdf": {200}, "api": {200}, "sparql": {200}, "heavy": {503}}
#: The light mix: relative weights of the light user's tasks.
WEIGHTS = {"page": 4, "rdf": 2, "api": 3, "sparql": 3}
#: Runs until the query timeout on any store of more than ~10^5 triples (10^10 rows to count),
#: in constant memory (two patterns: pyoxigraph streams the cross product; more would be materialised).
HEAVY_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"

COH = "https://w3id.org/cohesio/ontology#"
IGEO = "http://rdf.insee.fr/def/geo#"
ORG = "http://www.w3.org/ns/org#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


# =========================================================================== the locust child
# Runs in benchmarks/.venv-load (no cohesio there): only the standard library, gevent and locust.


def locust_main(spec_path: Path, out_path: Path) -> int:
    import gevent  # locust monkey-patches the interpreter with gevent when it is imported
    from locust import FastHttpUser, constant, task
    from locust.env import Environment

    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    targets = spec["targets"]
    rng = random.Random(spec["seed"])

    class State:
        stopping = False
        inflight = 0
        records: list[tuple[str, float, float, int, str]] = []  # kind, start, seconds, status, error
        issued: dict[str, int] = {}
        cancelled: dict[str, int] = {}

    def call(user, kind: str, method: str, path: str, headers: dict, body: str | None = None) -> None:
        if State.stopping:  # the step is draining: issue nothing new
            gevent.sleep(0.05)
            return
        State.issued[kind] = State.issued.get(kind, 0) + 1
        State.inflight += 1
        started = time.time()
        t0 = time.perf_counter()
        status, error = 0, ""
        try:
            with user.client.request(method, path, headers=headers, data=body, name=kind,
                                     catch_response=True, allow_redirects=False) as response:
                status = response.status_code or 0
                if status == 0:
                    error = repr(response.error)[:200]
                response.success()  # statuses are judged by this script, not by locust
        except gevent.GreenletExit:
            State.cancelled[kind] = State.cancelled.get(kind, 0) + 1
            raise
        except Exception as exc:  # noqa: BLE001 - a client-side failure is a result, not a crash
            error = repr(exc)[:200]
        finally:
            State.inflight -= 1
        State.records.append((kind, started, time.perf_counter() - t0, status, error))

    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "fr,en;q=0.5"}
    turtle = {"Accept": "text/turtle"}
    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json"}
    timeout = spec["network_timeout"]

    class Light(FastHttpUser):
        host = spec["host"]
        wait_time = constant(0)
        network_timeout = timeout
        connection_timeout = 10.0
        max_retries = 0
        weight = 1

        @task(WEIGHTS["page"])
        def page(self) -> None:
            call(self, "page", "GET", rng.choice(targets["page"]), html)

        @task(WEIGHTS["rdf"])
        def rdf(self) -> None:
            call(self, "rdf", "GET", rng.choice(targets["rdf"]), turtle)

        @task(WEIGHTS["api"])
        def api(self) -> None:
            call(self, "api", "GET", rng.choice(targets["api"]), {"Accept": "application/json"})

        @task(WEIGHTS["sparql"])
        def sparql(self) -> None:
            call(self, "sparql", "POST", "/sparql", form, urllib.parse.urlencode({"query": rng.choice(targets["sparql"])}))

    class Heavy(FastHttpUser):
        host = spec["host"]
        wait_time = constant(0)
        network_timeout = timeout
        connection_timeout = 10.0
        max_retries = 0
        fixed_count = 0

        @task
        def heavy(self) -> None:
            call(self, "heavy", "POST", "/sparql", form, urllib.parse.urlencode({"query": targets["heavy"]}))

    steps_out = []
    for step in spec["steps"]:
        users, heavy, seconds = step["users"], step["heavy"], step["seconds"]
        State.records, State.issued, State.cancelled, State.stopping = [], {}, {}, False
        Heavy.fixed_count = heavy
        env = Environment(user_classes=[Light, Heavy] if heavy else [Light])
        runner = env.create_local_runner()
        t_start = time.time()
        runner.start(users + heavy, spawn_rate=100)  # all 64+ users within a second
        gevent.sleep(seconds)
        State.stopping = True
        t_stop = time.time()
        drain_limit = time.time() + timeout + 5
        while State.inflight and time.time() < drain_limit:
            gevent.sleep(0.05)
        left = State.inflight
        runner.quit()
        gevent.sleep(0.1)
        steps_out.append({"users": users, "heavy": heavy, "seconds": seconds, "start": t_start, "stop": t_stop,
                          "drained_in": time.time() - t_stop, "left_in_flight": left,
                          "issued": dict(State.issued), "cancelled": dict(State.cancelled),
                          "records": State.records})
        print(f"  step users={users} heavy={heavy}: {len(State.records)} answers", flush=True)
    out_path.write_text(json.dumps({"steps": steps_out}), encoding="utf-8")
    return 0


# =========================================================================== the orchestrator
# Runs in cohesio's venv.


def ensure_locust_venv() -> Path:
    """benchmarks/.venv-load with locust, created on first use; its python."""
    python = LOAD_VENV / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import locust"], capture_output=True, timeout=120)
        if check.returncode == 0:
            return python
    print(f"creating {LOAD_VENV} with {LOCUST_REQUIREMENT} (once)", flush=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(LOAD_VENV)], check=True, timeout=300)
    subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", LOCUST_REQUIREMENT],
                   check=True, timeout=900)
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def real_store(work: Path) -> Path:
    """The bundled project built into ``work/real`` (rebuilt only when its inputs changed)."""
    sys.path.insert(0, str(REPO / "src"))
    from cohesio import versions
    from cohesio.build import fingerprint
    from cohesio.config import load_settings
    from cohesio.sources import discover

    store_dir = work / "real"
    settings = load_settings(None, environ={}, project_dir=REPO, store_dir=store_dir)
    shapes = sorted(settings.shapes_dir.glob("*.ttl"))
    digest, _ = fingerprint([s.path for s in discover(REPO)] + shapes, settings.base_iri, REPO)
    try:
        if versions.current(store_dir).manifest.get("inputs_sha256") == digest:
            return store_dir
    except versions.NoBuildError:
        pass
    print(f"building the bundled project into {store_dir}", flush=True)
    cohesio = Path(sys.executable).parent / "cohesio"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
    subprocess.run([str(cohesio), "--project-dir", str(REPO), "--store-dir", str(store_dir), "build", "-q"],
                   check=True, env=env, cwd=work, stdout=subprocess.DEVNULL, timeout=1800)
    return store_dir


def synthetic_store(work: Path, size: int, seed: int) -> Path:
    sys.path.insert(0, str(HERE))
    import synthetic

    store_dir = work / f"synthetic-{size}"
    if store_dir.exists():
        shutil.rmtree(store_dir)
    nq = work / f"synthetic-{size}.nq"
    ds = synthetic.generate(nq, size=size, seed=seed)
    synthetic.publish(nq, store_dir, ds.as_dict())
    return store_dir


def sample_targets(store_dir: Path, seed: int, per_class: int) -> dict:
    """What the users ask, drawn from the published store (seeded, so runs are comparable)."""
    sys.path.insert(0, str(REPO / "src"))
    import pyoxigraph as ox

    from cohesio import versions
    from cohesio.linked_data.links import url_path
    from cohesio.queries import load_queries

    version = versions.current(store_dir)
    base = version.manifest.get("base_iri") or "https://w3id.org/cohesio/"
    store = ox.Store.read_only(str(version.store_path))
    rng = random.Random(seed)

    def members(where: str) -> list[str]:
        rows = store.query(f"SELECT DISTINCT ?x WHERE {{ {where} FILTER(isIRI(?x) && STRSTARTS(STR(?x), \"{base}id/\")) }}",
                           use_default_graph_as_union=True)
        found = sorted(r["x"].value for r in rows)
        return rng.sample(found, min(per_class, len(found)))

    classes = {
        "initiative": members(f"?x a <{COH}Initiative>"),
        "commune": members(f"?x a <{IGEO}Commune>") or members(f"?x a <{COH}Commune>"),
        "departement": members(f"?x a <{IGEO}Departement>"),
        "theme": members(f"?x <{SKOS}inScheme> <{base}id/scheme/themes>"),
        "organisation": members(f"?x a <{ORG}Organization>"),
    }
    if not any(classes.values()):
        classes["resource"] = members("?x ?p ?o")
    docs = [f"/doc/{url_path(iri[len(base) + 3:])}" for iris in classes.values() for iri in iris]
    browse = ["/", "/themes", "/territories", "/actors", "/audiences", "/search?q=solidarit%C3%A9",
              "/search?q=jardin", "/api"]
    api_calls = []
    for query in load_queries(REPO / "queries"):
        params = {p.name: p.example or p.default for p in query.params if (p.example or p.default)}
        api_calls.append(f"/api/{query.name}" + (f"?{urllib.parse.urlencode(params)}" if params else ""))
    some = [iri for iris in classes.values() for iri in iris]
    light: list[str] = []
    for iri in classes["initiative"] or some:
        light.append(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")
        light.append(f"ASK {{ <{iri}> ?p ?o }}")
    for iri in classes["commune"] or some:
        light.append(f"SELECT ?s ?p WHERE {{ ?s ?p <{iri}> }} LIMIT 100")
    for iri in classes["theme"] or some:
        light.append(f"SELECT ?x ?label WHERE {{ ?x ?p <{iri}> . OPTIONAL {{ ?x <{SKOS}prefLabel> ?label }} }} LIMIT 100")
    light += [
        f"SELECT ?c (COUNT(?s) AS ?n) WHERE {{ GRAPH <{base}graph/guide> {{ ?s a ?c }} }} GROUP BY ?c",
        f'SELECT ?i ?label WHERE {{ ?i a <{COH}Initiative> ; <{RDFS}label> ?label FILTER(lang(?label) = "fr") }} '
        "ORDER BY ?label LIMIT 50",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s a ?c } } GROUP BY ?g",
    ]
    del store
    return {
        "base_iri": base,
        "version": version.id,
        "triples": (version.manifest.get("counts") or {}).get("total"),
        "classes": {k: len(v) for k, v in classes.items()},
        "page": docs + browse * max(1, len(docs) // 40),
        "rdf": docs,
        "api": api_calls,
        "sparql": light,
        "heavy": HEAVY_QUERY,
    }


class Server:
    """``cohesio serve`` in its own process group, stopped by that group's id."""

    def __init__(self, store_dir: Path, port: int, log: Path, args, cwd: Path) -> None:
        argv = [str(Path(sys.executable).parent / "cohesio"), "--project-dir", str(REPO), "--store-dir",
                str(store_dir), "serve", "--host", "127.0.0.1", "--port", str(port)]
        self.pinned = None
        if shutil.which("taskset") and not args.no_pin:
            cores = os.cpu_count() or 2
            self.pinned = "0,1" if cores >= 2 else "0"
            argv = ["taskset", "-c", self.pinned] + argv
        env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
        env.update({"COHESIO_QUERY_TIMEOUT": str(args.query_timeout), "COHESIO_WORKERS": str(args.workers),
                    "COHESIO_THREADS": str(args.threads), "COHESIO_QUERY_PROCESSES": str(args.query_processes),
                    "PYTHONUNBUFFERED": "1",
                    # an empty log of its own: the repository's contributions are never replayed into the store
                    "COHESIO_CONTRIBUTIONS_DIR": str(cwd / "contributions")})
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                     start_new_session=True)

    def wait_ready(self, limit: float = 60) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cohesio serve exited ({self.proc.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/sparql?query=ASK%7B%7D", timeout=5) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise RuntimeError(f"cohesio serve not ready after {limit:.0f} s; see {self.log_path}")

    def memory(self) -> dict:
        """Resident memory of the server's processes (master, workers, query processes), in MiB."""
        page = os.sysconf("SC_PAGE_SIZE")
        rss: list[float] = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[2]) != self.proc.pid:  # field 5: process group
                    continue
                rss.append(int(Path(f"/proc/{entry}/statm").read_text().split()[1]) * page / 2 ** 20)
            except (OSError, IndexError, ValueError):
                continue
        return {"processes": len(rss), "total_mib": round(sum(rss)), "largest_mib": round(max(rss, default=0))}

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.log.close()


def fetch(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
          timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):  # noqa: ANN002, ANN003
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_targets(url: str, targets: dict, timeout: float, most: int, seed: int) -> dict:
    """Ask up to ``most`` targets of each kind once (also a warm-up): each must answer its kind's
    expected status (a sample: a page costs tens of milliseconds and there are hundreds)."""
    bad: list[str] = []
    seconds: dict[str, float] = {}
    rng = random.Random(seed)
    for kind in LIGHT_KINDS:
        t0 = time.perf_counter()
        unique = sorted(set(targets[kind]))
        for target in rng.sample(unique, min(most, len(unique))):
            if kind == "sparql":
                status, body = fetch(url + "/sparql", "POST", {"Content-Type": "application/x-www-form-urlencoded"},
                                     urllib.parse.urlencode({"query": target}).encode(), timeout)
            else:
                headers = {"Accept": {"rdf": "text/turtle", "api": "application/json"}.get(kind, "text/html")}
                status, body = fetch(url + target, headers=headers, timeout=timeout)
            if status not in EXPECTED[kind]:
                bad.append(f"{kind} {target[:120]} -> {status} {body[:160]!r}")
        seconds[kind] = time.perf_counter() - t0
    return {"bad": bad, "seconds": seconds}


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(min(rank, len(sorted_values))) - 1]


def summarise(step: dict) -> dict:
    window = step["stop"] - step["start"]
    out: dict = {"users": step["users"], "heavy": step["heavy"], "seconds": round(window, 2),
                 "drained_in": round(step["drained_in"], 2), "left_in_flight": step["left_in_flight"],
                 "kinds": {}}
    by_kind: dict[str, list] = {}
    for kind, start, secs, status, error in step["records"]:
        by_kind.setdefault(kind, []).append((start, secs, status, error))
    for kind in KINDS:
        rows = by_kind.get(kind, [])
        issued = step["issued"].get(kind, 0)
        if not rows and not issued:
            continue
        times = sorted(r[1] * 1000 for r in rows if r[2])
        statuses: dict[str, int] = {}
        for r in rows:
            statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
        in_window = sum(1 for r in rows if r[0] + r[1] <= step["stop"])
        unexpected_5xx = sum(1 for r in rows if r[2] >= 500 and r[2] not in EXPECTED[kind])
        no_answer = sum(1 for r in rows if not r[2])
        out["kinds"][kind] = {
            "issued": issued,
            "answered": len(rows) - no_answer,
            "rps": round(in_window / window, 2) if window else None,
            "p50_ms": percentile(times, 50), "p90_ms": percentile(times, 90), "p99_ms": percentile(times, 99),
            "max_ms": times[-1] if times else None,
            "statuses": statuses,
            "unexpected": sum(1 for r in rows if r[2] not in EXPECTED[kind]),
            "unexpected_5xx": unexpected_5xx,
            "no_answer": no_answer,
            "lost": issued - (len(rows) - no_answer),
            "errors": sorted({r[3] for r in rows if r[3]})[:5],
        }
    light = [v for k, v in out["kinds"].items() if k in LIGHT_KINDS]
    out["light_rps"] = round(sum(v["rps"] or 0 for v in light), 2)
    light_times = sorted(r[1] * 1000 for k, rows in by_kind.items() if k in LIGHT_KINDS for r in rows if r[2])
    out["light_p50_ms"] = percentile(light_times, 50)
    out["light_p99_ms"] = percentile(light_times, 99)
    out["light_max_ms"] = light_times[-1] if light_times else None
    return out


def server_log_counts(path: Path) -> dict:
    """Statuses in gunicorn's access log, and tracebacks in the server's output."""
    text = path.read_text(encoding="utf-8", errors="replace")
    statuses: dict[str, int] = {}
    for match in re.finditer(r'" (\d{3}) ', text):
        statuses[match.group(1)] = statuses.get(match.group(1), 0) + 1
    worker_events = len(re.findall(r"\[(?:CRITICAL|ERROR)\]", text))
    return {"statuses": statuses, "tracebacks": text.count("Traceback"), "worker_errors": worker_events,
            "log": str(path)}


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ""
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(), "loadavg_before": load}


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def render_markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        f"# Load test ({report['tag']})", "",
        f"Store: {report['store']['version']} ({report['store']['triples'] or '?'} triples). Server: `cohesio serve`, "
        f"{s['workers']} gunicorn gthread workers × {s['threads']} threads, {s['query_processes']} query processes "
        f"per worker, query_timeout {s['query_timeout']:g} s, pinned to cores {report['pinned'] or 'none'}. "
        f"Client: locust {report['locust']} (FastHttpUser, closed loop, no think time) on the same machine. "
        f"Machine: {report['machine']['cpus']} CPUs, {report['machine']['cpu']}; load average before "
        f"{report['machine']['loadavg_before']}.", "",
        "| users | heavy | kind | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | unexpected status "
        "| unexpected 5xx | no answer |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for step in report["steps"]:
        for kind, v in step["kinds"].items():
            lines.append(f"| {step['users']} | {step['heavy']} | {kind} | {v['answered']} | {v['rps']:.1f} | "
                         f"{fmt(v['p50_ms'])} | {fmt(v['p90_ms'])} | {fmt(v['p99_ms'])} | {fmt(v['max_ms'])} | "
                         f"{v['unexpected']} | {v['unexpected_5xx']} | {v['lost']} |")
    lines += ["", "Light requests (page + rdf + api + sparql) with and without heavy queries:", "",
              "| users | light req/s alone | with heavy | light p50 ms alone | with heavy | light p99 ms alone "
              "| with heavy | light max ms alone | with heavy |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    alone = {st["users"]: st for st in report["steps"] if not st["heavy"]}
    for st in report["steps"]:
        if st["heavy"] and st["users"] in alone:
            a = alone[st["users"]]
            lines.append(f"| {st['users']} | {a['light_rps']:.1f} | {st['light_rps']:.1f} | {fmt(a['light_p50_ms'])} | "
                         f"{fmt(st['light_p50_ms'])} | {fmt(a['light_p99_ms'])} | {fmt(st['light_p99_ms'])} | "
                         f"{fmt(a['light_max_ms'])} | {fmt(st['light_max_ms'])} |")
    totals = report["totals"]
    lines += ["", f"Totals: {totals['answered']} answers, {totals['unexpected_5xx']} unexpected 5xx, "
                  f"{totals['lost']} requests without an HTTP answer; heavy queries answered 503 by the timeout: "
                  f"{totals['heavy_503']}. Server log: {report['server_log']['statuses']} "
                  f"({report['server_log']['tracebacks']} tracebacks). Server memory after the run: "
                  f"{report.get('server_memory', {}).get('total_mib', '?')} MiB resident in "
                  f"{report.get('server_memory', {}).get('processes', '?')} processes (largest "
                  f"{report.get('server_memory', {}).get('largest_mib', '?')} MiB).", ""]
    if report.get("bad_targets"):
        lines += ["Targets that did not answer as expected before the run:", ""]
        lines += [f"- {b}" for b in report["bad_targets"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cohesio load test (see the module docstring)")
    parser.add_argument("--store-dir", type=Path, help="serve this existing store directory (default: build the project)")
    parser.add_argument("--synthetic", type=int, metavar="SIZE", help="generate and serve ~SIZE synthetic triples")
    parser.add_argument("--steps", default="1,4,16,64", help="light users per step (default 1,4,16,64)")
    parser.add_argument("--step-seconds", type=float, default=20.0, help="duration of each step (default 20)")
    parser.add_argument("--heavy-users", type=int, default=2,
                        help="users sending heavy queries in the second step of each level (0: none; default 2)")
    parser.add_argument("--query-timeout", type=float, default=5.0, help="server query_timeout (default 5 s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--query-processes", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=200, help="resources sampled per class (default 200)")
    parser.add_argument("--check", type=int, default=60,
                        help="targets of each kind asked once before the run, as a check and warm-up (default 60)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server with taskset")
    parser.add_argument("--smoke", action="store_true", help="2 short steps (1 and 4 users, 3 s), no heavy users")
    parser.add_argument("--tag", help="results name: load-<tag>.{json,md} (default: real, synthetic-SIZE, store)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/cohesio-load"))
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument("--locust-child", nargs=2, type=Path, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.locust_child:
        return locust_main(*args.locust_child)
    if args.smoke:
        args.steps, args.step_seconds, args.heavy_users = "1,4", min(args.step_seconds, 3.0), 0
        args.per_class, args.check = min(args.per_class, 20), min(args.check, 10)
    steps = [int(n) for n in args.steps.split(",") if n.strip()]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    locust_python = ensure_locust_venv()
    if args.store_dir:
        store_dir, tag = args.store_dir.resolve(), args.tag or "store"
    elif args.synthetic:
        store_dir, tag = synthetic_store(args.work_dir, args.synthetic, args.seed), args.tag or f"synthetic-{args.synthetic}"
    else:
        store_dir, tag = real_store(args.work_dir), args.tag or "real"
    if args.smoke and not args.tag:
        tag = "smoke"
    targets = sample_targets(store_dir, args.seed, args.per_class)
    print(f"store {targets['version']} ({targets['triples']} triples); sampled {targets['classes']}", flush=True)

    run_dir = args.work_dir / f"run-{tag}"
    run_dir.mkdir(parents=True, exist_ok=True)
    server = Server(store_dir, free_port(), run_dir / "server.log", args, run_dir)
    report: dict = {"tag": tag, "machine": machine(), "settings": {
        "steps": steps, "step_seconds": args.step_seconds, "heavy_users": args.heavy_users,
        "query_timeout": args.query_timeout, "workers": args.workers, "threads": args.threads,
        "query_processes": args.query_processes, "seed": args.seed},
        "command": "benchmarks/load.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    try:
        print(f"cohesio serve ready in {server.wait_ready():.1f} s at {server.url}", flush=True)
        check = check_targets(server.url, targets, args.query_timeout + 10, args.check, args.seed)
        report["bad_targets"] = check["bad"]
        print(f"checked {args.check} targets of each kind in {sum(check['seconds'].values()):.1f} s; "
              f"{len(check['bad'])} did not answer as expected", flush=True)
        plan = []
        for users in steps:
            plan.append({"users": users, "heavy": 0, "seconds": args.step_seconds})
            if args.heavy_users:
                plan.append({"users": users, "heavy": args.heavy_users, "seconds": args.step_seconds})
        spec = {"host": server.url, "seed": args.seed, "steps": plan, "network_timeout": args.query_timeout + 20,
                "targets": {k: targets[k] for k in KINDS}}
        spec_path, out_path = run_dir / "spec.json", run_dir / "raw.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        print(f"running {len(plan)} steps of {args.step_seconds:g} s", flush=True)
        child_argv = [str(locust_python), str(Path(__file__).resolve()), "--locust-child", str(spec_path), str(out_path)]
        budget = len(plan) * (args.step_seconds + args.query_timeout + 40) + 60
        subprocess.run(child_argv, check=True, timeout=budget)
        raw = json.loads(out_path.read_text(encoding="utf-8"))
        report["server_memory"] = server.memory()
    finally:
        server.stop()
    report["pinned"] = server.pinned
    report["locust"] = subprocess.run([str(locust_python), "-c", "import locust; print(locust.__version__)"],
                                      capture_output=True, text=True).stdout.strip()
    report["store"] = {"dir": str(store_dir), "version": targets["version"], "triples": targets["triples"],
                       "sampled": targets["classes"]}
    report["steps"] = [summarise(step) for step in raw["steps"]]
    report["server_log"] = server_log_counts(run_dir / "server.log")
    kinds = [v for st in report["steps"] for v in st["kinds"].values()]
    report["totals"] = {
        "answered": sum(v["answered"] for v in kinds),
        "unexpected_5xx": sum(v["unexpected_5xx"] for v in kinds),
        "unexpected": sum(v["unexpected"] for v in kinds),
        "lost": sum(v["lost"] for v in kinds),
        "heavy_503": sum(st["kinds"].get("heavy", {}).get("statuses", {}).get("503", 0) for st in report["steps"]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    json_path = args.results_dir / f"load-{tag}.json"
    md_path = args.results_dir / f"load-{tag}.md"
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = render_markdown(report)
    md_path.write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"written {json_path} and {md_path} ({report['totals']['seconds']} s)")
    ok = not report["totals"]["unexpected_5xx"] and not report["totals"]["lost"] and not report["bad_targets"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
