"""A synthetic cohesio graph of any size, shaped like the real one, for benchmarks.

The data is built around the project's real vocabularies and the real official geography:

* the **static part** is the project's own source files, each in its named graph as
  ``cohesio build`` loads them (``ontology/``, ``data/guide/``, ``data/editorial/`` and, in the
  full mode, ``data/geography/cog.nt.gz``: 35,000 communes, 101 départements, 18 régions, 1,255 EPCI);
* the **synthetic part** is N initiatives spread over real communes (weighted by population^0.6, so
  cities have more than villages, as in the guide), each following docs/model.md, "Initiative":
  ``rdfs:label`` @fr/@en, ``dct:type`` → one of the 18 practices, ``dct:spatial`` → a commune,
  ``coh:lead`` → the commune's municipality (``org:Organization`` with ``coh:jurisdiction`` → the
  commune, shared by every initiative of that commune), half of them a ``coh:partner`` association,
  ``coh:asPrinted`` @fr, ``prov:wasDerivedFrom`` → the guide, sometimes ``dct:description`` and
  ``foaf:page``; in the editorial graph ``dct:subject`` (the practice's themes, sometimes one more,
  sub-topics included) and sometimes ``dct:audience``.
* with ``territories=True`` (``--territories``; what ``benchmarks/scale.py`` uses) the initiatives
  are spread over every level of the official geography, not only communes: 84 % on a commune, 8 % on
  the commune's intercommunality (EPCI), 5 % on its département, 3 % on its région, the place drawn
  the same way (so a populous area has more of each). The lead is then the territory's council
  (``Conseil départemental d'…``, ``Conseil régional de …``, the EPCI itself as a body), with
  ``coh:jurisdiction`` → the territory, shared by every initiative of that territory. The default
  (communes only) is kept so that ``benchmarks/endpoint.py`` gives the data of its published results.

Everything is deterministic for a given seed. By default initiatives are added until the whole
graph (static part included) reaches ``--size`` triples; ``--initiatives N`` asks for exactly N.

Outputs:

* :func:`generate`: one N-Quads file (graph = provenance, as in a build), and optionally a published
  cohesio version (``versions.staging_dir`` → ``bulk_load`` → ``versions.publish``) that the real
  ``cohesio serve`` serves. **No SHACL validation is run on that path**: validating a million triples
  with pyshacl takes far longer than the benchmark and is measured elsewhere; the shape-validity of the
  generator's output is checked at a small size by ``tests/test_benchmarks_smoke.py``.
* :func:`write_sources`: the synthetic part only, as project source files
  (``data/guide/synthetic-initiatives.nt``, ``data/editorial/synthetic-initiatives.nt``) that the real
  ``cohesio build`` loads and validates with the project's own files (``benchmarks/scale.py``).

Command line::

    .venv/bin/python benchmarks/synthetic.py --size 1000000 --out /tmp/cohesio-bench/data.nq \\
        --store-dir /tmp/cohesio-bench/store
    .venv/bin/python benchmarks/synthetic.py --initiatives 100000 --territories --project-dir /tmp/p
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import gzip
import itertools
import json
import random
import re
import sys
import time
import unicodedata
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # run from a checkout without installing

B = "https://w3id.org/cohesio/"
ID = B + "id/"
COH = B + "ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
ORG = "http://www.w3.org/ns/org#"
PROV = "http://www.w3.org/ns/prov#"
IGEO = "http://rdf.insee.fr/def/geo#"
FOAF = "http://xmlns.com/foaf/0.1/"
SCHEMA = "http://schema.org/"

GRAPH = {name: f"{B}graph/{name}" for name in ("ontology", "guide", "editorial", "geography")}
GEOGRAPHY_FILE = REPO / "data" / "geography" / "cog.nt.gz"

#: The project's files that carry the vocabularies (themes, practices, audiences, organisation
#: types, the guide as a source). Loaded in every mode.
VOCABULARY_FILES: tuple[tuple[str, str], ...] = (
    ("ontology", "ontology/cohesio.ttl"),
    ("guide", "data/guide/source.ttl"),
    ("guide", "data/guide/themes.ttl"),
    ("guide", "data/guide/practices.ttl"),
    ("editorial", "data/editorial/themes.ttl"),
    ("editorial", "data/editorial/audiences.ttl"),
)


# --------------------------------------------------------------------------- helpers


def slugify(text: str) -> str:
    """docs/model.md slugs: lower-case ASCII, accents folded, other runs → one hyphen."""
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _lit(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


@dataclasses.dataclass(frozen=True)
class Commune:
    code: str
    name: str
    departement: str
    population: int = 1000
    #: SIREN of its intercommunality (``coh:intercommunality``), if it has one.
    epci: str | None = None

    @property
    def iri(self) -> str:
        return f"{ID}commune/{self.code}"


@dataclasses.dataclass(frozen=True)
class Territories:
    """What the generator needs of the levels above the communes: French names of the EPCIs,
    départements and régions (by IRI), and the région of each département (by code)."""

    names: dict[str, str]
    region_of: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Practice:
    iri: str
    slug: str
    label_fr: str
    label_en: str
    themes: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    practices: tuple[Practice, ...]
    themes: tuple[str, ...]  # top themes and sub-topics, all in the themes scheme
    audiences: tuple[str, ...]


@dataclasses.dataclass
class Dataset:
    """What :func:`generate` (or :func:`write_sources`) wrote."""

    path: Path
    triples: int
    static_triples: int
    initiatives: int
    organizations: int
    communes_used: int
    seconds: float
    seed: int
    #: IRIs the benchmark's queries are about (chosen deterministically from the data).
    probes: dict[str, str]
    #: Initiatives per level of the geography (commune, epci, departement, region).
    levels: dict[str, int] = dataclasses.field(default_factory=dict)
    #: The files written (write_sources: one per named graph).
    files: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path)
        d["files"] = list(self.files)
        return d


# --------------------------------------------------------------------------- inputs


def read_vocabulary_store(repo: Path = REPO) -> ox.Store:
    store = ox.Store()
    for graph, rel in VOCABULARY_FILES:
        path = repo / rel
        store.load(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.as_uri(),
                   to_graph=ox.NamedNode(GRAPH[graph]))
    return store


def read_vocabulary(repo: Path = REPO) -> Vocabulary:
    store = read_vocabulary_store(repo)
    q = f"""PREFIX skos: <{SKOS}> PREFIX dct: <{DCT}>
    SELECT ?p ?fr ?en (GROUP_CONCAT(STR(?t); separator=" ") AS ?themes) WHERE {{
      ?p skos:inScheme <{ID}scheme/practices> ; skos:prefLabel ?fr, ?en .
      FILTER(lang(?fr) = "fr" && lang(?en) = "en")
      OPTIONAL {{ ?p dct:subject ?t }}
    }} GROUP BY ?p ?fr ?en ORDER BY ?p"""
    practices = tuple(
        Practice(s["p"].value, s["p"].value.rsplit("/", 1)[1], s["fr"].value, s["en"].value,
                 tuple(sorted(s["themes"].value.split())))
        for s in store.query(q, use_default_graph_as_union=True)
    )

    def members(scheme: str) -> tuple[str, ...]:
        return tuple(sorted(s["c"].value for s in store.query(
            f"SELECT DISTINCT ?c WHERE {{ ?c <{SKOS}inScheme> <{ID}scheme/{scheme}> }}",
            use_default_graph_as_union=True)))

    return Vocabulary(practices, members("themes"), members("audiences"))


_GEO_LINE = re.compile(r'^<' + re.escape(ID) + r'(commune|epci|departement|region)/([^>]+)> <([^>]+)> (.*) \.$')


def read_geography(path: Path = GEOGRAPHY_FILE) -> tuple[list[Commune], Territories]:
    """The communes of the official geography (code, French name, département, population,
    intercommunality) and the names of its EPCIs, départements and régions."""
    name: dict[str, str] = {}
    dep: dict[str, str] = {}
    pop: dict[str, int] = {}
    epci: dict[str, str] = {}
    names: dict[str, str] = {}
    region_of: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = _GEO_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            kind, code, pred, obj = m.groups()
            if kind != "commune":
                if pred == RDFS_LABEL and obj.endswith("@fr"):
                    names[f"{ID}{kind}/{code}"] = json.loads(obj[: -len("@fr")])
                elif kind == "departement" and pred == IGEO + "subdivisionDe":
                    region_of[code] = obj[1:-1].rsplit("/", 1)[1]
                continue
            if pred == RDFS_LABEL and obj.endswith("@fr"):
                name[code] = json.loads(obj[: -len("@fr")])  # N-Triples string escapes ⊂ JSON's
            elif pred == IGEO + "subdivisionDe":
                dep[code] = obj[1:-1].rsplit("/", 1)[1]
            elif pred == SCHEMA + "population":
                pop[code] = int(obj.split('"')[1])
            elif pred == COH + "intercommunality":
                epci[code] = obj[1:-1].rsplit("/", 1)[1]
    communes = [Commune(c, name[c], dep[c], pop.get(c, 0), epci.get(c)) for c in sorted(name)]
    return communes, Territories(names, region_of)


def read_communes(path: Path = GEOGRAPHY_FILE) -> list[Commune]:
    """The communes of the official geography: code, French name, département, population, EPCI."""
    return read_geography(path)[0]


MINI_REGION = "99"


def mini_territories(communes: Iterable[Commune]) -> Territories:
    """The territories of :func:`mini_geography`, for tiny runs."""
    names = {f"{ID}region/{MINI_REGION}": "Région d'essai"}
    region_of: dict[str, str] = {}
    for c in communes:
        names[f"{ID}departement/{c.departement}"] = f"Département {c.departement}"
        region_of[c.departement] = MINI_REGION
        if c.epci:
            names[f"{ID}epci/{c.epci}"] = f"Intercommunalité {c.epci}"
    return Territories(names, region_of)


def mini_geography(communes: Iterable[Commune], graph: bool = True) -> list[str]:
    """N-Quads (``graph`` False: N-Triples) of a small geography (the communes, their
    intercommunalities and départements, one région) for tiny runs."""
    g = f" <{GRAPH['geography']}>" if graph else ""
    lines: list[str] = []
    deps = set()
    epcis = set()
    for c in communes:
        s = c.iri
        lines += [
            f"<{s}> <{RDF_TYPE}> <{IGEO}Commune>{g} .",
            f'<{s}> <{RDFS_LABEL}> "{_lit(c.name)}"@fr{g} .',
            f'<{s}> <{RDFS_LABEL}> "{_lit(c.name)}"@en{g} .',
            f'<{s}> <{IGEO}codeINSEE> "{c.code}"{g} .',
            f"<{s}> <{IGEO}subdivisionDe> <{ID}departement/{c.departement}>{g} .",
        ]
        if c.epci:
            lines.append(f"<{s}> <{COH}intercommunality> <{ID}epci/{c.epci}>{g} .")
            epcis.add(c.epci)
        deps.add(c.departement)
    region = f"{ID}region/{MINI_REGION}"
    lines += [
        f"<{region}> <{RDF_TYPE}> <{IGEO}Region>{g} .",
        f'<{region}> <{RDFS_LABEL}> "Région d\'essai"@fr{g} .',
        f'<{region}> <{RDFS_LABEL}> "Test region"@en{g} .',
        f'<{region}> <{IGEO}codeINSEE> "{MINI_REGION}"{g} .',
    ]
    for d in sorted(deps):
        s = f"{ID}departement/{d}"
        lines += [
            f"<{s}> <{RDF_TYPE}> <{IGEO}Departement>{g} .",
            f'<{s}> <{RDFS_LABEL}> "Département {d}"@fr{g} .',
            f'<{s}> <{RDFS_LABEL}> "Département {d}"@en{g} .',
            f'<{s}> <{IGEO}codeINSEE> "{d}"{g} .',
            f"<{s}> <{IGEO}subdivisionDe> <{region}>{g} .",
        ]
    for e in sorted(epcis):
        s = f"{ID}epci/{e}"
        lines += [
            f"<{s}> <{RDF_TYPE}> <{IGEO}Intercommunalite>{g} .",
            f'<{s}> <{RDFS_LABEL}> "Intercommunalité {e}"@fr{g} .',
            f'<{s}> <{RDFS_LABEL}> "Intercommunality {e}"@en{g} .',
            f'<{s}> <{IGEO}codeINSEE> "{e}"{g} .',
        ]
    return lines


def _static_quads(repo: Path, full: bool) -> Iterator[ox.Quad]:
    """The project's own sources, each in its named graph (as ``cohesio build`` loads them)."""
    if full:
        from cohesio.sources import discover, read_quads

        for source in discover(repo):
            yield from read_quads(source)
    else:
        store = read_vocabulary_store(repo)
        yield from store.quads_for_pattern(None, None, None)


