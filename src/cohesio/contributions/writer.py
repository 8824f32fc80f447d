"""The single writer: validate a change, log it durably, publish it as a new version.

One change at a time, across every process of the machine (server workers, ``cohesio import``,
``cohesio build``), by an exclusive ``flock`` on ``<store_dir>/.write.lock``. Under the lock:

1. publish any logged change the current version lacks (a writer that died after logging);
2. compute the change against the current version (so nobody works from a stale copy);
3. validate it incrementally (:mod:`cohesio.contributions.guard`); a refused change stops here,
   and nothing has been written;
4. append it to the log (fsync'd): from here on the change is accepted, whatever happens next;
5. make the next version: a checkpoint of the current store (hard links, milliseconds), the change
   applied to it, the publication files carried over, and the ``current`` pointer switched.

Readers never see a store being written: they keep serving the previous version until the pointer
moves. Dumps, VoID and the catalogue are carried over from the last build and describe it; the
next ``cohesio build`` regenerates them (docs/contributions.md). The search index is carried over
too, with a small overlay re-indexing what the contributions changed since it was built
(:func:`write_search_changes`), so that a contributed resource is found at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyoxigraph as ox

from cohesio import versions
from cohesio.config import CANONICAL_BASE_IRI, Settings
from cohesio.contributions import guard, history, log
from cohesio.contributions.delta import ChangeError, Proposal
from cohesio.contributions.log import Change
from cohesio.contributions.view import StoreView
from cohesio.validation import Report

LOCK_FILE = ".write.lock"
#: Versions made by writes stay on disk at least this long, so that a server worker still
#: answering from one is not pulled from under it by a burst of writes.
PRUNE_GRACE_SECONDS = 300.0


class Busy(Exception):
    """Another write or a build held the lock for longer than ``write_lock_timeout``."""

    status = 503

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"Une autre écriture ou une construction est en cours depuis plus de {seconds:g} s ; réessayez. / "
            f"Another write or a build has been running for more than {seconds:g} s; try again."
        )


class ChangeRefused(Exception):
    """The change would make the graph invalid: nothing was written."""

    status = 422

    def __init__(self, report: Report) -> None:
        n = len([v for v in report.violations if v.severity == "Violation"])
        super().__init__(
            f"Modification refusée : {n} violation(s) des règles SHACL ; rien n'a été modifié. / "
            f"Change refused: {n} SHACL violation(s); nothing was changed."
        )
        self.report = report


class NothingToChange(ChangeError):
    status = 409

    def __init__(self) -> None:
        super().__init__("La modification ne change rien : tout est déjà publié ainsi.",
                         "The change changes nothing: everything is already published this way.")


@dataclass
class Outcome:
    """What a write did: the accepted change (None for a dry run) and the validation report."""

    change: Change | None
    report: Report
    version: str | None = None
    timings: dict[str, float] | None = None


@contextmanager
def write_lock(settings: Settings, timeout: float | None = None) -> Iterator[None]:
    """Hold the machine-wide write lock; ``timeout`` None waits for ever (builds)."""
    store_dir = settings.store_path
    store_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(store_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                        if exc.errno in (errno.EAGAIN, errno.EACCES):
                            raise Busy(timeout) from None
                        raise
                    time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock, also when the process dies


# ---------------------------------------------------------------------------------------------
# Applying changes to a store (shared with the build, which replays the log)
# ---------------------------------------------------------------------------------------------


def apply(store: ox.Store, change: Change, base_iri: str, predicates: set[str] | None = None) -> dict[str, int]:
    """Apply an accepted change and its history to a writable store; returns triples per graph
    gained (negative: lost), counting only what really changed. ``predicates`` collects the
    predicates of what was added (pages look backlinks up by predicate: see
    :func:`cohesio.linked_data.describe.known_predicates`)."""
    view = StoreView(store, base_iri)
    delta: dict[str, int] = {}
    prefix = f"{base_iri}graph/"
    for quad in change.removed:
        target = view.quad_to_store(quad)
        if target in store:
            store.remove(target)
            name = target.graph_name.value.removeprefix(prefix)
            delta[name] = delta.get(name, 0) - 1
    for quad in list(change.added) + list(history.change_quads(change, CANONICAL_BASE_IRI)):
        target = view.quad_to_store(quad)
        if target not in store:
            store.add(target)
            if predicates is not None:
                predicates.add(target.predicate.value)
            name = target.graph_name.value.removeprefix(prefix)
            delta[name] = delta.get(name, 0) + 1
    return delta


def replay(store: ox.Store, log_dir: Path, base_iri: str, after: int = 0) -> tuple[int, dict[str, int]]:
    """Apply every logged change numbered above ``after``; returns the last number and count deltas."""
    last, total = after, {}
    for change in log.changes(log_dir, after):
        for name, n in apply(store, change, base_iri).items():
            total[name] = total.get(name, 0) + n
        last = change.seq
    return last, total


def _link_tree(src: Path, dst: Path, skip: set[str]) -> None:
    """Copy a version's publication files by hard link (they are immutable), else by copy."""
    for entry in src.iterdir():
        if entry.name in skip:
            continue
        target = dst / entry.name
        if entry.is_dir():
            target.mkdir()
            _link_tree(entry, target, set())
        else:
            try:
                os.link(entry, target)
            except OSError:
                shutil.copy2(entry, target)


