"""Open-data publication, against a live server and the harvesters' own code.

One build (the real data if it validates, else a fixture project: the shapes, catalog.toml and
tests/fixtures/valid/minimal.ttl) is served by ``cohesio serve`` on 127.0.0.1 twice: with the
default catalogue page size, and with page size 1 so that the catalogue's 3 items (one dataset,
two data services) span 3 pages. The base IRI stays the canonical https://w3id.org/cohesio/
(a real domain, as udata requires) while the server runs on loopback: the local-run case where
IRIs and URLs differ.

udata and ckanext-dcat run in their own virtualenvs (tests/harvest/setup_venvs.sh, cached under
~/.cache/cohesio); creating them the first time needs PyPI.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import rdflib
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD

from cohesio import versions
from cohesio.build import BuildRefused, build
from cohesio.config import CANONICAL_BASE_IRI, load_settings
from cohesio.publishing.dumps import CSV_COLUMNS
from cohesio.validation import UnusableInput

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
HARVEST = Path(__file__).parent / "harvest"
# The official DCAT-AP 3.0.1 shapes (CC BY 4.0, unmodified; see SOURCE.md there), kept in the repo
# so the test runs wherever the repository is cloned.
DCAT_AP = Path(__file__).parent / "reference" / "dcat-ap-3.0.1"

HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
IANA = "https://www.iana.org/assignments/media-types/"
EU = "http://publications.europa.eu/resource/authority/"
ETALAB = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
TITLE_FR = "Actions de cohésion sociale et de solidarité intergénérationnelle et des territoires"
RDF_EXTENSIONS = {"ttl": ("text/turtle", "turtle"), "rdf": ("application/rdf+xml", "xml"),
                  "jsonld": ("application/ld+json", "json-ld"), "nt": ("application/n-triples", "nt")}


# ------------------------------------------------------------------ HTTP without redirects


class Answer:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    """One request, redirects not followed (a redirect must show as such)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def sparql(server: str, query: str, default_graphs: list[str] = ()) -> list[dict]:
    params = [("query", query)] + [("default-graph-uri", g) for g in default_graphs]
    answer = fetch(f"{server}sparql?{urllib.parse.urlencode(params)}",
                   headers={"Accept": "application/sparql-results+json"})
    assert answer.status == 200, answer.text
    return json.loads(answer.body)["results"]["bindings"]


def parse(answer: Answer, fmt: str) -> Graph:
    return Graph().parse(data=answer.body, format=fmt)


# ------------------------------------------------------------------ the build and the servers


