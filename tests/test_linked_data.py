"""Dereferenceable linked data: 303, content negotiation, extensions, caching, 404/406, IRIs with
accents, escaping, backlinks paging (fixture store), annotations and languages (the real build)."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ld_support  # noqa: E402

DANGER = "/doc/initiative/danger"
CAFE = "/doc/place/café-de-la-gare"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
VEYNES = "/doc/initiative/micro-creche-en-milieu-rural--cc-de-l-asse-et-de-ses-affluents"


@pytest.fixture(scope="session")
def ld_app(tmp_path_factory):
    return ld_support.fixture_app(tmp_path_factory)


@pytest.fixture()
def c(ld_app):
    return ld_app.test_client()


@pytest.fixture(scope="session")
def real(tmp_path_factory):
    return ld_support.real_app(tmp_path_factory).test_client()


@pytest.mark.parametrize("accept, ctype", [
    ("text/turtle", "text/turtle"), ("application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"), ("application/n-triples", "application/n-triples"),
    ("text/html", "text/html"),
])
def test_conneg_each_format(c, accept, ctype):
    r = c.get(DANGER, headers={"Accept": accept})
    assert r.status_code == 200
    assert r.mimetype == ctype
    assert "Accept" in r.headers["Vary"]
    ext = {"text/turtle": "ttl", "application/ld+json": "jsonld", "application/rdf+xml": "rdf",
           "application/n-triples": "nt", "text/html": "html"}[ctype]
    assert r.headers["Content-Location"] == f"{DANGER}.{ext}"
    for e in ("ttl", "jsonld", "rdf", "nt", "html"):
        assert f'<{DANGER}.{e}>; rel="alternate"' in r.headers["Link"]


def test_qvalues(c):
    r = c.get(DANGER, headers={"Accept": "text/turtle;q=0.5, application/ld+json;q=0.9"})
    assert r.mimetype == "application/ld+json"
    r = c.get(DANGER, headers={"Accept": "text/html;q=0.1, application/n-triples"})
    assert r.mimetype == "application/n-triples"


def test_star_browser_vs_rdf_client(c):
    assert c.get(DANGER, headers={"Accept": BROWSER}).mimetype == "text/html"
    assert c.get(DANGER, headers={"Accept": "*/*"}).mimetype == "text/turtle"
    assert c.get(DANGER).mimetype == "text/turtle"


@pytest.mark.parametrize("ext, ctype", [("ttl", "text/turtle"), ("jsonld", "application/ld+json"),
                                        ("rdf", "application/rdf+xml"), ("nt", "application/n-triples"),
                                        ("html", "text/html")])
def test_extensions(c, ext, ctype):
    r = c.get(f"{DANGER}.{ext}", headers={"Accept": "application/rdf+xml"})
    assert r.status_code == 200 and r.mimetype == ctype
    assert "Accept" not in [v.strip() for v in r.headers.get("Vary", "").split(",")]


def test_head_like_get(c):
    get = c.get(DANGER, headers={"Accept": "text/turtle"})
    head = c.head(DANGER, headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_304(c):
    r = c.get(DANGER, headers={"Accept": "text/turtle"})
    etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert "02 Jan 2026 03:04:05" in modified
    again = c.get(DANGER, headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert c.get(DANGER, headers={"Accept": "text/turtle", "If-Modified-Since": modified}).status_code == 304
    assert c.get(DANGER, headers={"Accept": "text/turtle", "If-None-Match": '"other"'}).status_code == 200
    assert c.get(DANGER, headers={"Accept": "text/turtle",
                                  "If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"}).status_code == 200


def test_406(c):
    r = c.get(DANGER, headers={"Accept": "image/png"})
    assert r.status_code == 406
    assert "Formats" in r.get_data(as_text=True)


def test_404_page(c):
    r = c.get("/doc/initiative/nothing-here", headers={"Accept": BROWSER})
    assert r.status_code == 404
    text = r.get_data(as_text=True)
    assert 'name="q"' in text and 'href="/"' in text
    assert "Aucune ressource" in text and "Nothing is published" in text
    assert c.get("/id/initiative/nothing-here").status_code == 404


def test_303_from_id(c):
    r = c.get("/id/initiative/danger", headers={"Accept": "text/turtle"})
    assert r.status_code == 303 and r.headers["Location"].endswith(DANGER)
    r = c.get("/id/initiative/danger?lang=en", headers={"Accept": BROWSER})
    assert r.status_code == 303 and r.headers["Location"].endswith(DANGER + "?lang=en")


@pytest.mark.parametrize("path", [CAFE, quote(CAFE)])
def test_accented_iri_round_trip(c, path):
    r = c.get(path + ".nt")
    assert r.status_code == 200
    triples = list(ox.parse(r.data, format=ox.RdfFormat.N_TRIPLES))
    # rewritten to the test server, accents kept exactly
    assert any(t.subject.value == "http://localhost/id/place/café-de-la-gare" for t in triples)
    thing = c.get(path.replace("/doc/", "/id/"))
    assert thing.status_code == 303
    assert c.get(thing.headers["Location"], headers={"Accept": BROWSER}).status_code == 200
    html = c.get(DANGER, headers={"Accept": BROWSER}).get_data(as_text=True)
    assert f'href="{quote("/doc/place/café-de-la-gare")}"' in html


def test_script_literal_inert(c):
    text = c.get(DANGER, headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text
    assert "<script>alert(2)" not in text
    ld = text.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in ld and "\\u003cscript" in ld


def test_backlinks_counts_and_paging(c):
    page1 = c.get("/doc/departement/99", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "(120)" in page1 and "Commune 000" in page1 and "Commune 049" in page1 and "Commune 050" not in page1
    assert "?page=2" in page1
    page3 = c.get("/doc/departement/99?page=3", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "Commune 100" in page3 and "Commune 119" in page3 and "Commune 099" not in page3


def test_backlinks_past_the_count_cap_are_paged_in_index_order(ld_app, c, monkeypatch):
    """Above the cap, a page neither counts nor sorts every backlink (a theme of a national
    catalogue has hundreds of thousands): the pages still list each one exactly once."""
    from cohesio.linked_data import describe as d

    backend = ld_app.extensions["cohesio.backend"]
    dep = "https://w3id.org/cohesio/id/departement/99"
    seen: list[str] = []
    for page in range(1, 10):
        desc = d.describe(backend, dep, "fr", page=page, count_cap=100)
        [prop] = [b for b in desc.backlinks if b.iri.endswith("#subdivisionDe")]
        assert prop.more and prop.count == 100 and prop.index_order and not desc.pages_known
        texts = [v.text("fr") for v in prop.values]
        assert texts == sorted(texts)  # sorted within the page
        seen += [v.term.value for v in prop.values]
        if not desc.has_next:
            break
    assert page == 3 and len(seen) == 120 == len(set(seen))

    monkeypatch.setattr(d, "COUNT_CAP", 100)
    monkeypatch.setattr(d.describe, "__defaults__", d.describe.__defaults__[:-1] + (100,))
    fr = c.get("/doc/departement/99", headers={"Accept": BROWSER, "Accept-Language": "fr"}).get_data(as_text=True)
    en = c.get("/doc/departement/99?page=3", headers={"Accept": BROWSER, "Accept-Language": "en"}).get_data(as_text=True)
    assert "(plus de 100)" in fr and "Page 1 sur" not in fr and 'rel="next" href="?page=2"' in fr
    assert "(more than 100)" in en and "Page 3" in en and 'rel="prev"' in en and 'rel="next"' not in en


def test_backlinks_by_known_predicates_equal_the_full_scan(real, monkeypatch):
    """The build's statistics name every predicate: looking backlinks up by predicate finds what
    scanning every statement linking to the resource finds."""
    from cohesio.linked_data import describe as d

    backend = real.application.extensions["cohesio.backend"]
    assert d.known_predicates(backend)
    base = "https://w3id.org/cohesio/"
    iris = [base + p for p in ("id/theme/famille", "id/source/guide", "id/commune/05179", "id/departement/05",
                               "id/scheme/themes", "ontology#Initiative", "id/organization-type/association")]

    def backlinks():
        return {i: [(b.iri, b.count, [v.term.value for v in b.values]) for b in d.describe(backend, i, "fr").backlinks]
                for i in iris}

    by_predicate = backlinks()
    monkeypatch.setattr(d, "known_predicates", lambda backend: None)
    assert backlinks() == by_predicate
    assert sum(len(v) for v in by_predicate.values()) > 10


def test_rewriting_in_rdf_and_html(c):
    ttl = c.get(DANGER + ".nt", base_url="http://example.test:8000").get_data(as_text=True)
    assert "http://example.test:8000/id/initiative/danger" in ttl
    assert "w3id.org/cohesio/id/" not in ttl


def test_veynes_annotations(real):
    text = real.get(VEYNES + "?lang=fr", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "Tel qu&#39;imprimé dans le guide" in text or "Tel qu'imprimé dans le guide" in text
    assert "Veynes (04)" in text and "Beynes" in text
    assert 'class="flag"' in text


def test_language_switch(real):
    fr = real.get(VEYNES, headers={"Accept": BROWSER, "Accept-Language": "fr"})
    en = real.get(VEYNES + "?lang=en", headers={"Accept": BROWSER, "Accept-Language": "fr"})
    assert fr.headers["Content-Language"] == "fr" and en.headers["Content-Language"] == "en"
    tf, te = fr.get_data(as_text=True), en.get_data(as_text=True)
    assert '<html lang="fr">' in tf and '<html lang="en">' in te
    assert "Micro-crèche en milieu rural" in tf and "Micro-nursery in a rural area" in te
    assert "Properties" in te and "Propriétés" in tf
    assert "?lang=en" in te.split('class="lang-switch"')[0] or 'href="/doc/' in te
    assert any("?lang=en" in part for part in te.split('href="/doc/')[1:])  # links keep ?lang
    assert "Accept-Language" in en.headers["Vary"]


def test_search_accent_insensitive(real):
    for q in ("épicerie", "EPICERIE", "epicerie"):
        text = real.get("/search", query_string={"q": q}, headers={"Accept": BROWSER}).get_data(as_text=True)
        assert "/doc/initiative/epicerie-solidaire--arles" in text


def test_browse_pages(real):
    for path in ("/", "/themes", "/territories", "/actors", "/audiences"):
        r = real.get(path, headers={"Accept": BROWSER})
        assert r.status_code == 200, path
        assert 'application/ld+json' in r.get_data(as_text=True) or path != "/"
    home = real.get("/", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "/sparql" in home and "/catalog" in home and "/dumps/latest/" in home and "Licence Ouverte" in home
    assert '"@type": "Dataset"' in home
    assert real.get("/", headers={"Accept": "text/turtle"}).status_code == 303


def test_ontology_and_graphs(real):
    r = real.get("/ontology", headers={"Accept": "application/n-triples"})
    assert r.status_code == 200 and "ontology#Initiative" in r.get_data(as_text=True)
    r = real.get("/graph/guide.ttl")
    assert r.status_code == 200 and "void#triples" in r.get_data(as_text=True) or "void:triples" in r.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/doc/a%25zz", "/id/a%25zz", "/doc/[x]", "/doc/%ff%fe", "/ontology/x%25zz"])
def test_paths_the_engine_cannot_name_are_404_not_500(c, path):
    response = c.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    assert "Accept" in response.headers.get("Vary", "")


def test_odd_page_numbers_and_missing_graph_variants(c):
    assert c.get("/doc/departement/99?page=²", headers={"Accept": "text/html"}).status_code == 200
    assert c.get("/graph/zzz.ttl", headers={"If-None-Match": "*"}).status_code == 404


def test_provenance_badges_are_translated():
    """Graph names are looked up at run time (not seen by the template-string check): each has a
    French translation."""
    from cohesio.web.i18n import translations
    from cohesio.web.resources import GRAPH_NAMES

    french = translations("fr")
    same_in_both = {"Contribution"}  # the same word in French and English
    for name in GRAPH_NAMES.values():
        assert name in french._catalog, name  # noqa: SLF001
        assert french.gettext(name) != name or name in same_in_both, name
