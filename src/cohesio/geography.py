"""The official geography of France (Code officiel géographique) as N-Triples.

Reads the JSON files of the npm package ``@etalab/decoupage-administratif`` (installed by
``npm ci`` at the repository root) and writes sorted, deterministic, gzip-compressed N-Triples
following docs/model.md, section "Territories":

* régions ``B id/region/{code}``, départements ``B id/departement/{code}``,
  communes ``B id/commune/{code}``, intercommunalities ``B id/epci/{siren}``;
* the five EPCI types as SKOS concepts in ``B id/scheme/epci-types``.

Only the current territories of the Code officiel géographique are kept: the 18 régions and
101 départements (metropolitan France and the five DROM), the communes of those départements
(``type == "commune-actuelle"``) and the EPCI. The package also lists the overseas collectivities
(COM: Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin, TAAF, Wallis-et-Futuna,
Polynésie française, Nouvelle-Calédonie, Clipperton) both as "régions" and as "départements" under
their 3-digit codes, with their communes; they are neither régions nor départements, and are left
out (see ``GeographyStats.skipped_*``).

Regenerate with::

    python -m cohesio.geography --source node_modules/@etalab/decoupage-administratif \\
        --out data/geography/cog.nt.gz

which also writes SOURCE.md and metadata.ttl beside the output.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import gzip
import hashlib
import io
import json
import re
import sys
from pathlib import Path

DEFAULT_BASE_IRI = "https://w3id.org/cohesio/"
PACKAGE_NAME = "@etalab/decoupage-administratif"
DEFAULT_SOURCE = Path("node_modules") / "@etalab" / "decoupage-administratif"
DEFAULT_OUT = Path("data") / "geography" / "cog.nt.gz"

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
IGEO = "http://rdf.insee.fr/def/geo#"
COH = "https://w3id.org/cohesio/ontology#"
SCHEMA = "http://schema.org/"
DCT = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"

# Current régions and départements: metropolitan France and the five overseas départements
# and régions (DROM). The package's "com" zone holds the overseas collectivities (COM).
KEPT_ZONES = frozenset({"metro", "drom"})

# The EPCI types found in epci.json, with their labels (fr, en).
EPCI_TYPES: dict[str, tuple[str, str]] = {
    "CC": ("Communauté de communes", "Community of communes"),
    "CA": ("Communauté d'agglomération", "Agglomeration community"),
    "CU": ("Communauté urbaine", "Urban community"),
    "METRO": ("Métropole", "Metropolis"),
    "MET69": ("Métropole de Lyon", "Metropolis of Lyon"),
}
EPCI_SCHEME_LABELS = ("Types d'intercommunalités", "Types of intercommunality")


@dataclasses.dataclass(frozen=True)
class GeographyStats:
    """What one run of :func:`generate` wrote."""

    regions: int
    departements: int
    communes: int
    epci: int
    epci_types: int
    triples: int
    bytes: int
    sha256: str
    skipped_regions: tuple[str, ...] = ()
    skipped_departements: tuple[str, ...] = ()
    skipped_communes: int = 0
    communes_without_epci: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- N-Triples writing


def _escape(value: str) -> str:
    """Escape a string for an N-Triples literal (canonical RDF 1.1 N-Triples).

    Only the backslash, the double quote, line feed and carriage return need escaping; every
    other character, accents included, is written as UTF-8.
    """
    if "\\" in value or '"' in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def _check_iri(iri: str) -> str:
    if re.search(r'[\x00-\x20<>"{}|^`\\]', iri):
        raise ValueError(f"not a valid IRI for N-Triples: {iri!r}")
    return iri


class _Lines:
    """Collects N-Triples lines (one triple each, without the final newline)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def iri(self, s: str, p: str, o: str) -> None:
        self.lines.append(f"<{s}> <{p}> <{o}> .")

    def lang(self, s: str, p: str, text: str, lang: str) -> None:
        self.lines.append(f'<{s}> <{p}> "{_escape(text)}"@{lang} .')

    def plain(self, s: str, p: str, text: str) -> None:
        self.lines.append(f'<{s}> <{p}> "{_escape(text)}" .')

    def integer(self, s: str, p: str, value: int) -> None:
        self.lines.append(f'<{s}> <{p}> "{int(value)}"^^<{XSD_INTEGER}> .')