def _fixture_project(root: Path) -> Path:
    project = root / "project"
    shutil.copytree(ROOT / "shapes", project / "shapes")
    (project / "data" / "guide").mkdir(parents=True)
    shutil.copy(FIXTURES / "valid" / "minimal.ttl", project / "data" / "guide" / "minimal.ttl")
    shutil.copy(ROOT / "catalog.toml", project / "catalog.toml")
    return project


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """(project_dir, store_dir, version): the real data if it builds, else the fixture project."""
    root = tmp_path_factory.mktemp("publishing")
    store_dir = root / "var"
    # The full validation of the official geography (about a minute) is cached by content digest in
    # the store directory: reuse the project's own record when there is one.
    from cohesio.build import REFERENCE_CACHE

    if (ROOT / "var" / REFERENCE_CACHE).is_file():
        store_dir.mkdir(parents=True)
        shutil.copy(ROOT / "var" / REFERENCE_CACHE, store_dir / REFERENCE_CACHE)
    try:
        settings = load_settings(None, environ={}, project_dir=ROOT, store_dir=store_dir)
        result = build(settings)
        project = ROOT
    except (BuildRefused, UnusableInput):
        project = _fixture_project(root)
        settings = load_settings(None, environ={}, project_dir=project, store_dir=store_dir)
        result = build(settings)
    return project, store_dir, result.version


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(project: Path, store_dir: Path, env: dict[str, str]):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cohesio", "--project-dir", str(project), "--store-dir", str(store_dir),
         "serve", "--port", str(port), "--workers", "1"],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cohesio serve exited: {process.stderr.read().decode()}")
        try:
            if fetch(url + "robots.txt").status == 200:
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("cohesio serve did not answer within 60 s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def server(published):
    project, store_dir, _ = published
    process, url = _serve(project, store_dir, {"COHESIO_CATALOG_PAGE_SIZE": ""})
    yield url
    _stop(process)


@pytest.fixture(scope="module")
def paged_server(published):
    project, store_dir, _ = published
    process, url = _serve(project, store_dir, {"COHESIO_CATALOG_PAGE_SIZE": "1"})
    yield url
    _stop(process)


@pytest.fixture(scope="module")
def catalogue(server) -> Graph:
    answer = fetch(server + "catalog.ttl")
    assert answer.status == 200
    return parse(answer, "turtle")


# ------------------------------------------------------------------ dumps at build time


def test_build_writes_dumps_listed_in_the_manifest(published):
    _, store_dir, version = published
    manifest = json.loads((version.path / versions.MANIFEST).read_text(encoding="utf-8"))
    artefacts = manifest["artefacts"]
    names = {d["name"] for d in artefacts["dumps"]}
    assert names == {"cohesio.ttl", "cohesio.nt.gz", "cohesio.jsonld", "cohesio.nq.gz", "cohesio-initiatives.csv"}
    sums = (version.path / "dumps" / "SHA256SUMS").read_text()
    for dump in artefacts["dumps"]:
        data = (version.path / dump["path"]).read_bytes()
        assert len(data) == dump["bytes"]
        assert hashlib.sha256(data).hexdigest() == dump["sha256"]
        assert f"{dump['sha256']}  {dump['name']}\n" in sums
        assert dump["hashed_name"].startswith(dump["name"].split(".")[0] + "-" + dump["sha256"][:8])
    # The counts cover the meta graph the VoID went into: still the store's size.
    store = version.open_store()
    assert manifest["counts"]["total"] == len(store)
    assert manifest["counts"]["meta"] == artefacts["meta_triples"] > 0

    # Every dump holds the data graphs; N-Quads keeps their names; none holds the meta graph.
    import pyoxigraph as ox

    data_quads = manifest["counts"]["total"] - manifest["counts"]["meta"]
    dumps = version.path / "dumps"
    quads = list(ox.parse(gzip.decompress((dumps / "cohesio.nq.gz").read_bytes()), format=ox.RdfFormat.N_QUADS))
    assert len(quads) == data_quads
    assert {q.graph_name.value for q in quads} == set(artefacts["data_graphs"])
    assert artefacts["meta_graph"] not in artefacts["data_graphs"]

    def ground(triples) -> tuple[int, set[str]]:
        triples = list(triples)
        named = {str(t) for t in triples if not isinstance(t.subject, ox.BlankNode)
                 and not isinstance(t.object, ox.BlankNode)}
        return len(triples), named

    expected = ground(q.triple for q in quads)
    assert ground(ox.parse(path=str(dumps / "cohesio.ttl"), format=ox.RdfFormat.TURTLE)) == expected
    assert ground(ox.parse(gzip.decompress((dumps / "cohesio.nt.gz").read_bytes()),
                           format=ox.RdfFormat.N_TRIPLES)) == expected
    assert ground(ox.parse(path=str(dumps / "cohesio.jsonld"), format=ox.RdfFormat.JSON_LD)) == expected


def test_dumps_are_deterministic(published, tmp_path):
    """Same graph, same bytes: the content-hashed URLs survive a rebuild of the same inputs."""
    from cohesio.namespaces import PREFIXES
    from cohesio.publishing.dumps import _sha256, write_dumps

    _, _, version = published
    artefacts = version.manifest["artefacts"]
    base = version.manifest["base_iri"]
    prefixes = {**PREFIXES, "cid": f"{base}id/", "coh": f"{base}ontology#"}
    write_dumps(version.open_store(), artefacts["data_graphs"], tmp_path, prefixes, base)
    assert {d["name"]: _sha256(tmp_path / d["name"]) for d in artefacts["dumps"]} == \
        {d["name"]: d["sha256"] for d in artefacts["dumps"]}


def test_initiatives_csv_for_spreadsheets(published):
    _, _, version = published
    raw = (version.path / "dumps" / "cohesio-initiatives.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert raw.count(b"\r\n") == len(rows) + 1
    store = version.open_store()
    initiatives = {s["i"].value for s in store.query(
        "SELECT DISTINCT ?i WHERE { GRAPH ?g { ?i a <https://w3id.org/cohesio/ontology#Initiative> } }")}
    assert {row["iri"] for row in rows} == initiatives
    for row in rows:
        assert row["label_fr"] and row["label_en"] and row["practice"] and row["as_printed"]
        assert row["territories"] and row["actors"]
    if "bureau-des-temps--rennes" in "".join(initiatives):
        rennes = next(r for r in rows if r["iri"].endswith("bureau-des-temps--rennes"))
        assert "Rennes (35238)" in rennes["territories"]
        assert "Ville de Rennes (lead)" in rennes["actors"]


# ------------------------------------------------------------------ the catalogue over HTTP


@pytest.mark.parametrize("extension", sorted(RDF_EXTENSIONS))
def test_catalogue_per_extension_with_charset_and_same_head(server, extension):
    media, fmt = RDF_EXTENSIONS[extension]
    answer = fetch(f"{server}catalog.{extension}")
    assert answer.status == 200, "served at the URL itself: no redirect"
    assert answer.content_type == f"{media}; charset=utf-8"
    head = fetch(f"{server}catalog.{extension}", method="HEAD", headers={"Accept": "*/*"})
    assert head.status == 200 and head.content_type == answer.content_type and head.body == b""
    graph = parse(answer, fmt)
    titles = {str(t) for t in graph.objects(None, DCTERMS.title) if getattr(t, "language", None) == "fr"}
    assert TITLE_FR in titles


@pytest.mark.parametrize("accept, media", [
    (None, "text/turtle"), ("*/*", "text/turtle"), ("application/rdf+xml", "application/rdf+xml"),
    ("application/ld+json", "application/ld+json"), ("application/n-triples", "application/n-triples"),
    ("text/html;q=0.9, application/rdf+xml;q=0.8, text/turtle;q=0.1", "application/rdf+xml"),
])
def test_catalogue_content_negotiation(server, accept, media):
    headers = {"Accept": accept} if accept else {}
    answer = fetch(server + "catalog", headers=headers)
    assert answer.status == 200
    assert answer.content_type == f"{media}; charset=utf-8"
    assert "Accept" in answer.headers.get("Vary", "")
    head = fetch(server + "catalog", method="HEAD", headers=headers)
    assert head.content_type == answer.content_type


def test_catalogue_refusals_are_bilingual(server):
    for url, status in (("catalog", 406), ("catalog.xyz", 404), ("catalog.ttl?page=0", 400),
                        ("catalog.ttl?page=99", 404)):
        answer = fetch(server + url, headers={"Accept": "image/png"} if status == 406 else {})
        assert answer.status == status, url
        assert answer.content_type.startswith("text/plain")
        assert len(answer.text.strip().splitlines()) == 2


def _validate(data: Graph, shapes: str) -> tuple[bool, str]:
    from pyshacl import validate

    shapes_graph = Graph().parse(DCAT_AP / shapes, format="turtle")
    conforms, _, text = validate(data, shacl_graph=shapes_graph, inference="none", allow_warnings=False)
    return conforms, text


@pytest.mark.parametrize("query", ["", "?checksums=spdx"])
def test_catalogue_conforms_to_dcat_ap_3(server, query):
    """Base Zero (shapes.ttl), Ranges Zero (range.ttl): no violation; recommended: no warning."""
    data = parse(fetch(f"{server}catalog.ttl{query}"), "turtle")
    for shapes in ("shapes.ttl", "range.ttl", "shapes_recommended.ttl"):
        conforms, text = _validate(data, shapes)
        assert conforms, f"{shapes}:\n{text}"


def test_catalogue_describes_dataset_distributions_and_services(server, catalogue, published):
    g = catalogue
    base = CANONICAL_BASE_IRI
    (catalog,) = g.subjects(RDF.type, DCAT.Catalog)
    assert str(catalog) == f"{base}catalog"
    (dataset,) = g.subjects(RDF.type, DCAT.Dataset)
    assert str(dataset).startswith(base), "things are named under the base IRI"
    assert g.value(dataset, DCTERMS.identifier) == Literal(f"{base}catalog#dataset")
    langs = {t.language for t in g.objects(dataset, DCTERMS.title)}
    assert langs == {"fr", "en"} == {t.language for t in g.objects(dataset, DCTERMS.description)}
    assert {t.language for t in g.objects(dataset, DCAT.keyword)} == {"fr", "en"}
    assert URIRef(f"{EU}data-theme/SOCI") in set(g.objects(dataset, DCAT.theme))
    assert URIRef(f"{EU}country/FRA") in set(g.objects(dataset, DCTERMS.spatial))
    period = g.value(dataset, DCTERMS.temporal)
    assert g.value(period, DCAT.startDate) is not None and g.value(period, DCAT.endDate) is not None
    assert g.value(dataset, DCTERMS.publisher) is not None and g.value(dataset, DCAT.contactPoint) is not None
    assert URIRef(ETALAB) in set(g.objects(dataset, DCTERMS.license))
    _, _, version = published
    assert g.value(dataset, DCTERMS.modified) == Literal(version.manifest["created"], datatype=XSD.dateTime)

    distributions = list(g.objects(dataset, DCAT.distribution))
    assert len(distributions) == 5
    for dist in distributions:
        assert str(g.value(dist, DCAT.downloadURL)).startswith(f"{server}dumps/latest/"), "URLs on the server"
        assert str(g.value(dist, DCAT.accessURL)).startswith(f"{server}dumps/cohesio")
        assert str(g.value(dist, DCAT.mediaType)).startswith(IANA)
        assert str(g.value(dist, DCTERMS.format)).startswith(f"{EU}file-type/")
        assert g.value(dist, DCAT.byteSize).datatype == XSD.nonNegativeInteger
        assert g.value(dist, DCTERMS.license) == URIRef(ETALAB)
        assert g.value(dist, SPDX.checksum) is None, "checksums only in the ?checksums=spdx variant"

    services = {str(g.value(s, DCAT.endpointURL)): s for s in g.subjects(RDF.type, DCAT.DataService)}
    assert set(services) == {f"{server}sparql", f"{server}api"}
    assert g.value(services[f"{server}api"], DCAT.endpointDescription) == URIRef(f"{server}api/openapi.json")
    assert g.value(services[f"{server}sparql"], DCAT.endpointDescription) == URIRef(f"{server}sparql")
    for service in services.values():
        assert g.value(service, DCAT.servesDataset) == dataset
        assert g.value(service, DCTERMS.identifier) is not None
        assert (catalog, DCAT.service, service) in g
    assert not list(g.subject_objects(DCAT.accessService)), "udata would not import such a service"


def _walk(first: str, fmt: str) -> list[tuple[str, Answer, Graph]]:
    pages, url = [], first
    while url:
        answer = fetch(url, headers={"Accept": "*/*"})
        assert answer.status == 200, url
        graph = parse(answer, fmt)
        pages.append((url, answer, graph))
        views = list(graph.subjects(RDF.type, HYDRA.PartialCollectionView))
        assert len(views) <= 1
        url = str(graph.value(views[0], HYDRA.next)) if views and graph.value(views[0], HYDRA.next) else None
        assert len(pages) < 20
    return pages


@pytest.mark.parametrize("extension", ["ttl", "rdf", "jsonld"])
def test_catalogue_pages_with_hydra(paged_server, extension):
    media, fmt = RDF_EXTENSIONS[extension]
    pages = _walk(f"{paged_server}catalog.{extension}", fmt)
    assert len(pages) == 3, "page size 1: one dataset and two services"
    items: list[str] = []
    for url, answer, graph in pages[1:]:
        assert urllib.parse.urlsplit(url).path == f"/catalog.{extension}", "the extension is kept"
    for _, answer, graph in pages:
        assert answer.content_type == f"{media}; charset=utf-8", "every page in the format of the first"
        (catalog,) = graph.subjects(RDF.type, DCAT.Catalog)
        page_items = [str(o) for o in graph.objects(catalog, DCAT.dataset)] + \
                     [str(o) for o in graph.objects(catalog, DCAT.service)]
        assert len(page_items) == 1
        items += page_items
    assert len(set(items)) == 3
    last = pages[-1][2]
    (view,) = last.subjects(RDF.type, HYDRA.PartialCollectionView)
    assert last.value(view, HYDRA.next) is None and last.value(view, HYDRA.previous) is not None


def test_negotiated_catalogue_pages_keep_the_negotiated_format(paged_server):
    answer = fetch(paged_server + "catalog", headers={"Accept": "application/rdf+xml"})
    graph = parse(answer, "xml")
    (view,) = graph.subjects(RDF.type, HYDRA.PartialCollectionView)
    assert str(graph.value(view, HYDRA.next)) == f"{paged_server}catalog.rdf?page=2"


def test_unpaged_catalogue_has_no_hydra_view(catalogue):
    assert not list(catalogue.subjects(RDF.type, HYDRA.PartialCollectionView))


# ------------------------------------------------------------------ every URL answers


def test_every_access_and_download_url_answers_as_declared(server):
    g = parse(fetch(server + "catalog.ttl?checksums=spdx"), "turtle")
    checked = 0
    sums = {}
    for dist in g.subjects(RDF.type, DCAT.Distribution):
        media = str(g.value(dist, DCAT.mediaType)).removeprefix(IANA)
        compress = g.value(dist, DCAT.compressFormat)
        expected_type = str(compress).removeprefix(IANA) if compress else media
        size = int(g.value(dist, DCAT.byteSize))
        checksum = g.value(dist, SPDX.checksum)
        assert g.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        value = g.value(checksum, SPDX.checksumValue)
        assert value.datatype == XSD.hexBinary
        for prop in (DCAT.accessURL, DCAT.downloadURL):
            url = str(g.value(dist, prop))
            answer = fetch(url)
            assert answer.status == 200, url
            assert answer.content_type.split(";")[0] == expected_type, url
            if not compress:
                assert "charset=utf-8" in answer.content_type
            assert len(answer.body) == size, url
            assert hashlib.sha256(answer.body).hexdigest() == str(value), url
            head = fetch(url, method="HEAD")
            assert head.status == 200 and head.content_type == answer.content_type
            cache = answer.headers.get("Cache-Control", "")
            if "/latest/" in url:
                assert "immutable" not in cache
                sums[url.rsplit("/", 1)[-1]] = str(value)
            else:
                assert "immutable" in cache and str(value)[:8] in url
            checked += 1
    assert checked == 10
    listed = fetch(server + "dumps/latest/SHA256SUMS")
    assert listed.status == 200 and listed.content_type == "text/plain; charset=utf-8"
    assert dict(reversed(line.split("  ")) for line in listed.text.splitlines()) == sums


# ------------------------------------------------------------------ VoID


@pytest.mark.parametrize("path, accept, fmt", [
    (".well-known/void", None, "turtle"), (".well-known/void", "application/ld+json", "json-ld"),
    (".well-known/void.rdf", None, "xml"), (".well-known/void.nt", None, "nt"),
])
def test_void_is_served(server, path, accept, fmt):
    answer = fetch(server + path, headers={"Accept": accept} if accept else {})
    assert answer.status == 200 and "charset=utf-8" in answer.content_type
    graph = parse(answer, fmt)
    (dataset,) = [d for d in graph.subjects(RDF.type, VOID.Dataset) if graph.value(d, VOID.sparqlEndpoint)
                  and (None, VOID.subset, d) not in graph]
    assert graph.value(dataset, VOID.sparqlEndpoint) == URIRef(server + "sparql")
    assert graph.value(dataset, VOID.uriSpace) == Literal(f"{CANONICAL_BASE_IRI}id/")


def test_void_counts_match_the_endpoint(server, published):
    _, _, version = published
    graph = parse(fetch(server + ".well-known/void.ttl"), "turtle")
    (dataset,) = [d for d in graph.subjects(RDF.type, VOID.Dataset) if (None, VOID.subset, d) not in graph]
    data_graphs = version.manifest["artefacts"]["data_graphs"]

    def count(query: str, graphs=data_graphs) -> int:
        return int(sparql(server, query, graphs)[0]["n"]["value"])

    assert int(graph.value(dataset, VOID.triples)) == count("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    subsets = list(graph.objects(dataset, VOID.subset))
    assert {str(s) for s in subsets} == set(data_graphs)
    for subset in subsets:
        assert int(graph.value(subset, VOID.triples)) == count(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{subset}> {{ ?s ?p ?o }} }}", [])
    classes = list(graph.objects(dataset, VOID.classPartition))
    properties = list(graph.objects(dataset, VOID.propertyPartition))
    assert classes and properties
    assert int(graph.value(dataset, VOID.classes)) == len(classes)
    for part in classes:
        cls = graph.value(part, VOID["class"])
        assert int(graph.value(part, VOID.entities)) == count(
            f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{cls}> }}"), cls
    for part in properties:
        prop = graph.value(part, VOID.property)
        assert int(graph.value(part, VOID.triples)) == count(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{prop}> ?o }}"), prop
    # Every class and property of the data has its partition.
    assert len(classes) == count("SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }")
    assert len(properties) == count("SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }")
    for example in graph.objects(dataset, VOID.exampleResource):
        assert str(example).startswith(f"{CANONICAL_BASE_IRI}id/")
    assert set(graph.objects(dataset, VOID.vocabulary))
    for dump in graph.objects(dataset, VOID.dataDump):
        assert fetch(str(dump), method="HEAD").status == 200


