"""Answers a contribution needs from the published graph: which commune is "Saint-Étienne", which
practice is "Bureau des temps", does ``id/initiative/x`` exist yet.

A CSV import asks the same few questions many times, against a store that may hold the whole
official geography and up to a million initiatives. So :class:`Lookup` never scans initiatives:
it asks for one subject at a time (``quads_for_pattern`` with a fixed subject), or builds small
indexes lazily, once, from the triples that can only describe what is indexed (``a igeo:Commune``,
``skos:inScheme <…/scheme/practices>``, ``a org:Organization``). The indexes hold folded names
(:func:`fold`), so that a council writing "saint etienne" finds "Saint-Étienne".

The store may be published under another base than the canonical one; everything this module
returns is canonical (rdflib ``URIRef``), because a contribution is written against the files in
git, which are canonical.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Iterator

import pyoxigraph as ox
from rdflib import URIRef

from cohesio.config import CANONICAL_BASE_IRI
from cohesio.sources import rebase

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
IGEO = "http://rdf.insee.fr/def/geo#"
ORG_ORGANIZATION = "http://www.w3.org/ns/org#Organization"
DCT_SUBJECT = "http://purl.org/dc/terms/subject"
SCHEMA = "http://schema.org/"
COH = CANONICAL_BASE_IRI + "ontology#"
ID = CANONICAL_BASE_IRI + "id/"

#: Letters NFKD does not decompose; the same table as the search index, so both fold alike.
_SPECIAL = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})
#: Hyphens, dashes, apostrophes and underscores all read as a space: "L'Haÿ-les-Roses" ==
#: "l hay les roses". Councils type names every way; the official spelling must not be required.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—'’‘`´ʼ_]+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
#: An organisation or initiative slug: lower-case ASCII words joined by one or two hyphens.
SLUG = re.compile(r"^[a-z0-9]+(?:--?[a-z0-9]+)*$")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """The form names are compared in: no case, no accents, separators as single spaces."""
    plain = text if text.isascii() else _strip_accents(text)
    return _SEPARATORS.sub(" ", plain.casefold()).strip()


def slugify(text: str) -> str:
    """The model's slug rule (docs/model.md): ASCII lower case, other runs → one hyphen."""
    return _NOT_SLUG.sub("-", _strip_accents(text).casefold()).strip("-")


@dataclass(frozen=True)
class Territory:
    """A commune, département or intercommunality of the official geography."""

    iri: URIRef
    kind: str  # "commune", "departement" or "epci"
    code: str
    label: str  # French label
    departement: str = ""  # a commune's département code

    def describe(self) -> str:
        """Name and code, e.g. "Saint-Denis (93066, département 93)": readable in both languages."""
        if self.kind == "commune":
            return f"{self.label} ({self.code}, département {self.departement})"
        return f"{self.label} ({self.code})"


@dataclass(frozen=True)
class Concept:
    """A practice, theme or audience."""

    iri: URIRef
    slug: str
    label_fr: str
    label_en: str


@dataclass(frozen=True)
class Organization:
    iri: URIRef
    slug: str
    label_fr: str
    label_en: str


#: The concept schemes a contribution may name, by the kind of concept.
SCHEMES = {"practice": "practices", "theme": "themes", "audience": "audiences"}


