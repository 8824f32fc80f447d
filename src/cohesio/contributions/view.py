"""The published graph as a change sees it: canonical IRIs, data graphs only, before or after.

Changes are computed and validated in canonical IRIs (those of ``data/`` and of the shapes), while
a deployment may publish under another base; this view translates at the boundary, and hides the
graphs that describe the data rather than being it (history, VoID).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import pyoxigraph as ox

from cohesio.config import CANONICAL_BASE_IRI
from cohesio.contributions.history import CONTRIBUTIONS_GRAPH, HISTORY_GRAPH

#: Graphs a change may remove triples from; added triples always go to the contributions graph.
EDITABLE_GRAPHS = ("guide", "editorial", CONTRIBUTIONS_GRAPH)
#: Graphs that are not data: never read as the state a change applies to.
NON_DATA_GRAPHS = (HISTORY_GRAPH, "meta")

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

Term = ox.NamedNode | ox.BlankNode | ox.Literal


class StoreView:
    """Read access to a published store in canonical IRIs, optionally with a change applied."""

    def __init__(self, store: ox.Store, base_iri: str = CANONICAL_BASE_IRI,
                 added: Iterable[ox.Quad] = (), removed: Iterable[ox.Quad] = ()) -> None:
        self.store = store
        self.base_iri = base_iri
        self._skip = {ox.NamedNode(f"{base_iri}graph/{name}") for name in NON_DATA_GRAPHS}
        self.added = set(added)
        self.removed = set(removed)
        self._removed_triples = {(q.subject, q.predicate, q.object) for q in self.removed}

    def after(self, added: Iterable[ox.Quad], removed: Iterable[ox.Quad]) -> "StoreView":
        return StoreView(self.store, self.base_iri, added, removed)

    # ------------------------------------------------------------------ IRIs
    def to_store(self, term):
        if self.base_iri != CANONICAL_BASE_IRI and isinstance(term, ox.NamedNode) \
                and term.value.startswith(CANONICAL_BASE_IRI):
            return ox.NamedNode(self.base_iri + term.value[len(CANONICAL_BASE_IRI):])
        return term

    def to_canonical(self, term):
        if self.base_iri != CANONICAL_BASE_IRI and isinstance(term, ox.NamedNode) \
                and term.value.startswith(self.base_iri):
            return ox.NamedNode(CANONICAL_BASE_IRI + term.value[len(self.base_iri):])
        return term

    def quad_to_store(self, quad: ox.Quad) -> ox.Quad:
        return ox.Quad(*(self.to_store(t) for t in (quad.subject, quad.predicate, quad.object, quad.graph_name)))

    # ------------------------------------------------------------------ reading
    def quads(self, subject=None, predicate=None, obj=None) -> Iterator[ox.Quad]:
        """Quads of the data graphs matching the pattern (canonical), with the change applied."""
        pattern = [None if t is None else self.to_store(t) for t in (subject, predicate, obj)]
        seen: set[tuple] = set()
        for quad in self.store.quads_for_pattern(*pattern, None):
            if quad.graph_name in self._skip or isinstance(quad.graph_name, ox.DefaultGraph):
                continue
            canon = ox.Quad(*(self.to_canonical(t) for t in (quad.subject, quad.predicate, quad.object,
                                                               quad.graph_name)))
            if canon in self.removed:
                continue
            seen.add((canon.subject, canon.predicate, canon.object))
            yield canon
        for quad in self.added:
            if (subject is None or quad.subject == subject) and (predicate is None or quad.predicate == predicate) \
                    and (obj is None or quad.object == obj) and (quad.subject, quad.predicate, quad.object) not in seen:
                yield quad

    def triples(self, subject=None, predicate=None, obj=None) -> set[tuple[Term, Term, Term]]:
        return {(q.subject, q.predicate, q.object) for q in self.quads(subject, predicate, obj)}

    def exists(self, node) -> bool:
        return next(iter(self.quads(node, RDF_TYPE, None)), None) is not None