def test_void_is_queryable_in_the_meta_graph(server, published):
    _, _, version = published
    meta = version.manifest["artefacts"]["meta_graph"]
    assert meta == f"{CANONICAL_BASE_IRI}graph/meta"
    rows = sparql(server, f"""
        PREFIX void: <http://rdfs.org/ns/void#>
        SELECT ?t ?endpoint WHERE {{ GRAPH <{meta}> {{
          ?d a void:Dataset ; void:triples ?t ; void:sparqlEndpoint ?endpoint ; void:classPartition ?c . }} }}""")
    # In the graph the endpoint is given under the base IRI (no request there), over HTTP under the server.
    assert {r["endpoint"]["value"] for r in rows} == {f"{CANONICAL_BASE_IRI}sparql"}
    assert {int(r["t"]["value"]) for r in rows} == {version.manifest["artefacts"]["void"]["triples"]}


# ------------------------------------------------------------------ sitemap and robots


def test_sitemap_and_robots(server, published):
    _, _, version = published
    answer = fetch(server + "sitemap.xml")
    assert answer.status == 200 and answer.content_type == "application/xml; charset=utf-8"
    import xml.etree.ElementTree as ET

    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.fromstring(answer.body)
    if root.tag.endswith("sitemapindex"):
        locs = []
        for part in root.findall("s:sitemap/s:loc", ns):
            locs += [e.text for e in ET.fromstring(fetch(part.text).body).findall("s:url/s:loc", ns)]
    else:
        locs = [e.text for e in root.findall("s:url/s:loc", ns)]
    assert len(locs) == version.manifest["artefacts"]["resources"]["count"] > 0
    assert all(loc.startswith(f"{CANONICAL_BASE_IRI}id/") for loc in locs)
    store = version.open_store()
    initiatives = {s["i"].value for s in store.query(
        "SELECT DISTINCT ?i WHERE { GRAPH ?g { ?i a <https://w3id.org/cohesio/ontology#Initiative> } }")}
    assert initiatives <= set(locs)
    robots = fetch(server + "robots.txt")
    assert robots.status == 200 and robots.content_type == "text/plain; charset=utf-8"
    assert f"Sitemap: {server}sitemap.xml" in robots.text.splitlines()


