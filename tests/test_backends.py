"""The same behaviour tests on both backends: embedded pyoxigraph and a remote Virtuoso.

One published build (made once per session with ``cohesio.build.build`` from a small project: the
real ontology and shapes, tests/fixtures/backends/ for the guide and editorial graphs, and the part
of the real geography around Besançon and Échirolles) is served by the embedded backend and pushed
with ``load_version`` into a private Virtuoso (tests/virtuoso.py). Every test runs on both, and a
few compare the two answers byte for byte.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from cohesio import versions
from cohesio.build import BuildRefused, build, load_sources
from cohesio.config import load_settings
from cohesio.sources import discover
from cohesio.sparql import formats
from cohesio.sparql.executor import Job, QueryError
from cohesio.store.remote import RemoteBackend, RemoteUnavailable, bind_values, load_version

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "backends"
BASE = "https://w3id.org/cohesio/"
GRAPH = {name: f"{BASE}graph/{name}" for name in ("ontology", "guide", "editorial", "geography")}
PREFIXES = ("PREFIX coh: <https://w3id.org/cohesio/ontology#>\n"
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "PREFIX igeo: <http://rdf.insee.fr/def/geo#>\n"
            "PREFIX owl: <http://www.w3.org/2002/07/owl#>\n")
BESANCON = "https://w3id.org/cohesio/id/commune/25056"
TIMINGS: dict[str, float] = {}


def _geography_subset(target: Path) -> None:
    """The real geography with only the communes of the Doubs and the Isère (the rest is kept)."""
    communes = f"<{BASE}id/commune/"
    keep = (f"{communes}25", f"{communes}38")
    source = ROOT / "data" / "geography"
    with gzip.open(source / "cog.nt.gz", "rt", encoding="utf-8") as lines, \
            open(target / "cog.nt", "w", encoding="utf-8") as out:
        out.writelines(line for line in lines if not line.startswith(communes) or line.startswith(keep))
    for extra in source.glob("*.ttl"):
        shutil.copy(extra, target / extra.name)


@pytest.fixture(scope="session")
def published(tmp_path_factory):
    """Settings of a project with one published build."""
    started = time.perf_counter()
    project = tmp_path_factory.mktemp("backends-project")
    shutil.copytree(ROOT / "ontology", project / "ontology")
    shutil.copytree(ROOT / "shapes", project / "shapes")
    for group in ("guide", "editorial", "geography"):
        (project / "data" / group).mkdir(parents=True)
    shutil.copy(FIXTURES / "guide.ttl", project / "data" / "guide" / "guide.ttl")
    shutil.copy(FIXTURES / "editorial.ttl", project / "data" / "editorial" / "editorial.ttl")
    _geography_subset(project / "data" / "geography")
    settings = load_settings(None, environ={}, project_dir=project, store_dir=project / "var",
                             query_processes=1, query_timeout=20)
    try:
        build(settings)
    except BuildRefused as refused:  # the shapes moved on: still test the backends, unvalidated
        import warnings

        warnings.warn(f"fixture build refused, published without validation:\n{refused.report.to_text('en')}")
        import gc

        gc.collect()  # the refused build's store must be closed before a new one is opened
        staged = versions.staging_dir(settings.store_path)
        store = ox.Store(str(staged / versions.STORE))
        load_sources(store, discover(project), BASE)
        store.flush()
        del store
        versions.publish(settings.store_path, staged, "unvalidated", {"version": "unvalidated", "base_iri": BASE})
    TIMINGS["build"] = time.perf_counter() - started
    return settings


@pytest.fixture(scope="session")
def remote_settings(published, virtuoso_server):
    import dataclasses

    settings = dataclasses.replace(published, **virtuoso_server.settings_overrides())
    TIMINGS["virtuoso start"] = virtuoso_server.started_seconds
    result = load_version(settings)
    TIMINGS["push"] = result.seconds
    return settings


@pytest.fixture(scope="session")
def embedded_backend(published):
    from cohesio.store.embedded import EmbeddedBackend

    backend = EmbeddedBackend(published)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def remote_backend(remote_settings):
    return RemoteBackend(remote_settings)


@pytest.fixture(params=["embedded", "virtuoso"])
def backend(request):
    return request.getfixturevalue("embedded_backend" if request.param == "embedded" else "remote_backend")


@pytest.fixture
def both(embedded_backend, remote_backend):
    return embedded_backend, remote_backend


def run(backend, query: str, fmt: str = "json", **kwargs):
    return backend.run(Job(PREFIXES + query, fmt, **kwargs))


def values(outcome, var: str) -> list[str]:
    data = json.loads(outcome.body)
    return [b[var]["value"] for b in data["results"]["bindings"] if var in b]


# ------------------------------------------------------------------ on both backends


def test_version_and_graphs(backend, published):
    assert backend.version == versions.current(published.store_path).id
    assert set(GRAPH.values()) <= set(backend.graphs())


def test_select_count(backend):
    outcome = run(backend, "SELECT (COUNT(?i) AS ?n) WHERE { ?i a coh:Initiative }")
    assert outcome.form == "SELECT" and not outcome.truncated
    assert values(outcome, "n") == ["2"]


def test_accents_round_trip(backend):
    outcome = run(backend, "SELECT ?l WHERE { ?i a coh:Initiative ; rdfs:label ?l FILTER(lang(?l) = 'fr') } ORDER BY ?l")
    assert values(outcome, "l") == ["Maison des services — Besançon", "Maison des services — Échirolles"]
    outcome = run(backend, 'SELECT ?c WHERE { ?c rdfs:label "Échirolles"@fr }')
    assert values(outcome, "c") == ["https://w3id.org/cohesio/id/commune/38151"]


def test_ask(backend):
    yes = run(backend, "ASK { ?i a coh:Initiative }")
    no = run(backend, "ASK { ?i a coh:Nothing }")
    assert yes.form == "ASK" and json.loads(yes.body)["boolean"] is True
    assert json.loads(no.body)["boolean"] is False


@pytest.mark.parametrize("fmt", ["turtle", "ntriples"])
def test_construct(backend, fmt):
    outcome = run(backend, "CONSTRUCT { ?i rdfs:label ?l } WHERE { ?i a coh:Initiative ; rdfs:label ?l }", fmt)
    assert outcome.form == "CONSTRUCT" and outcome.format == fmt
    triples = list(ox.parse(outcome.body, format=formats.BY_NAME[fmt].rdf_format))
    assert len(triples) == outcome.rows == 4
    assert ox.Literal("Service centre — Échirolles", language="en") in {t.object for t in triples}


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_every_solution_format_parses_back(backend, fmt):
    outcome = run(backend, "SELECT ?c ?l WHERE { ?c a igeo:Commune ; igeo:codeINSEE ?code ; rdfs:label ?l "
                           "FILTER(?code IN ('25056', '38151') && lang(?l) = 'fr') } ORDER BY ?code", fmt)
    assert outcome.format == fmt
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(outcome.body.decode("utf-8"))))
        assert rows == [["c", "l"], [BESANCON, "Besançon"], [f"{BASE}id/commune/38151", "Échirolles"]]
        return
    parsed = ox.parse_query_results(outcome.body, format={"json": ox.QueryResultsFormat.JSON,
                                                          "xml": ox.QueryResultsFormat.XML,
                                                          "tsv": ox.QueryResultsFormat.TSV}[fmt])
    assert [(s["c"].value, s["l"].value) for s in parsed] == [(BESANCON, "Besançon"),
                                                              (f"{BASE}id/commune/38151", "Échirolles")]


def test_default_graph_uri_restricts(backend):
    query = "SELECT (COUNT(?i) AS ?n) WHERE { ?i a coh:Initiative }"
    assert values(run(backend, query, default_graphs=(GRAPH["guide"],)), "n") == ["2"]
    assert values(run(backend, query, default_graphs=(GRAPH["editorial"],)), "n") == ["0"]


def test_named_graph_uri_restricts(backend):
    outcome = run(backend, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", named_graphs=(GRAPH["guide"],))
    assert values(outcome, "g") == [GRAPH["guide"]]


def test_union_default_graph_sees_every_named_graph(backend):
    # The class is declared in the ontology graph, the initiatives are in the guide graph and the
    # communes in the geography graph: one pattern across the three.
    outcome = run(backend, "SELECT ?l WHERE { coh:Initiative a owl:Class . ?i a coh:Initiative ; "
                           "<http://purl.org/dc/terms/spatial> ?c . ?c rdfs:label ?l FILTER(lang(?l) = 'fr') } ORDER BY ?l")
    assert values(outcome, "l") == ["Besançon", "Échirolles"]
    graphs = values(run(backend, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"), "g")
    assert set(GRAPH.values()) <= set(graphs)
    assert not any("openlinksw" in g or g.endswith("graph/push") for g in graphs)


def test_row_cap_truncates(backend):
    outcome = run(backend, "SELECT ?c WHERE { ?c a igeo:Commune } ORDER BY ?c", max_rows=3)
    assert outcome.truncated and outcome.rows == 3 and len(values(outcome, "c")) == 3
    graph = run(backend, "CONSTRUCT WHERE { ?c a igeo:Commune }", "ntriples", max_rows=3)
    assert graph.truncated and graph.rows == 3
    exact = run(backend, "SELECT ?i WHERE { ?i a coh:Initiative }", max_rows=2)
    assert exact.rows == 2 and not exact.truncated


def test_syntax_error(backend):
    with pytest.raises(QueryError):
        run(backend, "SELECT ?x WHERE { ?x ?p }")


def test_substitutions(backend):
    outcome = run(backend, "SELECT ?c ?l WHERE { ?c rdfs:label ?l FILTER(lang(?l) = 'fr') }",
                  substitutions=(("c", f"<{BESANCON}>"),))
    assert values(outcome, "l") == ["Besançon"] and values(outcome, "c") == [BESANCON]
    outcome = run(backend, "SELECT ?c ?code WHERE { ?c igeo:codeINSEE ?code }", substitutions=(("code", '"38151"'),))
    assert values(outcome, "c") == [f"{BASE}id/commune/38151"]


QUERIES = [
    ("SELECT ?l WHERE { ?i a coh:Initiative ; rdfs:label ?l } ORDER BY STR(?l)", "json"),
    ("SELECT ?l WHERE { ?i a coh:Initiative ; rdfs:label ?l } ORDER BY DESC(STR(?l))", "xml"),
    ("SELECT ?c ?code WHERE { ?c igeo:codeINSEE ?code FILTER(STRSTARTS(?code, '2505')) } ORDER BY ?code", "csv"),
    ("SELECT ?c ?l WHERE { ?c igeo:codeINSEE '38151' ; rdfs:label ?l } ORDER BY ?l", "tsv"),
    ("ASK { ?i a coh:Initiative }", "json"),
    ("ASK { ?i a coh:Initiative }", "xml"),
    ("SELECT ?c WHERE { ?c a igeo:Commune } ORDER BY ?c LIMIT 50", "json"),
]


@pytest.mark.parametrize("query,fmt", QUERIES)
def test_same_bytes_on_both(both, query, fmt):
    embedded, remote = both
    a, b = run(embedded, query, fmt, max_rows=20), run(remote, query, fmt, max_rows=20)
    assert (a.form, a.format, a.rows, a.truncated) == (b.form, b.format, b.rows, b.truncated)
    assert a.body == b.body


def test_same_graph_on_both(both):
    embedded, remote = both
    query = "CONSTRUCT { ?i ?p ?o } WHERE { ?i a coh:Initiative ; ?p ?o }"
    a, b = run(embedded, query, "ntriples"), run(remote, query, "ntriples")
    assert set(ox.parse(a.body, format=ox.RdfFormat.N_TRIPLES)) == set(ox.parse(b.body, format=ox.RdfFormat.N_TRIPLES))


# ------------------------------------------------------------------ remote only


def test_remote_unreachable(published):
    import dataclasses
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = dataclasses.replace(published, backend="remote", remote_query_url=f"http://127.0.0.1:{port}/sparql")
    with pytest.raises(RemoteUnavailable, match="injoignable.*unreachable"):
        RemoteBackend(settings).run(Job("SELECT * WHERE { ?s ?p ?o }", "json"))


def test_bad_term_is_refused_not_pasted():
    with pytest.raises(QueryError):
        bind_values("SELECT ?x WHERE { ?x ?p ?o }", (("x", '"a" } } ; DROP ALL #'),))
    with pytest.raises(QueryError):
        bind_values("SELECT ?x WHERE { ?x ?p ?o }", (("x y", "<urn:a>"),))
    with pytest.raises(QueryError):  # blank nodes cannot be in VALUES
        bind_values("SELECT ?x WHERE { ?x ?p ?o }", (("x", "_:b"),))


# Queries whose outermost group is hard to find: braces in strings, IRIs and comments, EXISTS in
# the projection, a sub-SELECT, the short CONSTRUCT form, DESCRIBE without WHERE.
TRICKY = [
    'SELECT ?s ?o WHERE { ?s ?p ?o FILTER(?o != "}{") } # } {',
    "SELECT ?s (EXISTS { ?s ?p 1 } AS ?e) { ?s ?p ?o }",
    "SELECT ?s ?n WHERE { { SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s } }",
    "SELECT ?s WHERE { SELECT ?s WHERE { ?s ?p ?o } }",
    "SELECT ?s ?o WHERE { ?s ?p ?o FILTER(?s = <urn:a>) } ORDER BY ?o",
    "CONSTRUCT WHERE { ?s ?p ?o }",
    "CONSTRUCT { ?s <urn:q> ?o } WHERE { ?s ?p ?o }",
    "DESCRIBE ?s",
    "ASK { ?s ?p ?o }",
]


@pytest.mark.parametrize("query", TRICKY)
def test_bind_values_matches_pyoxigraph_substitutions(query):
    store = ox.Store()
    for s, o in (("urn:a", 1), ("urn:a", 2), ("urn:b", 3)):
        store.add(ox.Quad(ox.NamedNode(s), ox.NamedNode("urn:p"), ox.Literal(o)))
    rewritten = bind_values(query, (("s", "<urn:a>"),))
    expected = store.query(query, substitutions={ox.Variable("s"): ox.NamedNode("urn:a")})
    got = store.query(rewritten)

    def canon(result):
        if isinstance(result, ox.QueryBoolean):
            return bool(result)
        if isinstance(result, ox.QuerySolutions):
            return sorted(tuple(str(t) for t in row) for row in result)
        return sorted(str(t) for t in result)

    assert canon(got) == canon(expected), rewritten


def test_cli_push(remote_settings):
    from click.testing import CliRunner

    from cohesio.cli import main

    env = {"COHESIO_" + k.upper(): str(getattr(remote_settings, k)) for k in
           ("backend", "remote_query_url", "remote_update_url", "remote_graph_store_url", "remote_user",
            "remote_password")}
    result = CliRunner(env=env).invoke(main, ["--project-dir", str(remote_settings.project_dir), "--store-dir",
                                              str(remote_settings.store_path), "push", "-q"])
    assert result.exit_code == 0, result.output
    assert "pushed" in result.output and "geography" in result.output


def test_timings_report(remote_settings, capsys):
    with capsys.disabled():
        print("\n[test_backends] " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items()))


def test_the_search_index_of_a_remote_server_is_the_embedded_one(both, tmp_path):
    """The remote backend has no index file of its own: one is built from the server at first use
    (paged SPARQL), into the cache; it holds what the build's index holds."""
    from cohesio.linked_data import search as search_mod

    embedded, remote = both
    own = search_mod.index_for(embedded, BASE, tmp_path / "cache")
    assert search_mod.locate(embedded, BASE, tmp_path / "cache").own
    cached = search_mod.index_for(remote, BASE, tmp_path / "cache")
    assert list((tmp_path / "cache" / "search").glob("*.sqlite"))
    assert cached.main.meta["entries"] == own.main.meta["entries"] and cached.counts == own.counts
    for query in ("besancon", "maison des services", "ville", "ec"):
        for lang in ("fr", "en"):
            assert [h.iri for h in cached.search(query, lang).hits] == [h.iri for h in own.search(query, lang).hits]
    assert own.search("besancon", "fr").hits


