"""SHACL validation of a large graph in bounded pieces: a few thousand resources at a time.

Why: pyshacl holds the data graph, its indexes and its report in memory, and a build used to hand it
every edited triple at once (6.5 GiB at 1.85M triples, growing linearly: a national graph of 10M
triples could not be validated on a 23 GiB machine). The shapes, though, only ever look a short way
from the resource they check, so each resource can be validated with a small graph around it:

* its own triples (every edited graph, and the geography for a territory);
* everything said about what it links to (one hop: ``sh:class``, ``sh:node``, dangling links);
* everything said about the resources that link to it through a predicate the shapes follow
  backwards (``sh:inversePath``, ``sh:targetObjectsOf``);
* everything said about the resources sharing one of its key values (uniqueness rules: SIREN,
  INSEE code, notation);
* the whole ``rdfs:subClassOf`` hierarchy (``sh:targetClass`` and ``sh:class`` follow it).

Which predicates are keys and which are followed backwards is *read from the shapes*
(:func:`shapes_reach`), which also lists every constraint this neighbourhood cannot answer exactly
(a path of two steps, a SPARQL pattern about a resource two hops away…). When there is one, the
callers validate everything in one piece, as before, rather than risk missing a violation.

The same neighbourhood serves two callers: the contributions guard (the resources one change
touches) and the build (every resource of the edited graphs, :func:`validate_in_chunks`). Results
about the neighbours are dropped: their own neighbourhood is incomplete by design. Results about a
node that is nobody's subject (a target of ``sh:targetNode``/``sh:targetObjectsOf`` with no triples of
its own) are kept from whichever piece produced them.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyoxigraph as ox
import rdflib
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.paths import MulPath, Path, SequencePath
from rdflib.term import Variable

from cohesio.config import CANONICAL_BASE_IRI
from cohesio.validation import Report, Violation, report_of, validate

__all__ = [
    "CHUNK_SUBJECTS",
    "Reach",
    "shapes_reach",
    "TripleSource",
    "Neighbourhood",
    "neighbourhood",
    "validate_focus",
    "StoredGraphs",
    "ChunkedValidation",
    "validate_in_chunks",
    "node_id",
]

log = logging.getLogger(__name__)

#: Resources (subjects) validated together. Large enough that pyshacl's fixed cost per run and the
#: neighbours validated for nothing stay small, small enough that a piece's graph stays a few tens of
#: MB whatever the size of the whole (measured: see docs/performance.md).
CHUNK_SUBJECTS = 2_000

SUBCLASS = ox.NamedNode(str(RDFS.subClassOf))

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Triple = tuple[Term, Term, Term]


# --------------------------------------------------------------------------------------------------
# What the shapes read
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """What validating a resource reads beyond its own triples and those of what it links to.

    ``keys``: groups of predicates through which a rule compares a resource with the others (a
    uniqueness rule: the others with the same SIREN); a rule joining on several (same notation *and*
    same scheme) gives one group, any predicate of which finds every resource the rule can match, so
    the most selective one is used. ``inverse``: predicates followed from object to subject.
    ``problems``: the constraints a one-hop neighbourhood cannot answer exactly, in words (empty:
    the pieces are exact).
    """

    keys: frozenset[frozenset[ox.NamedNode]] = frozenset()
    inverse: frozenset[ox.NamedNode] = frozenset()
    problems: tuple[str, ...] = ()
    #: Some shape targets nodes that need not be anybody's subject (sh:targetNode,
    #: sh:targetObjectsOf): the targets of a piece are then not restricted to its resources.
    targets_objects: bool = False


#: Components that look at the value nodes themselves (or at their number) and at nothing else.
_VALUE_ONLY = {
    SH.datatype, SH.nodeKind, SH.pattern, SH.flags, SH.languageIn, SH["in"], SH.hasValue,
    SH.minLength, SH.maxLength, SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive,
    SH.minCount, SH.maxCount, SH.uniqueLang, SH.qualifiedMinCount, SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint,
}
#: Components that compare the values of two paths of the same node (its own triples).
_PAIRS = {SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals}
#: Parameters that are not constraints: names, messages, severities, declarations, targets.
_NOT_CONSTRAINTS = {
    RDF.type, RDFS.label, RDFS.comment, RDFS.subClassOf, SH.name, SH.description, SH.message,
    SH.severity, SH.deactivated, SH.order, SH.group, SH.defaultValue, SH.path, SH.targetClass,
    SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target, SH.declare, SH.prefixes,
    SH.ignoredProperties, SH.closed,
}
_LISTS = (SH["and"], SH["or"], SH.xone)
_SHAPE_VALUED = (SH.node, SH["not"], SH.qualifiedValueShape)


def shapes_reach(shapes: Graph) -> Reach:
    """Read the shapes: the keys and backward links a resource's neighbourhood must hold, and what
    it cannot hold.

    Depth counts hops from the resource a top-level shape targets (0). The neighbourhood holds every
    triple of the nodes at depth 0 and 1, so a constraint may read the triples of a node at depth at
    most 1: ``sh:class`` on the values of a property of the focus is fine, ``sh:class`` on the values
    of a property of one of those values is not. SPARQL constraints and targets are parsed and each of
    their triple patterns checked the same way. Anything not understood is a problem: the caller
    then validates in one piece.
    """
    keys: set[frozenset[ox.NamedNode]] = set()
    inverse: set[ox.NamedNode] = set()
    problems: list[str] = []
    seen: set[tuple] = set()

    def name(node) -> str:
        return node.n3(shapes.namespace_manager) if isinstance(node, URIRef) else f"[{node}]"

    def sparql(owner, constraint, what: str, depth: int) -> None:
        if depth > 0:
            problems.append(f"{name(owner)}: SPARQL {what} on a node {depth} hop(s) from the focus")
            return
        text = shapes.value(constraint, SH.select) or shapes.value(constraint, SH.ask)
        if text is None:
            problems.append(f"{name(owner)}: SPARQL {what} without sh:select")
            return
        for problem in _sparql_reach(str(text), _prefixes(shapes, constraint), keys, inverse):
            problems.append(f"{name(owner)}: {problem}")

    def node_shape(shape, depth: int) -> None:
        """``shape`` evaluated on a node at ``depth`` hops from the focus."""
        if shapes.value(shape, SH.path) is not None:
            property_shape(shape, depth)
            return
        if (shape, depth) in seen:
            return
        seen.add((shape, depth))
        for p, o in shapes.predicate_objects(shape):
            if p in _NOT_CONSTRAINTS or p in _VALUE_ONLY:
                if p == SH.closed and depth > 1:
                    problems.append(f"{name(shape)}: sh:closed on a node {depth} hops away")
                continue
            if p == SH.path:
                continue
            if p == SH["class"]:
                if depth > 1:
                    problems.append(f"{name(shape)}: sh:class on a node {depth} hops away")
            elif p in _SHAPE_VALUED:
                node_shape(o, depth)
            elif p in _LISTS:
                for member in rdflib.collection.Collection(shapes, o):
                    node_shape(member, depth)
            elif p == SH.property:
                property_shape(o, depth)
            elif p == SH.sparql:
                sparql(shape, o, "constraint", depth)
            elif p in _PAIRS:
                if depth > 1:
                    problems.append(f"{name(shape)}: {name(p)} on a node {depth} hops away")
            else:
                problems.append(f"{name(shape)}: {name(p)} is not analysed")

    def property_shape(shape, depth: int) -> None:
        """``shape`` (with sh:path) evaluated on a node at ``depth``: its values are at depth + 1."""
        if (shape, depth, "path") in seen:
            return
        seen.add((shape, depth, "path"))
        path = shapes.value(shape, SH.path)
        if path is None:
            problems.append(f"{name(shape)}: a property shape without sh:path")
            return
        if isinstance(path, URIRef):
            steps = [path]
        elif shapes.value(path, SH.alternativePath) is not None:
            steps = list(rdflib.collection.Collection(shapes, shapes.value(path, SH.alternativePath)))
        else:
            steps = [path]
        for step in steps:
            backward = shapes.value(step, SH.inversePath) if isinstance(step, BNode) else None
            if isinstance(step, URIRef):
                if depth > 1:
                    problems.append(f"{name(shape)}: path {name(step)} from a node {depth} hops away")
            elif isinstance(backward, URIRef) and depth == 0:
                inverse.add(ox.NamedNode(str(backward)))
            else:
                problems.append(f"{name(shape)}: path {_path_words(shapes, step)} is not one step from the focus")
        # The property shape's own constraints apply to its values, one hop further.
        for p, o in shapes.predicate_objects(shape):
            if p in _NOT_CONSTRAINTS or p in _VALUE_ONLY or p in _PAIRS:
                continue
            if p == SH["class"]:
                if depth + 1 > 1:
                    problems.append(f"{name(shape)}: sh:class on values {depth + 1} hops away")
            elif p in _SHAPE_VALUED:
                node_shape(o, depth + 1)
            elif p in _LISTS:
                for member in rdflib.collection.Collection(shapes, o):
                    node_shape(member, depth + 1)
            elif p == SH.property:
                property_shape(o, depth + 1)
            elif p == SH.sparql:
                sparql(shape, o, "constraint", depth)
            else:
                problems.append(f"{name(shape)}: {name(p)} is not analysed")

    top = set(shapes.subjects(SH.targetClass, None)) | set(shapes.subjects(SH.targetNode, None)) \
        | set(shapes.subjects(SH.targetSubjectsOf, None)) | set(shapes.subjects(SH.targetObjectsOf, None)) \
        | set(shapes.subjects(SH.target, None))
    for kind in (RDFS.Class, OWL.Class):  # implicit class targets
        top |= {s for s in shapes.subjects(RDF.type, kind) if (s, RDF.type, SH.NodeShape) in shapes
                or (s, RDF.type, SH.PropertyShape) in shapes}
    for shape in sorted(top, key=str):
        if shapes.value(shape, SH.deactivated) == rdflib.Literal(True):
            continue
        for predicate in shapes.objects(shape, SH.targetObjectsOf):
            inverse.add(ox.NamedNode(str(predicate)))
        for target in shapes.objects(shape, SH.target):
            if (target, RDF.type, SH.SPARQLTarget) in shapes:
                sparql(shape, target, "target", 0)
            else:
                problems.append(f"{name(shape)}: a target of a kind not analysed")
        node_shape(shape, 0)
    for kind in (SH.rule, SH.condition, SH.expression, SH.js, SH.jsFunctionName):
        for shape, _ in shapes.subject_objects(kind):
            problems.append(f"{name(shape)}: {name(kind)} is not analysed")
    if (None, RDF.type, SH.ConstraintComponent) in shapes:
        problems.append("custom constraint components (sh:ConstraintComponent) are not analysed")
    targets_objects = (None, SH.targetNode, None) in shapes or (None, SH.targetObjectsOf, None) in shapes
    return Reach(frozenset(keys), frozenset(inverse), tuple(sorted(set(problems))), targets_objects)


def _path_words(shapes: Graph, path) -> str:
    try:
        from cohesio.validation import _path_text

        return _path_text(shapes, path) or str(path)
    except Exception:  # noqa: BLE001 - only for a message
        return str(path)


def _prefixes(shapes: Graph, constraint) -> dict[str, str]:
    """The prefixes a SPARQL constraint declares (sh:prefixes → sh:declare)."""
    out: dict[str, str] = {}
    for owner in shapes.objects(constraint, SH.prefixes):
        for declaration in shapes.objects(owner, SH.declare):
            prefix, namespace = shapes.value(declaration, SH.prefix), shapes.value(declaration, SH.namespace)
            if prefix is not None and namespace is not None:
                out[str(prefix)] = str(namespace)
    return out


#: SPARQL algebra whose patterns may bind a variable or not, read another graph or another service:
#: their effect on what a pattern reads is not analysed.
_UNANALYSED = {
    "LeftJoin", "Union", "Minus", "Graph", "ServiceGraphPattern", "ToMultiSet", "SubSelect",
    "OptionalGraphPattern", "GroupOrUnionGraphPattern", "MinusGraphPattern", "GraphGraphPattern",
}
_THIS = Variable("this")


def _sparql_reach(text: str, prefixes: dict[str, str], keys: set, inverse: set) -> list[str]:
    """Check that every triple pattern of a SPARQL constraint or target reads only the neighbourhood.

    A pattern is answerable when its subject is a described node: ``$this``, a variable bound as the
    object of a pattern of ``$this`` (one hop), a variable bound as the subject of a pattern whose
    object is ``$this`` (a backward link: its predicate becomes ``inverse``), or a variable bound as
    the subject of ``?x k ?v`` where ``$this k ?v`` (a shared key value: ``k`` becomes a key). A path
    made of ``rdfs:subClassOf`` is always answerable (the whole hierarchy is in every piece).
    """
    from rdflib.plugins.sparql import prepareQuery

    if "$PATH" in text:
        return ["SPARQL with $PATH is not analysed"]
    try:
        query = prepareQuery(text, initNs=prefixes)
    except Exception as exc:  # noqa: BLE001 - a shape pyshacl would also reject
        return [f"SPARQL that does not parse here ({exc})"]
    problems: list[str] = []

    def scope(node, described: set) -> None:
        top: list[tuple] = []
        nested: list = []

        def walk(item) -> None:
            name = getattr(item, "name", None)
            if name in _UNANALYSED:
                problems.append(f"SPARQL {name} is not analysed")
                return
            if name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                nested.append(item.get("graph"))
                return
            if name in ("BGP", "TriplesBlock"):
                top.extend(tuple(t) for t in item.get("triples") or ())
            if isinstance(item, dict):
                for key, value in item.items():
                    if key != "_vars":
                        walk(value)
            elif isinstance(item, (list, tuple)):
                for value in item:
                    walk(value)

        walk(node)
        known = set(described) | {_THIS}
        for s, p, o in top:
            if s == _THIS and isinstance(o, Variable) and not isinstance(p, Path):
                known.add(o)  # one hop: what the focus links to is described
            elif o == _THIS and isinstance(s, Variable) and isinstance(p, URIRef):
                known.add(s)  # a backward link: its subjects are described
                inverse.add(ox.NamedNode(str(p)))
        shared: dict[Variable, set[ox.NamedNode]] = {}
        for s, p, o in top:
            if isinstance(s, Variable) and s not in known and isinstance(p, URIRef) and isinstance(o, Variable) \
                    and (_THIS, p, o) in top:
                shared.setdefault(s, set()).add(ox.NamedNode(str(p)))
        for s, predicates in shared.items():
            known.add(s)  # shares a value with the focus: the resources with that value are described
            keys.add(frozenset(predicates))
        for s, p, o in top:
            if _subclass_only(p) or (s in known and (not isinstance(p, Path) or _own_then_subclass(p))):
                continue
            shown = p.n3() if not isinstance(p, Path) else str(p)
            problems.append(f"SPARQL pattern {s.n3()} {shown} {o.n3()} reads beyond one hop of the focus")
        for inner in nested:
            scope(inner, known)

    scope(query.algebra, set())
    return problems


def _subclass_only(p) -> bool:
    if p == RDFS.subClassOf:
        return True
    if isinstance(p, MulPath):
        return _subclass_only(p.path)
    if isinstance(p, SequencePath):
        return all(_subclass_only(x) for x in p.args)
    return False


def _own_then_subclass(p) -> bool:
    """``?x a/rdfs:subClassOf* ?c``: the node's own triples, then the (complete) hierarchy."""
    return isinstance(p, SequencePath) and bool(p.args) and isinstance(p.args[0], URIRef) \
        and all(_subclass_only(x) for x in p.args[1:])