# --------------------------------------------------------------------------- generation

_AUDIENCE_PHRASES = ("des habitants", "des familles", "des jeunes", "des aînés", "des demandeurs d'emploi")
_ASSOCIATION_KINDS = (("Association", "Association"), ("Collectif", "Collective"),
                      ("Comité de quartier", "Neighbourhood committee"), ("Maison des associations", "Associations house"))
#: With ``territories=True``: the share of initiatives placed on each level (cumulative draw).
TERRITORY_SHARES: tuple[tuple[str, float], ...] = (("commune", 0.84), ("epci", 0.08), ("departement", 0.05),
                                                   ("region", 0.03))
_OTYPE = f"{ID}organization-type/"


def _de(name: str) -> str:
    """French "de" with elision: "de Rennes", "d'Échirolles"."""
    return f"d'{name}" if unicodedata.normalize("NFKD", name[:1]).lower()[:1] in "aeiouyh" else f"de {name}"


@dataclasses.dataclass(frozen=True)
class _Place:
    """Where an initiative takes place, and who leads it there."""

    level: str  # commune, epci, departement, region
    iri: str
    code: str
    name: str
    key: str  # the place part of the initiative's IRI (unique per place)
    printed: str  # what the guide would print after "Exemple :"


class _Generator:
    """Draws initiatives one by one (statements as ``(graph, "<s> <p> o")`` pairs); keeps what the
    probes and the summary need. The draws of the communes-only mode are those of the first version
    of this module, so that its output is unchanged."""

    def __init__(self, vocab: Vocabulary, communes: list[Commune], rng: random.Random,
                 territories: Territories | None) -> None:
        self.vocab, self.communes, self.rng, self.territories = vocab, communes, rng, territories
        self.cum = list(itertools.accumulate(max(c.population, 1) ** 0.6 for c in communes))
        self.total_w = self.cum[-1]
        self.source = f"{ID}source/guide"
        self.n_ini = self.n_org = 0
        self.municipality: dict[str, str] = {}  # commune code → its council
        self.councils: dict[str, str] = {}  # territory IRI (other levels) → its council
        self.taken: dict[str, int] = {}
        self.per_commune: dict[str, list[str]] = {}
        self.levels: dict[str, int] = {}

    def _place(self, c: Commune) -> _Place:
        c_slug = slugify(c.name)
        commune = _Place("commune", c.iri, c.code, c.name, f"{c_slug}-{c.code}", f"{c.name} ({c.departement})")
        if self.territories is None:
            return commune
        draw = self.rng.random()
        level = "commune"
        for name, share in TERRITORY_SHARES:
            if draw < share:
                level = name
                break
            draw -= share
        if level == "epci" and c.epci:
            code = c.epci
        elif level == "departement":
            code = c.departement
        elif level == "region" and c.departement in self.territories.region_of:
            code = self.territories.region_of[c.departement]
        else:
            return commune
        iri = f"{ID}{level}/{code}"
        name = self.territories.names.get(iri, code)
        short = {"epci": "epci", "departement": "dep", "region": "reg"}[level]
        return _Place(level, iri, code, name, f"{slugify(name)}-{short}-{code}", name)

    def _council(self, place: _Place, c: Commune, out: list[tuple[str, str]]) -> str:
        if place.level == "commune":
            org = self.municipality.get(c.code)
            if org is not None:
                return org
            org = f"{ID}organization/ville-{slugify(_de(c.name))}-{c.code}"
            self.municipality[c.code] = org
            labels = (f"Ville {_de(c.name)}", f"City of {c.name}")
            otype: str | None = "municipality"
        else:
            org = self.councils.get(place.iri)
            if org is not None:
                return org
            if place.level == "epci":
                org = f"{ID}organization/epci-{place.code}"
                labels, otype = (place.name, f"{place.name} (intercommunality)"), "intercommunal-body"
            elif place.level == "departement":
                org = f"{ID}organization/conseil-departemental-{place.key}"
                labels = (f"Conseil départemental {_de(place.name)}", f"{place.name} departmental council")
                otype = "departmental-council"
            else:  # the vocabulary has no type for regional councils: none is stated
                org = f"{ID}organization/conseil-regional-{place.key}"
                labels, otype = (f"Conseil régional {_de(place.name)}", f"{place.name} regional council"), None
            self.councils[place.iri] = org
        self.n_org += 1
        guide = "guide"
        out.append((guide, f"<{org}> <{RDF_TYPE}> <{ORG}Organization>"))
        out.append((guide, f"<{org}> <{RDF_TYPE}> <{ORG}FormalOrganization>"))
        out.append((guide, f'<{org}> <{RDFS_LABEL}> "{_lit(labels[0])}"@fr'))
        out.append((guide, f'<{org}> <{RDFS_LABEL}> "{_lit(labels[1])}"@en'))
        if otype:
            out.append((guide, f"<{org}> <{ORG}classification> <{_OTYPE}{otype}>"))
        out.append((guide, f"<{org}> <{COH}jurisdiction> <{place.iri}>"))
        out.append((guide, f"<{org}> <{PROV}wasDerivedFrom> <{self.source}>"))
        return org

    def next(self) -> list[tuple[str, str]]:
        """The statements of one more initiative (and of the organisations it brings)."""
        rng, vocab = self.rng, self.vocab
        out: list[tuple[str, str]] = []
        c = self.communes[bisect.bisect_left(self.cum, rng.random() * self.total_w)]
        p = vocab.practices[rng.randrange(len(vocab.practices))]
        place = self._place(c)
        self.levels[place.level] = self.levels.get(place.level, 0) + 1
        # the model's "{practice-slug}--{place-slug}", the code making the place slug unique
        base = f"{p.slug}--{place.key}"
        k = self.taken.get(base, 0) + 1
        self.taken[base] = k
        ini = f"{ID}initiative/{base}" + (f"-{k}" if k > 1 else "")
        self.n_ini += 1
        if place.level == "commune":
            self.per_commune.setdefault(c.code, []).append(ini)
        org = self._council(place, c, out)

        guide, editorial = "guide", "editorial"
        name = place.name
        out.append((guide, f"<{ini}> <{RDF_TYPE}> <{COH}Initiative>"))
        out.append((guide, f'<{ini}> <{RDFS_LABEL}> "{_lit(p.label_fr)} — {_lit(name)}"@fr'))
        out.append((guide, f'<{ini}> <{RDFS_LABEL}> "{_lit(p.label_en)} — {_lit(name)}"@en'))
        out.append((guide, f"<{ini}> <{DCT}type> <{p.iri}>"))
        out.append((guide, f"<{ini}> <{DCT}spatial> <{place.iri}>"))
        out.append((guide, f"<{ini}> <{COH}lead> <{org}>"))
        out.append((guide, f'<{ini}> <{COH}asPrinted> "→ Exemple : {_lit(place.printed)}"@fr'))
        out.append((guide, f"<{ini}> <{PROV}wasDerivedFrom> <{self.source}>"))
        if rng.random() < 0.3:
            who = _AUDIENCE_PHRASES[rng.randrange(len(_AUDIENCE_PHRASES))]
            council = "de la ville" if place.level == "commune" else "de la collectivité"
            out.append((guide, f'<{ini}> <{DCT}description> "{_lit(p.label_fr)} à {_lit(name)}, à l\'initiative '
                               f'{council}, au service {who}."@fr'))
            by = "the city" if place.level == "commune" else "the council"
            out.append((guide, f'<{ini}> <{DCT}description> "{_lit(p.label_en)} in {_lit(name)}, started by {by}."@en'))
        if rng.random() < 0.25:
            host = slugify(name) or ("commune" if place.level == "commune" else place.level)
            out.append((guide, f"<{ini}> <{FOAF}page> <https://www.{host}.fr/{p.slug}>"))
        if rng.random() < 0.5:
            kind_fr, kind_en = _ASSOCIATION_KINDS[rng.randrange(len(_ASSOCIATION_KINDS))]
            assoc = f"{ID}organization/{slugify(kind_fr)}-{p.slug}-{place.key}" + (f"-{k}" if k > 1 else "")
            self.n_org += 1
            out.append((guide, f"<{assoc}> <{RDF_TYPE}> <{ORG}Organization>"))
            out.append((guide, f'<{assoc}> <{RDFS_LABEL}> "{kind_fr} « {_lit(p.label_fr)} » {_lit(_de(name))}"@fr'))
            out.append((guide, f'<{assoc}> <{RDFS_LABEL}> "{kind_en} “{_lit(p.label_en)}” of {_lit(name)}"@en'))
            out.append((guide, f"<{assoc}> <{ORG}classification> <{_OTYPE}association>"))
            out.append((guide, f"<{assoc}> <{PROV}wasDerivedFrom> <{self.source}>"))
            out.append((guide, f"<{ini}> <{COH}partner> <{assoc}>"))
        # editorial graph: the practice's themes (sometimes one more) and sometimes an audience
        subjects = set(p.themes) or {vocab.themes[0]}
        if rng.random() < 0.2:
            subjects.add(vocab.themes[rng.randrange(len(vocab.themes))])
        for t in sorted(subjects):
            out.append((editorial, f"<{ini}> <{DCT}subject> <{t}>"))
        if vocab.audiences and rng.random() < 0.5:
            out.append((editorial, f"<{ini}> <{DCT}audience> <{vocab.audiences[rng.randrange(len(vocab.audiences))]}>"))
        return out