# ------------------------------------------------------------------ the harvesters' own code


_SETUPS: dict[str, tuple[subprocess.Popen, Path]] = {}
_PYTHONS: dict[str, str] = {}


def _harvester_python(name: str) -> str:
    """The python of the harvester's own venv; the first call starts both setups side by side."""
    if name in _PYTHONS:
        return _PYTHONS[name]
    env = {**os.environ, "COHESIO_HARVEST_PYTHON": getattr(sys, "_base_executable", sys.executable)}
    import tempfile

    for each in ("udata", "ckan"):
        if each not in _SETUPS:
            log = Path(tempfile.mkstemp(prefix=f"cohesio-setup-{each}-", suffix=".log")[1])
            with log.open("w") as err:
                process = subprocess.Popen(["bash", str(HARVEST / "setup_venvs.sh"), each], env=env,
                                           stdout=subprocess.PIPE, stderr=err, text=True)
            _SETUPS[each] = (process, log)
    process, log = _SETUPS[name]
    out, _ = process.communicate(timeout=1800)
    assert process.returncode == 0, log.read_text()[-3000:]
    _PYTHONS[name] = out.strip().splitlines()[-1]
    return _PYTHONS[name]


def _run(python: str, script: str, *args: str) -> object:
    done = subprocess.run([python, str(HARVEST / script), *args], capture_output=True, text=True, timeout=600,
                          cwd=HARVEST)
    assert done.returncode == 0, done.stderr[-5000:]
    return json.loads(done.stdout)


