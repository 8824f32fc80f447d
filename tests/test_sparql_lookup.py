"""Lookups answered in the server thread (cohesio.sparql.lookup): what is recognised, the budget
check, and answers identical to those of the query processes."""

from __future__ import annotations

import dataclasses

import pytest

from cohesio.sparql.lookup import RDF_TYPE, anchored_patterns, bound

CID = "https://w3id.org/cohesio/id/"
COH = "https://w3id.org/cohesio/ontology#"
PREFIXES = f"PREFIX coh: <{COH}>\nPREFIX cid: <{CID}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
I01 = f"<{CID}initiative/i01>"


@pytest.mark.parametrize("query", [
    f"SELECT ?p ?o WHERE {{ {I01} ?p ?o }}",
    f"select * {{ {I01} ?p ?o }} limit 5 offset 1",
    PREFIXES + "SELECT DISTINCT ?i ?l WHERE { ?i coh:commune cid:commune\\/42218 . "
               "?i rdfs:label ?l . }",  # not anchored: see the refusals
    PREFIXES + f"ASK {{ {I01} a coh:Initiative }}",
    PREFIXES + f"CONSTRUCT {{ {I01} rdfs:label ?l }} WHERE {{ {I01} rdfs:label ?l FILTER(lang(?l) = \"fr\") }}",
    PREFIXES + f"CONSTRUCT WHERE {{ {I01} ?p ?o }}",
    PREFIXES + f"SELECT ?l {{ {I01} rdfs:label ?l ; coh:commune ?c , ?d . FILTER contains(?l, \"caf\") }}",
    PREFIXES + f'SELECT ?p {{ {I01} ?p "Café des âges"@fr . {I01} ?p "1"^^<http://www.w3.org/2001/XMLSchema#integer> }}',
    # comments and strings may hold anything
    f"# ORDER BY {{ OPTIONAL }}\nSELECT ?o WHERE {{ {I01} ?p ?o FILTER(?o != \"}} ORDER BY ?x {{\") }}",
])
def test_lookups_are_recognised(query):
    if "?i rdfs:label ?l" in query:
        assert anchored_patterns(query) is None
    else:
        assert anchored_patterns(query), query


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p ?o }",  # no IRI to count from
    PREFIXES + "SELECT * WHERE { ?s rdfs:label ?o }",  # a predicate alone bounds nothing
    f"SELECT ?o WHERE {{ {I01} ?p ?o }} ORDER BY ?o",  # sorting (pyoxigraph 0.5.13 can abort on it)
    f"SELECT (COUNT(*) AS ?n) WHERE {{ {I01} ?p ?o }}",
    f"SELECT ?p WHERE {{ {I01} ?p ?o }} GROUP BY ?p",
    f"SELECT * WHERE {{ {I01} ?p ?o OPTIONAL {{ ?o ?q ?r }} }}",
    f"SELECT * WHERE {{ {{ {I01} ?p ?o }} UNION {{ {I01} ?p ?o }} }}",
    PREFIXES + f"SELECT * WHERE {{ {I01} coh:commune/rdfs:label ?o }}",
    PREFIXES + f"SELECT * WHERE {{ {I01} ^coh:commune ?o }}",
    PREFIXES + f"SELECT * WHERE {{ {I01} coh:commune+ ?o }}",
    PREFIXES + f"SELECT * WHERE {{ {I01} coh:commune* ?o }}",
    f"SELECT * WHERE {{ {I01} ?p ?o FILTER EXISTS {{ ?o ?q ?r }} }}",
    f"SELECT * WHERE {{ {I01} ?p ?o FILTER(NOT EXISTS {{ ?o ?q ?r }}) }}",
    f"SELECT * WHERE {{ {I01} ?p ?o {{ SELECT ?o WHERE {{ ?o ?q ?r }} }} }}",
    f"SELECT * WHERE {{ GRAPH ?g {{ {I01} ?p ?o }} }}",
    f"SELECT * WHERE {{ {I01} ?p ?o VALUES ?o {{ 1 }} }}",
    f"SELECT * WHERE {{ {I01} ?p ?o BIND(1 AS ?x) }}",
    f"SELECT * WHERE {{ {I01} ?p ?o SERVICE <http://example.org/sparql> {{ ?o ?q ?r }} }}",
    f"SELECT * FROM <http://example.org/g> WHERE {{ {I01} ?p ?o }}",
    f"DESCRIBE {I01}",
    f"BASE <http://example.org/> SELECT * WHERE {{ <a> ?p ?o }}",
    "SELECT * WHERE { <relative> ?p ?o }",
    f"SELECT * WHERE {{ undeclared:x ?p ?o }}",
    f"SELECT * WHERE {{ {I01} ?p [ ?q ?r ] }}",
    f"SELECT * WHERE {{ _:b ?p {I01} . _:b ?q ?r }}",
    f"SELECT * WHERE {{ {I01} ?p 1 }}",
    "SELECT * WHERE { }",
    f"SELECT * WHERE {{ {I01} ?p ?o }} LIMIT",
    f"INSERT DATA {{ {I01} ?p ?o }}",
    "not sparql at all {",
    # "<" as less-than, read by the lexer as an IRI hiding an unanchored pattern from it
    f"SELECT * WHERE {{ {I01} ?p ?o FILTER(?o<?x).?y?q?z.FILTER(?z>?w) }}",
    # found in review: a carriage return ends a comment for the engine, hiding a scan from a lexer
    # that waits for a line feed
    f"SELECT * WHERE {{ {I01} ?p ?o . #\r?a ?b ?c .\n}}",
    # ... and a \u escape in an IRI, which a lexer without it reads as '<' then a string
    f"SELECT ?c WHERE {{ {I01} ?p ?o FILTER(?o != 1) ?a ?b ?c }} ORDER BY ?c #') }}".replace(
        "FILTER(?o != 1)", "FILTER(?o != <urn:x'\\u0041>)"),
    f"SELECT * WHERE {{ <urn:\\u0061> ?p ?o }}",
    # expressions whose results grow (nested REPLACE asks for gigabytes), and calls of any function
    f'ASK {{ {I01} ?p ?o FILTER(STRLEN(REPLACE(REPLACE("a", "a", "aaaaaaaaaa"), "a", "aaaaaaaaaa")) > 0) }}',
    f'ASK {{ {I01} ?p ?o FILTER(STRLEN(CONCAT(STR(?o), STR(?o))) > 0) }}',
    f'SELECT * {{ {I01} ?p ?o FILTER(SHA512(STR(?o)) != "") }}',
    # the engine compiles a REGEX again for every solution: \w{{50}} costs 3 ms each time
    f'SELECT * {{ {I01} ?p ?o FILTER(REGEX(STR(?o), "\\\\w{{50}}")) }}',
    f'SELECT * {{ {I01} ?p ?o FILTER regex(STR(?o), "a") }}',
    PREFIXES + f"SELECT * {{ {I01} ?p ?o FILTER(coh:f(?o)) }}",
    PREFIXES + f"SELECT * {{ {I01} ?p ?o FILTER coh:f(?o) }}",
    # planning grows with the patterns, whatever they match
    "ASK {" + "".join(f" <urn:z> ?p ?v{i} ." for i in range(17)) + " }",
    f"SELECT * WHERE {{ {I01} ?p ?o }} # " + "x" * 4100,
    # a local-name escape that makes the lexer open a string the engine never sees
    f"SELECT * WHERE {{ {I01} ?p ?o FILTER(?o = cid:a\\') . ?y ?q ?z FILTER(?z = 'x') }}",
])
def test_other_queries_are_not_lookups(query):
    assert anchored_patterns(query) is None


