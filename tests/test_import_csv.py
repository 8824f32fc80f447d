"""The spreadsheet way in (``cohesio.contributions.tabular``) against the real project's build.

The published build holds the whole official geography, so the commune names, codes and
ambiguities tested here are the real ones (Saint-Denis exists in four départements).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS

from cohesio.config import CANONICAL_BASE_IRI
from cohesio.contributions.lookup import Lookup, fold, slugify
from cohesio.contributions.tabular import (COLUMNS, MESSAGES, CellError, TabularImport, detect_delimiter,
                                           read_csv, read_records)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "docs" / "contribution-template.csv"
DOC = ROOT / "docs" / "contributions-csv.md"

B = CANONICAL_BASE_IRI
ID = B + "id/"
COH = B + "ontology#"
SCHEMA = "http://schema.org/"
ORG_ORGANIZATION = URIRef("http://www.w3.org/ns/org#Organization")
GYEAR = URIRef("http://www.w3.org/2001/XMLSchema#gYear")
DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")


def iri(path: str) -> URIRef:
    return URIRef(ID + path)


def ini(slug: str) -> URIRef:
    return iri(f"initiative/{slug}")


def coh(name: str) -> URIRef:
    return URIRef(COH + name)


def schema(name: str) -> URIRef:
    return URIRef(SCHEMA + name)


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def store(real_build) -> ox.Store:
    return real_build.version.open_store()


@pytest.fixture(scope="module")
def lookup(store) -> Lookup:
    return Lookup(store)


TWINS = f"""
<{ID}organization/babydasse-bis> a <http://www.w3.org/ns/org#Organization> ;
    <http://www.w3.org/2000/01/rdf-schema#label> "Babydasse"@fr , "Babydasse"@en .
