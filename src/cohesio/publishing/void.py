"""VoID: statistics computed at build time, the description written from them.

Counts are those the SPARQL endpoint gives over the data graphs (every named graph but
``<base>graph/meta``, which holds this very description): ``void:triples`` is
``SELECT (COUNT(*) AS ?n) FROM <g>… WHERE { ?s ?p ?o }`` — a triple stated in two graphs counts
once per graph, as the endpoint counts it; a class partition's ``void:entities`` is the number of
distinct instances, a property partition's ``void:triples`` the number of triples using it.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, XSD

from cohesio.namespaces import PREFIXES
from cohesio.publishing import Metadata

VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")

#: How many example resources to name, and of which classes (local names of the ontology).
EXAMPLES = 3


def _from(graphs: list[str]) -> list[ox.NamedNode]:
    return [ox.NamedNode(g) for g in graphs]


def compute_statistics(store: ox.Store, data_graphs: list[str], base_iri: str) -> dict[str, Any]:
    """The numbers of the VoID description, with the queries the endpoint would answer them with."""
    default = _from(data_graphs)

    def select(text: str) -> list[ox.QuerySolution]:
        return list(store.query(text, default_graph=default))

    graphs = {}
    for graph in data_graphs:
        graphs[graph] = int(next(iter(store.query(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")))["n"].value)
    total = int(select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"].value)
    row = select("SELECT (COUNT(DISTINCT ?s) AS ?s_) (COUNT(DISTINCT ?o) AS ?o_) WHERE { ?s ?p ?o }")[0]
    space = f"{base_iri}id/"
    entities = int(select(
        f'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{space}")) }}'
    )[0]["n"].value)
    classes = {
        s["c"].value: int(s["n"].value)
        for s in select("SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c")
    }
    properties = {
        s["p"].value: int(s["n"].value)
        for s in select("SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p")
    }
    initiative = f"{base_iri}ontology#Initiative"
    examples = [s["s"].value for s in select(
        f"SELECT DISTINCT ?s WHERE {{ ?s a <{initiative}> }} ORDER BY ?s LIMIT {EXAMPLES}")]
    if not examples:
        examples = [s["s"].value for s in select(
            f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{space}")) }} ORDER BY ?s LIMIT {EXAMPLES}')]
    vocabularies = sorted({ns for iri in list(classes) + list(properties) for ns in _namespace(iri, base_iri)})
    return {
        "triples": total,
        "graphs": graphs,
        "distinct_subjects": int(row["s_"].value),
        "distinct_objects": int(row["o_"].value),
        "entities": entities,
        "uri_space": space,
        "classes": dict(sorted(classes.items())),
        "properties": dict(sorted(properties.items())),
        "examples": examples,
        "vocabularies": vocabularies,
    }


def _namespace(iri: str, base_iri: str) -> list[str]:
    known = dict(PREFIXES)
    known["coh"] = f"{base_iri}ontology#"
    matches = [ns for ns in known.values() if iri.startswith(ns)]
    if matches:
        return [max(matches, key=len)]
    for sep in ("#", "/"):
        if sep in iri[8:]:
            return [iri[: iri.rindex(sep) + 1]]
    return []


def build_void(metadata: Metadata, artefacts: dict[str, Any], service_root: str,
               modified: str | None = None) -> Graph:
    """The VoID description of the dataset. ``service_root`` locates the endpoint and dumps."""
    stats = artefacts["void"]
    g = Graph()
    g.bind("void", VOID)
    g.bind("dct", DCTERMS)
    g.bind("foaf", FOAF)
    dataset = URIRef(metadata.dataset_iri)
    info = metadata.dataset
    g.add((dataset, RDF.type, VOID.Dataset))
    for lang in ("fr", "en"):
        if info.get("title", {}).get(lang):
            g.add((dataset, DCTERMS.title, Literal(info["title"][lang], lang=lang)))
        if info.get("description", {}).get(lang):
            g.add((dataset, DCTERMS.description, Literal(info["description"][lang], lang=lang)))
    if info.get("licence"):
        g.add((dataset, DCTERMS.license, URIRef(info["licence"])))
    publisher = metadata.publisher
    if publisher.get("iri"):
        g.add((dataset, DCTERMS.publisher, URIRef(publisher["iri"])))
    if modified:
        g.add((dataset, DCTERMS.modified, Literal(modified, datatype=XSD.dateTime)))
    if info.get("landing_page"):
        g.add((dataset, FOAF.homepage, URIRef(info["landing_page"])))
    g.add((dataset, VOID.sparqlEndpoint, URIRef(f"{service_root}sparql")))
    for dump in artefacts["dumps"]:
        if dump["key"] != "csv":
            g.add((dataset, VOID.dataDump, URIRef(f"{service_root}dumps/latest/{dump['name']}")))
    g.add((dataset, VOID.uriSpace, Literal(stats["uri_space"])))
    for example in stats["examples"]:
        g.add((dataset, VOID.exampleResource, URIRef(example)))
    for vocabulary in stats["vocabularies"]:
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    g.add((dataset, VOID.feature, URIRef("http://www.w3.org/ns/formats/Turtle")))
    g.add((dataset, VOID.feature, URIRef("http://www.w3.org/ns/formats/N-Triples")))
    g.add((dataset, VOID.feature, URIRef("http://www.w3.org/ns/formats/JSON-LD")))
    g.add((dataset, VOID.triples, Literal(stats["triples"], datatype=XSD.integer)))
    g.add((dataset, VOID.entities, Literal(stats["entities"], datatype=XSD.integer)))
    g.add((dataset, VOID.distinctSubjects, Literal(stats["distinct_subjects"], datatype=XSD.integer)))
    g.add((dataset, VOID.distinctObjects, Literal(stats["distinct_objects"], datatype=XSD.integer)))
    g.add((dataset, VOID.classes, Literal(len(stats["classes"]), datatype=XSD.integer)))
    g.add((dataset, VOID.properties, Literal(len(stats["properties"]), datatype=XSD.integer)))
    # One subset per named graph: the graph's name is the subset's IRI.
    for graph, count in stats["graphs"].items():
        subset = URIRef(graph)
        g.add((dataset, VOID.subset, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, SD.name, subset))
        g.add((subset, VOID.triples, Literal(count, datatype=XSD.integer)))
        g.add((subset, VOID.sparqlEndpoint, URIRef(f"{service_root}sparql")))
    for index, (cls, count) in enumerate(stats["classes"].items()):
        part = BNode(f"class{index}")
        g.add((dataset, VOID.classPartition, part))
        g.add((part, VOID["class"], URIRef(cls)))
        g.add((part, VOID.entities, Literal(count, datatype=XSD.integer)))
    for index, (prop, count) in enumerate(stats["properties"].items()):
        part = BNode(f"property{index}")
        g.add((dataset, VOID.propertyPartition, part))
        g.add((part, VOID.property, URIRef(prop)))
        g.add((part, VOID.triples, Literal(count, datatype=XSD.integer)))
    return g