def test_lookups_may_test_their_values_cheaply_and_have_a_few_patterns():
    assert anchored_patterns(f'SELECT * {{ {I01} ?p ?o FILTER(isLiteral(?o) && CONTAINS(LCASE(STR(?o)), "caf") '
                             f'&& lang(?o) IN ("fr", "en") && !BOUND(?x) && ?o != "x" && STRLEN(?o) < 40) }}')
    assert len(anchored_patterns("ASK {" + "".join(f" <urn:z> ?p ?v{i} ." for i in range(16)) + " }")) == 16


def test_escaped_prefixed_names_are_read_as_the_engine_reads_them():
    patterns = anchored_patterns(PREFIXES + "SELECT * { ?i coh:commune cid:a\\.b\\-c }")
    assert patterns[0].object.value == f"{CID}a.b-c"
    patterns = anchored_patterns(PREFIXES + "SELECT * { ?i coh:commune cid:commune\\/42218 }")
    assert patterns[0].object.value == f"{CID}commune/42218"


def test_patterns_name_the_iris_and_nothing_else():
    patterns = anchored_patterns(PREFIXES + f'SELECT * {{ {I01} a coh:Initiative ; rdfs:label "x"@fr , ?l . '
                                            "?i coh:commune <https://w3id.org/cohesio/id/commune/42218> }")
    assert [(p.subject and p.subject.value, p.predicate and p.predicate.value, p.object and p.object.value)
            for p in patterns] == [
        (f"{CID}initiative/i01", RDF_TYPE, f"{COH}Initiative"),
        (f"{CID}initiative/i01", "http://www.w3.org/2000/01/rdf-schema#label", None),
        (f"{CID}initiative/i01", "http://www.w3.org/2000/01/rdf-schema#label", None),
        (None, f"{COH}commune", f"{CID}commune/42218"),
    ]


