"""Crawl the site built from the real project: from the home page, follow every link and every IRI
under the base (rewritten to the test server, fetched with an RDF Accept header). Every resource of
the non-geography graphs, and every territory with an initiative, must be reached and described by
its RDF; no link may be dead."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyoxigraph as ox
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ld_support  # noqa: E402

ROOT_URL = "http://localhost/"
BASE = "https://w3id.org/cohesio/"
# What a browser sends: HTML first, anything else acceptable (the API answers JSON to a browser).
HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
RDF = {"Accept": "text/turtle"}
HREF = re.compile(r'href="([^"#]*)')
SKIP = ("/sparql", "/catalog", "/dumps/", "/.well-known/", "/assets/")


TERRITORY = re.compile(r"^/(?:id|doc)/(commune|departement|region|epci)/")


def _store(store_dir: Path) -> ox.Store:
    return ox.Store.read_only(str((store_dir / "current").resolve() / "store"))


def expected(store_dir: Path) -> set[str]:
    rows = _store(store_dir).query(f"""SELECT DISTINCT ?s WHERE {{
        {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g IN (<{BASE}graph/guide>, <{BASE}graph/editorial>, <{BASE}graph/ontology>)) }}
        UNION {{ ?i a <{BASE}ontology#Initiative> ; <http://purl.org/dc/terms/spatial> ?s }} FILTER(isIRI(?s)) }}""")
    return {r["s"].value for r in rows if r["s"].value.startswith(BASE)}


def test_crawl_reaches_everything(tmp_path_factory):
    """The crawl recurses through the graph's own resources and every territory with an initiative.
    The other territories it meets (the 34,000 communes a région page can reach) are not crawled:
    each must exist in the published store, and an evenly spread sample of them is fetched."""
    app = ld_support.real_app(tmp_path_factory)
    store_dir = ld_support.real_store(tmp_path_factory)
    wanted = expected(store_dir)
    wanted_paths = {"/doc/" + iri[len(BASE) + 3:] for iri in wanted if iri.startswith(BASE + "id/")}
    client = app.test_client()
    pages: list[str] = ["/"]
    seen_pages: set[str] = set()
    resources: list[tuple[str, str]] = []
    seen_iris: set[str] = set()
    described: set[str] = set()
    outside: dict[str, str] = {}
    dead: list[tuple[str, int, str]] = []

    def bare(path: str) -> str:
        """The document path without a format extension (``/doc/commune/35238.nt`` → ``…/35238``)."""
        return re.sub(r"\.(ttl|jsonld|rdf|nt|html)$", "", path.replace("/id/", "/doc/", 1))

    def in_scope(path: str) -> bool:
        return not TERRITORY.match(path) or bare(path) in wanted_paths

    def visit_iri(url: str, referrer: str) -> None:
        url = url.split("#", 1)[0]
        if url in seen_iris:
            return
        seen_iris.add(url)
        path = unquote(urlsplit(url).path)
        if not in_scope(path):
            outside.setdefault(path, referrer)
            return
        r = client.get(path, headers=RDF, follow_redirects=True)
        if r.status_code != 200:
            dead.append((url, r.status_code, referrer))
            return
        if r.mimetype != "text/turtle":  # a download, the catalogue in another syntax: alive is enough
            return
        for t in ox.parse(r.data, format=ox.RdfFormat.TURTLE):
            described.add(t.subject.value)
            for term in (t.subject, t.predicate, t.object):
                if isinstance(term, ox.NamedNode) and term.value.startswith(ROOT_URL):
                    resources.append((term.value, url))
        if path.startswith(("/id/", "/doc/", "/graph/")):
            pages.append(path.replace("/id/", "/doc/", 1))

    while pages or resources:
        while pages:
            page = pages.pop()
            if page in seen_pages:
                continue
            seen_pages.add(page)
            if not in_scope(page):
                outside.setdefault(page, "html")
                continue
            r = client.get(page, headers=HTML, follow_redirects=True)
            if r.status_code != 200:
                dead.append((page, r.status_code, "html"))
                continue
            for link in HREF.findall(r.get_data(as_text=True)):
                link = link.replace("&amp;", "&")
                if not link.startswith("/") or link.startswith(SKIP) or link.startswith("//"):
                    continue
                target = link.split("?", 1)[0]
                if target.startswith(("/doc/", "/id/", "/ontology", "/graph/")):
                    resources.append((ROOT_URL + target.lstrip("/"), page))
                elif target not in seen_pages and "page=" not in link:
                    pages.append(target)
        while resources:
            url, referrer = resources.pop()
            visit_iri(url, referrer)

    # Territories met but not crawled: each exists in the store, and a spread sample answers.
    store = _store(store_dir)
    for path, referrer in outside.items():
        iri = ox.NamedNode(BASE + "id/" + bare(path).split("/", 2)[2])
        if next(iter(store.quads_for_pattern(iri, None, None)), None) is None:
            dead.append((path, 404, referrer))
    sample = sorted(outside)[:: max(1, len(outside) // 40)]
    for path in sample:
        r = client.get(path, headers=RDF, follow_redirects=True)
        if r.status_code != 200 or not r.data:
            dead.append((path, r.status_code, outside[path]))

    assert not dead, f"dead links: {dead[:20]}"
    local = {ROOT_URL + iri[len(BASE):] for iri in wanted}
    missing = sorted(local - described)
    assert not missing, f"{len(missing)} resources not reached/described, e.g. {missing[:10]}"
    assert len(described & local) == len(local) > 100
