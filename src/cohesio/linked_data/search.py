"""Full-text search over labels and descriptions, French and English, accent-insensitive, on disk.

The index is a SQLite file written once per build (``search/index.sqlite`` in the version directory,
:mod:`cohesio.linked_data.search_build`) and opened read-only by every server worker: its pages
are read as queries need them and cached by the operating system, shared by all workers, so the
memory of a worker does not grow with the graph. The earlier index held every labelled resource in
Python lists, in every worker (1.9 GiB of server memory at 1.85M triples, and its 1,000,000-row
SPARQL read was cut short at 10M triples, so searches missed most of the data).

Why SQLite FTS5 with the ``trigram`` tokenizer:

* it is in Python's standard library (``sqlite3``; FTS5 is compiled into the SQLite of CPython's
  builds and of Debian), so nothing is added to the dependencies, and the file is opened in place
  by any number of processes (``mode=ro&immutable=1``: no locks, no journal);
* trigrams find any substring of three characters or more, which is what the in-memory index did
  (``"lyon"`` finds "Grand Lyon", ``"creche"`` finds "Micro-crèche"): word tokenizers only find
  whole words or prefixes;
* matches come out in row order, and rows are numbered in alphabetical order of their labels, so a
  query matching half the catalogue reads the first rows it shows and stops (a few milliseconds at
  10M triples), instead of scoring every match.

Texts and queries are folded the same way (:func:`fold`); every word of the query must occur in the
labels or descriptions. Labels weigh more than descriptions: a resource scores, per word, 3 when it
starts a word of its labels, 2 when it is elsewhere in them, 1 when it is only in its descriptions;
a label equal to the whole query comes before everything (found through a B-tree of the folded
labels); then by score, then by label in the page's language (falling back to the other one). That
ranking is exact whenever a query has at most :data:`CAP` matches; beyond, the groups come in that
order (every word starting a word of the labels, every word in the labels, the others), each in
alphabetical order of the French label, and the count shown is "at least". Texts are indexed with a space around every word, so
that words shorter than a trigram are searchable too: a two-letter word finds the words that start
with it (``" eu"``), a one-letter word finds that word alone (``" a "``) — the in-memory index found
them anywhere, which at national scale would match nearly every resource.

Contributions: the writer adds ``search/changes.sqlite`` to each version it publishes — the
resources changed since the index was built, with their entries as they now are (see
:func:`cohesio.contributions.writer.publish_changes`). A search reads both files and ignores the
main index's entries for those resources. Builds start again from an empty overlay.

A version without index (published by an older cohesio, a store loaded by other means) and the
remote backend get one built at first use into the cache directory, in the background; until it is
ready the pages that need it answer 503 with ``Retry-After`` (``cohesio search-index`` builds it
beforehand).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import re
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

from cohesio.linked_data.describe import pick

SPECIAL = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "’": "'"})

#: Version of the file layout; an index of another version is rebuilt, never read.
SCHEMA_VERSION = 2
#: The languages the listings are sorted in (one order per language).
SUPPORTED_LANGS: tuple[str, ...] = ("fr", "en")
#: Where a version holds its index and its contributions overlay (relative to its directory).
INDEX_PATH = "search/index.sqlite"
CHANGES_PATH = "search/changes.sqlite"
#: Results per page of /search, and entries per page of a listing (/actors).
PAGE_SIZE = 20
LIST_PAGE_SIZE = 50
#: Up to this many matches, every match is scored and the ranking is exact.
CAP = 500
#: The deepest result listed: past it, refine the query.
MAX_RESULTS = 1000
#: Query words used (a longer query is cut).
MAX_WORDS = 8
#: Candidates read per search at most when short words filter them (bounds a query like "ab xyz").
MAX_SCAN = 20_000
#: How long a request waits for an index being built before answering 503.
BUILD_WAIT = 15.0
#: Index files kept in the cache directory (one per version served without its own index).
CACHE_KEEP = 6


def fold(text: str) -> str:
    """Lower case, accents removed (é→e, œ→oe): the same on the indexed texts and on the query."""
    decomposed = unicodedata.normalize("NFKD", text.translate(SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_SEPARATORS = re.compile(r"[\W_]+")


def searchable(text: str) -> str:
    """The text as it is indexed and matched: folded, punctuation turned into spaces, with a space
    before and after, so that `` ga`` (a word starting with "ga") is a substring like any other."""
    return f" {_SEPARATORS.sub(' ', fold(text)).strip()} "


def terms(query: str) -> list[str]:
    """What each word of a query must be found as: a word of three characters or more anywhere (as
    a substring: trigrams index them all); a two-character word at the start of a word (`` ga``,
    three characters with the space); a one-character word as a whole word (`` a ``)."""
    words = searchable(query).split()[:MAX_WORDS]
    return [w if len(w) >= 3 else f" {w}" if len(w) == 2 else f" {w} " for w in words]


@dataclass(frozen=True)
class Hit:
    iri: str
    label: str
    description: str
    types: frozenset[str]
    score: int


@dataclass(frozen=True)
class Results:
    """One page of results. ``total`` is exact when ``exact``, else a lower bound."""

    hits: list[Hit]
    total: int
    exact: bool
    page: int
    more: bool
    #: The page asked for is past :data:`MAX_RESULTS`.
    too_deep: bool = False


@dataclass(frozen=True)
class Listing:
    """One page of the resources of a class, alphabetical in the page's language."""

    entries: list[dict[str, Any]]
    total: int
    page: int
    pages: int


