"""Counts over a published version: per class, per theme, per département.

Every figure is one SPARQL query over the union of the named graphs, so the same numbers can be
reproduced on the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

PREFIXES = """
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX igeo: <http://rdf.insee.fr/def/geo#>
PREFIX coh: <https://w3id.org/cohesio/ontology#>
"""

CLASS_COUNTS = PREFIXES + """
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s rdf:type ?class }
GROUP BY ?class ORDER BY DESC(?n) ?class
"""

# A theme counts the initiatives filed under it or under one of its narrower sub-topics.
THEME_COUNTS = PREFIXES + """
SELECT ?theme ?code (SAMPLE(?l) AS ?label) (COUNT(DISTINCT ?i) AS ?n) WHERE {
  ?theme skos:topConceptOf ?scheme ; skos:notation ?code ; skos:prefLabel ?l .
  FILTER(STRENDS(STR(?scheme), "/id/scheme/themes") && LANG(?l) = "{lang}")
  OPTIONAL { ?i a coh:Initiative ; dct:subject/skos:broader* ?theme }
} GROUP BY ?theme ?code ORDER BY ?code
"""

# An initiative counts once in each département its territories lie in: communes roll up, places
# count where they are contained, an intercommunality where its member communes are.
DEPARTEMENT_COUNTS = PREFIXES + """
PREFIX schema: <http://schema.org/>
SELECT ?dep ?code (SAMPLE(?l) AS ?label) (COUNT(DISTINCT ?i) AS ?n) WHERE {
  ?i a coh:Initiative ; dct:spatial ?t .
  ?t (igeo:subdivisionDe|schema:containedInPlace|^coh:intercommunality)* ?dep .
  ?dep a igeo:Departement ; igeo:codeINSEE ?code ; rdfs:label ?l .
  FILTER(LANG(?l) = "{lang}")
} GROUP BY ?dep ?code ORDER BY ?code
"""


@dataclass(frozen=True)
class Row:
    iri: str
    label: str
    count: int


@dataclass(frozen=True)
class Stats:
    classes: tuple[Row, ...]
    themes: tuple[Row, ...]
    departements: tuple[Row, ...]

    def to_json(self) -> dict:
        def rows(items: tuple[Row, ...]) -> list[dict]:
            return [{"iri": r.iri, "label": r.label, "count": r.count} for r in items]

        return {"classes": rows(self.classes), "themes": rows(self.themes), "departements": rows(self.departements)}


def _query(store: ox.Store, text: str, lang: str) -> list[ox.QuerySolution]:
    # pyoxigraph only substitutes variables of the projection, so the language (always "fr" or
    # "en", checked by the settings) is written into the text.
    if lang not in ("fr", "en"):
        raise ValueError(lang)
    return list(store.query(text.replace("{lang}", lang), use_default_graph_as_union=True))


def compute(store: ox.Store, lang: str = "en") -> Stats:
    classes = tuple(Row(s["class"].value, s["class"].value, int(s["n"].value)) for s in _query(store, CLASS_COUNTS, lang))
    themes = tuple(
        Row(s["theme"].value, f'{s["code"].value} {s["label"].value}', int(s["n"].value))
        for s in _query(store, THEME_COUNTS, lang)
    )
    departements = tuple(
        Row(s["dep"].value, f'{s["code"].value} {s["label"].value}', int(s["n"].value))
        for s in _query(store, DEPARTEMENT_COUNTS, lang)
    )
    return Stats(classes, themes, departements)