<{ID}initiative/bureau-des-temps--paris> <http://schema.org/endDate> "2010"^^<http://www.w3.org/2001/XMLSchema#gYear> .
"""


@pytest.fixture(scope="module")
def twin_lookup(store) -> Lookup:
    """The real graph plus a second organisation called "Babydasse" and an end date on an
    existing initiative (the guide has neither homonymous organisations nor dates)."""
    memory = ox.Store()
    memory.bulk_extend(store.quads_for_pattern(None, None, None, None))
    memory.load(TWINS.encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(B + "graph/test"))
    return Lookup(memory)


def csv_bytes(rows: list[list[str]], delimiter: str = ",", bom: bool = False) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def where(result: TabularImport) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in result.errors]


def triples_of(result: TabularImport, subject: URIRef) -> set[tuple]:
    return set(result.graph.predicate_objects(subject))


# ---------------------------------------------------------------------------- Lookup

def test_fold_ignores_case_accents_and_separators():
    assert fold("Saint-Étienne") == fold("saint etienne") == fold("  SAINT--ETIENNE ") == "saint etienne"
    assert fold("L'Haÿ-les-Roses") == fold("l’hay les roses")
    assert fold("Cultures du cœur") == "cultures du coeur"
    assert slugify("Ville d'Arles") == "ville-d-arles"
    assert slugify("Cultures du cœur") == "cultures-du-coeur"


def test_lookup_folds_commune_names(lookup):
    found = lookup.communes_named("saint etienne")
    assert [(c.iri, c.code, c.departement) for c in found] == [(iri("commune/42218"), "42218", "42")]
    assert lookup.communes_named("SAINT-ÉTIENNE") == found


def test_lookup_ambiguous_commune_name(lookup):
    codes = {(c.code, c.departement) for c in lookup.communes_named("Saint-Denis")}
    assert {("93066", "93"), ("97411", "974"), ("11339", "11"), ("30247", "30")} <= codes


def test_lookup_codes_vocabularies_and_organisations(lookup):
    assert lookup.commune("2A004").label == "Ajaccio"
    assert lookup.commune("2A004").departement == "2A"
    assert lookup.commune("99999") is None
    assert lookup.departement("974").iri == iri("departement/974")
    assert lookup.epci("242900314").iri == iri("epci/242900314")
    assert lookup.epci_departements("242900314") == {"29"}
    for text in ("bureau-des-temps", "Bureau des temps", "time office", "P01"):
        assert [c.iri for c in lookup.concepts("practice", text)] == [iri("practice/bureau-des-temps")], text
    assert [c.iri for c in lookup.concepts("theme", "Local democracy")] == [iri("theme/democratie-de-proximite")]
    assert [c.iri for c in lookup.concepts("audience", "aînés")] == [iri("audience/aines")]
    assert lookup.practice_themes(iri("practice/micro-creche-en-milieu-rural")) == [iri("theme/enfance"), iri("theme/famille")]
    assert [o.iri for o in lookup.organizations_labelled("cultures du coeur")] == [iri("organization/cultures-du-coeur")]
    assert lookup.organization("ville-de-rennes").label_en == "City of Rennes"
    assert lookup.exists(ini("bureau-des-temps--rennes"))
    assert not lookup.exists(ini("bureau-des-temps--nowhere"))
    assert [c.code for c in lookup.similar_communes("Saint-Etiene", "42")] == ["42218"]


def test_lookup_on_a_store_under_another_base(store):
    """A deployment publishing under another base: the answers are still canonical IRIs."""
    other = "http://localhost:8000/"
    moved = ox.Store()
    quads = []
    for graph in ("guide", "editorial", "ontology"):
        quads += store.quads_for_pattern(None, None, None, ox.NamedNode(B + f"graph/{graph}"))
    for subject in ("commune/42218", "departement/42", "commune/93066", "commune/11339", "commune/35238"):
        quads += store.quads_for_pattern(ox.NamedNode(ID + subject), None, None, None)

    def move(term):
        if isinstance(term, ox.NamedNode) and term.value.startswith(B):
            return ox.NamedNode(other + term.value[len(B):])
        return term

    moved.bulk_extend(ox.Quad(move(q.subject), move(q.predicate), move(q.object), move(q.graph_name)) for q in quads)
    moved_lookup = Lookup(moved, other)
    assert [c.iri for c in moved_lookup.communes_named("Saint-Étienne")] == [iri("commune/42218")]
    assert moved_lookup.commune("42218").departement == "42"
    assert moved_lookup.exists(ini("bureau-des-temps--rennes"))
    assert [c.iri for c in moved_lookup.concepts("practice", "P01")] == [iri("practice/bureau-des-temps")]
    result = read_csv(TEMPLATE.read_bytes(), moved_lookup)
    assert result.errors == []
    assert all(str(s).startswith(B) and (not isinstance(o, URIRef) or not str(o).startswith(other))
               for s, _, o in result.graph)


# ---------------------------------------------------------------------------- the template and its docs

def test_template_parses_without_error(lookup):
    result = read_csv(TEMPLATE.read_bytes(), lookup)
    assert result.errors == []
    assert result.initiatives == [ini("epicerie-solidaire--saint-etienne"), ini("conseil-des-sages--rennes")]


def test_template_header_is_every_column():
    text = TEMPLATE.read_bytes().decode("utf-8-sig")
    assert TEMPLATE.read_bytes().startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(text), delimiter=detect_delimiter(text)))
    assert header == [c.name for c in COLUMNS]


def _table_columns(section: str) -> list[str]:
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)


def test_every_column_is_documented_in_both_languages():
    doc = DOC.read_text(encoding="utf-8")
    french = doc[doc.index("### Les colonnes"):doc.index("### Créer ou corriger")]
    english = doc[doc.index("### The columns"):doc.index("### Create or correct")]
    names = [c.name for c in COLUMNS]
    assert _table_columns(french) == names
    assert _table_columns(english) == names
    for column in COLUMNS:  # the French header names too
        assert f"`{column.french}`" in french and f"`{column.french}`" in english, column.name


def test_every_error_code_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    codes = doc[doc.index("### Codes d'erreur"):doc.index("## English")]
    for code in MESSAGES:
        assert f"`{code}`" in codes, code


# ---------------------------------------------------------------------------- a good file

GOOD_HEADER = ["Identifiant", "titre_fr", "Titre_EN", "pratique", "thèmes", "code_commune", "nom_commune",
               "Code département", "code_epci", "porteur", "partenaires", "description_fr", "description_en",
               "site_web", "date_début", "date_fin", "publics"]
GOOD_ROWS = [
    # 2: commune by code, an existing organisation by its (folded) label, themes from the practice
    ["", "Bureau des temps de Saint-Étienne", "Saint-Étienne time office", "bureau-des-temps", "", "42218", "", "",
     "", "cultures du coeur", "", "", "", "", "", "", ""],
    # 3: commune by name + département, a new lead, partners by label and by slug, everything filled
    ["", "Médiateurs à Saint-Denis", "Mediators in Saint-Denis", "Médiateurs urbains", "prevention|Local democracy",
     "", "saint denis", "93", "", "Ville de Saint-Denis", "Solid'Arles | ccas-de-besancon", "Des médiateurs ; le soir.",
     "Mediators, in the evening.", "https://ville-saint-denis.fr/", "2020", "2022-12-31", "Habitants|A09"],
    # 4: the département alone, practice by its English label, an explicit new id
    ["conseil-des-sages--corse", "Conseil des sages de Corse-du-Sud", "Council of elders of Corse-du-Sud",
     "Council of elders", "", "", "", "2a", "", "Collectivité de Corse", "", "", "", "", "", "", ""],
    # 5: empty row: skipped, but still counted in the numbering
    [""] * 17,
    # 6: an intercommunality with its département, practice by notation, lead by slug
    ["", "Fonds de quartier", "Neighbourhood fund", "P07", "", "", "", "29", "242900314", "brest-metropole-oceane",
     "", "", "", "", "", "", ""],
    # 7: same practice and commune as row 3: the id gets -2; the new organisation is the same one
    ["", "Autres médiateurs", "Other mediators", "mediateurs-urbains", "", "93066", "", "", "",
     "VILLE DE SAINT DENIS", "", "", "", "", "", "", ""],
    # 8: a generated id already taken in the store: -2
    ["", "Bureau des temps", "Time office", "P01", "", "35238", "Rennes", "35", "", "Ville de Rennes", "", "", "",
     "", "", "", ""],
]


@pytest.fixture(scope="module")
def good(lookup) -> TabularImport:
    return read_csv(csv_bytes([GOOD_HEADER, *GOOD_ROWS], delimiter=";", bom=True), lookup)


def test_good_file_has_no_error(good):
    assert good.errors == []
    assert good.initiatives == [
        ini("bureau-des-temps--saint-etienne"), ini("mediateurs-urbains--saint-denis"), ini("conseil-des-sages--corse"),
        ini("fonds-aide-initiatives-quartiers--brest-metropole"), ini("mediateurs-urbains--saint-denis-2"),
        ini("bureau-des-temps--rennes-2")]
    assert good.created == set(good.initiatives) | {iri("organization/ville-de-saint-denis"),
                                                    iri("organization/collectivite-de-corse")}


def test_commune_by_code_and_themes_of_the_practice(good):
    assert triples_of(good, ini("bureau-des-temps--saint-etienne")) == {
        (RDF.type, coh("Initiative")),
        (RDFS.label, Literal("Bureau des temps de Saint-Étienne", lang="fr")),
        (RDFS.label, Literal("Saint-Étienne time office", lang="en")),
        (DCTERMS.type, iri("practice/bureau-des-temps")),
        (DCTERMS.subject, iri("theme/famille")),
        (DCTERMS.spatial, iri("commune/42218")),
        (coh("lead"), iri("organization/cultures-du-coeur")),
    }


def test_commune_by_name_and_departement_with_every_cell(good):
    assert triples_of(good, ini("mediateurs-urbains--saint-denis")) == {
        (RDF.type, coh("Initiative")),
        (RDFS.label, Literal("Médiateurs à Saint-Denis", lang="fr")),
        (RDFS.label, Literal("Mediators in Saint-Denis", lang="en")),
        (DCTERMS.type, iri("practice/mediateurs-urbains")),
        (DCTERMS.subject, iri("theme/prevention")),
        (DCTERMS.subject, iri("theme/democratie-de-proximite")),
        (DCTERMS.spatial, iri("commune/93066")),
        (coh("lead"), iri("organization/ville-de-saint-denis")),
        (coh("partner"), iri("organization/solid-arles")),
        (coh("partner"), iri("organization/ccas-de-besancon")),
        (DCTERMS.description, Literal("Des médiateurs ; le soir.", lang="fr")),
        (DCTERMS.description, Literal("Mediators, in the evening.", lang="en")),
        (FOAF.page, URIRef("https://ville-saint-denis.fr/")),
        (schema("startDate"), Literal("2020", datatype=GYEAR)),
        (schema("endDate"), Literal("2022-12-31", datatype=DATE)),
        (DCTERMS.audience, iri("audience/habitants")),
        (DCTERMS.audience, iri("audience/consommateurs-fragilises")),
    }


def test_new_organisation_is_made_once_with_its_name_in_both_languages(good):
    org = iri("organization/ville-de-saint-denis")
    assert triples_of(good, org) == {(RDF.type, ORG_ORGANIZATION),
                                     (RDFS.label, Literal("Ville de Saint-Denis", lang="fr")),
                                     (RDFS.label, Literal("Ville de Saint-Denis", lang="en"))}
    assert (ini("mediateurs-urbains--saint-denis-2"), coh("lead"), org) in good.graph
    assert (iri("organization/cultures-du-coeur"), RDF.type, ORG_ORGANIZATION) not in good.graph


def test_departement_alone_epci_and_taken_ids(good):
    assert (ini("conseil-des-sages--corse"), DCTERMS.spatial, iri("departement/2A")) in good.graph
    assert (ini("conseil-des-sages--corse"), DCTERMS.type, iri("practice/conseil-des-sages")) in good.graph
    fund = ini("fonds-aide-initiatives-quartiers--brest-metropole")
    assert (fund, DCTERMS.spatial, iri("epci/242900314")) in good.graph
    assert (fund, coh("lead"), iri("organization/brest-metropole-oceane")) in good.graph
    assert (ini("bureau-des-temps--rennes-2"), DCTERMS.spatial, iri("commune/35238")) in good.graph
    assert not any(p == URIRef("http://www.w3.org/ns/prov#wasDerivedFrom") for p in good.graph.predicates())


def test_records_give_the_same_result_as_csv(lookup, good):
    records = [dict(zip(GOOD_HEADER, row)) for row in GOOD_ROWS]
    from_records = read_records(records, lookup)
    assert from_records.errors == []
    assert from_records.initiatives == good.initiatives
    assert from_records.created == good.created
    assert set(from_records.graph) == set(good.graph)


# ---------------------------------------------------------------------------- corrections

def test_correction_row_emits_only_its_cells(lookup):
    header = [c.name for c in COLUMNS]
    row = dict.fromkeys(header, "")
    row.update({"id": "bureau-des-temps--rennes", "url": "https://metropole.rennes.fr/bureau-des-temps",
                "end_date": "2012", "partners": "Ville de Poitiers|Nouvelle association", "title_en": "Rennes time office"})
    result = read_csv(csv_bytes([header, [row[h] for h in header]]), lookup)
    assert result.errors == []
    rennes = ini("bureau-des-temps--rennes")
    assert result.initiatives == [rennes]
    assert triples_of(result, rennes) == {
        (FOAF.page, URIRef("https://metropole.rennes.fr/bureau-des-temps")),
        (schema("endDate"), Literal("2012", datatype=GYEAR)),
        (coh("partner"), iri("organization/ville-de-poitiers")),
        (coh("partner"), iri("organization/nouvelle-association")),
        (RDFS.label, Literal("Rennes time office", lang="en")),
    }
    assert result.created == {iri("organization/nouvelle-association")}


# ---------------------------------------------------------------------------- mistakes

HEADER = [c.name for c in COLUMNS]
BASE = {"title_fr": "Titre", "title_en": "Title", "practice": "bureau-des-temps", "commune_code": "35238",
        "lead": "Ville de Rennes"}
#: (changes to a good row, the expected (column, code) of its errors)
MISTAKES: list[tuple[dict[str, str], list[tuple[str, str]]]] = [
    ({"practice": "Bureau des temp"}, [("practice", "unknown-practice")]),                                  # 2
    ({"commune_code": "352380"}, [("commune_code", "bad-commune-code")]),                                  # 3
    ({"commune_code": "35999"}, [("commune_code", "unknown-commune")]),                                    # 4
    ({"commune_code": "", "commune_name": "Saint-Denis"}, [("commune_name", "ambiguous-commune")]),        # 5
    ({"commune_code": "", "commune_name": "Saint-Étienne", "departement_code": "35"},
     [("commune_name", "commune-not-in-departement")]),                                                    # 6
    ({"commune_code": "42218", "departement_code": "69"}, [("departement_code", "commune-departement-mismatch")]),  # 7
    ({"url": "www.rennes.fr"}, [("url", "bad-url")]),                                                      # 8
    ({"start_date": "2024-02-30"}, [("start_date", "bad-date")]),                                          # 9
    ({"start_date": "2024", "end_date": "2023-12-31"}, [("end_date", "end-before-start")]),                # 10
    ({"themes": "famille|Sport de combat"}, [("themes", "unknown-theme")]),                                # 11
    ({"audiences": "Martiens"}, [("audiences", "unknown-audience")]),                                      # 12
    ({"lead": "BabyDasse"}, [("lead", "ambiguous-organization")]),                                         # 13
    ({"id": "mon-initiative--rennes"}, []),                                                                # 14
    ({"id": "mon-initiative--rennes"}, [("id", "duplicate-id")]),                                          # 15
    ({"id": "Mon Initiative"}, [("id", "bad-id")]),                                                        # 16
    ({"title_en": ""}, [("title_en", "missing-value")]),                                                   # 17
    ({"commune_code": "", "departement_code": "9A"}, [("departement_code", "bad-departement-code")]),      # 18
    ({"commune_code": "", "departement_code": "99"}, [("departement_code", "unknown-departement")]),       # 19
    ({"commune_code": "", "epci_code": "123"}, [("epci_code", "bad-epci-code")]),                          # 20
    ({"commune_code": "", "epci_code": "200000000"}, [("epci_code", "unknown-epci")]),                     # 21
    ({"epci_code": "242900314"}, [("epci_code", "several-territories")]),                                  # 22
    ({"commune_name": "Brest"}, [("commune_name", "commune-name-mismatch")]),                              # 23
    ({"commune_code": ""}, [("", "missing-territory")]),                                                   # 24
    ({"commune_code": "", "commune_name": "Renes", "departement_code": "35"},
     [("commune_name", "unknown-commune-name")]),                                                          # 25
    ({"id": "bureau-des-temps--paris", "title_fr": "", "title_en": "", "practice": "", "commune_code": "",
      "lead": "", "start_date": "2015"}, [("start_date", "start-after-end")]),                              # 26
    ({"start_date": "15/03/2024", "end_date": "2023", "lead": "Ville de Rennes|Ville de Brest", "practice": ""},
     [("practice", "missing-value"), ("lead", "several-values"), ("start_date", "bad-date")]),              # 27
    ({"epci_code": "242900314", "commune_code": "", "departement_code": "35"},
     [("departement_code", "epci-departement-mismatch")]),                                                 # 28
    ({"lead": "!!!"}, [("lead", "bad-organization-name")]),                                                # 29
    ({"practice": "P01|P02"}, [("practice", "several-values")]),                                           # 30
]


def mistake_rows() -> list[list[str]]:
    rows = []
    for changes, _ in MISTAKES:
        cells = dict.fromkeys(HEADER, "") | BASE | changes
        rows.append([cells[h] for h in HEADER])
    return rows


@pytest.fixture(scope="module")
def mistakes(twin_lookup) -> TabularImport:
    return read_csv(csv_bytes([HEADER, *mistake_rows()]), twin_lookup)


def test_every_mistake_is_reported_with_its_row_and_column(mistakes):
    expected = [(row, column, code) for row, (_, errors) in enumerate(MISTAKES, start=2) for column, code in errors]
    assert where(mistakes) == expected


def test_rows_with_mistakes_add_nothing(mistakes):
    assert mistakes.initiatives == [ini("mon-initiative--rennes")]
    assert set(mistakes.graph.subjects()) == {ini("mon-initiative--rennes")}


def test_messages_are_bilingual_and_name_the_value(mistakes):
    by_code = {e.code: e for e in mistakes.errors}
    ambiguous = by_code["ambiguous-commune"]
    assert "« Saint-Denis »" in ambiguous.message_fr and '"Saint-Denis"' in ambiguous.message_en
    for code in ("93066", "97411", "11339", "30247"):
        assert code in ambiguous.message_fr and code in ambiguous.message_en
    assert "departement_code" in ambiguous.message_en
    assert "Vouliez-vous dire : « bureau-des-temps » ?" in by_code["unknown-practice"].message_fr
    assert "Did you mean: \"bureau-des-temps\"?" in by_code["unknown-practice"].message_en
    assert "Rennes (35238" in by_code["unknown-commune-name"].message_en
    assert "babydasse-bis" in by_code["ambiguous-organization"].message_fr
    assert "2024-03-15" in [e for e in mistakes.errors if e.row == 27][-1].message_fr
    assert by_code["commune-departement-mismatch"].value == "69"
    for error in mistakes.errors:
        assert error.message_fr != error.message_en
        assert error.value in error.message_fr or not error.value or error.code in ("duplicate-id", "several-territories", "missing-value")
        assert re.search(r"\S:", error.message_fr.replace("https:", "").replace("http:", "")) is None, error.message_fr
    assert mistakes.errors[0].to_json("fr") == {"row": 2, "column": "practice", "code": "unknown-practice",
                                                "value": "Bureau des temp", "message": mistakes.errors[0].message_fr}
    assert mistakes.errors[0].message("en") == mistakes.errors[0].message_en


def test_records_report_the_same_mistakes(twin_lookup, mistakes):
    records = [dict(zip(HEADER, row)) for row in mistake_rows()]
    from_records = read_records(records, twin_lookup)
    assert from_records.errors == mistakes.errors
    assert set(from_records.graph) == set(mistakes.graph)


def test_file_not_in_utf8(lookup):
    data = "title_fr,title_en\nÉpicerie,Grocery\n".encode("cp1252")
    result = read_csv(data, lookup)
    assert where(result) == [(0, "", "not-utf8")]
    assert "CSV UTF-8" in result.errors[0].message_fr and "line 2" in result.errors[0].message_en
    assert result.initiatives == [] and len(result.graph) == 0


def test_header_mistakes_stop_the_reading(lookup):
    header = ["id", "title_fr", "Titre_FR", "practice", "commune_code", "lead", "notes"]
    result = read_csv(csv_bytes([header, ["", "a", "b", "P01", "35238", "Ville de Rennes", "x"]]), lookup)
    assert where(result) == [(1, "title_fr", "duplicate-column"), (1, "title_en", "missing-column"),
                             (1, "notes", "unknown-column")]
    assert result.initiatives == []


def test_unknown_column_suggests_the_close_one(lookup):
    result = read_csv(csv_bytes([HEADER[:-1] + ["audience"]]), lookup)
    assert where(result) == [(1, "audience", "unknown-column")]
    assert '"audiences"' in result.errors[0].message_en


def test_row_with_too_many_cells_and_trailing_empty_cells(lookup):
    good_row = [(dict.fromkeys(HEADER, "") | BASE)[h] for h in HEADER]
    result = read_csv(csv_bytes([HEADER, good_row + ["", ""], good_row + ["oops"]]), lookup)
    assert where(result) == [(3, "", "too-many-cells")]
    assert result.initiatives == [ini("bureau-des-temps--rennes-2")]


def test_empty_file_and_header_only(lookup):
    assert where(read_csv(b"", lookup)) == [(0, "", "empty-file")]
    assert where(read_csv(b"\xef\xbb\xbf\r\n\r\n", lookup)) == [(0, "", "empty-file")]
    assert where(read_csv(csv_bytes([HEADER]), lookup)) == [(0, "", "no-rows")]


def test_commas_or_semicolons_from_the_header_only():
    assert detect_delimiter("a;b;c\n1,2,3,4,5\n") == ";"
    assert detect_delimiter('"a;b",c\n') == ","
    assert detect_delimiter("a\n") == ","


def test_leading_zero_dropped_by_a_spreadsheet(lookup):
    rows = [HEADER, [(dict.fromkeys(HEADER, "") | BASE | {"commune_code": "1053", "departement_code": "1"})[h] for h in HEADER]]
    result = read_csv(csv_bytes(rows), lookup)
    assert result.errors == []
    assert (result.initiatives[0], DCTERMS.spatial, iri("commune/01053")) in result.graph


def test_records_with_json_values(lookup):
    record = BASE | {"themes": ["famille", "prevention"], "start_date": 2024, "description_fr": None}
    result = read_records([record, "not an object", BASE | {"title_fr": {"x": 1}}], lookup, first_row=1)
    assert where(result) == [(2, "", "not-a-record"), (3, "title_fr", "not-text")]
    assert (result.initiatives[0], URIRef(SCHEMA + "startDate"), Literal("2024", datatype=GYEAR)) in result.graph
    assert (result.initiatives[0], DCTERMS.subject, iri("theme/prevention")) in result.graph


def test_invisible_characters_and_lone_surrogates(lookup):
    result = read_records([BASE | {"title_fr": "Titre\x00"}, BASE | {"title_en": "Title \ud800"}], lookup)
    assert where(result) == [(2, "title_fr", "bad-character"), (3, "title_en", "bad-character")]


# ---------------------------------------------------------------------------- anything at all

CELL_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "35238", "2A004", "1053", "Saint-Denis", "saint etienne", "93", "2a", "974", "242900314",
                     "P01", "famille|prevention", "Ville de Rennes", "babydasse", "2024", "2024-02-30", "2023-12-31",
                     "https://example.org/", "http://example.org/%zz", "http://[::1", "bureau-des-temps--rennes", "x--y", "|", "a|b|", "«»", "\u00a0"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.dictionaries(st.sampled_from(HEADER), CELL_VALUES, max_size=len(HEADER)), max_size=4),
       delimiter=st.sampled_from([",", ";"]))
def test_arbitrary_cells_only_ever_give_cell_errors(lookup, rows, delimiter):
    records = [BASE | row for row in rows]
    for result in (read_records(records, lookup),
                   read_csv(csv_bytes([HEADER, *[[r.get(h, "") for h in HEADER] for r in records]], delimiter), lookup)):
        assert isinstance(result, TabularImport)
        assert all(isinstance(e, CellError) and e.message_fr and e.message_en for e in result.errors)
        assert len(result.initiatives) <= len(records)
        assert result.errors == sorted(result.errors, key=lambda e: e.row)
        for subject, _, obj in result.graph:  # every term is one the store accepts
            ox.NamedNode(str(subject))
            if isinstance(obj, URIRef):
                ox.NamedNode(str(obj))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_give_cell_errors(lookup, data):
    result = read_csv(data, lookup)
    assert all(isinstance(e, CellError) for e in result.errors)


def test_blank_lines_above_the_header_still_count(lookup):
    rows = [[], HEADER, [(dict.fromkeys(HEADER, "") | BASE | {"commune_code": "9999"})[h] for h in HEADER]]
    result = read_csv(csv_bytes(rows), lookup)
    assert where(result) == [(3, "commune_code", "unknown-commune")]


@pytest.mark.parametrize("url, good", [
    ("https://www.rennes.fr/", True), ("https://ex.fr/a?b=c#d", True), ("https://ville.fr/é", True),
    ("www.rennes.fr", False), ("ftp://x.fr", False), ("https://", False), ("https://exa mple.fr", False),
    ("http://example.org/%zz", False), ("http://[::1", False), ("https://localhost:99999/", False),
    ("https://a.fr/<b>", False),
])
def test_url_check(url, good):
    from cohesio.contributions.tabular import url_problem

    assert (url_problem(url) is None) == good
