"""Smoke test of the benchmark tooling (benchmarks/): no timing is asserted here.

At a tiny size (200 initiatives over a few real communes, without the official geography file), the
synthetic generator must produce data that the project's SHACL shapes accept, and every query of
the endpoint benchmark must run on it, in-process and through cohesio's executor, with answers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import endpoint  # noqa: E402
import synthetic  # noqa: E402

COMMUNES = [
    synthetic.Commune("35238", "Rennes", "35", 227830),
    synthetic.Commune("35047", "Bruz", "35", 18900),
    synthetic.Commune("35281", "Saint-Malo", "35", 47000),
    synthetic.Commune("86194", "Poitiers", "86", 90000),
    synthetic.Commune("38151", "Échirolles", "38", 37000),
    synthetic.Commune("38185", "Grenoble", "38", 157000),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "data.nq"
    return synthetic.generate(out, size=None, initiatives=200, seed=7, communes=COMMUNES)


@pytest.fixture(scope="module")
def store(dataset):
    s = ox.Store()
    with open(dataset.path, "rb") as f:
        s.load(f, format=ox.RdfFormat.N_QUADS)
    return s


def test_generator_is_deterministic(dataset, tmp_path):
    again = synthetic.generate(tmp_path / "again.nq", size=None, initiatives=200, seed=7, communes=COMMUNES)
    assert again.path.read_bytes() == dataset.path.read_bytes()
    assert again.probes == dataset.probes


def test_generator_counts(dataset, store):
    assert dataset.initiatives == 200
    assert dataset.triples == len(store)
    initiatives = list(store.query(
        "SELECT (COUNT(DISTINCT ?i) AS ?n) WHERE { GRAPH <https://w3id.org/cohesio/graph/guide> "
        "{ ?i a <https://w3id.org/cohesio/ontology#Initiative> } }"))
    assert int(initiatives[0]["n"].value) == 200
    # themes live in the editorial graph, as in docs/model.md
    assert bool(store.query(
        "ASK { GRAPH <https://w3id.org/cohesio/graph/editorial> { ?i <http://purl.org/dc/terms/subject> ?t } }"))


def test_generated_data_is_valid_against_the_shapes(dataset, store):
    import rdflib

    from cohesio.validation import validate

    # validation runs on the union of the named graphs (cohesio.validation's docstring)
    triples = [q.triple for q in store.quads_for_pattern(None, None, None)]
    graph = rdflib.Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    report = validate(graph, shapes_path=REPO / "shapes" / "cohesio.shapes.ttl")
    violations = [v for v in report.violations if v.severity == "Violation"]
    assert report.conforms, "\n".join(str(v) for v in violations[:10])


def test_benchmark_queries_run(dataset, store):
    for q in endpoint.QUERIES:
        text = q.text(dataset.probes)
        body = store.query(text, use_default_graph_as_union=True).serialize(format=ox.QueryResultsFormat.JSON)
        rows = endpoint.rows_of(body)
        assert rows > 0, f"{q.name} has no answer on the synthetic data"


def test_benchmark_queries_run_through_cohesio(dataset, store):
    from cohesio.namespaces import PREFIXES
    from cohesio.sparql.executor import Job, evaluate

    for q in endpoint.QUERIES:
        floor = endpoint.rows_of(
            store.query(q.text(dataset.probes), use_default_graph_as_union=True)
            .serialize(format=ox.QueryResultsFormat.JSON))
        outcome = evaluate(store, Job(query=q.text(dataset.probes), format="json", prefixes=tuple(PREFIXES.items())))
        assert endpoint.rows_of(outcome.body) == floor == outcome.rows


def test_report_renders(dataset):
    fake = {"median_ms": 1.0, "p90_ms": 2.0, "runs": 20, "c4_qps": 100.0}
    report = {
        "settings": {"concurrency": 4, "timeout": 20.0, "duration": 10.0},
        "dataset": dataset.as_dict(),
        "results": {q.name: {"rows": {"floor": 1}, "floor": fake, "cohesio": fake,
                             "rdflib-endpoint": {"timeout": True}} for q in endpoint.QUERIES},
    }
    md = endpoint.render_markdown(report)
    assert "cohesio / floor" in md and "> 20 s" in md


def test_the_floor_over_http_answers_what_the_store_answers(dataset, tmp_path):
    """benchmarks/floor_http.py (pyoxigraph behind a bare HTTP server) gives the same rows as the
    store in process, over one keep-alive connection, so its timings measure the same work."""
    path = tmp_path / "store"
    disk = ox.Store(str(path))
    with open(dataset.path, "rb") as f:
        disk.bulk_load(f, format=ox.RdfFormat.N_QUADS)
    del disk
    in_process = ox.Store.read_only(str(path))
    port = endpoint.free_port()
    server = endpoint.Server("floor over HTTP", [sys.executable, str(REPO / "benchmarks" / "floor_http.py"),
                                                 "--store", str(path), "--port", str(port)],
                             port, tmp_path / "floor.log")
    try:
        server.wait_ready(endpoint.PREFIXES + "ASK { ?s ?p ?o }", 30)
        client = endpoint.HttpClient(port, timeout=10)
        for q in endpoint.QUERIES:
            text = q.text(dataset.probes)
            floor = endpoint.rows_of(in_process.query(text, use_default_graph_as_union=True)
                                     .serialize(format=ox.QueryResultsFormat.JSON))
            assert endpoint.rows_of(client.post(text)) == floor > 0, q.name
        assert client.conn is not None  # the connection was kept alive across the queries
    finally:
        server.stop()