@pytest.fixture(scope="module")
def store(sparql_store_dir):
    from cohesio import versions

    return versions.current(sparql_store_dir).open_store()


def test_budget_counts_the_matches_and_multiplies_them(store):
    one_record = anchored_patterns(f"SELECT * {{ {I01} ?p ?o }}")  # 4 triples
    assert bound(store, one_record, 4) == 4
    assert bound(store, one_record, 3) is None
    two = anchored_patterns(f"SELECT * {{ {I01} ?p ?o . <{CID}initiative/i02> ?q ?r }}")  # 4 × 4
    assert bound(store, two, 16) == 16
    assert bound(store, two, 15) is None
    instances = anchored_patterns(PREFIXES + "SELECT * { ?i a coh:Initiative }")
    count = int(next(iter(store.query(f"SELECT (COUNT(*) AS ?n) {{ ?i a <{COH}Initiative> }}",
                                      use_default_graph_as_union=True)))["n"].value)
    assert count > 20
    assert bound(store, instances, count) == count
    assert bound(store, instances, count - 1) is None


def test_a_pattern_without_match_does_not_hide_the_others(store):
    # no solution at all, but the engine may scan the class before finding that out
    patterns = anchored_patterns(PREFIXES + "SELECT * { <urn:nothing> ?p ?o . ?i a coh:Initiative }")
    assert bound(store, patterns, 10) is None


# ---------------------------------------------------------------- through the endpoint

LOOKUPS = [
    ("json", f"SELECT ?p ?o WHERE {{ {I01} ?p ?o }}"),
    ("xml", f"SELECT ?p ?o WHERE {{ {I01} ?p ?o }}"),
    ("csv", f"SELECT ?p ?o WHERE {{ {I01} ?p ?o }}"),
    ("tsv", f"SELECT ?p ?o WHERE {{ {I01} ?p ?o }}"),
    ("json", PREFIXES + f"ASK {{ {I01} a coh:Initiative }}"),
    ("turtle", PREFIXES + f"CONSTRUCT WHERE {{ {I01} ?p ?o }}"),
    ("ntriples", PREFIXES + f"CONSTRUCT {{ {I01} rdfs:label ?l }} WHERE {{ {I01} rdfs:label ?l }}"),
    # ?i rdfs:label ?l is not anchored: a query process answers, the same
    ("json", PREFIXES + "SELECT ?l WHERE { ?i coh:commune cid:commune\\/42218 ; rdfs:label ?l }"),
    ("json", PREFIXES + "SELECT * WHERE { ?i a coh:Initiative }"),  # 28 rows: past max_rows (10), truncated
]