# --------------------------------------------------------------------------------------------------
# Neighbourhoods
# --------------------------------------------------------------------------------------------------


class TripleSource(Protocol):
    """Read access to the data being validated, in canonical IRIs (those of the shapes)."""

    def triples(self, subject=None, predicate=None, obj=None) -> set[Triple]:
        """The triples matching the pattern (None: any term)."""
        ...  # pragma: no cover


@dataclass
class Neighbourhood:
    """The graph pyshacl gets for some focus nodes, and how many of its triples are theirs."""

    store: ox.Store
    own_triples: int


def neighbourhood(source: TripleSource, focus: Iterable[Term], reach: Reach) -> Neighbourhood:
    """The focus nodes' triples, and every triple validating them reads (see the module docstring)."""
    triples: set[Triple] = set()
    described: dict[Term, set[Triple]] = {}

    def describe(node: Term) -> set[Triple]:
        if node not in described:
            described[node] = source.triples(node)
            triples.update(described[node])
        return described[node]

    own = 0
    for node in focus:
        mine = describe(node)
        own += len(mine)
        values: dict[Term, list[Term]] = {}
        for _s, p, o in list(mine):
            values.setdefault(p, []).append(o)
            if isinstance(o, (ox.NamedNode, ox.BlankNode)):
                describe(o)
        for group in reach.keys:
            key = _selective(group, values)
            for value in values.get(key, ()) if key is not None else ():
                for other, _p, _o in source.triples(None, key, value):
                    describe(other)
        for predicate in reach.inverse:
            for other, _p, _o in source.triples(None, predicate, node):
                describe(other)
    triples.update(_hierarchy(source))
    store = ox.Store()
    store.extend(ox.Quad(s, p, o) for s, p, o in triples)
    return Neighbourhood(store, own)


