"""The operations editors perform, for the CLI and the HTTP API alike.

Each one turns what the contributor sent into a plan (:mod:`cohesio.contributions.delta`) and hands
it to the single writer (:func:`cohesio.contributions.writer.submit`), which validates it against
the graph as it is at that moment and publishes it or refuses it whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from cohesio import versions
from cohesio.config import CANONICAL_BASE_IRI, Settings
from cohesio.contributions import delta, log
from cohesio.contributions.delta import ChangeError, NotFound, PreconditionFailed
from cohesio.contributions.view import StoreView
from cohesio.contributions.writer import Outcome, submit

#: Payload formats an import accepts, by the names the CLI and Content-Type map to.
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
FORMATS = ("csv", *RDF_FORMATS)


class InputErrors(ChangeError):
    """The payload could not be read into triples (cells, names, syntax): nothing was tried."""

    status = 422

    def __init__(self, errors: list[Any]) -> None:
        n = len(errors)
        super().__init__(f"{n} erreur(s) dans les données envoyées ; rien n'a été modifié.",
                         f"{n} error(s) in the data sent; nothing was changed.")
        self.errors = errors


@dataclass(frozen=True)
class SyntaxProblem:
    """An RDF payload that does not parse, located like a spreadsheet cell would be."""

    row: int
    message_text: str
    column: str = ""
    code: str = "syntax"
    value: str = ""

    def message(self, lang: str) -> str:
        prefix = "Syntaxe RDF invalide" if lang == "fr" else "Invalid RDF syntax"
        where = (f" (ligne {self.row})" if lang == "fr" else f" (line {self.row})") if self.row else ""
        return f"{prefix}{where} : {self.message_text}" if lang == "fr" else f"{prefix}{where}: {self.message_text}"

    def to_json(self, lang: str) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code, "value": self.value,
                "message": self.message(lang), "message_fr": self.message("fr"), "message_en": self.message("en")}


def format_for(name: str | None, filename: str | None = None) -> str:
    """The payload format from an explicit name, else from a file name's extension."""
    if name:
        if name not in FORMATS:
            raise ChangeError(f"Format inconnu « {name} » (connus : {', '.join(FORMATS)}).",
                              f"Unknown format '{name}' (known: {', '.join(FORMATS)}).")
        return name
    suffix = (filename or "").lower().rsplit(".", 1)[-1]
    by_ext = {"csv": "csv", "ttl": "turtle", "nt": "ntriples", "jsonld": "jsonld", "json": "jsonld",
              "rdf": "rdfxml", "xml": "rdfxml"}
    if suffix in by_ext:
        return by_ext[suffix]
    raise ChangeError("Format inconnu : précisez-le (csv, turtle, ntriples, jsonld, rdfxml).",
                      "Unknown format: say which (csv, turtle, ntriples, jsonld, rdfxml).")


def _open_current(settings: Settings) -> ox.Store:
    return versions.current(settings.store_path).open_store()


_lookups: dict[str, Any] = {}


def lookup_for(settings: Settings):
    """The name resolver of the current version, kept while that version is current: its commune
    index costs about a second to build and serves every import until the next version."""
    from cohesio.contributions.lookup import Lookup

    version = versions.current(settings.store_path)
    key = f"{version.path}|{settings.base_iri}"
    # Kept in a local: another thread of the worker, on the next version, may clear the cache
    # between these lines (outside the write lock), and a second lookup would be a KeyError.
    lookup = _lookups.get(key)
    if lookup is None:
        lookup = Lookup(version.open_store(), settings.base_iri)
        _lookups.clear()
        _lookups[key] = lookup
    return lookup


def read_payload(settings: Settings, data: bytes, fmt: str) -> list[tuple]:
    """Triples (canonical IRIs, blank nodes kept) of a CSV or RDF payload; raises InputErrors."""
    if fmt == "csv":
        from cohesio.contributions.tabular import read_csv

        result = read_csv(data, lookup_for(settings))
        if result.errors:
            raise InputErrors(result.errors)
        return _from_rdflib(result.graph)
    return _parse_rdf(data, fmt, settings.base_iri)


def read_record(settings: Settings, record: dict[str, Any]) -> list[tuple]:
    """Triples of one initiative given as a JSON object with the CSV template's columns."""
    from cohesio.contributions.tabular import read_records

    from cohesio.contributions.tabular import COLUMNS

    # Values as sent: read_records turns numbers and lists of texts into cells and reports the rest
    # (true, {…}, [null]) as not text. Made text here, they became organisations named "None".
    cells = {str(k): v for k, v in record.items() if k not in ("reason",)}
    # A JSON object names only the fields it sets: the others are empty cells, not missing columns.
    for column in COLUMNS:
        cells.setdefault(column.name, "")
    result = read_records([cells], lookup_for(settings))
    if result.errors:
        raise InputErrors(result.errors)
    return _from_rdflib(result.graph)


def _parse_rdf(data: bytes, fmt: str, base_iri: str) -> list[tuple]:
    try:
        quads = list(ox.parse(data, format=RDF_FORMATS[fmt], base_iri=CANONICAL_BASE_IRI))
    except SyntaxError as exc:
        raise InputErrors([SyntaxProblem(getattr(exc, "lineno", 0) or 0, str(exc))]) from None
    except ValueError as exc:
        raise InputErrors([SyntaxProblem(0, str(exc))]) from None
    triples = []
    for q in quads:
        terms = [q.subject, q.predicate, q.object]
        if any(isinstance(t, ox.Triple) for t in terms):
            # RDF 1.2 triple terms (<<( … )>>, and the reifiers of << … >>): the dumps (JSON-LD) and
            # rdflib cannot hold them, so an accepted one would break every later build.
            raise InputErrors([SyntaxProblem(0, "triplets RDF 1.2 (<<( … )>>, << … >>) non acceptés / "
                                                "RDF 1.2 triple terms (<<( … )>>, << … >>) are not accepted",
                                             value=str(q.object)[:200])])
        if base_iri != CANONICAL_BASE_IRI:  # a deployment's own IRIs are accepted and stored canonically
            terms = [ox.NamedNode(CANONICAL_BASE_IRI + t.value[len(base_iri):])
                     if isinstance(t, ox.NamedNode) and t.value.startswith(base_iri) else t for t in terms]
        triples.append(tuple(terms))
    if not triples:
        raise InputErrors([SyntaxProblem(0, "aucun triplet / no triple")])
    return triples


