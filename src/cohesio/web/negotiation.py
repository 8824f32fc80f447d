"""Content negotiation over Werkzeug's Accept parsing (q-values, ``*/*``, ``type/*``)."""

from __future__ import annotations

from flask import request

from cohesio.sparql import formats
from cohesio.sparql.formats import Format
from cohesio.web.errors import ClientError


def _by_format_param(candidates: tuple[Format, ...], value: str) -> Format:
    wanted = formats.BY_NAME.get(value) or formats.BY_MEDIA.get(value) or formats.BY_NAME.get(
        formats.ALIASES.get(value, ""))
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
    accept = request.accept_mimetypes
    if not accept:
        return candidates[0]
    offers: dict[str, Format] = {}
    for fmt in candidates:
        offers[fmt.media_type] = fmt
    for alias, name in formats.ALIASES.items():
        fmt = formats.BY_NAME[name]
        if fmt in candidates:
            offers.setdefault(alias, fmt)
    best = accept.best_match(list(offers))
    if best is None:
        if not strict:
            return candidates[0]
        names = ", ".join(f.media_type for f in candidates)
        raise ClientError(406, f"Aucun des formats demandés n'est disponible. Formats possibles : {names}.",
                          f"None of the formats asked for is available. Formats available: {names}.")
    return offers[best]