def _inputs(repo: Path, communes: list[Commune] | None, territories: bool
            ) -> tuple[Vocabulary, list[Commune], Territories | None, bool]:
    full = communes is None
    vocab = read_vocabulary(repo)
    if full:
        communes, terr = read_geography(repo / "data" / "geography" / "cog.nt.gz")
    else:
        terr = mini_territories(communes)
    assert communes
    return vocab, communes, (terr if territories else None), full


def generate(
    out: Path,
    size: int | None = 1_000_000,
    initiatives: int | None = None,
    seed: int = 20240601,
    communes: list[Commune] | None = None,
    repo: Path = REPO,
    territories: bool = False,
) -> Dataset:
    """Write the N-Quads file ``out``; stop at ``initiatives`` initiatives, or when the whole graph
    reaches ``size`` triples. ``communes`` given: a tiny run with a mini geography of those communes
    instead of the official one (and only the vocabulary files as static part). ``territories``:
    spread the initiatives over every level of the geography (see the module docstring)."""
    started = time.perf_counter()
    vocab, communes, terr, full = _inputs(repo, communes, territories)
    gen = _Generator(vocab, communes, random.Random(seed), terr)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    n_static = 0
    with open(tmp, "w", encoding="utf-8") as f:
        # static part, through pyoxigraph's N-Quads writer
        buf: list[ox.Quad] = []
        for quad in _static_quads(repo, full):
            buf.append(quad)
            if len(buf) >= 50_000:
                f.write(ox.serialize(buf, format=ox.RdfFormat.N_QUADS).decode("utf-8"))
                n_static += len(buf)
                buf = []
        if buf:
            f.write(ox.serialize(buf, format=ox.RdfFormat.N_QUADS).decode("utf-8"))
            n_static += len(buf)
        if not full:
            lines = mini_geography(communes)
            f.write("\n".join(lines) + "\n")
            n_static += len(lines)

        graph_of = {name: f" <{iri}> .\n" for name, iri in GRAPH.items()}
        total = n_static
        lines: list[str] = []
        while True:
            if initiatives is not None and gen.n_ini >= initiatives:
                break
            if initiatives is None and size is not None and total + len(lines) >= size:
                break
            lines.extend(t + graph_of[g] for g, t in gen.next())
            if len(lines) >= 100_000:
                f.writelines(lines)
                total += len(lines)
                lines = []
        f.writelines(lines)
        total += len(lines)
    tmp.replace(out)
    if not gen.n_ini:
        raise ValueError(f"--size {size} is not above the static part ({n_static} triples): no initiative generated")

    probes = choose_probes(communes, gen.per_commune, vocab, gen.municipality, terr)
    return Dataset(out, total, n_static, gen.n_ini, gen.n_org, len(gen.municipality), time.perf_counter() - started,
                   seed, probes, dict(gen.levels))


