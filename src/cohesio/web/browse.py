"""Browse pages: home ``/``, ``/themes``, ``/territories``, ``/actors``, ``/audiences``, ``/search``.
Documented in docs/linked-data.md.

Every page does bounded work, whatever the size of the graph (issue 8: from 100k to 10M triples
the latency of these pages stays flat and the memory of the server does not grow):

* the figures (initiatives per territory, practice, audience; counts per class) are computed once
  per index, at build time (:func:`cohesio.linked_data.search_build.browse_counts`), and read from
  the version's index; they describe the last build, which the pages say when contributions were
  accepted since;
* lists that grow with the data are pages: the actors are read from the index's precomputed
  alphabetical positions (page N costs what page 1 costs), the places of a territory are one
  territory's worth of SPARQL, a practice shows a sample of its initiatives and links to its own
  page, which pages them all;
* lists bounded by the vocabularies (themes, practices, audiences, régions and départements) are
  read with SPARQL, with a LIMIT as a guard.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request

from cohesio.linked_data import describe as d
from cohesio.linked_data import search as search_index
from cohesio.linked_data.links import is_safe_iri
from cohesio.web import i18n
from cohesio.web.i18n import get_lang
from cohesio.web.resources import (backend, base_iri, conditional, html_page, lang_param, negotiate_doc,
                                   not_acceptable, not_found_page, schema_jsonld, HTML, _stamp, linker)

blueprint = Blueprint("browse", __name__, template_folder="templates")
blueprint.record_once(lambda state: i18n.install(state.app))

COH = "https://w3id.org/cohesio/ontology#"
DCT = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
IGEO = "http://rdf.insee.fr/def/geo#"
ORG = "http://www.w3.org/ns/org#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"

#: Initiatives shown under each practice on /themes (its own page lists them all).
PRACTICE_SAMPLE = 10
#: Places per page of a territory (/territories?departement=…).
PLACES_PAGE = 100
#: Other places (outside any région) on /territories itself; the rest on their own pages.
OTHER_ON_OVERVIEW = 20
#: Guards on the lists bounded by the vocabularies and the geography (never reached in practice).
VOCABULARY_LIMIT = 2000
TERRITORY_LIMIT = 20_000
#: Codes of régions and départements (2A/2B: Corsica, 971…976: overseas).
DEPARTEMENT_CODE = re.compile(r"(?:[0-9]{2,3}|2[AB])")
REGION_CODE = re.compile(r"[0-9]{2}")


def _ontology(b: str) -> str:
    return f"{b}ontology#"


def _page(template: str, variant: str, **context) -> Response:
    tag, when, not_modified = conditional(f"{variant}|{get_lang()}")
    if not_modified is not None:
        return not_modified
    response = html_page(template, **context)
    _stamp(response, tag, when)
    response.vary.add("Accept-Language")
    return response


def _page_number(limit: int | None = None) -> int:
    """``?page=N`` (1 when absent or not a small positive integer), at most ``limit``."""
    text = request.args.get("page", "1")
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 6 and int(text) > 0 else 1
    return min(number, limit) if limit else number


def _url(path: str, **args: object) -> str:
    """A link to a browse page with these parameters, keeping an explicit ``?lang``."""
    pairs = [(k, str(v)) for k, v in args.items() if v is not None and v != "" and not (k == "page" and v == 1)]
    if lang_param():
        pairs.append(("lang", lang_param() or ""))
    return path + ("?" + urlencode(pairs) if pairs else "")


def _index() -> search_index.SearchIndex:
    settings = current_app.config["COHESIO_SETTINGS"]
    return search_index.index_for(backend(), base_iri(), settings.resolve(settings.cache_dir))


def _figures() -> tuple[dict[str, dict[str, int]] | None, dict | None]:
    """The build-time figures and, when contributions were accepted since they were computed, the
    date they describe. ``(None, None)`` while the index is being prepared: pages show no figures
    rather than waiting (a failing backend still fails the page)."""
    try:
        index = _index()
    except search_index.IndexNotReady:
        return None, None
    counts = index.counts
    manifest = getattr(backend(), "manifest", None) or {}
    built_change = index.main.meta.get("last_change")
    stale = None
    if built_change is not None and int(manifest.get("last_change") or 0) > int(built_change):
        stale = {"date": index.built[:10]}
    return counts, stale


def _labels(rows: list[dict], key: str, var: str) -> dict[str, dict[str, str]]:
    """Rows with one label per row (any language) → labels by language, per resource."""
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        labels = found.setdefault(row[key].value, {})
        if var in row:
            labels.setdefault(row[var].lang, row[var].value)
    return found


def _sorted(entries: list[dict], lang: str) -> list[dict]:
    fold = search_index.fold
    return sorted(entries, key=lambda e: (fold(d.pick(e["labels"], lang, d.fallback_label(e["iri"]))), e["iri"]))


@blueprint.route("/", methods=["GET"])
def home() -> Response:
    fmt = negotiate_doc()
    if fmt is None:
        return not_acceptable()
    if fmt is not HTML:  # an RDF client asking for the site root gets the dataset's VoID description
        response = redirect("/.well-known/void", code=303)
        response.vary.add("Accept")
        return response
    b = base_iri()
    figures, stale = _figures()
    counts = None
    if figures is not None:
        counts = {iri.rsplit("#", 1)[-1]: n for iri, n in (figures.get("classes") or {}).items()}
    link = linker()
    jsonld = {"@context": "https://schema.org", "@type": "Dataset", "@id": link.local(f"{b}catalog#dataset"),
              "name": "cohesio", "url": request.host_url,
              "description": "Exemples d'actions de cohésion sociale et solidarité intergénérationnelle et des territoires",
              "license": LICENCE, "inLanguage": ["fr", "en"],
              "distribution": [{"@type": "DataDownload", "contentUrl": request.host_url + "dumps/latest/cohesio.ttl",
                                "encodingFormat": "text/turtle"}]}
    response = _page("home.html", "home", counts=counts, stale=stale, licence=LICENCE, jsonld=schema_jsonld(jsonld),
                     graphs=backend().graphs())
    response.vary.add("Accept")
    return response


@blueprint.route("/themes", methods=["GET"])
def themes() -> Response:
    """Themes → practices (the vocabularies: bounded) → a sample of each practice's initiatives."""
    b = base_iri()
    lang = get_lang()
    rows = d.select(backend(), f"""SELECT ?t ?tl ?p ?pl WHERE {{
        ?t <{SKOS}inScheme> <{b}id/scheme/themes> . OPTIONAL {{ ?t <{SKOS}prefLabel> ?tl }}
        OPTIONAL {{ ?p <{SKOS}inScheme> <{b}id/scheme/practices> ; <{DCT}subject> ?t .
                   OPTIONAL {{ ?p <{SKOS}prefLabel> ?pl }} }}
    }} LIMIT {VOCABULARY_LIMIT}""")
    theme_labels = _labels(rows, "t", "tl")
    practice_labels = _labels([r for r in rows if "p" in r], "p", "pl")
    members: dict[str, set[str]] = {}
    for r in rows:
        members.setdefault(r["t"].value, set())
        if "p" in r:
            members[r["t"].value].add(r["p"].value)
    practices = sorted(practice_labels)
    sample = _practice_sample(b, practices)
    figures, stale = _figures()
    per_practice = (figures or {}).get("practices") or {}
    fold = search_index.fold
    tree = []
    for t, labels in theme_labels.items():
        entries = []
        for p in members.get(t, ()):
            found = sample.get(p, {})
            initiatives = sorted(((i, d.pick(ls, lang, i)) for i, ls in found.items()),
                                 key=lambda kv: (fold(kv[1]), kv[0]))
            n = per_practice.get(p) if figures is not None else None
            entries.append({"iri": p, "label": d.pick(practice_labels[p], lang, p),
                            "initiatives": initiatives[:PRACTICE_SAMPLE],
                            "n": n, "more": len(initiatives) > PRACTICE_SAMPLE or (n or 0) > PRACTICE_SAMPLE})
        tree.append({"iri": t, "label": d.pick(labels, lang, t),
                     "practices": sorted(entries, key=lambda e: (fold(e["label"]), e["iri"]))})
    tree.sort(key=lambda t: (fold(t["label"]), t["iri"]))
    return _page("themes.html", "themes", themes=tree, stale=stale)