class Lookup:
    """Read-only questions about the published graph, answered in canonical IRIs."""

    def __init__(self, store: ox.Store, base_iri: str = CANONICAL_BASE_IRI) -> None:
        self.store = store
        self.base_iri = base_iri
        self._communes: dict[str, list[Territory]] | None = None
        self._communes_by_departement: dict[str, dict[str, list[Territory]]] | None = None
        self._concepts: dict[str, dict[str, list[Concept]]] = {}
        self._organizations: dict[str, list[Organization]] | None = None
        self._similar_cache: dict[tuple[str, str], list[Territory]] = {}

    # ------------------------------------------------------------ IRIs in and out

    def _node(self, iri: str) -> ox.NamedNode:
        """The store's IRI for a canonical IRI (the store may use another base)."""
        return rebase(ox.NamedNode(str(iri)), CANONICAL_BASE_IRI, self.base_iri)

    def _canonical(self, node: ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
        """The canonical IRI of a store IRI (called ~200,000 times for an index: kept cheap)."""
        if self.base_iri == CANONICAL_BASE_IRI:
            return node.value
        return rebase(node, self.base_iri, CANONICAL_BASE_IRI).value

    def _objects(self, subject: str, predicate: str) -> Iterator[ox.NamedNode | ox.BlankNode | ox.Literal]:
        for quad in self.store.quads_for_pattern(self._node(subject), self._node(predicate), None, None):
            yield quad.object

    def _subjects(self, predicate: str, obj: str) -> Iterator[ox.NamedNode | ox.BlankNode]:
        for quad in self.store.quads_for_pattern(None, self._node(predicate), self._node(obj), None):
            yield quad.subject

    def _labels(self, subject: str, predicate: str = RDFS_LABEL) -> dict[str, str]:
        """One label per language (the first met): the shapes allow exactly one each."""
        labels: dict[str, str] = {}
        for obj in self._objects(subject, predicate):
            if isinstance(obj, ox.Literal):
                labels.setdefault(obj.language or "", obj.value)
        return labels

    # ------------------------------------------------------------ existence

    def exists(self, iri: str) -> bool:
        """Whether the graph describes this resource: it has an rdf:type in some graph.

        A text that is not an IRI names nothing the graph has: False, not an exception."""
        try:
            subject = self._node(iri)
        except ValueError:
            return False
        return next(iter(self.store.quads_for_pattern(subject, self._node(RDF_TYPE), None, None)), None) is not None

    def has_type(self, iri: str, rdf_type: str) -> bool:
        try:
            subject = self._node(iri)
        except ValueError:
            return False
        quads = self.store.quads_for_pattern(subject, self._node(RDF_TYPE), self._node(rdf_type), None)
        return next(iter(quads), None) is not None

    # ------------------------------------------------------------ territories

    def commune(self, code: str) -> Territory | None:
        """The commune with this INSEE code (IRIs are keyed on codes: no index needed)."""
        iri = f"{ID}commune/{code}"
        if not self.has_type(iri, IGEO + "Commune"):
            return None
        departement = ""
        for obj in self._objects(iri, IGEO + "subdivisionDe"):
            departement = _code_after(self._canonical(obj), f"{ID}departement/") or departement
        return Territory(URIRef(iri), "commune", code, _french(self._labels(iri)), departement)

    def departement(self, code: str) -> Territory | None:
        iri = f"{ID}departement/{code}"
        if not self.has_type(iri, IGEO + "Departement"):
            return None
        return Territory(URIRef(iri), "departement", code, _french(self._labels(iri)))

    def epci(self, siren: str) -> Territory | None:
        iri = f"{ID}epci/{siren}"
        if not self.has_type(iri, IGEO + "Intercommunalite"):
            return None
        return Territory(URIRef(iri), "epci", siren, _french(self._labels(iri)))

    def epci_departements(self, siren: str) -> set[str]:
        """The départements an intercommunality's communes lie in (an EPCI may straddle two)."""
        codes: set[str] = set()
        for commune in self._subjects(COH + "intercommunality", f"{ID}epci/{siren}"):
            for obj in self.store.quads_for_pattern(commune, self._node(IGEO + "subdivisionDe"), None, None):
                code = _code_after(self._canonical(obj.object), f"{ID}departement/")
                if code:
                    codes.add(code)
        return codes

    def communes_named(self, name: str) -> list[Territory]:
        """Every commune whose French or English label folds to the same as ``name``.

        More than one means the name is ambiguous (Saint-Denis: Aude, Gard, Seine-Saint-Denis,
        La Réunion); the caller decides with a département code.
        """
        return list(self._commune_index().get(fold(name), []))

    def similar_communes(self, name: str, departement: str = "", limit: int = 3) -> list[Territory]:
        """Communes whose name is close to ``name`` (a typo), within a département if given."""
        key = (fold(name), departement)
        if key not in self._similar_cache:
            self._commune_index()
            assert self._communes is not None and self._communes_by_departement is not None
            index = self._communes_by_departement.get(departement, {}) if departement else self._communes
            matches = difflib.get_close_matches(key[0], list(index), n=limit, cutoff=0.8)
            self._similar_cache[key] = [t for m in matches for t in index[m]][:limit]
        return self._similar_cache[key]

    def _commune_index(self) -> dict[str, list[Territory]]:
        """Folded name → communes, built once (35,000 communes, about a second).

        Two scans of triples that only describe territories: ``igeo:subdivisionDe`` (a commune's
        département: every commune has one, and its IRI ``id/commune/<code>`` carries its code)
        and the geography graph's ``rdfs:label`` (every other label of a large store is an
        initiative's or an organisation's). A commune whose label lives in another graph is
        asked for on its own.
        """
        if self._communes is None:
            commune_prefix, departement_prefix = f"{ID}commune/", f"{ID}departement/"
            departements: dict[str, str] = {}
            for quad in self.store.quads_for_pattern(None, self._node(IGEO + "subdivisionDe"), None, None):
                iri = self._canonical(quad.subject)
                if iri.startswith(commune_prefix):
                    departements[iri] = _code_after(self._canonical(quad.object), departement_prefix)
            labels: dict[str, dict[str, str]] = {}
            geography = self._node(f"{CANONICAL_BASE_IRI}graph/geography")
            for quad in self.store.quads_for_pattern(None, self._node(RDFS_LABEL), None, geography):
                iri = self._canonical(quad.subject)
                if iri in departements and isinstance(quad.object, ox.Literal):
                    labels.setdefault(iri, {}).setdefault(quad.object.language or "", quad.object.value)
            by_name: dict[str, list[Territory]] = {}
            by_departement: dict[str, dict[str, list[Territory]]] = {}
            for iri, departement in departements.items():
                names = labels.get(iri) or self._labels(iri)
                code = _code_after(iri, commune_prefix)
                commune = Territory(URIRef(iri), "commune", code, _french(names), departement)
                for key in {fold(name) for name in set(names.values())} - {""}:
                    by_name.setdefault(key, []).append(commune)
                    by_departement.setdefault(departement, {}).setdefault(key, []).append(commune)
            for found in by_name.values():
                found.sort(key=lambda t: t.code)
            self._communes, self._communes_by_departement = by_name, by_departement
        return self._communes

    # ------------------------------------------------------------ vocabularies

    def concepts(self, kind: str, text: str) -> list[Concept]:
        """The practices, themes or audiences (``kind``) named by ``text``.

        ``text`` may be the slug (``bureau-des-temps``), the notation (``P01``) or the French or
        English preferred label, compared folded. More than one answer means ambiguous.
        """
        index = self._concept_index(kind)
        found = index.get(text.strip().lower()) or index.get(fold(text)) or []
        return list(found)

    def all_concepts(self, kind: str) -> list[Concept]:
        seen: dict[URIRef, Concept] = {}
        for found in self._concept_index(kind).values():
            for concept in found:
                seen[concept.iri] = concept
        return sorted(seen.values(), key=lambda c: c.slug)

    def practice_themes(self, practice: URIRef) -> list[URIRef]:
        """A practice's own themes: new initiatives take them by default (data/editorial/themes.ttl)."""
        return sorted(URIRef(self._canonical(o)) for o in self._objects(str(practice), DCT_SUBJECT)
                      if isinstance(o, ox.NamedNode))

    def _concept_index(self, kind: str) -> dict[str, list[Concept]]:
        if kind not in self._concepts:
            prefix = f"{ID}{kind}/"
            index: dict[str, list[Concept]] = {}
            for subject in self._subjects(SKOS + "inScheme", f"{ID}scheme/{SCHEMES[kind]}"):
                iri = self._canonical(subject)
                slug = _code_after(iri, prefix)
                if not slug:
                    continue
                labels = self._labels(iri, SKOS + "prefLabel")
                concept = Concept(URIRef(iri), slug, labels.get("fr", slug), labels.get("en", slug))
                notations = [o.value for o in self._objects(iri, SKOS + "notation") if isinstance(o, ox.Literal)]
                keys = {slug, fold(concept.label_fr), fold(concept.label_en)} | {n.strip().lower() for n in notations}
                for key in keys - {""}:
                    if concept not in index.setdefault(key, []):
                        index[key].append(concept)
            self._concepts[kind] = index
        return self._concepts[kind]

    # ------------------------------------------------------------ organisations

    def organization(self, slug: str) -> Organization | None:
        """The organisation ``id/organization/<slug>``, if the graph has it."""
        iri = f"{ID}organization/{slug}"
        if not self.has_type(iri, ORG_ORGANIZATION):
            return None
        labels = self._labels(iri)
        return Organization(URIRef(iri), slug, labels.get("fr", slug), labels.get("en", slug))

    def organizations_labelled(self, name: str) -> list[Organization]:
        """Organisations whose French or English label folds to the same as ``name``."""
        return list(self._organization_index().get(fold(name), []))

    def _organization_index(self) -> dict[str, list[Organization]]:
        if self._organizations is None:
            index: dict[str, list[Organization]] = {}
            for subject in self._subjects(RDF_TYPE, ORG_ORGANIZATION):
                if not isinstance(subject, ox.NamedNode):
                    continue
                iri = self._canonical(subject)
                labels = self._labels(iri)
                slug = _code_after(iri, f"{ID}organization/") or iri
                org = Organization(URIRef(iri), slug, labels.get("fr", slug), labels.get("en", slug))
                for key in {fold(label) for label in labels.values()} - {""}:
                    index.setdefault(key, []).append(org)
            for found in index.values():
                found.sort(key=lambda o: str(o.iri))
            self._organizations = index
        return self._organizations

    # ------------------------------------------------------------ initiatives

    def initiative_dates(self, iri: str) -> tuple[str, str]:
        """An existing initiative's start and end dates as written ("" when absent), so that a
        correction giving only one of them can still be checked against the other."""
        start = next((o.value for o in self._objects(iri, SCHEMA + "startDate") if isinstance(o, ox.Literal)), "")
        end = next((o.value for o in self._objects(iri, SCHEMA + "endDate") if isinstance(o, ox.Literal)), "")
        return start, end


def _code_after(iri: str, prefix: str) -> str:
    """The last segment of an IRI under ``prefix`` ("" if it is not under it)."""
    if iri.startswith(prefix) and "/" not in iri[len(prefix):]:
        return iri[len(prefix):]
    return ""


def _french(labels: dict[str, str]) -> str:
    return labels.get("fr") or labels.get("en") or next(iter(labels.values()), "")


def describe_all(items: Iterable[Territory], limit: int = 8) -> str:
    """A short list of territories for a message, cut after ``limit`` with an ellipsis."""
    items = list(items)
    text = ", ".join(t.describe() for t in items[:limit])
    return text + (", …" if len(items) > limit else "")