#: Where :func:`write_sources` puts the synthetic part, per named graph (relative to the project).
SOURCE_FILES = {"guide": "data/guide/synthetic-initiatives.nt", "editorial": "data/editorial/synthetic-initiatives.nt"}


def write_sources(
    project_dir: Path,
    initiatives: int,
    seed: int = 20240601,
    communes: list[Commune] | None = None,
    repo: Path = REPO,
    territories: bool = True,
) -> Dataset:
    """Write ``initiatives`` synthetic initiatives as project source files under ``project_dir``
    (:data:`SOURCE_FILES`: N-Triples, one file per named graph), for the real ``cohesio build``.

    Only the synthetic part is written: the project's own files (ontology, guide, editorial,
    geography) are the static part, put next to them by the caller. ``communes`` given: the
    initiatives are spread over those communes (and their mini geography, which the caller
    writes with :func:`mini_geography`). ``triples`` and ``static_triples`` of the result count
    the synthetic part only (``static_triples`` = 0)."""
    started = time.perf_counter()
    vocab, communes, terr, _full = _inputs(repo, communes, territories)
    gen = _Generator(vocab, communes, random.Random(seed), terr)
    project_dir = Path(project_dir)
    paths = {g: project_dir / rel for g, rel in SOURCE_FILES.items()}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files = {g: open(path.with_name(path.name + ".tmp"), "w", encoding="utf-8") for g, path in paths.items()}
    buffers: dict[str, list[str]] = {g: [] for g in paths}
    total = 0
    try:
        while gen.n_ini < initiatives:
            for g, t in gen.next():
                buffers[g].append(t + " .\n")
            if len(buffers["guide"]) >= 100_000:
                for g, lines in buffers.items():
                    files[g].writelines(lines)
                    total += len(lines)
                    lines.clear()
        for g, lines in buffers.items():
            files[g].writelines(lines)
            total += len(lines)
    finally:
        for f in files.values():
            f.close()
    for path in paths.values():
        path.with_name(path.name + ".tmp").replace(path)
    if not gen.n_ini:
        raise ValueError("no initiative asked for")
    probes = choose_probes(communes, gen.per_commune, vocab, gen.municipality, terr)
    return Dataset(paths["guide"], total, 0, gen.n_ini, gen.n_org, len(gen.municipality),
                   time.perf_counter() - started, seed, probes, dict(gen.levels),
                   tuple(str(p) for p in paths.values()))