# --------------------------------------------------------------------------- reading the source


def _load(data_dir: Path, name: str) -> list[dict]:
    with open(Path(data_dir) / name, encoding="utf-8") as f:
        return json.load(f)


def _data_dir(source_dir: Path) -> Path:
    """Accept either the package directory or its data/ directory."""
    source_dir = Path(source_dir)
    if (source_dir / "data" / "communes.json").exists():
        return source_dir / "data"
    return source_dir


def _triples(data_dir: Path, base_iri: str) -> tuple[list[str], dict]:
    regions = _load(data_dir, "regions.json")
    departements = _load(data_dir, "departements.json")
    communes = _load(data_dir, "communes.json")
    epcis = _load(data_dir, "epci.json")

    b = base_iri
    _check_iri(b)
    out = _Lines()

    def labels(s: str, name: str) -> None:
        # A proper name: the same in French and in English.
        out.lang(s, RDFS_LABEL, name, "fr")
        out.lang(s, RDFS_LABEL, name, "en")

    kept_regions = {r["code"] for r in regions if r.get("zone") in KEPT_ZONES}
    skipped_regions = sorted(r["code"] for r in regions if r["code"] not in kept_regions)
    for r in regions:
        if r["code"] not in kept_regions:
            continue
        s = f"{b}id/region/{r['code']}"
        out.iri(s, RDF_TYPE, IGEO + "Region")
        labels(s, r["nom"])
        out.plain(s, IGEO + "codeINSEE", r["code"])

    kept_deps = {
        d["code"]
        for d in departements
        if d.get("zone") in KEPT_ZONES and d["region"] in kept_regions
    }
    skipped_deps = sorted(d["code"] for d in departements if d["code"] not in kept_deps)
    for d in departements:
        if d["code"] not in kept_deps:
            continue
        s = f"{b}id/departement/{d['code']}"
        out.iri(s, RDF_TYPE, IGEO + "Departement")
        labels(s, d["nom"])
        out.plain(s, IGEO + "codeINSEE", d["code"])
        out.iri(s, IGEO + "subdivisionDe", f"{b}id/region/{d['region']}")

    # commune code -> EPCI SIREN
    membership: dict[str, str] = {}
    for e in epcis:
        for m in e.get("membres", ()):
            if m["code"] in membership and membership[m["code"]] != e["code"]:
                raise ValueError(f"commune {m['code']} is in two EPCI")
            membership[m["code"]] = e["code"]

    n_communes = 0
    skipped_communes = 0
    without_epci: list[str] = []
    for c in communes:
        if c.get("type") != "commune-actuelle":
            continue
        if c.get("departement") not in kept_deps:
            skipped_communes += 1
            continue
        n_communes += 1
        code = c["code"]
        s = f"{b}id/commune/{_check_iri(code)}"
        out.iri(s, RDF_TYPE, IGEO + "Commune")
        labels(s, c["nom"])
        out.plain(s, IGEO + "codeINSEE", code)
        out.iri(s, IGEO + "subdivisionDe", f"{b}id/departement/{c['departement']}")
        if code in membership:
            out.iri(s, COH + "intercommunality", f"{b}id/epci/{membership[code]}")
        else:
            without_epci.append(code)
        if c.get("population") is not None:
            out.integer(s, SCHEMA + "population", c["population"])

    scheme = f"{b}id/scheme/epci-types"
    out.iri(scheme, RDF_TYPE, SKOS + "ConceptScheme")
    out.lang(scheme, SKOS + "prefLabel", EPCI_SCHEME_LABELS[0], "fr")
    out.lang(scheme, SKOS + "prefLabel", EPCI_SCHEME_LABELS[1], "en")
    for notation, (fr, en) in EPCI_TYPES.items():
        s = f"{b}id/epci-type/{notation}"
        out.iri(s, RDF_TYPE, SKOS + "Concept")
        out.iri(s, SKOS + "inScheme", scheme)
        out.iri(s, SKOS + "topConceptOf", scheme)
        out.iri(scheme, SKOS + "hasTopConcept", s)
        out.lang(s, SKOS + "prefLabel", fr, "fr")
        out.lang(s, SKOS + "prefLabel", en, "en")
        out.plain(s, SKOS + "notation", notation)

    for e in epcis:
        if e["type"] not in EPCI_TYPES:
            raise ValueError(f"unknown EPCI type {e['type']!r} for {e['code']}")
        s = f"{b}id/epci/{_check_iri(e['code'])}"
        out.iri(s, RDF_TYPE, IGEO + "Intercommunalite")
        labels(s, e["nom"])
        out.plain(s, IGEO + "codeINSEE", e["code"])
        out.iri(s, DCT + "type", f"{b}id/epci-type/{e['type']}")
        population = e.get("populationMunicipale")
        if population is not None:
            out.integer(s, SCHEMA + "population", population)

    info = dict(
        regions=len(kept_regions),
        departements=len(kept_deps),
        communes=n_communes,
        epci=len(epcis),
        epci_types=len(EPCI_TYPES),
        skipped_regions=tuple(skipped_regions),
        skipped_departements=tuple(skipped_deps),
        skipped_communes=skipped_communes,
        communes_without_epci=tuple(sorted(without_epci)),
    )
    return out.lines, info


