"""``/api``: the named queries of ``queries/`` as a small REST API, its OpenAPI description and
its documentation page. Thin: validating, binding, paging and formatting live in :mod:`cohesio.api`."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request, url_for

from cohesio import api
from cohesio.namespaces import PREFIXES
from cohesio.queries import NamedQuery, QueryFileError, load_queries, queries_graph
from cohesio.sparql.executor import QueryCrashed, QueryError, QueryTimeout
from cohesio.store.errors import RemoteError
from cohesio.web import i18n
from cohesio.web.errors import ClientError, remote_failure

blueprint = Blueprint("api", __name__, template_folder="templates")
blueprint.record_once(lambda state: i18n.install(state.app))


def _queries() -> dict[str, NamedQuery]:
    settings = current_app.config["COHESIO_SETTINGS"]
    try:
        found = load_queries(Path(settings.project_dir) / "queries")
    except (QueryFileError, OSError) as exc:
        raise ClientError(500, f"Requêtes nommées illisibles : {exc}", f"Named queries unreadable: {exc}") from None
    return {q.name: q for q in found}


def _query(name: str) -> NamedQuery:
    found = _queries().get(name)
    if found is None:
        raise ClientError(404, f"Aucune requête nommée « {name} ». La liste est sur /api.",
                          f"No named query '{name}'. The list is at /api.")
    return found


def _args() -> list[tuple[str, str]]:
    try:
        return parse_qsl(request.query_string.decode("ascii"), keep_blank_values=True, encoding="utf-8",
                         errors="strict")
    except UnicodeDecodeError:
        raise ClientError(400, "Les paramètres de l'URL ne sont pas encodés en UTF-8.",
                          "The URL parameters are not UTF-8 encoded.") from None


def _negotiate(extension: str | None) -> api.OutputFormat:
    if extension is not None:
        return api.BY_EXTENSION[extension]
    accept = request.accept_mimetypes
    if not accept:
        return api.OUTPUT_FORMATS[0]
    offers = {f.media_type: f for f in api.OUTPUT_FORMATS}
    offers.update({f.content_type: f for f in api.OUTPUT_FORMATS})
    offers.update({"application/xml": api.BY_EXTENSION["srx"], "text/xml": api.BY_EXTENSION["srx"]})
    best = accept.best_match(list(offers))
    if best is None:
        names = ", ".join(f.media_type for f in api.OUTPUT_FORMATS)
        raise ClientError(406, f"Aucun des formats demandés n'est disponible. Formats possibles : {names}.",
                          f"None of the formats asked for is available. Formats available: {names}.")
    return offers[best]


def _page_url(args: list[tuple[str, str]], limit: int, offset: int) -> str:
    kept = [(k, v) for k, v in args if k not in ("limit", "offset")]
    kept += [("limit", str(limit)), ("offset", str(offset))]
    return f"{request.base_url}?{urlencode(kept)}"


@blueprint.route("/api/<string:name>", methods=["GET"])
def run(name: str) -> Response:
    settings = current_app.config["COHESIO_SETTINGS"]
    backend = current_app.extensions["cohesio.backend"]
    extension = None
    stem, dot, ext = name.rpartition(".")
    if dot and ext in api.BY_EXTENSION:
        name, extension = stem, ext
    query = _query(name)
    fmt = _negotiate(extension)
    args = _args()
    try:
        call = api.read_call(query, args, settings.max_rows)
        job = call.job(settings.max_rows, PREFIXES.items())
    except api.ApiError as exc:
        raise ClientError(exc.status, exc.message_fr, exc.message_en) from None
    try:
        outcome = backend.run(job)
    except QueryError as exc:
        message = " ".join(str(exc).split())
        raise ClientError(500, f"La requête nommée « {name} » a échoué : {message}",
                          f"Named query '{name}' failed: {message}") from None
    except RemoteError as exc:
        raise remote_failure(exc) from None
    except QueryCrashed:
        raise ClientError(503, f"Le processus qui évaluait la requête « {name} » s'est arrêté ; réessayez.",
                          f"The process evaluating query '{name}' stopped; try again.",
                          headers={"Retry-After": "5"}) from None
    except QueryTimeout:
        raise ClientError(
            503,
            f"La requête a dépassé la limite de {settings.query_timeout:g} secondes et a été arrêtée. "
            "Demandez des pages plus petites (limit).",
            f"The query ran past the {settings.query_timeout:g}-second limit and was stopped. "
            "Ask for smaller pages (limit).",
            headers={"Retry-After": "60"},
        ) from None
    page = api.read_page(call, outcome.body, outcome.truncated, outcome.seconds)
    links = []
    next_url = None
    if page.has_next:
        next_url = _page_url(args, call.limit, call.offset + call.limit)
        links.append(f'<{next_url}>; rel="next"')
    if call.offset:
        links.append(f'<{_page_url(args, call.limit, max(0, call.offset - call.limit))}>; rel="prev"')
    response = Response(api.render(page, fmt, next_url, settings.max_rows), status=200,
                        content_type=fmt.content_type)
    if links:
        response.headers["Link"] = ", ".join(links)
    if page.truncated:
        response.headers["Cohesio-Truncated"] = f"true; limit={settings.max_rows}"
    response.headers["Vary"] = "Accept, Origin"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@blueprint.route("/api/openapi.json", methods=["GET"])
def openapi() -> Response:
    settings = current_app.config["COHESIO_SETTINGS"]
    document = api.openapi(list(_queries().values()), settings.max_rows, request.host_url)
    return Response(json.dumps(document, ensure_ascii=False, indent=1), content_type="application/json; charset=utf-8")


@blueprint.route("/api/queries.ttl", methods=["GET"])
def queries_turtle() -> Response:
    settings = current_app.config["COHESIO_SETTINGS"]
    triples = queries_graph(list(_queries().values()), settings.base_iri)
    prefixes = {"sh": "http://www.w3.org/ns/shacl#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
                "dct": "http://purl.org/dc/terms/"}
    body = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    return Response(body, content_type="text/turtle; charset=utf-8")


@blueprint.route("/api", methods=["GET"])
@blueprint.route("/api/", methods=["GET"])
def documentation() -> Response:
    lang = i18n.get_lang()
    entries = []
    for query in _queries().values():
        example = {p.name: p.example for p in query.params if p.example}
        entries.append({
            "query": query,
            "title": query.title_in(lang),
            "description": query.description_in(lang),
            "try": url_for("api.run", name=query.name) + ("?" + urlencode(example) if example else ""),
            "csv": url_for("api.run", name=query.name + ".csv"),
        })
    html = render_template("api.html", entries=entries, formats=api.OUTPUT_FORMATS,
                           max_rows=current_app.config["COHESIO_SETTINGS"].max_rows)
    response = Response(html, content_type="text/html; charset=utf-8")
    return i18n.localize(response)
