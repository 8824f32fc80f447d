"""The history graph: each accepted change described with PROV, queryable over SPARQL.

A change is a ``prov:Activity`` (and a ``coh:Change``) associated with its author
(``prov:wasAssociatedWith``), ended at its time (``prov:endedAtTime``), explained by its reason
(``rdfs:comment``), linked to what it created (``prov:generated``), withdrew
(``prov:invalidated``) and changed (``coh:changed``). What it removed and added is kept as RDF
statements (``rdf:Statement`` with ``rdf:subject``/``rdf:predicate``/``rdf:object`` and
``coh:inGraph``): reification keeps the old and new values queryable without putting them back into
the data graphs, whose union is what the endpoint answers from.

Everything here is derived from the change file, so a build replaying the log writes the same
quads, byte for byte, as the writer that accepted the change.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterator

import pyoxigraph as ox

from cohesio.config import CANONICAL_BASE_IRI
from cohesio.contributions.log import Change

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
COH = CANONICAL_BASE_IRI + "ontology#"

CONTRIBUTIONS_GRAPH = "contributions"
HISTORY_GRAPH = "history"


def graph_iri(name: str, base_iri: str = CANONICAL_BASE_IRI) -> str:
    return f"{base_iri}graph/{name}"


def agent_iri(agent: str, base_iri: str = CANONICAL_BASE_IRI) -> str:
    """One IRI per author name, never shared by two names ("Alice" and "alice" are two agents)."""
    if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", agent) and agent not in (".", ".."):
        return f"{base_iri}id/agent/{agent}"
    folded = unicodedata.normalize("NFKD", agent).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:48] or "agent"
    digest = hashlib.sha256(agent.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{base_iri}id/agent/{slug}-{digest}"


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def change_quads(change: Change, base_iri: str = CANONICAL_BASE_IRI) -> Iterator[ox.Quad]:
    """The PROV description of ``change`` in the history graph (IRIs under ``base_iri``)."""
    g = _n(graph_iri(HISTORY_GRAPH, base_iri))
    c = _n(change.iri(base_iri))
    coh = base_iri + "ontology#"
    agent = _n(agent_iri(change.agent, base_iri))

    def q(s, p: str, o) -> ox.Quad:
        return ox.Quad(s, _n(p), o, g)

    yield q(c, RDF + "type", _n(PROV + "Activity"))
    yield q(c, RDF + "type", _n(coh + "Change"))
    yield q(c, RDFS + "label", ox.Literal(f"Modification n° {change.seq}", language="fr"))
    yield q(c, RDFS + "label", ox.Literal(f"Change no. {change.seq}", language="en"))
    yield q(c, coh + "sequence", ox.Literal(str(change.seq), datatype=_n(XSD + "integer")))
    yield q(c, coh + "action", ox.Literal(change.action))
    yield q(c, PROV + "endedAtTime", ox.Literal(change.time, datatype=_n(XSD + "dateTime")))
    yield q(c, PROV + "wasAssociatedWith", agent)
    if change.reason:
        yield q(c, RDFS + "comment", ox.Literal(change.reason))
    yield q(agent, RDF + "type", _n(PROV + "Agent"))
    yield q(agent, RDFS + "label", ox.Literal(change.agent))
    rebase = _rebaser(base_iri)
    for iri in change.created:
        yield q(c, PROV + "generated", _n(rebase(iri)))
    for iri in change.withdrawn:
        yield q(c, PROV + "invalidated", _n(rebase(iri)))
    for iri in change.touched:
        yield q(c, coh + "changed", _n(rebase(iri)))
    if change.reverts is not None:
        yield q(c, coh + "reverts", _n(f"{base_iri}id/change/{change.reverts:06d}"))
    for kind, quads in (("removed", change.removed), ("added", change.added)):
        for index, quad in enumerate(quads, start=1):
            st = _n(f"{change.iri(base_iri)}/{kind}/{index}")
            yield q(c, coh + kind, st)
            yield q(st, RDF + "type", _n(RDF + "Statement"))
            yield q(st, RDF + "subject", _term(quad.subject, rebase))
            yield q(st, RDF + "predicate", _term(quad.predicate, rebase))
            yield q(st, RDF + "object", _term(quad.object, rebase))
            if isinstance(quad.graph_name, ox.NamedNode):
                yield q(st, coh + "inGraph", _term(quad.graph_name, rebase))


def _rebaser(base_iri: str):
    if base_iri == CANONICAL_BASE_IRI:
        return lambda iri: iri
    return lambda iri: base_iri + iri[len(CANONICAL_BASE_IRI):] if iri.startswith(CANONICAL_BASE_IRI) else iri


def _term(term, rebase):
    if isinstance(term, ox.NamedNode):
        return ox.NamedNode(rebase(term.value))
    return term
