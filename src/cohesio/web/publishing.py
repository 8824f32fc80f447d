"""Open-data publication surfaces: /catalog, /.well-known/void, /dumps/…, /sitemap.xml, /robots.txt.

Thin over :mod:`cohesio.publishing`: the build wrote the files and the manifest; this module
picks the version, the format and the service root (the request's host URL), and serves.
No redirect anywhere (harvesters refuse them on the catalogue URL and check that URLs answer 200).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request, send_file

from cohesio import versions
from cohesio.publishing import DUMPS_DIR, SHA256SUMS, ConfigError, load_metadata
from cohesio.publishing import dcat, sitemap, void
from cohesio.publishing.dumps import BY_FILENAME
from cohesio.sparql import formats
from cohesio.sparql.formats import Format
from cohesio.web.errors import ClientError
from cohesio.web.negotiation import negotiate

blueprint = Blueprint("publishing", __name__)

BY_EXTENSION: dict[str, Format] = {f.extension: f for f in formats.GRAPH_FORMATS}
RDFLIB_FORMAT = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "jsonld": "json-ld"}

CATALOG_CACHE = "public, max-age=300"
LATEST_CACHE = "public, max-age=300, must-revalidate"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"


def _settings():
    return current_app.config["COHESIO_SETTINGS"]


def _root() -> str:
    """The service root: where this server answers (scheme, host, port, script root), with '/'."""
    return request.host_url.rstrip("/") + request.script_root + "/"


def _version() -> versions.Version:
    settings = _settings()
    if settings.backend != "embedded":
        raise ClientError(404, "Les fichiers publiés ne sont servis qu'avec le stockage intégré (backend « embedded »).",
                          "Published files are only served with the embedded backend.")
    try:
        return versions.current(settings.store_path)
    except versions.NoBuildError:
        raise ClientError(503, "Aucune version publiée : lancez « cohesio build ».",
                          "No published version: run 'cohesio build'.") from None


def _artefacts(version: versions.Version) -> dict[str, Any]:
    artefacts = version.manifest.get("artefacts")
    if not artefacts:
        raise ClientError(404, "Cette version a été construite sans fichiers de publication : reconstruisez-la.",
                          "This version was built without publication files: build it again.")
    return artefacts


def _metadata():
    try:
        return load_metadata(_settings())
    except ConfigError as exc:
        raise ClientError(500, str(exc).split(" / ")[0], str(exc).split(" / ")[-1]) from None


def _format(extension: str | None) -> tuple[Format, bool]:
    """The format from the extension, else from the Accept header (then ``Vary: Accept``)."""
    if extension is not None:
        fmt = BY_EXTENSION.get(extension)
        if fmt is None:
            names = ", ".join("." + e for e in BY_EXTENSION)
            raise ClientError(404, f"Extension inconnue « .{extension} ». Extensions possibles : {names}.",
                              f"Unknown extension '.{extension}'. Extensions available: {names}.")
        return fmt, False
    return negotiate(formats.GRAPH_FORMATS, request.args.get("format")), True


def _rdf_response(graph, fmt: Format, negotiated: bool, cache: str) -> Response:
    body = graph.serialize(format=RDFLIB_FORMAT[fmt.name], encoding="utf-8")
    response = Response(body, status=200, content_type=fmt.content_type)
    response.headers["Cache-Control"] = cache
    if negotiated:
        response.headers["Vary"] = "Accept"
    return response


def _page() -> int:
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) < 1:
        raise ClientError(400, f"Paramètre « page » invalide : {raw!r} (entier ≥ 1).",
                          f"Invalid 'page' parameter: {raw!r} (integer ≥ 1).")
    return int(raw)


# ------------------------------------------------------------------ catalogue


@blueprint.route("/catalog", defaults={"extension": None}, methods=["GET"])
@blueprint.route("/catalog.<extension>", methods=["GET"])
def catalog(extension: str | None) -> Response:
    fmt, negotiated = _format(extension)
    version = _version()
    metadata = _metadata()
    page = _page()
    spdx = request.args.get("checksums") == "spdx"
    root = _root()
    # Every page in the format of the first: pages of a negotiated /catalog link to the
    # extension URL of the format that was served.
    path = f"{root}catalog.{fmt.extension}"

    def page_url(n: int) -> str:
        query = [f"page={n}"] + (["checksums=spdx"] if spdx else [])
        return f"{path}?{'&'.join(query)}"

    manifest = dict(version.manifest)
    manifest.setdefault("artefacts", {})
    try:
        graph = dcat.build_catalog(metadata, manifest, root, page=page, page_url=page_url,
                                   spdx_checksums=spdx)
    except dcat.PageOutOfRange as exc:
        raise ClientError(404, f"Page {exc.page} inexistante : le catalogue a {exc.pages} page(s).",
                          f"No page {exc.page}: the catalogue has {exc.pages} page(s).") from None
    response = _rdf_response(graph, fmt, negotiated, CATALOG_CACHE)
    modified = _http_date(version.manifest.get("created"))
    if modified:
        response.headers["Last-Modified"] = modified
    return response


# ------------------------------------------------------------------ VoID


@blueprint.route("/.well-known/void", defaults={"extension": None}, methods=["GET"])
@blueprint.route("/.well-known/void.<extension>", methods=["GET"])
def void_description(extension: str | None) -> Response:
    fmt, negotiated = _format(extension)
    version = _version()
    artefacts = _artefacts(version)
    graph = void.build_void(_metadata(), artefacts, service_root=_root(), modified=version.manifest.get("created"))
    return _rdf_response(graph, fmt, negotiated, CATALOG_CACHE)


# ------------------------------------------------------------------ dumps


def _dump_response(path: Path, name: str, cache: str) -> Response:
    if not path.is_file():
        raise ClientError(404, f"Fichier « {name} » absent de la version publiée.",
                          f"File '{name}' is missing from the published version.")
    fmt = BY_FILENAME.get(name)
    content_type = fmt.content_type if fmt else "text/plain; charset=utf-8"
    response = send_file(path, mimetype=content_type.split(";")[0], conditional=True, etag=True, max_age=None,
                         download_name=name, as_attachment=False)
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = cache
    return response


@blueprint.route("/dumps/latest/<name>", methods=["GET"])
def latest_dump(name: str) -> Response:
    version = _version()
    artefacts = _artefacts(version)
    known = {d["name"] for d in artefacts["dumps"]} | {SHA256SUMS}
    if name not in known:
        raise _no_dump(name, sorted(known))
    return _dump_response(version.path / DUMPS_DIR / name, name, LATEST_CACHE)


@blueprint.route("/dumps/<name>", methods=["GET"])
def hashed_dump(name: str) -> Response:
    """A dump by content hash: from the current version, else from a kept older one."""
    if name == SHA256SUMS:
        artefacts = _artefacts(_version())
        body = "".join(f"{d['sha256']}  {d['hashed_name']}\n" for d in artefacts["dumps"])
        response = Response(body, content_type="text/plain; charset=utf-8")
        response.headers["Cache-Control"] = LATEST_CACHE
        return response
    current = _version()
    candidates = [current.path] + sorted(
        (p for p in versions.versions_dir(_settings().store_path).iterdir()
         if p.is_dir() and not p.name.startswith(".") and p != current.path), reverse=True)
    for directory in candidates:
        try:
            manifest = current.manifest if directory == current.path else json.loads(
                (directory / versions.MANIFEST).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        for dump in (manifest.get("artefacts") or {}).get("dumps", []):
            if dump["hashed_name"] == name:
                return _dump_response(directory / dump["path"], dump["name"], IMMUTABLE_CACHE)
    raise _no_dump(name, [d["hashed_name"] for d in _artefacts(current)["dumps"]])


def _no_dump(name: str, known: list[str]) -> ClientError:
    listing = ", ".join(known)
    return ClientError(404, f"Aucun fichier « {name} ». Fichiers publiés : {listing}.",
                       f"No file '{name}'. Published files: {listing}.")


# ------------------------------------------------------------------ sitemap, robots


def _resources(version: versions.Version) -> list[str]:
    artefacts = _artefacts(version)
    path = version.path / artefacts["resources"]["path"]
    return path.read_text(encoding="utf-8").split()


def _xml(body: bytes) -> Response:
    response = Response(body, content_type="application/xml; charset=utf-8")
    response.headers["Cache-Control"] = CATALOG_CACHE
    return response


@blueprint.route("/sitemap.xml", methods=["GET"])
def sitemap_xml() -> Response:
    version = _version()
    iris = _resources(version)
    lastmod = (version.manifest.get("created") or "")[:10] or None
    count = sitemap.pages(len(iris))
    if count == 1:
        return _xml(sitemap.urlset(iris, lastmod))
    root = _root()
    return _xml(sitemap.index([f"{root}sitemap-{n}.xml" for n in range(1, count + 1)], lastmod))


@blueprint.route("/sitemap-<int:number>.xml", methods=["GET"])
def sitemap_part(number: int) -> Response:
    version = _version()
    iris = _resources(version)
    count = sitemap.pages(len(iris))
    if not 1 <= number <= count:
        raise ClientError(404, f"Pas de sitemap n° {number} (il y en a {count}).",
                          f"No sitemap number {number} (there are {count}).")
    lastmod = (version.manifest.get("created") or "")[:10] or None
    per = sitemap.PER_FILE
    return _xml(sitemap.urlset(iris[(number - 1) * per: number * per], lastmod))


@blueprint.route("/robots.txt", methods=["GET"])
def robots() -> Response:
    response = Response(sitemap.robots(_root()), content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = CATALOG_CACHE
    return response


def _http_date(created: str | None) -> str | None:
    if not created:
        return None
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(created), usegmt=True)
