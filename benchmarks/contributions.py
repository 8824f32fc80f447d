"""How long a contribution takes to be accepted or refused, as the graph grows.

For each graph size, in one run: a synthetic national graph (``synthetic.py``: the real geography,
the guide, N generated initiatives) is published as a version; then a series of changes goes
through the real writer (:func:`cohesio.contributions.writer.submit`: lock, plan, incremental SHACL
validation, durable log, new version), half of them valid (a new initiative in a random commune,
accepted and published) and half invalid (the same with a commune that does not exist, refused with
its report). Reported: median and worst time to accept and to refuse, the validation part alone,
and the size of the graph pyshacl saw. The baseline, in the same run, is what a non-incremental
guard would do: pyshacl on the whole graph after one change (capped by ``--full-budget`` seconds,
reported as "> budget" when it does not finish).

    .venv/bin/python benchmarks/contributions.py --sizes 300000,1000000 --changes 20

Results: ``benchmarks/results/contributions.{json,md}``; summary in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "src"))

import synthetic  # noqa: E402

from cohesio import versions  # noqa: E402
from cohesio.config import CANONICAL_BASE_IRI, load_settings  # noqa: E402
from cohesio.contributions import delta, guard  # noqa: E402
from cohesio.contributions.view import StoreView  # noqa: E402
from cohesio.contributions.writer import ChangeRefused, submit  # noqa: E402

BASE = CANONICAL_BASE_IRI
N = ox.NamedNode


def _initiative(slug: str, commune: str) -> list[tuple]:
    s = N(f"{BASE}id/initiative/{slug}")
    rdf, rdfs, dct, coh = ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2000/01/rdf-schema#",
                           "http://purl.org/dc/terms/", BASE + "ontology#")
    return [
        (s, N(rdf + "type"), N(coh + "Initiative")),
        (s, N(rdfs + "label"), ox.Literal(f"Banc {slug}", language="fr")),
        (s, N(rdfs + "label"), ox.Literal(f"Bench {slug}", language="en")),
        (s, N(dct + "type"), N(f"{BASE}id/practice/bureau-des-temps")),
        (s, N(dct + "subject"), N(f"{BASE}id/theme/democratie-de-proximite")),
        (s, N(dct + "spatial"), N(f"{BASE}id/commune/{commune}")),
        (s, N(coh + "lead"), N(f"{BASE}id/organization/ville-de-rennes")),
    ]


def _project(where: Path) -> Path:
    project = where / "project"
    project.mkdir(parents=True)
    for name in ("ontology", "data", "shapes", "queries", "catalog.toml"):
        (project / name).symlink_to(REPO / name)
    return project


def _full_validation(store_path: str, triples: list[tuple], shapes: str, out) -> None:
    """pyshacl on the whole graph with one change applied (the non-incremental baseline)."""
    from cohesio.validation import validate

    source = ox.Store.read_only(store_path)
    whole = ox.Store()
    whole.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in source
                      if not str(q.graph_name).endswith(("graph/meta>", "graph/history>")))
    whole.extend(ox.Quad(*t) for t in triples)
    started = time.perf_counter()
    report = validate(whole, shapes=guard.shapes_graph(Path(shapes)))
    out.send((time.perf_counter() - started, len(report.violations)))


def run_size(size: int, changes: int, full_budget: float, workdir: Path, seed: int) -> dict:
    data = workdir / f"data-{size}.nq"
    started = time.perf_counter()
    dataset = synthetic.generate(data, size=size, seed=seed)
    version = synthetic.publish(data, workdir / f"store-{size}", dataset.as_dict())
    setup = time.perf_counter() - started
    project = _project(workdir / f"p-{size}")
    settings = load_settings(None, environ={}, project_dir=project, store_dir=workdir / f"store-{size}",
                             contributions_dir=workdir / f"log-{size}")
    triples_total = sum(version.manifest["counts"].get(k, 0) for k in version.manifest["counts"] if k != "total")
    communes = [c.code for c in synthetic.read_communes()]
    rng = random.Random(seed)
    accepted, refused, validate_ok, validate_bad, checked = [], [], [], [], []

    # Warm-up: pyshacl's import and the shapes' parsing happen once per server process.
    submit(settings, lambda v, iri: delta.upsert(v, _initiative("warm-up", "35238"), iri), agent="bench",
           reason="warm-up")
    for i in range(changes):
        good = _initiative(f"banc-{i}", rng.choice(communes))
        t = time.perf_counter()
        outcome = submit(settings, lambda v, iri, g=good: delta.upsert(v, g, iri), agent="bench", reason="bench")
        accepted.append(time.perf_counter() - t)
        validate_ok.append(outcome.timings["validate"])
        bad = _initiative(f"faux-{i}", "99" + str(rng.randint(100, 999)))
        t = time.perf_counter()
        try:
            submit(settings, lambda v, iri, b=bad: delta.upsert(v, b, iri), agent="bench", reason="bench")
            raise AssertionError("an invalid change was accepted")
        except ChangeRefused as exc:
            assert any(v.focus.endswith(f"faux-{i}") for v in exc.report.violations)
        refused.append(time.perf_counter() - t)
        # The validation part alone, on the same invalid change (no lock, no publication).
        store = versions.current(settings.store_path).open_store()
        view = StoreView(store)
        proposal = delta.upsert(view, bad, BASE + "id/change/999999")
        t = time.perf_counter()
        focus, graph = guard.neighbourhood(view, proposal.added, proposal.removed)
        guard.check(view, proposal.added, proposal.removed, settings.shapes_dir / "cohesio.shapes.ttl")
        validate_bad.append(time.perf_counter() - t)
        checked.append(len(graph))
        del store

    full_seconds: float | None = None
    if full_budget > 0:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        current = versions.current(settings.store_path)
        process = ctx.Process(target=_full_validation, args=(str(current.store_path), _initiative("full", "35238"),
                                                              str(settings.shapes_dir / "cohesio.shapes.ttl"), child))
        process.start()
        if parent.poll(full_budget):
            full_seconds = parent.recv()[0]
        process.kill()
        process.join()

    def ms(values: list[float]) -> dict:
        return {"median_ms": round(statistics.median(values) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}

    validation = statistics.median(validate_bad)
    return {
        "size_target": size,
        "triples": triples_total,
        "setup_s": round(setup, 1),
        "changes": changes,
        "accept": ms(accepted),
        "refuse": ms(refused),
        "validate_accepted": ms(validate_ok),
        "validate_refused": ms(validate_bad),
        "triples_validated_median": int(statistics.median(checked)),
        "full_validation_s": None if full_seconds is None else round(full_seconds, 1),
        "full_budget_s": full_budget,
        "full_over_incremental": None if full_seconds is None else round(full_seconds / validation, 0),
    }


def to_markdown(results: list[dict], command: str) -> str:
    lines = [
        "# Contributions: time to accept or refuse a change",
        "",
        f"Command: `{command}`",
        "",
        "| triples | accept (median / max) | refuse (median / max) | incremental SHACL | triples validated | "
        "full pyshacl on the graph | full / incremental |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        full = f"{r['full_validation_s']} s" if r["full_validation_s"] is not None else f"> {r['full_budget_s']:g} s"
        ratio = f"{r['full_over_incremental']:g}×" if r["full_over_incremental"] else f"> {r['full_budget_s'] / (r['validate_refused']['median_ms'] / 1000):.0f}×"
        lines.append(
            f"| {r['triples']:,} | {r['accept']['median_ms']} / {r['accept']['max_ms']} ms | "
            f"{r['refuse']['median_ms']} / {r['refuse']['max_ms']} ms | {r['validate_refused']['median_ms']} ms | "
            f"{r['triples_validated_median']} | {full} | {ratio} |")
    lines += ["", "Accept = lock, plan, incremental SHACL validation, durable log (fsync), new published version "
              "(checkpoint + change). Refuse = the same up to the report. Medians over the run's changes."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300000,1000000", help="graph sizes in triples, comma-separated")
    parser.add_argument("--changes", type=int, default=20, help="valid and invalid changes per size")
    parser.add_argument("--full-budget", type=float, default=300.0,
                        help="seconds allowed to the full-graph pyshacl baseline (0: skip it)")
    parser.add_argument("--seed", type=int, default=20241125)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "contributions")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="cohesio-contrib-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            result = run_size(size, args.changes, args.full_budget, Path(tmp), args.seed)
            print(json.dumps(result), flush=True)
            results.append(result)
            shutil.rmtree(Path(tmp) / f"store-{size}", ignore_errors=True)
    command = "python benchmarks/contributions.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"command": command, "results": results}, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(to_markdown(results, command))
    print(to_markdown(results, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
