"""Writing the search and listing index of a version (a SQLite file), read by :mod:`cohesio.linked_data.search`.

Three writers share the code below:

* the build (:func:`cohesio.publishing.dumps.write_artefacts`) writes ``search/index.sqlite`` into
  the version it publishes, from the staged store;
* a contribution (:func:`cohesio.contributions.writer.publish_changes`) writes
  ``search/changes.sqlite``: the same tables for the resources contributions changed since the
  index was built — a few entries, never a copy of the whole index (which is hundreds of MB at
  national scale, and would have to be copied at every write);
* a server whose version has no index (a version published before indexes existed, a store
  loaded by other means, the remote backend) writes one into its cache directory at first use
  (:func:`cohesio.linked_data.search.index_for`), or ``cohesio search-index`` does beforehand.

The graph is read with SPARQL (the same text on a pyoxigraph store and on a remote server) and
streamed into a scratch SQLite file, where the rows are grouped per resource and sorted on disk:
the memory of the writer stays bounded by a batch, whatever the size of the graph.

What is indexed is what the in-memory index of earlier versions held: every IRI with a label or a
description in a graph other than the official geography and the history of changes, and the
territories (communes, EPCI…) that have initiatives, with their labels from any graph.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from cohesio.linked_data.describe import DESCRIPTION_PROPERTIES, LABEL_PROPERTIES, pick
from cohesio.linked_data.search import SCHEMA_VERSION, SUPPORTED_LANGS, fold, searchable

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DCT = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
IGEO = "http://rdf.insee.fr/def/geo#"
ORG = "http://www.w3.org/ns/org#"

#: Rows written to SQLite per transaction batch.
BATCH = 20_000
#: IRIs per VALUES block when only some resources are indexed (contributions, ancestors).
CHUNK = 200
#: Rows per request when the graph is read from a SPARQL backend (LIMIT/OFFSET pages).
PAGE_ROWS = 10_000

Row = Mapping[str, tuple[str, str]]


class Source(Protocol):
    """Where the graph is read from: each row maps a variable to (value, language tag)."""

    def rows(self, query: str) -> Iterator[Row]: ...


class StoreSource:
    """A pyoxigraph store (staged build, a version opened read-only), streamed: rows are read as
    the store produces them, never all at once."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def rows(self, query: str) -> Iterator[Row]:
        solutions = self.store.query(query, use_default_graph_as_union=True)
        names = [v.value for v in solutions.variables]
        for solution in solutions:
            row: dict[str, tuple[str, str]] = {}
            for name in names:
                term = solution[name]
                if term is not None:
                    row[name] = (term.value, getattr(term, "language", None) or "")
            yield row


class BackendSource:
    """A :class:`~cohesio.store.Backend` (remote server, or any backend without a store on this
    machine), read in LIMIT/OFFSET pages so that no answer is larger than ``page`` rows.

    The pages of a query without ORDER BY follow the server's own order, which is stable for one
    unchanged dataset on the servers cohesio supports; a sorted query is avoided on purpose (Virtuoso
    refuses sorted answers past ``MaxSortedTopRows``, and sorting millions of rows costs more than the
    duplicates a page boundary might produce, which the grouping below absorbs).
    """

    def __init__(self, backend: Any, page: int = PAGE_ROWS) -> None:
        self.backend = backend
        self.page = page

    def rows(self, query: str) -> Iterator[Row]:
        from cohesio.linked_data.describe import select

        if "GROUP BY" in query:  # an aggregate: a few rows, asked for at once
            for row in select(self.backend, query, max_rows=100_000):
                yield {k: (v.value, v.lang) for k, v in row.items()}
            return
        offset = 0
        while True:
            page = select(self.backend, f"{query}\nLIMIT {self.page} OFFSET {offset}", max_rows=self.page)
            for row in page:
                yield {k: (v.value, v.lang) for k, v in row.items()}
            if len(page) < self.page:
                return
            offset += self.page


@dataclass(frozen=True)
class IndexStats:
    entries: int
    seconds: float
    bytes: int


# ------------------------------------------------------------------ the queries


def _values(subjects: list[str] | None, var: str = "s") -> str:
    if subjects is None:
        return ""
    return f"VALUES ?{var} {{ {' '.join(f'<{s}>' for s in subjects)} }}"


