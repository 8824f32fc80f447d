"""Incremental SHACL validation of a change: the touched resources and their neighbours only.

Validating the whole graph for each change would cost minutes at national scale. The shapes only
look a short way from the resource they check: its own triples, the type and scheme of what it
links to (``sh:class``, ``sh:node``, dangling links), and, for uniqueness rules, the other resources
sharing one of its codes. So the graph handed to pyshacl holds, *as it would be after the change*:

* the focus: every subject the change adds or removes triples of, and — when a resource loses its
  type or scheme — every resource that links to it (its links may now dangle);
* everything the focus says, and everything said about what it links to (one hop);
* for each code of the focus (SIREN, INSEE code, notation), the other resources with that code;
* the class hierarchy of the ontology (``sh:class`` follows ``rdfs:subClassOf``).

Results about context nodes are dropped: their own neighbourhood is incomplete by design, and they
are not what changed. What is kept is exactly what a full validation would say about the focus.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox

from cohesio.config import CANONICAL_BASE_IRI
from cohesio.contributions.view import RDF_TYPE, StoreView
from cohesio.validation import Report, load_shapes, validate

SUBCLASS = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")
IN_SCHEME = ox.NamedNode("http://www.w3.org/2004/02/skos/core#inScheme")
#: Properties whose value must be unique among resources of a kind (see the shapes' SPARQL checks).
KEYS = tuple(ox.NamedNode(i) for i in (
    CANONICAL_BASE_IRI + "ontology#siren",
    "http://www.w3.org/2004/02/skos/core#notation",
    "http://rdf.insee.fr/def/geo#codeINSEE",
))

_shapes_cache: dict[tuple[str, float], object] = {}


def shapes_graph(path: Path):
    """The parsed shapes, kept across changes (parsing them costs more than validating a change)."""
    key = (str(path), path.stat().st_mtime)
    if key not in _shapes_cache:
        _shapes_cache.clear()
        _shapes_cache[key] = load_shapes(path)
    return _shapes_cache[key]


def neighbourhood(view: StoreView, added: set[ox.Quad], removed: set[ox.Quad]) -> tuple[set, ox.Store]:
    """The focus nodes of a change and the graph (after the change) that validating them needs."""
    after = view.after(added, removed)
    focus = {q.subject for q in added | removed}
    # A resource that loses a type or a scheme may no longer be what the resources linking to it
    # need (sh:class, sh:node, dangling links): they are checked again too.
    for node in {q.subject for q in removed if q.predicate in (RDF_TYPE, IN_SCHEME)}:
        focus |= {q.subject for q in after.quads(None, None, node)}

    triples: set[tuple] = set()
    described: dict = {}

    def describe(node) -> set[tuple]:
        if node not in described:
            described[node] = after.triples(node)
            triples.update(described[node])
        return described[node]

    for node in list(focus):
        for _s, p, o in describe(node):
            if isinstance(o, (ox.NamedNode, ox.BlankNode)):
                describe(o)
            elif p in KEYS:
                for other in after.triples(None, p, o):
                    describe(other[0])
    for quad in view.store.quads_for_pattern(None, view.to_store(SUBCLASS), None, None):
        triples.add((view.to_canonical(quad.subject), SUBCLASS, view.to_canonical(quad.object)))

    store = ox.Store()
    store.extend(ox.Quad(s, p, o) for s, p, o in triples)
    return focus, store


def check(view: StoreView, added: set[ox.Quad], removed: set[ox.Quad], shapes_path: Path,
          lang: str = "en") -> Report:
    """Validate the change; the report lists only results about the focus nodes."""
    focus, graph = neighbourhood(view, added, removed)
    report = validate(graph, shapes=shapes_graph(shapes_path), lang=lang)
    names = {str(n)[1:-1] if isinstance(n, ox.NamedNode) else f"_:{n.value}" for n in focus}
    kept = tuple(v for v in report.violations if v.focus in names)
    return replace(report, violations=kept, conforms=not any(v.severity == "Violation" for v in kept),
                   labels={k: v for k, v in report.labels.items() if k in names})