def publish_changes(settings: Settings, base: versions.Version, changes: list[Change]) -> versions.Version:
    """A new version: ``base``'s store checkpointed, ``changes`` applied, then switched to."""
    store_dir = settings.store_path
    staged = versions.staging_dir(store_dir)
    try:
        source = base.open_store()
        source.backup(str(staged / versions.STORE))
        del source
        store = ox.Store(str(staged / versions.STORE))
        counts = dict(base.manifest.get("counts", {}))
        predicates = set(base.manifest.get("predicates_added", []))
        last = changes[-1].seq
        try:
            for change in changes:
                for name, n in apply(store, change, settings.base_iri, predicates).items():
                    counts[name] = counts.get(name, 0) + n
            store.flush()
            _link_tree(base.path, staged, {versions.STORE, versions.MANIFEST})
            search_changes = write_search_changes(settings, base.manifest, store, staged, last)
        finally:
            del store
        counts["total"] = sum(v for k, v in counts.items() if k != "total")
        now = datetime.now(timezone.utc)
        manifest = dict(base.manifest)
        manifest.update({
            "version": f"{now:%Y%m%dT%H%M%SZ}-c{last:06d}",
            "created": now.isoformat(timespec="seconds"),
            "counts": counts,
            "last_change": last,
            "derived_from": base.id,
            "artefacts_version": base.manifest.get("artefacts_version", base.id),
            # predicates the build's statistics (carried over with the artefacts) do not list yet
            "predicates_added": sorted(predicates - set(base.manifest.get("artefacts", {}).get("void", {})
                                                        .get("properties", {}))),
            "search_changes": search_changes,
        })
        version = versions.publish(store_dir, staged, manifest["version"], manifest)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    versions.prune(store_dir, settings.keep_versions, min_age=PRUNE_GRACE_SECONDS)
    return version


def write_search_changes(settings: Settings, manifest: dict, store: ox.Store, staged: Path, last: int) -> dict:
    """The search overlay of a new version: the entries, as they now are, of every resource the
    contributions changed since the version's search index was built (``search/changes.sqlite``).

    Re-indexing only those keeps a write cheap at any scale (a few SPARQL lookups by IRI and a small
    SQLite file), where copying and updating the main index would copy hundreds of MB per write.
    Its size grows with the contributions since the last build, which starts it again from empty.
    Without an index in the version (an older build: the server indexes it into its cache), every
    contribution of the log is covered, since that index may have been built from any version.
    """
    from cohesio.linked_data.search import CHANGES_PATH
    from cohesio.linked_data.search_build import StoreSource, changed_iris, write_index

    index = (manifest.get("artefacts") or {}).get("search") or {}
    after = int(index.get("last_change", 0)) if index else 0
    since = [c for c in log.changes(settings.contributions_path, after) if c.seq <= last]
    view = StoreView(store, settings.base_iri)
    iris = changed_iris(since, lambda iri: view.to_store(ox.NamedNode(iri)).value)
    target = staged / CHANGES_PATH
    # The previous version's overlay came in as a hard link: replace the name, never write into it.
    target.unlink(missing_ok=True)
    stats = write_index(StoreSource(store), settings.base_iri, target, subjects=iris, counts=False,
                        meta={"after_change": after, "last_change": last})
    return {"path": CHANGES_PATH, "entries": stats.entries, "changed": len(iris), "after_change": after}


def recover(settings: Settings) -> versions.Version:
    """Publish logged changes the current version lacks (call with the lock held)."""
    current = versions.current(settings.store_path)
    log_dir = settings.contributions_path
    log.clean_temporary(log_dir)
    done = int(current.manifest.get("last_change", 0))
    pending = list(log.changes(log_dir, done))
    if pending:
        current = publish_changes(settings, current, pending)
    return current


