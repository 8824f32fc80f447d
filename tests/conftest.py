"""Shared pytest fixtures."""

from __future__ import annotations

# ---------------------------------------------------------------- SPARQL endpoint fixtures
# A tiny published store built from tests/fixtures/sparql/mini.trig (independent of the real data),
# the Flask app over it with short limits, and the real gunicorn server for HTTP clients.

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SPARQL_FIXTURE = Path(__file__).parent / "fixtures" / "sparql" / "mini.trig"
SPARQL_VERSION = "test-sparql-1"
#: Short limits so the safety tests stay fast.
SPARQL_LIMITS = {"query_timeout": 2.0, "max_rows": 10, "max_query_bytes": 2000, "query_processes": 2}


def _publish_fixture_store(store_dir: Path) -> None:
    import pyoxigraph as ox

    from cohesio import versions

    staged = versions.staging_dir(store_dir)
    store = ox.Store(str(staged / versions.STORE))
    store.bulk_load(path=str(SPARQL_FIXTURE), format=ox.RdfFormat.TRIG)
    store.flush()
    del store
    versions.publish(store_dir, staged, SPARQL_VERSION,
                     {"version": SPARQL_VERSION, "base_iri": "https://w3id.org/cohesio/", "test": True})


@pytest.fixture(scope="session")
def sparql_store_dir(tmp_path_factory) -> Path:
    """A store directory with one published version holding the mini.trig graphs."""
    store_dir = tmp_path_factory.mktemp("sparql-store")
    _publish_fixture_store(store_dir)
    return store_dir


@pytest.fixture(scope="session")
def sparql_settings(sparql_store_dir):
    from cohesio.config import Settings

    return Settings(project_dir=sparql_store_dir, store_dir=sparql_store_dir, **SPARQL_LIMITS)


@pytest.fixture(scope="session")
def sparql_backend(sparql_settings):
    from cohesio.store.embedded import EmbeddedBackend

    backend = EmbeddedBackend(sparql_settings)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def sparql_app(sparql_settings, sparql_backend):
    from cohesio.web import create_app

    app = create_app(sparql_settings, sparql_backend)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="session")
def sparql_app_no_cors(sparql_settings, sparql_backend):
    from cohesio.web import create_app

    app = create_app(dataclasses.replace(sparql_settings, cors_origins=""), sparql_backend)
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(sparql_app):
    return sparql_app.test_client()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(sparql_store_dir, tmp_path_factory):
    """``cohesio serve`` (gunicorn, the real server) on a free loopback port; yields its base URL."""
    port = _free_port()
    cwd = tmp_path_factory.mktemp("live-server")  # no cohesio.toml here
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
    env.update({"COHESIO_QUERY_TIMEOUT": "3", "COHESIO_MAX_ROWS": "1000", "COHESIO_QUERY_PROCESSES": "2",
                "COHESIO_THREADS": "4", "PYTHONUNBUFFERED": "1"})
    log = open(cwd / "server.log", "w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cohesio", "--store-dir", str(sparql_store_dir), "serve",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"cohesio serve exited ({proc.returncode}):\n{log.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(base + "/sparql?query=ASK%7B%7D", timeout=2) as answer:
                if answer.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            log.seek(0)
            raise RuntimeError(f"cohesio serve did not answer in 30 s:\n{log.read().decode(errors='replace')}")
        time.sleep(0.2)
    yield base
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the group started above: gunicorn master, worker, query processes
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass
    finally:
        log.close()


# ---------------------------------------------------------------- private Virtuoso (remote backend)
# One Virtuoso per test session, started on demand by the tests that need it (tests/virtuoso.py).


@pytest.fixture(scope="session")
def virtuoso_server():
    """A private Virtuoso on loopback with a user allowed to use the Graph Store.

    A missing server is a failure, not a skip: ``make test`` installs it (``make install-system``)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import virtuoso

    if not virtuoso.available():
        pytest.fail("virtuoso-t absent : « make install-system ». / virtuoso-t missing: 'make install-system'.")
    server = virtuoso.start()
    yield server
    server.stop()


# ---------------------------------------------------------------- the real project, built once

@pytest.fixture(scope="session")
def real_build(tmp_path_factory):
    """The repository's own sources, built, validated and published once for the whole session.

    The first build on a machine validates the whole official geography with pyshacl (about a
    minute); the digest cache in ``cache_dir`` spares later builds that cost.
    """
    from pathlib import Path

    from cohesio.build import build
    from cohesio.config import load_settings

    root = Path(__file__).resolve().parents[1]
    store_dir = tmp_path_factory.mktemp("real-build")
    settings = load_settings(None, environ={}, project_dir=root, store_dir=store_dir)
    result = build(settings)
    assert result.report.conforms
    return result


# ---------------------------------------------------------------- a writable copy for contributions

@pytest.fixture(scope="session")
def contrib_template(tmp_path_factory):
    """The real project symlinked into a temporary directory and built once: (project, store dir)."""
    from cohesio.build import build
    from contrib_support import make_project, settings_for

    where = tmp_path_factory.mktemp("contrib-template")
    project = make_project(where)
    store_dir = where / "store"
    result = build(settings_for(project, store_dir))
    assert result.report.conforms
    return project, store_dir


@pytest.fixture()
def contrib_settings(contrib_template, tmp_path):
    """Settings for one test: its own store (hard-link copy of the template build) and its own log."""
    from contrib_support import clone_store, settings_for

    project, template = contrib_template
    store_dir = tmp_path / "store"
    clone_store(template, store_dir)
    return settings_for(project, store_dir, contributions_dir=tmp_path / "contributions")
