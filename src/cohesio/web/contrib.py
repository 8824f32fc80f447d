"""The authenticated write API (``/contrib/…``), thin over :mod:`cohesio.contributions.service`.

Every write needs ``Authorization: Bearer <token>`` with a token the operator configured
(``write_tokens``): none → 401, an unknown one → 403. The token's name is recorded as the author of
the change. Answers are JSON, with messages in both languages and the SHACL report or the
row/column errors of a refused change. The public SPARQL endpoint stays read-only: this is the only
way to write, and it goes through the same validation as ``cohesio import``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Callable

from flask import Blueprint, Response, current_app, jsonify, request

from cohesio.config import Settings
from cohesio.contributions import service
from cohesio.contributions.delta import ChangeError, NotFound
from cohesio.contributions.writer import Busy, ChangeRefused, Outcome
from cohesio.web.i18n import negotiate_lang

blueprint = Blueprint("contrib", __name__)

#: Content types an import accepts, and the payload format each one is.
CONTENT_TYPES = {
    "text/csv": "csv",
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
}


def _settings() -> Settings:
    return current_app.config["COHESIO_SETTINGS"]


def _error(status: int, fr: str, en: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    lang = negotiate_lang()
    body = {"accepted": False, "status": status, "message": fr if lang == "fr" else en,
            "message_fr": fr, "message_en": en, **extra}
    response = jsonify(body)
    response.status_code = status
    response.headers["Content-Language"] = "fr, en"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _author() -> str | Response:
    """The name behind the request's bearer token, or the error answer."""
    settings = _settings()
    tokens = settings.tokens()
    if settings.backend != "embedded":
        return _error(501, "L'API d'écriture publie dans le stockage intégré ; avec un serveur SPARQL distant, "
                           "importez avec « cohesio import » puis « cohesio push ».",
                      "The write API publishes to the embedded store; with a remote SPARQL server, import with "
                      "'cohesio import' then 'cohesio push'.")
    if not tokens:
        return _error(403, "L'écriture est désactivée sur ce serveur (aucun jeton configuré : write_tokens).",
                      "Writing is disabled on this server (no token configured: write_tokens).")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "Authentification requise : en-tête « Authorization: Bearer <jeton> ».",
                      "Authentication required: header 'Authorization: Bearer <token>'.",
                      {"WWW-Authenticate": 'Bearer realm="cohesio"'})
    token = token.strip()
    for known, name in tokens.items():
        # Compared in constant time, so response times do not leak how much of a token was right.
        if hmac.compare_digest(known.encode(), token.encode()):
            return name
    return _error(403, "Jeton refusé : il ne correspond à aucun jeton configuré.",
                  "Token refused: it matches no configured token.",
                  {"WWW-Authenticate": 'Bearer realm="cohesio", error="invalid_token"'})


def _reason(body: dict | None = None) -> str:
    value = request.args.get("reason") or request.form.get("reason") or (body or {}).get("reason") or ""
    return value.strip() if isinstance(value, str) else ""  # {"reason": 5} is no reason (400), not a 500


def _dry_run() -> bool:
    return request.args.get("dry_run", "").lower() in ("1", "true", "yes")


def _run(action: Callable[[str], Outcome], created_status: int = 201) -> Response:
    """Authenticate, run one write, and answer with the change or the reasons it was refused."""
    author = _author()
    if isinstance(author, Response):
        return author
    lang = negotiate_lang()
    try:
        outcome = action(author)
    except service.InputErrors as exc:
        return _error(422, exc.fr, exc.en, errors=[{**e.to_json(lang), "message_fr": e.message("fr"),
                                                    "message_en": e.message("en")} for e in exc.errors])
    except ChangeRefused as exc:
        fr, en = str(exc).split(" / ", 1)
        return _error(422, fr, en, report=exc.report.to_json(lang))
    except Busy as exc:
        fr, en = str(exc).split(" / ", 1)
        return _error(503, fr, en, {"Retry-After": "5"})
    except ChangeError as exc:
        return _error(exc.status, exc.fr, exc.en, details=exc.details) if exc.details \
            else _error(exc.status, exc.fr, exc.en)
    change = outcome.change
    if change is None:
        response = jsonify({"accepted": False, "dry_run": True, "valid": True, "version": outcome.version,
                            "warnings": outcome.report.to_json(lang)["results"] if outcome.report.violations else []})
        return response
    base = request.host_url
    body = {
        "accepted": True,
        "change": change.seq,
        "iri": change.iri(_settings().base_iri),
        "url": f"{base}id/change/{change.id}",
        "version": outcome.version,
        "agent": change.agent,
        "time": change.time,
        "reason": change.reason,
        "action": change.action,
        "created": list(change.created),
        "changed": list(change.touched),
        "withdrawn": list(change.withdrawn),
        "added": len(change.added),
        "removed": len(change.removed),
        "timings": outcome.timings,
    }
    response = jsonify(body)
    response.status_code = created_status
    response.headers["Location"] = body["url"]
    return response


def _payload() -> tuple[str, bytes]:
    """The body's format (from Content-Type) and bytes; JSON records are handled by the callers."""
    media = (request.mimetype or "").lower()
    if media not in CONTENT_TYPES:
        raise ChangeError(
            f"Type de contenu non pris en charge : « {media or 'aucun'} » (acceptés : {', '.join(CONTENT_TYPES)}).",
            f"Unsupported content type: '{media or 'none'}' (accepted: {', '.join(CONTENT_TYPES)}).")
    return CONTENT_TYPES[media], request.get_data(cache=False)


