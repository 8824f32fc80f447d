"""The named-query REST API (``/api``): every query on the shipped data, every format, the errors,
paging and truncation, the OpenAPI description (validated, and fuzzed with schemathesis), the
documentation page, the SHACL description of the queries, and ``queries_for``."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from cohesio import api
from cohesio.queries import load_queries, queries_for, queries_graph

ROOT = Path(__file__).resolve().parents[1]
QUERIES = {q.name: q for q in load_queries(ROOT / "queries")}
ID = "https://w3id.org/cohesio/id/"
COH = "https://w3id.org/cohesio/ontology#"


@pytest.fixture(scope="module")
def app(real_build):
    from cohesio.config import load_settings
    from cohesio.web import create_app

    store_dir = real_build.version.path.parent.parent
    settings = load_settings(None, environ={}, project_dir=ROOT, store_dir=store_dir)
    application = create_app(settings)
    yield application
    application.extensions["cohesio.backend"].close()


@pytest.fixture(scope="module")
def small_app(real_build):
    """The same data with max_rows=3, to see truncation."""
    from dataclasses import replace

    from cohesio.config import load_settings
    from cohesio.web import create_app

    store_dir = real_build.version.path.parent.parent
    settings = replace(load_settings(None, environ={}, project_dir=ROOT, store_dir=store_dir), max_rows=3)
    application = create_app(settings)
    yield application
    application.extensions["cohesio.backend"].close()


@pytest.fixture()
def client(app):
    return app.test_client()


def rows(client, name: str, **params) -> list[dict]:
    response = client.get(f"/api/{name}", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.get_json()
    assert document["query"] == name and document["truncated"] is False
    return document["rows"]


def col(found: list[dict], name: str) -> list:
    return [row[name] for row in found]


def short(iri: str) -> str:
    return iri.removeprefix(ID)


# ------------------------------------------------------------------ the query files


def test_at_least_fifteen_queries() -> None:
    assert len(QUERIES) >= 15


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_is_pageable_and_complete(name: str) -> None:
    query = QUERIES[name]
    api.check_pageable(query)  # a SELECT with no LIMIT/OFFSET/VALUES of its own, no reserved names
    for param in query.params:
        assert param.example, f"{name}: parameter {param.name} has no example"
        api.rdf_term(param, param.default)
        api.rdf_term(param, param.example)
    ox.Store().query(api.read_call(query, [], 100).text())  # the bound, paged text parses


# ------------------------------------------------------------------ expected rows on the data

TOP_THEMES = {
    "solidarite": 14, "acces-a-la-connaissance-et-a-l-emploi": 6, "democratie-de-proximite": 5,
    "developpement-economique-solidaire": 3, "cooperation-decentralisee": 2, "culture-et-sports-pour-tous": 2,
    "sante-et-consommation": 1,
}


def test_counts_per_theme(client) -> None:
    found = rows(client, "counts-per-theme")
    assert {short(r["theme"]).removeprefix("theme/"): r["initiatives"] for r in found} == TOP_THEMES
    assert col(found, "initiatives") == sorted(TOP_THEMES.values(), reverse=True)
    assert found[0]["label"] == "Solidarité"
    assert rows(client, "counts-per-theme", lang="en")[0]["label"] == "Solidarity"


def test_counts_per_practice(client) -> None:
    found = rows(client, "counts-per-practice")
    assert len(found) == 18 and sum(col(found, "initiatives")) == 24
    assert (short(found[0]["practice"]), found[0]["initiatives"]) == ("practice/bureau-des-temps", 7)
    assert set(col(found[1:], "initiatives")) == {1}


def test_counts_per_region(client) -> None:
    found = rows(client, "counts-per-region")
    assert {short(r["region"]): r["initiatives"] for r in found} == {
        "region/84": 5, "region/53": 5, "region/75": 4, "region/44": 2, "region/93": 2, "region/11": 2,
        "region/27": 1, "region/32": 1, "region/52": 1}
    assert found[0]["label"] == "Auvergne-Rhône-Alpes"


def test_initiatives_by_theme(client) -> None:
    found = rows(client, "initiatives-by-theme")
    assert len(found) == 15 and len(set(col(found, "initiative"))) == 14
    found = rows(client, "initiatives-by-theme", theme=ID + "theme/sante-et-consommation")
    assert col(found, "label_fr") == ["Épicerie solidaire — Arles"]
    found = rows(client, "initiatives-by-theme", theme=ID + "theme/culture-et-sports-pour-tous")
    assert sorted(short(i) for i in col(found, "initiative")) == [
        "initiative/soutien-cultures-du-coeur--mission-locale-ouest-cotes-d-armor",
        "initiative/sport-de-rue-et-de-proximite--echirolles"]


def test_initiatives_by_practice(client) -> None:
    found = rows(client, "initiatives-by-practice")
    assert [short(p) for p in col(found, "place")] == [
        "departement/33", "place/grand-lyon", "commune/38185", "commune/54395", "commune/75056",
        "commune/86194", "commune/35238"]
    assert found[-1]["label_en"] == "Time office — Rennes"
    found = rows(client, "initiatives-by-practice", practice=ID + "practice/epicerie-solidaire")
    assert col(found, "label_fr") == ["Épicerie solidaire — Arles"]


def test_initiatives_by_audience(client) -> None:
    found = rows(client, "initiatives-by-audience")
    assert [short(i) for i in col(found, "initiative")] == [
        "initiative/maison-des-parents--mulhouse-alsace-agglomeration",
        "initiative/micro-creche-en-milieu-rural--cc-de-l-asse-et-de-ses-affluents"]
    found = rows(client, "initiatives-by-audience", audience=ID + "audience/habitants", lang="en")
    assert len(found) == 4 and "Council of elders — Besançon" in col(found, "label")


def test_initiatives_in_commune_arles(client) -> None:
    found = rows(client, "initiatives-in-commune", commune=ID + "commune/13004")
    assert found == [{"initiative": ID + "initiative/epicerie-solidaire--arles",
                      "label": "Épicerie solidaire — Arles", "place": ID + "commune/13004",
                      "place_label": "Arles"}]
    found = rows(client, "initiatives-in-commune", commune=ID + "commune/35238")
    assert col(found, "label") == ["Bureau des temps — Rennes"]
    found = rows(client, "initiatives-in-commune", commune=ID + "commune/29019")  # Brest: the city and its EPCI
    assert sorted(short(p) for p in col(found, "place")) == ["commune/29019", "epci/242900314"]


def test_initiatives_in_departement(client) -> None:
    found = rows(client, "initiatives-in-departement")
    assert [short(i) for i in col(found, "initiative")] == [
        "initiative/bureau-des-temps--grenoble", "initiative/sport-de-rue-et-de-proximite--echirolles"]
    found = rows(client, "initiatives-in-departement", departement=ID + "departement/22")
    assert sorted(short(p) for p in col(found, "place")) == ["place/ouest-cotes-d-armor", "place/pays-de-saint-brieuc"]


def test_initiatives_in_region(client) -> None:
    found = rows(client, "initiatives-in-region")
    assert [short(i) for i in col(found, "initiative")] == [
        "initiative/bureau-des-temps--rennes",
        "initiative/fonds-aide-initiatives-quartiers--brest-metropole-oceane",
        "initiative/groupe-d-employeurs-multisectoriel--pays-de-saint-brieuc",
        "initiative/mediateurs-urbains--brest",
        "initiative/soutien-cultures-du-coeur--mission-locale-ouest-cotes-d-armor"]
    found = rows(client, "initiatives-in-region", region=ID + "region/84")
    assert len(found) == 5 and ID + "place/grand-lyon" in col(found, "place")


def test_departements_without_initiative(client) -> None:
    assert rows(client, "departements-without-initiative") == [
        {"departement": ID + "departement/56", "code": "56", "label": "Morbihan"}]
    found = rows(client, "departements-without-initiative", region=ID + "region/11")
    assert col(found, "code") == ["77", "78", "92", "93", "94", "95"]


def test_actors(client) -> None:
    found = rows(client, "actors")
    assert len(found) == 31 and set(col(found, "initiatives")) == {1}
    arles = next(r for r in found if r["actor"] == ID + "organization/ville-d-arles")
    assert arles == {"actor": ID + "organization/ville-d-arles", "label": "Ville d'Arles",
                     "type_label": "Commune (collectivité)", "initiatives": 1}


def test_initiatives_of_actor(client) -> None:
    assert rows(client, "initiatives-of-actor") == [
        {"initiative": ID + "initiative/epicerie-solidaire--arles", "label": "Épicerie solidaire — Arles",
         "role": COH + "lead"}]
    found = rows(client, "initiatives-of-actor", actor=ID + "organization/solid-arles")
    assert col(found, "role") == [COH + "operator"]


def test_initiatives_of_body_and_successors(client) -> None:
    found = rows(client, "initiatives-of-body-and-successors")
    assert [(short(r["organisation"]), r["dissolved"], r["initiative"] and short(r["initiative"])) for r in found] == [
        ("organization/grand-lyon", "2015", "initiative/bureau-des-temps--grand-lyon"),
        ("organization/metropole-de-lyon", None, None)]
    found = rows(client, "initiatives-of-body-and-successors", body=ID + "organization/conseil-general-de-la-gironde")
    assert col(found, "organisation_label") == ["Conseil départemental de la Gironde", "Conseil général de la Gironde"]


def test_dissolved_bodies(client) -> None:
    found = rows(client, "dissolved-bodies")
    assert len(found) == 9
    assert {short(r["resource"]): short(r["successor"]) for r in found}["organization/grand-lyon"] == \
        "organization/metropole-de-lyon"
    assert col(found, "dissolved").count("2015") == 4


def test_quality_annotations(client) -> None:
    found = rows(client, "quality-annotations")
    assert len(found) == 51
    assert found[0]["category"] == "Département absent"
    by_category = rows(client, "quality-annotations-by-category")
    assert [short(r["annotation"]) for r in by_category] == [
        "annotation/brest-outdated", "annotation/gironde-outdated", "annotation/grand-lyon-outdated"]
    assert by_category[2]["as_printed"] == "Grand Lyon"
    found = rows(client, "quality-annotations-by-category", category=ID + "quality-category/wrong-departement")
    assert col(found, "target") == [ID + "initiative/micro-creche-en-milieu-rural--cc-de-l-asse-et-de-ses-affluents"]


def test_initiative_record(client) -> None:
    found = rows(client, "initiative-record")
    assert len(found) == 10
    assert {(short(r["graph"].removeprefix("https://w3id.org/cohesio/")), r["property"]) for r in found} >= {
        ("graph/guide", COH + "lead"), ("graph/editorial", "http://purl.org/dc/terms/subject")}
    lead = next(r for r in found if r["property"] == COH + "lead")
    assert lead["value"] == ID + "organization/ville-de-rennes" and lead["value_label"] == "Ville de Rennes"


def test_search_initiatives_escapes_text(client) -> None:
    assert col(rows(client, "search-initiatives"), "label") == ["Bureau des temps — Grand Lyon"]
    assert len(rows(client, "search-initiatives", text="ARLES")) == 1
    # quotes, braces, a closing of the VALUES block, a comment: all one literal, nothing injected
    for nasty in ['") } SELECT * WHERE { ?s ?p ?o } #', "a\"b", "x\\", "\n}", "'''", "$text"]:
        assert rows(client, "search-initiatives", text=nasty) == []


def test_every_query_answers_with_defaults_and_examples(client) -> None:
    for name, query in QUERIES.items():
        started = time.perf_counter()
        assert rows(client, name), name
        examples = {p.name: p.example for p in query.params}
        assert rows(client, name, **examples), name
        assert time.perf_counter() - started < 5, name


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_format_of_every_query(client, name: str) -> None:
    plain = client.get(f"/api/{name}").get_json()
    n = len(plain["rows"])
    variables = plain["variables"]

    for path in (f"/api/{name}.json", f"/api/{name}"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.get_json()["rows"] == plain["rows"]

    response = client.get(f"/api/{name}.csv")
    assert response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0] == variables and len(table) == n + 1

    response = client.get(f"/api/{name}.srj")
    assert response.mimetype == "application/sparql-results+json"
    parsed = ox.parse_query_results(response.data, format=ox.QueryResultsFormat.JSON)
    assert [v.value for v in parsed.variables] == variables and len(list(parsed)) == n

    response = client.get(f"/api/{name}.srx")
    assert response.mimetype == "application/sparql-results+xml"
    assert len(list(ox.parse_query_results(response.data, format=ox.QueryResultsFormat.XML))) == n

    response = client.get(f"/api/{name}.tsv")
    assert response.mimetype == "text/tab-separated-values"
    assert len(list(ox.parse_query_results(response.data, format=ox.QueryResultsFormat.TSV))) == n


@pytest.mark.parametrize("accept,media", [
    ("application/json", "application/json"),
    ("text/csv", "text/csv"),
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
    ("*/*", "application/json"),
])
def test_accept_header(client, accept: str, media: str) -> None:
    response = client.get("/api/counts-per-theme", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == media


def test_unacceptable_format_is_406(client) -> None:
    response = client.get("/api/counts-per-theme", headers={"Accept": "image/png"})
    assert response.status_code == 406


def test_plain_json_values_are_plain(client) -> None:
    found = rows(client, "counts-per-theme")
    assert isinstance(found[0]["initiatives"], int) and isinstance(found[0]["theme"], str)


# ------------------------------------------------------------------ errors


def error_text(response) -> str:
    return response.get_data(as_text=True)


def test_unknown_query_is_bilingual_404(client) -> None:
    for path in ("/api/no-such-query", "/api/no-such-query.csv"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Aucune requête nommée" in error_text(response) and "No named query" in error_text(response)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_unknown_parameter_is_400_naming_it(client, name: str) -> None:
    response = client.get(f"/api/{name}", query_string={"colour": "blue"})
    assert response.status_code == 400
    text = error_text(response)
    assert "« colour »" in text and "'colour'" in text and "inconnu" in text and "Unknown" in text


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_badly_typed_parameter_is_400_naming_it(client, name: str) -> None:
    for param in QUERIES[name].params:
        bad = "not an iri" if param.type == "iri" else "zzz-not-allowed"
        if param.type == "string" and not param.values:
            continue  # any text is a string
        response = client.get(f"/api/{name}", query_string={param.name: bad})
        assert response.status_code == 400, (name, param.name)
        text = error_text(response)
        assert f"« {param.name} »" in text and f"'{param.name}'" in text and "invalide" in text and "Invalid" in text


@pytest.mark.parametrize("query_string,word", [
    ("limit=0", "limit"), ("limit=abc", "limit"), ("limit=10001", "limit"), ("limit=-1", "limit"),
    ("offset=-1", "offset"), ("offset=x", "offset"), ("offset=99999999999", "offset"),
    ("lang=fr&lang=en", "lang"), ("lang=de", "lang"),
])
def test_bad_paging_or_repeated_parameter(client, query_string: str, word: str) -> None:
    response = client.get(f"/api/counts-per-theme?{query_string}")
    assert response.status_code == 400
    assert f"« {word} »" in error_text(response) and f"'{word}'" in error_text(response)


def test_iri_parameter_refuses_what_is_not_an_iri(client) -> None:
    for bad in ["<http://x>", "http://x> } #", "http://a b", "relative/path", "javascript"]:
        response = client.get("/api/initiatives-in-commune", query_string={"commune": bad})
        assert response.status_code == 400, bad


def test_not_utf8_url_is_400(client) -> None:
    response = client.get("/api/search-initiatives?text=%FF")
    assert response.status_code == 400


def test_post_is_not_allowed(client) -> None:
    assert client.post("/api/counts-per-theme").status_code == 405


# ------------------------------------------------------------------ paging and truncation


def test_paging_with_link_headers(client) -> None:
    everything = rows(client, "counts-per-practice")
    seen: list[dict] = []
    url = "/api/counts-per-practice?limit=5"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200 and "Cohesio-Truncated" not in response.headers
        document = response.get_json()
        assert document["truncated"] is False
        seen += document["rows"]
        pages += 1
        link = response.headers.get("Link", "")
        match = re.search(r'<([^>]+)>; rel="next"', link)
        url = match.group(1).replace("http://localhost", "") if match else None
        assert document["next"] == (match.group(1) if match else None)
        if pages > 1:
            assert 'rel="prev"' in link
    assert pages == 4 and seen == everything


def test_paging_keeps_parameters_and_extension(client) -> None:
    response = client.get("/api/counts-per-theme.csv?lang=en&limit=3&offset=3")
    assert response.status_code == 200
    link = response.headers["Link"]
    assert "/api/counts-per-theme.csv?lang=en&limit=3&offset=6" in link and "offset=0" in link
    assert len(response.get_data(as_text=True).strip().splitlines()) == 4


def test_last_page_has_no_next(client) -> None:
    response = client.get("/api/counts-per-theme?limit=7")
    assert "Link" not in response.headers and response.get_json()["next"] is None


def test_offset_beyond_the_end_is_an_empty_page(client) -> None:
    response = client.get("/api/counts-per-theme?offset=1000")
    assert response.status_code == 200 and response.get_json()["rows"] == []


def test_truncation_at_max_rows_is_explicit(small_app) -> None:
    client = small_app.test_client()
    response = client.get("/api/counts-per-theme")
    assert response.headers["Cohesio-Truncated"] == "true; limit=3"
    document = response.get_json()
    assert document["truncated"] is True and len(document["rows"]) == 3 and document["limit"] == 3
    assert 'rel="next"' in response.headers["Link"]
    body = client.get("/api/counts-per-theme.srj").get_json()
    assert "cohesio:truncated" in body
    assert client.get("/api/counts-per-theme.csv").headers["Cohesio-Truncated"] == "true; limit=3"
    # asking for a page is not a truncation
    response = client.get("/api/counts-per-theme?limit=2")
    assert "Cohesio-Truncated" not in response.headers and response.get_json()["truncated"] is False
    assert client.get("/api/counts-per-theme?limit=4").status_code == 400  # above max_rows


def test_time_bound_gives_503(app, monkeypatch) -> None:
    from cohesio.sparql.executor import QueryTimeout

    backend = app.extensions["cohesio.backend"]

    def too_slow(job, timeout=None):
        raise QueryTimeout()

    monkeypatch.setattr(backend, "run", too_slow)
    response = app.test_client().get("/api/counts-per-theme")
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert "secondes" in error_text(response) and "second limit" in error_text(response)


def test_values_are_bound_not_pasted() -> None:
    query = QUERIES["search-initiatives"]
    call = api.read_call(query, [("text", '") } #')], 10)
    text = call.text()
    assert 'VALUES (?text) { ("\\") } #") }' in text
    assert "$text" in text  # the query body is unchanged: the variable is bound by VALUES


# ------------------------------------------------------------------ OpenAPI


def test_openapi_validates(client) -> None:
    from openapi_spec_validator import validate

    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert {f"/api/{name}" for name in QUERIES} <= set(document["paths"])
    commune = document["paths"]["/api/initiatives-in-commune"]["get"]
    assert [p["name"] for p in commune["parameters"]] == ["commune", "limit", "offset"]
    assert commune["parameters"][0]["schema"]["default"] == ID + "commune/13004"
    assert "Initiatives dans une commune / Initiatives in a commune" == commune["summary"]
    lang = document["paths"]["/api/counts-per-theme"]["get"]["parameters"][0]
    assert lang["schema"]["enum"] == ["fr", "en"]


def test_schemathesis_finds_no_server_error(app) -> None:
    """Property-based run over the OpenAPI description: valid and invalid inputs, never a 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    started = time.perf_counter()
    failures: list = []
    statuses: dict[int, int] = {}
    for operation in schema.get_all_operations():
        op = operation.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def check(case) -> None:
                response = case.call()
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    failures.append((case.path, case.query, response.status_code, response.text[:200]))

            check()
    assert not failures, failures[:5]
    assert statuses.get(200) and statuses.get(400), statuses  # both kinds were really exercised
    assert time.perf_counter() - started < 60


