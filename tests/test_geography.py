"""The official geography generator (src/cohesio/geography.py)."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

ROOT = Path(__file__).resolve().parents[1]
try:
    from cohesio import geography
except ImportError:  # running without the package installed
    sys.path.insert(0, str(ROOT / "src"))
    from cohesio import geography

FIXTURE = Path(__file__).parent / "fixtures" / "geography"
REAL = ROOT / "data" / "geography" / "cog.nt.gz"

EXPECTED_TTL = r"""
@prefix B: <https://w3id.org/cohesio/id/> .
@prefix coh: <https://w3id.org/cohesio/ontology#> .
@prefix igeo: <http://rdf.insee.fr/def/geo#> .
@prefix schema: <http://schema.org/> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

# régions: 01 (overseas), 53, 75, 84, 93, 94 (Corse); 987 (a COM) is left out
B:region\/01 a igeo:Region ; rdfs:label "Guadeloupe"@fr, "Guadeloupe"@en ; igeo:codeINSEE "01" .
B:region\/53 a igeo:Region ; rdfs:label "Bretagne"@fr, "Bretagne"@en ; igeo:codeINSEE "53" .
B:region\/75 a igeo:Region ; rdfs:label "Nouvelle-Aquitaine"@fr, "Nouvelle-Aquitaine"@en ; igeo:codeINSEE "75" .
B:region\/84 a igeo:Region ; rdfs:label "Auvergne-Rhône-Alpes"@fr, "Auvergne-Rhône-Alpes"@en ; igeo:codeINSEE "84" .
B:region\/93 a igeo:Region ; rdfs:label "Provence-Alpes-Côte d'Azur"@fr, "Provence-Alpes-Côte d'Azur"@en ; igeo:codeINSEE "93" .
B:region\/94 a igeo:Region ; rdfs:label "Corse"@fr, "Corse"@en ; igeo:codeINSEE "94" .

B:departement\/01 a igeo:Departement ; rdfs:label "Ain"@fr, "Ain"@en ; igeo:codeINSEE "01" ; igeo:subdivisionDe B:region\/84 .
B:departement\/05 a igeo:Departement ; rdfs:label "Hautes-Alpes"@fr, "Hautes-Alpes"@en ; igeo:codeINSEE "05" ; igeo:subdivisionDe B:region\/93 .
B:departement\/17 a igeo:Departement ; rdfs:label "Charente-Maritime"@fr, "Charente-Maritime"@en ; igeo:codeINSEE "17" ; igeo:subdivisionDe B:region\/75 .
B:departement\/29 a igeo:Departement ; rdfs:label "Finistère"@fr, "Finistère"@en ; igeo:codeINSEE "29" ; igeo:subdivisionDe B:region\/53 .
B:departement\/2A a igeo:Departement ; rdfs:label "Corse-du-Sud"@fr, "Corse-du-Sud"@en ; igeo:codeINSEE "2A" ; igeo:subdivisionDe B:region\/94 .
B:departement\/971 a igeo:Departement ; rdfs:label "Guadeloupe"@fr, "Guadeloupe"@en ; igeo:codeINSEE "971" ; igeo:subdivisionDe B:region\/01 .

# communes: the deleguee 01015 and Papeete (987, a COM) are left out; Ouessant is in no EPCI
B:commune\/01001 a igeo:Commune ; rdfs:label "L'Abergement-Clémenciat"@fr, "L'Abergement-Clémenciat"@en ;
    igeo:codeINSEE "01001" ; igeo:subdivisionDe B:departement\/01 ; coh:intercommunality B:epci\/200069193 ;
    schema:population 860 .
B:commune\/05179 a igeo:Commune ; rdfs:label "Veynes"@fr, "Veynes"@en ;
    igeo:codeINSEE "05179" ; igeo:subdivisionDe B:departement\/05 ; coh:intercommunality B:epci\/200067445 ;
    schema:population 3214 .
B:commune\/17415 a igeo:Commune ; rdfs:label "Saintes"@fr, "Saintes"@en ;
    igeo:codeINSEE "17415" ; igeo:subdivisionDe B:departement\/17 ; coh:intercommunality B:epci\/200036473 ;
    schema:population 25363 .
B:commune\/29155 a igeo:Commune ; rdfs:label "Ouessant"@fr, "Ouessant"@en ;
    igeo:codeINSEE "29155" ; igeo:subdivisionDe B:departement\/29 ;
    schema:population 860 .
B:commune\/2A004 a igeo:Commune ; rdfs:label "Ajaccio"@fr, "Ajaccio"@en ;
    igeo:codeINSEE "2A004" ; igeo:subdivisionDe B:departement\/2A ; coh:intercommunality B:epci\/242010056 ;
    schema:population 76320 .
