"""A writable copy of the real project for contribution tests.

The real sources are symlinked into a temporary project (so the repository's own ``contributions/``
is never written), built once per session; each test gets its own store directory as a hard-link
copy of that build (published versions are immutable, so sharing their files is safe) and its own
empty contributions log.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox

from cohesio import versions
from cohesio.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("ontology", "data", "shapes", "queries", "catalog.toml")
TOKEN = "alice-token-0123456789"
OTHER_TOKEN = "bob-token-0123456789ab"
TOKENS = f"alice:{TOKEN} bob:{OTHER_TOKEN}"
BASE = "https://w3id.org/cohesio/"


def make_project(where: Path) -> Path:
    project = where / "project"
    project.mkdir(parents=True)
    for name in SOURCES:
        (project / name).symlink_to(ROOT / name)
    return project


def settings_for(project: Path, store_dir: Path, **overrides) -> Settings:
    values = {"write_tokens": TOKENS, "query_processes": 1}
    values.update(overrides)
    return load_settings(None, environ={}, project_dir=project, store_dir=store_dir, **values)


def clone_store(template: Path, target: Path) -> None:
    """Copy a store directory with hard links (cp -al): instant, and safe for immutable versions."""
    subprocess.run(["cp", "-al", str(template), str(target)], check=True)
    lock = target / ".write.lock"
    if lock.exists():
        lock.unlink()


def open_current(settings: Settings) -> ox.Store:
    return versions.current(settings.store_path).open_store()


def ask(settings: Settings, query: str) -> bool:
    return bool(open_current(settings).query(query))


def turtle(body: str) -> bytes:
    prefixes = """@prefix coh: <https://w3id.org/cohesio/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix cid: <https://w3id.org/cohesio/id/> .
"""
    return (prefixes + body).encode("utf-8")


def new_initiative(slug: str, commune: str = "29019", lead: str = "ville-de-rennes", extra: str = "") -> bytes:
    return turtle(f"""
<https://w3id.org/cohesio/id/initiative/{slug}> a coh:Initiative ;
    rdfs:label "Essai {slug}"@fr , "Test {slug}"@en ;
    dct:type <https://w3id.org/cohesio/id/practice/bureau-des-temps> ;
    dct:subject <https://w3id.org/cohesio/id/theme/democratie-de-proximite> ;
    dct:spatial <https://w3id.org/cohesio/id/commune/{commune}> ;
    coh:lead <https://w3id.org/cohesio/id/organization/{lead}> {extra}.
""")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