# ------------------------------------------------------------------ documentation page, SHACL, queries_for


@pytest.mark.parametrize("lang,words", [
    ("fr", ("Requêtes prêtes à l'emploi", "Essayer", "Paramètre")),
    ("en", ("Ready-made queries", "Try it", "Parameter")),
])
def test_documentation_page(client, lang: str, words: tuple[str, ...]) -> None:
    response = client.get(f"/api?lang={lang}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for word in words:
        assert word in html
    for name, query in QUERIES.items():
        assert f'id="{name}"' in html and query.title_in(lang).replace("'", "&#39;") in html
        for param in query.params:
            assert f"<code>{param.name}</code>" in html
    # the "try it" links work
    for link in re.findall(r'href="(/api/[^"#]+)"', html):
        link = link.replace("&amp;", "&")
        if link.endswith((".json", ".ttl")):
            continue
        assert client.get(link).status_code == 200, link


def test_queries_as_shacl(client) -> None:
    response = client.get("/api/queries.ttl")
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    store = ox.Store()
    store.load(response.data, format=ox.RdfFormat.TURTLE)
    found = list(store.query("""
        PREFIX sh: <http://www.w3.org/ns/shacl#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?q ?select ?fr ?en WHERE {
          ?q a sh:SPARQLSelectExecutable ; sh:select ?select ; rdfs:label ?fr , ?en ; rdfs:comment ?c .
          FILTER (lang(?fr) = "fr" && lang(?en) = "en" && lang(?c) = "fr")
        }"""))
    assert len(found) == len(QUERIES)
    for row in found:
        ox.Store().query(row["select"].value)  # each sh:select is a query as it is
    triples = queries_graph(list(QUERIES.values()), "https://example.org/")
    assert str(triples[0].subject).startswith("<https://example.org/id/query/")


def test_queries_for() -> None:
    queries = list(QUERIES.values())

    def names(iri: str, types=()) -> dict[str, dict[str, str]]:
        return {q.name: params for q, params in queries_for(iri, types, queries)}

    assert names(ID + "commune/13004") == {"initiatives-in-commune": {"commune": ID + "commune/13004"}}
    assert set(names(ID + "region/53")) == {"initiatives-in-region", "departements-without-initiative"}
    assert set(names(ID + "departement/22")) == {"initiatives-in-departement"}
    assert set(names(ID + "organization/ville-de-rennes")) == {"initiatives-of-actor",
                                                             "initiatives-of-body-and-successors"}
    assert set(names(ID + "theme/famille")) == {"initiatives-by-theme"}
    assert set(names(ID + "quality-category/typography")) == {"quality-annotations-by-category"}
    assert names(ID + "quality-category/nope") == {}  # not among the allowed values
    assert set(names(ID + "initiative/epicerie-solidaire--arles")) == {"initiative-record"}
    assert set(names("https://example.org/x", ["http://www.w3.org/ns/org#Organization"])) == {
        "initiatives-of-actor", "initiatives-of-body-and-successors"}
    # another deployment base
    found = queries_for("https://data.example/id/commune/13004", (), queries, base_iri="https://data.example/")
    assert [(q.name, p) for q, p in found] == [("initiatives-in-commune",
                                                {"commune": "https://data.example/id/commune/13004"})]


def test_resource_pages_link_to_their_queries_and_the_links_answer(client) -> None:
    page = client.get("/doc/departement/38", headers={"Accept": "text/html"}, query_string={"lang": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    link = re.search(r'href="(/api/initiatives-in-departement\?[^"]+)"', html)
    assert link, "the département page links to the initiatives-in-département query"
    url = link.group(1).replace("&amp;", "&")
    assert "departement%2F38" in url
    answer = client.get(url, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    labels = {row.get("label") or row.get("initiativeLabel") for row in answer.get_json()["rows"]}
    assert any("Échirolles" in str(label) for label in labels)


def test_queries_are_published_in_the_graph_as_sparql_executables(client) -> None:
    query = ("PREFIX sh: <http://www.w3.org/ns/shacl#> SELECT (COUNT(DISTINCT ?q) AS ?n) "
             "WHERE { ?q a sh:SPARQLSelectExecutable ; sh:select ?text }")
    answer = client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+json"})
    count = int(answer.get_json()["results"]["bindings"][0]["n"]["value"])
    assert count == len(list((ROOT / "queries").glob("*.rq")))
