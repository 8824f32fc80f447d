"""From what a contributor sends to the quads a change removes and adds.

Every operation is computed against the published graph at the moment the change is applied (the
writer holds its lock), so two contributors correcting the same initiative never work from a stale
copy: the second one's change is computed after the first one's is published.

The rules, in one place:

* **create or correct** (an import, from CSV or RDF): for a resource that does not exist, every
  triple sent is added; for one that exists, each (property, language) the contributor mentions is
  replaced — old values removed, new ones added — and properties not mentioned are left alone, so a
  spreadsheet row with empty cells corrects only what it fills in. Triples already published are
  not added twice, and stay in the graph they came from (the guide, the editors' graph).
* **withdraw**: the initiative's own triples, the links to it, and the quality notes about it alone.
* **revert**: the reverse of an earlier change, refused if a later change has since touched the same
  triples.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Iterable

import pyoxigraph as ox

from cohesio.config import CANONICAL_BASE_IRI
from cohesio.contributions.history import CONTRIBUTIONS_GRAPH, graph_iri
from cohesio.contributions.log import Change
from cohesio.contributions.view import EDITABLE_GRAPHS, RDF_TYPE, StoreView

COH = CANONICAL_BASE_IRI + "ontology#"
INITIATIVE = ox.NamedNode(COH + "Initiative")
DERIVED_FROM = ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom")
HAS_TARGET = ox.NamedNode("http://www.w3.org/ns/oa#hasTarget")
QUALITY_ANNOTATION = ox.NamedNode("http://www.w3.org/ns/dqv#QualityAnnotation")

#: What contributors may describe: initiatives and the organisations and places they name. The
#: official geography, the vocabularies and the guide's practices are not edited through changes.
EDITABLE_PREFIXES = tuple(CANONICAL_BASE_IRI + f"id/{kind}/" for kind in ("initiative", "organization", "place"))
SKOLEM_PREFIX = CANONICAL_BASE_IRI + ".well-known/genid/"
_SLUG = re.compile(r"^[a-z0-9]+(?:-{1,2}[a-z0-9]+)*$")


class ChangeError(Exception):
    """A change that cannot be made as asked (HTTP 4xx); the message is bilingual."""

    status = 400

    def __init__(self, fr: str, en: str, *, details: list[dict] | None = None) -> None:
        super().__init__(f"{fr} / {en}")
        self.fr, self.en = fr, en
        self.details = details or []

    def message(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


class NotEditable(ChangeError):
    status = 403


class NotFound(ChangeError):
    status = 404


class Conflict(ChangeError):
    status = 409


class PreconditionFailed(ChangeError):
    status = 412


@dataclass
class Proposal:
    """A change before it is validated and numbered."""

    action: str
    added: set[ox.Quad] = field(default_factory=set)
    removed: set[ox.Quad] = field(default_factory=set)
    created: set[str] = field(default_factory=set)
    withdrawn: set[str] = field(default_factory=set)
    reverts: int | None = None

    @property
    def touched(self) -> set[str]:
        return {q.subject.value for q in self.added | self.removed if isinstance(q.subject, ox.NamedNode)}

    def is_empty(self) -> bool:
        return not self.added and not self.removed


def contributions_graph() -> ox.NamedNode:
    return ox.NamedNode(graph_iri(CONTRIBUTIONS_GRAPH))


def describe(view: StoreView, node) -> set[ox.Quad]:
    """The quads of the editable graphs whose subject is ``node``."""
    editable = {ox.NamedNode(graph_iri(g)) for g in EDITABLE_GRAPHS}
    return {q for q in view.quads(node) if q.graph_name in editable}


def etag(view: StoreView, node) -> str:
    """A validator of one resource's current description, for If-Match (no lost update)."""
    lines = sorted(f"{q.predicate} {q.object}" for q in view.quads(node))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:32]


def check_editable(subject) -> None:
    if isinstance(subject, ox.BlankNode):
        return
    iri = subject.value
    if iri.startswith(SKOLEM_PREFIX):
        return  # made by skolemize(), or an existing one (checked there)
    prefix = next((p for p in EDITABLE_PREFIXES if iri.startswith(p)), None)
    if prefix is not None:
        # The whole rest of the IRI, not its last segment: …/initiative/a/b or …/initiative/../commune/35238
        # are not identifiers.
        slug = iri[len(prefix):]
        if _SLUG.fullmatch(slug):
            return
        raise ChangeError(
            f"Identifiant mal formé : « {slug} » (lettres minuscules, chiffres et tirets). ",
            f"Malformed identifier: '{slug}' (lower-case letters, digits and hyphens).",
        )
    raise NotEditable(
        f"{iri} ne peut pas être modifié par une contribution : seules les initiatives, organisations et "
        f"lieux ({CANONICAL_BASE_IRI}id/initiative/…, …/organization/…, …/place/…) le peuvent ; la géographie "
        "officielle et les vocabulaires sont tenus dans data/.",
        f"{iri} cannot be changed by a contribution: only initiatives, organisations and places "
        f"({CANONICAL_BASE_IRI}id/initiative/…, …/organization/…, …/place/…) can; the official geography and "
        "the vocabularies are kept in data/.",
    )


