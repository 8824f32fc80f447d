"""Content negotiation over Werkzeug's Accept parsing (q-values, ``*/*``, ``type/*``)."""

from __future__ import annotations

from functools import lru_cache

from flask import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from cohesio.sparql import formats
from cohesio.sparql.formats import Format
from cohesio.web.errors import ClientError


#: Other spellings of the ``format`` parameter that clients send (SPARQLWrapper sends ``rdf+xml``,
#: ``json-ld``, ``n3``, and ``xml`` for a CONSTRUCT by default), and the file extensions.
FORMAT_PARAM_ALIASES: dict[str, str] = {
    "rdf+xml": "rdfxml", "rdf": "rdfxml", "json-ld": "jsonld", "ld+json": "jsonld", "n3": "turtle",
    "ttl": "turtle", "nt": "ntriples", "n-triples": "ntriples", "srj": "json", "srx": "xml",
}
#: For a graph result (CONSTRUCT, DESCRIBE), "xml" and "json" mean the RDF format in that syntax.
GRAPH_EQUIVALENTS: dict[str, str] = {"xml": "rdfxml", "json": "jsonld"}


def _by_format_param(candidates: tuple[Format, ...], value: str) -> Format:
    key = value.strip().lower()
    if candidates and candidates[0].kind == "graph" and key in GRAPH_EQUIVALENTS:
        key = GRAPH_EQUIVALENTS[key]
    wanted = formats.BY_NAME.get(key) or formats.BY_MEDIA.get(key) or formats.BY_NAME.get(
        formats.ALIASES.get(key, "") or FORMAT_PARAM_ALIASES.get(key, ""))
    names = ", ".join(f.name for f in candidates)
    if wanted is None:
        raise ClientError(400, f"Format inconnu « {value} ». Formats possibles ici : {names}.",
                          f"Unknown format '{value}'. Formats available here: {names}.")
    if wanted not in candidates:
        raise ClientError(406, f"Le format « {value} » ne convient pas à ce résultat. Formats possibles : {names}.",
                          f"Format '{value}' does not fit this result. Formats available: {names}.")
    return wanted


def negotiate(candidates: tuple[Format, ...], format_param: str | None = None, strict: bool = True) -> Format:
    """The best of ``candidates`` for this request: the ``format`` parameter, else the Accept header.

    No Accept header (or ``*/*``) gives the first candidate. An Accept header none of the
    candidates satisfies is a 406 when ``strict``; otherwise (a query that will fail to parse
    anyway) the first candidate, so the client gets the syntax error rather than a 406.
    """
    if format_param:
        return _by_format_param(candidates, format_param)
    header = request.headers.get("Accept", "")
    best = _best_match(header, candidates) if header else candidates[0]
    if best is None:
        if not strict:
            return candidates[0]
        names = ", ".join(f.media_type for f in candidates)
        raise ClientError(406, f"Aucun des formats demandés n'est disponible. Formats possibles : {names}.",
                          f"None of the formats asked for is available. Formats available: {names}.")
    return best


@lru_cache(maxsize=512)
def _best_match(header: str, candidates: tuple[Format, ...]) -> Format | None:
    """Werkzeug's matching of one Accept header against one list of formats, remembered: clients
    send the same few headers again and again, and the matching (q-values, wildcards, every alias)
    was a third of the endpoint's own time on a small query (benchmarks/endpoint.py)."""
    accept = parse_accept_header(header, MIMEAccept)
    if not accept:
        return candidates[0]
    offers: dict[str, Format] = {}
    for fmt in candidates:
        offers[fmt.media_type] = fmt
    for fmt in candidates:  # werkzeug matches parameters exactly: "text/csv; charset=utf-8" needs its own offer
        offers[fmt.content_type] = fmt
    for alias, name in formats.ALIASES.items():
        fmt = formats.BY_NAME[name]
        if fmt in candidates:
            offers.setdefault(alias, fmt)
    best = accept.best_match(list(offers))
    return None if best is None else offers[best]
