"""The history on the pages: a resource's changes, the change pages, 410 for withdrawn resources,
/history (HTML, JSON, filter) and the export of the history graph.

One project copy (symlinks to the repository's sources, a fresh contributions log) is built once,
then five changes are made through :mod:`cohesio.contributions.service`:

1. create ``test--quimper`` (Alice Martin);
2. create ``test--brest`` (Bob);
3. correct ``test--quimper``'s French label (a reason with ``<script>``);
4. withdraw ``test--brest``;
5. revert change 3.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest

from cohesio.contributions.history import agent_iri

#: The local part of the agents' IRIs (a name with a space gets a slug and a digest).
ALICE = agent_iri("Alice Martin", "").removeprefix("id/agent/")
BOB = agent_iri("Bob", "").removeprefix("id/agent/")

ROOT = Path(__file__).resolve().parents[1]
B = "https://w3id.org/cohesio/"
QUIMPER = f"{B}id/initiative/test--quimper"
BREST = f"{B}id/initiative/test--brest"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SCRIPT = "<script>alert('x')</script>"
COH_CHANGE = f"{B}ontology#Change"

PAYLOAD = """@prefix coh: <https://w3id.org/cohesio/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://w3id.org/cohesio/id/initiative/test--{slug}> a coh:Initiative ;
  rdfs:label "Essai — {Name}"@fr, "Test — {Name}"@en ;
  dct:type <https://w3id.org/cohesio/id/practice/bureau-des-temps> ;
  dct:subject <https://w3id.org/cohesio/id/theme/democratie-de-proximite> ;
  dct:spatial <https://w3id.org/cohesio/id/commune/{insee}> ;
  coh:lead <https://w3id.org/cohesio/id/organization/ville-de-{slug}> .
<https://w3id.org/cohesio/id/organization/ville-de-{slug}> a <http://www.w3.org/ns/org#Organization> ;
  rdfs:label "Ville de {Name}"@fr, "City of {Name}"@en .
