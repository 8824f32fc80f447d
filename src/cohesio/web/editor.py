"""The browser query editor: YASGUI over ``/sparql``, in French or English, with no outside request.

``GET /sparql`` from a browser (text/html preferred, no query) renders :func:`editor_page`. The
editor's files come from the npm package in ``node_modules/`` (installed by ``npm ci``) and are
served from ``/assets/yasgui/…``: nothing is loaded from a CDN. YASGUI's autocompleters that call
third-party services (LOV for classes and properties) are switched off, and a Content-Security-Policy
keeps every request on this server. Without JavaScript, or when the files are missing, a plain HTML
form still sends queries to ``/sparql``.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, g, render_template, send_from_directory, url_for

from cohesio.namespaces import PREFIXES, sparql_prologue
from cohesio.queries import NamedQuery, QueryFileError, load_queries
from cohesio.sparql import formats
from cohesio.web import i18n
from cohesio.web.i18n import _, get_lang

log = logging.getLogger(__name__)

blueprint = Blueprint("editor", __name__, template_folder="templates")
blueprint.record_once(lambda state: i18n.install(state.app))

#: The npm package that provides the editor (pinned in package.json), and the files the page loads.
PACKAGE = "@zazuko/yasgui"
SCRIPT = "yasgui.min.js"
STYLESHEET = "yasgui.min.css"
#: The asset URLs carry the package version (``?v=``), so they can be cached for a year.
ASSET_MAX_AGE = 365 * 24 * 3600

#: Shown in both languages whatever the page language: it is meant for whoever runs the server.
MISSING_ASSETS = (
    "Les fichiers de l'éditeur sont absents (node_modules/). Lancez « npm ci » (ou « make install ») "
    "dans le dossier du projet. En attendant, le formulaire ci-dessous envoie les requêtes.",
    "The editor's files are missing (node_modules/). Run 'npm ci' (or 'make install') in the project "
    "directory. Meanwhile, the form below sends queries.",
)


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    description: str
    params: list[dict[str, object]]
    query: str


def assets_dir() -> Path:
    settings = current_app.config["COHESIO_SETTINGS"]
    return Path(settings.project_dir) / "node_modules" / PACKAGE / "build"


def assets_version() -> str | None:
    """The installed package's version, or None when its files are not there."""
    directory = assets_dir()
    if not ((directory / SCRIPT).is_file() and (directory / STYLESHEET).is_file()):
        return None
    try:
        return str(json.loads((directory.parent / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "0"


def csp_nonce() -> str:
    if "cohesio_csp_nonce" not in g:
        g.cohesio_csp_nonce = secrets.token_urlsafe(16)
    return g.cohesio_csp_nonce


def secure(response: Response) -> Response:
    """Only this server may be reached by the page: scripts, styles, fetches, forms."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{csp_nonce()}'; "
        "style-src 'self' 'unsafe-inline'; "  # YASGUI and CodeMirror set inline styles
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def default_query(lang: str) -> str:
    """Every prefix, then the initiatives with their label in the page language."""
    return (
        sparql_prologue()
        + "\n"
        + "SELECT ?initiative ?label\n"
        + "WHERE {\n"
        + "  ?initiative a coh:Initiative ;\n"
        + "              rdfs:label ?label .\n"
        + f'  FILTER (lang(?label) = "{lang}")\n'
        + "}\n"
        + "ORDER BY ?label\n"
    )


def _example(query: NamedQuery, lang: str) -> Example:
    return Example(
        name=query.name,
        title=query.title_in(lang),
        description=query.description_in(lang),
        params=[{"name": p.name, "type": p.type, "default": p.default, "example": p.example,
                 "values": list(p.values)} for p in query.params],
        query=f"# {query.title_in(lang)}\n" + query.bind(header=False),
    )


def examples(lang: str) -> tuple[list[Example], str | None]:
    """The example queries of ``queries/``, or none and the (bilingual) reason they cannot be read."""
    settings = current_app.config["COHESIO_SETTINGS"]
    try:
        return [_example(q, lang) for q in load_queries(Path(settings.project_dir) / "queries")], None
    except (QueryFileError, OSError, ValueError) as exc:
        log.error("example queries unusable: %s", exc)
        return [], str(exc)


def yasgui_texts() -> dict[str, str]:
    """YASGUI's own texts, which its npm build writes in English only, in the page language.

    The page swaps them as YASGUI draws its controls (``editor.html``): only exact texts of labels,
    buttons, titles and placeholders, never the query or the results. Only those that differ from
    the English are sent."""
    texts = {
        "Run query": _("Run query"),
        "Share query": _("Share query"),
        "Add tab": _("Add tab"),
        "Close tab": _("Close tab"),
        "Open settings": _("Open settings"),
        "Request method": _("Request method"),
        "Search or add an endpoint": _("Search or add an endpoint"),
        "Clear endpoint": _("Clear endpoint"),
        "Table": _("Table"),
        "Response": _("Response"),
        "Simple view": _("Simple view"),
        "Ellipse": _("Shorten values"),
        "Filter query results": _("Filter query results"),
        "Download result": _("Download result"),
        "Download not supported": _("Download not supported"),
        "Show all": _("Show all"),
        "Page size:": _("Rows per page:"),
        "Shorten": _("Shorten"),
        "cannot render result": _("cannot render result"),
        "Try query in a new browser window": _("Try query in a new browser window"),
        "Unable to get response from endpoint. Possible reasons:":
            _("Unable to get response from endpoint. Possible reasons:"),
        "Incorrect endpoint URL": _("Incorrect endpoint URL"),
        "Endpoint is down": _("Endpoint is down"),
    }
    return {english: text for english, text in texts.items() if text != english}


def table_language() -> dict[str, str]:
    """The results table's texts (DataTables' ``language`` option, which YASR passes through)."""
    return {
        "info": _("Rows _START_ to _END_ of _TOTAL_"),
        "infoEmpty": _("No rows"),
        "infoFiltered": _("(filtered from _MAX_ rows)"),
        "zeroRecords": _("No matching rows"),
        "emptyTable": _("No results"),
        "lengthMenu": _("_MENU_ rows per page"),
        "loadingRecords": _("Loading…"),
        "search": _("Search:"),
    }


def editor_page() -> Response:
    """The editor page for the current request (called by the ``/sparql`` handler)."""
    lang = get_lang()
    endpoint = url_for("sparql.endpoint", _external=True)
    version = assets_version()
    found, examples_error = examples(lang)
    config = {
        "endpoint": endpoint,
        "lang": lang,
        "defaultQuery": default_query(lang),
        "prefixes": PREFIXES,
        "tabName": _("Query"),
        "texts": yasgui_texts(),
        "tableLanguage": table_language(),
        # "12 results in 0.03 seconds" as YASR writes it, rebuilt in the page language
        "resultsInfo": {"one": _("{n} result in {s} s"), "many": _("{n} results in {s} s"),
                        "response": _("Response in {s} s")},
        "examples": [{"name": e.name, "title": e.title, "query": e.query} for e in found],
    }
    html = render_template(
        "editor.html",
        endpoint=endpoint,
        prefixes=PREFIXES,
        default_query=config["defaultQuery"],
        examples=found,
        examples_error=examples_error,
        assets_version=version,
        script_url=url_for("editor.asset", filename=SCRIPT, v=version) if version else None,
        stylesheet_url=url_for("editor.asset", filename=STYLESHEET, v=version) if version else None,
        missing_assets=None if version else MISSING_ASSETS,
        editor_config=config,
        csp_nonce=csp_nonce(),
        solution_formats=formats.SOLUTION_FORMATS,
        graph_formats=formats.GRAPH_FORMATS,
    )
    response = Response(html, content_type="text/html; charset=utf-8")
    response.vary.add("Accept")
    response.headers["Cache-Control"] = "no-cache"
    return secure(i18n.localize(response))


@blueprint.route("/assets/yasgui/<path:filename>", methods=["GET", "HEAD"])
def asset(filename: str) -> Response:
    """A file of the editor's npm build, cached for a year (its URL changes with the version)."""
    directory = assets_dir()
    if not directory.is_dir():
        abort(404)
    response = send_from_directory(directory, filename, max_age=ASSET_MAX_AGE)
    response.cache_control.public = True
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
