"""Browse pages: home ``/``, ``/themes``, ``/territories``, ``/actors``, ``/audiences``, ``/search``.
Each is built with SPARQL through the backend; documented in docs/linked-data.md."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request

from cohesio.linked_data import describe as d
from cohesio.linked_data import search as search_index
from cohesio.web import i18n
from cohesio.web.i18n import get_lang
from cohesio.web.resources import (backend, base_iri, conditional, html_page, lang_param, negotiate_doc,
                                   not_acceptable, schema_jsonld, HTML, _stamp, linker)

blueprint = Blueprint("browse", __name__, template_folder="templates")
blueprint.record_once(lambda state: i18n.install(state.app))

COH = "https://w3id.org/cohesio/ontology#"
DCT = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
IGEO = "http://rdf.insee.fr/def/geo#"
LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def _label(row: dict, var: str = "l") -> dict[str, str]:
    return {row[var].lang: row[var].value} if var in row else {}


def _entries(rows: list[dict], key: str = "x", count: str | None = None) -> list[dict]:
    """Rows (one per label language) → one entry per resource: {iri, labels, n}."""
    out: dict[str, dict] = {}
    for row in rows:
        e = out.setdefault(row[key].value, {"iri": row[key].value, "labels": {}, "n": 0})
        e["labels"].update({k: v for k, v in _label(row).items() if k not in e["labels"]})
        if count and count in row:
            e["n"] = int(row[count].value)
    lang = get_lang()
    return sorted(out.values(), key=lambda e: search_index.fold(d.pick(e["labels"], lang, e["iri"])))


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


def _ontology(b: str) -> str:
    return f"{b}ontology#"


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
    rows = d.select(backend(), f"""SELECT ?c (COUNT(DISTINCT ?x) AS ?n) WHERE {{
        VALUES ?c {{ <{_ontology(b)}Initiative> <http://www.w3.org/ns/org#Organization> <{SKOS}Concept> }} ?x a ?c }} GROUP BY ?c""")
    counts = {r["c"].value.rsplit("#", 1)[-1]: int(r["n"].value) for r in rows}
    link = linker()
    jsonld = {"@context": "https://schema.org", "@type": "Dataset", "@id": link.local(f"{b}catalog#dataset"),
              "name": "cohesio", "url": request.host_url,
              "description": "Exemples d'actions de cohésion sociale et solidarité intergénérationnelle et des territoires",
              "license": LICENCE, "inLanguage": ["fr", "en"],
              "distribution": [{"@type": "DataDownload", "contentUrl": request.host_url + "dumps/latest/cohesio.ttl",
                                "encodingFormat": "text/turtle"}]}
    response = _page("home.html", "home", counts=counts, licence=LICENCE, jsonld=schema_jsonld(jsonld),
                     graphs=backend().graphs())
    response.vary.add("Accept")
    return response


@blueprint.route("/themes", methods=["GET"])
def themes() -> Response:
    b = base_iri()
    lang = get_lang()
    rows = d.select(backend(), f"""SELECT ?t ?tl ?p ?pl ?i ?il WHERE {{
        ?t <{SKOS}inScheme> <{b}id/scheme/themes> . OPTIONAL {{ ?t <{SKOS}prefLabel> ?tl FILTER(lang(?tl) = "{lang}") }}
        OPTIONAL {{ ?p <{SKOS}inScheme> <{b}id/scheme/practices> ; <{DCT}subject> ?t .
                   OPTIONAL {{ ?p <{SKOS}prefLabel> ?pl FILTER(lang(?pl) = "{lang}") }}
                   OPTIONAL {{ ?i a <{_ontology(b)}Initiative> ; <{DCT}type> ?p .
                              OPTIONAL {{ ?i <http://www.w3.org/2000/01/rdf-schema#label> ?il FILTER(lang(?il) = "{lang}") }} }} }}
    }}""")
    tree: dict[str, dict] = {}
    for r in rows:
        t = tree.setdefault(r["t"].value, {"iri": r["t"].value, "label": r["tl"].value if "tl" in r else r["t"].value,
                                            "practices": {}})
        if "p" in r:
            p = t["practices"].setdefault(r["p"].value, {"iri": r["p"].value, "label": r["pl"].value if "pl" in r
                                                         else r["p"].value, "initiatives": {}})
            if "i" in r:
                p["initiatives"][r["i"].value] = r["il"].value if "il" in r else r["i"].value
    fold = search_index.fold
    ordered = sorted(tree.values(), key=lambda t: fold(t["label"]))
    for t in ordered:
        t["practices"] = sorted(t["practices"].values(), key=lambda p: fold(p["label"]))
        for p in t["practices"]:
            p["initiatives"] = sorted(p["initiatives"].items(), key=lambda kv: fold(kv[1]))
    return _page("themes.html", "themes", themes=ordered)


@blueprint.route("/territories", methods=["GET"])
def territories() -> Response:
    """Régions → départements → places with initiatives; counts roll up along igeo:subdivisionDe."""
    b = base_iri()
    lang = get_lang()
    rows = d.select(backend(), f"""SELECT ?t ?tl ?dep ?dl ?reg ?rl (COUNT(DISTINCT ?i) AS ?n) WHERE {{
        ?i a <{_ontology(b)}Initiative> ; <{DCT}spatial> ?t .
        OPTIONAL {{ ?t <http://www.w3.org/2000/01/rdf-schema#label> ?tl FILTER(lang(?tl) = "{lang}") }}
        OPTIONAL {{ ?t <{IGEO}subdivisionDe>* ?dep . ?dep a <{IGEO}Departement> .
                   OPTIONAL {{ ?dep <http://www.w3.org/2000/01/rdf-schema#label> ?dl FILTER(lang(?dl) = "{lang}") }} }}
        OPTIONAL {{ ?t <{IGEO}subdivisionDe>* ?reg . ?reg a <{IGEO}Region> .
                   OPTIONAL {{ ?reg <http://www.w3.org/2000/01/rdf-schema#label> ?rl FILTER(lang(?rl) = "{lang}") }} }}
    }} GROUP BY ?t ?tl ?dep ?dl ?reg ?rl""")
    # initiatives per région / département (distinct: one initiative with two places counts once)
    per = d.select(backend(), f"""SELECT ?u (COUNT(DISTINCT ?i) AS ?n) WHERE {{
        ?i a <{_ontology(b)}Initiative> ; <{DCT}spatial> ?t . ?t <{IGEO}subdivisionDe>* ?u .
        {{ ?u a <{IGEO}Departement> }} UNION {{ ?u a <{IGEO}Region> }} }} GROUP BY ?u""")
    counts = {r["u"].value: int(r["n"].value) for r in per}
    regions: dict[str, dict] = {}
    other: dict[str, dict] = {}
    fold = search_index.fold
    for r in rows:
        place = {"iri": r["t"].value, "label": r["tl"].value if "tl" in r else d.fallback_label(r["t"].value),
                 "n": int(r["n"].value)}
        if "reg" not in r:
            other[place["iri"]] = place
            continue
        reg = regions.setdefault(r["reg"].value, {"iri": r["reg"].value, "label": r["rl"].value if "rl" in r else
                                                  r["reg"].value, "n": counts.get(r["reg"].value, 0), "deps": {}})
        if "dep" not in r:
            reg.setdefault("own", {})[place["iri"]] = place
            continue
        dep = reg["deps"].setdefault(r["dep"].value, {"iri": r["dep"].value, "label": r["dl"].value if "dl" in r
                                                      else r["dep"].value, "n": counts.get(r["dep"].value, 0),
                                                      "places": {}})
        if place["iri"] != dep["iri"]:
            dep["places"][place["iri"]] = place
    ordered = sorted(regions.values(), key=lambda r: fold(r["label"]))
    for reg in ordered:
        reg["deps"] = sorted(reg["deps"].values(), key=lambda x: fold(x["label"]))
        reg["own"] = sorted(reg.get("own", {}).values(), key=lambda x: fold(x["label"]))
        for dep in reg["deps"]:
            dep["places"] = sorted(dep["places"].values(), key=lambda x: fold(x["label"]))
    return _page("territories.html", "territories", regions=ordered,
                 other=sorted(other.values(), key=lambda x: fold(x["label"])))


def _simple_list(template_title: str, query: str, variant: str) -> Response:
    entries = _entries(d.select(backend(), query), count="n")
    return _page("list.html", variant, entries=entries, title_key=template_title)


@blueprint.route("/actors", methods=["GET"])
def actors() -> Response:
    b = base_iri()
    return _simple_list("Actors", f"""SELECT ?x ?l ?n WHERE {{
        {{ SELECT ?x (COUNT(DISTINCT ?i) AS ?n) WHERE {{ ?x a <http://www.w3.org/ns/org#Organization> .
           OPTIONAL {{ ?i a <{_ontology(b)}Initiative> ; ?role ?x }} }} GROUP BY ?x }}
        OPTIONAL {{ ?x <http://www.w3.org/2000/01/rdf-schema#label> ?l }} }}""", "actors")


@blueprint.route("/audiences", methods=["GET"])
def audiences() -> Response:
    b = base_iri()
    return _simple_list("Audiences", f"""SELECT ?x ?l ?n WHERE {{
        {{ SELECT ?x (COUNT(DISTINCT ?i) AS ?n) WHERE {{ ?x <{SKOS}inScheme> <{b}id/scheme/audiences> .
           OPTIONAL {{ ?i <{DCT}audience> ?x }} }} GROUP BY ?x }}
        OPTIONAL {{ ?x <{SKOS}prefLabel> ?l }} }}""", "audiences")


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