def _gzip_bytes(payload: bytes) -> bytes:
    buf = io.BytesIO()
    # mtime=0 and no file name: the same input gives the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    return buf.getvalue()


def render(source_dir: Path, base_iri: str = DEFAULT_BASE_IRI) -> tuple[bytes, dict]:
    """The sorted, uncompressed N-Triples (UTF-8 bytes) and the counts."""
    lines, info = _triples(_data_dir(source_dir), base_iri)
    # Python compares strings by code point, which is the UTF-8 byte order.
    unique = sorted(set(lines))
    info["triples"] = len(unique)
    return ("\n".join(unique) + "\n").encode("utf-8"), info


def generate(
    source_dir: Path, out_path: Path, base_iri: str = DEFAULT_BASE_IRI
) -> GeographyStats:
    """Write the geography as gzip-compressed N-Triples to ``out_path``."""
    payload, info = render(source_dir, base_iri)
    data = _gzip_bytes(payload)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out_path)
    return GeographyStats(bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), **info)


# --------------------------------------------------------------------------- SOURCE.md, metadata.ttl


def _package_version(source_dir: Path) -> str:
    for candidate in (Path(source_dir), Path(source_dir).parent):
        pkg = candidate / "package.json"
        if pkg.exists():
            meta = json.loads(pkg.read_text(encoding="utf-8"))
            if meta.get("name") == PACKAGE_NAME:
                return meta["version"]
    return "unknown"


def _previous_issued(metadata_path: Path, sha256: str) -> str | None:
    """The generation date already recorded for this very output, if any.

    Regenerating identical data keeps the recorded date, so the files in git don't change.
    """
    if not metadata_path.exists():
        return None
    text = metadata_path.read_text(encoding="utf-8")
    if sha256 not in text:
        return None
    m = re.search(r'dct:issued "(\d{4}-\d{2}-\d{2})"', text)
    return m.group(1) if m else None