def _practice_sample(b: str, practices: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """Up to PRACTICE_SAMPLE + 1 initiatives of each practice (one query: a union of LIMITed
    sub-queries, each stopping after a few rows), with their labels in every language."""
    wanted = [p for p in practices if is_safe_iri(p)]
    if not wanted:
        return {}
    branches = " UNION ".join(
        f"{{ {{ SELECT ?i WHERE {{ ?i <{DCT}type> <{p}> ; a <{_ontology(b)}Initiative> }} LIMIT {PRACTICE_SAMPLE + 1} }}"
        f" BIND(<{p}> AS ?p) }}" for p in wanted)
    rows = d.select(backend(), f"""SELECT ?p ?i ?l WHERE {{ {{ {branches} }}
        OPTIONAL {{ ?i <{RDFS_LABEL}> ?l }} }}""")
    found: dict[str, dict[str, dict[str, str]]] = {}
    for r in rows:
        labels = found.setdefault(r["p"].value, {}).setdefault(r["i"].value, {})
        if "l" in r:
            labels.setdefault(r["l"].lang, r["l"].value)
    return found


@blueprint.route("/territories", methods=["GET"])
def territories() -> Response:
    """Régions → départements with their number of initiatives (build-time figures); a région's or
    a département's places with initiatives are a page of their own (``?departement=35``,
    ``?region=53``), and so are the places outside any région (``?other=1``)."""
    b = base_iri()
    if "departement" in request.args or "region" in request.args:
        return _territory_places(b)
    if request.args.get("other"):
        return _other_places()
    lang = get_lang()
    rows = d.select(backend(), f"""SELECT ?reg ?rl ?dep ?dl WHERE {{
        ?reg a <{IGEO}Region> . OPTIONAL {{ ?reg <{RDFS_LABEL}> ?rl }}
        OPTIONAL {{ ?dep a <{IGEO}Departement> ; <{IGEO}subdivisionDe> ?reg . OPTIONAL {{ ?dep <{RDFS_LABEL}> ?dl }} }}
    }} LIMIT {VOCABULARY_LIMIT}""")
    figures, stale = _figures()
    per = (figures or {}).get("territories") or {}
    region_labels = _labels(rows, "reg", "rl")
    dep_labels = _labels([r for r in rows if "dep" in r], "dep", "dl")
    deps_of: dict[str, set[str]] = {}
    for r in rows:
        if "dep" in r:
            deps_of.setdefault(r["reg"].value, set()).add(r["dep"].value)

    def shown(iri: str) -> bool:  # with figures, only the territories that have initiatives
        return figures is None or per.get(iri, 0) > 0

    regions = []
    for reg, labels in region_labels.items():
        if not shown(reg):
            continue
        deps = [{"iri": dep, "labels": dep_labels[dep], "n": per.get(dep) if figures is not None else None,
                 "places": _url("/territories", departement=dep.rsplit("/", 1)[-1])}
                for dep in deps_of.get(reg, ()) if shown(dep)]
        regions.append({"iri": reg, "labels": labels, "n": per.get(reg) if figures is not None else None,
                        "places": _url("/territories", region=reg.rsplit("/", 1)[-1]), "deps": _sorted(deps, lang)})
    other = (figures or {}).get("other_places") or {}
    other_entries = _other_entries(other, lang)
    return _page("territories.html", "territories", regions=_sorted(regions, lang),
                 other=other_entries[:OTHER_ON_OVERVIEW], other_total=len(other),
                 other_more=_url("/territories", other=1) if len(other) > OTHER_ON_OVERVIEW else None,
                 stale=stale)


def _territory_places(b: str) -> Response:
    """The places of one région or département that have initiatives, with their numbers (live:
    one territory's initiatives, not the whole graph's), alphabetical, PLACES_PAGE a page."""
    lang = get_lang()
    if "departement" in request.args:
        code, kind, path = request.args.get("departement", ""), f"{IGEO}Departement", "departement"
        valid = DEPARTEMENT_CODE.fullmatch(code)
    else:
        code, kind, path = request.args.get("region", ""), f"{IGEO}Region", "region"
        valid = REGION_CODE.fullmatch(code)
    territory = f"{b}id/{path}/{code}"
    if not valid:
        return not_found_page()
    head = d.select(backend(), f"SELECT ?l WHERE {{ <{territory}> a <{kind}> OPTIONAL {{ <{territory}> <{RDFS_LABEL}> ?l }} }}")
    if not head:
        return not_found_page(territory)
    name = d.pick({r["l"].lang: r["l"].value for r in head if "l" in r}, lang, d.fallback_label(territory))
    # The territory's places first (the geography: a few hundred), then their initiatives: asked
    # in one query, pyoxigraph started from every initiative of the graph (26 s at 10M triples).
    inside = [r["t"].value for r in d.select(backend(), f"""SELECT DISTINCT ?t WHERE {{
        ?t <{IGEO}subdivisionDe>* <{territory}> FILTER(?t != <{territory}> && isIRI(?t)) }}
        LIMIT {TERRITORY_LIMIT}""") if is_safe_iri(r["t"].value)]
    counts: dict[str, int] = {}
    for start in range(0, len(inside), 400):
        values = " ".join(f"<{t}>" for t in inside[start:start + 400])
        for r in d.select(backend(), f"""SELECT ?t (COUNT(DISTINCT ?i) AS ?n) WHERE {{ VALUES ?t {{ {values} }}
                ?i <{DCT}spatial> ?t ; a <{_ontology(b)}Initiative> }} GROUP BY ?t"""):
            counts[r["t"].value] = int(r["n"].value)
    labels = d.labels_of(backend(), counts)
    ordered = _sorted([{"iri": t, "labels": labels.get(t, {}), "n": n} for t, n in counts.items()], lang)
    pages = max(1, -(-len(ordered) // PLACES_PAGE))
    page = _page_number(pages)
    return _page("places.html", f"places|{territory}|{page}", territory=territory, name=name,
                 places=ordered[(page - 1) * PLACES_PAGE:page * PLACES_PAGE], total=len(ordered), page=page,
                 pages=pages, prev=_url("/territories", **{path: code, "page": page - 1}) if page > 1 else None,
                 next=_url("/territories", **{path: code, "page": page + 1}) if page < pages else None,
                 back=_url("/territories"))


def _other_entries(other: dict[str, int], lang: str) -> list[dict]:
    iris = list(other)[:TERRITORY_LIMIT]
    labels = d.labels_of(backend(), iris)
    return _sorted([{"iri": iri, "labels": labels.get(iri, {}), "n": other[iri]} for iri in iris], lang)


def _other_places() -> Response:
    """The places with initiatives outside any région (abroad, unnamed, former bodies), paged."""
    figures, stale = _figures()
    ordered = _other_entries((figures or {}).get("other_places") or {}, get_lang())
    pages = max(1, -(-len(ordered) // PLACES_PAGE))
    page = _page_number(pages)
    return _page("places.html", f"other|{page}", territory=None, name=None,
                 places=ordered[(page - 1) * PLACES_PAGE:page * PLACES_PAGE], total=len(ordered), page=page,
                 pages=pages, prev=_url("/territories", other=1, page=page - 1) if page > 1 else None,
                 next=_url("/territories", other=1, page=page + 1) if page < pages else None,
                 back=_url("/territories"), stale=stale)


@blueprint.route("/actors", methods=["GET"])
def actors() -> Response:
    """The organisations, alphabetical, a page at a time (read from the index's positions), each
    with its number of initiatives (one bounded query for the page's organisations)."""
    b = base_iri()
    lang = get_lang()
    listing = _index().listing(f"{ORG}Organization", lang, _page_number())
    entries = [dict(e) for e in listing.entries if is_safe_iri(e["iri"])]
    if entries:
        values = " ".join(f"<{e['iri']}>" for e in entries)
        rows = d.select(backend(), f"""SELECT ?x (COUNT(DISTINCT ?i) AS ?n) WHERE {{ VALUES ?x {{ {values} }}
            ?i a <{_ontology(b)}Initiative> ; ?role ?x }} GROUP BY ?x""")
        n = {r["x"].value: int(r["n"].value) for r in rows}
        for e in entries:
            e["n"] = n.get(e["iri"], 0)
    return _page("list.html", "actors", entries=entries, title_key="Actors", total=listing.total,
                 page=listing.page, pages=listing.pages,
                 prev=_url("/actors", page=listing.page - 1) if listing.page > 1 else None,
                 next=_url("/actors", page=listing.page + 1) if listing.page < listing.pages else None)


@blueprint.route("/audiences", methods=["GET"])
def audiences() -> Response:
    """The audiences (a vocabulary: bounded) with their number of initiatives (build-time figures)."""
    b = base_iri()
    lang = get_lang()
    rows = d.select(backend(), f"""SELECT ?x ?l WHERE {{ ?x <{SKOS}inScheme> <{b}id/scheme/audiences> .
        OPTIONAL {{ ?x <{SKOS}prefLabel> ?l }} }} LIMIT {VOCABULARY_LIMIT}""")
    figures, stale = _figures()
    per = (figures or {}).get("audiences") or {}
    entries = [{"iri": iri, "labels": labels, "n": per.get(iri, 0) if figures is not None else None}
               for iri, labels in _labels(rows, "x", "l").items()]
    return _page("list.html", "audiences", entries=_sorted(entries, lang), title_key="Audiences", stale=stale,
                 total=len(entries), page=1, pages=1, prev=None, next=None)


@blueprint.route("/search", methods=["GET"])
def search() -> Response:
    q = request.args.get("q", "").strip()[:200]
    page = _page_number(search_index.MAX_RESULTS // search_index.PAGE_SIZE + 1)
    results = _index().search(q, get_lang(), page) if q else None
    response = html_page("search.html", q=q, results=results, hits=results.hits if results else [],
                         prev=_url("/search", q=q, page=page - 1) if results and page > 1 else None,
                         next=_url("/search", q=q, page=page + 1) if results and results.more else None,
                         page_size=search_index.PAGE_SIZE, max_results=search_index.MAX_RESULTS)
    response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Accept-Language")
    return response