"""

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from cohesio.build import build
    from cohesio.config import load_settings
    from cohesio.contributions import service
    from cohesio.web import create_app

    tmp = tmp_path_factory.mktemp("history-pages")
    project = tmp / "project"
    project.mkdir()
    for name in ("catalog.toml", "data", "ontology", "queries", "shapes"):
        (project / name).symlink_to(ROOT / name)
    settings = load_settings(None, environ={}, project_dir=project, store_dir=tmp / "store",
                             contributions_dir=tmp / "contributions", query_processes=1)
    started = time.perf_counter()
    build(settings)
    TIMINGS["build"] = time.perf_counter() - started

    started = time.perf_counter()

    def create(slug: str, name: str, insee: str, agent: str, reason: str):
        payload = PAYLOAD.format(slug=slug, Name=name, insee=insee).encode()
        triples = service.read_payload(settings, payload, "turtle")
        return service.create_initiative(settings, None, triples, agent=agent, reason=reason)

    assert create("quimper", "Quimper", "29232", "Alice Martin", "Nouvelle initiative à Quimper").change.seq == 1
    assert create("brest", "Brest", "29019", "Bob", "Nouvelle initiative à Brest").change.seq == 2
    fix = f'<{QUIMPER}> <http://www.w3.org/2000/01/rdf-schema#label> "Essai corrigé — Quimper"@fr .'.encode()
    outcome = service.correct_initiative(settings, "test--quimper", service.read_payload(settings, fix, "ntriples"),
                                         agent="Alice Martin", reason=f"Libellé corrigé {SCRIPT}")
    assert outcome.change.seq == 3 and outcome.change.action == "correct"
    assert service.withdraw_initiative(settings, "test--brest", agent="Bob", reason="Doublon").change.seq == 4
    assert service.revert_change(settings, 3, agent="Chloé", reason="Retour au libellé d'origine").change.seq == 5
    TIMINGS["changes"] = time.perf_counter() - started

    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["cohesio.backend"].close()


@pytest.fixture()
def c(app):
    return app.test_client()


def html(c, path: str, lang: str = "fr", status: int = 200) -> str:
    response = c.get(path, headers={"Accept": BROWSER, "Accept-Language": lang})
    assert response.status_code == status, (path, response.status_code)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def section(page: str, heading_id: str) -> str:
    """The HTML from the <h2> with this id to the next <h2> (or the end of the page)."""
    start = page.index(f'id="{heading_id}"')
    end = page.find("<h2 ", start)
    return page[start:end if end > 0 else len(page)]


def change_numbers(fragment: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/doc/change/0*(\d+)(?:\?lang=\w+)?">', fragment)]


def row_changes(fragment: str) -> list[int]:
    """The change of each row of a history table (its first link; a revert also links the change
    it reverts)."""
    return [change_numbers(row)[0] for row in fragment.split("<tr>")[2:]]


# ------------------------------------------------------------------ a resource's history


def test_initiative_page_lists_its_changes_in_order_fr(c):
    page = html(c, "/doc/initiative/test--quimper")
    history = section(page, "history-title")
    assert "Historique" in history
    assert row_changes(history) == [1, 3, 5]
    for text in ("Alice Martin", "Chloé", "Nouvelle initiative à Quimper", "Retour au libellé d&#39;origine",
                 "création", "correction", "annulation", f'href="/doc/agent/{ALICE}"'):
        assert text in history, text
    rows = history.split("<tr>")[2:]
    assert "création" in rows[0] and "Alice Martin" in rows[0] and "+" in rows[0]
    assert "correction" in rows[1] and "−1" in rows[1] and "+1" in rows[1]
    assert 'annulation (<a href="/doc/change/000003">n° 3</a>)' in rows[2] and "Chloé" in rows[2]
    # 2026-11-25T01:27:54Z → 2026-11-25 01:27:54 UTC
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>', history)
    assert f'href="/history?resource={quote(QUIMPER, safe="")}"' in history
    # what the contributions added carries its provenance badge
    assert '<span class="graph" title="Source: https://w3id.org/cohesio/graph/contributions">Contribution</span>' in page


def test_initiative_page_lists_its_changes_in_order_en(c):
    history = section(html(c, "/doc/initiative/test--quimper?lang=en"), "history-title")
    assert ">History<" in history
    assert row_changes(history) == [1, 3, 5]
    for text in ("creation", "correction", "revert", "Alice Martin", "Nouvelle initiative à Quimper", "no. 1"):
        assert text in history, text
    assert 'href="/doc/change/000001?lang=en"' in history


def test_pages_without_changes_have_no_history_section(c):
    page = html(c, "/doc/commune/29232")
    assert 'id="history-title"' not in page


def test_backlinks_do_not_list_history_statements(c):
    """The commune is the rdf:object of statements of changes 1 and 3…; only the initiative that
    names it is a backlink."""
    page = html(c, "/doc/commune/29232")
    back = section(page, "back-title")
    assert "/doc/change/" not in page
    assert 'href="/doc/initiative/test--quimper"' in back
    organization = html(c, "/doc/organization/ville-de-quimper")
    assert 'href="/doc/initiative/test--quimper"' in section(organization, "back-title")
    assert "/doc/change/0000" not in section(organization, "back-title")


def test_history_nodes_keep_their_backlinks(c):
    """A change reverted later is linked from the change that reverted it; an author from their changes."""
    agent = html(c, f"/doc/agent/{ALICE}")
    assert change_numbers(section(agent, "back-title")) == [1, 3]
    assert f'/history?resource={quote(B + f"id/agent/{ALICE}", safe="")}' in agent


# ------------------------------------------------------------------ a change's page


def test_change_page_shows_old_and_new_values(c):
    page = html(c, "/doc/change/000003")
    assert "<h1>Modification n° 3</h1>" in page
    removed, added = section(page, "removed-title"), section(page, "added-title")
    old, new = '<span lang="fr">Essai — Quimper</span>', '<span lang="fr">Essai corrigé — Quimper</span>'
    assert old in removed and new not in removed
    assert new in added and old not in added
    for table in (removed, added):
        assert 'href="/doc/initiative/test--quimper"' in table and "libellé" in table
        assert 'href="/graph/contributions">Contribution</a>' in table
    assert f'href="/doc/agent/{ALICE}">Alice Martin</a>' in page
    assert "<dd>correction</dd>" in page
    assert 'href="/doc/change/000005">Modification n° 5</a>' in page  # reverted by
    assert 'href="/history"' in page
    english = html(c, "/doc/change/000003?lang=en")
    assert "Removed statements" in english and "Added statements" in english and "Reverted by" in english


def test_change_page_links_created_and_withdrawn_resources(c):
    created = html(c, "/doc/change/000002")
    assert "Ressources créées" in created and 'href="/doc/initiative/test--brest">Essai — Brest</a>' in created
    withdrawn = html(c, "/doc/change/000004")
    # the withdrawn initiative is named by the label the history remembers
    assert "Ressources retirées" in withdrawn and 'href="/doc/initiative/test--brest">Essai — Brest</a>' in withdrawn
    assert "<dd>retrait</dd>" in withdrawn and "Doublon" in withdrawn
    revert = html(c, "/doc/change/000005")
    assert "Annule" in revert and 'href="/doc/change/000003">Modification n° 3</a>' in revert


def test_change_and_statement_iris_dereference(c):
    r = c.get("/id/change/000003", headers={"Accept": "text/turtle"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/doc/change/000003")
    assert c.get("/doc/change/000003/added/1", headers={"Accept": BROWSER}).status_code == 200
    turtle = c.get("/doc/change/000003.ttl")
    assert turtle.status_code == 200
    graph = list(ox.parse(turtle.data, format=ox.RdfFormat.TURTLE))
    objects = {q.object.value for q in graph if q.predicate.value.endswith("22-rdf-syntax-ns#object")}
    assert {"Essai — Quimper", "Essai corrigé — Quimper"} <= objects


# ------------------------------------------------------------------ withdrawn: 410 Gone


@pytest.mark.parametrize("path", ["/id/initiative/test--brest", "/doc/initiative/test--brest",
                                  "/doc/initiative/test--brest.ttl"])
def test_withdrawn_answers_410_text(c, path):
    r = c.get(path, headers={"Accept": "text/turtle"})
    assert r.status_code == 410
    assert r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    assert "retirée" in text and "withdrawn" in text
    assert "Bob" in text and "Doublon" in text and "/id/change/000004" in text
    assert "Accept" in r.headers["Vary"] and r.headers["Cache-Control"] == "no-cache"
    assert "Location" not in r.headers


@pytest.mark.parametrize("path", ["/id/initiative/test--brest", "/doc/initiative/test--brest"])
def test_withdrawn_answers_410_html(c, path):
    page = html(c, path, status=410)
    assert "<h1>Essai — Brest</h1>" in page
    assert "Cette ressource a été retirée" in page
    assert 'href="/doc/change/000004">Modification n° 4</a>' in page
    assert f'href="/doc/agent/{BOB}">Bob</a>' in page and "Doublon" in page
    assert row_changes(section(page, "history-title")) == [2, 4]
    english = html(c, path + "?lang=en", lang="en", status=410)
    assert "This resource has been withdrawn" in english and "Change no. 4" in english


def test_never_published_is_still_404(c):
    assert c.get("/id/initiative/never-published").status_code == 404
    assert c.get("/doc/initiative/never-published", headers={"Accept": BROWSER}).status_code == 404


def test_reverted_correction_is_published_again(c):
    page = html(c, "/doc/initiative/test--quimper")
    assert "<h1>Essai — Quimper</h1>" in page


# ------------------------------------------------------------------ /history


def test_history_lists_all_changes_newest_first(c):
    page = html(c, "/history")
    assert "Historique des modifications" in page
    table = page[page.index('<table class="history">'):page.index("</table>")]
    assert row_changes(table) == [5, 4, 3, 2, 1]
    assert "5 modifications" in page
    assert 'href="/history.ttl"' in page and 'href="/history.json"' in page
    english = html(c, "/history?lang=en", lang="en")
    assert "History of changes" in english and "5 changes" in english and "withdrawal" in english


def test_history_filter_by_resource(c):
    page = html(c, "/history?resource=" + quote(QUIMPER, safe=""))
    assert row_changes(page[page.index('<table class="history">'):page.index("</table>")]) == [5, 3, 1]
    assert "3 modifications" in page and 'href="/doc/initiative/test--quimper"' in page
    # the resource's URL on this server names it too
    local = c.get("/history.json?resource=" + quote("http://localhost/id/initiative/test--brest", safe=""))
    assert [ch["change"] for ch in local.get_json()["changes"]] == [4, 2]
    assert c.get("/history?resource=%3Cnot%20an%20iri").status_code == 400


def test_history_json(c):
    r = c.get("/history", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["total"] == 5 and body["page"] == 1
    assert [ch["change"] for ch in body["changes"]] == [5, 4, 3, 2, 1]
    withdraw = body["changes"][1]
    assert withdraw["action"] == "withdraw" and withdraw["agent"] == "Bob" and withdraw["reason"] == "Doublon"
    assert withdraw["withdrawn"] == ["http://localhost/id/initiative/test--brest"]
    assert withdraw["removed"] > 0 and withdraw["added"] == 0
    assert body["changes"][0]["reverts"] == "http://localhost/id/change/000003"
    assert "Accept" in r.headers["Vary"]


def test_history_conneg(c):
    assert c.get("/history", headers={"Accept": BROWSER}).mimetype == "text/html"
    turtle = c.get("/history", headers={"Accept": "text/turtle"})
    assert turtle.mimetype == "text/turtle" and turtle.headers["Content-Location"] == "/history.ttl"
    assert c.get("/history").mimetype == "text/turtle"
    assert c.get("/history", headers={"Accept": "image/png"}).status_code == 406
    assert c.get("/history.xyz").status_code == 404
    r = c.get("/history.ttl")
    assert c.get("/history.ttl", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304


def _count_changes(store: ox.Store) -> int:
    query = f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ ?c a <{COH_CHANGE.replace(B, 'http://localhost/')}> }}"
    return int(next(iter(store.query(query)))["n"].value)


@pytest.mark.parametrize("ext, fmt, ctype", [
    ("ttl", ox.RdfFormat.TURTLE, "text/turtle"), ("nt", ox.RdfFormat.N_TRIPLES, "application/n-triples"),
    ("jsonld", ox.RdfFormat.JSON_LD, "application/ld+json"), ("rdf", ox.RdfFormat.RDF_XML, "application/rdf+xml"),
])
def test_history_export(c, ext, fmt, ctype):
    r = c.get(f"/history.{ext}")
    assert r.status_code == 200 and r.mimetype == ctype
    assert "Accept" not in r.headers.get("Vary", "")
    store = ox.Store()
    store.extend(ox.parse(r.data, format=fmt))
    assert _count_changes(store) == 5
    # PROV, with the removed and added triples as statements
    prov = "http://www.w3.org/ns/prov#"
    assert store.query(f"ASK {{ ?c <{prov}invalidated> <http://localhost/id/initiative/test--brest> ; "
                       f"<{prov}wasAssociatedWith>/<http://www.w3.org/2000/01/rdf-schema#label> 'Bob' }}")


# ------------------------------------------------------------------ escaping, links


def test_reason_with_script_is_escaped(c):
    for path in ("/doc/initiative/test--quimper", "/doc/change/000003", "/history",
                 "/history?resource=" + quote(QUIMPER, safe="")):
        page = html(c, path)
        assert SCRIPT not in page, path
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page, path
    body = c.get("/history.json").get_data(as_text=True)
    assert json.loads(body)["changes"][2]["reason"] == f"Libellé corrigé {SCRIPT}"


def test_home_links_the_history(c):
    page = html(c, "/")
    assert 'href="/history"' in page and 'href="/history.ttl"' in page


def test_timings_reported():
    """Not a check: the build and the five changes' durations, shown with ``pytest -s``."""
    print({k: round(v, 1) for k, v in TIMINGS.items()})