def write_metadata(
    stats: GeographyStats,
    out_path: Path,
    source_dir: Path,
    base_iri: str = DEFAULT_BASE_IRI,
    issued: str | None = None,
) -> tuple[Path, Path]:
    """Write SOURCE.md and metadata.ttl beside ``out_path``."""
    out_path = Path(out_path)
    folder = out_path.parent
    metadata_path = folder / "metadata.ttl"
    source_path = folder / "SOURCE.md"
    version = _package_version(source_dir)
    issued = issued or _previous_issued(metadata_path, stats.sha256) or _dt.date.today().isoformat()
    b = base_iri

    ttl = f"""@prefix coh: <https://w3id.org/cohesio/ontology#> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix igeo: <http://rdf.insee.fr/def/geo#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix spdx: <http://spdx.org/rdf/terms#> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

# Generated by `python -m cohesio.geography`; do not edit by hand.

<{b}graph/geography> a prov:Entity, dcat:Dataset, void:Dataset ;
    dct:title "Géographie officielle de la France (Code officiel géographique 2026)"@fr ,
        "Official geography of France (Code officiel géographique 2026)"@en ;
    dct:description "Régions, départements, communes et intercommunalités (EPCI) en vigueur, extraits du Code officiel géographique de l'INSEE (millésime 2026) via le paquet npm {PACKAGE_NAME} {version}."@fr ,
        "Current régions, départements, communes and intercommunalities (EPCI), extracted from INSEE's Code officiel géographique (2026 vintage) through the npm package {PACKAGE_NAME} {version}."@en ;
    dct:source <https://www.insee.fr/fr/information/2560452> ,
        <https://github.com/etalab/decoupage-administratif> ;
    dct:license <https://www.etalab.gouv.fr/licence-ouverte-open-licence/> ;
    dct:rightsHolder [ rdfs:label "INSEE"@fr, "INSEE"@en ] ;
    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "2026-01-01"^^xsd:date ] ;
    dct:issued "{issued}"^^xsd:date ;
    prov:wasGeneratedBy [
        a prov:Activity ;
        rdfs:label "python -m cohesio.geography --source node_modules/{PACKAGE_NAME} --out data/geography/cog.nt.gz" ;
        prov:used [ rdfs:label "{PACKAGE_NAME} {version}" ;
                    prov:wasDerivedFrom <https://www.insee.fr/fr/information/2560452> ] ;
        prov:wasAssociatedWith [ a prov:SoftwareAgent ;
                                 rdfs:label "cohesio.geography (src/cohesio/geography.py)" ]
    ] ;
    dcat:distribution [
        a dcat:Distribution ;
        dct:title "cog.nt.gz" ;
        dcat:mediaType <https://www.iana.org/assignments/media-types/application/n-triples> ;
        dcat:compressFormat <https://www.iana.org/assignments/media-types/application/gzip> ;
        dcat:byteSize "{stats.bytes}"^^xsd:nonNegativeInteger ;
        spdx:checksum [ a spdx:Checksum ;
                        spdx:algorithm spdx:checksumAlgorithm_sha256 ;
                        spdx:checksumValue "{stats.sha256}"^^xsd:hexBinary ]
    ] ;
    void:triples {stats.triples} ;
    void:classPartition
        [ void:class igeo:Region ; void:entities {stats.regions} ] ,
        [ void:class igeo:Departement ; void:entities {stats.departements} ] ,
        [ void:class igeo:Commune ; void:entities {stats.communes} ] ,
        [ void:class igeo:Intercommunalite ; void:entities {stats.epci} ] ,
        [ void:class skos:Concept ; void:entities {stats.epci_types} ] .
"""
    skipped_deps = ", ".join(stats.skipped_departements) or "none"
    no_epci = ", ".join(stats.communes_without_epci) or "none"
    md = f"""# Official geography of France — `cog.nt.gz`

Generated file: do not edit by hand; regenerate it (below).

- **What**: the current régions, départements, communes and intercommunalities (EPCI) of France,
  as RDF (gzip-compressed, sorted N-Triples) following `docs/model.md` ("Territories"), plus the
  five EPCI types as SKOS concepts (`id/scheme/epci-types`). Loaded into the named graph
  `graph/geography` together with `metadata.ttl` (its description).
- **From**: the npm package `{PACKAGE_NAME}` version `{version}` (pinned in `package.json`;
  upstream <https://github.com/etalab/decoupage-administratif>), files `regions.json`,
  `departements.json`, `communes.json` (`type == "commune-actuelle"` only) and `epci.json`.
- **Vintage**: Code officiel géographique (COG) **2026** (situation at 1 January 2026).
- **Licences**: the package (code) is under the MIT licence; the data is INSEE's Code officiel
  géographique, under the Licence Ouverte / Open Licence 2.0 (Etalab)
  <https://www.etalab.gouv.fr/licence-ouverte-open-licence/>. Source: INSEE, Code officiel
  géographique <https://www.insee.fr/fr/information/2560452>.
- **Generated**: {issued}.

## Regenerate

```sh
npm ci
python -m cohesio.geography --source node_modules/{PACKAGE_NAME} --out data/geography/cog.nt.gz
```

The output is deterministic (sorted lines, gzip header without time or file name): the same
package version gives the same bytes.

## Contents

| what | count |
| --- | --- |
| régions (`igeo:Region`) | {stats.regions} |
| départements (`igeo:Departement`) | {stats.departements} |
| communes (`igeo:Commune`) | {stats.communes} |
| intercommunalities (`igeo:Intercommunalite`) | {stats.epci} |
| EPCI types (`skos:Concept`) | {stats.epci_types} |
| triples | {stats.triples} |

- Kept: the {stats.regions} régions and {stats.departements} départements of metropolitan France and the five overseas
  départements-régions (DROM), and their communes. Left out: the overseas collectivities (COM),
  which the package lists both as "régions" and as "départements" under their own codes
  ({skipped_deps}) but which are neither, and their {stats.skipped_communes} communes.
- Communes in no EPCI (islands exempted by law): {no_epci}.
- `schema:population`: for communes, the package's `population`; for an EPCI, its
  `populationMunicipale`. The two may come from different census vintages (an EPCI's figure is
  not always the sum of its communes' figures).
- `igeo:codeINSEE` of an EPCI is its SIREN. No SIREN is given to communes: a SIREN identifies the
  municipality (legal person), not the territory.

## Output

- file: `cog.nt.gz`, {stats.bytes} bytes
- SHA-256: `{stats.sha256}`
"""
    metadata_path.write_text(ttl, encoding="utf-8")
    source_path.write_text(md, encoding="utf-8")
    return source_path, metadata_path


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cohesio.geography",
        description="Generate the official geography of France (COG) as gzip-compressed N-Triples.",
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"the {PACKAGE_NAME} package directory (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output file (default: %(default)s)")
    parser.add_argument("--base-iri", default=DEFAULT_BASE_IRI,
                        help="base IRI (default: %(default)s)")
    parser.add_argument("--no-metadata", action="store_true",
                        help="do not write SOURCE.md and metadata.ttl beside the output")
    parser.add_argument("--issued", help="generation date to record (default: today, or the "
                        "date already recorded if the output is unchanged)")
    args = parser.parse_args(argv)

    if not (_data_dir(args.source) / "communes.json").exists():
        print(f"error: no communes.json under {args.source} (run `npm ci` first?)", file=sys.stderr)
        return 2
    stats = generate(args.source, args.out, args.base_iri)
    if not args.no_metadata:
        write_metadata(stats, args.out, args.source, args.base_iri, args.issued)
    print(
        f"{args.out}: {stats.triples} triples, {stats.regions} régions, "
        f"{stats.departements} départements, {stats.communes} communes, {stats.epci} EPCI; "
        f"{stats.bytes} bytes, sha256 {stats.sha256}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
