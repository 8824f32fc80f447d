"""The SPARQL 1.1 Protocol at /sparql: the W3C protocol tests, content negotiation, the service
description, CORS and HEAD.

The W3C cases follow w3c/rdf-tests ``sparql/sparql11/protocol/manifest.ttl`` (each test id carries
the W3C name). The endpoint is read-only, so the update tests become "every update attempt gets a
4xx". The three one-triple files of the dataset tests are named graphs of the fixture store
(tests/fixtures/sparql/mini.trig).
"""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote, urlencode
from xml.dom import minidom

import pytest
import rdflib
from rdflib.namespace import RDF

pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")

KASEI = "http://kasei.us/2009/09/sparql/data/"
DATA1, DATA2, DATA3 = (f"{KASEI}data{n}.rdf" for n in (1, 2, 3))
FIXTURE_GRAPHS = {
    DATA1, DATA2, DATA3,
    "https://w3id.org/cohesio/graph/guide",
    "https://w3id.org/cohesio/graph/geography",
    "https://w3id.org/cohesio/graph/ontology",
}
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = rdflib.Namespace("http://www.w3.org/ns/formats/")

RESULT_TYPES = {"application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values"}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}
FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"


def get(client, query=None, headers=None, **params):
    pairs = ([("query", query)] if query is not None else []) + _pairs(params)
    return client.get("/sparql?" + urlencode(pairs), headers=headers or {})


def post_form(client, query=None, headers=None, **params):
    pairs = ([("query", query)] if query is not None else []) + _pairs(params)
    return client.post("/sparql", data=urlencode(pairs), headers={"Content-Type": FORM, **(headers or {})})


def post_direct(client, query, headers=None, **params):
    url = "/sparql" + ("?" + urlencode(_pairs(params)) if params else "")
    return client.post(url, data=query.encode("utf-8"), headers={"Content-Type": DIRECT, **(headers or {})})


def _pairs(params):
    out = []
    for key, value in params.items():
        key = key.replace("_", "-")
        for v in value if isinstance(value, (list, tuple)) else [value]:
            out.append((key, v))
    return out


def boolean(response) -> bool:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/sparql-results+json"
    return response.get_json()["boolean"]


def bindings(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]["bindings"]


def _vary(response) -> set[str]:
    return {v.strip() for value in response.headers.get_all("Vary") for v in value.split(",")}


def assert_allowed_origin(response, origin: str) -> None:
    """CORS lets any origin read the answer: "*", or the caller's origin echoed with Vary: Origin
    (the answers are publicly cacheable, so an echoed origin must be part of the cache key)."""
    allowed = response.headers.get("Access-Control-Allow-Origin")
    assert allowed in ("*", origin), allowed
    if allowed != "*" and response.status_code == 200:
        assert "Origin" in _vary(response)