# ---------------------------------------------------------------------------------------------
# Submitting a change
# ---------------------------------------------------------------------------------------------

#: A reason is a sentence, recorded in the log, the history graph and every page of the resource.
MAX_REASON_CHARS = 1000

#: Builds the proposal from the current graph; called with the lock held, and the change's IRI.
Planner = Callable[[StoreView, str], Proposal]


def submit(settings: Settings, plan: Planner, *, agent: str, reason: str, lang: str = "en",
           dry_run: bool = False, precheck: Callable[[StoreView], None] | None = None) -> Outcome:
    """Validate and (unless ``dry_run``) accept one change. Raises :class:`ChangeRefused`,
    :class:`Busy`, or a :class:`ChangeError` (not found, conflict, not editable, no change)."""
    if not reason.strip():
        raise ChangeError("Dites pourquoi : la raison de la modification est obligatoire (reason).",
                          "Say why: the reason for the change is required (reason).")
    if any(unicodedata.category(c) in ("Cc", "Cs") and c != "\t" for c in reason):
        # A line break or an escape sequence would forge lines in `cohesio history` and terminals.
        raise ChangeError("La raison tient sur une ligne, sans caractère de contrôle (retour à la ligne, échappement…) "
                          "ni octet invalide.",
                          "The reason is one line, without control characters (line breaks, escapes…) or invalid bytes.")
    if len(reason) > MAX_REASON_CHARS:
        raise ChangeError(f"La raison tient en {MAX_REASON_CHARS} caractères au plus.",
                          f"The reason is at most {MAX_REASON_CHARS} characters long.")
    timings: dict[str, float] = {}
    with write_lock(settings, settings.write_lock_timeout):
        started = time.perf_counter()
        current = recover(settings)
        seq = max(log.last_seq(settings.contributions_path), int(current.manifest.get("last_change", 0))) + 1
        change_iri = f"{CANONICAL_BASE_IRI}id/change/{seq:06d}"
        store = current.open_store()
        try:
            view = StoreView(store, settings.base_iri)
            if precheck is not None:
                precheck(view)
            proposal = plan(view, change_iri)
            if proposal.is_empty():
                raise NothingToChange()
            timings["plan"] = time.perf_counter() - started
            started = time.perf_counter()
            report = guard.check(view, proposal.added, proposal.removed, settings.shapes_dir / "cohesio.shapes.ttl",
                                 lang=lang)
            timings["validate"] = time.perf_counter() - started
        finally:
            del store
        if not report.conforms:
            raise ChangeRefused(report)
        if dry_run:
            return Outcome(None, report, current.id, timings)
        change = Change(
            seq=seq, agent=agent, time=datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            reason=reason.strip(), action=proposal.action,
            added=tuple(sorted(proposal.added, key=str)), removed=tuple(sorted(proposal.removed, key=str)),
            created=tuple(sorted(proposal.created)), withdrawn=tuple(sorted(proposal.withdrawn)),
            touched=tuple(sorted(proposal.touched - proposal.created - proposal.withdrawn)),
            reverts=proposal.reverts,
        )
        _failpoint("before-log")
        started = time.perf_counter()
        log.append(settings.contributions_path, change)
        timings["log"] = time.perf_counter() - started
        _failpoint("after-log")
        started = time.perf_counter()
        version = publish_changes(settings, current, [change])
        _failpoint("after-publish")
        timings["publish"] = time.perf_counter() - started
        return Outcome(change, report, version.id, timings)


def _failpoint(name: str) -> None:
    """Crash tests stop a writer here (``COHESIO_FAILPOINT=after-log``) and kill it with SIGKILL,
    so that each step of a write is shown to be safe to die at, not only the lucky ones."""
    if os.environ.get("COHESIO_FAILPOINT") == name:
        marker = os.environ.get("COHESIO_FAILPOINT_FILE")
        if marker:
            Path(marker).write_text(name)
        time.sleep(3600)


def changes_for(settings: Settings, iri: str | None = None) -> list[Change]:
    """The accepted changes, oldest first; with ``iri``, those that created, changed or withdrew it."""
    found = list(log.changes(settings.contributions_path))
    if iri is None:
        return found
    return [c for c in found if iri in c.created or iri in c.withdrawn or iri in c.touched]


def iter_quads_text(quads: Iterable[ox.Quad]) -> str:
    return "".join(f"{q} .\n" for q in quads)
