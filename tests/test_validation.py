"""Behaviour of cohesio.validation and of shapes/cohesio.shapes.ttl.

Every file in tests/fixtures/invalid/ is the valid minimal fixture with exactly one defect; its first
line says which result the defect must produce:

    # expect: <focus IRI> <path IRI or -> <constraint component local name>
    # expect: - - UnusableInput line=<n>        (a file that does not parse)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # works before the package is installed
    sys.path.insert(0, str(ROOT / "src"))

from cohesio.validation import (  # noqa: E402
    DEFAULT_SHAPES,
    Report,
    UnusableInput,
    Violation,
    load_data,
    load_shapes,
    validate,
)

FIXTURES = ROOT / "tests" / "fixtures"
VALID = FIXTURES / "valid" / "minimal.ttl"
INVALID = sorted((FIXTURES / "invalid").glob("*.ttl"))

INITIATIVE = "https://w3id.org/cohesio/id/initiative/bureau-des-temps--rennes"
ORG = "https://w3id.org/cohesio/id/organization/ville-de-rennes"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def expectation(path: Path) -> tuple[str | None, str | None, str, dict[str, str]]:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    focus, prop, component, *extra = first[len("# expect: ") :].split()
    options = dict(e.split("=", 1) for e in extra)
    return (None if focus == "-" else focus, None if prop == "-" else prop, component, options)


@pytest.fixture(scope="module")
def shapes():
    # Parsing the shapes once keeps the parametrised run fast.
    return load_shapes(DEFAULT_SHAPES)


def run(path: Path, shapes, lang: str = "en") -> Report:
    return validate(load_data([path]), shapes=shapes, lang=lang)


def test_there_are_enough_invalid_fixtures():
    assert len(INVALID) >= 24


def test_valid_fixture_conforms(shapes):
    report = run(VALID, shapes)
    assert report.conforms, report.to_text()
    assert report.violations == ()


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_fixture_is_caught(path: Path, shapes):
    focus, prop, component, options = expectation(path)
    if component == "UnusableInput":
        with pytest.raises(UnusableInput) as info:
            load_data([path])
        assert info.value.file == path
        assert info.value.line == int(options["line"])
        assert info.value.message
        return
    report = run(path, shapes)
    assert not report.conforms
    hits = [
        v
        for v in report.violations
        if v.focus == focus and v.path == prop and v.constraint == component
    ]
    assert hits, f"expected {focus} {prop} {component}, got:\n{report.to_text()}"
    for v in hits:
        assert v.severity == "Violation"
        assert v.shape.startswith("https://w3id.org/cohesio/shapes#"), "every shape has a stable IRI"
        assert v.message_fr and v.message_en and v.message_fr != v.message_en


def test_every_result_of_every_fixture_has_both_messages(shapes):
    for path in INVALID:
        if expectation(path)[2] == "UnusableInput":
            continue
        for v in run(path, shapes).violations:
            assert v.message_fr and v.message_en, (path.name, v)
            assert v.message_fr != v.message_en, (path.name, v)
            assert v.shape.startswith("https://w3id.org/cohesio/shapes#"), (path.name, v)


def test_every_shape_has_french_and_english_messages(shapes):
    from rdflib.namespace import RDF, SH

    kinds = (SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint)
    for kind in kinds:
        for shape in shapes.subjects(RDF.type, kind):
            langs = {m.language for m in shapes.objects(shape, SH.message)}
            assert {"fr", "en"} <= langs, f"{shape} lacks a French or English sh:message"


def test_json_output_has_label_iri_property_value_and_both_messages(shapes):
    report = run(FIXTURES / "invalid" / "bad-siren.ttl", shapes)
    data = report.to_json(lang="fr")
    json.dumps(data)  # serialisable
    assert data["conforms"] is False
    [item] = [r for r in data["results"] if r["constraint"] == "PatternConstraintComponent"]
    assert item["focus"] == ORG
    assert item["focus_label"] == "Ville de Rennes"
    assert item["path"] == "https://w3id.org/cohesio/ontology#siren"
    assert item["value"] == '"21350238"'
    assert item["severity"] == "Violation"
    assert item["shape"] == "https://w3id.org/cohesio/shapes#Organization-siren"
    assert "SIREN" in item["message_fr"] and "chiffres" in item["message_fr"]
    assert "SIREN" in item["message_en"] and "digits" in item["message_en"]
    assert item["message"] == item["message_fr"]


def test_text_output_is_grouped_by_resource_with_everything_a_reader_needs(shapes):
    report = run(FIXTURES / "invalid" / "missing-english-label.ttl", shapes)
    text_en = report.to_text("en")
    assert f"Ville de Rennes <{ORG}>" in text_en
    assert RDFS_LABEL in text_en
    assert "The English label is missing" in text_en
    assert "Il manque le libellé en anglais" in text_en  # the other language too
    assert "Violation" in text_en

    report = run(FIXTURES / "invalid" / "page-not-http.ttl", shapes, lang="en")
    text_fr = report.to_text("fr")
    assert f"Bureau des temps — Rennes <{INITIATIVE}>" in text_fr  # label in the text's language
    assert f"Time office — Rennes <{INITIATIVE}>" in report.to_text("en")
    assert "<ftp://www.rennes.fr/>" in text_fr  # the value
    assert "http://xmlns.com/foaf/0.1/page" in text_fr
    assert "L'adresse web" in text_fr and "The web address" in text_fr


def test_sparql_messages_are_filled_in_and_keep_their_language(shapes):
    report = run(FIXTURES / "invalid" / "commune-departement-mismatch.ttl", shapes)
    [v] = [x for x in report.violations if x.constraint == "SPARQLConstraintComponent"]
    assert v.message_fr.startswith("Le département https://w3id.org/cohesio/id/departement/2A")
    assert v.message_en.startswith("The département https://w3id.org/cohesio/id/departement/2A")
    assert "35238" in v.message_fr and "35238" in v.message_en
    assert v.value == "<https://w3id.org/cohesio/id/departement/2A>"


def test_focus_label_falls_back_to_the_other_language(shapes):
    report = run(FIXTURES / "invalid" / "missing-french-label.ttl", shapes, lang="fr")
    [v] = [x for x in report.violations if x.focus == INITIATIVE]
    assert v.focus_label == "Time office — Rennes"


def test_conforming_report_text_and_json(shapes):
    report = run(VALID, shapes)
    assert report.to_json()["results"] == []
    assert "conform" in report.to_text("en")
    assert "respectent" in report.to_text("fr")


def test_unusable_input_names_file_and_line(tmp_path: Path):
    bad = tmp_path / "broken.nt"
    bad.write_text(
        "<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n"
        "<http://example.org/a> <http://example.org/b> c .\n",
        encoding="utf-8",
    )
    with pytest.raises(UnusableInput) as info:
        load_data([bad])
    assert info.value.file == bad and info.value.line == 2
    assert str(bad) in str(info.value)


def test_load_data_reads_gzipped_ntriples_into_named_graph(tmp_path: Path):
    import gzip

    geo = tmp_path / "geography"
    geo.mkdir()
    (geo / "x.nt.gz").write_bytes(
        gzip.compress(b"<http://example.org/a> <http://example.org/b> \"c\" .\n")
    )
    ds = load_data([geo])
    names = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert "https://w3id.org/cohesio/graph/geography" in names


def test_violation_is_a_plain_value():
    v = Violation(
        focus="x", focus_label=None, path=None, value=None, severity="Warning",
        constraint="C", shape="s", message_fr="fr", message_en="en",
    )
    assert v.message("fr") == "fr" and v.message("de") == "en"
    assert Report(conforms=True, violations=(v,)).counts()["Warning"] == 1
