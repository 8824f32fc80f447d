"""Full-text search over labels and descriptions, French and English, accent-insensitive.

An in-memory index, built once per published version from the backend (SPARQL), kept for the two
most recent versions only. It is bounded on purpose: it holds the resources of the non-geography
graphs (guide, editorial, ontology) and the territories that have initiatives, not the 35,000
communes of the official geography — a few thousand short texts at most.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field

from cohesio.linked_data.describe import DESCRIPTION_PROPERTIES, LABEL_PROPERTIES, pick, select

SPECIAL = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "’": "'"})


def fold(text: str) -> str:
    """Lower case, accents removed (é→e, œ→oe): the same on the indexed texts and on the query."""
    decomposed = unicodedata.normalize("NFKD", text.translate(SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass
class Entry:
    iri: str
    labels: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)
    folded_labels: str = ""
    folded_all: str = ""


@dataclass(frozen=True)
class Hit:
    iri: str
    label: str
    description: str
    types: frozenset[str]
    score: int


class Index:
    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries

    @classmethod
    def build(cls, backend, base_iri: str) -> "Index":
        geography = f"{base_iri}graph/geography"
        history = f"{base_iri}graph/history"  # changes and their authors: listed at /history, not searched
        props = " ".join(f"<{p}>" for p in LABEL_PROPERTIES + DESCRIPTION_PROPERTIES)
        labels = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)
        rows = select(backend, f"""SELECT DISTINCT ?s ?p ?t WHERE {{
            {{ VALUES ?p {{ {props} }} GRAPH ?g {{ ?s ?p ?t }} FILTER(?g != <{geography}> && ?g != <{history}> && isIRI(?s)) }}
            UNION {{ ?i a <{base_iri}ontology#Initiative> ; <http://purl.org/dc/terms/spatial> ?s .
                     VALUES ?p {{ {labels} }} ?s ?p ?t }}
        }}""", max_rows=1_000_000)
        entries: dict[str, Entry] = {}
        for row in rows:
            entry = entries.setdefault(row["s"].value, Entry(row["s"].value))
            text = row["t"]
            target = entry.labels if row["p"].value in LABEL_PROPERTIES else entry.descriptions
            target.setdefault(text.lang, text.value)
        if entries:
            chunk_iris = list(entries)
            for start in range(0, len(chunk_iris), 500):
                values = " ".join(f"<{i}>" for i in chunk_iris[start:start + 500])
                for row in select(backend, f"SELECT ?s ?c WHERE {{ VALUES ?s {{ {values} }} ?s a ?c }}"):
                    entries[row["s"].value].types.add(row["c"].value)
        for entry in entries.values():
            entry.folded_labels = fold(" ".join(entry.labels.values()))
            entry.folded_all = entry.folded_labels + " " + fold(" ".join(entry.descriptions.values()))
        return cls(list(entries.values()))

    def search(self, query: str, lang: str, limit: int = 100) -> list[Hit]:
        words = fold(query).split()
        if not words:
            return []
        hits: list[Hit] = []
        for e in self.entries:
            if all(w in e.folded_all for w in words):
                score = sum(2 if w in e.folded_labels else 1 for w in words)
                hits.append(Hit(e.iri, pick(e.labels, lang, e.iri), pick(e.descriptions, lang),
                                frozenset(e.types), score))
        hits.sort(key=lambda h: (-h.score, fold(h.label)))
        return hits[:limit]


_cache: dict[str, Index] = {}
_lock = threading.Lock()


def index_for(backend, base_iri: str) -> Index:
    """The index of the backend's current version (built on first use, two versions kept)."""
    key = f"{backend.version} {base_iri}"
    with _lock:
        found = _cache.get(key)
    if found is not None:
        return found
    built = Index.build(backend, base_iri)
    with _lock:
        _cache[key] = built
        while len(_cache) > 2:
            _cache.pop(next(iter(_cache)))
    return built
