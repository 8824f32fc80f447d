"""Shared by the linked-data tests: one build of the real project per test session, a fixture store."""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "linked_data" / "mini.trig"
_built: dict[str, object] = {}


def real_store(tmp_path_factory) -> Path:
    """Build the real project once (about 2–3 minutes: SHACL over the geography) and reuse it."""
    if "store" not in _built:
        from cohesio.build import build
        from cohesio.config import load_settings

        store_dir = tmp_path_factory.mktemp("real-store")
        started = time.perf_counter()
        build(load_settings(None, environ={}, project_dir=ROOT, store_dir=store_dir))
        _built["store"] = store_dir
        _built["seconds"] = time.perf_counter() - started
    return _built["store"]  # type: ignore[return-value]


def real_app(tmp_path_factory):
    if "app" not in _built:
        from cohesio.config import load_settings
        from cohesio.web import create_app

        store_dir = real_store(tmp_path_factory)
        app = create_app(load_settings(None, environ={}, project_dir=ROOT, store_dir=store_dir))
        app.config["TESTING"] = True
        _built["app"] = app
    return _built["app"]


def fixture_app(tmp_path_factory):
    """A tiny store (accented slug, a literal with <script>, 120 communes under one département)."""
    if "fixture_app" not in _built:
        import pyoxigraph as ox

        from cohesio import versions
        from cohesio.config import Settings
        from cohesio.web import create_app

        store_dir = tmp_path_factory.mktemp("ld-store")
        staged = versions.staging_dir(store_dir)
        store = ox.Store(str(staged / versions.STORE))
        store.bulk_load(path=str(FIXTURE), format=ox.RdfFormat.TRIG)
        geo = ox.NamedNode("https://w3id.org/cohesio/graph/geography")
        dep = ox.NamedNode("https://w3id.org/cohesio/id/departement/99")
        sub = ox.NamedNode("http://rdf.insee.fr/def/geo#subdivisionDe")
        label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
        store.add(ox.Quad(dep, label, ox.Literal("Département test", language="fr"), geo))
        for n in range(120):
            commune = ox.NamedNode(f"https://w3id.org/cohesio/id/commune/99{n:03d}")
            store.add(ox.Quad(commune, sub, dep, geo))
            store.add(ox.Quad(commune, label, ox.Literal(f"Commune {n:03d}", language="fr"), geo))
        store.flush()
        del store
        versions.publish(store_dir, staged, "ld-test-1", {"version": "ld-test-1", "created": "2026-01-02T03:04:05+00:00",
                                                         "base_iri": "https://w3id.org/cohesio/"})
        settings = Settings(project_dir=ROOT, store_dir=store_dir, query_processes=1)
        app = create_app(settings)
        app.config["TESTING"] = True
        _built["fixture_app"] = app
    return _built["fixture_app"]
