"""Which source files go into which named graph.

Provenance in cohesio is a property of *where a triple lives*: each source directory is loaded
into its own named graph. This module is the single place that mapping is written down.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyoxigraph as ox

from cohesio.config import CANONICAL_BASE_IRI


@dataclass(frozen=True)
class SourceGroup:
    """A directory of source files and the named graph they are loaded into."""

    name: str
    directory: str
    #: Whether the group is checked triple by triple with the full SHACL shapes at every build.
    #: The official geography is large and generated; see :mod:`cohesio.build` for how it is checked.
    validated_in_full: bool = True

    def graph_iri(self, base_iri: str = CANONICAL_BASE_IRI) -> str:
        return f"{base_iri}graph/{self.name}"


GROUPS: tuple[SourceGroup, ...] = (
    SourceGroup("ontology", "ontology"),
    SourceGroup("guide", "data/guide"),
    SourceGroup("editorial", "data/editorial"),
    SourceGroup("geography", "data/geography", validated_in_full=False),
)

#: Triple syntaxes only: a source file says nothing of graphs, its directory does.
_FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".jsonld": ox.RdfFormat.JSON_LD,
}


@dataclass(frozen=True)
class SourceFile:
    path: Path
    group: SourceGroup

    @property
    def format(self) -> ox.RdfFormat:
        return rdf_format(self.path)


def rdf_format(path: Path) -> ox.RdfFormat:
    """The RDF syntax of a file, from its extension (a trailing ``.gz`` is looked through)."""
    suffixes = path.suffixes
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in _FORMATS:
        raise ValueError(
            f"Format RDF inconnu pour {path} (extensions reconnues : {', '.join(sorted(_FORMATS))}). / "
            f"Unknown RDF format for {path} (known extensions: {', '.join(sorted(_FORMATS))})."
        )
    return _FORMATS[suffixes[-1]]


def is_rdf_file(path: Path) -> bool:
    try:
        rdf_format(path)
    except ValueError:
        return False
    return path.is_file()


def discover(project_dir: Path) -> list[SourceFile]:
    """Every source file of the project, in a stable order (group, then path)."""
    found: list[SourceFile] = []
    for group in GROUPS:
        directory = project_dir / group.directory
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            if is_rdf_file(path):
                found.append(SourceFile(path, group))
    return found


def open_bytes(path: Path) -> io.BufferedIOBase:
    """Open a source file for reading, decompressing ``.gz`` transparently."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def rebase(term: ox.NamedNode | ox.BlankNode | ox.Literal, old: str, new: str):
    """Move an IRI from the canonical base to a deployment's base; other terms unchanged."""
    if isinstance(term, ox.NamedNode) and term.value.startswith(old):
        return ox.NamedNode(new + term.value[len(old):])
    return term


def read_quads(source: SourceFile, base_iri: str = CANONICAL_BASE_IRI) -> Iterator[ox.Quad]:
    """Parse one source file into quads of its group's graph, rebased if the base differs."""
    graph = ox.NamedNode(source.group.graph_iri(base_iri))
    with open_bytes(source.path) as stream:
        for quad in ox.parse(stream, format=source.format, base_iri=source.path.as_uri()):
            s, p, o = quad.subject, quad.predicate, quad.object
            if base_iri != CANONICAL_BASE_IRI:
                s = rebase(s, CANONICAL_BASE_IRI, base_iri)
                p = rebase(p, CANONICAL_BASE_IRI, base_iri)
                o = rebase(o, CANONICAL_BASE_IRI, base_iri)
            yield ox.Quad(s, p, o, graph)