def choose_probes(communes: list[Commune], per_commune: dict[str, list[str]], vocab: Vocabulary,
                  municipality: dict[str, str] | None = None, territories: Territories | None = None
                  ) -> dict[str, str]:
    """The resources the benchmark asks about: a typical city, its département, one initiative of
    it, and a theme. Rennes / Ille-et-Vilaine (the guide's first example) when present; otherwise
    the commune with the median number of initiatives among those that have some. Also (for
    benchmarks/scale.py): the city's council (``actor``), région, intercommunality, a practice and
    an audience."""
    by_code = {c.code: c for c in communes}
    code = "35238" if "35238" in per_commune else None
    if code is None:
        used = sorted(per_commune, key=lambda k: (len(per_commune[k]), k))
        code = used[len(used) // 2]
    commune = by_code[code]
    ini = per_commune[code][len(per_commune[code]) // 2]
    theme = f"{ID}theme/famille" if f"{ID}theme/famille" in vocab.themes else vocab.themes[0]
    probes = {
        "initiative": ini,
        "commune": commune.iri,
        "departement": f"{ID}departement/{commune.departement}",
        "theme": theme,
    }
    if municipality is not None or territories is not None:
        probes["commune_name"] = commune.name
    if municipality is not None and code in municipality:
        probes["actor"] = municipality[code]
    if territories is not None and commune.departement in territories.region_of:
        probes["region"] = f"{ID}region/{territories.region_of[commune.departement]}"
    if commune.epci:
        probes["epci"] = f"{ID}epci/{commune.epci}"
    practice = ini.rsplit("/", 1)[1].split("--", 1)[0]
    probes["practice"] = next((p.iri for p in vocab.practices if p.slug == practice), vocab.practices[0].iri)
    if vocab.audiences:
        probes["audience"] = vocab.audiences[0]
    return probes


# --------------------------------------------------------------------------- publishing


def publish(nquads: Path, store_dir: Path, meta: dict | None = None) -> "object":
    """Bulk-load the N-Quads into a fresh store and publish it as a cohesio version (no SHACL)."""
    from cohesio import versions
    from cohesio.build import count_graphs
    from cohesio.config import CANONICAL_BASE_IRI

    store_dir = Path(store_dir)
    staged = versions.staging_dir(store_dir)
    store = ox.Store(str(staged / versions.STORE))
    with open(nquads, "rb") as f:
        store.bulk_load(f, format=ox.RdfFormat.N_QUADS)
    counts = count_graphs(store, CANONICAL_BASE_IRI)
    store.optimize()
    store.flush()
    del store
    version_id = "bench-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    manifest = {
        "version": version_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "base_iri": CANONICAL_BASE_IRI,
        "counts": counts,
        "synthetic": meta or {},
        "validated": False,
        "note": "benchmarks/synthetic.py: synthetic data, SHACL validation skipped (measured elsewhere)",
    }
    return versions.publish(store_dir, staged, version_id, manifest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="target triples in all (default 1,000,000)")
    parser.add_argument("--initiatives", type=int, help="exact number of initiatives (overrides --size)")
    parser.add_argument("--territories", action="store_true",
                        help="spread the initiatives over communes, EPCIs, départements and régions")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cohesio-bench/data.nq"))
    parser.add_argument("--store-dir", type=Path, help="also publish a cohesio version there")
    parser.add_argument("--project-dir", type=Path,
                        help="write the synthetic part as source files of this project directory instead "
                             "(needs --initiatives; see write_sources)")
    args = parser.parse_args(argv)
    if args.project_dir:
        if args.initiatives is None:
            parser.error("--project-dir needs --initiatives")
        ds = write_sources(args.project_dir, args.initiatives, seed=args.seed, territories=args.territories)
        print(json.dumps(ds.as_dict(), indent=2, ensure_ascii=False))
        return 0
    ds = generate(args.out, size=args.size, initiatives=args.initiatives, seed=args.seed,
                  territories=args.territories)
    print(json.dumps(ds.as_dict(), indent=2, ensure_ascii=False))
    if args.store_dir:
        version = publish(args.out, args.store_dir, ds.as_dict())
        print(f"published {version.id} in {args.store_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
