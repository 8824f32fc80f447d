"""Build: sources → validated, immutable, published version.

``build()`` loads every source file into its named graph in a fresh on-disk store, validates the
data with the SHACL shapes, and only then publishes the version (atomic switch of ``current``).
A refused build deletes its staging directory and leaves the published version untouched.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import pyoxigraph as ox
import rdflib

from cohesio import __version__, versions
from cohesio.config import CANONICAL_BASE_IRI, Settings
from cohesio.contributions import history, log
from cohesio.contributions.writer import replay, write_lock
from cohesio.publishing.dumps import write_artefacts
from cohesio.sources import GROUPS, SourceFile, discover, open_bytes, read_quads, rebase
from cohesio.validation import (Report, UnusableInput, format_of, load_data, load_shapes, union_graph,
                                validate)
from cohesio.validation_chunks import CHUNK_SUBJECTS, StoredGraphs, validate_in_chunks

#: Called with (step name, amount done, total) so the CLI can draw progress bars.
Progress = Callable[[str, int, int], None]


class BuildRefused(Exception):
    """The data did not validate; nothing was published."""

    def __init__(self, report: Report) -> None:
        super().__init__(
            f"Données invalides : {len(report.violations)} violation(s), rien n'a été publié. / "
            f"Invalid data: {len(report.violations)} violation(s), nothing was published."
        )
        self.report = report


@dataclass
class BuildResult:
    version: versions.Version
    report: Report
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return self.version.manifest["counts"]


def _noop(step: str, done: int, total: int) -> None:
    pass


def fingerprint(files: Iterable[Path], base_iri: str, project_dir: Path) -> tuple[str, dict[str, str]]:
    """A hash of every input (paths, bytes, base IRI): equal inputs give an equal version suffix."""
    overall = hashlib.sha256(base_iri.encode())
    per_file: dict[str, str] = {}
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        rel = path.relative_to(project_dir).as_posix()
        per_file[rel] = digest
        overall.update(f"{rel}\0{digest}\n".encode())
    return overall.hexdigest(), per_file


def load_sources(store: ox.Store, sources: list[SourceFile], base_iri: str, progress: Progress = _noop) -> None:
    """Load each file into its group's graph; the unrebased case takes pyoxigraph's bulk path."""
    for index, source in enumerate(sources):
        progress("load", index, len(sources))
        try:
            if base_iri == CANONICAL_BASE_IRI:
                with open_bytes(source.path) as stream:
                    store.bulk_load(
                        stream,
                        format=source.format,
                        base_iri=source.path.as_uri(),
                        to_graph=ox.NamedNode(source.group.graph_iri(base_iri)),
                    )
            else:
                store.bulk_extend(read_quads(source, base_iri))
        except SyntaxError as exc:
            line = getattr(exc, "lineno", None)
            raise UnusableInput(source.path, line, str(exc)) from None
    progress("load", len(sources), len(sources))


#: Links followed from a referenced territory to the parts of the geography it depends on.
_UPWARD = tuple(
    ox.NamedNode(iri)
    for iri in (
        "http://rdf.insee.fr/def/geo#subdivisionDe",
        "https://w3id.org/cohesio/ontology#intercommunality",
        "http://purl.org/dc/terms/type",
        "http://www.w3.org/2004/02/skos/core#inScheme",
    )
)


def geography_nodes(store: ox.Store, base_iri: str, graphs: Iterable[str]) -> set[ox.NamedNode]:
    """The territories of the official geography that ``graphs`` point at, with their parents.

    Validating 35,000 communes with pyshacl at every build would cost minutes for data that is
    generated, not edited; the geography is validated in full when it is generated
    (``cohesio geography``) or first built (:func:`validate_reference`), and at every build only where
    the guide's data touches it, so that dangling links, wrong classes and wrong codes are still
    caught. The walk starts from the geography's own subjects (tens of thousands, whatever the size
    of the edited data) and asks the index whether an edited graph points at each, rather than
    listing every object of the edited graphs; a walk over ``quads_for_pattern`` is used rather than
    one SPARQL property-path query, which pyoxigraph evaluates over the whole geography (minutes
    instead of milliseconds). Nodes are returned as stored (under ``base_iri``).
    """
    geo = ox.NamedNode(GROUPS[3].graph_iri(base_iri))
    pointing = [ox.NamedNode(g) for g in graphs if g != geo.value]
    # The graph IRI is ours, not user input, so it can be written into the query text.
    subjects = {row["s"] for row in store.query(f"SELECT DISTINCT ?s WHERE {{ GRAPH {geo} {{ ?s ?p ?o }} }}")
                if isinstance(row["s"], ox.NamedNode)}
    seeds = [node for node in subjects
             if any(next(iter(store.quads_for_pattern(None, None, node, g)), None) is not None for g in pointing)]
    upward = {rebase(p, CANONICAL_BASE_IRI, base_iri) for p in _UPWARD}
    seen: set[ox.NamedNode] = set()
    todo = seeds
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for quad in store.quads_for_pattern(node, None, None, geo):
            # Under another base, coh:intercommunality is stored rebased, hence ``upward``.
            if quad.predicate in upward and isinstance(quad.object, ox.NamedNode):
                todo.append(quad.object)
    return {node for node in seen if node in subjects}


def edited_graph_iris(base_iri: str) -> list[str]:
    """The graphs SHACL checks in full at every build: the edited sources and the contributions."""
    names = [g.name for g in GROUPS if g.validated_in_full] + [history.CONTRIBUTIONS_GRAPH]
    return [f"{base_iri}graph/{name}" for name in names]


def geography_neighbourhood(store: ox.Store, base_iri: str) -> rdflib.Graph:
    """The triples of :func:`geography_nodes` (pointed at from any other graph), canonical, in rdflib.

    What a build validates of the geography, as one graph: for tools that want it as a file (the scale
    benchmark's raw pyshacl run, the fault tests' small project).
    """
    geo = ox.NamedNode(GROUPS[3].graph_iri(base_iri))
    others = [g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode) and g != geo]
    result = rdflib.Graph()
    for node in geography_nodes(store, base_iri, others):
        for quad in store.quads_for_pattern(node, None, None, geo):
            s, p, o = (rebase(t, base_iri, CANONICAL_BASE_IRI) for t in (quad.subject, quad.predicate, quad.object))
            result.add((_to_rdflib(s), _to_rdflib(p), _to_rdflib(o)))
    return result


def validate_graphs(store: ox.Store, base_iri: str, graphs: list[str], shapes_path: Path, lang: str,
                    with_geography: bool = True, progress: Progress = _noop,
                    chunk_size: int | None = CHUNK_SUBJECTS, processes: int = 1) -> tuple[Report, int]:
    """Validate ``graphs`` of ``store`` (and the part of the geography they point at) in pieces.

    This is what a build and ``cohesio validate`` check: pyshacl sees ``chunk_size`` resources at a
    time with their neighbourhood (:mod:`cohesio.validation_chunks`), never the whole graph, so the
    memory it takes does not grow with the data; ``processes`` run pyshacl side by side. Returns the
    report and the number of triples checked.
    """
    context = geography_nodes(store, base_iri, graphs) if with_geography else set()
    source = StoredGraphs(store, graphs, base_iri, context_graph=GROUPS[3].graph_iri(base_iri),
                          context_nodes=context)
    result = validate_in_chunks(source, load_shapes(shapes_path), lang, chunk_size=chunk_size,
                                progress=lambda done, total: progress("validate", done, total),
                                processes=processes)
    return result.report, result.triples


def check_files(settings: Settings, files: list[Path], with_project: bool = True,
                everything: bool = False) -> tuple[Report, int]:
    """Validate ``files`` (and, ``with_project``, the project's edited sources) as a build would.

    As in a build, the part of the official geography the data points at is added, so links to
    communes and départements are not reported as dangling; ``everything`` validates the whole
    geography instead. The files are loaded into a temporary on-disk store (the build's loader, so the
    same syntax is accepted) and validated in pieces like a build. Returns the report and the number of
    triples checked. Raises :class:`UnusableInput` for a file that does not parse.
    """
    sources = discover(settings.project_dir) if with_project else []
    base = CANONICAL_BASE_IRI
    checked = f"{base}graph/checked"
    graphs = [g.graph_iri(base) for g in GROUPS if g.validated_in_full or everything] + [checked]
    with tempfile.TemporaryDirectory(prefix="cohesio-validate-") as tmp:
        # On disk: a graph's quads then come grouped by subject (see StoredGraphs.subjects).
        store = ox.Store(tmp)
        try:
            load_sources(store, sources, base)
            for path in files:
                _load_checked(store, path, ox.NamedNode(checked))
            report, count = validate_graphs(store, base, graphs, settings.shapes_dir / "cohesio.shapes.ttl",
                                            settings.lang, with_geography=not everything,
                                            chunk_size=settings.validation_chunk,
                                            processes=settings.validation_processes)
        finally:
            del store
            _release()
    return report, count


def _release() -> None:
    """Close a store whose last reference was just dropped, now rather than at some later collection.

    rdflib's SPARQL parser (pyshacl parses the shapes' queries with it) leaves reference cycles that
    hold the frames it was called from, and so the store the validation was reading: until the cycle
    collector runs, the store stays open, and RocksDB may still write into a directory that has been
    published (renamed) or removed. A build does this once.
    """
    gc.collect()


#: pyoxigraph's parser for each of the formats ``cohesio validate`` accepts (validation.format_of).
_OX_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "json-ld": ox.RdfFormat.JSON_LD,
    "xml": ox.RdfFormat.RDF_XML,
}


def _load_checked(store: ox.Store, path: Path, graph: ox.NamedNode) -> None:
    """Load one file given to ``cohesio validate`` into ``graph`` (quad formats: their graphs merged,
    since validation reads the union). Raises :class:`UnusableInput` with the line of a syntax error."""
    fmt, gz = format_of(path)
    try:
        with (gzip.open(path, "rb") if gz else path.open("rb")) as stream:
            quads = ox.parse(stream, format=_OX_FORMATS[fmt], base_iri=path.resolve().as_uri())
            store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads)
    except SyntaxError as exc:
        raise UnusableInput(path, getattr(exc, "lineno", None), str(exc)) from None
    except (OSError, EOFError) as exc:
        raise UnusableInput(path, None, str(exc) or type(exc).__name__) from None


def _to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> rdflib.term.Node:
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def build(settings: Settings, progress: Progress = _noop) -> BuildResult:
    """Build, validate and publish a new version. Raises :class:`BuildRefused` if invalid.

    Also raises :class:`~cohesio.validation.UnusableInput` for a file that does not parse. In both
    cases the previously published version stays current and untouched.
    """
    timings: dict[str, float] = {}
    project = settings.project_dir
    sources = discover(project)
    shapes = sorted(settings.shapes_dir.glob("*.ttl"))
    digest, per_file = fingerprint([s.path for s in sources] + shapes, settings.base_iri, project)

    store_dir = settings.store_path
    # The write lock: a change accepted while this build runs would otherwise be published by the
    # writer, then hidden by this build's version, which read the log before it.
    with write_lock(settings):
        log_dir = settings.contributions_path
        log.clean_temporary(log_dir)
        log_files = [log_dir / f"{seq:06d}.json" for seq in log.sequence_numbers(log_dir)]
        if log_files:
            # The log may live outside the project: it enters the version's digest by name and bytes.
            overall = hashlib.sha256(digest.encode())
            for path in log_files:
                overall.update(f"contributions/{path.name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
            digest = overall.hexdigest()
        staged = versions.staging_dir(store_dir)
        try:
            report, manifest = _stage(settings, sources, per_file, digest, staged, timings, progress)
            version = versions.publish(store_dir, staged, manifest["version"], manifest)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        versions.prune(store_dir, settings.keep_versions)
    return BuildResult(version, report, timings)


#: Digests of reference data (the official geography) already validated in full with given shapes.
REFERENCE_CACHE = "validated-reference.json"


def validate_reference(settings: Settings, sources: list[SourceFile], per_file: dict[str, str],
                       progress: Progress = _noop) -> Report | None:
    """Validate in full, with pyshacl, the groups not checked in full at every build.

    The geography is 250,000 generated triples: about a minute of pyshacl. It is checked in full the
    first time a given content is built with given shapes, and the digests are remembered in the
    cache directory (shared by every store directory of the machine), so a rebuild that changes
    only the guide's data does not pay for it again,
    while any change of the geography file or of the shapes is validated before it is published.
    Returns None when nothing needed checking.
    """
    reference = [s for s in sources if not s.group.validated_in_full]
    if not reference:
        return None
    project = settings.project_dir
    shapes = sorted(settings.shapes_dir.glob("*.ttl"))
    parts = sorted(per_file[p.relative_to(project).as_posix()] for p in [s.path for s in reference] + shapes)
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    cache_path = settings.resolve(settings.cache_dir) / REFERENCE_CACHE
    try:
        known = json.loads(cache_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        known = {}
    if key in known:
        return None
    progress("reference", 0, 1)
    report = validate(union_graph(load_data([s.path for s in reference])),
                      shapes_path=settings.shapes_dir / "cohesio.shapes.ttl", lang=settings.lang)
    progress("reference", 1, 1)
    if report.conforms:
        known[key] = {
            "validated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": sorted(s.path.relative_to(project).as_posix() for s in reference),
        }
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, cache_path)
    return report


def _stage(settings: Settings, sources: list[SourceFile], per_file: dict[str, str], digest: str,
           staged: Path, timings: dict[str, float], progress: Progress) -> tuple[Report, dict]:
    """Load the staged store, validate it, write the artefacts next to it, return the manifest.

    The store is closed on every way out of this function, so a refused build releases its lock
    and files before the staging directory is removed. A file that does not parse stops the load
    with its line (:class:`UnusableInput`); the edited graphs, as the accepted contributions left
    them, are then validated from the store in pieces (:func:`validate_graphs`): no second copy of
    the data is made for SHACL, whatever its size.
    """
    store = ox.Store(str(staged / versions.STORE))
    try:
        started = time.perf_counter()
        load_sources(store, sources, settings.base_iri, progress)
        timings["load"] = time.perf_counter() - started

        started = time.perf_counter()
        last_change, _ = replay(store, settings.contributions_path, settings.base_iri)
        if last_change:
            timings["replay"] = time.perf_counter() - started

        started = time.perf_counter()
        report, _ = validate_graphs(store, settings.base_iri, edited_graph_iris(settings.base_iri),
                                    settings.shapes_dir / "cohesio.shapes.ttl", settings.lang, progress=progress,
                                    chunk_size=settings.validation_chunk,
                                    processes=settings.validation_processes)
        timings["validate"] = time.perf_counter() - started
        if not report.conforms:
            raise BuildRefused(report)
        started = time.perf_counter()
        reference_report = validate_reference(settings, sources, per_file, progress)
        if reference_report is not None:
            timings["validate reference"] = time.perf_counter() - started
            if not reference_report.conforms:
                raise BuildRefused(reference_report)

        now = datetime.now(timezone.utc)
        manifest = {
            "version": f"{now:%Y%m%dT%H%M%SZ}-{digest[:8]}",
            "created": now.isoformat(timespec="seconds"),
            "cohesio": __version__,
            "base_iri": settings.base_iri,
            "inputs_sha256": digest,
            "inputs": per_file,
            "last_change": last_change,
            "counts": count_graphs(store, settings.base_iri),
            "warnings": sum(1 for v in report.violations if v.severity != "Violation"),
        }
        started = time.perf_counter()
        progress("artefacts", 0, 1)
        manifest["artefacts"] = write_artefacts(store, staged, settings, manifest)
        progress("artefacts", 1, 1)
        timings["artefacts"] = time.perf_counter() - started
        store.optimize()
        store.flush()
        return report, manifest
    finally:
        del store
        _release()


def count_graphs(store: ox.Store, base_iri: str) -> dict[str, int]:
    """Triples per named graph, and in all: written into the manifest and printed by the CLI."""
    counts = {group.name: 0 for group in GROUPS}
    for solution in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
        name = solution["g"].value.removeprefix(base_iri + "graph/")
        counts[name] = int(solution["n"].value)
    counts["total"] = sum(counts.values())
    return counts
