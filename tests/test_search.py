"""Search and browse pages bounded at any scale (issue 8): the on-disk index written by the build,
its overlay for contributions, the cache file of a version without index, and the paged lists.

A synthetic catalogue bigger than one page of everything: 61 initiatives matching "épicerie", 120
organisations, a région, a département and its communes, an audience, a place abroad, and a label
carrying markup (escaped everywhere it is shown)."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from cohesio import versions
from cohesio.config import Settings
from cohesio.linked_data import search as search_mod
from cohesio.linked_data.search_build import BackendSource, StoreSource, write_index
from cohesio.publishing.dumps import write_search_index
from cohesio.sparql.executor import evaluate

ROOT = Path(__file__).resolve().parents[1]
B = "https://w3id.org/cohesio/"
COH = f"{B}ontology#"
HTML = {"Accept": "text/html"}
MARKUP = '<script>alert("x")</script> & Cie'


def catalogue() -> str:
    """N-Quads of the synthetic catalogue."""
    g = f"<{B}graph/guide>"
    geo = f"<{B}graph/geography>"
    rdfs = "http://www.w3.org/2000/01/rdf-schema#label"
    skos = "http://www.w3.org/2004/02/skos/core#"
    dct = "http://purl.org/dc/terms/"
    igeo = "http://rdf.insee.fr/def/geo#"
    a = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    lines = [
        f'<{B}id/region/53> <{a}> <{igeo}Region> {geo} .',
        f'<{B}id/region/53> <{rdfs}> "Bretagne"@fr {geo} .',
        f'<{B}id/departement/35> <{a}> <{igeo}Departement> {geo} .',
        f'<{B}id/departement/35> <{rdfs}> "Ille-et-Vilaine"@fr {geo} .',
        f'<{B}id/departement/35> <{igeo}subdivisionDe> <{B}id/region/53> {geo} .',
        f'<{B}id/theme/t> <{skos}inScheme> <{B}id/scheme/themes> {g} .',
        f'<{B}id/theme/t> <{skos}prefLabel> "Solidarité"@fr {g} .',
        f'<{B}id/theme/t> <{a}> <{skos}Concept> {g} .',
        f'<{B}id/practice/p> <{skos}inScheme> <{B}id/scheme/practices> {g} .',
        f'<{B}id/practice/p> <{skos}prefLabel> "Épicerie solidaire"@fr {g} .',
        f'<{B}id/practice/p> <{a}> <{skos}Concept> {g} .',
        f'<{B}id/practice/p> <{dct}subject> <{B}id/theme/t> {g} .',
        f'<{B}id/audience/aines> <{skos}inScheme> <{B}id/scheme/audiences> {g} .',
        f'<{B}id/audience/aines> <{skos}prefLabel> "Aînés"@fr {g} .',
        f'<{B}id/place/ailleurs> <{a}> <{COH}Place> {g} .',
        f'<{B}id/place/ailleurs> <{rdfs}> "Ailleurs"@fr {g} .',
    ]
    for slug, name in (("varennes", "Varennes"), ("gare-de-rennes", "Gare de Rennes"), ("rennes", "Rennes")):
        lines += [f'<{B}id/place/{slug}> <{a}> <{COH}Place> {g} .', f'<{B}id/place/{slug}> <{rdfs}> "{name}"@fr {g} .']
    for c in range(3):
        commune = f"<{B}id/commune/3500{c}>"
        lines += [f'{commune} <{a}> <{igeo}Commune> {geo} .', f'{commune} <{rdfs}> "Commune {c}"@fr {geo} .',
                  f'{commune} <{igeo}subdivisionDe> <{B}id/departement/35> {geo} .']
    for k in range(120):
        org = f"<{B}id/organization/org-{k:03d}>"
        fr = MARKUP if k == 7 else f"Organisme {k:03d}"
        lines += [f'{org} <{a}> <http://www.w3.org/ns/org#Organization> {g} .',
                  f'{org} <{rdfs}> "{fr.replace(chr(34), chr(92) + chr(34))}"@fr {g} .',
                  f'{org} <{rdfs}> "Body {119 - k:03d}"@en {g} .']
    for i in range(61):
        ini = f"<{B}id/initiative/epicerie-{i:02d}>"
        if i < 60:
            labels = [f'"Épicerie solidaire n° {i:02d}"@fr', f'"Solidarity grocery no. {i:02d}"@en']
        else:  # the word only in its description: ranked after every label match
            labels = ['"Marché couvert"@fr']
            lines.append(f'{ini} <{dct}description> "Une épicerie sous la halle."@fr {g} .')
        lines += [f'{ini} <{rdfs}> {label} {g} .' for label in labels]
        lines += [f'{ini} <{a}> <{COH}Initiative> {g} .', f'{ini} <{dct}type> <{B}id/practice/p> {g} .',
                  f'{ini} <{COH}lead> <{B}id/organization/org-{i % 3:03d}> {g} .',
                  f'{ini} <{dct}spatial> <{B}id/commune/3500{i % 3}> {g} .']
        if i < 5:
            lines.append(f'{ini} <{dct}audience> <{B}id/audience/aines> {g} .')
    lines.append(f'<{B}id/initiative/epicerie-00> <{dct}spatial> <{B}id/place/ailleurs> {g} .')
    return "\n".join(lines) + "\n"


def publish(store_dir: Path, with_index: bool = True) -> None:
    staged = versions.staging_dir(store_dir)
    store = ox.Store(str(staged / versions.STORE))
    store.load(catalogue().encode("utf-8"), format=ox.RdfFormat.N_QUADS)
    manifest = {"version": "search-1", "created": "2026-01-02T03:04:05+00:00", "base_iri": B, "last_change": 0}
    if with_index:
        manifest["artefacts"] = {"search": write_search_index(store, staged, B, manifest)}
    store.flush()
    del store
    versions.publish(store_dir, staged, "search-1", manifest)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from cohesio.web import create_app

    where = tmp_path_factory.mktemp("search-store")
    publish(where / "store")
    settings = Settings(project_dir=ROOT, store_dir=where / "store", query_processes=1, cache_dir=where / "cache")
    flask_app = create_app(settings)
    flask_app.config["TESTING"] = True
    yield flask_app
    flask_app.extensions["cohesio.backend"].close()


@pytest.fixture()
def client(app):
    return app.test_client()


def results(html: str) -> list[str]:
    found = re.search(r'<ol class="results"[^>]*>(.*?)</ol>', html, re.S)
    return re.findall(r'<li><a href="([^"]+)">', found.group(1)) if found else []


def items(html: str) -> list[str]:
    main = html.split('<main id="content">', 1)[1]
    return re.findall(r'<li><a href="(/doc/[^"?]+)[^"]*">', main)


def next_link(html: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)">', html)
    return found.group(1).replace("&amp;", "&") if found else None


# ------------------------------------------------------------------ search


def test_the_build_writes_the_index_as_an_artefact_of_the_version(app):
    manifest = app.extensions["cohesio.backend"].manifest
    search = manifest["artefacts"]["search"]
    assert search["path"] == "search/index.sqlite" and search["entries"] > 180 and search["last_change"] == 0
    assert (app.extensions["cohesio.backend"].published.path / search["path"]).is_file()


def test_search_pages_through_more_matches_than_a_page(client):
    first = client.get("/search?q=EPICERIE", headers=HTML).get_data(as_text=True)
    assert "62 résultats" in first  # the 61 initiatives and the practice
    hits = results(first)
    assert len(hits) == search_mod.PAGE_SIZE
    seen, page, url = list(hits), first, next_link(first)
    while url:
        assert "q=EPICERIE" in url and "page=" in url
        page = client.get(url, headers=HTML).get_data(as_text=True)
        seen += results(page)
        url = next_link(page)
    assert len(seen) == len(set(seen)) == 62
    # same score: alphabetical ("Épicerie solidaire" before "Épicerie solidaire n° 00"); labels weigh
    # more than descriptions: the match in a description only comes last
    assert seen[:3] == ["/doc/practice/p", "/doc/initiative/epicerie-00", "/doc/initiative/epicerie-01"]
    assert seen[-1] == "/doc/initiative/epicerie-60" and 'rel="prev"' in page


def test_search_folds_accents_and_case_and_follows_the_page_language(client):
    for q in ("épicerie", "ÉPICERIE", "epicerie"):
        assert "/doc/initiative/epicerie-05" in client.get(f"/search?q={q}", headers=HTML).get_data(as_text=True)
    english = client.get("/search?q=grocery&lang=en", headers=HTML).get_data(as_text=True)
    assert "Solidarity grocery no. 00" in english and "60 results" in english
    # the page language picks the label shown, else the other language
    french = client.get("/search?q=grocery&lang=fr", headers=HTML).get_data(as_text=True)
    assert "Épicerie solidaire n° 00" in french


def test_short_words_match_the_start_of_words(client):
    assert "/doc/initiative/epicerie-60" in client.get("/search?q=ha", headers=HTML).get_data(as_text=True)
    assert "/doc/initiative/epicerie-60" not in client.get("/search?q=al", headers=HTML).get_data(as_text=True)
    both = client.get("/search?q=epicerie+60", headers=HTML).get_data(as_text=True)
    assert "/doc/initiative/epicerie-60" not in both  # "60" is the start of no word of the label
    assert results(client.get("/search?q=solidaire+n+07", headers=HTML).get_data(as_text=True)) == [
        "/doc/initiative/epicerie-07"]


def test_a_label_equal_to_the_query_comes_first_then_word_starts(client, monkeypatch):
    expected = ["/doc/place/rennes", "/doc/place/gare-de-rennes", "/doc/place/varennes"]
    assert results(client.get("/search?q=RENNES", headers=HTML).get_data(as_text=True)) == expected
    monkeypatch.setattr(search_mod, "CAP", 1)  # the same order when the groups are read in pages
    assert results(client.get("/search?q=rennes", headers=HTML).get_data(as_text=True)) == expected


def test_past_the_cap_the_label_matches_come_first_and_the_count_is_a_lower_bound(client, monkeypatch):
    monkeypatch.setattr(search_mod, "CAP", 10)
    html = client.get("/search?q=epicerie", headers=HTML).get_data(as_text=True)
    assert "Au moins" in html and len(results(html)) == search_mod.PAGE_SIZE
    seen, url = results(html), next_link(html)
    while url:
        page = client.get(url, headers=HTML).get_data(as_text=True)
        seen += results(page)
        url = next_link(page)
    assert len(set(seen)) == 62 and seen[-1] == "/doc/initiative/epicerie-60"


def test_too_deep_a_page_asks_to_narrow_the_search(client):
    html = client.get("/search?q=epicerie&page=9999", headers=HTML).get_data(as_text=True)
    assert "préciser la recherche" in html and results(html) == []


def test_search_escapes_the_data(client):
    html = client.get("/search?q=script", headers=HTML).get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Cie" in html
    assert MARKUP not in html


# ------------------------------------------------------------------ browse pages


def test_actors_are_paged_alphabetically_in_each_language(client):
    first = client.get("/actors", headers=HTML).get_data(as_text=True)
    listed = items(first)
    assert len(listed) == search_mod.LIST_PAGE_SIZE and "Page 1 sur 3" in first
    assert listed[0] == "/doc/organization/org-007"  # "<script>…" sorts first once folded
    assert listed[1:3] == ["/doc/organization/org-000", "/doc/organization/org-001"]
    assert "(20 initiatives)" in first  # org-000 leads initiatives 0, 3, 6…
    third = client.get(next_link(client.get(next_link(first), headers=HTML).get_data(as_text=True)),
                       headers=HTML).get_data(as_text=True)
    assert len(items(third)) == 20 and next_link(third) is None
    english = client.get("/actors?lang=en", headers=HTML).get_data(as_text=True)
    assert items(english)[0] == "/doc/organization/org-119" and "Body 000" in english
    assert 'href="/actors?page=2&amp;lang=en"' in english
    assert "&lt;script&gt;" in first and MARKUP not in first


def test_themes_show_a_sample_of_each_practice_and_a_link_to_all(client):
    html = client.get("/themes", headers=HTML).get_data(as_text=True)
    practice = html.split("Épicerie solidaire</a>", 1)[1]
    assert "(61 initiatives)" in practice
    assert len(re.findall(r'href="/doc/initiative/', practice)) == 10
    assert "Les 61 initiatives de cette pratique" in practice


def test_territories_count_at_build_time_and_page_the_places(client, monkeypatch):
    html = client.get("/territories", headers=HTML).get_data(as_text=True)
    assert "Bretagne" in html and "Ille-et-Vilaine" in html and "(61 initiatives)" in html
    assert "Ailleurs" in html  # outside any région
    assert 'href="/territories?departement=35"' in html
    from cohesio.web import browse

    monkeypatch.setattr(browse, "PLACES_PAGE", 2)
    places = client.get("/territories?departement=35", headers=HTML).get_data(as_text=True)
    assert "3 lieux" in places and len(items(places)) == 2 and "(21 initiatives)" in places
    rest = client.get(next_link(places), headers=HTML).get_data(as_text=True)
    assert items(rest) == ["/doc/commune/35002"] and next_link(rest) is None
    assert client.get("/territories?region=53", headers=HTML).status_code == 200
    for bad in ("/territories?departement=%3Cx%3E", "/territories?departement=99", "/territories?region=123"):
        assert client.get(bad, headers=HTML).status_code == 404


def test_home_and_audiences_use_the_build_time_figures(client):
    home = client.get("/", headers=HTML).get_data(as_text=True)
    assert re.search(r"Initiatives\s*:\s*61", home) and re.search(r"Acteurs\s*:\s*120", home)
    audiences = client.get("/audiences", headers=HTML).get_data(as_text=True)
    assert "Aînés" in audiences and "(5 initiatives)" in audiences


# ------------------------------------------------------------------ versions without an index, other backends


class _Backend:
    """A backend over a store that is not on this machine's disk for the search module (as the
    remote backend is): no ``published`` version, so the index is built through SPARQL."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.version = "remote-1"
        self.identity = "test backend"
        self.queries = 0

    def run(self, job, timeout=None):
        self.queries += 1
        return evaluate(self.store, job)


