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
    return bool(open_current(settings).query(query, use_default_graph_as_union=True))


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


# ---------------------------------------------------------------- a real server over a writable project

import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``cohesio serve`` (gunicorn) on loopback over a test's project, store and log."""

    def __init__(self, settings: Settings, workdir: Path, workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.settings, self.workdir, self.workers, self.extra = settings, workdir, workers, env or {}
        self.proc: subprocess.Popen | None = None
        self.base = ""

    def start(self, wait: bool = True) -> "Server":
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
        env.update({"COHESIO_WRITE_TOKENS": TOKENS, "COHESIO_QUERY_PROCESSES": "1", "COHESIO_THREADS": "4",
                    "COHESIO_CONTRIBUTIONS_DIR": str(self.settings.contributions_path), "PYTHONUNBUFFERED": "1"})
        env.update(self.extra)
        self.log = open(self.workdir / f"server-{port}.log", "w+b")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cohesio", "--project-dir", str(self.settings.project_dir), "--store-dir",
             str(self.settings.store_path), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(self.workers)],
            cwd=self.workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{port}"
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cohesio serve exited ({self.proc.returncode}):\n{self.output()}")
            try:
                with urllib.request.urlopen(self.base + "/sparql?query=ASK%7B%7D", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"cohesio serve did not answer in {timeout} s:\n{self.output()}")
            time.sleep(0.2)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group: gunicorn master, workers, query processes."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = 120) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