def _properties(var: str, properties: Iterable[str], subjects: list[str] | None) -> tuple[str, str]:
    """The properties as a VALUES block (the whole graph: the store walks each property's triples)
    or, for given subjects, as a FILTER: two VALUES blocks (subjects × properties) make pyoxigraph
    scan every triple — 35 s for 400 subjects at 10M triples, against 30 ms with the FILTER."""
    listed = " ".join(f"<{p}>" for p in properties)
    if subjects is None:
        return f"VALUES ?{var} {{ {listed} }}", ""
    return "", f"FILTER(?{var} IN ({', '.join(f'<{p}>' for p in properties)}))"


def _text_query(base: str, subjects: list[str] | None) -> str:
    values, only = _properties("p", LABEL_PROPERTIES + DESCRIPTION_PROPERTIES, subjects)
    return f"""SELECT ?s ?p ?t WHERE {{ {_values(subjects)} {values}
        GRAPH ?g {{ ?s ?p ?t }} {only}
        FILTER(?g != <{base}graph/geography> && ?g != <{base}graph/history> && isIRI(?s) && isLITERAL(?t)) }}"""


def _places_query(base: str, subjects: list[str] | None) -> str:
    values, only = _properties("p", LABEL_PROPERTIES, subjects)
    return f"""SELECT DISTINCT ?s ?p ?t WHERE {{ {_values(subjects)}
        ?i a <{base}ontology#Initiative> ; <{DCT}spatial> ?s .
        {values} ?s ?p ?t {only} FILTER(isIRI(?s) && isLITERAL(?t)) }}"""


def _types_query(base: str, subjects: list[str] | None) -> str:
    return f"""SELECT ?s ?c WHERE {{ {_values(subjects)} GRAPH ?g {{ ?s a ?c }}
        FILTER(?g != <{base}graph/history> && isIRI(?s) && isIRI(?c)) }}"""


# ------------------------------------------------------------------ writing


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None)
    # A scratch or not-yet-published file: durability comes from the rename at the end.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-65536")  # 64 MiB while writing; readers keep SQLite's default
    return db


def _insert(db: sqlite3.Connection, sql: str, rows: Iterable[tuple]) -> int:
    count = 0
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            db.execute("BEGIN")
            db.executemany(sql, batch)
            db.execute("COMMIT")
            count += len(batch)
            batch = []
    if batch:
        db.execute("BEGIN")
        db.executemany(sql, batch)
        db.execute("COMMIT")
        count += len(batch)
    return count


def _chunks(items: list[str] | None) -> Iterator[list[str] | None]:
    if items is None:
        yield None
        return
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE classes(cid INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE);
-- One row per resource, numbered in the order of its folded French label (else English, else IRI):
-- full-text matches come out of FTS5 in that order, so a long list of matches is read alphabetically
-- and can stop early.
CREATE TABLE docs(id INTEGER PRIMARY KEY, iri TEXT NOT NULL, labels TEXT NOT NULL, descriptions TEXT,
                  types TEXT NOT NULL);
-- Every label, folded as the queries are: a label equal to the query is found by this B-tree.
CREATE TABLE names(name TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY(name, id)) WITHOUT ROWID;
-- The resources of each class in alphabetical order of their label in each language, numbered from
-- 0: a page of a list (/actors) is a range of positions, whatever its depth.
CREATE TABLE listing(lang TEXT NOT NULL, cid INTEGER NOT NULL, pos INTEGER NOT NULL, id INTEGER NOT NULL,
                     PRIMARY KEY(lang, cid, pos)) WITHOUT ROWID;
