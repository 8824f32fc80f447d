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

Everything is deterministic for a given seed. By default initiatives are added until the whole
graph (static part included) reaches ``--size`` triples.

The output is one N-Quads file (graph = provenance, as in a build), and optionally a published
cohesio version (``versions.staging_dir`` → ``bulk_load`` → ``versions.publish``) that the real
``cohesio serve`` serves. **No SHACL validation is run on that path**: validating a million triples
with pyshacl takes far longer than the benchmark and is measured elsewhere; the shape-validity of the
generator's output is checked at a small size by ``tests/test_benchmarks_smoke.py``.

Command line::

    .venv/bin/python benchmarks/synthetic.py --size 1000000 --out /tmp/cohesio-bench/data.nq \\
        --store-dir /tmp/cohesio-bench/store
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

    @property
    def iri(self) -> str:
        return f"{ID}commune/{self.code}"


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
    """What :func:`generate` wrote."""

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

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path)
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


_COMMUNE_LINE = re.compile(r'^<' + re.escape(ID) + r'commune/([^>]+)> <([^>]+)> (.*) \.$')


def read_communes(path: Path = GEOGRAPHY_FILE) -> list[Commune]:
    """The communes of the official geography: code, French name, département, population."""
    name: dict[str, str] = {}
    dep: dict[str, str] = {}
    pop: dict[str, int] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = _COMMUNE_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            code, pred, obj = m.groups()
            if pred == RDFS_LABEL and obj.endswith("@fr"):
                name[code] = json.loads(obj[: -len("@fr")])  # N-Triples string escapes ⊂ JSON's
            elif pred == IGEO + "subdivisionDe":
                dep[code] = obj[1:-1].rsplit("/", 1)[1]
            elif pred == SCHEMA + "population":
                pop[code] = int(obj.split('"')[1])
    return [Commune(c, name[c], dep[c], pop.get(c, 0)) for c in sorted(name)]


