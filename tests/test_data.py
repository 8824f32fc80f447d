"""The shipped data: the whole guide, faithful to the text, in the right named graphs, valid."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest


ROOT = Path(__file__).resolve().parents[1]
B = "https://w3id.org/cohesio/"
PREFIXES = f"""
PREFIX coh: <{B}ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX igeo: <http://rdf.insee.fr/def/geo#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX dqv: <http://www.w3.org/ns/dqv#>
PREFIX oa: <http://www.w3.org/ns/oa#>
"""

#: Where the guide places each of its 24 examples (official codes where the place has one).
EXPECTED_PLACES = {
    "bureau-des-temps--rennes": {"commune/35238"},
    "bureau-des-temps--poitiers": {"commune/86194"},
    "bureau-des-temps--nancy": {"commune/54395"},
    "bureau-des-temps--grenoble": {"commune/38185"},
    "bureau-des-temps--grand-lyon": {"place/grand-lyon"},
    "bureau-des-temps--paris": {"commune/75056"},
    "bureau-des-temps--gironde": {"departement/33"},
    "micro-creche-en-milieu-rural--cc-de-l-asse-et-de-ses-affluents": {"departement/04", "place/cc-de-l-asse-et-de-ses-affluents"},
    "maison-des-parents--mulhouse-alsace-agglomeration": {"epci/200066009"},
    "commission-intergenerationnelle--veyrier-du-lac": {"commune/74299"},
    "centre-economie-populaire-et-solidaire--nantes-metropole": {"place/favela-bresil"},
    "cooperation-alphabetisation--bouguenais": {"commune/44020", "place/ville-allemande", "place/communaute-rurale-senegal"},
    "fonds-aide-initiatives-quartiers--brest-metropole-oceane": {"epci/242900314"},
    "conseil-des-sages--besancon": {"commune/25056"},
    "barometre-de-l-ambiance--valenciennes": {"commune/59606"},
    "mediateurs-urbains--brest": {"commune/29019"},
    "observateurs-de-quartiers--rillieux-la-pape": {"commune/69286"},
    "epicerie-solidaire--arles": {"commune/13004"},
    "lutte-contre-les-discriminations-a-l-emploi--agglomeration-d-agen": {"epci/200096956"},
    "espaces-numerises--cc-de-parthenay": {"place/cc-de-parthenay"},
    "reseau-d-echanges-et-de-savoirs--evry": {"commune/91228"},
    "soutien-cultures-du-coeur--mission-locale-ouest-cotes-d-armor": {"place/ouest-cotes-d-armor"},
    "sport-de-rue-et-de-proximite--echirolles": {"commune/38151"},
    "groupe-d-employeurs-multisectoriel--pays-de-saint-brieuc": {"place/pays-de-saint-brieuc"},
}


@pytest.fixture(scope="module")
def store(real_build) -> ox.Store:
    return real_build.version.open_store()


def _values(store: ox.Store, query: str) -> list:
    return [tuple(t.value if t is not None else None for t in row) for row in
            store.query(PREFIXES + query, use_default_graph_as_union=True)]


def _count(store: ox.Store, query: str) -> int:
    return int(_values(store, query)[0][0])


def test_seven_themes_with_solidarity_subtopics(store):
    themes = _values(store, f"""SELECT ?l WHERE {{ ?t skos:topConceptOf <{B}id/scheme/themes> ;
        skos:prefLabel ?l FILTER(LANG(?l) = "fr") }} ORDER BY ?l""")
    assert len(themes) == 7
    assert ("Solidarité",) in themes and ("Culture et sports pour tous",) in themes
    subtopics = _values(store, f"""SELECT ?l WHERE {{ ?s skos:broader <{B}id/theme/solidarite> ;
        skos:prefLabel ?l FILTER(LANG(?l) = "fr") }}""")
    assert {s[0].lower() for s in subtopics} >= {"famille", "enfance", "prévention", "échanges intergénérationnels"}


def test_eighteen_practices_and_twenty_four_initiatives(store):
    assert _count(store, f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ ?p skos:inScheme <{B}id/scheme/practices> }}") == 18
    assert _count(store, "SELECT (COUNT(DISTINCT ?i) AS ?n) WHERE { ?i a coh:Initiative }") == 24
    per_practice = dict(_values(store, """SELECT ?p (COUNT(?i) AS ?n) WHERE { ?i a coh:Initiative ; dct:type ?p }
        GROUP BY ?p"""))
    assert per_practice[f"{B}id/practice/bureau-des-temps"] == "7"
    assert sorted(int(n) for p, n in per_practice.items() if not p.endswith("bureau-des-temps")) == [1] * 17


def test_every_example_is_placed_where_the_guide_says(store):
    rows = _values(store, "SELECT ?i ?t WHERE { ?i a coh:Initiative ; dct:spatial ?t }")
    found: dict[str, set[str]] = {}
    for initiative, territory in rows:
        found.setdefault(initiative.removeprefix(f"{B}id/initiative/"), set()).add(territory.removeprefix(f"{B}id/"))
    assert found == EXPECTED_PLACES


def test_coded_territories_carry_their_official_codes_and_hierarchy(store):
    rows = _values(store, """SELECT DISTINCT ?t ?code ?dep ?reg WHERE {
        ?i a coh:Initiative ; dct:spatial ?t . ?t igeo:codeINSEE ?code .
        OPTIONAL { ?t igeo:subdivisionDe ?dep . ?dep a igeo:Departement . ?dep igeo:subdivisionDe ?reg } }""")
    by_iri = {t.removeprefix(f"{B}id/"): (code, dep, reg) for t, code, dep, reg in rows}
    for iri, (code, dep, reg) in by_iri.items():
        assert iri.endswith("/" + code)
        if iri.startswith("commune/"):
            assert dep == f"{B}id/departement/{code[:2]}" and reg is not None
    assert by_iri["commune/13004"][2] == f"{B}id/region/93"  # Arles, Provence-Alpes-Côte d'Azur


def test_eight_web_addresses_all_absolute(store):
    pages = [p for (p,) in _values(store, "SELECT DISTINCT ?p WHERE { ?i foaf:page ?p }")]
    assert len(pages) == 8
    assert all(re.match(r"^https?://[^/]+\.[a-z]{2,}", p) for p in pages)
    assert "http://solidarles.free.fr/" in pages


def test_every_resource_is_labelled_in_french_and_english(store):
    missing = _values(store, """SELECT ?s WHERE {
        { ?s a coh:Initiative } UNION { ?s a <http://www.w3.org/ns/org#Organization> } UNION { ?s a skos:Concept }
        FILTER NOT EXISTS { ?s rdfs:label|skos:prefLabel ?fr FILTER(LANG(?fr) = "fr") }
      } LIMIT 5""")
    assert missing == []
    missing = _values(store, """SELECT ?s WHERE {
        { ?s a coh:Initiative } UNION { ?s a <http://www.w3.org/ns/org#Organization> } UNION { ?s a skos:Concept }
        FILTER NOT EXISTS { ?s rdfs:label|skos:prefLabel ?en FILTER(LANG(?en) = "en") }
      } LIMIT 5""")
    assert missing == []


def test_text_as_printed_is_the_guide_verbatim():
    source = (ROOT / "data" / "source" / "guide.txt").read_text(encoding="utf-8")
    plain = re.sub(r"\*+|<|>", "", source)
    store = ox.Store()
    for path in (ROOT / "data").rglob("*.ttl"):
        store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    printed = [row[0] for row in _values(store, "SELECT ?t WHERE { ?s coh:asPrinted ?t }")]
    assert len(printed) > 24
    not_found = [t for t in printed if t not in plain and t not in source]
    assert not_found == []


def test_known_errors_of_the_guide_are_flagged_not_fixed(store):
    flags = dict(_values(store, f"""SELECT ?printed ?cat WHERE {{ ?a a dqv:QualityAnnotation ;
        coh:asPrinted ?printed ; dqv:inCategory ?cat }}"""))
    categories = {cat.rsplit("/", 1)[-1] for cat in flags.values()}
    assert {"wrong-departement", "misspelling", "outdated-name", "dissolved-body", "missing-departement",
            "unnamed-place", "link-at-risk"} <= categories
    printed = " ".join(flags)
    assert "Veynes (04)" in printed and "Boughenias" in printed
    # the text stays as printed: the misspelt name is still in the guide graph
    assert _count(store, 'SELECT (COUNT(*) AS ?n) WHERE { ?s coh:asPrinted ?t FILTER(CONTAINS(?t, "Boughenias")) }') >= 1


def test_editorial_statements_live_in_the_editorial_graph(store):
    guide, editorial = f"<{B}graph/guide>", f"<{B}graph/editorial>"
    assert _count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {guide} {{ ?s dct:subject ?t }} }}") == 0
    assert _count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {guide} {{ ?s a dqv:QualityAnnotation }} }}") == 0
    assert _count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {editorial} {{ ?i a coh:Initiative }} }}") == 0
    assert _count(store, f"""SELECT (COUNT(DISTINCT ?i) AS ?n) WHERE {{
        GRAPH {editorial} {{ ?i dct:subject ?t }} }}""") >= 24


def test_cohesio_validate_accepts_the_shipped_sources_as_a_build_does():
    from click.testing import CliRunner

    from cohesio.cli import main

    result = CliRunner().invoke(main, ["--project-dir", str(ROOT), "validate", "--format", "json"])
    assert result.exit_code == 0, result.output[:2000]
    assert '"conforms": true' in result.output
