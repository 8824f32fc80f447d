"""The open-data publication layer: dumps, DCAT-AP catalogue, VoID, sitemap.

Library functions only (no Flask): :mod:`cohesio.web.publishing` is the thin web layer over them.

* :mod:`.dumps` runs at build time: it writes the dumps, the CSV, ``SHA256SUMS`` and the list of
  resource IRIs into the staged version directory, loads the VoID description into the named
  graph ``<base>graph/meta``, and returns what the manifest records under ``"artefacts"``.
* :mod:`.dcat`, :mod:`.void` and :mod:`.sitemap` run at request time from that manifest, the
  metadata file ``catalog.toml`` and the request's host URL: nothing is queried per request.

Two roots are kept apart everywhere (see docs/publishing.md): the *base IRI* names things (the
dataset, the resources, the catalogue); the *service root* (the URL the request came in on) locates
what one downloads or queries (dumps, /sparql, /api). On a deployment they are usually the same
host; on a local run the IRIs stay canonical while every URL points at the running server.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cohesio.config import ConfigError, Settings

METADATA_FILE = "catalog.toml"
#: The repository's own catalog.toml, used when a project directory has none (tests, fixtures).
_DEFAULT_METADATA = Path(__file__).resolve().parents[3] / METADATA_FILE
PAGE_SIZE_ENV = "COHESIO_CATALOG_PAGE_SIZE"

#: Where the build writes the publication files, relative to the version directory.
DUMPS_DIR = "dumps"
PUBLISHING_DIR = "publishing"
RESOURCES_FILE = "publishing/resources.txt"
SHA256SUMS = "SHA256SUMS"

EU = "http://publications.europa.eu/resource/authority/"
IANA_MEDIA = "https://www.iana.org/assignments/media-types/"


def meta_graph_iri(base_iri: str) -> str:
    """The named graph holding the VoID description, queryable at /sparql."""
    return f"{base_iri}graph/meta"


@dataclass(frozen=True)
class Metadata:
    """The contents of catalog.toml with ``{base}`` filled in."""

    raw: dict[str, Any]
    base_iri: str

    def _fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{base}", self.base_iri)
        if isinstance(value, list):
            return [self._fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self._fill(v) for k, v in value.items()}
        return value

    def section(self, name: str) -> dict[str, Any]:
        return self._fill(self.raw.get(name, {}))

    @property
    def catalog(self) -> dict[str, Any]:
        return self.section("catalog")

    @property
    def dataset(self) -> dict[str, Any]:
        return self.section("dataset")

    @property
    def publisher(self) -> dict[str, Any]:
        return self.section("publisher")

    @property
    def contact(self) -> dict[str, Any]:
        return self.section("contact")

    @property
    def page_size(self) -> int:
        value = os.environ.get(PAGE_SIZE_ENV) or self.raw.get("catalog", {}).get("page_size", 50)
        try:
            size = int(value)
        except (TypeError, ValueError):
            size = 0
        if size < 1:
            raise ConfigError(f"page_size du catalogue invalide : {value!r} (entier ≥ 1). / "
                              f"Invalid catalogue page_size: {value!r} (integer ≥ 1).")
        return size

    # IRIs of the things the catalogue describes: hash IRIs on the catalogue document, so that
    # dereferencing one gives the catalogue that describes it.
    @property
    def catalog_iri(self) -> str:
        return f"{self.base_iri}catalog"

    @property
    def dataset_iri(self) -> str:
        return f"{self.base_iri}catalog#dataset"

    def service_iri(self, name: str) -> str:
        return f"{self.base_iri}catalog#service-{name}"

    def distribution_iri(self, name: str) -> str:
        return f"{self.base_iri}catalog#distribution-{name}"


def load_metadata(settings: Settings) -> Metadata:
    """Read ``<project>/catalog.toml`` (else the repository's own) for this base IRI."""
    path = settings.project_dir / METADATA_FILE
    if not path.is_file():
        path = _DEFAULT_METADATA
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Fichier {METADATA_FILE} introuvable ({path}). / {METADATA_FILE} not found ({path}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Fichier {path} illisible : {exc}. / Unreadable {path}: {exc}.") from None
    for section in ("catalog", "dataset", "publisher", "contact"):
        if section not in raw:
            raise ConfigError(f"Section [{section}] absente de {path}. / Section [{section}] missing from {path}.")
    return Metadata(raw, settings.base_iri)


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