B:commune\/97105 a igeo:Commune ; rdfs:label "Basse-Terre"@fr, "Basse-Terre"@en ;
    igeo:codeINSEE "97105" ; igeo:subdivisionDe B:departement\/971 ; coh:intercommunality B:epci\/249710070 ;
    schema:population 9417 .

B:epci\/200036473 a igeo:Intercommunalite ;
    rdfs:label "CA \"Saintes - Grandes Rives - L'Agglo\""@fr, "CA \"Saintes - Grandes Rives - L'Agglo\""@en ;
    igeo:codeINSEE "200036473" ; dct:type B:epci-type\/CA ; schema:population 60600 .
B:epci\/200067445 a igeo:Intercommunalite ; rdfs:label "CC Buëch-Dévoluy"@fr, "CC Buëch-Dévoluy"@en ;
    igeo:codeINSEE "200067445" ; dct:type B:epci-type\/CC ; schema:population 9597 .
B:epci\/200069193 a igeo:Intercommunalite ; rdfs:label "CC de la Dombes"@fr, "CC de la Dombes"@en ;
    igeo:codeINSEE "200069193" ; dct:type B:epci-type\/CC ; schema:population 40570 .
B:epci\/242010056 a igeo:Intercommunalite ; rdfs:label "CA du Pays Ajaccien"@fr, "CA du Pays Ajaccien"@en ;
    igeo:codeINSEE "242010056" ; dct:type B:epci-type\/CA ; schema:population 92766 .
B:epci\/249710070 a igeo:Intercommunalite ; rdfs:label "CA Grand Sud Caraïbe"@fr, "CA Grand Sud Caraïbe"@en ;
    igeo:codeINSEE "249710070" ; dct:type B:epci-type\/CA ; schema:population 75104 .

B:scheme\/epci-types a skos:ConceptScheme ;
    skos:prefLabel "Types d'intercommunalités"@fr, "Types of intercommunality"@en ;
    skos:hasTopConcept B:epci-type\/CC, B:epci-type\/CA, B:epci-type\/CU, B:epci-type\/METRO, B:epci-type\/MET69 .
B:epci-type\/CC a skos:Concept ; skos:inScheme B:scheme\/epci-types ; skos:topConceptOf B:scheme\/epci-types ;
    skos:notation "CC" ; skos:prefLabel "Communauté de communes"@fr, "Community of communes"@en .
B:epci-type\/CA a skos:Concept ; skos:inScheme B:scheme\/epci-types ; skos:topConceptOf B:scheme\/epci-types ;
    skos:notation "CA" ; skos:prefLabel "Communauté d'agglomération"@fr, "Agglomeration community"@en .
B:epci-type\/CU a skos:Concept ; skos:inScheme B:scheme\/epci-types ; skos:topConceptOf B:scheme\/epci-types ;
    skos:notation "CU" ; skos:prefLabel "Communauté urbaine"@fr, "Urban community"@en .
B:epci-type\/METRO a skos:Concept ; skos:inScheme B:scheme\/epci-types ; skos:topConceptOf B:scheme\/epci-types ;
    skos:notation "METRO" ; skos:prefLabel "Métropole"@fr, "Metropolis"@en .
B:epci-type\/MET69 a skos:Concept ; skos:inScheme B:scheme\/epci-types ; skos:topConceptOf B:scheme\/epci-types ;
    skos:notation "MET69" ; skos:prefLabel "Métropole de Lyon"@fr, "Metropolis of Lyon"@en .
