"""The SPARQL 1.1 Service Description answered by ``GET /sparql`` without a query."""

from __future__ import annotations

from flask import Response, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from cohesio.sparql import formats

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS_NS = Namespace("http://www.w3.org/ns/formats/")
VOID = Namespace("http://rdfs.org/ns/void#")
DCT = Namespace("http://purl.org/dc/terms/")

#: W3C format IRIs (https://www.w3.org/ns/formats/) of what the endpoint can write.
RESULT_FORMAT_IRIS = {
    "json": FORMATS_NS.SPARQL_Results_JSON,
    "xml": FORMATS_NS.SPARQL_Results_XML,
    "csv": FORMATS_NS.SPARQL_Results_CSV,
    "tsv": FORMATS_NS.SPARQL_Results_TSV,
    "turtle": FORMATS_NS.Turtle,
    "ntriples": FORMATS_NS["N-Triples"],
    "rdfxml": FORMATS_NS.RDF_XML,
    "jsonld": FORMATS_NS["JSON-LD"],
}

RDFLIB_FORMAT = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "jsonld": "json-ld"}


def build(endpoint_url: str, graphs: list[str], version: str, void_url: str | None) -> Graph:
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    g.bind("dct", DCT)
    service = URIRef(endpoint_url)
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, service))
    g.add((service, RDFS.label, Literal("Point d'accès SPARQL de cohesio", lang="fr")))
    g.add((service, RDFS.label, Literal("cohesio SPARQL endpoint", lang="en")))
    g.add((service, RDFS.comment, Literal(
        "Lecture seule. Pas de requête fédérée (SERVICE). Chaque requête est bornée en temps et en nombre de lignes.",
        lang="fr")))
    g.add((service, RDFS.comment, Literal(
        "Read-only. No federated query (SERVICE). Every query is bounded in time and in rows.", lang="en")))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    for iri in RESULT_FORMAT_IRIS.values():
        g.add((service, SD.resultFormat, iri))
    dataset = BNode("dataset")
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, DCT.hasVersion, Literal(version)))
    default = BNode("defaultGraph")
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, RDFS.comment, Literal("L'union de tous les graphes nommés.", lang="fr")))
    g.add((default, RDFS.comment, Literal("The union of all the named graphs.", lang="en")))
    for index, graph in enumerate(graphs):
        named = BNode(f"named{index}")
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(graph)))
    if void_url:
        g.add((service, RDFS.seeAlso, URIRef(void_url)))
    return g


def respond(backend, settings, format_param: str | None) -> Response:
    """The description in the negotiated RDF format; a browser gets the query editor instead."""
    from cohesio.web.negotiation import negotiate

    if not format_param:
        accept = request.accept_mimetypes
        if accept and accept.best_match(["text/turtle", "text/html"]) == "text/html" and \
                accept["text/html"] > accept["text/turtle"]:
            from cohesio.web.editor import editor_page

            return editor_page()
    fmt = negotiate(formats.GRAPH_FORMATS, format_param)
    endpoint_url = request.base_url
    void_url = request.host_url.rstrip("/") + "/.well-known/void"
    graph = build(endpoint_url, backend.graphs(), backend.version, void_url)
    body = graph.serialize(format=RDFLIB_FORMAT[fmt.name], encoding="utf-8")
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept, Origin"  # Origin: CORS may echo the caller's origin
    return response