def assert_bilingual_error(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "text/plain"
    assert "charset=utf-8" in response.content_type
    text = response.get_data(as_text=True)
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 2, text  # one French line, one English line
    assert all(line.startswith(f"{status} — ") for line in lines)
    return text


# ------------------------------------------------------------------ W3C protocol tests: queries


def test_w3c_query_get(client):
    response = get(client, "ASK { ?s ?p ?o }")
    assert boolean(response) is True


def test_w3c_query_post_form(client):
    response = post_form(client, "ASK { ?s ?p ?o }")
    assert boolean(response) is True


def test_w3c_query_post_direct(client):
    response = post_direct(client, "ASK { ?s ?p ?o }")
    assert boolean(response) is True


def test_w3c_query_dataset_default_graph(client):
    query = f"ASK {{ <{DATA1}> ?p ?o }}"
    assert boolean(get(client, query, default_graph_uri=DATA1)) is True
    # the protocol dataset replaces the union: data2 does not see data1's triple
    assert boolean(get(client, query, default_graph_uri=DATA2)) is False


@pytest.mark.parametrize("send", [get, post_form], ids=["query_dataset_default_graphs_get",
                                                        "query_dataset_default_graphs_post"])
def test_w3c_query_dataset_default_graphs(client, send):
    query = f"ASK {{ <{DATA1}> a ?type . <{DATA2}> a ?type . }}"
    assert boolean(send(client, query, default_graph_uri=[DATA1, DATA2])) is True
    assert boolean(send(client, query, default_graph_uri=[DATA1])) is False


@pytest.mark.parametrize("send", [post_form, get], ids=["query_dataset_named_graphs_post",
                                                        "query_dataset_named_graphs_get"])
def test_w3c_query_dataset_named_graphs(client, send):
    query = f"ASK {{ GRAPH ?g1 {{ <{DATA1}> a ?type }} GRAPH ?g2 {{ <{DATA2}> a ?type }} }}"
    assert boolean(send(client, query, named_graph_uri=[DATA1, DATA2])) is True
    assert boolean(send(client, query, named_graph_uri=[DATA1, DATA3])) is False
    rows = bindings(send(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                         named_graph_uri=[DATA1, DATA2]))
    assert {row["g"]["value"] for row in rows} == {DATA1, DATA2}


def test_w3c_query_dataset_full(client):
    query = "SELECT ?s ?g WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    rows = bindings(post_form(client, query, default_graph_uri=DATA3, named_graph_uri=[DATA1, DATA2]))
    found = {(row["s"]["value"], row.get("g", {}).get("value")) for row in rows}
    assert found == {(DATA3, None), (DATA1, DATA1), (DATA2, DATA2)}


def test_w3c_query_multiple_dataset(client):
    """A dataset in the query (FROM) and in the protocol: the protocol's wins."""
    response = post_direct(client, f"ASK FROM <{DATA1}> {{ <{DATA2}> a ?type }}", default_graph_uri=DATA2)
    assert boolean(response) is True
    response = post_direct(client, f"ASK FROM <{DATA1}> {{ <{DATA1}> a ?type }}", default_graph_uri=DATA2)
    assert boolean(response) is False


def test_query_dataset_from_clause_replaces_union(client):
    """FROM in the query selects the default graph (the union default graph is only the fallback)."""
    assert boolean(get(client, f"ASK FROM <{DATA1}> {{ <{DATA1}> a ?type }}")) is True
    assert boolean(get(client, f"ASK FROM <{DATA1}> {{ <{DATA2}> a ?type }}")) is False
    # FROM NAMED alone: the default graph is empty, GRAPH sees only the named one
    assert boolean(get(client, f"ASK FROM NAMED <{DATA1}> {{ <{DATA1}> a ?type }}")) is False
    rows = bindings(get(client, f"SELECT ?g FROM NAMED <{DATA1}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"))
    assert [row["g"]["value"] for row in rows] == [DATA1]


def test_query_without_dataset_is_the_union_of_named_graphs(client):
    assert boolean(get(client, f"ASK {{ <{DATA1}> a ?t . <{DATA2}> a ?t . }}")) is True


ACCEPT_RESULTS = ("application/sparql-results+xml, application/sparql-results+json, text/csv, "
                  "text/tab-separated-values")
ACCEPT_RDF = "application/rdf+xml, text/turtle, application/n-triples, application/ld+json"


@pytest.mark.parametrize(
    "query,accept,allowed",
    [
        ("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", ACCEPT_RESULTS, RESULT_TYPES),
        ("ASK { ?s ?p ?o }", ACCEPT_RESULTS, RESULT_TYPES),
        (f"DESCRIBE <{DATA1}>", ACCEPT_RDF, RDF_TYPES),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3", ACCEPT_RDF, RDF_TYPES),
    ],
    ids=["query_content_type_select", "query_content_type_ask", "query_content_type_describe",
         "query_content_type_construct"],
)
def test_w3c_query_content_type(client, query, accept, allowed):
    response = get(client, query, headers={"Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype in allowed
    assert response.content_type.endswith("charset=utf-8")


# ------------------------------------------------------------------ W3C protocol tests: bad requests


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_w3c_bad_query_method(client, method):
    response = client.open("/sparql?query=" + quote("ASK {}"), method=method)
    assert_bilingual_error(response, 405)
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_w3c_bad_multiple_queries(client):
    response = client.get("/sparql?" + urlencode([("query", "ASK {}"), ("query", "SELECT * {}")]))
    text = assert_bilingual_error(response, 400)
    assert "query" in text
    # one in the URL and one in the form body is also two queries
    response = client.post("/sparql?query=" + quote("ASK {}"), data="query=" + quote("ASK {}"),
                           headers={"Content-Type": FORM})
    assert_bilingual_error(response, 400)
    # and a direct POST with a query in the URL as well
    response = client.post("/sparql?query=" + quote("ASK {}"), data="ASK {}", headers={"Content-Type": DIRECT})
    assert_bilingual_error(response, 400)


def test_w3c_bad_query_wrong_media_type(client):
    response = client.post("/sparql", data="ASK {}", headers={"Content-Type": "text/plain"})
    text = assert_bilingual_error(response, 415)
    assert "application/sparql-query" in text


def test_w3c_bad_query_missing_form_type(client):
    response = client.post("/sparql", data="query=" + quote("ASK {}"))
    text = assert_bilingual_error(response, 415)
    assert "Content-Type" in text


def test_w3c_bad_query_missing_direct_type(client):
    response = client.post("/sparql", data="ASK {}")
    assert_bilingual_error(response, 415)


def test_w3c_bad_query_non_utf8(client):
    # the W3C case: a direct POST declared and encoded as UTF-16
    response = client.post("/sparql", data="ASK {}".encode("utf-16"),
                           headers={"Content-Type": "application/sparql-query; charset=UTF-16"})
    assert 400 <= response.status_code < 500
    assert_bilingual_error(response, response.status_code)
    # Latin-1 bytes in a direct body, a form body and a URL
    latin1 = 'SELECT * WHERE { ?s ?p "Besançon" }'.encode("latin-1")
    assert_bilingual_error(client.post("/sparql", data=latin1, headers={"Content-Type": DIRECT}), 400)
    body = b"query=" + quote(latin1.decode("latin-1"), encoding="latin-1").encode()
    assert_bilingual_error(client.post("/sparql", data=body, headers={"Content-Type": FORM}), 400)
    assert_bilingual_error(client.get("/sparql?query=" + quote(latin1.decode("latin-1"), encoding="latin-1")), 400)
    # a charset other than UTF-8 on an ASCII body is refused rather than guessed
    response = client.post("/sparql", data=b"ASK {}", headers={"Content-Type": DIRECT + "; charset=ISO-8859-1"})
    assert_bilingual_error(response, 415)


@pytest.mark.parametrize("send", [get, post_form, post_direct])
def test_w3c_bad_query_syntax(client, send):
    response = send(client, "ASK {")
    text = assert_bilingual_error(response, 400)
    assert "1:6" in text  # the parser's position (line:column)
    assert "SPARQL" in text
    response = send(client, "SELEC * WHERE { ?s ?p ?o }")
    text = assert_bilingual_error(response, 400)
    assert "1:" in text


def test_empty_and_missing_query(client):
    assert_bilingual_error(get(client, "   "), 400)
    assert_bilingual_error(post_form(client, default_graph_uri=DATA1), 400)
    assert_bilingual_error(client.post("/sparql", data=b"", headers={"Content-Type": DIRECT}), 400)


# ------------------------------------------------------------------ W3C update tests: every update gets a 4xx

UPDATE = "application/sparql-update"
W3C_UPDATES = {
    "update_post_form": lambda c: post_form(c, None, update=f"CLEAR GRAPH <{DATA1}>"),
    "update_post_direct": lambda c: c.post("/sparql", data=f"CLEAR GRAPH <{DATA1}>",
                                           headers={"Content-Type": UPDATE}),
    "update_base_uri": lambda c: c.post("/sparql", data="BASE <http://example.org/> INSERT DATA { <s> <p> <o> }",
                                        headers={"Content-Type": UPDATE}),
    "update_dataset_default_graph": lambda c: c.post(
        "/sparql?" + urlencode({"using-graph-uri": DATA1}),
        data=f"INSERT {{ GRAPH <{DATA3}> {{ ?s a ?o }} }} WHERE {{ ?s a ?o }}", headers={"Content-Type": UPDATE}),
    "update_dataset_named_graphs": lambda c: post_form(
        c, None, update="INSERT { GRAPH <urn:g> { ?s a ?o } } WHERE { GRAPH ?g { ?s a ?o } }",
        using_named_graph_uri=[DATA1, DATA2]),
    "update_dataset_full": lambda c: post_form(
        c, None, update="DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", using_graph_uri=DATA1,
        using_named_graph_uri=DATA2),
    "update_graph_uri": lambda c: post_form(c, None, update=f"DROP GRAPH <{DATA2}>"),
    "bad_update_get": lambda c: c.get("/sparql?" + urlencode({"update": "CLEAR ALL"})),
    "bad_multiple_updates": lambda c: post_form(c, None, update=["CLEAR NAMED", "CLEAR DEFAULT"]),
    "bad_update_wrong_media_type": lambda c: c.post("/sparql", data="CLEAR NAMED",
                                                    headers={"Content-Type": "text/plain"}),
    "bad_update_missing_form_type": lambda c: c.post("/sparql", data="update=CLEAR%20NAMED"),
    "bad_update_non_utf8": lambda c: c.post("/sparql", data="CLEAR NAMED".encode("utf-16"),
                                            headers={"Content-Type": UPDATE + "; charset=UTF-16"}),
    "bad_update_syntax": lambda c: post_form(c, None, update="CLEAR XYZ"),
    "bad_update_dataset_conflict": lambda c: c.post(
        "/sparql?" + urlencode({"using-graph-uri": DATA1}),
        data=f"DELETE {{ ?s ?p ?o }} USING <{DATA2}> WHERE {{ ?s ?p ?o }}", headers={"Content-Type": UPDATE}),
}


@pytest.mark.parametrize("name", list(W3C_UPDATES), ids=list(W3C_UPDATES))
def test_w3c_update_gets_4xx(client, name):
    response = W3C_UPDATES[name](client)
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    assert_bilingual_error(response, response.status_code)
    # and nothing changed
    assert boolean(get(client, f"ASK {{ GRAPH <{DATA1}> {{ <{DATA1}> a ?t }} GRAPH <{DATA2}> {{ <{DATA2}> a ?t }} }}"))


# ------------------------------------------------------------------ content negotiation

SELECT5 = ("PREFIX coh: <https://w3id.org/cohesio/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
           "SELECT ?s ?label WHERE { ?s a coh:Initiative ; rdfs:label ?label } ORDER BY ?s LIMIT 5")
CONSTRUCT5 = ("PREFIX coh: <https://w3id.org/cohesio/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
              "CONSTRUCT { ?s rdfs:label ?label } WHERE { ?s a coh:Initiative ; rdfs:label ?label } "
              "ORDER BY ?s LIMIT 5")
FIRST_LABEL = "Café des âges"


@pytest.mark.parametrize(
    "accept,expected",
    [
        (None, "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("application/sparql-results+xml;q=0.5, application/sparql-results+json;q=0.9",
         "application/sparql-results+json"),
        ("application/sparql-results+json;q=0.5, application/sparql-results+xml;q=0.9",
         "application/sparql-results+xml"),
        ("text/csv;q=0.8, text/tab-separated-values", "text/tab-separated-values"),
        ("text/html, */*;q=0.1", "application/sparql-results+json"),
        ("text/turtle, text/csv;q=0.1", "text/csv"),
        ("application/json", "application/sparql-results+json"),
        ("application/xml", "application/sparql-results+xml"),
        ("text/csv; charset=utf-8", "text/csv"),
    ],
)
def test_conneg_select(client, accept, expected):
    response = get(client, SELECT5, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == expected
    assert response.content_type == f"{expected}; charset=utf-8"
    assert "Accept" in _vary(response)
    assert FIRST_LABEL in response.get_data(as_text=True)


def test_conneg_text_wildcard(client):
    response = get(client, SELECT5, headers={"Accept": "text/*"})
    assert response.mimetype in {"text/csv", "text/tab-separated-values"}


@pytest.mark.parametrize(
    "accept,expected",
    [
        (None, "text/turtle"),
        ("*/*", "text/turtle"),
        ("application/n-triples", "application/n-triples"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/ld+json", "application/ld+json"),
        ("text/turtle;q=0.2, application/n-triples", "application/n-triples"),
        ("application/ld+json;q=0.3, application/rdf+xml;q=0.7, */*;q=0.1", "application/rdf+xml"),
        ("text/plain", "application/n-triples"),
    ],
)
def test_conneg_construct(client, accept, expected):
    response = get(client, CONSTRUCT5, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == expected
    assert response.content_type.endswith("; charset=utf-8")
    assert "Accept" in _vary(response)
    rdflib_format = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml",
                     "application/ld+json": "json-ld"}[expected]
    graph = rdflib.Graph().parse(data=response.get_data(as_text=True), format=rdflib_format)
    assert len(graph) == 5
    assert rdflib.Literal(FIRST_LABEL, lang="fr") in set(graph.objects())


@pytest.mark.parametrize(
    "fmt,expected",
    [
        ("json", "application/sparql-results+json"),
        ("xml", "application/sparql-results+xml"),
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("JSON", "application/sparql-results+json"),
    ],
)
def test_format_parameter_select(client, fmt, expected):
    # the parameter wins over the Accept header
    response = get(client, SELECT5, headers={"Accept": "text/csv"}, format=fmt)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == expected


@pytest.mark.parametrize(
    "fmt,expected",
    [
        ("turtle", "text/turtle"), ("ntriples", "application/n-triples"), ("rdfxml", "application/rdf+xml"),
        ("jsonld", "application/ld+json"), ("application/ld+json", "application/ld+json"),
        # spellings real clients send (SPARQLWrapper: rdf+xml, json-ld, n3, and xml by default)
        ("rdf+xml", "application/rdf+xml"), ("json-ld", "application/ld+json"), ("xml", "application/rdf+xml"),
        ("n3", "text/turtle"), ("ttl", "text/turtle"), ("nt", "application/n-triples"),
    ],
)
def test_format_parameter_construct(client, fmt, expected):
    response = post_form(client, CONSTRUCT5, format=fmt)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == expected


def test_format_parameter_errors(client):
    text = assert_bilingual_error(get(client, SELECT5, format="bogus"), 400)
    assert "bogus" in text and "json" in text
    text = assert_bilingual_error(get(client, SELECT5, format="turtle"), 406)
    assert "turtle" in text
    assert_bilingual_error(get(client, CONSTRUCT5, format="csv"), 406)


@pytest.mark.parametrize(
    "query,accept",
    [
        (SELECT5, "text/turtle"),
        (SELECT5, "text/html, application/xhtml+xml"),
        ("ASK {}", "application/rdf+xml"),
        (CONSTRUCT5, "application/sparql-results+json"),
        (CONSTRUCT5, "text/csv"),
        (SELECT5, "application/sparql-results+json;q=0"),
    ],
)
def test_406_unsatisfiable_accept(client, query, accept):
    response = get(client, query, headers={"Accept": accept})
    text = assert_bilingual_error(response, 406)
    assert "application/" in text or "text/" in text  # lists what is available


def test_syntax_error_beats_406(client):
    """A query that does not parse gets its syntax error even with an odd Accept header."""
    response = get(client, "SELEC nothing", headers={"Accept": "image/png"})
    assert_bilingual_error(response, 400)


def test_results_are_correct_in_every_solution_format(client):
    """Same rows, accents intact, in JSON, XML, CSV and TSV."""
    js = bindings(get(client, SELECT5))
    labels = [row["label"]["value"] for row in js]
    assert labels[0] == FIRST_LABEL and js[0]["label"]["xml:lang"] == "fr"
    assert "œ" in "".join(labels) and "ç" in "".join(labels)

    xml = minidom.parseString(get(client, SELECT5, format="xml").data)
    xml_labels = [b.getElementsByTagName("literal")[0].firstChild.data
                  for b in xml.getElementsByTagName("binding") if b.getAttribute("name") == "label"]
    assert xml_labels == labels

    rows = list(csv.DictReader(io.StringIO(get(client, SELECT5, format="csv").get_data(as_text=True))))
    assert [row["label"] for row in rows] == labels

    tsv = get(client, SELECT5, format="tsv").get_data(as_text=True).splitlines()
    assert tsv[0] == "?s\t?label"
    assert tsv[1].split("\t")[1] == f'"{FIRST_LABEL}"@fr'


def test_ask_in_every_solution_format(client):
    assert get(client, "ASK {}", format="json").get_json() == {"head": {}, "boolean": True}
    assert "<boolean>true</boolean>" in get(client, "ASK {}", format="xml").get_data(as_text=True)
    assert "true" in get(client, "ASK {}", format="csv").get_data(as_text=True)
    assert "true" in get(client, "ASK {}", format="tsv").get_data(as_text=True)


def test_utf8_query_text(client):
    """Accented literals in the query itself, by every transport."""
    query = 'PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> ASK { ?s rdfs:label "Cœur de village"@fr }'
    for send in (get, post_form, post_direct):
        assert boolean(send(client, query)) is True
    response = client.post("/sparql", data=query.encode(), headers={"Content-Type": DIRECT + "; charset=UTF-8"})
    assert boolean(response) is True


# ------------------------------------------------------------------ service description


def _description(client, accept=None, **params):
    response = client.get("/sparql" + ("?" + urlencode(params) if params else ""),
                          headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


@pytest.mark.parametrize(
    "accept,mimetype,rdflib_format",
    [
        (None, "text/turtle", "turtle"),
        ("text/turtle", "text/turtle", "turtle"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/n-triples", "application/n-triples", "nt"),
    ],
)
def test_service_description(client, accept, mimetype, rdflib_format):
    response = _description(client, accept)
    assert response.mimetype == mimetype
    assert response.content_type.endswith("charset=utf-8")
    assert "Accept" in _vary(response)
    graph = rdflib.Graph().parse(data=response.get_data(as_text=True), format=rdflib_format)
    endpoint = rdflib.URIRef("http://localhost/sparql")
    services = set(graph.subjects(SD.endpoint, endpoint))
    assert len(services) == 1
    service = services.pop()
    assert (service, RDF.type, SD.Service) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert SD.SPARQL11Update not in set(graph.objects(service, SD.supportedLanguage))
    formats = set(graph.objects(service, SD.resultFormat))
    assert {FORMATS.SPARQL_Results_JSON, FORMATS.SPARQL_Results_XML, FORMATS.SPARQL_Results_CSV,
            FORMATS.SPARQL_Results_TSV, FORMATS.Turtle, FORMATS["N-Triples"], FORMATS.RDF_XML,
            FORMATS["JSON-LD"]} <= formats
    assert SD.UnionDefaultGraph in set(graph.objects(service, SD.feature))
    dataset = graph.value(service, SD.defaultDataset)
    assert dataset is not None and (dataset, RDF.type, SD.Dataset) in graph
    assert graph.value(dataset, SD.defaultGraph) is not None
    named = list(graph.subjects(RDF.type, SD.NamedGraph))
    assert named and all(graph.value(n, SD.name) is not None for n in named)
    assert {str(graph.value(n, SD.name)) for n in named} == FIXTURE_GRAPHS
    assert set(graph.objects(dataset, SD.namedGraph)) == set(named)
    see_also = {str(o) for o in graph.objects(service, rdflib.RDFS.seeAlso)}
    assert "http://localhost/.well-known/void" in see_also
    labels = {str(o) for o in graph.objects(service, rdflib.RDFS.label)}
    assert "Point d'accès SPARQL de cohesio" in labels  # accents survive every syntax


def test_service_description_format_parameter_and_406(client):
    assert _description(client, format="jsonld").mimetype == "application/ld+json"
    assert_bilingual_error(client.get("/sparql", headers={"Accept": "application/sparql-results+json"}), 406)
    assert_bilingual_error(client.get("/sparql?format=csv"), 406)


def test_service_description_for_a_browser_does_not_fail(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype in RDF_TYPES | {"text/html"}


def test_service_description_endpoint_follows_host(client):
    response = client.get("/sparql", base_url="https://data.example.org")
    graph = rdflib.Graph().parse(data=response.get_data(as_text=True), format="turtle")
    assert set(graph.subjects(SD.endpoint, rdflib.URIRef("https://data.example.org/sparql")))


# ------------------------------------------------------------------ CORS, HEAD


ORIGIN = {"Origin": "https://someone.example"}


def test_cors_on_by_default(client):
    response = get(client, SELECT5, headers=ORIGIN)
    assert_allowed_origin(response, ORIGIN["Origin"])
    exposed = response.headers.get("Access-Control-Expose-Headers", "")
    assert "Cohesio-Truncated" in exposed
    # errors too, so a browser client can read the message
    response = get(client, "SELEC", headers=ORIGIN)
    assert response.status_code == 400
    assert_allowed_origin(response, ORIGIN["Origin"])
    # the description
    assert_allowed_origin(client.get("/sparql", headers=ORIGIN), ORIGIN["Origin"])


def test_cors_preflight(client):
    response = client.options("/sparql", headers={**ORIGIN, "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "Content-Type"})
    assert response.status_code in (200, 204)
    assert_allowed_origin(response, ORIGIN["Origin"])
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()


def test_cors_off_when_configured_empty(sparql_app_no_cors):
    client = sparql_app_no_cors.test_client()
    response = get(client, SELECT5, headers=ORIGIN)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    response = client.options("/sparql", headers={**ORIGIN, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_head_query(client):
    full = get(client, SELECT5)
    response = client.head("/sparql?" + urlencode({"query": SELECT5}))
    assert response.status_code == 200
    assert response.data == b""
    assert response.content_type == full.content_type
    assert _vary(response) == _vary(full)


def test_head_description_and_errors(client):
    response = client.head("/sparql")
    assert response.status_code == 200 and response.data == b""
    assert response.mimetype == "text/turtle"
    assert client.head("/sparql?query=SELEC").status_code == 400


def test_json_results_are_valid_utf8_json(client):
    raw = get(client, SELECT5).data
    assert "Café".encode() in raw  # not \u00e9-escaped
    assert json.loads(raw.decode("utf-8"))["head"]["vars"] == ["s", "label"]