def _assert_udata_job(job: dict, server: str, pages: int) -> None:
    assert job["status"] == "done", job
    assert job["pages"] == pages
    assert job["errors"] == []
    assert [i for i in job["items"] if i["status"] != "done"] == [], job["items"]
    (dataset,) = job["datasets"]
    assert dataset["title"] == TITLE_FR, "French title, accents intact"
    assert "Ã" not in json.dumps(job, ensure_ascii=False)
    assert dataset["license"] == "lov2"
    assert dataset["remote_id"] == f"{CANONICAL_BASE_IRI}catalog#dataset"
    assert dataset["temporal"] and dataset["frequency"]
    resources = {r["url"]: r for r in dataset["resources"]}
    assert len(resources) == 5
    assert resources[f"{server}dumps/latest/cohesio.ttl"]["mime"] == "text/turtle"
    assert resources[f"{server}dumps/latest/cohesio.ttl"]["title"] == "Graphe complet (Turtle)"
    assert resources[f"{server}dumps/latest/cohesio-initiatives.csv"]["format"] == "csv"
    assert all(r["filesize"] and r["filesize"] > 0 for r in resources.values())
    services = {s["base_api_url"]: s for s in job["dataservices"]}
    assert set(services) == {f"{server}sparql", f"{server}api"}
    assert services[f"{server}sparql"]["title"] == "Point d'accès SPARQL de cohesio"
    assert services[f"{server}api"]["machine_documentation_url"] == f"{server}api/openapi.json"
    for service in services.values():
        assert service["datasets"] == [TITLE_FR] and service["license"] == "lov2"


