"""Pages, browse pages, selective queries and serving memory on published stores of different sizes.

``benchmarks/scale.py`` builds each size itself (hours at 10M triples); this script measures what
the server does with stores that are already published, so the serving side can be compared at
sizes a full scale run cannot reach in one sitting: e.g. the bundled build (~255k triples) and a
10M-triple store made by ``scale.py``'s generator. It starts ``cohesio serve`` on each in turn (one
at a time, 2 workers, loopback), picks resources of each kind from the store itself, and reports
per kind the median latency of the HTML page and of the Turtle document, the browse pages, the
selective named queries through ``/api``, and the memory of the whole server process tree (RSS and
PSS of gunicorn, its workers and their query processes) at start and after every request.

    .venv/bin/python benchmarks/pages.py --store small=/tmp/cohesio-load/real \\
        --store 10M=/tmp/big10m --project /tmp/cohesio-scale/680000/project --tag 255k-10M

Ratios are the largest store over each smaller one, in the same run; the issue's target is within 2x.
``--render report.json`` rewrites the Markdown of an earlier run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scale import REPO, Http, HttpError, HttpTimeout, Server, free_port, machine, memory_of, tree  # noqa: E402

BASE = "https://w3id.org/cohesio/"
KINDS = {
    "initiative": f"?s a <{BASE}ontology#Initiative>",
    "organization": "?s a <http://www.w3.org/ns/org#Organization>",
    "commune": "?s a <http://rdf.insee.fr/def/geo#Commune>",
    "departement": "?s a <http://rdf.insee.fr/def/geo#Departement>",
    "region": "?s a <http://rdf.insee.fr/def/geo#Region>",
    "theme": f"?s <http://www.w3.org/2004/02/skos/core#inScheme> <{BASE}id/scheme/themes>",
    "practice": f"?s <http://www.w3.org/2004/02/skos/core#inScheme> <{BASE}id/scheme/practices>",
}
FIXED = {"source": f"{BASE}id/source/guide"}
BROWSE = ["/", "/themes", "/territories", "/actors", "/actors?page=3", "/audiences", "/search?q=epicerie",
          "/search?q=ville+de"]
#: (query, parameter, kind of resource it takes): the named queries whose answer is about one resource
SELECTIVE = [("initiative-record", "initiative", "initiative"), ("initiatives-in-commune", "commune", "commune"),
             ("initiatives-of-actor", "actor", "organization")]
HTML = "text/html"
TURTLE = "text/turtle"


def sample(http: Http, per_kind: int, seed: int) -> dict[str, list[str]]:
    """``per_kind`` resources of each kind, drawn from the first 2,000 the store lists (index order:
    spread over the data, and cheap to ask at any size)."""
    rng = random.Random(seed)
    out: dict[str, list[str]] = {}
    for kind, pattern in KINDS.items():
        body = http.sparql(f"SELECT ?s WHERE {{ {pattern} FILTER(isIRI(?s)) }} LIMIT 2000")
        iris = [b["s"]["value"] for b in json.loads(body)["results"]["bindings"]]
        out[kind] = rng.sample(iris, min(per_kind, len(iris)))
    for kind, iri in FIXED.items():
        out[kind] = [iri]
    return out


def timed(call, runs: int, warmup: int) -> dict:
    times, failures = [], []
    for i in range(warmup + runs):
        started = time.perf_counter()
        try:
            call()
        except (HttpError, HttpTimeout) as exc:
            failures.append(str(exc)[:120])
            continue
        if i >= warmup:
            times.append((time.perf_counter() - started) * 1000)
    out: dict = {"runs": len(times)}
    if times:
        out.update(median=statistics.median(times), max=max(times))
    if failures:
        out["failures"] = failures[:3]
    return out


def doc_path(iri: str) -> str:
    return "/doc/" + urllib.parse.quote(iri[len(BASE) + len("id/"):], safe="/")


def measure_store(name: str, store_dir: Path, project: Path, args, work: Path) -> dict:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
    env.update(COHESIO_STORE_DIR=str(store_dir), COHESIO_QUERY_TIMEOUT=str(args.timeout))
    if args.cache_dir:
        env["COHESIO_CACHE_DIR"] = args.cache_dir
    server = Server(f"cohesio serve ({name})", [str(REPO / ".venv/bin/cohesio"), "serve", "--port", str(port),
                                                "--workers", "2"], port, work / f"serve-{name}.log", cwd=project, env=env)
    result: dict = {"store": str(store_dir)}
    try:
        result["ready_s"] = server.wait_ready(lambda h: h.get("/sparql", TURTLE), 300)
        http = Http(port, args.timeout + 10)
        count = json.loads(http.sparql("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"))
        result["triples"] = int(count["results"]["bindings"][0]["n"]["value"])
        result["memory_start"] = dict(zip(("rss", "pss"), memory_of(tree(server.proc.pid))))
        resources = sample(http, args.per_kind, args.seed)
        pages: dict = {}
        for kind, iris in resources.items():
            html = [timed(lambda p=doc_path(i): http.get(p, HTML), args.runs, args.warmup) for i in iris]
            ttl = [timed(lambda p=doc_path(i) + ".ttl": http.get(p, TURTLE), args.runs, args.warmup) for i in iris]
            pages[kind] = {"resources": len(iris),
                           "html": statistics.median([m["median"] for m in html if "median" in m] or [float("nan")]),
                           "turtle": statistics.median([m["median"] for m in ttl if "median" in m] or [float("nan")]),
                           "failures": sum(len(m.get("failures", [])) for m in html + ttl)}
            print(f"[{name}] {kind:13s} HTML {pages[kind]['html']:8.1f} ms  Turtle {pages[kind]['turtle']:7.1f} ms",
                  flush=True)
        result["pages"] = pages
        browse = {}
        for path in BROWSE:
            browse[path] = timed(lambda p=path: http.get(p, HTML), args.runs, args.warmup)
            print(f"[{name}] {path:22s} {browse[path].get('median', float('nan')):8.1f} ms", flush=True)
        result["browse"] = browse
        queries = {}
        for query, param, kind in SELECTIVE:
            iris = resources.get(kind, [])
            got = [timed(lambda i=i: http.get(f"/api/{query}?{param}={urllib.parse.quote(i, safe='')}",
                                               "application/json"), args.runs, args.warmup) for i in iris]
            medians = [m["median"] for m in got if "median" in m]
            queries[query] = {"median": statistics.median(medians) if medians else None,
                              "failures": sum(len(m.get("failures", [])) for m in got)}
            print(f"[{name}] /api/{query:28s} {queries[query]['median'] or float('nan'):8.1f} ms", flush=True)
        result["queries"] = queries
        result["memory_after"] = dict(zip(("rss", "pss"), memory_of(tree(server.proc.pid))))
        result["processes"] = len(tree(server.proc.pid))
    finally:
        server.stop()
    return result


def render(report: dict) -> str:
    names = list(report["stores"])
    first, last = names[0], names[-1]
    s = report["stores"]

    def ratio(a, b):
        return f"{b / a:.2f}×" if a and b and a == a and b == b else "n/a"

    earlier = names[:-1]  # the largest store against each smaller one
    heads = " | ".join(f"{last} / {n}" for n in earlier)
    rules = " | ".join("---:" for _ in earlier)

    lines = [f"# Pages and serving memory by store size ({report['tag']})", "",
             f"Command: `{report['command']}`", "",
             f"Machine: {report['machine'].get('cpus')} CPUs, load average at start {report['load_average_start'][0]:.1f}; "
             f"{report['settings']['runs']} runs per resource after {report['settings']['warmup']} warm-up, "
             f"{report['settings']['per_kind']} resources per kind; medians in ms.", "",
             "| store | triples | memory at start: RSS (PSS) | after every request | processes |",
             "| --- | ---: | --- | --- | ---: |"]
    for n in names:
        m0, m1 = s[n]["memory_start"], s[n]["memory_after"]
        lines.append(f"| {n} | {s[n]['triples']:,} | {m0['rss'] / 2**20:,.0f} MiB ({m0['pss'] / 2**20:,.0f}) | "
                     f"{m1['rss'] / 2**20:,.0f} MiB ({m1['pss'] / 2**20:,.0f}) | {s[n]['processes']} |")
    lines += ["", "| page (HTML / Turtle) | " + " | ".join(names) + f" | {heads} |",
              "| --- | " + " | ".join("---:" for _ in names) + f" | {rules} |"]
    for kind in s[first]["pages"]:
        cells = [f"{s[n]['pages'][kind]['html']:.1f} / {s[n]['pages'][kind]['turtle']:.1f}" for n in names]
        ratios = [f"{ratio(s[n]['pages'][kind]['html'], s[last]['pages'][kind]['html'])} / "
                  f"{ratio(s[n]['pages'][kind]['turtle'], s[last]['pages'][kind]['turtle'])}" for n in earlier]
        lines.append(f"| {kind} | " + " | ".join(cells + ratios) + " |")
    for title, key, rows, getter in (
            ("browse page", "browse", list(s[first]["browse"]), lambda n, r: s[n]["browse"][r].get("median")),
            ("selective query (`/api`)", "queries", list(s[first]["queries"]), lambda n, r: s[n]["queries"][r]["median"])):
        lines += ["", f"| {title} | " + " | ".join(names) + f" | {heads} |",
                  "| --- | " + " | ".join("---:" for _ in names) + f" | {rules} |"]
        for row in rows:
            vals = [getter(n, row) for n in names]
            name = f"`{row}`" if key == "browse" else row
            lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" if v else "failed" for v in vals) + " | "
                         + " | ".join(ratio(v, vals[-1]) for v in vals[:-1]) + " |")
    failures = {n: sum(p["failures"] for p in s[n]["pages"].values()) for n in names}
    lines += ["", f"Failed requests (non-200 or past the timeout) on resource pages: {failures}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", default=[], help="NAME=STORE_DIR, smallest first")
    parser.add_argument("--project", type=Path, default=REPO, help="project directory (queries/, shapes/…)")
    parser.add_argument("--per-kind", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--cache-dir", help="COHESIO_CACHE_DIR for the servers (where a search index built at "
                                            "first use goes)")
    parser.add_argument("--tag", default="pages")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cohesio-pages"))
    parser.add_argument("--render", type=Path, help="only write the Markdown of this earlier report (JSON)")
    args = parser.parse_args(argv)
    if args.render:
        report = json.loads(args.render.read_text())
        args.render.with_suffix(".md").write_text(render(report))
        print(render(report))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    report = {"tag": args.tag, "command": "python benchmarks/pages.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": machine(), "load_average_start": os.getloadavg(),
              "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "stores": {}}
    for spec in args.store:
        name, _, path = spec.partition("=")
        report["stores"][name] = measure_store(name, Path(path), args.project, args, args.work)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"pages-{args.tag}.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / f"pages-{args.tag}.md").write_text(render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
