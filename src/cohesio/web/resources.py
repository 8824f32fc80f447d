"""Dereferenceable resources: ``/id/…`` (303 to the document), ``/doc/…``, ``/ontology``,
``/graph/…``, each negotiating HTML, Turtle, JSON-LD, RDF/XML and N-Triples, with a stable URL per
format (``.html .ttl .jsonld .rdf .nt``). Rules in docs/linked-data.md."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, render_template, request
from markupsafe import Markup

from cohesio.linked_data import describe as d
from cohesio.linked_data import history as hist
from cohesio.linked_data.links import Linker, iri_for, is_safe_iri, url_path
from cohesio.namespaces import PREFIXES
from cohesio.sparql import formats
from cohesio.sparql.formats import Format
from cohesio.web import i18n
from cohesio.web.errors import error_response
from cohesio.web.i18n import N_, _, get_lang

blueprint = Blueprint("resources", __name__, template_folder="templates")
blueprint.record_once(lambda state: i18n.install(state.app))

HTML = Format("html", "text/html", "html", "page")
DOC_FORMATS: tuple[Format, ...] = (HTML,) + formats.GRAPH_FORMATS
BY_EXTENSION: dict[str, Format] = {f.extension: f for f in DOC_FORMATS}
CACHE = "public, max-age=300"
GRAPH_NAMES = {"guide": "the guide", "editorial": "editorial", "geography": "the official geography",
               "ontology": "the ontology", "meta": "publication metadata", "contributions": N_("Contribution"),
               "history": N_("change history")}
#: The operations of a change (``coh:action``), as the pages name them.
ACTION_NAMES = {"import": N_("import"), "create": N_("creation"), "correct": N_("correction"),
                "withdraw": N_("withdrawal"), "revert": N_("revert")}


# ------------------------------------------------------------------ shared helpers (browse.py uses them)


def backend():
    return current_app.extensions["cohesio.backend"]


def base_iri() -> str:
    manifest = getattr(backend(), "manifest", None) or {}
    return manifest.get("base_iri") or current_app.config["COHESIO_SETTINGS"].base_iri


def linker() -> Linker:
    return iri_for(request, base_iri())


def history_graph() -> str:
    """The named graph describing the accepted changes (``B graph/history``)."""
    return hist.history_graph(base_iri())


def wants_html() -> bool:
    """A browser: its Accept header names text/html (RDF clients get Turtle for */*)."""
    return "text/html" in request.headers.get("Accept", "")


def negotiate_doc() -> Format | None:
    """HTML or an RDF format from the Accept header; None when nothing fits (406)."""
    accept = request.accept_mimetypes
    if not accept:
        return formats.BY_NAME["turtle"]
    ordered = DOC_FORMATS if wants_html() else formats.GRAPH_FORMATS + (HTML,)
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


def lang_param() -> str | None:
    return get_lang() if request.args.get("lang") else None


def version_info() -> tuple[str, datetime | None]:
    b = backend()
    manifest = getattr(b, "manifest", None) or {}
    created = manifest.get("created")
    try:
        when = datetime.fromisoformat(created) if created else None
    except ValueError:
        when = None
    return str(b.version), when


def conditional(variant: str) -> tuple[str, datetime | None, Response | None]:
    """The ETag and Last-Modified of this variant, and a 304 if the client already has it."""
    version, when = version_info()
    tag = hashlib.sha256(f"{version}|{variant}|{request.host_url}|{request.query_string!r}".encode()).hexdigest()[:24]
    not_modified = None
    if request.if_none_match:
        if request.if_none_match.contains(tag) or request.if_none_match.star_tag:
            not_modified = Response(status=304)
    elif when is not None and request.if_modified_since is not None:
        if when.replace(microsecond=0) <= request.if_modified_since:
            not_modified = Response(status=304)
    if not_modified is not None:
        _stamp(not_modified, tag, when)
    return tag, when, not_modified


def _stamp(response: Response, tag: str, when: datetime | None) -> None:
    response.set_etag(tag)
    if when is not None:
        response.headers["Last-Modified"] = format_datetime(when, usegmt=True)
    response.headers["Cache-Control"] = CACHE


def schema_jsonld(data: dict) -> Markup:
    """JSON for a <script type="application/ld+json">: '<', '>' and '&' escaped so '</' never appears."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def graph_name(iri: str) -> str:
    tail = iri.rstrip("/").rsplit("/", 1)[-1]
    return _(GRAPH_NAMES[tail]) if tail in GRAPH_NAMES else tail


def action_name(action: str) -> str:
    return _(ACTION_NAMES[action]) if action in ACTION_NAMES else action


def history_url(resource: str | None = None, page: int | None = None) -> str:
    """The URL of ``/history`` (the changes about ``resource``, one page), with an explicit ``?lang`` kept."""
    args = []
    if resource:
        args.append("resource=" + quote(resource, safe=""))
    if page and page > 1:
        args.append(f"page={page}")
    if lang_param():
        args.append(f"lang={lang_param()}")
    return "/history" + ("?" + "&".join(args) if args else "")


def page_context() -> dict:
    link = linker()
    lang = get_lang()
    return {"L": link, "href": lambda iri: link.href(iri, lang_param()), "graph_name": graph_name,
            "pick": d.pick, "lp": lang_param(), "fallback": d.fallback_label, "action_name": action_name,
            "history_url": history_url}


def html_page(template: str, status: int = 200, **context) -> Response:
    html = render_template(template, **page_context(), **context)
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    return i18n.localize(response)


def _raw_query() -> str:
    """The request's query string as it came, bytes percent-quoted: carried over a redirect
    without decoding it (it may not be UTF-8)."""
    return quote(request.query_string, safe="=&%+;,/:@")


def not_found_page(iri: str | None = None) -> Response:
    if not wants_html():
        response = error_response(404, f"Aucune ressource publiée à cette adresse : {iri or request.path}",
                                  f"Nothing is published at this address: {iri or request.path}")
    else:
        response = html_page("not_found.html", status=404, iri=iri)
    # The answer depends on Accept (HTML or text): say so to caches, and keep it out of them.
    response.vary.add("Accept")
    response.headers["Cache-Control"] = "no-cache"
    return response


def gone_page(iri: str, change: hist.ChangeSummary, changes: list[hist.ChangeSummary]) -> Response:
    """410 Gone: ``iri`` was published, then withdrawn by ``change`` (who, when, why, and a link)."""
    url = linker().local(change.iri)
    if not wants_html():
        who = change.agent_label or "?"
        why_fr = f" Raison : {change.reason}" if change.reason else ""
        why_en = f" Reason: {change.reason}" if change.reason else ""
        response = error_response(
            410, f"Cette ressource a été retirée le {change.when} par {who} (modification n° {change.seq} : {url}).{why_fr}",
            f"This resource was withdrawn on {change.when} by {who} (change no. {change.seq}: {url}).{why_en}")
    else:
        labels = hist.labels_with_history(backend(), base_iri(), [iri]).get(iri, {})
        response = html_page("gone.html", status=410, iri=iri, labels=labels, change=change, changes=changes)
    response.headers["Link"] = f'<{url}>; rel="related"'
    # Like the 404: the answer depends on Accept (HTML or text), and stays out of caches.
    response.vary.add("Accept")
    response.headers["Cache-Control"] = "no-cache"
    return response


def gone_or_not_found(iri: str) -> Response:
    """The answer for an IRI nothing is published about: 410 if a change withdrew it, else 404."""
    if is_safe_iri(iri):
        change, changes = hist.withdrawn_by(backend(), base_iri(), iri)
        if change is not None:
            return gone_page(iri, change, changes)
    return not_found_page(iri)


def not_acceptable() -> Response:
    names = ", ".join(f.media_type for f in DOC_FORMATS)
    return error_response(406, f"Aucun des formats demandés n'est disponible. Formats possibles : {names}.",
                          f"None of the formats asked for is available. Formats available: {names}.")


# ------------------------------------------------------------------ documents


def _split_extension(path: str) -> tuple[str, str | None]:
    if "." in path.rsplit("/", 1)[-1]:
        stem, ext = path.rsplit(".", 1)
        if ext in BY_EXTENSION:
            return stem, ext
    return path, None


def _rdf(fmt: Format, triples, link: Linker) -> bytes:
    prefixes = {p: link.local(ns) for p, ns in PREFIXES.items()}
    return formats.write_graph(fmt, link.triples(triples), prefixes)


def _schema_org(desc: d.Description, link: Linker, lang: str) -> dict:
    types = desc.type_iris()
    coh, igeo, org = PREFIXES["coh"], PREFIXES["igeo"], PREFIXES["org"]
    props = {p.iri: p for p in desc.properties}
    data: dict = {"@context": "https://schema.org", "@id": link.local(desc.iri), "name": desc.label(lang),
                  "url": request.base_url}
    if desc.description(lang):
        data["description"] = desc.description(lang)
    if f"{coh}Initiative" in types:
        data["@type"] = "CreativeWork"
        if f"{PREFIXES['dct']}spatial" in props:
            data["spatialCoverage"] = [{"@type": "Place", "@id": link.local(v.term.value), "name": v.text(lang)}
                                       for v in props[f"{PREFIXES['dct']}spatial"].values if v.term.is_iri]
    elif types & {f"{igeo}Commune", f"{igeo}Departement", f"{igeo}Region", f"{igeo}Intercommunalite",
                  f"{coh}Place", "http://schema.org/Place", "http://schema.org/Country"}:
        data["@type"] = "Place"
        parent = props.get(f"{igeo}subdivisionDe") or props.get("http://schema.org/containedInPlace")
        if parent:
            data["containedInPlace"] = [{"@type": "Place", "@id": link.local(v.term.value), "name": v.text(lang)}
                                        for v in parent.values if v.term.is_iri]
    elif f"{org}Organization" in types or f"{org}FormalOrganization" in types:
        data["@type"] = "GovernmentOrganization" if f"{coh}jurisdiction" in props else "Organization"
    elif f"{PREFIXES['skos']}Concept" in types:
        data["@type"] = "DefinedTerm"
    else:
        data["@type"] = "Thing"
    return data


def sparql_links(iri: str) -> dict[str, str]:
    select = f"SELECT ?property ?value ?graph\nWHERE {{\n  GRAPH ?graph {{ <{iri}> ?property ?value }}\n}}\n"
    return {"editor": "/sparql#" + "query=" + quote(select, safe=""),
            "run": "/sparql?" + "query=" + quote(f"DESCRIBE <{iri}>", safe="") + "&format=turtle"}


def serve_document(iri: str, doc_path: str, ext: str | None, kind: str = "resource") -> Response:
    """The document about ``iri`` at ``/{doc_path}`` (``kind``: resource, ontology or graph)."""
    if not is_safe_iri(iri):
        return not_found_page(iri)
    if ext is not None:
        fmt = BY_EXTENSION[ext]
    else:
        fmt = negotiate_doc()
        if fmt is None:
            return not_acceptable()
    lang = get_lang()
    page = request.args.get("page", "1")
    page_no = int(page) if page.isascii() and page.isdigit() and len(page) <= 5 and int(page) > 0 else 1
    tag, when, not_modified = conditional(f"{iri}|{fmt.name}|{lang if fmt is HTML else ''}")
    b = backend()
    link = linker()
    if not_modified is None:
        if kind == "ontology":
            triples = d.ontology_triples(b, iri)
            found = bool(triples)
        elif kind == "graph":
            found = iri in b.graphs()
            triples, count = d.graph_triples(b, iri) if found else ([], 0)
        else:
            found = d.exists(b, iri, history_graph())
            triples = []
        if not found:
            return gone_or_not_found(iri) if kind == "resource" else not_found_page(iri)
        if fmt is HTML:
            desc = d.describe(b, iri, lang, page=page_no, history_graph=history_graph())
            extra: dict = {}
            if kind == "ontology":
                terms: dict[str, list] = {}
                for t in triples:
                    if t.subject.value != iri:
                        terms.setdefault(t.subject.value, []).append(t)
                extra["terms"] = [d.describe(b, term, lang) for term in sorted(terms)]
            if kind == "graph":
                extra["triple_count"] = count
            detail = None
            if kind == "resource":
                extra["queries"] = _queries_about(iri, desc, link, lang)
                extra["history"] = hist.changes_about(b, base_iri(), iri)
                if f"{hist.coh(base_iri())}Change" in desc.type_iris():
                    detail = hist.change_detail(b, base_iri(), iri, page=page_no)
            if detail is not None:
                response = html_page("change.html", desc=desc, change=detail, doc_path=doc_path,
                                     formats=DOC_FORMATS, sparql=sparql_links(iri))
            else:
                response = html_page("resource.html", desc=desc, kind=kind, doc_path=doc_path,
                                     formats=DOC_FORMATS, sparql=sparql_links(iri),
                                     jsonld=schema_jsonld(_schema_org(desc, link, lang)), **extra)
        else:
            if kind == "resource":
                triples = d.resource_triples(b, iri)
                if iri.startswith(f"{base_iri()}id/change/"):  # a change: with its statements' contents
                    triples = list(dict.fromkeys(triples + hist.statement_triples(b, base_iri(), iri)))
                doc = d.ox.NamedNode(link.canonical(request.host_url.rstrip("/") + "/" + doc_path))
                topic = d.ox.NamedNode(iri)
                triples.append(d.ox.Triple(doc, d.ox.NamedNode(d.RDF_TYPE), d.ox.NamedNode(f"{d.FOAF}Document")))
                triples.append(d.ox.Triple(doc, d.ox.NamedNode(f"{d.FOAF}primaryTopic"), topic))
            response = Response(_rdf(fmt, triples, link), content_type=fmt.content_type)
        _stamp(response, tag, when)
    else:
        response = not_modified
    base_url = "/" + url_path(doc_path)
    alternates = [f'<{base_url}.{f.extension}>; rel="alternate"; type="{f.media_type}"' for f in DOC_FORMATS]
    response.headers["Link"] = ", ".join(alternates)
    response.headers["Content-Location"] = f"{base_url}.{fmt.extension}"
    if ext is None:
        response.vary.add("Accept")
    if fmt is HTML:
        response.vary.add("Accept-Language")
        response.headers["Content-Language"] = lang
    return response


def _path_iri(path: str) -> str:
    return f"{base_iri()}id/{path}"


@blueprint.route("/id/<path:path>", methods=["GET"])
def thing(path: str) -> Response:
    """A thing is not a document: 303 See Other to its document, for browsers and RDF clients alike."""
    iri = _path_iri(path)
    if not is_safe_iri(iri) or not d.exists(backend(), iri, history_graph()):
        return gone_or_not_found(iri)
    target = "/doc/" + url_path(path)
    if request.query_string:
        target += "?" + _raw_query()
    response = redirect(target, code=303)
    response.vary.add("Accept")
    return response


def _queries_about(iri: str, desc, link: Linker, lang: str) -> list[tuple[str, str]]:
    """(title, API URL) of the named queries that take this resource as a parameter (the API
    takes the IRI itself, under the base, not its local URL)."""
    from cohesio.queries import queries_for

    settings = current_app.config["COHESIO_SETTINGS"]
    found = queries_for(iri, sorted(desc.type_iris()), base_iri=settings.base_iri,
                        directory=settings.project_dir / "queries")
    links = []
    for query, params in found:
        url = f"/api/{quote(query.name)}?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
        links.append((query.title_in(lang), url))
    return links


@blueprint.route("/doc/<path:path>", methods=["GET"])
def document(path: str) -> Response:
    iri = _path_iri(path)
    ext = None
    if not (is_safe_iri(iri) and d.exists(backend(), iri, history_graph())):
        stem, ext = _split_extension(path)
        if ext is None:
            return gone_or_not_found(iri)
        path, iri = stem, _path_iri(stem)
    return serve_document(iri, f"doc/{path}", ext)


@blueprint.route("/ontology", defaults={"ext": None}, methods=["GET"])
@blueprint.route("/ontology.<ext>", methods=["GET"])
def ontology(ext: str | None) -> Response:
    if ext is not None and ext not in BY_EXTENSION:
        return not_found_page()
    return serve_document(f"{base_iri()}ontology", "ontology", ext, kind="ontology")


@blueprint.route("/ontology/<version>", methods=["GET"])
def ontology_version(version: str) -> Response:
    """The ontology's ``owl:versionIRI``: 303 to the ontology document while it is the published
    version (one version is served at a time); any other version is unknown here."""
    iri = f"{base_iri()}ontology/{version}"
    if is_safe_iri(iri) and d.exists(backend(), iri, history_graph()):
        return redirect(f"/ontology{('?' + _raw_query()) if request.query_string else ''}", 303)
    return not_found_page(iri)


@blueprint.route("/graph/<path:name>", methods=["GET"])
def graph(name: str) -> Response:
    iri = f"{base_iri()}graph/{name}"
    ext = None
    if iri not in backend().graphs():
        name, ext = _split_extension(name)
        iri = f"{base_iri()}graph/{name}"
        if ext is None or iri not in backend().graphs():
            return not_found_page(iri)
    return serve_document(iri, f"graph/{name}", ext, kind="graph")
