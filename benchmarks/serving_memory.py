"""Serving memory with and without the query processes' memory bounds, on the same store, in one run.

``cohesio serve`` is started twice on each published store given (one at a time, loopback):
**unbounded** (``query_memory_limit = 0``, ``query_process_recycle = 0``: how every release before
these settings behaved) and **bounded** (the defaults, or ``--limit``/``--recycle``). Each then gets
the same requests, one at a time: every named query of ``queries/`` through ``/api/<name>`` with its
default parameters (the library's pool) and its text through ``/sparql`` (the public pool), then
resource pages (HTML) of resources the store lists. The memory of the server's whole process tree
(gunicorn master, workers, query processes: sum of RSS and of PSS) is sampled every 0.25 s.
Reported: at start, peak, and at the end; answers by status; bounded ÷ unbounded.

    .venv/bin/python benchmarks/serving_memory.py --store 10M=/tmp/scale680/680000/store \\
        --project /tmp/scale680/680000/project --timeout 10

Results: ``benchmarks/results/serving-memory-<tag>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

import scale  # noqa: E402

MiB = 1024 ** 2


def requests_for(project: Path, version_dir: Path, pages: int, seed: int) -> list[tuple[str, str, str]]:
    """(label, path, accept) of every request, in order: named queries by API and by /sparql, pages."""
    from cohesio.config import CANONICAL_BASE_IRI
    from cohesio.queries import load_queries

    out: list[tuple[str, str, str]] = []
    for q in load_queries(project / "queries"):
        out.append((f"api {q.name}", f"/api/{urllib.parse.quote(q.name)}", "application/json"))
        out.append((f"sparql {q.name}", q.bind(header=False), "sparql"))  # POSTed: the text may be long
    resources = (version_dir / "publishing" / "resources.txt").read_text(encoding="utf-8").split()
    rng = random.Random(seed)
    for iri in rng.sample(resources, min(pages, len(resources))):
        if iri.startswith(CANONICAL_BASE_IRI + "id/"):
            out.append((f"page {iri}", "/doc/" + urllib.parse.quote(iri[len(CANONICAL_BASE_IRI) + 3:]), "text/html"))
    return out


def measure(name: str, store_dir: Path, project: Path, settings: dict[str, str], todo: list, timeout: float,
            work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
    env.update({"COHESIO_STORE_DIR": str(store_dir), "COHESIO_QUERY_TIMEOUT": str(timeout), **settings})
    port = scale.free_port()
    server = scale.Server(name, [str(scale.COHESIO_BIN), "--project-dir", str(project), "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], port, work / f"serve-{name}.log", cwd=project, env=env)
    statuses: dict[str, int] = {}
    slowest: list[tuple[float, str, int]] = []
    try:
        server.wait_ready(lambda h: h.get("/", "text/html"), 300)
        sampler = scale.MemorySampler({"server": server.proc.pid})
        sampler.sample()
        start = dict(sampler.last["server"])
        sampler.start()
        http = scale.Http(port, timeout + 30)
        for label, path, accept in todo:
            began = time.perf_counter()
            try:
                if accept == "sparql":
                    http.sparql(path)
                else:
                    http.get(path, accept)
                status = 200
            except scale.HttpError as exc:
                status = exc.status
            except scale.HttpTimeout:
                status = 0
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            slowest.append((time.perf_counter() - began, label, status))
        time.sleep(2)  # recycled processes replaced in the background: let them start
        sampler.sample()
        end = dict(sampler.last["server"])
        sampler.stop()
        peak = dict(sampler.peak["server"])
    finally:
        server.stop()
    slowest.sort(reverse=True)
    return {"settings": settings, "start": start, "peak": peak, "end": end, "statuses": statuses,
            "slowest": [{"seconds": round(s, 2), "request": label, "status": st} for s, label, st in slowest[:8]]}


def render(report: dict) -> str:
    lines = [f"# Serving memory, unbounded vs bounded query processes ({report['tag']})", "",
             f"Command: `{report['command']}`", "",
             f"Machine: {report['machine']['cpus']} CPUs, {report['machine']['memory_gib']} GiB; load average at start "
             f"{report['load_average_start'][0]:.1f}. Each configuration gets the same {report['requests']} requests "
             "one at a time (every named query by `/api` and by `/sparql`, then resource pages); memory = sum over "
             "the server's process tree, sampled every 0.25 s.", "",
             "| store | triples | configuration | at start: RSS (PSS) | peak | at the end | answers by status |",
             "| --- | ---: | --- | --- | --- | --- | --- |"]
    for name, entry in report["stores"].items():
        for config in ("unbounded", "bounded"):
            m = entry[config]

            def mem(x: dict) -> str:
                return f"{x['rss'] / MiB:,.0f} MiB ({x['pss'] / MiB:,.0f}), {x['processes']} proc."
            shown = ", ".join(f"{k.removeprefix('COHESIO_').lower()}={v}" for k, v in m["settings"].items()) or "defaults"
            lines.append(f"| {name} | {entry['triples']:,} | {config} ({shown}) | "
                         f"{mem(m['start'])} | {mem(m['peak'])} | {mem(m['end'])} | "
                         + ", ".join(f"{k or 'timeout'}: {v}" for k, v in sorted(m["statuses"].items())) + " |")
    lines += ["", "| store | peak RSS: bounded ÷ unbounded | at the end: bounded ÷ unbounded |", "| --- | ---: | ---: |"]
    for name, entry in report["stores"].items():
        b, u = entry["bounded"], entry["unbounded"]
        lines.append(f"| {name} | {b['peak']['rss'] / u['peak']['rss']:.2f}× | {b['end']['rss'] / u['end']['rss']:.2f}× |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", default=[], required=True, help="NAME=STORE_DIR")
    parser.add_argument("--project", type=Path, default=REPO, help="project directory (its queries/)")
    parser.add_argument("--timeout", type=float, default=10.0, help="query_timeout of both servers, s")
    parser.add_argument("--limit", type=int, default=None, help="query_memory_limit of the bounded server, MiB")
    parser.add_argument("--recycle", type=int, default=None, help="query_process_recycle of the bounded server, MiB")
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--tag", default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/cohesio-serving-memory"))
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    from cohesio import versions

    args.work.mkdir(parents=True, exist_ok=True)
    bounded = {}
    if args.limit is not None:
        bounded["COHESIO_QUERY_MEMORY_LIMIT"] = str(args.limit)
    if args.recycle is not None:
        bounded["COHESIO_QUERY_PROCESS_RECYCLE"] = str(args.recycle)
    unbounded = {"COHESIO_QUERY_MEMORY_LIMIT": "0", "COHESIO_QUERY_PROCESS_RECYCLE": "0"}
    tag = args.tag or "-".join(spec.split("=", 1)[0] for spec in args.store)
    report: dict = {"tag": tag, "command": ".venv/bin/python benchmarks/serving_memory.py " + " ".join(argv or sys.argv[1:]),
                    "machine": scale.machine(), "load_average_start": os.getloadavg(), "stores": {}}
    for spec in args.store:
        name, _, path = spec.partition("=")
        store_dir = Path(path)
        version = versions.current(store_dir)
        todo = requests_for(args.project, version.path, args.pages, args.seed)
        report["requests"] = len(todo)
        entry = {"store": str(store_dir), "triples": (version.manifest.get("counts") or {}).get("total", 0)}
        for config, settings in (("unbounded", unbounded), ("bounded", bounded)):
            print(f"[{name}] {config}: {len(todo)} requests", flush=True)
            entry[config] = measure(f"{name}-{config}", store_dir, args.project, settings, todo, args.timeout, args.work)
            m = entry[config]
            print(f"[{name}]   peak {m['peak']['rss'] / MiB:,.0f} MiB, end {m['end']['rss'] / MiB:,.0f} MiB, "
                  f"statuses {m['statuses']}", flush=True)
        report["stores"][name] = entry
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / f"serving-memory-{tag}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    text = render(report)
    (args.results_dir / f"serving-memory-{tag}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