def _from_rdflib(graph) -> list[tuple]:
    import rdflib

    def conv(t):
        if isinstance(t, rdflib.URIRef):
            return ox.NamedNode(str(t))
        if isinstance(t, rdflib.BNode):
            return ox.BlankNode(str(t))
        if t.language:
            return ox.Literal(str(t), language=t.language)
        return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype or rdflib.XSD.string)))

    return [(conv(s), conv(p), conv(o)) for s, p, o in graph]


def import_triples(settings: Settings, triples: list[tuple], *, agent: str, reason: str, lang: str = "en",
                   dry_run: bool = False, action: str = "import") -> Outcome:
    def plan(view: StoreView, change_iri: str) -> delta.Proposal:
        key = change_iri.rsplit("/", 1)[1]
        return delta.upsert(view, delta.skolemize(triples, key, view), change_iri, action)

    return submit(settings, plan, agent=agent, reason=reason, lang=lang, dry_run=dry_run)


def initiative_iri(slug: str) -> ox.NamedNode:
    """The initiative's IRI; NotFound for a slug no initiative can have (nor an IRI contain: ``a b``)."""
    if not delta._SLUG.fullmatch(slug):
        raise NotFound(f"Aucune initiative publiée n'a l'identifiant « {slug} ».",
                       f"No published initiative has the identifier '{slug}'.")
    return ox.NamedNode(f"{CANONICAL_BASE_IRI}id/initiative/{slug}")


def _check_if_match(view: StoreView, node: ox.NamedNode, if_match: str | None) -> None:
    if if_match and if_match.strip() != "*":
        current = delta.etag(view, node)
        wanted = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
        if current not in wanted:
            raise PreconditionFailed(
                "L'initiative a changé depuis votre lecture (If-Match ne correspond plus) : relisez-la puis "
                "renvoyez votre modification.",
                "The initiative has changed since you read it (If-Match no longer matches): read it again, then "
                "send your change again.")


def create_initiative(settings: Settings, slug: str | None, triples: list[tuple], **kw: Any) -> Outcome:
    subjects = {t[0] for t in triples if t[1].value.endswith("22-rdf-syntax-ns#type")
                and t[2].value.endswith("ontology#Initiative")}
    if len(subjects) != 1:
        raise ChangeError("Une création décrit exactement une initiative.", "A creation describes exactly one initiative.")
    node = next(iter(subjects))

    def precheck(view: StoreView) -> None:
        if view.exists(node):
            raise delta.Conflict(f"L'initiative {node.value} existe déjà : corrigez-la (PATCH) plutôt.",
                                 f"The initiative {node.value} already exists: correct it (PATCH) instead.")

    def plan(view: StoreView, change_iri: str) -> delta.Proposal:
        return delta.upsert(view, delta.skolemize(triples, change_iri.rsplit("/", 1)[1], view), change_iri, "create")

    return submit(settings, plan, precheck=precheck, **kw)


def correct_initiative(settings: Settings, slug: str, triples: list[tuple], if_match: str | None = None,
                       **kw: Any) -> Outcome:
    node = initiative_iri(slug)
    if any(t[0] != node for t in triples if not isinstance(t[0], ox.BlankNode)
           and not t[0].value.startswith(f"{CANONICAL_BASE_IRI}id/organization/")):
        raise ChangeError(f"Une correction ne décrit que l'initiative {node.value} (et les organisations nouvelles).",
                          f"A correction describes only the initiative {node.value} (and new organisations).")

    def precheck(view: StoreView) -> None:
        if not view.exists(node):
            raise NotFound(f"Aucune initiative publiée n'a l'identifiant « {slug} ».",
                           f"No published initiative has the identifier '{slug}'.")
        _check_if_match(view, node, if_match)

    def plan(view: StoreView, change_iri: str) -> delta.Proposal:
        return delta.upsert(view, delta.skolemize(triples, change_iri.rsplit("/", 1)[1], view), change_iri, "correct")

    return submit(settings, plan, precheck=precheck, **kw)


def withdraw_initiative(settings: Settings, slug: str, if_match: str | None = None, **kw: Any) -> Outcome:
    node = initiative_iri(slug)

    def precheck(view: StoreView) -> None:
        if view.exists(node):
            _check_if_match(view, node, if_match)

    return submit(settings, lambda view, _iri: delta.withdraw(view, node), precheck=precheck, **kw)


def revert_change(settings: Settings, seq: int, **kw: Any) -> Outcome:
    try:
        earlier = log.read(settings.contributions_path, seq)
    except FileNotFoundError:
        raise NotFound(f"Aucune modification n° {seq} dans le journal.", f"No change no. {seq} in the log.") from None
    return submit(settings, lambda view, _iri: delta.revert(view, earlier), **kw)


def resource_etag(settings: Settings, node: ox.NamedNode) -> str | None:
    store = _open_current(settings)
    view = StoreView(store, settings.base_iri)
    return delta.etag(view, node) if view.exists(node) else None
