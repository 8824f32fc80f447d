"""The DCAT-AP 3 catalogue: one dataset, its distributions (the dumps) and its data services.

Written from ``catalog.toml`` (:class:`~cohesio.publishing.Metadata`), the version's manifest and
the *service root* (the URL the request came in on): IRIs of the catalogue, dataset,
distributions and services are under the base IRI; download, access and endpoint URLs are under
the service root, so a local run's catalogue points at the local server.

Every object the DCAT-AP 3.0.1 range shapes check with ``sh:class`` is typed in the graph itself
(licence document, media types, file types, frequency, location, …), since harvesters and the
EU validator load no vocabulary.

Items (datasets, then data services) are paged: :func:`build_catalog` gives the page asked for,
with one ``hydra:PartialCollectionView`` carrying ``hydra:next`` / ``hydra:previous`` when there
is more than one page, which is what udata and ckanext-dcat follow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from cohesio.publishing import EU, IANA_MEDIA, Metadata, as_date

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"

DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
OPENAPI = "https://spec.openapis.org/oas/v3.1.0"


class PageOutOfRange(Exception):
    def __init__(self, page: int, pages: int) -> None:
        super().__init__(page, pages)
        self.page = page
        self.pages = pages


@dataclass(frozen=True)
class Item:
    """A dataset or data service of the catalogue: its IRI and how to write it."""

    iri: str
    kind: str  # "dataset" or "service"
    write: Callable[[Graph], None]


def _lit(g: Graph, subject: URIRef, predicate: URIRef, values: dict[str, str] | None) -> None:
    for lang, text in (values or {}).items():
        if text:
            g.add((subject, predicate, Literal(text, lang=lang)))


#: Labels of the controlled-vocabulary concepts used (DCAT-AP wants skos:prefLabel on each concept).
CONCEPT_LABELS: dict[str, dict[str, str]] = {
    f"{EU}data-theme/SOCI": {"fr": "Population et société", "en": "Population and society"},
    f"{EU}data-theme/REGI": {"fr": "Régions et villes", "en": "Regions and cities"},
    f"{EU}data-theme/GOVE": {"fr": "Gouvernement et secteur public", "en": "Government and public sector"},
    f"{EU}data-theme/EDUC": {"fr": "Éducation, culture et sport", "en": "Education, culture and sport"},
    f"{EU}data-theme": {"fr": "Thèmes des données", "en": "Data theme"},
    f"{EU}planned-availability/STABLE": {"fr": "stable", "en": "stable"},
    f"{PUBLISHER_TYPE}NonProfitOrganisation": {"en": "Non-Profit Organisation"},
    f"{PUBLISHER_TYPE}NationalAuthority": {"en": "National authority"},
    f"{PUBLISHER_TYPE}LocalAuthority": {"en": "Local Authority"},
    "http://purl.org/adms/licencetype/Attribution": {"en": "Attribution"},
}
#: Where each country the catalogue may name lies (EU country authority code → WKT), for
#: dcat:bbox / dcat:centroid: metropolitan France, the overseas départements being far apart.
COUNTRY_GEOMETRY: dict[str, tuple[str, str]] = {
    "FRA": ("POLYGON((-5.2 41.3, 9.6 41.3, 9.6 51.1, -5.2 51.1, -5.2 41.3))", "POINT(2.2 46.6)"),
}
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
AVAILABILITY = f"{EU}planned-availability/STABLE"
LICENCE_TYPE = "http://purl.org/adms/licencetype/Attribution"


def _concept(g: Graph, iri: str) -> URIRef:
    node = _typed(g, iri, SKOS.Concept)
    for lang, label in CONCEPT_LABELS.get(iri, {"en": iri.rstrip("/").rsplit("/", 1)[-1]}).items():
        g.add((node, SKOS.prefLabel, Literal(label, lang=lang)))
    return node


def _location(g: Graph, code: str) -> URIRef:
    node = _typed(g, f"{EU}country/{code}", DCTERMS.Location)
    if code in COUNTRY_GEOMETRY:
        bbox, centroid = COUNTRY_GEOMETRY[code]
        g.add((node, DCAT.bbox, Literal(bbox, datatype=GSP.wktLiteral)))
        g.add((node, DCAT.centroid, Literal(centroid, datatype=GSP.wktLiteral)))
    return node


def _typed(g: Graph, iri: str, cls: URIRef) -> URIRef:
    node = URIRef(iri)
    g.add((node, RDF.type, cls))
    return node


class CatalogBuilder:
    def __init__(self, metadata: Metadata, manifest: dict[str, Any], service_root: str,
                 spdx_checksums: bool = False) -> None:
        self.m = metadata
        self.manifest = manifest
        self.artefacts = manifest.get("artefacts") or {}
        self.root = service_root
        self.spdx_checksums = spdx_checksums
        self.modified = Literal(manifest["created"], datatype=XSD.dateTime) if manifest.get("created") else None

    # ---------------------------------------------------------------- shared nodes
    def licence(self, g: Graph) -> URIRef | None:
        info = self.m.dataset
        if not info.get("licence"):
            return None
        node = _typed(g, info["licence"], DCTERMS.LicenseDocument)
        if info.get("licence_title"):
            g.add((node, DCTERMS.title, Literal(info["licence_title"])))
        g.add((node, DCTERMS.type, _concept(g, LICENCE_TYPE)))
        return node

    def access_rights(self, g: Graph) -> URIRef | None:
        code = self.m.dataset.get("access_rights")
        return _typed(g, f"{EU}access-right/{code}", DCTERMS.RightsStatement) if code else None

    def publisher(self, g: Graph) -> URIRef:
        info = self.m.publisher
        node = _typed(g, info.get("iri") or f"{self.m.catalog_iri}#publisher", FOAF.Agent)
        _lit(g, node, FOAF.name, info.get("name"))
        if info.get("type"):
            kind = _concept(g, PUBLISHER_TYPE + info["type"])
            g.add((node, DCTERMS.type, kind))
        if info.get("homepage"):
            g.add((node, FOAF.homepage, _typed(g, info["homepage"], FOAF.Document)))
        return node

    def contact(self, g: Graph) -> URIRef:
        info = self.m.contact
        node = _typed(g, f"{self.m.catalog_iri}#contact", VCARD.Kind)
        g.add((node, RDF.type, VCARD.Organization))
        _lit(g, node, VCARD.fn, info.get("name"))
        if info.get("email"):
            g.add((node, VCARD.hasEmail, URIRef(f"mailto:{info['email']}")))
        return node

    def common(self, g: Graph, node: URIRef) -> None:
        """What datasets and services share: publisher, contact, licence, access rights."""
        g.add((node, DCTERMS.publisher, self.publisher(g)))
        g.add((node, DCAT.contactPoint, self.contact(g)))
        licence = self.licence(g)
        if licence is not None:
            g.add((node, DCTERMS.license, licence))
        rights = self.access_rights(g)
        if rights is not None:
            g.add((node, DCTERMS.accessRights, rights))

    def themes(self, g: Graph, node: URIRef) -> None:
        scheme = _typed(g, f"{EU}data-theme", SKOS.ConceptScheme)
        _lit(g, scheme, DCTERMS.title, CONCEPT_LABELS[f"{EU}data-theme"])
        for code in self.m.dataset.get("themes", []):
            theme = _concept(g, f"{EU}data-theme/{code}")
            g.add((theme, SKOS.inScheme, scheme))
            g.add((node, DCAT.theme, theme))

    # ---------------------------------------------------------------- dataset
    def dataset(self, g: Graph) -> None:
        info = self.m.dataset
        node = _typed(g, self.m.dataset_iri, DCAT.Dataset)
        g.add((node, DCTERMS.identifier, Literal(info.get("identifier") or self.m.dataset_iri)))
        _lit(g, node, DCTERMS.title, info.get("title"))
        _lit(g, node, DCTERMS.description, info.get("description"))
        keywords = {lang: list(words) for lang, words in (info.get("keywords") or {}).items()}
        for theme in (self.artefacts.get("summary") or {}).get("themes", []):
            for lang in ("fr", "en"):
                label = (theme.get(lang) or "").strip()
                if label and label.lower() not in {w.lower() for w in keywords.setdefault(lang, [])}:
                    keywords[lang].append(label)
        for lang, words in keywords.items():
            for word in words:
                g.add((node, DCAT.keyword, Literal(word, lang=lang)))
        self.themes(g, node)
        for code in info.get("spatial", []):
            g.add((node, DCTERMS.spatial, _location(g, code)))
        for code in info.get("languages", []):
            g.add((node, DCTERMS.language, _typed(g, f"{EU}language/{code}", DCTERMS.LinguisticSystem)))
        start, end = as_date(info.get("temporal_start")), as_date(info.get("temporal_end"))
        if start or end:
            period = BNode("temporal")
            g.add((period, RDF.type, DCTERMS.PeriodOfTime))
            if start:
                g.add((period, DCAT.startDate, Literal(start.isoformat(), datatype=XSD.date)))
            if end:
                g.add((period, DCAT.endDate, Literal(end.isoformat(), datatype=XSD.date)))
            g.add((node, DCTERMS.temporal, period))
        if info.get("frequency"):
            g.add((node, DCTERMS.accrualPeriodicity,
                   _typed(g, f"{EU}frequency/{info['frequency']}", DCTERMS.Frequency)))
        issued = as_date(info.get("issued"))
        if issued:
            g.add((node, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date)))
        if self.modified is not None:
            g.add((node, DCTERMS.modified, self.modified))
        if self.manifest.get("version"):
            g.add((node, DCAT_VERSION, Literal(str(self.manifest["version"]))))
        if info.get("landing_page"):
            g.add((node, DCAT.landingPage, _typed(g, info["landing_page"], FOAF.Document)))
        self.common(g, node)
        for dump in self.artefacts.get("dumps", []):
            g.add((node, DCAT.distribution, self.distribution(g, dump)))

    def distribution(self, g: Graph, dump: dict[str, Any]) -> URIRef:
        from cohesio.publishing.dumps import BY_FILENAME

        fmt = BY_FILENAME.get(dump["name"])
        node = _typed(g, self.m.distribution_iri(dump["key"]), DCAT.Distribution)
        if fmt is not None:
            g.add((node, DCTERMS.title, Literal(fmt.title_fr, lang="fr")))
            g.add((node, DCTERMS.title, Literal(fmt.title_en, lang="en")))
            g.add((node, DCTERMS.description, Literal(fmt.description_fr, lang="fr")))
            g.add((node, DCTERMS.description, Literal(fmt.description_en, lang="en")))
        g.add((node, DCATAP.availability, _concept(g, AVAILABILITY)))
        g.add((node, DCTERMS.identifier, Literal(str(node))))
        g.add((node, DCAT.downloadURL, URIRef(f"{self.root}dumps/latest/{dump['name']}")))
        g.add((node, DCAT.accessURL, URIRef(f"{self.root}dumps/{dump['hashed_name']}")))
        g.add((node, DCAT.mediaType, _typed(g, IANA_MEDIA + dump["media_type"], DCTERMS.MediaType)))
        g.add((node, DCTERMS.format, _typed(g, f"{EU}file-type/{dump['file_type']}", DCTERMS.MediaTypeOrExtent)))
        if dump.get("compress"):
            g.add((node, DCAT.compressFormat, _typed(g, IANA_MEDIA + dump["compress"], DCTERMS.MediaType)))
        g.add((node, DCAT.byteSize, Literal(dump["bytes"], datatype=XSD.nonNegativeInteger)))
        if self.spdx_checksums:
            checksum = BNode(f"checksum-{dump['key']}")
            g.add((checksum, RDF.type, SPDX.Checksum))
            g.add((checksum, SPDX.algorithm, _typed(g, str(SPDX.checksumAlgorithm_sha256), SPDX.ChecksumAlgorithm)))
            g.add((checksum, SPDX.checksumValue, Literal(dump["sha256"], datatype=XSD.hexBinary)))
            g.add((node, SPDX.checksum, checksum))
        if self.modified is not None:
            g.add((node, DCTERMS.modified, self.modified))
        licence = self.licence(g)
        if licence is not None:
            g.add((node, DCTERMS.license, licence))
        rights = self.access_rights(g)
        if rights is not None:
            g.add((node, DCTERMS.rights, rights))
        return node

    # ---------------------------------------------------------------- services
    def service(self, g: Graph, name: str) -> None:
        node = _typed(g, self.m.service_iri(name), DCAT.DataService)
        g.add((node, DCTERMS.identifier, Literal(str(node))))
        if name == "sparql":
            titles = {"fr": "Point d'accès SPARQL de cohesio", "en": "cohesio SPARQL endpoint"}
            descriptions = {
                "fr": "Interrogez tout le graphe en SPARQL 1.1 (lecture seule, requêtes bornées en temps et en "
                      "lignes). Sans requête, l'adresse renvoie la description du service.",
                "en": "Query the whole graph with SPARQL 1.1 (read-only, queries bounded in time and rows). "
                      "Without a query, the address returns the service description.",
            }
            endpoint, description, standard = f"{self.root}sparql", f"{self.root}sparql", SPARQL_PROTOCOL
        else:
            titles = {"fr": "API des requêtes nommées de cohesio", "en": "cohesio named-query API"}
            descriptions = {
                "fr": "Requêtes prêtes à l'emploi sur le graphe (initiatives par thème, par département…), "
                      "décrites en OpenAPI.",
                "en": "Ready-made queries over the graph (initiatives by theme, by département…), described "
                      "with OpenAPI.",
            }
            endpoint, description, standard = f"{self.root}api", f"{self.root}api/openapi.json", OPENAPI
        _lit(g, node, DCTERMS.title, titles)
        _lit(g, node, DCTERMS.description, descriptions)
        g.add((node, DCAT.endpointURL, URIRef(endpoint)))
        g.add((node, DCAT.endpointDescription, URIRef(description)))
        g.add((node, DCTERMS.conformsTo, _typed(g, standard, DCTERMS.Standard)))
        g.add((node, DCAT.servesDataset, URIRef(self.m.dataset_iri)))
        for lang, words in (self.m.dataset.get("keywords") or {}).items():
            for word in words[:2]:
                g.add((node, DCAT.keyword, Literal(word, lang=lang)))
        self.themes(g, node)
        if self.modified is not None:
            g.add((node, DCTERMS.modified, self.modified))
        self.common(g, node)

    # ---------------------------------------------------------------- catalogue
    def items(self) -> list[Item]:
        return [
            Item(self.m.dataset_iri, "dataset", self.dataset),
            Item(self.m.service_iri("sparql"), "service", lambda g: self.service(g, "sparql")),
            Item(self.m.service_iri("api"), "service", lambda g: self.service(g, "api")),
        ]

    def catalog(self, g: Graph, items: list[Item]) -> URIRef:
        info = self.m.catalog
        node = _typed(g, self.m.catalog_iri, DCAT.Catalog)
        _lit(g, node, DCTERMS.title, info.get("title"))
        _lit(g, node, DCTERMS.description, info.get("description"))
        g.add((node, DCTERMS.publisher, self.publisher(g)))
        g.add((node, DCAT.contactPoint, self.contact(g)))
        if info.get("homepage"):
            g.add((node, FOAF.homepage, _typed(g, info["homepage"], FOAF.Document)))
        licence = self.licence(g)
        if licence is not None:
            g.add((node, DCTERMS.license, licence))
        for code in self.m.dataset.get("spatial", []):
            g.add((node, DCTERMS.spatial, _location(g, code)))
        for code in self.m.dataset.get("languages", []):
            g.add((node, DCTERMS.language, _typed(g, f"{EU}language/{code}", DCTERMS.LinguisticSystem)))
        scheme = _typed(g, f"{EU}data-theme", SKOS.ConceptScheme)
        _lit(g, scheme, DCTERMS.title, CONCEPT_LABELS[f"{EU}data-theme"])
        g.add((node, DCAT.themeTaxonomy, scheme))
        issued = as_date(self.m.dataset.get("issued"))
        if issued:
            g.add((node, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date)))
        if self.modified is not None:
            g.add((node, DCTERMS.modified, self.modified))
        for item in items:
            g.add((node, DCAT.dataset if item.kind == "dataset" else DCAT.service, URIRef(item.iri)))
        return node


def build_catalog(metadata: Metadata, manifest: dict[str, Any], service_root: str, page: int = 1,
                  page_size: int | None = None, page_url: Callable[[int], str] | None = None,
                  spdx_checksums: bool = False) -> Graph:
    """One page of the catalogue (page 1 is the whole catalogue when it fits in one page).

    ``page_url(n)`` gives the URL of page n (the hydra view IRIs); required when paging.
    Raises :class:`PageOutOfRange` for a page that does not exist.
    """
    builder = CatalogBuilder(metadata, manifest, service_root, spdx_checksums)
    items = builder.items()
    size = page_size or metadata.page_size
    pages = max(1, math.ceil(len(items) / size))
    if not 1 <= page <= pages:
        raise PageOutOfRange(page, pages)
    chosen = items[(page - 1) * size: page * size]

    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("spdx", SPDX),
                       ("hydra", HYDRA), ("skos", SKOS), ("dcatap", DCATAP), ("gsp", GSP), ("adms", ADMS), ("xsd", XSD), ("rdfs", RDFS)):
        g.bind(prefix, ns)
    catalog = builder.catalog(g, chosen)
    for item in chosen:
        item.write(g)
    if pages > 1:
        if page_url is None:
            raise ValueError("page_url is needed to page the catalogue")
        view = URIRef(page_url(page))
        g.add((view, RDF.type, HYDRA.PartialCollectionView))
        g.add((view, HYDRA.first, URIRef(page_url(1))))
        g.add((view, HYDRA.last, URIRef(page_url(pages))))
        if page > 1:
            g.add((view, HYDRA.previous, URIRef(page_url(page - 1))))
        if page < pages:
            g.add((view, HYDRA.next, URIRef(page_url(page + 1))))
        g.add((catalog, HYDRA.view, view))
        g.add((catalog, HYDRA.totalItems, Literal(len(items), datatype=XSD.integer)))
    return g