def _selective(group: frozenset[ox.NamedNode], values: dict[Term, list[Term]]) -> ox.NamedNode | None:
    """The key of ``group`` to look the others up by: one with a literal value on this resource (a
    code, shared by few) rather than a link (a scheme, shared by all its concepts); None when the
    resource has none of them (the rule cannot match it)."""
    present = sorted((k for k in group if k in values), key=lambda k: k.value)
    literal = [k for k in present if any(isinstance(v, ox.Literal) for v in values[k])]
    return (literal or present or [None])[0]


def _hierarchy(source: TripleSource) -> set[Triple]:
    cached = getattr(source, "hierarchy", None)
    if callable(cached):
        return cached()
    return source.triples(None, SUBCLASS, None)


def node_id(node: Term) -> str:
    """A node as :class:`~cohesio.validation.Violation` names its focus."""
    return f"_:{node.value}" if isinstance(node, ox.BlankNode) else node.value


def _node_of(text: str) -> ox.NamedNode | ox.BlankNode:
    return ox.BlankNode(text[2:]) if text.startswith("_:") else ox.NamedNode(text)


def _kept(report: Report, focus: Collection[Term], source: TripleSource) -> list[Violation]:
    """The results about ``focus``, and those about nodes with no triples of their own."""
    names = {node_id(n) for n in focus}
    kept: list[Violation] = []
    orphans: dict[str, bool] = {}
    for v in report.violations:
        if v.focus in names:
            kept.append(v)
            continue
        if v.focus not in orphans:
            try:
                node = _node_of(v.focus)
            except ValueError:  # not an IRI: cannot be anybody's subject in the store
                orphans[v.focus] = True
            else:
                orphans[v.focus] = not source.triples(node)
        if orphans[v.focus]:
            kept.append(v)
    return kept


