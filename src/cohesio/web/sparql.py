"""``/sparql``: the SPARQL 1.1 Protocol, read-only, bounded, with no outbound request.

The handler only reads the request and renders the answer; deciding what a query is
(:mod:`cohesio.sparql.guard`), running it (:mod:`cohesio.sparql.executor`) and writing results
(:mod:`cohesio.sparql.formats`) live in the library.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, request

from cohesio.namespaces import PREFIXES
from cohesio.sparql import description, formats, guard
from cohesio.sparql.executor import Job, QueryCrashed, QueryError, QueryTimeout
from cohesio.store.errors import RemoteError
from cohesio.web.errors import ClientError, remote_failure
from cohesio.web.negotiation import negotiate

blueprint = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"


def _params(raw: bytes, where: str) -> list[tuple[str, str]]:
    """Decode form or URL parameters, refusing bytes that are not UTF-8 instead of guessing."""
    try:
        return parse_qsl(raw.decode("ascii" if where == "url" else "utf-8"), keep_blank_values=True,
                         encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ClientError(400, f"Les paramètres ({where}) ne sont pas encodés en UTF-8.",
                          f"The parameters ({where}) are not UTF-8 encoded.") from None


def _all(params: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in params if key == name]


def _read_only() -> ClientError:
    return ClientError(403, "Ce point d'accès est en lecture seule : les mises à jour SPARQL sont refusées. "
                            "L'écriture passe par l'API authentifiée.",
                       "This endpoint is read-only: SPARQL updates are refused. "
                       "Writing goes through the authenticated API.")


def _read_request() -> tuple[str | None, list[tuple[str, str]]]:
    """The query text and the dataset/format parameters, per the protocol's three operations."""
    url_params = _params(request.query_string, "url")
    if request.method in ("GET", "HEAD"):  # Flask answers HEAD with the GET view
        params = url_params
        queries = _all(params, "query")
    else:
        ctype = request.mimetype
        if ctype == FORM:
            params = _params(request.get_data(cache=False), "form") + url_params
            queries = _all(params, "query")
        elif ctype == DIRECT:
            body = request.get_data(cache=False)
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ClientError(400, "Le corps de la requête n'est pas en UTF-8.",
                                  "The request body is not UTF-8.") from None
            charset = request.mimetype_params.get("charset", "utf-8").lower()
            if charset not in ("utf-8", "utf8"):
                raise ClientError(415, f"Jeu de caractères non pris en charge : {charset} (UTF-8 seulement).",
                                  f"Unsupported charset: {charset} (UTF-8 only).")
            params = url_params
            if _all(params, "query"):
                raise ClientError(400, "La requête est à la fois dans le corps et dans l'URL.",
                                  "The query is both in the body and in the URL.")
            queries = [text]
        elif ctype == UPDATE:
            raise _read_only()
        elif not ctype:
            raise ClientError(415, "En-tête Content-Type absent : utilisez application/sparql-query ou "
                                   "application/x-www-form-urlencoded.",
                              "Missing Content-Type: use application/sparql-query or "
                              "application/x-www-form-urlencoded.")
        else:
            raise ClientError(415, f"Type de contenu non pris en charge : {ctype}. Utilisez application/sparql-query "
                                   "ou application/x-www-form-urlencoded.",
                              f"Unsupported content type: {ctype}. Use application/sparql-query or "
                              "application/x-www-form-urlencoded.")
    if _all(params, "update"):
        raise _read_only()
    if len(queries) > 1:
        raise ClientError(400, "Un seul paramètre « query » est permis.", "Only one 'query' parameter is allowed.")
    return (queries[0] if queries else None), params


@blueprint.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    settings = current_app.config["COHESIO_SETTINGS"]
    backend = current_app.extensions["cohesio.backend"]
    query, params = _read_request()
    format_param = (_all(params, "format") or [None])[0]

    if query is None:
        if request.method == "POST":
            raise ClientError(400, "Paramètre « query » manquant.", "Missing 'query' parameter.")
        return description.respond(backend, settings, format_param)

    if len(query.encode("utf-8")) > settings.max_query_bytes:
        raise ClientError(413, f"Requête trop longue (plus de {settings.max_query_bytes} octets).",
                          f"Query too long (more than {settings.max_query_bytes} bytes).")
    if not query.strip():
        raise ClientError(400, "La requête est vide.", "The query is empty.")
    try:
        inspection = guard.inspect(query)
    except guard.Refusal as refusal:
        raise ClientError(refusal.status, refusal.message_fr, refusal.message_en) from None

    candidates = formats.formats_for(inspection.form)
    fmt = negotiate(candidates, format_param, strict=bool(inspection.form))
    job = Job(
        query=query,
        format=fmt.name,
        default_graphs=tuple(_all(params, "default-graph-uri")),
        named_graphs=tuple(_all(params, "named-graph-uri")),
        # A dataset given by FROM / FROM NAMED or by named-graph-uri replaces the union default graph.
        union_default_graph=not (inspection.has_from or _all(params, "named-graph-uri")),
        max_rows=settings.max_rows,
        prefixes=tuple(PREFIXES.items()),
        public=True,
    )
    try:
        outcome = backend.run(job)
    except QueryError as exc:
        message = " ".join(str(exc).split())  # the parser's message may span lines: keep one line per language
        raise ClientError(400, f"Requête SPARQL invalide : {message}", f"Invalid SPARQL query: {message}") from None
    except RemoteError as exc:
        raise remote_failure(exc) from None
    except QueryCrashed:
        raise ClientError(503, "Le processus qui évaluait la requête s'est arrêté ; il a été remplacé. "
                               "Simplifiez la requête.",
                          "The process evaluating the query stopped; it has been replaced. Simplify the query.",
                          headers={"Retry-After": "5"}) from None
    except QueryTimeout:
        raise ClientError(
            503,
            f"La requête a dépassé la limite de {settings.query_timeout:g} secondes et a été arrêtée. "
            "Restreignez-la (LIMIT, motifs plus sélectifs).",
            f"The query ran past the {settings.query_timeout:g}-second limit and was stopped. "
            "Narrow it (LIMIT, more selective patterns).",
            headers={"Retry-After": "60"},
        ) from None

    served = formats.BY_NAME[outcome.format]
    body = outcome.body
    response = Response(status=200, content_type=served.content_type)
    if outcome.truncated:
        body = formats.announce_truncation(served, body, settings.max_rows)
        response.headers["Cohesio-Truncated"] = f"true; limit={settings.max_rows}"
    response.set_data(body)
    response.headers["Vary"] = "Accept, Origin"  # Origin: CORS may echo the caller's origin
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
