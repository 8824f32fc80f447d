"""The description of a resource as data: labels, types, properties with labelled values and the
named graph each statement comes from, backlinks grouped by property (counted, paged), and the
quality annotations that target it. Everything is asked with SPARQL through the backend
(``backend.run``), so it works the same on the embedded store and on a remote SPARQL server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

import pyoxigraph as ox

from cohesio.linked_data.links import is_safe_iri
from cohesio.namespaces import shorten
from cohesio.sparql.executor import Job

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
OA = "http://www.w3.org/ns/oa#"
DQV = "http://www.w3.org/ns/dqv#"
VOID = "http://rdfs.org/ns/void#"
FOAF = "http://xmlns.com/foaf/0.1/"
LABEL_PROPERTIES = (f"{RDFS}label", f"{SKOS}prefLabel", f"{DCT}title")
DESCRIPTION_PROPERTIES = (f"{DCT}description", f"{SKOS}definition", f"{RDFS}comment")
PAGE_SIZE = 50
LABELS = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)
#: ``FILTER(?p IN (…))`` rather than ``VALUES ?p {…}``: with two VALUES blocks, pyoxigraph joins
#: them with a scan of every statement of those properties (1.8 s on 10M triples, against 0.3 ms).
LABEL_FILTER = "FILTER(?p IN (" + ", ".join(f"<{p}>" for p in LABEL_PROPERTIES) + "))"
#: Backlinks are counted up to this many per property (a theme of a national catalogue is linked
#: from hundreds of thousands of initiatives: counting them all made the page grow with the data);
#: above, the page says "more than" and pages through them in the store's index order.
COUNT_CAP = 1000
#: Up to this many, a property's backlinks are paged in label order (sorting is linear in them:
#: 250 take ~0.1 s); above, in the store's index order, each page sorted within itself.
SORT_CAP = 250


class UnsafeIri(ValueError):
    pass


def _iri(iri: str) -> str:
    if not is_safe_iri(iri):
        raise UnsafeIri(iri)
    return f"<{iri}>"


# ------------------------------------------------------------------ terms and queries


@dataclass(frozen=True)
class Term:
    kind: str  # "uri", "literal", "bnode"
    value: str
    lang: str = ""
    datatype: str = ""

    @property
    def is_iri(self) -> bool:
        return self.kind == "uri"


def _term(binding: dict) -> Term:
    return Term(binding["type"] if binding["type"] != "typed-literal" else "literal", binding["value"],
                binding.get("xml:lang", ""), binding.get("datatype", ""))


def select(backend, query: str, max_rows: int = 100_000) -> list[dict[str, Term]]:
    outcome = backend.run(Job(query=query, format="json", max_rows=max_rows))
    data = json.loads(outcome.body)
    return [{k: _term(v) for k, v in row.items()} for row in data["results"]["bindings"]]


def construct(backend, query: str, max_rows: int = 200_000) -> list[ox.Triple]:
    outcome = backend.run(Job(query=query, format="ntriples", max_rows=max_rows))
    return [q.triple for q in ox.parse(outcome.body, format=ox.RdfFormat.N_TRIPLES)]


def pick(labels: dict[str, str], lang: str, default: str = "") -> str:
    """The text in ``lang``, else in the other language, else without language, else ``default``."""
    if not labels:
        return default
    for key in (lang, "en" if lang == "fr" else "fr", ""):
        if key in labels:
            return labels[key]
    return next(iter(labels.values()))


def labels_of(backend, iris: Iterable[str]) -> dict[str, dict[str, str]]:
    """Labels (rdfs:label, skos:prefLabel, dct:title) of many IRIs, by language."""
    wanted = sorted({i for i in iris if is_safe_iri(i)})
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(wanted), 400):
        chunk = " ".join(f"<{i}>" for i in wanted[start:start + 400])
        rows = select(backend, f"SELECT ?s ?l WHERE {{ VALUES ?s {{ {chunk} }} ?s ?p ?l {LABEL_FILTER} }}")
        for row in rows:
            found.setdefault(row["s"].value, {}).setdefault(row["l"].lang, row["l"].value)
    for iri in wanted:
        if iri in KNOWN_LABELS and iri not in found:
            found[iri] = dict(KNOWN_LABELS[iri])
    return found


#: Labels of the common vocabularies' properties and classes (the ontology labels its own terms).
KNOWN_LABELS: dict[str, dict[str, str]] = {
    RDF_TYPE: {"fr": "type", "en": "type"},
    f"{RDFS}label": {"fr": "libellé", "en": "label"},
    f"{RDFS}comment": {"fr": "commentaire", "en": "comment"},
    f"{RDFS}seeAlso": {"fr": "voir aussi", "en": "see also"},
    f"{SKOS}prefLabel": {"fr": "libellé préféré", "en": "preferred label"},
    f"{SKOS}altLabel": {"fr": "autre libellé", "en": "alternative label"},
    f"{SKOS}definition": {"fr": "définition", "en": "definition"},
    f"{SKOS}inScheme": {"fr": "dans le schéma", "en": "in scheme"},
    f"{SKOS}broader": {"fr": "plus large", "en": "broader"},
    f"{SKOS}narrower": {"fr": "plus précis", "en": "narrower"},
    f"{SKOS}notation": {"fr": "notation", "en": "notation"},
    f"{SKOS}topConceptOf": {"fr": "concept de tête de", "en": "top concept of"},
    f"{SKOS}hasTopConcept": {"fr": "concept de tête", "en": "top concept"},
    f"{SKOS}scopeNote": {"fr": "note d'application", "en": "scope note"},
    f"{SKOS}exactMatch": {"fr": "correspondance exacte", "en": "exact match"},
    f"{SKOS}closeMatch": {"fr": "correspondance proche", "en": "close match"},
    f"{DCT}type": {"fr": "pratique", "en": "practice"},
    f"{DCT}subject": {"fr": "thème", "en": "theme"},
    f"{DCT}spatial": {"fr": "territoire", "en": "territory"},
    f"{DCT}audience": {"fr": "public", "en": "audience"},
    f"{DCT}description": {"fr": "description", "en": "description"},
    f"{DCT}title": {"fr": "titre", "en": "title"},
    f"{DCT}isReplacedBy": {"fr": "remplacé par", "en": "replaced by"},
    f"{DCT}source": {"fr": "source", "en": "source"},
    f"{DCT}license": {"fr": "licence", "en": "licence"},
    f"{OA}hasTarget": {"fr": "cible", "en": "target"},
    f"{OA}motivatedBy": {"fr": "motivation", "en": "motivated by"},
    f"{DQV}inCategory": {"fr": "catégorie", "en": "category"},
    f"{FOAF}page": {"fr": "page web", "en": "web page"},
    "http://www.w3.org/ns/prov#wasDerivedFrom": {"fr": "tiré de", "en": "derived from"},
    "http://www.w3.org/ns/prov#wasAttributedTo": {"fr": "attribué à", "en": "attributed to"},
    "http://www.w3.org/ns/prov#wasAssociatedWith": {"fr": "auteur", "en": "author"},
    "http://www.w3.org/ns/prov#generated": {"fr": "a créé", "en": "generated"},
    "http://www.w3.org/ns/prov#invalidated": {"fr": "a retiré", "en": "invalidated"},
    "http://www.w3.org/ns/prov#endedAtTime": {"fr": "date", "en": "ended at"},
    "http://www.w3.org/ns/prov#Activity": {"fr": "activité", "en": "activity"},
    "http://www.w3.org/ns/prov#Agent": {"fr": "agent", "en": "agent"},
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#Statement": {"fr": "énoncé", "en": "statement"},
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#subject": {"fr": "sujet", "en": "subject"},
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#predicate": {"fr": "propriété", "en": "predicate"},
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#object": {"fr": "valeur", "en": "object"},
    "http://www.w3.org/ns/org#classification": {"fr": "catégorie d'organisation", "en": "organisation type"},
    "http://www.w3.org/ns/org#memberOf": {"fr": "membre de", "en": "member of"},
    "http://www.w3.org/ns/org#linkedTo": {"fr": "lié à", "en": "linked to"},
    "http://rdf.insee.fr/def/geo#codeINSEE": {"fr": "code INSEE", "en": "INSEE code"},
    "http://rdf.insee.fr/def/geo#subdivisionDe": {"fr": "subdivision de", "en": "subdivision of"},
    "http://schema.org/population": {"fr": "population", "en": "population"},
    "http://schema.org/containedInPlace": {"fr": "situé dans", "en": "contained in"},
    "http://schema.org/dissolutionDate": {"fr": "date de dissolution", "en": "dissolution date"},
}


def fallback_label(iri: str) -> str:
    short = shorten(iri)
    if short != iri:
        return short
    tail = iri.rstrip("/").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return tail or iri


# ------------------------------------------------------------------ descriptions


@dataclass
class Value:
    term: Term
    labels: dict[str, str] = field(default_factory=dict)
    graphs: list[str] = field(default_factory=list)

    def text(self, lang: str) -> str:
        if self.term.is_iri:
            return pick(self.labels, lang, fallback_label(self.term.value))
        return self.term.value


@dataclass
class Property:
    iri: str
    labels: dict[str, str]
    values: list[Value]
    inverse: bool = False
    count: int = 0
    #: ``count`` is a lower bound: there are more (backlinks are counted up to :data:`COUNT_CAP`).
    more: bool = False
    #: The values are a page in the store's order (sorted by label within the page only).
    index_order: bool = False

    def text(self, lang: str) -> str:
        return pick(self.labels, lang, fallback_label(self.iri))


@dataclass
class Annotation:
    iri: str
    category: Value | None
    as_printed: str
    reading: dict[str, str]
    comment: dict[str, str]
    likely: list[Value]
    on_property: Value | None


@dataclass
class Description:
    iri: str
    exists: bool
    labels: dict[str, str]
    descriptions: dict[str, str]
    types: list[Value]
    properties: list[Property]
    backlinks: list[Property]
    annotations: list[Annotation]
    graphs: list[str]
    page: int = 1
    pages: int = 1
    #: Another page follows (with more than :data:`COUNT_CAP` backlinks, ``pages`` is not known).
    has_next: bool = False
    pages_known: bool = True

    def label(self, lang: str) -> str:
        return pick(self.labels, lang, fallback_label(self.iri))

    def description(self, lang: str) -> str:
        return pick(self.descriptions, lang)

    def type_iris(self) -> set[str]:
        return {t.term.value for t in self.types}


def exists(backend, iri: str, history_graph: str | None = None) -> bool:
    """Whether anything is published about ``iri``: a statement about it, or one linking to it.

    With ``history_graph``, links from that graph do not count: the history keeps the triples a
    change removed as ``rdf:Statement`` nodes (``rdf:subject``/``rdf:object``) and names what a
    change withdrew (``prov:invalidated``), so a withdrawn resource is still linked from there but
    no longer published. The history's own nodes (changes, agents, statements) are the subjects of
    its statements, and do exist."""
    if not is_safe_iri(iri):
        return False
    s = _iri(iri)
    if history_graph is None:
        linked = f"?x ?p {s}"
    else:
        linked = f"?x ?p {s} MINUS {{ GRAPH {_iri(history_graph)} {{ ?x ?p {s} }} }}"
    rows = select(backend, f"SELECT ?x WHERE {{ {{ {s} ?p ?x }} UNION {{ {linked} }} }} LIMIT 1")
    return bool(rows)


def _by_lang(rows: list[dict[str, Term]], var: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in rows:
        if var in row:
            out.setdefault(row[var].lang, row[var].value)
    return out


def outgoing(backend, iri: str) -> list[tuple[str, Term, str]]:
    """(predicate, object, graph) of every statement about ``iri`` (graph "" = default graph)."""
    s = _iri(iri)
    rows = select(backend, f"SELECT ?p ?o ?g WHERE {{ {{ GRAPH ?g {{ {s} ?p ?o }} }} UNION {{ {s} ?p ?o }} }}")
    seen: dict[tuple[str, Term], str] = {}
    for row in rows:
        key = (row["p"].value, row["o"])
        graph = row["g"].value if "g" in row else ""
        if graph or key not in seen:
            seen[key] = graph
    return [(p, o, g) for (p, o), g in seen.items()]


def describe(backend, iri: str, lang: str = "fr", page: int = 1, page_size: int = PAGE_SIZE,
             history_graph: str | None = None, count_cap: int = COUNT_CAP) -> Description:
    """``history_graph``: links from that graph are left out of the backlinks of the resources it
    is not about (the history section of the page lists the changes instead), and kept for its own
    nodes (a change is linked from the change that reverted it, an agent from its changes)."""
    s = _iri(iri)
    statements = outgoing(backend, iri)
    by_prop: dict[str, list[Value]] = {}
    graphs: list[str] = []
    for p, o, g in statements:
        values = by_prop.setdefault(p, [])
        existing = next((v for v in values if v.term == o), None)
        if existing is None:
            existing = Value(o)
            values.append(existing)
        if g and g not in existing.graphs:
            existing.graphs.append(g)
        if g and g not in graphs:
            graphs.append(g)

    # backlinks: per property, a bounded count, then one page
    hide = ""
    if history_graph is not None and history_graph not in graphs:
        hide = f"MINUS {{ GRAPH {_iri(history_graph)} {{ ?x ?p {s} }} }}"
    backlinks, pages, has_next = _backlinks(backend, s, hide, lang, page, page_size, count_cap)
    pages_known = not any(b.more for b in backlinks)
    # annotations targeting it
    annotations: list[Annotation] = []
    ann_rows = select(backend, f"SELECT DISTINCT ?a WHERE {{ ?a <{OA}hasTarget> {s} }} ORDER BY ?a")
    ann_statements = {row["a"].value: outgoing(backend, row["a"].value) for row in ann_rows}

    # labels of everything shown
    wanted = set(by_prop) | {v.term.value for vs in by_prop.values() for v in vs if v.term.is_iri}
    wanted |= {b.iri for b in backlinks} | {v.term.value for b in backlinks for v in b.values}
    for stmts in ann_statements.values():
        wanted |= {p for p, _, _ in stmts} | {o.value for _, o, _ in stmts if o.is_iri}
    labels = labels_of(backend, wanted)

    for values in by_prop.values():
        for v in values:
            if v.term.is_iri:
                v.labels = labels.get(v.term.value, {})
    for b in backlinks:
        b.labels = labels.get(b.iri, {})
        for v in b.values:
            v.labels = labels.get(v.term.value, {})
        if b.index_order:  # a page taken in index order: at least sorted within itself
            b.values.sort(key=lambda v: (pick(v.labels, lang, "\uffff").casefold(), v.term.value))

    for a, stmts in ann_statements.items():
        def texts(prop: str) -> dict[str, str]:
            return {o.lang: o.value for p, o, _ in stmts if p == prop and not o.is_iri}

        def iris(prop: str) -> list[Value]:
            return [Value(o, labels.get(o.value, {})) for p, o, _ in stmts if p == prop and o.is_iri]

        category = iris(f"{DQV}inCategory")
        on_property = iris("https://w3id.org/cohesio/ontology#onProperty") or [
            Value(o, labels.get(o.value, {})) for p, o, _ in stmts if p.endswith("ontology#onProperty")]
        annotations.append(Annotation(
            a, category[0] if category else None,
            pick({o.lang: o.value for p, o, _ in stmts if p.endswith("ontology#asPrinted")}, lang),
            {o.lang: o.value for p, o, _ in stmts if p.endswith("ontology#likelyReading")},
            texts(f"{RDFS}comment"),
            [Value(o, labels.get(o.value, {})) for p, o, _ in stmts if p.endswith("ontology#likelyResource")],
            on_property[0] if on_property else None,
        ))

    own_labels: dict[str, str] = {}
    for p in LABEL_PROPERTIES:
        for v in by_prop.get(p, []):
            own_labels.setdefault(v.term.lang, v.term.value)
    descriptions: dict[str, str] = {}
    for p in DESCRIPTION_PROPERTIES:
        for v in by_prop.get(p, []):
            descriptions.setdefault(v.term.lang, v.term.value)
    types = by_prop.get(RDF_TYPE, [])
    properties = [Property(p, labels.get(p, {}), vs) for p, vs in sorted(by_prop.items()) if p != RDF_TYPE]
    return Description(iri, bool(statements or backlinks), own_labels, descriptions, types, properties, backlinks,
                       annotations, graphs, page=min(max(page, 1), pages), pages=pages, has_next=has_next,
                       pages_known=pages_known)


def known_predicates(backend) -> list[str] | None:
    """Every predicate of the published graph, or None where the backend does not know them.

    The build counts the statements of each property (the VoID statistics in the manifest, data
    graphs including contributions and history); a version made by contributions since adds the
    predicates it introduced (``predicates_added``); the publication metadata graph is small and
    asked. Knowing them, a page finds which properties link to a resource with one lookup each
    instead of scanning every statement that links to it."""
    manifest = getattr(backend, "manifest", None) or {}
    artefacts = manifest.get("artefacts") or {}
    properties = (artefacts.get("void") or {}).get("properties")
    if properties is None:
        return None
    key = (str(getattr(backend, "version", "")), id(backend))
    cached = _PREDICATES.get(key)
    if cached is None:
        found = set(properties) | set(manifest.get("predicates_added", []))
        meta = artefacts.get("meta_graph")
        if meta and is_safe_iri(meta):
            found |= {r["p"].value for r in select(backend, f"SELECT DISTINCT ?p WHERE {{ GRAPH <{meta}> {{ ?s ?p ?o }} }}")}
        cached = sorted(p for p in found if is_safe_iri(p))
        if len(_PREDICATES) > 8:
            _PREDICATES.clear()
        _PREDICATES[key] = cached
    return cached


_PREDICATES: dict[tuple[str, int], list[str]] = {}


def _backlinks(backend, s: str, hide: str, lang: str, page: int, page_size: int,
               count_cap: int) -> tuple[list[Property], int, bool]:
    """The properties linking to ``s`` (subjects that are IRIs), each counted up to ``count_cap``,
    with page ``page`` of their subjects; and the number of pages, and whether a next page exists.

    Up to :data:`SORT_CAP` subjects a property's pages follow label order; above, they are taken
    in the store's index order (stable within a version) and each is sorted within itself: sorting
    hundreds of thousands of initiatives by label for every view of a theme's page would make the
    page as slow as the data is big."""
    predicates = known_predicates(backend)
    if predicates is None:
        rows = select(backend, f"SELECT DISTINCT ?p WHERE {{ ?x ?p {s} FILTER(isIRI(?x)) {hide} }}")
        linking = sorted(r["p"].value for r in rows)
    else:
        linking = []
        for start in range(0, len(predicates), 200):
            values = " ".join(f"<{p}>" for p in predicates[start:start + 200])
            rows = select(backend, f"SELECT ?p WHERE {{ VALUES ?p {{ {values} }} "
                                   f"FILTER EXISTS {{ ?x ?p {s} FILTER(isIRI(?x)) {hide} }} }}")
            linking += [r["p"].value for r in rows]
    found: list[Property] = []
    pages, has_next = 1, False
    for p in linking:
        where = f"?x <{p}> {s} FILTER(isIRI(?x)) {hide.replace('?p', f'<{p}>')}"
        rows = select(backend, f"SELECT (COUNT(*) AS ?n) WHERE {{ {{ SELECT DISTINCT ?x WHERE {{ {where} }} "
                               f"LIMIT {count_cap + 1} }} }}")
        n = int(rows[0]["n"].value) if rows else 0
        if n == 0:
            continue
        more = n > count_cap
        group_pages = max(1, -(-n // page_size))
        if n <= min(SORT_CAP, count_cap):
            pages = max(pages, group_pages)
            offset = (min(page, group_pages) - 1) * page_size
            members = select(backend, f"""SELECT ?x (SAMPLE(?l) AS ?label) WHERE {{ {where}
                  OPTIONAL {{ ?x ?lp ?l FILTER(?lp IN ({", ".join(f"<{q}>" for q in LABEL_PROPERTIES)}) && lang(?l) = "{lang}") }}
                }} GROUP BY ?x ORDER BY ?label ?x LIMIT {page_size} OFFSET {offset}""")
        else:
            offset = ((page if more else min(page, group_pages)) - 1) * page_size
            members = select(backend, f"SELECT DISTINCT ?x WHERE {{ {where} }} LIMIT {page_size + 1} OFFSET {offset}")
            if len(members) > page_size:
                has_next = True
                members = members[:page_size]
            pages = max(pages, page + 1 if len(members) == page_size and more else group_pages)
        found.append(Property(p, {}, [Value(m["x"]) for m in members], inverse=True,
                              count=min(n, count_cap), more=more, index_order=n > min(SORT_CAP, count_cap)))
    found.sort(key=lambda b: (-b.count, b.iri))
    has_next = has_next or page < pages
    return found, pages, has_next


# ------------------------------------------------------------------ RDF documents


def resource_triples(backend, iri: str) -> list[ox.Triple]:
    """The RDF document about ``iri``: its statements (with one level of blank nodes), the labels of
    what it links to, and the quality annotations that target it (a few simple queries: no UNION,
    so the engine never scans the whole store)."""
    s = _iri(iri)
    triples = construct(backend, f"CONSTRUCT {{ {s} ?p ?o }} WHERE {{ {s} ?p ?o }}")
    triples += construct(backend, f"CONSTRUCT {{ ?a ?p ?o }} WHERE {{ ?a <{OA}hasTarget> {s} . ?a ?p ?o }}")
    triples += construct(backend, f"CONSTRUCT {{ ?b ?p ?o }} WHERE {{ {s} ?x ?b . FILTER(isBlank(?b)) ?b ?p ?o }}")
    linked = sorted({t.object.value for t in triples if isinstance(t.object, ox.NamedNode) and is_safe_iri(t.object.value)})
    for start in range(0, len(linked), 400):
        values = " ".join(f"<{i}>" for i in linked[start:start + 400])
        triples += construct(backend, f"CONSTRUCT {{ ?x ?p ?l }} WHERE {{ VALUES ?x {{ {values} }} ?x ?p ?l {LABEL_FILTER} }}")
    return list(dict.fromkeys(triples))


def ontology_triples(backend, ontology_iri: str) -> list[ox.Triple]:
    """Every statement whose subject is the ontology or one of its (hash) terms (in the ontology graph)."""
    _iri(ontology_iri)
    graph = ontology_iri.rsplit("/", 1)[0] + "/graph/ontology"
    return construct(backend, f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o
        FILTER(isIRI(?s) && (STR(?s) = "{ontology_iri}" || STRSTARTS(STR(?s), "{ontology_iri}#"))) }} }}""")


def graph_triple_count(backend, graph: str) -> int:
    rows = select(backend, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}")
    return int(rows[0]["n"].value) if rows else 0


def graph_triples(backend, graph: str) -> tuple[list[ox.Triple], int]:
    """A named graph's description: what the data says about it, plus its triple count (void:triples)."""
    triples = resource_triples(backend, graph)
    count = graph_triple_count(backend, graph)
    node = ox.NamedNode(graph)
    extra = [ox.Triple(node, ox.NamedNode(f"{VOID}triples"),
                       ox.Literal(str(count), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")))]
    if not any(t.predicate.value == RDF_TYPE for t in triples if t.subject == node):
        extra.append(ox.Triple(node, ox.NamedNode(RDF_TYPE), ox.NamedNode(f"{VOID}Dataset")))
    return triples + extra, count
