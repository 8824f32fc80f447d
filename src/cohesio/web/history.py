"""The history of the data: ``/history`` (the accepted changes, newest first, paged, filtered by
``?resource=``) and the export of the history graph, ``/history.ttl .nt .jsonld .rdf``.

``/history`` negotiates: HTML for browsers, the history graph in an RDF format for RDF clients
(Turtle for ``*/*``, as for documents), and ``application/json`` for a plain list of the changes
(the page asked for, with its filter). Each format also has its own URL, ``/history.{ext}``
(``.html`` and ``.json`` too). Everything comes from ``B graph/history`` through the backend
(:mod:`cohesio.linked_data.history`). Rules in docs/linked-data.md.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from cohesio.linked_data import describe as d
from cohesio.linked_data import history as hist
from cohesio.linked_data.links import is_safe_iri
from cohesio.sparql import formats
from cohesio.sparql.formats import Format
from cohesio.web import i18n
from cohesio.web.errors import ClientError, error_response
from cohesio.web.i18n import get_lang
from cohesio.web.resources import (HTML, _rdf, _stamp, backend, base_iri, conditional, history_url, html_page,
                                   linker, not_found_page, wants_html)

blueprint = Blueprint("history", __name__, template_folder="templates")
blueprint.record_once(lambda state: i18n.install(state.app))

JSON_LIST = Format("json", "application/json", "json", "list")
HISTORY_FORMATS: tuple[Format, ...] = (HTML, JSON_LIST) + formats.GRAPH_FORMATS
BY_EXTENSION: dict[str, Format] = {f.extension: f for f in HISTORY_FORMATS}


def _negotiate() -> Format | None:
    """HTML for a browser, else an RDF format (Turtle wins ties), or the JSON list; None: 406."""
    accept = request.accept_mimetypes
    if not accept:
        return formats.BY_NAME["turtle"]
    ordered = (HTML,) + formats.GRAPH_FORMATS + (JSON_LIST,) if wants_html() \
        else formats.GRAPH_FORMATS + (JSON_LIST, HTML)
    offers: dict[str, Format] = {}
    for fmt in ordered:
        offers[fmt.media_type] = fmt
        if fmt is HTML:
            offers["application/xhtml+xml"] = HTML
    for alias, name in formats.ALIASES.items():
        fmt = formats.BY_NAME[name]
        if fmt in ordered:
            offers.setdefault(alias, fmt)
    best = accept.best_match(list(offers))
    return offers[best] if best else None


def _page_number() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and len(page) <= 5 and int(page) > 0 else 1


def _resource() -> str | None:
    """The ``?resource=`` filter as an IRI under the base: its URL on this server, or its document's
    URL, name the same resource."""
    value = request.args.get("resource", "").strip()
    if not value:
        return None
    iri = linker().canonical(value)
    base = base_iri()
    if iri.startswith(f"{base}doc/"):
        iri = f"{base}id/{iri[len(base) + 4:]}"
    if not is_safe_iri(iri):
        raise ClientError(400, f"Paramètre resource invalide : « {value} » n'est pas une IRI.",
                          f"Invalid resource parameter: '{value}' is not an IRI.")
    return iri


def _sparql_editor(graph: str) -> str:
    """A link to the SPARQL editor with a query listing the changes (YASGUI reads the fragment)."""
    query = ("PREFIX prov: <http://www.w3.org/ns/prov#>\n"
             "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
             f"PREFIX coh: <{hist.coh(base_iri())}>\n"
             "SELECT ?change ?time ?author ?action ?reason\n"
             f"WHERE {{\n  GRAPH <{graph}> {{\n"
             "    ?change a coh:Change ; coh:sequence ?n ; prov:endedAtTime ?time ; coh:action ?action ;\n"
             "      prov:wasAssociatedWith/rdfs:label ?author .\n"
             "    OPTIONAL { ?change rdfs:comment ?reason }\n  }\n}\nORDER BY DESC(?n)\n")
    return "/sparql#query=" + quote(query, safe="")


def serve(ext: str | None) -> Response:
    if ext is not None:
        fmt = BY_EXTENSION.get(ext)
        if fmt is None:
            return not_found_page()
    else:
        fmt = _negotiate()
        if fmt is None:
            names = ", ".join(f.media_type for f in HISTORY_FORMATS)
            response = error_response(406, f"Aucun des formats demandés n'est disponible. Formats possibles : {names}.",
                                      f"None of the formats asked for is available. Formats available: {names}.")
            response.vary.add("Accept")
            return response
    lang = get_lang()
    resource = _resource()
    page = _page_number()
    tag, when, not_modified = conditional(f"history|{fmt.name}|{lang if fmt is HTML else ''}")
    b, base = backend(), base_iri()
    link = linker()
    if not_modified is not None:
        response = not_modified
    elif fmt.kind == "graph":
        triples, truncated = hist.history_triples(b, base)
        response = Response(_rdf(fmt, triples, link), content_type=fmt.content_type)
        if truncated:
            response.headers["Cohesio-Truncated"] = "true"
    else:
        total = hist.count_changes(b, base, resource)
        pages = max(1, -(-total // d.PAGE_SIZE))
        page = min(page, pages)
        changes = hist.list_changes(b, base, page, d.PAGE_SIZE, resource)
        if fmt is JSON_LIST:
            response = jsonify({
                "total": total, "page": page, "pages": pages, "page_size": d.PAGE_SIZE,
                "resource": link.local(resource) if resource else None,
                "changes": [c.to_json(link.local) for c in changes],
            })
            if page < pages:
                response.headers["Link"] = f'<{_list_url(resource, page + 1, "json")}>; rel="next"'
        else:
            iris = {i for c in changes for _, i in c.targets()}
            labels = hist.labels_with_history(b, base, iris | ({resource} if resource else set()))
            args = request.query_string.decode("ascii", "replace")
            response = html_page("history.html", changes=changes, labels=labels, total=total, page=page,
                                 pages=pages, resource=resource,
                                 resource_labels=labels.get(resource, {}) if resource else {},
                                 rdf_formats=formats.GRAPH_FORMATS,
                                 graph=hist.history_graph(base) if hist.history_graph(base) in b.graphs() else None,
                                 json_url="/history.json" + (f"?{args}" if args else ""),
                                 sparql_editor=_sparql_editor(hist.history_graph(base)))
    if not_modified is None:
        _stamp(response, tag, when)
    alternates = [f'</history.{f.extension}>; rel="alternate"; type="{f.media_type}"' for f in HISTORY_FORMATS]
    response.headers["Link"] = ", ".join(filter(None, [response.headers.get("Link"), *alternates]))
    response.headers["Content-Location"] = f"/history.{fmt.extension}"
    if ext is None:
        response.vary.add("Accept")
    if fmt is HTML:
        response.vary.add("Accept-Language")
        response.headers["Content-Language"] = lang
    return response


def _list_url(resource: str | None, page: int, ext: str) -> str:
    return history_url(resource, page).replace("/history", f"/history.{ext}", 1)


@blueprint.route("/history", defaults={"ext": None}, methods=["GET"])
@blueprint.route("/history.<ext>", methods=["GET"])
def history(ext: str | None) -> Response:
    return serve(ext)
