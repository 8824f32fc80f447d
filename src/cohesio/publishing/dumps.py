"""Build-time artefacts of a version: dumps, CSV, SHA256SUMS, resource list, VoID graph.

:func:`write_artefacts` is called by :func:`cohesio.build.build` once the data is loaded and
validated, while the staged store is still writable. Everything it writes lands inside the staged
version directory, so it is published (or thrown away) atomically with the store.

Dumps are deterministic: the same graph gives the same bytes (store order, gzip without a
timestamp), hence the same content hash and the same long-cache URL across rebuilds.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyoxigraph as ox

from cohesio.config import Settings
from cohesio.namespaces import PREFIXES
from cohesio.publishing import (DUMPS_DIR, PUBLISHING_DIR, RESOURCES_FILE, SHA256SUMS, load_metadata,
                                meta_graph_iri)


@dataclass(frozen=True)
class DumpFormat:
    key: str  # short name, used in distribution IRIs
    filename: str  # name under dumps/ and /dumps/latest/
    media_type: str  # IANA media type of the content (dcat:mediaType)
    file_type: str  # EU file-type authority code (dct:format)
    compress: str | None = None  # IANA media type of the compression (dcat:compressFormat)
    title_fr: str = ""
    title_en: str = ""
    description_fr: str = ""
    description_en: str = ""

    @property
    def content_type(self) -> str:
        """What the bytes are served as: the compression's type for a compressed file."""
        if self.compress:
            return self.compress
        return f"{self.media_type}; charset=utf-8"

    def hashed_name(self, sha256: str) -> str:
        stem, dot, ext = self.filename.partition(".")
        return f"{stem}-{sha256[:8]}.{ext}"


DUMP_FORMATS: tuple[DumpFormat, ...] = (
    DumpFormat("ttl", "cohesio.ttl", "text/turtle", "RDF_TURTLE", None,
               "Graphe complet (Turtle)", "Whole graph (Turtle)",
               "Tous les triplets des graphes de données, en un seul fichier Turtle.",
               "Every triple of the data graphs, in one Turtle file."),
    DumpFormat("nt-gz", "cohesio.nt.gz", "application/n-triples", "RDF_N_TRIPLES", "application/gzip",
               "Graphe complet (N-Triples, gzip)", "Whole graph (N-Triples, gzip)",
               "Tous les triplets, un par ligne (N-Triples), compressés en gzip : le plus simple à traiter en flux.",
               "Every triple, one per line (N-Triples), gzip-compressed: the easiest to stream."),
    DumpFormat("jsonld", "cohesio.jsonld", "application/ld+json", "JSON_LD", None,
               "Graphe complet (JSON-LD)", "Whole graph (JSON-LD)",
               "Tous les triplets des graphes de données en JSON-LD.",
               "Every triple of the data graphs as JSON-LD."),
    DumpFormat("nq-gz", "cohesio.nq.gz", "application/n-quads", "RDF_N_QUADS", "application/gzip",
               "Graphe complet avec ses graphes nommés (N-Quads, gzip)",
               "Whole graph with its named graphs (N-Quads, gzip)",
               "Chaque triplet avec son graphe nommé (guide, éditorial, géographie, ontologie) : la provenance "
               "de chaque affirmation.",
               "Every triple with its named graph (guide, editorial, geography, ontology): where each statement "
               "comes from."),
    DumpFormat("csv", "cohesio-initiatives.csv", "text/csv", "CSV", None,
               "Initiatives, tableau à plat (CSV)", "Initiatives, flat table (CSV)",
               "Une ligne par initiative pour les tableurs (UTF-8 avec BOM, virgule) : libellés, pratique, thèmes, "
               "territoires et codes, acteurs, page web, texte imprimé, signalements de qualité.",
               "One row per initiative for spreadsheets (UTF-8 with BOM, comma): labels, practice, themes, "
               "territories and codes, actors, web page, printed text, quality flags."),
)
BY_FILENAME = {f.filename: f for f in DUMP_FORMATS}

#: Columns of the CSV, in order (documented in docs/publishing.md).
CSV_COLUMNS = ("iri", "label_fr", "label_en", "practice", "themes", "territories", "actors",
               "web_page", "as_printed", "quality_flags")