def validate_focus(source: TripleSource, focus: Collection[Term], shapes: Graph, reach: Reach,
                   lang: str = "en") -> tuple[Report, int]:
    """Validate ``focus`` with its neighbourhood; the report keeps only what concerns the focus.

    Returns the report and the number of triples of the focus nodes (what was checked).
    """
    around = neighbourhood(source, focus, reach)
    report = validate(around.store, shapes=shapes, lang=lang, focus=_targets(focus, reach))
    return _about(report, focus, source, lang), around.own_triples


def _targets(focus: Collection[Term], reach: Reach) -> list[str] | None:
    """The IRIs the shapes' targets are restricted to in a piece, or None for no restriction.

    The neighbours are there to be read, not validated (their own neighbourhood is incomplete):
    restricting the targets to the focus also spares pyshacl building results that would be
    dropped. Not for blank nodes (pyshacl's option takes IRIs only) nor when shapes target objects:
    then everything is validated and the results filtered (:func:`_about`).
    """
    if reach.targets_objects or not all(isinstance(n, ox.NamedNode) for n in focus):
        return None
    return [n.value for n in focus]


def _about(report: Report, focus: Collection[Term], source: TripleSource, lang: str) -> Report:
    kept = _kept(report, focus, source)
    return report_of(kept, {v.focus: report.labels.get(v.focus, {}) for v in kept}, lang)