"""


def _expected_ntriples() -> bytes:
    triples = ox.parse(EXPECTED_TTL.encode("utf-8"), format=ox.RdfFormat.TURTLE)
    lines = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8").splitlines()
    return ("\n".join(sorted(set(lines))) + "\n").encode("utf-8")


def test_fixture_exact_triples(tmp_path):
    out = tmp_path / "cog.nt.gz"
    stats = geography.generate(FIXTURE, out)
    payload = gzip.decompress(out.read_bytes())
    # exact bytes: the sorted canonical N-Triples of the expected graph
    assert payload.decode("utf-8") == _expected_ntriples().decode("utf-8")
    assert stats.regions == 6
    assert stats.departements == 6
    assert stats.communes == 6
    assert stats.epci == 5
    assert stats.epci_types == 5
    assert stats.triples == len(payload.splitlines())
    assert stats.skipped_regions == ("987",)
    assert stats.skipped_departements == ("987",)
    assert stats.skipped_communes == 1
    assert stats.communes_without_epci == ("29155",)


def test_escaping_round_trips(tmp_path):
    """Names with apostrophes, accents, quotes read back unchanged (pyoxigraph and rdflib)."""
    import rdflib

    out = tmp_path / "cog.nt.gz"
    geography.generate(FIXTURE, out)
    payload = gzip.decompress(out.read_bytes())
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    labels = {
        t.object.value
        for t in ox.parse(payload, format=ox.RdfFormat.N_TRIPLES)
        if t.predicate == label
    }
    assert "L'Abergement-Clémenciat" in labels
    assert "CA \"Saintes - Grandes Rives - L'Agglo\"" in labels
    assert "Provence-Alpes-Côte d'Azur" in labels
    g = rdflib.Graph().parse(data=payload, format="nt")
    assert {str(o) for o in g.objects(None, rdflib.RDFS.label)} == labels
    # the escaper itself, on what the data does not hold (yet)
    tricky = 'a\\b "c"\nd\re\tf é'
    line = f'<urn:s> <urn:p> "{geography._escape(tricky)}" .\n'.encode("utf-8")
    (t,) = list(ox.parse(line, format=ox.RdfFormat.N_TRIPLES))
    assert t.object.value == tricky


def test_deterministic(tmp_path):
    a, b = tmp_path / "a.nt.gz", tmp_path / "b" / "cog.nt.gz"
    sa = geography.generate(FIXTURE, a)
    sb = geography.generate(FIXTURE, b)
    assert a.read_bytes() == b.read_bytes()
    assert sa.sha256 == sb.sha256
    # gzip header: no time stamp, no file name
    assert a.read_bytes()[4:8] == b"\0\0\0\0"


def test_base_iri(tmp_path):
    out = tmp_path / "cog.nt.gz"
    geography.generate(FIXTURE, out, base_iri="http://example.org/x/")
    text = gzip.decompress(out.read_bytes()).decode("utf-8")
    assert "<http://example.org/x/id/commune/2A004>" in text
    assert "w3id.org/cohesio/id" not in text


def test_metadata(tmp_path):
    out = tmp_path / "cog.nt.gz"
    stats = geography.generate(FIXTURE, out)
    source_md, metadata = geography.write_metadata(stats, out, FIXTURE, issued="2026-01-15")
    store = ox.Store()
    store.load(metadata.read_bytes(), format=ox.RdfFormat.TURTLE)
    ask = """
        PREFIX dct: <http://purl.org/dc/terms/> PREFIX prov: <http://www.w3.org/ns/prov#>
        PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX void: <http://rdfs.org/ns/void#>
        PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
        ASK { <https://w3id.org/cohesio/graph/geography> a prov:Entity, dcat:Dataset ;
                dct:license <https://www.etalab.gouv.fr/licence-ouverte-open-licence/> ;
                dct:issued "2026-01-15"^^xsd:date ; prov:wasGeneratedBy ?a ; dct:source ?s ;
                void:triples %d }
    """ % stats.triples
    assert store.query(ask)
    assert stats.sha256 in source_md.read_text(encoding="utf-8")
    # regenerating identical data keeps the recorded date
    geography.write_metadata(stats, out, FIXTURE)
    assert '"2026-01-15"^^xsd:date' in metadata.read_text(encoding="utf-8")


@pytest.mark.skipif(not REAL.exists(), reason="data/geography/cog.nt.gz not generated")
def test_real_geography():
    store = ox.Store()
    store.bulk_load(gzip.decompress(REAL.read_bytes()), format=ox.RdfFormat.N_TRIPLES)
    counts = {
        row["c"].value.rsplit("#", 1)[1]: int(row["n"].value)
        for row in store.query(
            "SELECT ?c (COUNT(?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c"
        )
    }
    assert counts == {
        "Region": 18,
        "Departement": 101,
        "Commune": 34875,
        "Intercommunalite": 1255,
        "Concept": 5,
        "ConceptScheme": 1,
    }
    veynes = """
        PREFIX igeo: <http://rdf.insee.fr/def/geo#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        ASK { <https://w3id.org/cohesio/id/commune/05179> igeo:codeINSEE "05179" ;
                rdfs:label "Veynes"@fr ;
                igeo:subdivisionDe <https://w3id.org/cohesio/id/departement/05> .
              <https://w3id.org/cohesio/id/departement/05>
                igeo:subdivisionDe <https://w3id.org/cohesio/id/region/93> . }
    """
    assert store.query(veynes)
    # every commune reaches a région through its département. (Not written as FILTER NOT EXISTS:
    # with a multi-pattern NOT EXISTS pyoxigraph 0.5.13 re-evaluates the inner group for every
    # commune, ~20 ms each, i.e. minutes for the whole of France.)
    chained = """
        PREFIX igeo: <http://rdf.insee.fr/def/geo#>
        SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {
            ?c a igeo:Commune ; igeo:subdivisionDe ?d .
            ?d a igeo:Departement ; igeo:subdivisionDe ?r .
            ?r a igeo:Region }
    """
    (row,) = list(store.query(chained))
    assert int(row["n"].value) == 34875