def test_udata_harvests_the_catalogue(server, paged_server):
    """data.gouv.fr's DCAT harvester: whole catalogue, paged (Turtle and RDF/XML), and the checksum clash."""
    python = _harvester_python("udata")
    jobs = _run(python, "udata_harvest.py", server + "catalog.ttl", paged_server + "catalog.ttl",
                paged_server + "catalog.rdf", server + "catalog.jsonld", server + "catalog.ttl?checksums=spdx")
    plain, paged_ttl, paged_rdf, jsonld, spdx = jobs
    _assert_udata_job(plain, server, pages=1)
    _assert_udata_job(paged_ttl, paged_server, pages=3)
    _assert_udata_job(paged_rdf, paged_server, pages=3)
    _assert_udata_job(jsonld, server, pages=1)
    # The documented conflict: typed xsd:hexBinary as DCAT-AP 3.0.1 wants, udata 17.18 fails the dataset.
    failed = [i for i in spdx["items"] if i["status"] == "failed"]
    assert failed and "checksum" in " ".join(failed[0]["errors"])


def test_ckan_dcat_parses_the_catalogue(server, paged_server):
    """ckanext-dcat's RDFParser (profile euro_dcat_ap_3), on the whole and on the paged catalogue."""
    python = _harvester_python("ckan")
    for url, pages in ((server + "catalog.ttl", 1), (paged_server + "catalog", 3), (server + "catalog.rdf", 1)):
        parsed = _run(python, "ckan_parse.py", url)
        assert len(parsed["pages"]) == pages
        root = url.rsplit("catalog", 1)[0]
        (dataset,) = parsed["datasets"]
        assert dataset["title"] == TITLE_FR
        assert dataset["notes"].startswith("Les exemples d'actions locales")
        extras = {e["key"]: e["value"] for e in dataset["extras"]}
        assert extras["identifier"] == f"{CANONICAL_BASE_IRI}catalog#dataset"
        assert extras["uri"] == f"{CANONICAL_BASE_IRI}catalog#dataset"
        assert extras["contact_email"] and extras["publisher_name"]
        assert f"{EU}data-theme/SOCI" in extras["theme"]
        assert extras["spatial_uri"] == f"{EU}country/FRA"
        assert "cohésion sociale" in {t["name"] for t in dataset["tags"]}
        resources = {r["url"]: r for r in dataset["resources"]}
        assert len(resources) == 5
        ttl = resources[f"{root}dumps/latest/cohesio.ttl"]
        assert ttl["name"] == "Graphe complet (Turtle)"
        assert ttl["mimetype"] == f"{IANA}text/turtle"
        assert ttl["format"] == f"{EU}file-type/RDF_TURTLE"
        assert ttl["license"] == ETALAB
        assert ttl["access_url"].startswith(f"{root}dumps/cohesio-")
