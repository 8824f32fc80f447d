"""Smoke test of the scale benchmark (benchmarks/scale.py): no timing is asserted here.

At a tiny size (200 initiatives over six real communes, with a mini geography instead of the
official one), one run of the benchmark must build the project with the real ``cohesio build``,
load the same files with pyoxigraph alone, validate them with pyshacl alone, serve them with the
real ``cohesio serve``, and report every column with sane numbers. The rdflib-endpoint peer is
left out (it needs its own venv); the synthetic territories (EPCI, département, région) must pass
the project's shapes, since the build validates them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import scale  # noqa: E402
import synthetic  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    work = tmp_path_factory.mktemp("scale")
    results = work / "results"
    argv = [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--tiny", "--sizes", "200", "--runs", "1",
            "--warmup", "0", "--pages", "1", "--page-runs", "1", "--page-warmup", "0", "--budget", "2",
            "--skip-peer", "--shacl-budget", "60", "--build-budget", "120", "--work-dir", str(work / "w"),
            "--results-dir", str(results)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=work)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads((results / "scale-tiny-200.json").read_text(encoding="utf-8"))
    data["_markdown"] = (results / "scale-tiny-200.md").read_text(encoding="utf-8")
    return data


def test_write_sources_is_deterministic(tmp_path):
    a = synthetic.write_sources(tmp_path / "a", 150, seed=3, communes=scale.TINY_COMMUNES)
    b = synthetic.write_sources(tmp_path / "b", 150, seed=3, communes=scale.TINY_COMMUNES)
    assert a.initiatives == b.initiatives == 150
    for rel in synthetic.SOURCE_FILES.values():
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert a.probes == b.probes
    # every level of the geography is used
    assert set(a.levels) == {"commune", "epci", "departement", "region"}


def test_communes_only_mode_is_unchanged(tmp_path):
    """Without ``territories`` the generator draws what it always drew (endpoint.py's data)."""
    ds = synthetic.generate(tmp_path / "d.nq", size=None, initiatives=50, seed=7, communes=scale.TINY_COMMUNES[:4])
    assert ds.levels == {"commune": 50}
    text = (tmp_path / "d.nq").read_text(encoding="utf-8")
    spatial = [line for line in text.splitlines() if "<http://purl.org/dc/terms/spatial>" in line]
    assert len(spatial) == 50 and all("/id/commune/" in line for line in spatial)
    assert "conseil-departemental" not in text and "organization/epci-" not in text


def test_build_ran_validated_and_published(report):
    (entry,) = report["sizes"]
    assert entry["initiatives"] == 200
    build = entry["build"]
    assert build["published"] and build["conforms"] and not build["skip_validation"]
    assert build["counts"]["guide"] > 2000 and build["counts"]["editorial"] > 200
    for step in ("load", "validate", "artefacts"):
        assert build["timings"][step] >= 0
    # The edited graphs are validated from the store, in pieces: no rdflib parse, no union graph.
    assert "parse" not in build["timings"] and "union graph (rdflib copy)" not in build["steps"]
    for step in ("load (pyoxigraph bulk_load)", "geography nodes (territories the data points at)",
                 "neighbourhoods of the pieces", "pyshacl.validate",
                 "dumps (Turtle, N-Triples, JSON-LD, N-Quads, CSV)", "VoID statistics", "artefacts (total)"):
        assert build["steps"][step] > 0, step
    assert 0 < build["steps"]["pyshacl.validate"] <= build["steps"]["validate (total)"] <= build["seconds"]
    assert build["peak_rss"] > 10 * 2**20
    assert entry["triples"] == build["counts"]["total"]
    assert 0 < entry["disk"]["store"] <= entry["disk"]["version"]


def test_raw_tools_ran_on_the_same_data(report):
    (entry,) = report["sizes"]
    raw = entry["raw_load"]
    assert raw["seconds"] > 0
    # the same files, minus the meta graph the build adds (VoID and the named queries)
    assert raw["triples"] == entry["triples"] - entry["build"]["counts"]["meta"]
    shacl = entry["raw_shacl"]["rdflib"]
    assert shacl["status"] == "ok" and shacl["conforms"] is True
    assert shacl["parse_seconds"] > 0 and shacl["validate_seconds"] > 0
    assert shacl["triples"] > entry["dataset"]["triples"]  # the synthetic part and the vocabularies


def test_serving_measured(report):
    (entry,) = report["sizes"]
    assert set(entry["memory_phases"]) == {"catalogue and VoID", "named queries", "pages"}
    for key in ("memory_idle", "memory_peak"):
        mem = entry[key]["cohesio"]
        assert mem["processes"] >= 3  # gunicorn master, workers, query processes
        assert 10 * 2**20 < mem["pss"] <= mem["rss"] < 8 * 2**30
    assert entry["memory_peak"]["cohesio"]["rss"] >= entry["memory_idle"]["cohesio"]["rss"] * 0.5
    for name in ("catalog.ttl", "void"):
        cell = entry["publishing"][name]
        assert cell["bytes"] > 1000 and 0 < cell["median_ms"] < 30_000
    queries = sorted(p.stem for p in (REPO / "queries").glob("*.rq"))
    assert sorted(entry["query_results"]) == queries
    answered = 0
    for name, cells in entry["query_results"].items():
        for target in ("floor", "cohesio /sparql", "cohesio /api"):
            cell = cells[target]
            assert "median_ms" in cell, (name, target, cell)
            assert 0 < cell["median_ms"] < 30_000
        # the same answer through every door (the API adds no row; /sparql caps nothing at this size)
        assert cells["floor"]["rows"] == cells["cohesio /sparql"]["rows"] == cells["cohesio /api"]["rows"], name
        answered += cells["floor"]["rows"] > 0
    assert answered >= 12, "most named queries must find the synthetic data"
    for probe in ("initiative-record", "initiatives-in-commune", "initiatives-of-actor", "initiatives-in-region"):
        assert entry["query_results"][probe]["floor"]["rows"] > 0, probe
    summary = entry["page_results"]["summary"]
    assert {"initiative", "organization", "commune", "epci", "departement", "region", "concept", "source"} <= set(summary)
    for target in ("cohesio HTML", "cohesio Turtle", "floor Turtle"):
        assert 0 < summary["all"][target]["median_ms"] < 30_000
        assert "failures" not in summary["all"][target]
    assert entry["peer"].startswith("skipped")


def test_markdown_has_every_table(report):
    md = report["_markdown"]
    for heading in ("### Build (seconds) and store size", "Where the build's time goes", "### Serving: memory",
                    "Page latency by kind", "### Named queries"):
        assert heading in md
    assert "build ÷ (raw load + raw pyshacl)" in md and "pages only" in md
    assert report["command"].startswith("nice -n 10 .venv/bin/python benchmarks/scale.py --tiny")
    assert report["machine"]["cpus"] >= 1


def _size(initiatives: int, guide: int, raw: dict | None) -> dict:
    entry = {"initiatives": initiatives, "triples": guide * 2,
             "build": {"counts": {"ontology": 300, "guide": guide, "editorial": guide // 10, "geography": 250_000},
                       "timings": {"load": 1.0, "parse": 0.0, "validate": 2.0}, "wall_seconds": 10.0},
             "raw_load": {"seconds": 1.0}}
    if raw is not None:
        entry["raw_shacl"] = {"rdflib": raw}
    return entry


def test_raw_shacl_lower_bound_scales_from_the_largest_measured_size():
    small = _size(10, 1_000, {"parse_seconds": 1.0, "validate_seconds": 9.0, "triples": 1_000})
    middle = _size(100, 10_000, {"parse_seconds": 5.0, "validate_seconds": 195.0, "triples": 20_000})
    big = _size(1000, 100_000, {"status": "not run (above --shacl-max 100)"})
    sizes = [small, middle, big]
    assert scale.raw_shacl_lower_bound(middle, sizes) is None  # measured: no bound
    seconds, ref = scale.raw_shacl_lower_bound(big, sizes)
    assert ref is middle
    # 200 s for 20,000 triples = 0.01 s per triple, times the big size's edited graphs (300 + 100,000 + 10,000)
    assert seconds == pytest.approx(0.01 * 110_300)
    table = scale.render_markdown({"settings": {"shacl_budget": 900, "mem_limit": 16}, "sizes": sizes})
    row = next(line for line in table.splitlines() if line.startswith("| 1,000 |"))
    assert "≥ 1,103 (linear lower bound¹)" in row and f"≤ {10.0 / (1.0 + 1103.0):.2f}×" in row
    assert "¹ raw pyshacl was not run at this size" in table