def test_a_backend_without_store_builds_the_same_index_in_pages(tmp_path):
    store = ox.Store()
    store.load(catalogue().encode("utf-8"), format=ox.RdfFormat.N_QUADS)
    direct = write_index(StoreSource(store), B, tmp_path / "direct.sqlite")
    backend = _Backend(store)
    paged = write_index(BackendSource(backend, page=7), B, tmp_path / "paged.sqlite")
    assert paged.entries == direct.entries and backend.queries > 40
    a, b = search_mod.SearchIndex.open(tmp_path / "direct.sqlite"), search_mod.SearchIndex.open(tmp_path / "paged.sqlite")
    assert a.counts == b.counts
    assert [h.iri for h in a.search("epicerie", "fr", 2).hits] == [h.iri for h in b.search("epicerie", "fr", 2).hits]
    # index_for builds it into the cache at first use, then reuses it
    index = search_mod.index_for(backend, B, tmp_path / "cache")
    assert index.search("marche couvert", "fr").hits[0].iri == f"{B}id/initiative/epicerie-60"
    before = backend.queries
    search_mod.index_for(backend, B, tmp_path / "cache")
    assert backend.queries == before


def test_a_version_published_without_index_gets_one_in_the_cache(tmp_path):
    from cohesio.web import create_app

    publish(tmp_path / "store", with_index=False)
    settings = Settings(project_dir=ROOT, store_dir=tmp_path / "store", query_processes=1, cache_dir=tmp_path / "cache")
    app = create_app(settings)
    try:
        html = app.test_client().get("/search?q=epicerie", headers=HTML).get_data(as_text=True)
        assert "62 résultats" in html
        assert list((tmp_path / "cache" / "search").glob("*.sqlite"))
        assert not (app.extensions["cohesio.backend"].published.path / "search").exists()
    finally:
        app.extensions["cohesio.backend"].close()