# --------------------------------------------------------------------------------------------------
# Graphs of a store, in pieces
# --------------------------------------------------------------------------------------------------


class StoredGraphs:
    """Some named graphs of a store, plus some nodes' triples in one more graph, in canonical IRIs.

    This is what a build validates: the edited graphs, and the part of the official geography they
    point at (``context_nodes`` of ``context_graph``). The store keeps the deployment's IRIs
    (``base_iri``); the shapes are written with the canonical ones: terms are moved at the boundary,
    as :class:`cohesio.contributions.view.StoreView` does for changes.
    """

    def __init__(self, store: ox.Store, graphs: Sequence[str], base_iri: str = CANONICAL_BASE_IRI,
                 context_graph: str | None = None, context_nodes: Collection[ox.NamedNode] = ()) -> None:
        self.store = store
        self.base_iri = base_iri
        self.graphs = [ox.NamedNode(g) for g in graphs]
        self._graphs = set(self.graphs)
        self.context_graph = ox.NamedNode(context_graph) if context_graph else None
        self.context_nodes = frozenset(context_nodes)  # as stored (deployment IRIs)
        self._hierarchy: set[Triple] | None = None

    def _store_term(self, term):
        if self.base_iri != CANONICAL_BASE_IRI and isinstance(term, ox.NamedNode) \
                and term.value.startswith(CANONICAL_BASE_IRI):
            return ox.NamedNode(self.base_iri + term.value[len(CANONICAL_BASE_IRI):])
        return term

    def _canonical(self, term):
        if self.base_iri != CANONICAL_BASE_IRI and isinstance(term, ox.NamedNode) \
                and term.value.startswith(self.base_iri):
            return ox.NamedNode(CANONICAL_BASE_IRI + term.value[len(self.base_iri):])
        return term

    def _included(self, quad: ox.Quad) -> bool:
        graph = quad.graph_name
        return graph in self._graphs or (graph == self.context_graph and quad.subject in self.context_nodes)

    def triples(self, subject=None, predicate=None, obj=None) -> set[Triple]:
        pattern = [None if t is None else self._store_term(t) for t in (subject, predicate, obj)]
        return {(self._canonical(q.subject), self._canonical(q.predicate), self._canonical(q.object))
                for q in self.store.quads_for_pattern(*pattern, None) if self._included(q)}

    def hierarchy(self) -> set[Triple]:
        """The rdfs:subClassOf triples, read once: every piece gets them."""
        if self._hierarchy is None:
            self._hierarchy = self.triples(None, SUBCLASS, None)
        return self._hierarchy

    def _subject_in(self, node, graphs: Iterable[ox.NamedNode]) -> bool:
        return any(next(iter(self.store.quads_for_pattern(node, None, None, g)), None) is not None for g in graphs)

    def subjects(self) -> Iterator[Term]:
        """Every subject once (canonical): graph by graph, then the context nodes.

        An on-disk store returns a graph's quads grouped by subject, so consecutive duplicates are
        all there is to skip, and nothing grows with the data; an in-memory store does not group
        them, and a subject may then come twice: the results are the same, only slower.
        """
        for index, graph in enumerate(self.graphs):
            earlier = self.graphs[:index]
            previous = None
            for quad in self.store.quads_for_pattern(None, None, None, graph):
                subject = quad.subject
                if subject == previous:
                    continue
                previous = subject
                if earlier and self._subject_in(subject, earlier):
                    continue
                yield self._canonical(subject)
        for node in sorted(self.context_nodes, key=lambda n: n.value):
            if not self._subject_in(node, self.graphs):
                yield self._canonical(node)

    def size(self) -> int:
        """Triples in the graphs and of the context nodes (counted by the store: for progress)."""
        total = 0
        for graph in self.graphs:
            for solution in self.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}"):
                total += int(solution["n"].value)
        if self.context_graph is not None:
            for node in self.context_nodes:
                total += sum(1 for _ in self.store.quads_for_pattern(node, None, None, self.context_graph))
        return total