@pytest.fixture(scope="module")
def two_apps(sparql_settings, sparql_store_dir):
    """The same store served with lookups in the thread, and with every query in a process."""
    from cohesio.store.embedded import EmbeddedBackend
    from cohesio.web import create_app

    inline = EmbeddedBackend(sparql_settings)
    processes = EmbeddedBackend(dataclasses.replace(sparql_settings, inline_lookup_budget=0))
    apps = (create_app(sparql_settings, inline), create_app(sparql_settings, processes))
    yield apps, inline, processes
    inline.close()
    processes.close()


@pytest.mark.parametrize("fmt,query", LOOKUPS)
def test_answers_are_the_same_with_or_without_the_process_hop(two_apps, fmt, query):
    (inline_app, process_app), inline, processes = two_apps
    before = (inline.inline_answers, processes.inline_answers)
    answers = []
    for app in (inline_app, process_app):
        response = app.test_client().post("/sparql", data={"query": query, "format": fmt})
        answers.append((response.status_code, response.headers.get("Content-Type"),
                        response.headers.get("Cohesio-Truncated"), response.data))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    expected_inline = 1 if anchored_patterns(query) else 0
    assert (inline.inline_answers - before[0], processes.inline_answers - before[1]) == (expected_inline, 0)


def test_the_lookup_class_is_what_the_endpoint_sends_to_the_thread(two_apps):
    (inline_app, _), inline, _ = two_apps
    client = inline_app.test_client()
    before = inline.inline_answers
    assert client.post("/sparql", data={"query": f"SELECT * {{ {I01} ?p ?o }}"}).status_code == 200
    assert inline.inline_answers == before + 1
    # a scan of every triple is not a lookup
    assert client.post("/sparql", data={"query": "SELECT * { ?s ?p ?o } LIMIT 1"}).status_code == 200
    assert inline.inline_answers == before + 1
    # dataset parameters change what the patterns range over: never in the thread
    assert client.post("/sparql", data={"query": f"SELECT * {{ {I01} ?p ?o }}",
                                        "default-graph-uri": "https://w3id.org/cohesio/graph/guide"}
                       ).status_code == 200
    assert inline.inline_answers == before + 1


def test_a_lookup_over_the_budget_goes_to_a_query_process(sparql_settings):
    from cohesio.store.embedded import EmbeddedBackend
    from cohesio.web import create_app

    backend = EmbeddedBackend(dataclasses.replace(sparql_settings, inline_lookup_budget=5))
    try:
        client = create_app(sparql_settings, backend).test_client()
        assert client.post("/sparql", data={"query": f"SELECT * {{ {I01} ?p ?o }}"}).status_code == 200
        assert backend.inline_answers == 1  # 4 triples ≤ 5
        assert client.post("/sparql", data={"query": PREFIXES + "SELECT * { ?i a coh:Initiative }"}
                           ).status_code == 200
        assert backend.inline_answers == 1  # 28 instances > 5: a query process answered
    finally:
        backend.close()


def test_a_syntax_error_in_a_lookup_is_a_400_in_both_languages(client):
    response = client.post("/sparql", data={"query": f"SELECT * {{ {I01} ?p ?o . . }}"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Requête SPARQL invalide" in body and "Invalid SPARQL query" in body


def test_the_engine_writer_keeps_the_text_bound(store):
    from cohesio.sparql.executor import Job, evaluate, evaluate_within_cap

    job = Job(query=f"SELECT ?p ?o WHERE {{ {I01} ?p ?o }}", format="json", max_rows=10)
    whole = evaluate_within_cap(store, job)
    assert whole.body == evaluate(store, job).body and not whole.truncated and whole.rows is None
    small = dataclasses.replace(job, max_chars=60)  # less text than the four rows hold
    cut = evaluate_within_cap(store, small)
    assert cut.truncated and cut.body == evaluate(store, small).body and cut.rows < 4