class IndexNotReady(Exception):
    """The index of this version is being built (first use without a built index)."""

    status = 503

    def __init__(self) -> None:
        super().__init__("L'index de recherche et des listes de cette version est en cours de préparation ; "
                         "réessayez dans une minute. / The search and listing index of this version is being "
                         "prepared; try again in a minute.")


# ------------------------------------------------------------------ reading one file


_local = threading.local()
#: SQLite connections kept per thread (one per file: the index and the overlay of a version or two).
_CONNECTIONS_PER_THREAD = 4


def _connection(path: Path) -> sqlite3.Connection:
    """This thread's read-only connection to ``path``. ``immutable=1``: the files are never
    written after they are published (a new version gets new files), so SQLite takes no locks."""
    conns: OrderedDict[str, sqlite3.Connection] | None = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = OrderedDict()
    key = str(path)
    conn = conns.get(key)
    if conn is not None:
        conns.move_to_end(key)
        return conn
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1", uri=True)
    conns[key] = conn
    while len(conns) > _CONNECTIONS_PER_THREAD:
        _, old = conns.popitem(last=False)
        old.close()
    return conn


@dataclass
class _Doc:
    id: int
    iri: str
    labels: dict[str, str]
    descriptions: dict[str, str]
    types: tuple[str, ...]
    folded_labels: str
    folded_all: str

    def score(self, words: list[str]) -> int:
        """Per term: 3 at the start of a word of the labels, 2 elsewhere in them, 1 in the
        descriptions only."""
        return sum(3 if _start(w) in self.folded_labels else 2 if w in self.folded_labels else 1 for w in words)

    def named(self, whole: str) -> bool:
        """One of the labels is the query (folded)."""
        return any(searchable(label).strip() == whole for label in self.labels.values())

    def matches(self, words: list[str]) -> bool:
        return all(w in self.folded_all for w in words)

    def key(self, lang: str) -> tuple[str, str]:
        return fold(pick(self.labels, lang, self.iri)), self.iri


def _start(term: str) -> str:
    """A term as the start of a word (short terms already are)."""
    return term if term.startswith(" ") else f" {term}"


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Tier:
    """One group of candidates: an FTS5 query (every term in the labels, or not)."""

    match: str