@dataclass
class ChunkedValidation:
    """The merged report of every piece, and what it took."""

    report: Report
    triples: int = 0
    subjects: int = 0
    chunks: int = 0
    whole: bool = False  # validated in one piece because the shapes read too far
    problems: tuple[str, ...] = field(default=(), repr=False)


def validate_in_chunks(source: StoredGraphs, shapes: Graph, lang: str = "en", *,
                       chunk_size: int | None = CHUNK_SUBJECTS, reach: Reach | None = None,
                       progress: Callable[[int, int], None] | None = None,
                       processes: int = 1) -> ChunkedValidation:
    """Validate every subject of ``source``, ``chunk_size`` at a time, and merge the reports.

    The merged report equals pyshacl's on the whole of ``source`` (``tests/test_validation_chunks.py``
    checks it on the project's data and on broken variants) while memory is bounded by one piece. If
    the shapes read further than a piece holds (:func:`shapes_reach`), everything is validated in one
    piece and a warning says why. ``progress`` is called with (triples done, triples in all).

    With ``processes`` > 1, pyshacl runs in that many worker processes while this one reads the
    store and builds the next pieces (pyshacl is pure Python: one process uses one CPU). The pool is
    started only when there is a second piece, so a small project never pays for it; at most two
    pieces per worker are in flight, so memory stays bounded by the pieces, not the data.
    """
    reach = reach if reach is not None else shapes_reach(shapes)
    whole = bool(reach.problems)
    if whole:
        log.warning(
            "Les formes lisent plus loin qu'un voisinage d'une ressource ; validation en un seul morceau. / "
            "The shapes read further than one resource's neighbourhood; validating in one piece: %s",
            "; ".join(reach.problems))
        chunk_size = None
    total = source.size() if progress is not None else 0
    if progress is not None:
        progress(0, total)
    found: set[Violation] = set()
    labels: dict[str, dict[str, str]] = {}
    done = subjects = chunks = 0

    def merge(report: Report, own: int) -> None:
        nonlocal done
        found.update(report.violations)
        for key, value in report.labels.items():
            labels.setdefault(key, dict(value))
        done += own
        if progress is not None:
            progress(min(done, total), total)

    iterator = source.subjects()
    pieces: Iterator[list[Term]] = iter(lambda: list(itertools.islice(iterator, chunk_size)) if chunk_size
                                        else list(iterator), [])
    pool: _Pool | None = None
    try:
        for chunk in pieces:
            focus = list(dict.fromkeys(chunk))
            subjects += len(focus)
            chunks += 1
            if processes > 1 and pool is None and chunk_size and len(chunk) == chunk_size:
                pool = _Pool(processes, shapes, lang)  # a full piece: there may be more
            if pool is None:
                merge(*validate_focus(source, focus, shapes, reach, lang))
            else:
                around = neighbourhood(source, focus, reach)
                for report, piece, own in pool.submit(around, focus, _targets(focus, reach)):
                    merge(_about(report, piece, source, lang), own)
            if not chunk_size:
                break
        if pool is not None:
            for report, piece, own in pool.drain():
                merge(_about(report, piece, source, lang), own)
    finally:
        if pool is not None:
            pool.close()
    if progress is not None:
        progress(total, total)
    return ChunkedValidation(report_of(found, labels, lang), done, subjects, chunks, whole, reach.problems)