#: Separator between the values of a multi-valued CSV cell.
CSV_MULTI = " | "


def write_artefacts(store: ox.Store, staged_dir: Path, settings: Settings, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write the publication files of a version and return what the manifest records.

    ``manifest`` is the manifest as far as it is known (at least ``counts``). The VoID
    description is loaded into the store as the named graph ``<base>graph/meta`` so that it is
    queryable; ``manifest["counts"]`` is updated with that graph so the counts stay equal to the
    store's size.
    """
    from cohesio.publishing import void

    base = settings.base_iri
    meta = meta_graph_iri(base)
    data_graphs = sorted(g.value for g in store.named_graphs() if g.value != meta)
    dumps_dir = staged_dir / DUMPS_DIR
    dumps_dir.mkdir(parents=True, exist_ok=True)
    (staged_dir / PUBLISHING_DIR).mkdir(parents=True, exist_ok=True)

    prefixes = dict(PREFIXES)
    prefixes["cid"] = f"{base}id/"
    prefixes["coh"] = f"{base}ontology#"

    write_dumps(store, data_graphs, dumps_dir, prefixes, base)

    dumps: list[dict[str, Any]] = []
    for fmt in DUMP_FORMATS:
        path = dumps_dir / fmt.filename
        digest = _sha256(path)
        dumps.append({
            "key": fmt.key,
            "name": fmt.filename,
            "path": f"{DUMPS_DIR}/{fmt.filename}",
            "hashed_name": fmt.hashed_name(digest),
            "media_type": fmt.media_type,
            "compress": fmt.compress,
            "file_type": fmt.file_type,
            "bytes": path.stat().st_size,
            "sha256": digest,
        })
    sums = "".join(f"{d['sha256']}  {d['name']}\n" for d in dumps)
    (dumps_dir / SHA256SUMS).write_text(sums, encoding="ascii")

    resources = resource_iris(store, data_graphs, base)
    (staged_dir / RESOURCES_FILE).write_text("".join(f"{iri}\n" for iri in resources), encoding="utf-8")

    statistics = void.compute_statistics(store, data_graphs, base)
    artefacts: dict[str, Any] = {
        "dumps": dumps,
        "sha256sums": f"{DUMPS_DIR}/{SHA256SUMS}",
        "resources": {"path": RESOURCES_FILE, "count": len(resources)},
        "data_graphs": data_graphs,
        "meta_graph": meta,
        "void": statistics,
        "summary": summary(store, data_graphs, base),
    }

    # The VoID description, with the base IRI as service root, into the queryable graph.
    metadata = load_metadata(settings)
    description = void.build_void(metadata, artefacts, service_root=base, modified=manifest.get("created"))
    meta_node = ox.NamedNode(meta)
    store.load(description.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES,
               to_graph=meta_node)
    # The named queries of queries/, as SHACL executables, so other tools can discover them.
    from cohesio.queries import load_queries, queries_graph

    queries_dir = settings.project_dir / "queries"
    if queries_dir.is_dir():
        store.extend(ox.Quad(t.subject, t.predicate, t.object, meta_node)
                     for t in queries_graph(load_queries(queries_dir), base))
    meta_triples = sum(1 for _ in store.quads_for_pattern(None, None, None, meta_node))
    artefacts["meta_triples"] = meta_triples
    counts = manifest.get("counts")
    if isinstance(counts, dict):
        counts["meta"] = meta_triples
        counts["total"] = counts.get("total", 0) + meta_triples
    artefacts["search"] = write_search_index(store, staged_dir, base, manifest)
    return artefacts


def write_search_index(store: ox.Store, staged_dir: Path, base: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """The search and listing index of the version (SQLite, read in place by the server workers, see
    :mod:`cohesio.linked_data.search`), last, so that it holds the meta graph as the endpoint does.
    ``last_change`` is the last contribution it contains: the writer re-indexes those after it."""
    from cohesio.linked_data.search import INDEX_PATH, SCHEMA_VERSION
    from cohesio.linked_data.search_build import StoreSource, write_index

    last_change = int(manifest.get("last_change") or 0)
    stats = write_index(StoreSource(store), base, staged_dir / INDEX_PATH,
                        meta={"source": manifest.get("version"), "last_change": last_change})
    return {"path": INDEX_PATH, "schema": SCHEMA_VERSION, "entries": stats.entries, "bytes": stats.bytes,
            "last_change": last_change}


def write_dumps(store: ox.Store, data_graphs: list[str], dumps_dir: Path, prefixes: dict[str, str],
                base: str) -> None:
    """The dump files, from the data graphs only (never the meta graph).

    The triple formats hold the union of the data graphs; Turtle and N-Triples are written graph
    by graph by the store itself (a Turtle file may repeat its prefixes), JSON-LD as one document.
    """
    graphs = [ox.NamedNode(g) for g in data_graphs]
    for fmt in DUMP_FORMATS:
        path = dumps_dir / fmt.filename
        if fmt.key == "ttl":
            with path.open("wb") as out:
                for graph in graphs:
                    store.dump(out, ox.RdfFormat.TURTLE, from_graph=graph, prefixes=prefixes)
        elif fmt.key == "nt-gz":
            with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
                for graph in graphs:
                    store.dump(out, ox.RdfFormat.N_TRIPLES, from_graph=graph)
        elif fmt.key == "jsonld":
            triples = (quad.triple for graph in graphs for quad in store.quads_for_pattern(None, None, None, graph))
            with path.open("wb") as out:
                ox.serialize(triples, out, ox.RdfFormat.JSON_LD)
        elif fmt.key == "nq-gz":
            with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
                quads = (quad for graph in graphs for quad in store.quads_for_pattern(None, None, None, graph))
                ox.serialize(quads, out, ox.RdfFormat.N_QUADS)
        elif fmt.key == "csv":
            path.write_bytes(initiatives_csv(store, data_graphs, base))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _from(data_graphs: Iterable[str]) -> str:
    return "".join(f"FROM <{g}>\n" for g in data_graphs)


def _query(store: ox.Store, data_graphs: list[str], text: str) -> Iterator[ox.QuerySolution]:
    """A SELECT over the union of the data graphs (never the meta graph)."""
    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
    return iter(store.query(prologue + text, default_graph=[ox.NamedNode(g) for g in data_graphs]))


def _value(term: Any) -> str:
    return "" if term is None else term.value


def resource_iris(store: ox.Store, data_graphs: list[str], base: str) -> list[str]:
    """Every subject under ``<base>id/``: the resources that have a page (for the sitemap)."""
    found = _query(store, data_graphs, f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{base}id/")) }}')
    return sorted(s["s"].value for s in found)


def summary(store: ox.Store, data_graphs: list[str], base: str) -> dict[str, Any]:
    """A few numbers from the graph that the catalogue repeats (keywords, counts)."""
    coh = f"{base}ontology#"
    initiatives = next(_query(store, data_graphs,
                              f"SELECT (COUNT(DISTINCT ?i) AS ?n) WHERE {{ ?i a <{coh}Initiative> }}"))["n"]
    themes = [
        {"fr": _value(s["fr"]), "en": _value(s["en"])}
        for s in _query(store, data_graphs, f"""
            SELECT ?t (SAMPLE(?lf) AS ?fr) (SAMPLE(?le) AS ?en) WHERE {{
              ?t skos:inScheme <{base}id/scheme/themes> ; skos:topConceptOf ?scheme .
              OPTIONAL {{ ?t skos:prefLabel ?lf FILTER(LANG(?lf) = "fr") }}
              OPTIONAL {{ ?t skos:prefLabel ?le FILTER(LANG(?le) = "en") }}
            }} GROUP BY ?t ORDER BY ?t""")
    ]
    return {"initiatives": int(initiatives.value), "themes": themes}


def initiatives_csv(store: ox.Store, data_graphs: list[str], base: str) -> bytes:
    """One row per initiative, for spreadsheets: UTF-8 with a byte-order mark, comma, CRLF.

    The BOM is what makes Excel read the file as UTF-8 (without it, accents come out garbled);
    LibreOffice, Python (``utf-8-sig``), R and pandas accept it. Multi-valued cells join their
    values with `` | ``; every IRI is absolute.
    """
    coh = f"{base}ontology#"
    rows: dict[str, dict[str, Any]] = {}
    for s in _query(store, data_graphs, f"""
        SELECT ?i (SAMPLE(?lf) AS ?label_fr) (SAMPLE(?le) AS ?label_en) (SAMPLE(?pl) AS ?practice)
               (SAMPLE(?page) AS ?web_page) (SAMPLE(?printed) AS ?as_printed) WHERE {{
          ?i a <{coh}Initiative> .
          OPTIONAL {{ ?i rdfs:label ?lf FILTER(LANG(?lf) = "fr") }}
          OPTIONAL {{ ?i rdfs:label ?le FILTER(LANG(?le) = "en") }}
          OPTIONAL {{ ?i dct:type ?practice_iri . ?practice_iri skos:prefLabel ?pl FILTER(LANG(?pl) = "fr") }}
          OPTIONAL {{ ?i foaf:page ?page }}
          OPTIONAL {{ ?i <{coh}asPrinted> ?printed }}
        }} GROUP BY ?i ORDER BY ?i"""):
        iri = s["i"].value
        rows[iri] = {
            "iri": iri, "label_fr": _value(s["label_fr"]), "label_en": _value(s["label_en"]),
            "practice": _value(s["practice"]), "web_page": _value(s["web_page"]),
            "as_printed": _value(s["as_printed"]),
            "themes": [], "territories": [], "actors": [], "quality_flags": [],
        }

    def collect(column: str, text: str) -> None:
        for s in _query(store, data_graphs, text):
            row = rows.get(s["i"].value)
            if row is not None and s["v"] is not None and s["v"].value not in row[column]:
                row[column].append(s["v"].value)

    collect("themes", f"""
        SELECT ?i ?v WHERE {{ ?i a <{coh}Initiative> ; dct:subject ?t .
          OPTIONAL {{ ?t skos:prefLabel ?l FILTER(LANG(?l) = "fr") }}
          BIND(COALESCE(?l, STR(?t)) AS ?v) }} ORDER BY ?i ?v""")
    collect("territories", f"""
        SELECT ?i ?v WHERE {{ ?i a <{coh}Initiative> ; dct:spatial ?t .
          OPTIONAL {{ ?t rdfs:label ?l FILTER(LANG(?l) = "fr") }}
          OPTIONAL {{ ?t igeo:codeINSEE ?code }}
          BIND(COALESCE(?l, STR(?t)) AS ?name)
          BIND(IF(BOUND(?code), CONCAT(?name, " (", STR(?code), ")"), ?name) AS ?v) }} ORDER BY ?i ?v""")
    collect("actors", f"""
        SELECT ?i ?v WHERE {{ ?i a <{coh}Initiative> .
          VALUES (?role ?name) {{ (<{coh}lead> "lead") (<{coh}partner> "partner")
                                  (<{coh}operator> "operator") (<{coh}beneficiary> "beneficiary") }}
          ?i ?role ?a .
          OPTIONAL {{ ?a rdfs:label ?l FILTER(LANG(?l) = "fr") }}
          BIND(CONCAT(COALESCE(?l, STR(?a)), " (", ?name, ")") AS ?v) }} ORDER BY ?i ?name ?v""")
    collect("quality_flags", f"""
        SELECT ?i ?v WHERE {{
          ?q a dqv:QualityAnnotation ; dqv:inCategory ?c .
          # The note is about the initiative, or about something it links to. A join, not a
          # FILTER EXISTS over every (initiative, note) pair: linear in the initiatives.
          {{ ?q oa:hasTarget ?i }} UNION {{ ?q oa:hasTarget ?t . ?i ?p ?t }}
          ?i a <{coh}Initiative> .
          OPTIONAL {{ ?c skos:prefLabel ?cl FILTER(LANG(?cl) = "fr") }}
          OPTIONAL {{ ?q <{coh}likelyReading> ?r FILTER(LANG(?r) = "fr") }}
          BIND(COALESCE(?cl, STR(?c)) AS ?category)
          BIND(IF(BOUND(?r), CONCAT(?category, " : ", ?r), ?category) AS ?v) }} ORDER BY ?i ?v""")

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows.values():
        writer.writerow([CSV_MULTI.join(row[c]) if isinstance(row[c], list) else row[c] for c in CSV_COLUMNS])
    return "\ufeff".encode("utf-8") + out.getvalue().encode("utf-8")