-- Trigrams of the searchable texts (search.searchable: folded, spaces around every word): any
-- substring of three characters or more is found through the index, as the earlier in-memory index
-- found any substring, and " ab" finds the words starting with "ab". Contentless: the texts are in docs.
CREATE VIRTUAL TABLE fts USING fts5(label, body, content='', tokenize='trigram');
-- Resources changed by contributions since the main index (only in search/changes.sqlite).
CREATE TABLE changed(iri TEXT PRIMARY KEY) WITHOUT ROWID;
"""


def write_index(source: Source, base_iri: str, path: Path, *, subjects: Iterable[str] | None = None,
                counts: bool = True, meta: Mapping[str, Any] | None = None,
                log: Callable[[str], None] | None = None) -> IndexStats:
    """Write the index of the resources read from ``source`` to ``path`` (replaced atomically).

    ``subjects``: only these IRIs (a contributions overlay); they are also recorded as *changed*,
    so that readers ignore their entries in the main index, including those no longer indexed
    (withdrawn). ``counts``: also compute the figures the browse pages show (initiatives per
    territory, practice, audience; instances per class), once, here, rather than per request.
    """
    started = time.perf_counter()

    def step(name: str) -> None:
        if log is not None:
            log(f"{time.perf_counter() - started:8.1f} s  {name}")

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    work_path = path.with_name(f".{path.name}.{os.getpid()}.work")
    for leftover in (tmp, work_path):
        leftover.unlink(missing_ok=True)
    wanted = None if subjects is None else sorted(set(subjects))
    work = _connect(work_path)
    out = _connect(tmp)
    try:
        out.executescript(SCHEMA)
        work.executescript("""
            CREATE TABLE raw(iri TEXT, label INTEGER, lang TEXT, text TEXT);
            CREATE TABLE rtypes(iri TEXT, type TEXT);
            CREATE TABLE staged(iri TEXT, key_fr TEXT, key_en TEXT, labels TEXT, descriptions TEXT, types TEXT);
            CREATE TABLE en(key TEXT, iri TEXT, id INTEGER, types TEXT);
        """)
        label_props = set(LABEL_PROPERTIES)
        for chunk in _chunks(wanted):
            _insert(work, "INSERT INTO raw VALUES (?,?,?,?)",
                    ((r["s"][0], 1 if r["p"][0] in label_props else 0, r["t"][1], r["t"][0])
                     for r in source.rows(_text_query(base_iri, chunk))))
            _insert(work, "INSERT INTO raw VALUES (?,?,?,?)",
                    ((r["s"][0], 1, r["t"][1], r["t"][0]) for r in source.rows(_places_query(base_iri, chunk))))
            _insert(work, "INSERT INTO rtypes VALUES (?,?)",
                    ((r["s"][0], r["c"][0]) for r in source.rows(_types_query(base_iri, chunk))))
        step("texts and types read")
        _group(work)
        step("grouped per resource")
        entries = _write_docs(work, out)
        step("full-text index and listings written")
        if wanted is not None:
            _insert(out, "INSERT OR IGNORE INTO changed VALUES (?)", ((iri,) for iri in wanted))
        info: dict[str, Any] = {"schema": SCHEMA_VERSION, "base_iri": base_iri, "entries": entries,
                                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        info.update(meta or {})
        if counts:
            info["counts"] = browse_counts(source, base_iri, work)
            step("figures computed")
        _insert(out, "INSERT INTO meta VALUES (?,?)",
                ((k, json.dumps(v, ensure_ascii=False)) for k, v in info.items()))
        out.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    finally:
        work.close()
        out.close()
        work_path.unlink(missing_ok=True)
    os.replace(tmp, path)
    return IndexStats(entries, time.perf_counter() - started, path.stat().st_size)


def _group(work: sqlite3.Connection) -> None:
    """raw + rtypes → one staged row per resource (labels and descriptions by language, types),
    by two sorted scans merged here: SQLite sorts on disk, Python holds one resource at a time."""
    types = work.execute("SELECT iri, type FROM rtypes ORDER BY iri, type")
    pending = types.fetchone()

    def types_of(iri: str) -> list[str]:
        nonlocal pending
        found: list[str] = []
        while pending is not None and pending[0] < iri:
            pending = types.fetchone()
        while pending is not None and pending[0] == iri:
            if pending[1] not in found:
                found.append(pending[1])
            pending = types.fetchone()
        return found

    def grouped() -> Iterator[tuple]:
        current: str | None = None
        labels: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        reader = work.cursor()
        for iri, is_label, lang, text in reader.execute(
                "SELECT iri, label, lang, text FROM raw ORDER BY iri, label DESC, lang, text"):
            if iri != current:
                if current is not None:
                    yield _staged(current, labels, descriptions, types_of(current))
                current, labels, descriptions = iri, {}, {}
            (labels if is_label else descriptions).setdefault(lang, text)
        if current is not None:
            yield _staged(current, labels, descriptions, types_of(current))

    _insert(work, "INSERT INTO staged VALUES (?,?,?,?,?,?)", grouped())


def _staged(iri: str, labels: dict[str, str], descriptions: dict[str, str], types: list[str]) -> tuple:
    keys = [fold(pick(labels, lang, iri)) for lang in SUPPORTED_LANGS]
    return (iri, *keys, json.dumps(labels, ensure_ascii=False),
            json.dumps(descriptions, ensure_ascii=False) if descriptions else None,
            json.dumps(types, ensure_ascii=False))


def _write_docs(work: sqlite3.Connection, out: sqlite3.Connection) -> int:
    """staged → docs, fts, names and the French listing (in French order), then the English listing."""
    classes: dict[str, int] = {}
    positions: dict[tuple[str, int], int] = {}

    def cids(types_json: str) -> list[int]:
        found = []
        for iri in json.loads(types_json):
            if iri not in classes:
                classes[iri] = len(classes) + 1
            found.append(classes[iri])
        return found

    def listing(lang: str, ids: Iterable[tuple[int, list[int]]]) -> Iterator[tuple]:
        for doc_id, doc_cids in ids:
            for cid in doc_cids:
                pos = positions.get((lang, cid), 0)
                positions[(lang, cid)] = pos + 1
                yield lang, cid, pos, doc_id

    docs: list[tuple] = []
    fts: list[tuple] = []
    names: list[tuple] = []
    fr_listing: list[tuple[int, list[int]]] = []
    en_rows: list[tuple] = []
    count = 0

    def flush() -> None:
        for sql, rows in (("INSERT INTO docs VALUES (?,?,?,?,?)", docs), ("INSERT INTO fts(rowid, label, body) VALUES (?,?,?)", fts),
                          ("INSERT OR IGNORE INTO names VALUES (?,?)", names),
                          ("INSERT INTO listing VALUES (?,?,?,?)", list(listing("fr", fr_listing)))):
            _insert(out, sql, rows)
        _insert(work, "INSERT INTO en VALUES (?,?,?,?)", en_rows)
        for rows in (docs, fts, names, fr_listing, en_rows):
            rows.clear()

    reader = work.cursor()
    for iri, _key_fr, key_en, labels_json, descriptions_json, types_json in reader.execute(
            "SELECT iri, key_fr, key_en, labels, descriptions, types FROM staged ORDER BY key_fr, iri"):
        count += 1
        doc_cids = cids(types_json)
        labels = json.loads(labels_json)
        descriptions = json.loads(descriptions_json) if descriptions_json else {}
        docs.append((count, iri, labels_json, descriptions_json, " ".join(map(str, doc_cids))))
        fts.append((count, searchable(" ".join(labels.values())), searchable(" ".join(descriptions.values()))))
        names.extend((name, count) for name in {searchable(text).strip() for text in labels.values()} if name)
        fr_listing.append((count, doc_cids))
        en_rows.append((key_en, iri, count, " ".join(map(str, doc_cids))))
        if len(docs) >= BATCH:
            flush()
    flush()
    _insert(out, "INSERT INTO classes VALUES (?,?)", ((cid, iri) for iri, cid in classes.items()))
    english = ((doc_id, [int(c) for c in doc_cids.split()])
               for doc_id, doc_cids in work.cursor().execute("SELECT id, types FROM en ORDER BY key, iri"))
    _insert(out, "INSERT INTO listing VALUES (?,?,?,?)", listing("en", english))
    return count


# ------------------------------------------------------------------ figures for the browse pages


def browse_counts(source: Source, base_iri: str, work: sqlite3.Connection) -> dict[str, Any]:
    """Numbers of initiatives per région and département (each initiative once per territory, as
    ``COUNT(DISTINCT)`` gave them), per place outside any région, per practice and audience, and
    the instances of the classes the home page names.

    The roll-up along ``igeo:subdivisionDe`` is done here once per index, on the scratch file
    (initiative → place pairs, place → ancestor pairs), instead of a property-path ``GROUP BY``
    over every initiative at each view of /territories, which ran out of time at 10M triples.
    """
    coh = f"{base_iri}ontology#"
    work.executescript("""
        CREATE TABLE spatial(i TEXT, t TEXT);
        CREATE TABLE edges(t TEXT, u TEXT);
        CREATE TABLE kinds(u TEXT, kind TEXT);
    """)
    _insert(work, "INSERT INTO spatial VALUES (?,?)", (
        (r["i"][0], r["t"][0]) for r in source.rows(
            f"SELECT ?i ?t WHERE {{ ?i a <{coh}Initiative> ; <{DCT}spatial> ?t FILTER(isIRI(?t)) }}")))
    # The hierarchy is read whole (one row per territory: ~40,000 at national scale) and walked
    # here: a property path from each place costs about 5 ms a place in pyoxigraph at 10M triples.
    _insert(work, "INSERT INTO edges VALUES (?,?)", (
        (r["t"][0], r["u"][0]) for r in source.rows(
            f"SELECT ?t ?u WHERE {{ ?t <{IGEO}subdivisionDe> ?u FILTER(isIRI(?t) && isIRI(?u)) }}")))
    _insert(work, "INSERT INTO kinds VALUES (?,?)", (
        (r["u"][0], r["k"][0]) for r in source.rows(
            f"SELECT ?u ?k WHERE {{ VALUES ?k {{ <{IGEO}Departement> <{IGEO}Region> }} ?u a ?k }}")))
    work.executescript("""
        CREATE INDEX spatial_t ON spatial(t);
        CREATE INDEX edges_t ON edges(t);
        CREATE TABLE anc AS
          WITH RECURSIVE up(t, u) AS (SELECT DISTINCT t, t FROM spatial
                                      UNION SELECT up.t, e.u FROM up JOIN edges e ON e.t = up.u)
          SELECT DISTINCT up.t AS t, up.u AS u, k.kind AS kind FROM up JOIN kinds k ON k.u = up.u;
        CREATE INDEX anc_t ON anc(t);
    """)
    territories = {u: n for u, n in work.execute(
        "SELECT a.u, COUNT(DISTINCT s.i) FROM anc a JOIN spatial s ON s.t = a.t GROUP BY a.u")}
    other = {t: n for t, n in work.execute(
        f"""SELECT t, COUNT(DISTINCT i) FROM spatial WHERE t NOT IN
            (SELECT t FROM anc WHERE kind = '{IGEO}Region') GROUP BY t""")}

    def grouped(query: str) -> dict[str, int]:
        return {r["x"][0]: int(r["n"][0]) for r in source.rows(query)}

    classes = grouped(f"""SELECT ?x (COUNT(DISTINCT ?s) AS ?n) WHERE {{
        VALUES ?x {{ <{coh}Initiative> <{ORG}Organization> <{SKOS}Concept> }} ?s a ?x }} GROUP BY ?x""")
    practices = grouped(f"""SELECT ?x (COUNT(DISTINCT ?i) AS ?n) WHERE {{
        ?i a <{coh}Initiative> ; <{DCT}type> ?x }} GROUP BY ?x""")
    audiences = grouped(f"SELECT ?x (COUNT(DISTINCT ?i) AS ?n) WHERE {{ ?i <{DCT}audience> ?x }} GROUP BY ?x")
    return {"classes": classes, "territories": territories, "other_places": other,
            "practices": practices, "audiences": audiences}


# ------------------------------------------------------------------ contributions


def changed_iris(changes: Iterable[Any], to_store: Callable[[str], str]) -> set[str]:
    """The IRIs whose index entry a list of accepted changes may have changed: what they created,
    changed or withdrew, the subjects of their statements, and the places of initiatives (a place
    is indexed when an initiative points at it). ``to_store`` maps a canonical IRI (the log's) to
    the store's."""
    import pyoxigraph as ox

    spatial = f"{DCT}spatial"
    found: set[str] = set()
    for change in changes:
        found.update(change.created)
        found.update(change.touched)
        found.update(change.withdrawn)
        for quad in list(change.added) + list(change.removed):
            if isinstance(quad.subject, ox.NamedNode):
                found.add(quad.subject.value)
            if quad.predicate.value == spatial and isinstance(quad.object, ox.NamedNode):
                found.add(quad.object.value)
    return {to_store(iri) for iri in found}


def main(argv: list[str] | None = None) -> int:
    """``python -m cohesio.linked_data.search_build STORE OUT BASE_IRI``: the index of a published
    store, in a process of its own (a server builds a missing index this way, so that the store it
    opens and the memory the build takes are not the worker's)."""
    import sys

    import pyoxigraph as ox

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3:
        print("usage: python -m cohesio.linked_data.search_build STORE OUT BASE_IRI [META_JSON]", file=sys.stderr)
        return 2
    store_path, out, base = args[:3]
    meta = json.loads(args[3]) if len(args) > 3 else {}
    try:
        os.nice(10)
    except OSError:
        pass
    store = ox.Store.read_only(store_path)
    stats = write_index(StoreSource(store), base, Path(out), meta=meta,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps({"entries": stats.entries, "seconds": round(stats.seconds, 1), "bytes": stats.bytes}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