class IndexFile:
    """One index file (a version's index, or its contributions overlay)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1", uri=True)
        try:
            self.meta: dict[str, Any] = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
            self.classes: dict[int, str] = dict(db.execute("SELECT cid, iri FROM classes"))
            self.changed: frozenset[str] = frozenset(iri for (iri,) in db.execute("SELECT iri FROM changed"))
        finally:
            db.close()
        if self.meta.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"{path}: index schema {self.meta.get('schema')!r}, expected {SCHEMA_VERSION}")
        self.cids = {iri: cid for cid, iri in self.classes.items()}

    @property
    def db(self) -> sqlite3.Connection:
        return _connection(self.path)

    def _doc(self, row: tuple) -> _Doc:
        doc_id, iri, labels_json, descriptions_json, types = row
        labels = json.loads(labels_json)
        descriptions = json.loads(descriptions_json) if descriptions_json else {}
        folded_labels = searchable(" ".join(labels.values()))
        return _Doc(doc_id, iri, labels, descriptions,
                    tuple(self.classes[int(c)] for c in types.split() if int(c) in self.classes),
                    folded_labels, folded_labels + searchable(" ".join(descriptions.values())))

    def count(self, tier: _Tier, cap: int) -> int:
        """How many resources the tier matches, counting at most ``cap`` (bounded work)."""
        sql = "SELECT count(*) FROM (SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ?)"
        return self.db.execute(sql, (tier.match, cap)).fetchone()[0]

    def stream(self, tier: _Tier) -> Iterator[_Doc]:
        """The resources a tier matches, in index order (alphabetical), read as they are consumed."""
        for row in self.db.execute("SELECT d.id, d.iri, d.labels, d.descriptions, d.types FROM fts "
                                   "CROSS JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ? ORDER BY fts.rowid",
                                   (tier.match,)):
            yield self._doc(row)

    def named(self, whole: str) -> Iterator[_Doc]:
        """The resources with a label equal to ``whole`` (folded), through the ``names`` B-tree."""
        for row in self.db.execute("SELECT d.id, d.iri, d.labels, d.descriptions, d.types FROM names n "
                                   "JOIN docs d ON d.id = n.id WHERE n.name = ? LIMIT ?", (whole, CAP)):
            yield self._doc(row)

    def of_class(self, class_iri: str) -> Iterator[_Doc]:
        """Every entry of a class (used on the overlay, which is small)."""
        cid = self.cids.get(class_iri)
        if cid is None:
            return
        for row in self.db.execute("SELECT d.id, d.iri, d.labels, d.descriptions, d.types FROM listing l "
                                   "JOIN docs d ON d.id = l.id WHERE l.lang = 'fr' AND l.cid = ? ORDER BY l.pos",
                                   (cid,)):
            yield self._doc(row)


# ------------------------------------------------------------------ searching a version


class SearchIndex:
    """A version's index, with the overlay of the resources contributions changed since."""

    def __init__(self, main: IndexFile, overlay: IndexFile | None = None) -> None:
        self.main = main
        self.overlay = overlay
        self.changed: frozenset[str] = overlay.changed if overlay else frozenset()

    @classmethod
    def open(cls, path: Path, overlay: Path | None = None) -> "SearchIndex":
        return cls(IndexFile(path), IndexFile(overlay) if overlay is not None and overlay.exists() else None)

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """The build-time figures of the browse pages (see search_build.browse_counts)."""
        return self.main.meta.get("counts") or {}

    @property
    def built(self) -> str:
        return str(self.main.meta.get("built", ""))

    @staticmethod
    def _tiers(words: list[str]) -> list[_Tier]:
        """The groups of matches, best first: every word at the start of a word of the labels;
        every word in the labels; the others (some word only in the descriptions)."""
        # Nested, not disjoint ("A NOT B" makes FTS5 read both lists whole: 0.4 s for a common word
        # at 10M triples): a group repeats the previous ones, whose resources are skipped.
        unique = list(dict.fromkeys(words))
        starts = " AND ".join(f"label : {_phrase(_start(w))}" for w in unique)
        in_labels = " AND ".join(f"label : {_phrase(w)}" for w in unique)
        anywhere = " AND ".join(_phrase(w) for w in unique)
        return [_Tier(starts), _Tier(in_labels), _Tier(anywhere)]

    def search(self, query: str, lang: str, page: int = 1, size: int | None = None) -> Results:
        """One page of the resources whose labels or descriptions hold every word of ``query``.

        Ranked: a label equal to the query first, then by score (per word: 3 at the start of a
        word of the labels, 2 elsewhere in the labels, 1 in the descriptions only), then by label
        in ``lang``. At national scale "rennes" otherwise lists hundreds of "… de Rennes" and
        "Varennes" before Rennes itself."""
        size = size or PAGE_SIZE
        words = terms(query)
        if not words:
            return Results([], 0, True, page, False)
        start = (page - 1) * size
        if start >= MAX_RESULTS:
            return Results([], 0, False, page, False, too_deep=True)
        whole = " ".join(searchable(query).split()[:MAX_WORDS])
        tiers = self._tiers(words)

        def rank(doc: _Doc) -> tuple[int, int, str, str]:
            return (0 if doc.named(whole) else 1, -doc.score(words), *doc.key(lang))

        def tier_of(doc: _Doc) -> int:
            if all(_start(w) in doc.folded_labels for w in words):
                return 0
            return 1 if all(w in doc.folded_labels for w in words) else 2

        def fresh(docs: Iterable[_Doc]) -> Iterator[_Doc]:
            return (d for d in docs if d.iri not in self.changed and d.matches(words))

        named = sorted(fresh(self.main.named(whole)), key=rank)
        recent: list[_Doc] = []
        if self.overlay is not None:
            found: dict[str, _Doc] = {}
            for doc in chain(self.overlay.named(whole), *(self.overlay.stream(tier) for tier in tiers)):
                if doc.matches(words):
                    found.setdefault(doc.iri, doc)
            recent = list(found.values())
        total = self.main.count(tiers[-1], CAP + 1)  # every match is in the last group
        if total <= CAP:  # every match scored: the ranking is exact
            pool = {d.iri: d for d in fresh(self.main.stream(tiers[-1]))}
            pool.update({d.iri: d for d in recent})
            ranked = sorted(pool.values(), key=rank)
            shown = ranked[start:start + size]
            return Results([self._hit(d, words, lang) for d in shown], len(ranked), True, page,
                           len(ranked) > start + size and start + size < MAX_RESULTS)
        # Many matches: the labels equal to the query, then the groups in order, each alphabetical
        # (French order) when large; read only as far as the page needs.
        wanted = start + size + 1
        taken: list[_Doc] = []
        seen: set[str] = set()
        scanned = 0
        def group(index: int, tier: _Tier) -> Iterator[_Doc]:
            """Read when the previous groups are exhausted: a small group is ranked whole."""
            extra = sorted((d for d in recent if tier_of(d) == index), key=rank)
            if index < len(tiers) - 1 and self.main.count(tier, CAP + 1) <= CAP:
                yield from sorted(chain(fresh(self.main.stream(tier)), extra), key=rank)
            else:
                yield from chain(extra, fresh(self.main.stream(tier)))

        groups: list[Iterable[_Doc]] = [sorted([d for d in recent if d.named(whole)] + named, key=rank)]
        groups += [group(index, tier) for index, tier in enumerate(tiers)]
        for doc in chain(*groups):
            scanned += 1
            if doc.iri not in seen:
                seen.add(doc.iri)
                taken.append(doc)
            if len(taken) >= wanted or scanned >= MAX_SCAN:
                break
        shown = taken[start:start + size]
        total = max(total, len(taken))
        return Results([self._hit(d, words, lang) for d in shown], total, False, page,
                       len(taken) > start + size and start + size < MAX_RESULTS)

    @staticmethod
    def _hit(doc: _Doc, words: list[str], lang: str) -> Hit:
        return Hit(doc.iri, pick(doc.labels, lang, doc.iri), pick(doc.descriptions, lang), frozenset(doc.types),
                   doc.score(words))

    def listing(self, class_iri: str, lang: str, page: int = 1, size: int | None = None) -> Listing:
        """One page of the resources of a class, alphabetical in ``lang`` (positions precomputed at
        build time, so page 5,000 costs what page 1 costs); resources changed by contributions are
        taken from the overlay and shown on the page their label sorts into."""
        lang = lang if lang in SUPPORTED_LANGS else SUPPORTED_LANGS[0]
        size = size or LIST_PAGE_SIZE
        cid = self.main.cids.get(class_iri)
        rows: list[_Doc] = []
        total = 0
        if cid is not None:
            last = self.main.db.execute("SELECT max(pos) FROM listing WHERE lang = ? AND cid = ?",
                                        (lang, cid)).fetchone()[0]
            total = 0 if last is None else last + 1
            first = (page - 1) * size
            rows = [self.main._doc(r) for r in self.main.db.execute(
                "SELECT d.id, d.iri, d.labels, d.descriptions, d.types FROM listing l JOIN docs d ON d.id = l.id "
                "WHERE l.lang = ? AND l.cid = ? AND l.pos >= ? AND l.pos <= ? ORDER BY l.pos",
                (lang, cid, first, first + size))]
        following = rows[size].key(lang) if len(rows) > size else None
        low = rows[0].key(lang) if rows and page > 1 else None
        shown = [d for d in rows[:size] if d.iri not in self.changed]
        if self.overlay is not None:
            recent = list(self.overlay.of_class(class_iri))
            total += len(recent)
            for doc in recent:
                key = doc.key(lang)
                if (low is None or key >= low) and (following is None or key < following) and \
                        (rows or page == 1):
                    shown.append(doc)
            shown.sort(key=lambda d: d.key(lang))
        pages = max(1, -(-total // size))
        return Listing([{"iri": d.iri, "labels": d.labels} for d in shown], total, page, pages)


# ------------------------------------------------------------------ which index a backend uses


@dataclass
class _Build:
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


_builds: dict[str, _Build] = {}
_open: "OrderedDict[str, SearchIndex]" = OrderedDict()
_lock = threading.Lock()


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class Plan:
    """Where a backend's current index is, or is to be built."""

    path: Path
    overlay: Path | None
    #: True: the version's own index, written by the build; False: a cache file, built on demand.
    own: bool
    key: str
    build: Callable[[Path], None] | None = None


def locate(backend: Any, base_iri: str, cache_dir: Path | None = None, *, in_child: bool = True,
           log: Callable[[str], None] | None = None) -> Plan:
    """The index of the backend's current version: its own (written by the build), else a file of
    the cache directory, with how to build it (``in_child``: from a published store, in a child
    process; else in this process, reporting its steps to ``log``)."""
    published = getattr(backend, "published", None)  # the embedded backend's current Version
    root = (cache_dir or Path.home() / ".cache" / "cohesio") / "search"
    if published is not None:
        version_dir: Path = published.path
        manifest: dict[str, Any] = published.manifest
        changes = manifest.get("search_changes") or {}
        overlay = version_dir / changes["path"] if changes.get("path") else None
        artefact = (manifest.get("artefacts") or {}).get("search") or {}
        own = version_dir / artefact["path"] if artefact.get("path") else None
        if own is not None and artefact.get("schema") == SCHEMA_VERSION and own.is_file():
            return Plan(own, overlay, True, str(own))
        # No index in the version: one per build (contributions keep `artefacts_version`), the
        # overlay covering what changed since (the writer lists every contributed resource then).
        build_id = str(manifest.get("artefacts_version") or published.id)
        key = _key("embedded", str(version_dir.parent.resolve()), build_id, base_iri)
        store = version_dir / "store"
        meta = {"source": build_id}

        def from_store(path: Path) -> None:
            if in_child:
                _build_in_child(store, path, base_iri, meta)
                return
            import pyoxigraph as ox

            from cohesio.linked_data.search_build import StoreSource, write_index

            write_index(StoreSource(ox.Store.read_only(str(store))), base_iri, path, meta=meta, log=log)

        return Plan(root / f"{key}-v{SCHEMA_VERSION}.sqlite", overlay, False, key, from_store)
    identity = str(getattr(backend, "identity", type(backend).__name__))
    version = str(backend.version)
    key = _key("backend", identity, version, base_iri)

    def from_backend(path: Path) -> None:
        from cohesio.linked_data.search_build import BackendSource, write_index

        write_index(BackendSource(backend), base_iri, path, meta={"source": version}, log=log)

    return Plan(root / f"{key}-v{SCHEMA_VERSION}.sqlite", None, False, key, from_backend)


def index_for(backend: Any, base_iri: str, cache_dir: Path | None = None, wait: float | None = None) -> SearchIndex:
    """The index of the backend's current version, opened (see :func:`locate`). Raises
    :class:`IndexNotReady` while a cache file is being built, or what its build raised (a query
    time-out on a remote server, for instance)."""
    plan = locate(backend, base_iri, cache_dir)
    if not plan.own and plan.build is not None:
        _ensure(plan.path, plan.key, plan.build, BUILD_WAIT if wait is None else wait)
    return _opened(plan.path, plan.overlay)


def _opened(path: Path, overlay: Path | None) -> SearchIndex:
    """Open files are kept (a few): reading the meta and class tables once per version, not per request."""
    key = f"{path}\n{overlay}"
    with _lock:
        found = _open.get(key)
        if found is not None:
            _open.move_to_end(key)
            return found
    opened = SearchIndex.open(path, overlay)
    with _lock:
        _open[key] = opened
        while len(_open) > 4:
            _open.popitem(last=False)
    return opened


def _ensure(path: Path, key: str, work: Callable[[Path], None], wait: float) -> None:
    """Make sure ``path`` exists: build it in a background thread of this process if no other
    process is building it (an exclusive ``flock`` beside it), and wait at most ``wait`` seconds."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        build = _builds.get(key)
        if build is None:
            fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # another process builds it: wait for the file below
            else:
                if path.exists():  # finished between our check and the lock
                    os.close(fd)
                    return
                build = _builds[key] = _Build()
                threading.Thread(target=_run_build, args=(build, path, work, fd), daemon=True,
                                 name=f"cohesio-index-{key[:8]}").start()
    deadline = time.monotonic() + wait
    if build is not None:
        build.done.wait(wait)
        if build.done.is_set():
            with _lock:
                if _builds.get(key) is build:
                    del _builds[key]  # a failed build is tried again by the next request
            if build.error is not None:
                raise build.error
            if path.exists():
                return
        raise IndexNotReady()
    while time.monotonic() < deadline:
        if path.exists():
            return
        time.sleep(0.2)
    raise IndexNotReady()


def _run_build(build: _Build, path: Path, work: Callable[[Path], None], fd: int) -> None:
    try:
        work(path)
        _prune_cache(path.parent, keep=path)
    except BaseException as exc:  # noqa: BLE001 - handed to the request that waits for it
        build.error = exc
    finally:
        os.close(fd)
        build.done.set()


def _build_in_child(store: Path, path: Path, base_iri: str, meta: dict[str, Any]) -> None:
    """Build from a published store in a child process: the store it opens, and the memory the
    build takes, are never the server worker's."""
    answer = subprocess.run([sys.executable, "-m", "cohesio.linked_data.search_build", str(store), str(path),
                             base_iri, json.dumps(meta)], capture_output=True, text=True)
    if answer.returncode != 0:
        raise RuntimeError(f"search index build failed ({answer.returncode}): {answer.stderr[-2000:]}")


def _prune_cache(root: Path, keep: Path) -> None:
    """Keep the newest :data:`CACHE_KEEP` cached indexes, and any used in the last hour (the cache
    directory may be shared by several servers; a removed file stays readable by whoever has it open)."""
    now = time.time()
    files = []
    for path in root.glob("*.sqlite"):
        try:
            files.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue
    files.sort(reverse=True)
    for mtime, old in files[CACHE_KEEP:]:
        if old != keep and now - mtime > 3600:
            old.unlink(missing_ok=True)
            old.with_suffix(".lock").unlink(missing_ok=True)
