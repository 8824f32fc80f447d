"""Bilingual error answers: every error says what is wrong, in French and in English."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

#: Generic texts for the statuses werkzeug raises by itself (405, 404…).
GENERIC: dict[int, tuple[str, str]] = {
    400: ("Requête invalide.", "Bad request."),
    404: ("Cette adresse ne correspond à aucune ressource.", "Nothing is published at this address."),
    405: ("Méthode HTTP non permise pour cette adresse.", "HTTP method not allowed at this address."),
    406: ("Aucun des formats demandés (en-tête Accept) n'est disponible.",
          "None of the formats asked for (Accept header) is available."),
    413: ("Requête trop grande.", "Request too large."),
    415: ("Type de contenu non pris en charge.", "Unsupported content type."),
    500: ("Erreur interne du serveur.", "Internal server error."),
    503: ("Service momentanément indisponible.", "Service temporarily unavailable."),
}


class ClientError(HTTPException):
    """An HTTP error with its message in both languages."""

    def __init__(self, status: int, message_fr: str, message_en: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description=f"{message_fr}\n{message_en}")
        self.code = status
        self.message_fr = message_fr
        self.message_en = message_en
        self.extra_headers = headers or {}


def remote_failure(exc: Exception) -> ClientError:
    """The answer when the remote SPARQL server fails: 503 if unreachable (retry later), else 502."""
    from cohesio.store.errors import RemoteUnavailable

    status = 503 if isinstance(exc, RemoteUnavailable) else 502
    return ClientError(status, f"Le serveur SPARQL distant n'a pas répondu correctement : {exc}",
                       f"The remote SPARQL server did not answer properly: {exc}",
                       headers={"Retry-After": "30"} if status == 503 else None)


def error_response(status: int, message_fr: str, message_en: str, headers: dict[str, str] | None = None) -> Response:
    body = f"{status} — {message_fr}\n{status} — {message_en}\n"
    response = Response(body, status=status, content_type="text/plain; charset=utf-8")
    response.headers["Content-Language"] = "fr, en"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        if isinstance(exc, ClientError):
            return error_response(exc.code, exc.message_fr, exc.message_en, exc.extra_headers)
        fr, en = GENERIC.get(exc.code or 500, (exc.name, exc.name))
        if exc.code == 413 and request.path.startswith("/contrib/"):
            limit = app.config["COHESIO_SETTINGS"].max_upload_bytes
            fr = f"Envoi trop grand : au plus {limit} octets par import ; découpez le fichier."
            en = f"Upload too large: at most {limit} bytes per import; split the file."
        elif exc.code == 413:
            limit = app.config["COHESIO_SETTINGS"].max_query_bytes
            fr = f"Requête trop grande : une requête SPARQL fait au plus {limit} octets."
            en = f"Request too large: a SPARQL query is at most {limit} bytes."
        response = error_response(exc.code or 500, fr, en)
        if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    # Pages, documents and the other views query the backend too. A query that ran out of time
    # (including the wait for a free query process while heavy queries hold them all), a query
    # process that died, or a failing remote server are the documented 503/502, never a 500.
    from cohesio.sparql.executor import QueryCrashed, QueryTimeout
    from cohesio.store.errors import RemoteError

    @app.errorhandler(QueryTimeout)
    def _query_timeout(exc: QueryTimeout):  # type: ignore[no-untyped-def]
        limit = app.config["COHESIO_SETTINGS"].query_timeout
        return error_response(503, f"Le serveur n'a pas pu répondre en {limit:g} secondes (trop de requêtes en cours). "
                                   "Réessayez dans un instant.",
                              f"The server could not answer within {limit:g} seconds (too many queries running). "
                              "Try again shortly.", {"Retry-After": "30"})

    @app.errorhandler(QueryCrashed)
    def _query_crashed(exc: QueryCrashed):  # type: ignore[no-untyped-def]
        return error_response(503, "Le processus qui évaluait une requête s'est arrêté ; il a été remplacé. Réessayez.",
                              "The process evaluating a query stopped; it has been replaced. Try again.",
                              {"Retry-After": "5"})

    from cohesio.linked_data.search import IndexNotReady

    @app.errorhandler(IndexNotReady)
    def _index_not_ready(exc: IndexNotReady):  # type: ignore[no-untyped-def]
        # First use of a version published without a search index: it is being built (once, in the
        # background); the pages that list or search answer again as soon as it is there.
        return error_response(503, "L'index de recherche et des listes de cette version est en cours de préparation ; "
                                   "réessayez dans une minute.",
                              "The search and listing index of this version is being prepared; try again in a minute.",
                              {"Retry-After": "30"})

    @app.errorhandler(RemoteError)
    def _remote_error(exc: RemoteError):  # type: ignore[no-untyped-def]
        failure = remote_failure(exc)
        return error_response(failure.code, failure.message_fr, failure.message_en, failure.extra_headers)