def mini_geography(communes: Iterable[Commune]) -> list[str]:
    """N-Quads of a small geography (communes, their départements, one région) for tiny runs."""
    g = GRAPH["geography"]
    lines: list[str] = []
    deps = set()
    for c in communes:
        s = c.iri
        lines += [
            f"<{s}> <{RDF_TYPE}> <{IGEO}Commune> <{g}> .",
            f'<{s}> <{RDFS_LABEL}> "{_lit(c.name)}"@fr <{g}> .',
            f'<{s}> <{RDFS_LABEL}> "{_lit(c.name)}"@en <{g}> .',
            f'<{s}> <{IGEO}codeINSEE> "{c.code}" <{g}> .',
            f"<{s}> <{IGEO}subdivisionDe> <{ID}departement/{c.departement}> <{g}> .",
        ]
        deps.add(c.departement)
    region = f"{ID}region/99"
    lines += [
        f"<{region}> <{RDF_TYPE}> <{IGEO}Region> <{g}> .",
        f'<{region}> <{RDFS_LABEL}> "Région d\'essai"@fr <{g}> .',
        f'<{region}> <{RDFS_LABEL}> "Test region"@en <{g}> .',
        f'<{region}> <{IGEO}codeINSEE> "99" <{g}> .',
    ]
    for d in sorted(deps):
        s = f"{ID}departement/{d}"
        lines += [
            f"<{s}> <{RDF_TYPE}> <{IGEO}Departement> <{g}> .",
            f'<{s}> <{RDFS_LABEL}> "Département {d}"@fr <{g}> .',
            f'<{s}> <{RDFS_LABEL}> "Département {d}"@en <{g}> .',
            f'<{s}> <{IGEO}codeINSEE> "{d}" <{g}> .',
            f"<{s}> <{IGEO}subdivisionDe> <{region}> <{g}> .",
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


def _de(name: str) -> str:
    """French "de" with elision: "de Rennes", "d'Échirolles"."""
    return f"d'{name}" if unicodedata.normalize("NFKD", name[:1]).lower()[:1] in "aeiouyh" else f"de {name}"


def generate(
    out: Path,
    size: int | None = 1_000_000,
    initiatives: int | None = None,
    seed: int = 20240601,
    communes: list[Commune] | None = None,
    repo: Path = REPO,
) -> Dataset:
    """Write the N-Quads file ``out``; stop at ``initiatives`` initiatives, or when the whole graph
    reaches ``size`` triples. ``communes`` given: a tiny run with a mini geography of those communes
    instead of the official one (and only the vocabulary files as static part)."""
    started = time.perf_counter()
    full = communes is None
    vocab = read_vocabulary(repo)
    if full:
        communes = read_communes(repo / "data" / "geography" / "cog.nt.gz")
    assert communes
    rng = random.Random(seed)
    cum = list(itertools.accumulate(max(c.population, 1) ** 0.6 for c in communes))
    total_w = cum[-1]
    themes_top = [t for t in vocab.themes]

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

        guide, editorial = GRAPH["guide"], GRAPH["editorial"]
        source = f"{ID}source/guide"
        total = n_static
        n_ini = n_org = 0
        municipality: dict[str, str] = {}
        taken: dict[str, int] = {}
        per_commune: dict[str, list[str]] = {}
        lines: list[str] = []

        def emit(s: str, p: str, o: str, g: str) -> None:
            lines.append(f"<{s}> <{p}> {o} <{g}> .\n")

        while True:
            if initiatives is not None and n_ini >= initiatives:
                break
            if initiatives is None and size is not None and total + len(lines) >= size:
                break
            c = communes[bisect.bisect_left(cum, rng.random() * total_w)]
            p = vocab.practices[rng.randrange(len(vocab.practices))]
            c_slug = slugify(c.name)
            # the model's "{practice-slug}--{place-slug}", the code making the place slug unique
            base = f"{p.slug}--{c_slug}-{c.code}"
            k = taken.get(base, 0) + 1
            taken[base] = k
            ini = f"{ID}initiative/{base}" + (f"-{k}" if k > 1 else "")
            n_ini += 1
            per_commune.setdefault(c.code, []).append(ini)

            org = municipality.get(c.code)
            if org is None:
                org = f"{ID}organization/ville-{slugify(_de(c.name))}-{c.code}"
                municipality[c.code] = org
                n_org += 1
                emit(org, RDF_TYPE, f"<{ORG}Organization>", guide)
                emit(org, RDF_TYPE, f"<{ORG}FormalOrganization>", guide)
                emit(org, RDFS_LABEL, f'"Ville {_lit(_de(c.name))}"@fr', guide)
                emit(org, RDFS_LABEL, f'"City of {_lit(c.name)}"@en', guide)
                emit(org, ORG + "classification", f"<{ID}organization-type/municipality>", guide)
                emit(org, COH + "jurisdiction", f"<{c.iri}>", guide)
                emit(org, PROV + "wasDerivedFrom", f"<{source}>", guide)

            emit(ini, RDF_TYPE, f"<{COH}Initiative>", guide)
            emit(ini, RDFS_LABEL, f'"{_lit(p.label_fr)} — {_lit(c.name)}"@fr', guide)
            emit(ini, RDFS_LABEL, f'"{_lit(p.label_en)} — {_lit(c.name)}"@en', guide)
            emit(ini, DCT + "type", f"<{p.iri}>", guide)
            emit(ini, DCT + "spatial", f"<{c.iri}>", guide)
            emit(ini, COH + "lead", f"<{org}>", guide)
            emit(ini, COH + "asPrinted", f'"→ Exemple : {_lit(c.name)} ({c.departement})"@fr', guide)
            emit(ini, PROV + "wasDerivedFrom", f"<{source}>", guide)
            if rng.random() < 0.3:
                who = _AUDIENCE_PHRASES[rng.randrange(len(_AUDIENCE_PHRASES))]
                emit(ini, DCT + "description",
                     f'"{_lit(p.label_fr)} à {_lit(c.name)}, à l\'initiative de la ville, au service {who}."@fr', guide)
                emit(ini, DCT + "description",
                     f'"{_lit(p.label_en)} in {_lit(c.name)}, started by the city."@en', guide)
            if rng.random() < 0.25:
                emit(ini, FOAF + "page", f"<https://www.{c_slug or 'commune'}.fr/{p.slug}>", guide)
            if rng.random() < 0.5:
                kind_fr, kind_en = _ASSOCIATION_KINDS[rng.randrange(len(_ASSOCIATION_KINDS))]
                assoc = f"{ID}organization/{slugify(kind_fr)}-{p.slug}-{c_slug}-{c.code}" + (f"-{k}" if k > 1 else "")
                n_org += 1
                emit(assoc, RDF_TYPE, f"<{ORG}Organization>", guide)
                emit(assoc, RDFS_LABEL, f'"{kind_fr} « {_lit(p.label_fr)} » {_lit(_de(c.name))}"@fr', guide)
                emit(assoc, RDFS_LABEL, f'"{kind_en} “{_lit(p.label_en)}” of {_lit(c.name)}"@en', guide)
                emit(assoc, ORG + "classification", f"<{ID}organization-type/association>", guide)
                emit(assoc, PROV + "wasDerivedFrom", f"<{source}>", guide)
                emit(ini, COH + "partner", f"<{assoc}>", guide)
            # editorial graph: the practice's themes (sometimes one more) and sometimes an audience
            subjects = set(p.themes) or {themes_top[0]}
            if rng.random() < 0.2:
                subjects.add(themes_top[rng.randrange(len(themes_top))])
            for t in sorted(subjects):
                emit(ini, DCT + "subject", f"<{t}>", editorial)
            if vocab.audiences and rng.random() < 0.5:
                emit(ini, DCT + "audience", f"<{vocab.audiences[rng.randrange(len(vocab.audiences))]}>", editorial)

            if len(lines) >= 100_000:
                f.writelines(lines)
                total += len(lines)
                lines = []
        f.writelines(lines)
        total += len(lines)
    tmp.replace(out)
    if not n_ini:
        raise ValueError(f"--size {size} is not above the static part ({n_static} triples): no initiative generated")

    probes = choose_probes(communes, per_commune, vocab)
    return Dataset(out, total, n_static, n_ini, n_org, len(municipality), time.perf_counter() - started,
                   seed, probes)


def choose_probes(communes: list[Commune], per_commune: dict[str, list[str]], vocab: Vocabulary) -> dict[str, str]:
    """The resources the benchmark asks about: a typical city, its département, one initiative of
    it, and a theme. Rennes / Ille-et-Vilaine (the guide's first example) when present; otherwise
    the commune with the median number of initiatives among those that have some."""
    by_code = {c.code: c for c in communes}
    code = "35238" if "35238" in per_commune else None
    if code is None:
        used = sorted(per_commune, key=lambda k: (len(per_commune[k]), k))
        code = used[len(used) // 2]
    commune = by_code[code]
    ini = per_commune[code][len(per_commune[code]) // 2]
    theme = f"{ID}theme/famille" if f"{ID}theme/famille" in vocab.themes else vocab.themes[0]
    return {
        "initiative": ini,
        "commune": commune.iri,
        "departement": f"{ID}departement/{commune.departement}",
        "theme": theme,
    }


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
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cohesio-bench/data.nq"))
    parser.add_argument("--store-dir", type=Path, help="also publish a cohesio version there")
    args = parser.parse_args(argv)
    ds = generate(args.out, size=args.size, initiatives=args.initiatives, seed=args.seed)
    print(json.dumps(ds.as_dict(), indent=2, ensure_ascii=False))
    if args.store_dir:
        version = publish(args.out, args.store_dir, ds.as_dict())
        print(f"published {version.id} in {args.store_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