def test_an_index_being_built_answers_503_with_retry_after(tmp_path, monkeypatch):
    from cohesio.web import create_app

    publish(tmp_path / "store", with_index=False)
    settings = Settings(project_dir=ROOT, store_dir=tmp_path / "store", query_processes=1, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(search_mod, "BUILD_WAIT", 0.0)
    app = create_app(settings)
    try:
        client = app.test_client()
        response = client.get("/actors", headers=HTML)
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert "préparation" in response.get_data(as_text=True) and "prepared" in response.get_data(as_text=True)
        home = client.get("/", headers=HTML)  # no figures yet, but the page is there
        assert home.status_code == 200
    finally:
        app.extensions["cohesio.backend"].close()


# ------------------------------------------------------------------ contributions


def test_a_contributed_initiative_is_found_at_once(contrib_settings, monkeypatch):
    from cohesio.contributions import service
    from cohesio.web import create_app
    from contrib_support import new_initiative, turtle

    def submit(payload: bytes, **kw):
        triples = service.read_payload(contrib_settings, payload, "turtle")
        return service.import_triples(contrib_settings, triples, agent="alice", reason="test", **kw)

    submit(new_initiative("kiosque--brest"))
    version = versions.current(contrib_settings.store_path)
    overlay = version.manifest["search_changes"]
    assert overlay["path"] == "search/changes.sqlite" and overlay["entries"] >= 1
    # the build's index is shared by hard link, never copied
    built = version.path / version.manifest["artefacts"]["search"]["path"]
    assert built.stat().st_nlink >= 2
    app = create_app(contrib_settings)
    try:
        client = app.test_client()
        html = client.get("/search?q=essai+kiosque", headers=HTML).get_data(as_text=True)
        assert "/doc/initiative/kiosque--brest" in html
        # a correction: the new label is found, the old one no longer
        submit(turtle(f"""<{B}id/initiative/kiosque--brest> rdfs:label "Kiosque à livres"@fr ."""))
        assert "/doc/initiative/kiosque--brest" in client.get("/search?q=livres", headers=HTML).get_data(as_text=True)
        assert "/doc/initiative/kiosque--brest" not in client.get("/search?q=essai+kiosque",
                                                                  headers=HTML).get_data(as_text=True)
        # the build's entries of other resources are still found
        assert "Bureau des temps" in client.get("/search?q=bureau+des+temps", headers=HTML).get_data(as_text=True)
        # a contributed organisation is listed on /actors, on the page its label sorts into
        monkeypatch.setattr(search_mod, "LIST_PAGE_SIZE", 10)
        submit(turtle(f"""<{B}id/organization/amicale-des-kiosques> a org:Organization ;
            rdfs:label "Amicale des kiosques"@fr, "Kiosk friends"@en ."""))
        url, pages = "/actors", []
        while url:
            page = client.get(url, headers=HTML).get_data(as_text=True)
            pages.append(items(page))
            url = next_link(page)
        listed = [iri for page in pages for iri in page]
        assert listed.count("/doc/organization/amicale-des-kiosques") == 1
        assert len(listed) == len(set(listed)) and len(pages) > 2 and all(len(p) <= 11 for p in pages)
        assert listed.index("/doc/organization/amicale-des-kiosques") < len(pages[0])  # "Amicale…": first page
        # withdrawn: no longer found (the overlay still lists it as changed)
        service.withdraw_initiative(contrib_settings, "kiosque--brest", agent="alice", reason="test")
        assert "/doc/initiative/kiosque--brest" not in client.get("/search?q=livres", headers=HTML).get_data(as_text=True)
    finally:
        app.extensions["cohesio.backend"].close()
