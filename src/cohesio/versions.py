"""Published versions on disk: one immutable directory per build and a ``current`` pointer.

Layout under the store directory::

    versions/<version-id>/store/          the pyoxigraph store (never written after publication)
    versions/<version-id>/manifest.json   version id, time, base IRI, counts, input hashes
    current -> versions/<version-id>      a symlink, switched atomically by rename

Readers open ``current`` read-only. pyoxigraph documents that reading a store while another
process writes it is undefined behaviour, so a published version is never written again; a new
build goes to a new directory and only the pointer moves.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

MANIFEST = "manifest.json"
STORE = "store"
CURRENT = "current"
VERSIONS = "versions"


class NoBuildError(Exception):
    """There is no published build to read yet."""

    def __init__(self, store_dir: Path) -> None:
        super().__init__(
            f"Aucune version publiée dans {store_dir} : lancez d'abord « cohesio build ». / "
            f"No published build in {store_dir}: run 'cohesio build' first."
        )


@dataclass(frozen=True)
class Version:
    """A published build: its directory and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.manifest["version"])

    @property
    def store_path(self) -> Path:
        return self.path / STORE

    def open_store(self) -> ox.Store:
        return ox.Store.read_only(str(self.store_path))


def versions_dir(store_dir: Path) -> Path:
    return store_dir / VERSIONS


def current(store_dir: Path) -> Version:
    """The version the ``current`` pointer designates."""
    pointer = store_dir / CURRENT
    try:
        target = pointer.resolve(strict=True)
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        raise NoBuildError(store_dir) from None
    return Version(target, manifest)


def publish(store_dir: Path, staged: Path, version_id: str, manifest: dict[str, Any]) -> Version:
    """Move a finished, validated build into place and switch ``current`` to it atomically.

    The manifest is written last inside the staging directory, so a directory under
    ``versions/`` without a manifest is an interrupted build and is never pointed at.
    """
    final = versions_dir(store_dir) / version_id
    suffix = 1
    while final.exists():
        # The same inputs built twice within one second: a new name, never the published
        # directory a server may be reading from.
        suffix += 1
        final = versions_dir(store_dir) / f"{version_id}-{suffix}"
    version_id = final.name
    manifest = {**manifest, "version": version_id}
    payload = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(staged / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:  # on disk before the pointer moves: a power cut must not leave `current` on an empty manifest
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(staged)
    os.replace(staged, final)
    link_tmp = store_dir / f".{CURRENT}.{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(Path(VERSIONS) / version_id, link_tmp)
    os.replace(link_tmp, store_dir / CURRENT)
    _fsync_dir(store_dir)
    return Version(final, manifest)


def staging_dir(store_dir: Path) -> Path:
    """A fresh directory for a build in progress, beside the versions so rename is atomic."""
    root = versions_dir(store_dir)
    root.mkdir(parents=True, exist_ok=True)
    # Unique per build, not only per process: a refused build's store may not be released yet
    # when the same process builds again (tests, a long-lived writer).
    path = root / f".building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


def prune(store_dir: Path, keep: int, min_age: float = 0.0) -> list[Path]:
    """Remove old versions and abandoned staging directories, keeping ``current`` and ``keep`` others.

    Versions published less than ``min_age`` seconds ago are kept too: writes publish versions
    seconds apart, and a server worker may still be answering from one of them."""
    root = versions_dir(store_dir)
    if not root.is_dir():
        return []
    try:
        live = (store_dir / CURRENT).resolve(strict=True)
    except FileNotFoundError:
        live = None
    removed: list[Path] = []
    finished = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p != live),
        key=lambda p: p.name,
        reverse=True,
    )
    now = time.time()
    for old in finished[keep:]:
        if min_age and now - old.stat().st_mtime < min_age:
            continue
        shutil.rmtree(old)
        removed.append(old)
    for stale in root.glob(".building-*"):
        pid = stale.name.split("-")[1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