#: The classes a contributed resource of each kind may have: a contribution cannot turn a place
#: into a theme, nor an organisation into a commune (the vocabularies and the geography are in data/).
ALLOWED_TYPES: dict[str, frozenset[str]] = {
    CANONICAL_BASE_IRI + "id/initiative/": frozenset({COH + "Initiative"}),
    CANONICAL_BASE_IRI + "id/organization/": frozenset({
        "http://www.w3.org/ns/org#Organization", "http://www.w3.org/ns/org#FormalOrganization",
        "http://www.w3.org/ns/org#OrganizationalUnit", "http://xmlns.com/foaf/0.1/Organization"}),
    CANONICAL_BASE_IRI + "id/place/": frozenset({COH + "Place", "http://schema.org/Place"}),
    SKOLEM_PREFIX: frozenset({COH + "Place", "http://schema.org/Place", "http://schema.org/PostalAddress",
                              "http://schema.org/ContactPoint"}),
}


def check_types(subject, incoming: set[tuple]) -> None:
    """Refuse a class outside what the subject's kind may be (see ALLOWED_TYPES)."""
    name = subject.value if isinstance(subject, ox.NamedNode) else SKOLEM_PREFIX
    allowed = next((types for prefix, types in ALLOWED_TYPES.items() if name.startswith(prefix)), frozenset())
    wrong = sorted(t[2].value for t in incoming if t[1] == RDF_TYPE and isinstance(t[2], ox.NamedNode)
                   and t[2].value not in allowed)
    wrong += sorted(str(t[2]) for t in incoming if t[1] == RDF_TYPE and not isinstance(t[2], ox.NamedNode))
    if wrong:
        raise NotEditable(
            f"{name} ne peut pas recevoir la classe {', '.join(wrong)} par une contribution "
            f"(classes permises : {', '.join(sorted(allowed))}).",
            f"{name} cannot be given the class {', '.join(wrong)} by a contribution "
            f"(allowed classes: {', '.join(sorted(allowed))}).",
        )


def skolemize(triples: Iterable[tuple], key: str, view: StoreView | None = None) -> list[tuple]:
    """Replace blank nodes by IRIs under /.well-known/genid/, unique to this change.

    A blank node has no name a later change or a rebuild could refer to; a skolem IRI does, so the
    published graph is exactly reproducible from the log. With ``view``, a skolem IRI the
    contributor wrote must already exist: one minted by hand would be taken by the blank node of a
    later change (``000042-1``).
    """
    triples = list(triples)
    if view is not None:
        for term in {t for s, _p, o in triples for t in (s, o)}:
            if isinstance(term, ox.NamedNode) and term.value.startswith(SKOLEM_PREFIX) \
                    and next(iter(view.quads(term)), None) is None \
                    and next(iter(view.quads(None, None, term)), None) is None:
                raise ChangeError(
                    f"{term.value} n'existe pas : les IRI sous {SKOLEM_PREFIX} sont attribuées par cohesio aux "
                    "nœuds anonymes ; envoyez un nœud anonyme ([ … ]) à la place.",
                    f"{term.value} does not exist: IRIs under {SKOLEM_PREFIX} are given by cohesio to blank "
                    "nodes; send a blank node ([ … ]) instead.")
    names: dict[str, ox.NamedNode] = {}

    def fix(term):
        if isinstance(term, ox.BlankNode):
            if term.value not in names:
                names[term.value] = ox.NamedNode(f"{SKOLEM_PREFIX}{key}-{len(names) + 1}")
            return names[term.value]
        return term

    return [(fix(s), p, fix(o)) for s, p, o in triples]


def _key(triple: tuple) -> tuple:
    o = triple[2]
    return triple[1], o.language if isinstance(o, ox.Literal) else None