def _unsupported(exc: ChangeError) -> Response:
    return _error(415, exc.fr, exc.en)


def _limit_body() -> None:
    request.max_content_length = _settings().max_upload_bytes


@blueprint.post("/contrib/import")
def import_() -> Response:
    """Create and correct initiatives from a CSV template or an RDF document."""
    _limit_body()
    settings = _settings()

    def action(author: str) -> Outcome:
        try:
            fmt, data = _payload()
        except ChangeError as exc:
            raise _Early(_unsupported(exc)) from None
        return service.import_triples(settings, service.read_payload(settings, data, fmt), agent=author,
                                      reason=_reason(), lang=negotiate_lang(), dry_run=_dry_run())

    return _guarded(action)


def _record_or_rdf(settings: Settings) -> tuple[list[tuple] | None, dict | None, Response | None]:
    """The triples of one initiative sent as JSON (template columns) or as RDF."""
    if (request.mimetype or "").lower() == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return None, None, _error(400, "Le corps doit être un objet JSON (colonnes du modèle CSV).",
                                      "The body must be a JSON object (the CSV template's columns).")
        try:  # "\ud800" is valid JSON but no text: it cannot be stored, nor written to the log
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return None, None, _error(400, "Le corps JSON contient une moitié de paire UTF-16 isolée (\\ud800…) : "
                                           "ce n'est pas du texte.",
                                      "The JSON body holds a lone UTF-16 surrogate (\\ud800…): that is not text.")
        return None, body, None
    try:
        fmt, data = _payload()
    except ChangeError as exc:
        return None, None, _unsupported(exc)
    if fmt == "csv":
        return None, None, _error(415, "Une initiative s'envoie en JSON ou en RDF ; un CSV va à /contrib/import.",
                                  "One initiative is sent as JSON or RDF; a CSV goes to /contrib/import.")
    return service.read_payload(settings, data, fmt), None, None


@blueprint.post("/contrib/initiatives")
def create() -> Response:
    _limit_body()
    settings = _settings()

    def action(author: str) -> Outcome:
        triples, record, problem = _record_or_rdf(settings)
        if problem is not None:
            raise _Early(problem)
        if record is not None:
            triples = service.read_record(settings, record)
        return service.create_initiative(settings, None, triples, agent=author, reason=_reason(record),
                                         lang=negotiate_lang(), dry_run=_dry_run())

    response = _guarded(action)
    if response.status_code == 201:
        created = [i for i in response.get_json()["created"] if "/id/initiative/" in i]
        if created:
            response.headers["Location"] = f"{request.host_url}id/initiative/{created[0].rsplit('/', 1)[1]}"
    return response


@blueprint.get("/contrib/initiatives/<slug>")
def read(slug: str) -> Response:
    """The validator (ETag) of an initiative's current description, to send back in If-Match."""
    settings = _settings()
    try:
        node = service.initiative_iri(slug)
    except ChangeError as exc:
        return _error(exc.status, exc.fr, exc.en)
    tag = service.resource_etag(settings, node)
    if tag is None:
        return _error(404, f"Aucune initiative publiée n'a l'identifiant « {slug} ».",
                      f"No published initiative has the identifier '{slug}'.")
    from cohesio.contributions.writer import changes_for

    response = jsonify({"iri": node.value, "etag": tag,
                        "changes": [c.seq for c in changes_for(settings, node.value)]})
    response.headers["ETag"] = f'"{tag}"'
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.patch("/contrib/initiatives/<slug>")
def correct(slug: str) -> Response:
    _limit_body()
    settings = _settings()

    def action(author: str) -> Outcome:
        triples, record, problem = _record_or_rdf(settings)
        if problem is not None:
            raise _Early(problem)
        if record is not None:
            # Checked before reading the record: for a slug that is not published, the columns would
            # be read as a new initiative's and answered with missing cells (422), not 404.
            if service.resource_etag(settings, service.initiative_iri(slug)) is None:
                raise NotFound(f"Aucune initiative publiée n'a l'identifiant « {slug} ».",
                               f"No published initiative has the identifier '{slug}'.")
            record = dict(record)
            record["id"] = slug
            triples = service.read_record(settings, record)
        return service.correct_initiative(settings, slug, triples, if_match=request.headers.get("If-Match"),
                                          agent=author, reason=_reason(record), lang=negotiate_lang(),
                                          dry_run=_dry_run())

    return _guarded(action, 200)


@blueprint.delete("/contrib/initiatives/<slug>")
def withdraw(slug: str) -> Response:
    settings = _settings()
    return _run(lambda author: service.withdraw_initiative(
        settings, slug, if_match=request.headers.get("If-Match"), agent=author, reason=_reason(),
        lang=negotiate_lang(), dry_run=_dry_run()), 200)


@blueprint.post("/contrib/changes/<int:seq>/revert")
def revert(seq: int) -> Response:
    settings = _settings()
    return _run(lambda author: service.revert_change(settings, seq, agent=author, reason=_reason(),
                                                     lang=negotiate_lang(), dry_run=_dry_run()))


class _Early(Exception):
    """An answer decided while reading the body, after authentication."""

    def __init__(self, response: Response) -> None:
        super().__init__("early answer")
        self.response = response


def _guarded(action: Callable[[str], Outcome], status: int = 201) -> Response:
    try:
        return _run(action, 200 if _dry_run() else status)
    except _Early as early:
        return early.response
