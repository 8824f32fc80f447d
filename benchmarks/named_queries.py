"""Every named query of ``queries/``, timed in-process on published stores: median time and rows.

The REST API runs a named query as ``api.read_call(query, [], max_rows).text()`` (parameters bound
by a VALUES block, ``LIMIT max_rows + 1``) on the union of the graphs; this script runs exactly that
text with pyoxigraph in this process, so what it measures is the query plan and nothing of HTTP,
the worker pool or the 30 s timeout. Parameters take their defaults (``--examples``: also a second
call with the header's examples).

``--before REV`` also runs the queries as they were at a git revision, interleaved with the current
ones (old, new, old, new… in one process, so a busy machine weighs on both alike), and checks that
both give the same rows in the same order: a rewrite for speed must not change an answer.

    nice -n 5 .venv/bin/python benchmarks/named_queries.py --store 10k=/tmp/scale/10000/store \\
        --store 100k=/tmp/scale/100000/store --before main --runs 3

A store is a published store directory (its ``current`` version is read) or a pyoxigraph store
directory; it is opened read-only, so a store another process serves can be measured. Times are
for comparison within one run (ratios), not targets.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
from cohesio import api, versions  # noqa: E402
from cohesio.queries import NamedQuery, load_queries, parse_query  # noqa: E402

MAX_ROWS = 10000  # config.Settings.max_rows


def open_store(path: Path) -> ox.Store:
    """A published store's current version, else the directory itself as a pyoxigraph store."""
    if (path / versions.CURRENT).exists():
        return versions.current(path).open_store()
    return ox.Store.read_only(str(path))


def queries_at(rev: str, directory: str = "queries") -> dict[str, NamedQuery]:
    """The named queries as they were at git revision ``rev`` (read with ``git show``, no checkout)."""
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{rev}:{directory}"], cwd=REPO,
                           check=True, capture_output=True, text=True).stdout.split()
    out = {}
    for name in names:
        if name.endswith(".rq"):
            text = subprocess.run(["git", "show", f"{rev}:{directory}/{name}"], cwd=REPO, check=True,
                                  capture_output=True, text=True).stdout
            out[name[:-3]] = parse_query(text, Path(directory) / name)
    return out


def run(store: ox.Store, text: str) -> tuple[float, list[tuple]]:
    """Milliseconds to evaluate ``text`` and read every row, and the rows (terms as N-Triples)."""
    started = time.perf_counter()
    result = store.query(text, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    rows = [tuple(str(s[n]) if s[n] is not None else None for n in names) for s in result]
    return (time.perf_counter() - started) * 1000, rows


@dataclass
class Measure:
    times: list[float] = field(default_factory=list)
    rows: list[tuple] | None = None

    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def call_text(query: NamedQuery, args: list[tuple[str, str]], max_rows: int) -> str:
    return api.read_call(query, args, max_rows).text()


def measure_store(store: ox.Store, calls: list[tuple[str, str, str | None]], runs: int, budget_s: float,
                  warmup: bool) -> list[dict]:
    """``calls``: (label, new text, old text or None). Old and new alternate, each ``runs`` times;
    a call whose first timed run exceeds ``budget_s`` is not repeated."""
    out = []
    for label, new_text, old_text in calls:
        new, old = Measure(), Measure()
        pairs = [("new", new_text, new)] + ([("old", old_text, old)] if old_text else [])
        if warmup:
            for _, text, _m in pairs:
                run(store, text)
        for i in range(runs):
            for _, text, m in (pairs if i % 2 == 0 else pairs[::-1]):
                if m.times and m.times[0] > budget_s * 1000:
                    continue
                ms, rows = run(store, text)
                m.times.append(ms)
                m.rows = rows if m.rows is None else m.rows
        entry = {"query": label, "rows": len(new.rows or []), "after_ms": new.median(), "after_runs": len(new.times)}
        if old_text:
            entry.update(before_ms=old.median(), before_runs=len(old.times), same_rows=old.rows == new.rows,
                         before_rows=len(old.rows or []))
        out.append(entry)
        print(json.dumps(entry), file=sys.stderr, flush=True)
    return out


def markdown(report: dict) -> str:
    lines = []
    before = any("before_ms" in e for s in report["stores"] for e in s["results"])
    head = "| store | triples | query | rows | " + ("before ms | after ms | ratio | same rows |" if before else "ms |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for s in report["stores"]:
        for e in s["results"]:
            cells = [s["name"], f"{s['triples']:,}", e["query"], str(e["rows"])]
            if before:
                b, a = e.get("before_ms"), e["after_ms"]
                ratio = f"{b / a:.1f}x" if b and a else "—"
                cells += [f"{b:,.0f}" if b is not None else "—", f"{a:,.0f}", ratio,
                          "yes" if e.get("same_rows") else "**NO**"]
            else:
                cells.append(f"{e['after_ms']:,.0f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--queries", type=Path, default=REPO / "queries", help="the current queries")
    parser.add_argument("--before", metavar="REV", help="also run the queries of this git revision, compare rows")
    parser.add_argument("--only", action="append", default=[], metavar="QUERY", help="these queries only")
    parser.add_argument("--examples", action="store_true", help="also call each query with its examples")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds; a slower call is run once")
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS)
    parser.add_argument("--json", type=Path, help="write the report there too")
    args = parser.parse_args(argv)

    current = {q.name: q for q in load_queries(args.queries)}
    old = queries_at(args.before) if args.before else {}
    names = args.only or sorted(current)
    calls: list[tuple[str, str, str | None]] = []
    for name in names:
        query = current[name]
        variants = [("", [])]
        if args.examples and any(p.example for p in query.params):
            variants.append((" (examples)", [(p.name, p.example) for p in query.params if p.example]))
        for suffix, values in variants:
            before = call_text(old[name], values, args.max_rows) if name in old else None
            calls.append((name + suffix, call_text(query, values, args.max_rows), before))

    report: dict = {"before": args.before, "runs": args.runs, "stores": []}
    for spec in args.store:
        name, _, path = spec.partition("=")
        store = open_store(Path(path))
        triples = len(store)
        print(f"[{name}] {path}: {triples:,} triples", file=sys.stderr, flush=True)
        results = measure_store(store, calls, args.runs, args.budget, not args.no_warmup)
        report["stores"].append({"name": name, "path": path, "triples": triples, "results": results})
        del store
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0 if all(e.get("same_rows", True) for s in report["stores"] for e in s["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