# ------------------------------------------------------------------ the named queries on both

def _named_query_calls():
    from cohesio.queries import load_queries

    return [(q.name, q) for q in load_queries(ROOT / "queries")]


@pytest.mark.parametrize("name, query", _named_query_calls(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_named_query_gives_the_same_rows_on_both_backends(both, name, query):
    """The queries of queries/ are written for pyoxigraph's planner (sub-SELECTs, sort keys): the
    remote backend runs the same text, and must find the same rows (as a multiset: the collation of
    a remote server may order equal-ranked rows otherwise)."""
    from cohesio import api

    # the defaults (the guide's places), and places of this fixture's data where a parameter takes one
    fixture = {"commune": BESANCON, "departement": f"{BASE}id/departement/25", "region": f"{BASE}id/region/27"}
    bindings = [[], [(p.name, fixture[p.name]) for p in query.params if p.name in fixture]]
    for args in bindings if bindings[1] else bindings[:1]:
        call = api.read_call(query, args, 1000)
        found = []
        for backend in both:
            data = json.loads(backend.run(call.job(1000)).body)
            rows = [tuple(sorted((k, v["value"]) for k, v in b.items())) for b in data["results"]["bindings"]]
            found.append(sorted(rows))
        assert found[0] == found[1], (name, args)
    if name == "initiatives-in-commune":
        assert found[0] and all(dict(row)["place"] == BESANCON for row in found[0])
