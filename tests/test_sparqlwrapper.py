"""SPARQLWrapper, a real SPARQL client, against the real server (``cohesio serve``: gunicorn) over HTTP.

Every result format, GET and POST (form-encoded and direct), with the parsed values checked,
accents included. SPARQLWrapper also sends its own ``format``/``output``/``results`` parameters
(``rdf+xml``, ``json-ld``, ``xml`` for a CONSTRUCT…), so these tests hold the endpoint to what
clients really send, not only to the protocol text.
"""

from __future__ import annotations

import csv
import io
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
import rdflib
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, URLENCODED, XML, GET
from SPARQLWrapper import SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

pytestmark = [
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:not detected query type:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:unknown query type:RuntimeWarning"),
]

PREFIXES = ("PREFIX coh: <https://w3id.org/cohesio/ontology#>\n"
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n")
SELECT = PREFIXES + """SELECT ?s ?label ?rank WHERE {
  ?s a coh:Initiative ; rdfs:label ?label ; coh:rank ?rank .
} ORDER BY ?rank LIMIT 6"""
CONSTRUCT = PREFIXES + """CONSTRUCT { ?s rdfs:label ?label } WHERE {
  ?s a coh:Initiative ; rdfs:label ?label ; coh:rank ?rank . FILTER(?rank <= 6)
}"""
EXPECTED_LABELS = ["Café des âges", "Jardin partagé de la Croix-Rousse", "Maison de l'œuvre commune",
                   "Garçons et filles du quartier", "Épicerie solidaire", "Cœur de village"]
CID = "https://w3id.org/cohesio/id/initiative/"
METHODS = {"GET": (GET, URLENCODED), "POST form": (POST, URLENCODED), "POST direct": (POST, POSTDIRECTLY)}


def wrapper(live_server, query, fmt, method, only_conneg=False) -> SPARQLWrapper:
    sparql = SPARQLWrapper(live_server + "/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    http_method, request_method = METHODS[method]
    sparql.setMethod(http_method)
    sparql.setRequestMethod(request_method)
    sparql.setOnlyConneg(only_conneg)
    sparql.setTimeout(20)
    return sparql


@pytest.fixture(params=list(METHODS))
def method(request):
    return request.param


# ------------------------------------------------------------------ SELECT


@pytest.mark.parametrize("only_conneg", [False, True], ids=["with format params", "conneg only"])
def test_select_json(live_server, method, only_conneg):
    result = wrapper(live_server, SELECT, JSON, method, only_conneg).query()
    assert result.info()["content-type"] == "application/sparql-results+json; charset=utf-8"
    data = result.convert()
    assert data["head"]["vars"] == ["s", "label", "rank"]
    rows = data["results"]["bindings"]
    assert [r["label"]["value"] for r in rows] == EXPECTED_LABELS
    assert rows[0]["label"]["xml:lang"] == "fr"
    assert rows[0]["s"] == {"type": "uri", "value": CID + "i01"}
    assert rows[0]["rank"] == {"type": "literal", "value": "1",
                               "datatype": "http://www.w3.org/2001/XMLSchema#integer"}


def test_select_xml(live_server, method):
    doc = wrapper(live_server, SELECT, XML, method).query().convert()
    results = doc.getElementsByTagName("result")
    assert len(results) == 6
    labels = []
    for result in results:
        for binding in result.getElementsByTagName("binding"):
            if binding.getAttribute("name") == "label":
                literal = binding.getElementsByTagName("literal")[0]
                assert literal.getAttribute("xml:lang") == "fr"
                labels.append(literal.firstChild.data)
    assert labels == EXPECTED_LABELS


def test_select_csv(live_server, method):
    result = wrapper(live_server, SELECT, CSV, method).query()
    assert result.info()["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(result.convert().decode("utf-8"))))
    assert [r["label"] for r in rows] == EXPECTED_LABELS
    assert rows[0]["s"] == CID + "i01" and rows[0]["rank"] == "1"


def test_select_tsv(live_server, method):
    result = wrapper(live_server, SELECT, TSV, method).query()
    assert result.info()["content-type"] == "text/tab-separated-values; charset=utf-8"
    lines = result.convert().decode("utf-8").splitlines()
    assert lines[0].split("\t") == ["?s", "?label", "?rank"]
    first = lines[1].split("\t")
    assert first[0] == f"<{CID}i01>"
    assert first[1] == '"Café des âges"@fr'
    assert [line.split("\t")[1] for line in lines[1:]] == [f'"{label}"@fr' for label in EXPECTED_LABELS]


# ------------------------------------------------------------------ ASK


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_ask(live_server, method, fmt):
    query = PREFIXES + 'ASK { ?s rdfs:label "Ça bouge à Œuilly"@fr }'
    result = wrapper(live_server, query, fmt, method).query().convert()
    if fmt == JSON:
        assert result["boolean"] is True
    else:
        assert result.getElementsByTagName("boolean")[0].firstChild.data == "true"
    query = PREFIXES + 'ASK { ?s rdfs:label "Ca bouge a Oeuilly"@fr }'
    result = wrapper(live_server, query, JSON, method).query().convert()
    assert result["boolean"] is False


# ------------------------------------------------------------------ CONSTRUCT


def _expected_graph_ok(graph: rdflib.Graph) -> None:
    labels = {str(o) for o in graph.objects(None, rdflib.RDFS.label)}
    assert labels == set(EXPECTED_LABELS)
    assert (rdflib.URIRef(CID + "i06"), rdflib.RDFS.label, rdflib.Literal("Cœur de village", lang="fr")) in graph


@pytest.mark.parametrize("only_conneg", [False, True], ids=["with format params", "conneg only"])
@pytest.mark.parametrize(
    "fmt,content_type,parse_as",
    [
        (TURTLE, "text/turtle", "turtle"),
        (N3, "text/turtle", "turtle"),  # SPARQLWrapper's N3 asks for Turtle/N-Triples
        (RDFXML, "application/rdf+xml", None),
        (XML, "application/rdf+xml", None),  # SPARQLWrapper's default format, for a CONSTRUCT
        (JSONLD, "application/ld+json", None),
    ],
    ids=["turtle", "n3", "rdfxml", "xml-default", "jsonld"],
)
def test_construct(live_server, method, fmt, content_type, parse_as, only_conneg):
    result = wrapper(live_server, CONSTRUCT, fmt, method, only_conneg).query()
    assert result.info()["content-type"] == f"{content_type}; charset=utf-8"
    converted = result.convert()
    if parse_as:  # SPARQLWrapper hands Turtle back as bytes
        graph = rdflib.Graph().parse(data=converted.decode("utf-8"), format=parse_as)
    else:  # RDF/XML and JSON-LD come back parsed by rdflib
        graph = converted
    assert len(graph) == 6
    _expected_graph_ok(graph)


def test_construct_ntriples(live_server, method):
    sparql = wrapper(live_server, CONSTRUCT, N3, method, only_conneg=True)
    sparql.addCustomHttpHeader("Accept", "application/n-triples")
    result = sparql.query()
    assert result.info()["content-type"] == "application/n-triples; charset=utf-8"
    text = result.convert().decode("utf-8")
    assert f'<{CID}i01> <http://www.w3.org/2000/01/rdf-schema#label> "Café des âges"@fr .' in text.splitlines()
    _expected_graph_ok(rdflib.Graph().parse(data=text, format="nt"))


def test_describe(live_server):
    sparql = wrapper(live_server, f"DESCRIBE <{CID}i03>", TURTLE, "GET")
    graph = rdflib.Graph().parse(data=sparql.query().convert().decode("utf-8"), format="turtle")
    assert rdflib.Literal("Maison de l'œuvre commune", lang="fr") in set(graph.objects())


# ------------------------------------------------------------------ errors, description, concurrency


def test_syntax_error_reaches_the_client(live_server):
    sparql = wrapper(live_server, "SELEC * WHERE { ?s ?p ?o }", JSON, "GET")
    with pytest.raises(QueryBadFormed) as error:
        sparql.query()
    assert "1:" in str(error.value)


def test_update_refused_over_http(live_server):
    sparql = SPARQLWrapper(live_server + "/sparql")
    sparql.setQuery("INSERT DATA { <urn:s> <urn:p> <urn:o> }")
    sparql.setMethod(POST)
    with pytest.raises(Exception) as error:
        sparql.query()
    assert "403" in str(error.value) or "read-only" in str(error.value)


def test_service_description_names_the_live_endpoint(live_server):
    request = urllib.request.Request(live_server + "/sparql", headers={"Accept": "text/turtle"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Type"] == "text/turtle; charset=utf-8"
        graph = rdflib.Graph().parse(data=answer.read().decode("utf-8"), format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert set(graph.subjects(sd.endpoint, rdflib.URIRef(live_server + "/sparql")))
    named = list(graph.subjects(rdflib.RDF.type, sd.NamedGraph))
    assert len(named) == 6 and all(graph.value(n, sd.name) for n in named)


HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"


def test_live_server_answers_others_during_a_heavy_query(live_server):
    """Through gunicorn: a heavy query is stopped with a 503 at the time bound (3 s here) while
    another client's quick query is answered at once."""
    done: dict[str, float] = {}
    status: list = []

    def heavy() -> None:
        url = live_server + "/sparql?" + urlencode({"query": HEAVY})
        try:
            urllib.request.urlopen(url, timeout=20)
            status.append(200)
        except urllib.error.HTTPError as error:
            status.append((error.code, error.read().decode("utf-8")))
        done["heavy"] = time.monotonic()

    thread = threading.Thread(target=heavy)
    started = time.monotonic()
    thread.start()
    time.sleep(0.3)
    quick_started = time.monotonic()
    sparql = wrapper(live_server, PREFIXES + 'ASK { ?s rdfs:label "Besançon"@fr }', JSON, "GET")
    assert sparql.query().convert()["boolean"] is True
    done["quick"] = time.monotonic()
    thread.join(timeout=30)
    assert done["quick"] - quick_started < 1.5
    assert done["quick"] < done["heavy"]
    code, body = status[0]
    assert code == 503
    assert "La requête a dépassé la limite de 3 secondes" in body and "The query ran past the 3-second" in body
    assert done["heavy"] - started < 3 + 4