def upsert(view: StoreView, triples: Iterable[tuple], change_iri: str, action: str = "import") -> Proposal:
    """Create the resources that do not exist and correct those that do (see the module doc)."""
    by_subject: dict = {}
    for t in triples:
        by_subject.setdefault(t[0], set()).add(t)
    proposal = Proposal(action)
    graph = contributions_graph()
    for subject, incoming in by_subject.items():
        check_editable(subject)
        check_types(subject, incoming)
        current = describe(view, subject)
        if not view.exists(subject):
            # Created: nothing was said about it. A typeless one that exists (a blank node's skolem
            # IRI, `[ rdfs:label … ]`) is corrected, not created again (revert relies on this).
            if next(iter(view.quads(subject)), None) is None:
                proposal.created.add(subject.value)
            if (subject, RDF_TYPE, INITIATIVE) in incoming and not any(t[1] == DERIVED_FROM for t in incoming):
                incoming = incoming | {(subject, DERIVED_FROM, ox.NamedNode(change_iri))}
        keys = {_key(t) for t in incoming}
        present = {(q.subject, q.predicate, q.object) for q in view.quads(subject)}
        for quad in current:
            triple = (quad.subject, quad.predicate, quad.object)
            if _key(triple) in keys and triple not in incoming:
                proposal.removed.add(quad)
        for s, p, o in incoming:
            if (s, p, o) not in present:
                proposal.added.add(ox.Quad(s, p, o, graph))
    return proposal


def withdraw(view: StoreView, node: ox.NamedNode) -> Proposal:
    if not view.exists(node):
        raise NotFound(f"Aucune initiative publiée n'a l'IRI {node.value}.",
                       f"No published initiative has the IRI {node.value}.")
    if (node, RDF_TYPE, INITIATIVE) not in view.triples(node, RDF_TYPE, None):
        raise NotEditable(f"Seule une initiative peut être retirée ; {node.value} n'en est pas une.",
                          f"Only an initiative can be withdrawn; {node.value} is not one.")
    editable = {ox.NamedNode(graph_iri(g)) for g in EDITABLE_GRAPHS}
    proposal = Proposal("withdraw", withdrawn={node.value})
    proposal.removed |= describe(view, node)
    for quad in view.quads(None, None, node):
        if quad.graph_name not in editable:
            continue
        note = quad.subject
        targets = view.triples(note, HAS_TARGET, None)
        if (note, RDF_TYPE, QUALITY_ANNOTATION) in view.triples(note, RDF_TYPE, None) and {t[2] for t in targets} == {node}:
            proposal.removed |= describe(view, note)  # a quality note about this initiative alone
        else:
            proposal.removed.add(quad)
    return proposal


def revert(view: StoreView, earlier: Change) -> Proposal:
    """Undo ``earlier``: remove what it added, put back what it removed."""
    gone = [q for q in earlier.added if not _present(view, q)]
    if gone:
        raise Conflict(
            f"La modification n° {earlier.seq} ne peut plus être annulée : {len(gone)} triplet(s) qu'elle a "
            "ajoutés ont été modifiés depuis. Annulez d'abord les modifications suivantes.",
            f"Change no. {earlier.seq} can no longer be reverted: {len(gone)} triple(s) it added have been "
            "changed since. Revert the later changes first.",
            details=[{"subject": str(q.subject), "predicate": str(q.predicate), "object": str(q.object)}
                     for q in gone[:50]],
        )
    proposal = Proposal("revert", reverts=earlier.seq)
    proposal.removed = set(earlier.added)
    proposal.added = {q for q in earlier.removed if not _present(view, q)}
    proposal.created = {iri for iri in earlier.withdrawn}
    proposal.withdrawn = {iri for iri in earlier.created}
    # What a later change added about a resource this one created would be left behind, typeless
    # (no shape sees it), under an IRI the history calls withdrawn.
    after = view.after(proposal.added, proposal.removed)
    left = [q for iri in sorted(proposal.withdrawn) for q in after.quads(ox.NamedNode(iri))]
    if left:
        raise Conflict(
            f"La modification n° {earlier.seq} ne peut plus être annulée : des modifications suivantes ont "
            f"complété ce qu'elle a créé ({len(left)} triplet(s)). Annulez d'abord les modifications suivantes.",
            f"Change no. {earlier.seq} can no longer be reverted: later changes added to what it created "
            f"({len(left)} triple(s)). Revert the later changes first.",
            details=[{"subject": str(q.subject), "predicate": str(q.predicate), "object": str(q.object)}
                     for q in left[:50]],
        )
    return proposal


def _present(view: StoreView, quad: ox.Quad) -> bool:
    return quad in set(view.quads(quad.subject, quad.predicate, quad.object))
