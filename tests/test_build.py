"""Build and publish: a valid build is published; a refused one leaves the published version untouched."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cohesio import versions
from cohesio.build import BuildRefused, build
from cohesio.cli import main
from cohesio.config import load_settings
from cohesio.validation import UnusableInput

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project: the real shapes, and the minimal valid data (self-contained) as the guide."""
    shutil.copytree(ROOT / "shapes", tmp_path / "shapes")
    (tmp_path / "data" / "guide").mkdir(parents=True)
    shutil.copy(FIXTURES / "valid" / "minimal.ttl", tmp_path / "data" / "guide" / "minimal.ttl")
    return tmp_path


def _tree_digest(path: Path) -> str:
    """A hash of every file under ``path`` (names and bytes): proves a directory was not touched."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _settings(project: Path):
    return load_settings(None, environ={}, project_dir=project, store_dir=project / "var")


def test_valid_build_is_published_with_manifest(project):
    result = build(_settings(project))
    current = versions.current(project / "var")
    assert current.id == result.version.id
    manifest = json.loads((current.path / "manifest.json").read_text())
    assert manifest["counts"]["guide"] > 0 and manifest["counts"]["ontology"] == 0
    assert manifest["counts"]["total"] == len(current.open_store())
    assert "data/guide/minimal.ttl" in manifest["inputs"]
    assert result.version.id.endswith(manifest["inputs_sha256"][:8])


def test_refused_build_leaves_previous_version_untouched(project):
    first = build(_settings(project))
    before = _tree_digest(project / "var")
    # An initiative with a second practice: the shapes refuse it.
    shutil.copy(FIXTURES / "invalid" / "two-practices.ttl", project / "data" / "guide" / "new.ttl")
    with pytest.raises(BuildRefused) as refused:
        build(_settings(project))
    assert not refused.value.report.conforms
    assert versions.current(project / "var").id == first.version.id
    assert _tree_digest(project / "var") == before
    assert not list((project / "var" / "versions").glob(".building-*"))


def test_unparsable_source_is_reported_with_file_and_line_and_nothing_changes(project):
    build(_settings(project))
    before = _tree_digest(project / "var")
    broken = project / "data" / "guide" / "broken.ttl"
    broken.write_text("@prefix ex: <http://example.org/> .\n\nex:a ex:b ex:c ;\n  ex:d .\n")
    with pytest.raises(UnusableInput) as unusable:
        build(_settings(project))
    assert Path(unusable.value.file) == broken
    assert unusable.value.line == 4
    assert _tree_digest(project / "var") == before


def test_cli_exit_codes_and_messages(project):
    runner = CliRunner()
    args = ["--project-dir", str(project), "--store-dir", str(project / "var")]
    result = runner.invoke(main, args + ["stats"])
    assert result.exit_code == 3 and "cohesio build" in result.output

    result = runner.invoke(main, args + ["build", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    published = versions.current(project / "var").id

    result = runner.invoke(main, args + ["stats", "--format", "json"])
    assert result.exit_code == 0
    stats = json.loads(result.output)
    assert any(row["iri"].endswith("ontology#Initiative") and row["count"] == 1 for row in stats["classes"])

    shutil.copy(FIXTURES / "invalid" / "two-practices.ttl", project / "data" / "guide" / "new.ttl")
    result = runner.invoke(main, args + ["--lang", "fr", "build", "--quiet"])
    assert result.exit_code == 1
    assert "refusée" in result.output and published in result.output
    assert versions.current(project / "var").id == published

    (project / "data" / "guide" / "new.ttl").write_text("this is not turtle")
    result = runner.invoke(main, args + ["build", "--quiet"])
    assert result.exit_code == 2
    assert "new.ttl:1" in result.output and "Fichier inutilisable" in result.output and "Unusable file" in result.output


def test_validate_command_exit_codes(project, tmp_path):
    runner = CliRunner()
    args = ["--project-dir", str(project), "--store-dir", str(project / "var")]
    ok = runner.invoke(main, args + ["validate"])
    assert ok.exit_code == 0, ok.output
    bad = FIXTURES / "invalid" / "two-practices.ttl"
    result = runner.invoke(main, args + ["validate", "--standalone", str(bad), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["conforms"] is False
    broken = tmp_path / "broken.ttl"
    broken.write_text("<a> <b> .")
    result = runner.invoke(main, args + ["validate", str(broken)])
    assert result.exit_code == 2 and "broken.ttl" in result.output


def test_base_iri_is_rewritten_in_the_published_store(project):
    settings = load_settings(None, environ={}, project_dir=project, store_dir=project / "var",
                             base_iri="http://127.0.0.1:8000/")
    build(settings)
    store = versions.current(project / "var").open_store()
    iris = {q.subject.value for q in store}
    assert any(i.startswith("http://127.0.0.1:8000/id/") for i in iris)
    assert not any(i.startswith("https://w3id.org/cohesio/id/") for i in iris)
    graphs = {g.value for g in store.named_graphs()}
    assert "http://127.0.0.1:8000/graph/guide" in graphs


GEO = """<https://w3id.org/cohesio/id/region/93> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://rdf.insee.fr/def/geo#Region> .
<https://w3id.org/cohesio/id/region/93> <http://www.w3.org/2000/01/rdf-schema#label> "Provence-Alpes-Côte d'Azur"@fr .
<https://w3id.org/cohesio/id/region/93> <http://www.w3.org/2000/01/rdf-schema#label> "Provence-Alpes-Côte d'Azur"@en .
<https://w3id.org/cohesio/id/region/93> <http://rdf.insee.fr/def/geo#codeINSEE> "93" .
<https://w3id.org/cohesio/id/departement/05> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://rdf.insee.fr/def/geo#Departement> .
<https://w3id.org/cohesio/id/departement/05> <http://www.w3.org/2000/01/rdf-schema#label> "Hautes-Alpes"@fr .
<https://w3id.org/cohesio/id/departement/05> <http://www.w3.org/2000/01/rdf-schema#label> "Hautes-Alpes"@en .
<https://w3id.org/cohesio/id/departement/05> <http://rdf.insee.fr/def/geo#codeINSEE> "05" .
<https://w3id.org/cohesio/id/departement/05> <http://rdf.insee.fr/def/geo#subdivisionDe> <https://w3id.org/cohesio/id/region/93> .
<https://w3id.org/cohesio/id/commune/05179> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://rdf.insee.fr/def/geo#Commune> .
<https://w3id.org/cohesio/id/commune/05179> <http://www.w3.org/2000/01/rdf-schema#label> "Veynes"@fr .
<https://w3id.org/cohesio/id/commune/05179> <http://www.w3.org/2000/01/rdf-schema#label> "Veynes"@en .
<https://w3id.org/cohesio/id/commune/05179> <http://rdf.insee.fr/def/geo#codeINSEE> "CODE" .
<https://w3id.org/cohesio/id/commune/05179> <http://rdf.insee.fr/def/geo#subdivisionDe> <https://w3id.org/cohesio/id/departement/05> .
"""


def test_reference_geography_is_validated_in_full_once_per_content(project, monkeypatch):
    import cohesio.build as build_module

    calls: list[int] = []
    # The edited data is validated in pieces (validate_graphs), the geography in one run (validate).
    for name in ("validate", "validate_graphs"):
        real = getattr(build_module, name)
        monkeypatch.setattr(build_module, name, lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    settings = load_settings(None, environ={}, project_dir=project, store_dir=project / "var",
                             cache_dir=project / "cache")
    (project / "data" / "geography").mkdir()
    geo = project / "data" / "geography" / "cog.nt"

    # A commune of the geography nobody points at, with a broken code: only the full check sees it.
    geo.write_text(GEO.replace('"CODE"', '"5179"'), encoding="utf-8")
    with pytest.raises(BuildRefused) as refused:
        build(settings)
    assert any(v.focus.endswith("commune/05179") and v.constraint == "PatternConstraintComponent"
               for v in refused.value.report.violations)
    with pytest.raises(versions.NoBuildError):
        versions.current(project / "var")

    geo.write_text(GEO.replace('"CODE"', '"05179"'), encoding="utf-8")
    calls.clear()
    build(settings)
    assert len(calls) == 2  # the edited data, then the geography in full
    calls.clear()
    build(settings)
    assert len(calls) == 1  # same geography, same shapes: remembered
    assert (project / "cache" / "validated-reference.json").is_file()


def test_usage_errors_are_introduced_in_both_languages():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "cohesio", "serve", "--port", "0"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Erreur d'utilisation" in done.stderr and "Usage error" in done.stderr and "--port" in done.stderr
    done = subprocess.run([sys.executable, "-m", "cohesio", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "build" in done.stdout and "validate" in done.stdout