# --------------------------------------------------------------------------------------------------
# Worker processes
# --------------------------------------------------------------------------------------------------


def _validate_piece(data: bytes, focus: list[str] | None, shapes: Graph, lang: str) -> Report:
    """pyshacl on one piece, sent as N-Triples."""
    store = ox.Store()
    # ox.parse keeps blank node labels (a store's loaders rename them): results must name the
    # parent's nodes.
    store.extend(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    return validate(store, shapes=shapes, lang=lang, focus=focus)


def _worker_main() -> None:
    """``python -m cohesio.validation_chunks``: validate the pieces read from stdin, one at a time.

    The first message is (shapes as Turtle, language); then each is (N-Triples, focus IRIs or None),
    answered with a :class:`Report` (or an error text). Pickles over pipes, between processes of the
    same program only.
    """
    import pickle
    import traceback

    reader, writer = sys.stdin.buffer, sys.stdout.buffer
    shapes_text, lang = pickle.load(reader)
    shapes = Graph().parse(data=shapes_text, format="turtle")
    while True:
        try:
            data, focus = pickle.load(reader)
        except EOFError:
            return
        try:
            answer: object = _validate_piece(data, focus, shapes, lang)
        except Exception:  # noqa: BLE001 - sent back to the parent, which raises it
            answer = traceback.format_exc()
        pickle.dump(answer, writer, protocol=pickle.HIGHEST_PROTOCOL)
        writer.flush()


class _Pool:
    """Worker processes validating pieces: one piece per worker at a time, results in order.

    Plain subprocesses (``python -m cohesio.validation_chunks``) rather than multiprocessing: its
    "spawn" re-runs the caller's main script in every worker (any script calling build() without a
    ``__main__`` guard would then fail), and "fork" would copy a process holding an open RocksDB
    store and its threads. A worker is only ever written to while it waits for a piece, so neither
    side can block on a full pipe while the other does too.
    """

    def __init__(self, processes: int, shapes: Graph, lang: str) -> None:
        import pickle
        import subprocess

        # The workers import cohesio from where this process did (a checkout, a test's sys.path).
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.workers = [subprocess.Popen([sys.executable, "-m", "cohesio.validation_chunks"], env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                        for _ in range(processes)]
        hello = pickle.dumps((shapes.serialize(format="turtle"), lang), protocol=pickle.HIGHEST_PROTOCOL)
        for worker in self.workers:
            worker.stdin.write(hello)
            worker.stdin.flush()
        self.idle = collections.deque(self.workers)
        self.busy: collections.deque = collections.deque()  # (worker, focus, own triples), oldest first

    def submit(self, around: Neighbourhood, focus: list[Term], targets: list[str] | None) -> list[tuple]:
        """Send a piece to a free worker (waiting for the oldest one if none is); return the pieces
        finished meanwhile, as (report, focus, own triples)."""
        import pickle

        finished = [] if self.idle else [self._receive()]
        data = around.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
        worker = self.idle.popleft()
        worker.stdin.write(pickle.dumps((data, targets), protocol=pickle.HIGHEST_PROTOCOL))
        worker.stdin.flush()
        self.busy.append((worker, focus, around.own_triples))
        return finished

    def _receive(self) -> tuple:
        import pickle

        worker, focus, own = self.busy.popleft()
        try:
            answer = pickle.load(worker.stdout)
        except EOFError:
            raise RuntimeError(
                f"Un processus de validation s'est arrêté (code {worker.wait()}). / "
                f"A validation process stopped (exit code {worker.returncode}).") from None
        if isinstance(answer, str):
            raise RuntimeError(f"Échec de la validation d'un morceau. / A piece could not be validated.\n{answer}")
        self.idle.append(worker)
        return answer, focus, own

    def drain(self) -> list[tuple]:
        return [self._receive() for _ in range(len(self.busy))]

    def close(self) -> None:
        for worker in self.workers:
            try:
                worker.stdin.close()
            except OSError:
                pass
        for worker in self.workers:
            try:
                worker.wait(timeout=10)
            except Exception:  # noqa: BLE001 - stuck or already gone: do not leave it behind
                worker.kill()
                worker.wait()
            worker.stdout.close()


if __name__ == "__main__":
    _worker_main()
