"""Fuzzing the HTTP surface with hypothesis, through Flask's test client.

Arbitrary paths under ``/id/`` and ``/doc/`` (unicode, percent-encoding, ``..``, very long),
arbitrary ``Accept`` and ``Accept-Language`` headers, arbitrary query strings on every GET route of
the app's URL map, arbitrary SPARQL text and bodies with arbitrary content types on ``/sparql``,
arbitrary parameter values on ``/api/<name>``, and uploads to the write API without valid
credentials. Whatever comes in:

* never a 5xx, except the documented 503 (a query stopped by ``query_timeout``, or a query process
  that died), which always carries ``Retry-After``;
* every answer within a bound (the fixture's ``query_timeout`` of 2 s, plus a margin);
* the published store unchanged (every file of ``versions/``, the ``current`` pointer, and the
  number of triples).

Most runs are on the small fixture store (``sparql_*`` fixtures of conftest.py, short limits); the
pages that depend on real data (``/id/``, ``/doc/``, the browse pages) are also fuzzed on the real
build. Failing examples found while writing this file are kept as explicit tests at the end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohesio import versions
from cohesio.queries import load_queries

ROOT = Path(__file__).resolve().parents[1]
#: The fixture's query_timeout is 2 s (conftest.SPARQL_LIMITS); a request may also wait for a free
#: query process, and the machine is shared: no request may take longer than this.
BOUND = 8.0
#: Examples per test; COHESIO_FUZZ_EXAMPLES=1000 for a longer hunt (the default keeps the file under a minute).
EXAMPLES = int(os.environ.get("COHESIO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=max(10, EXAMPLES // 3))

# ---------------------------------------------------------------- strategies

HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f")
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
RAW_PIECES = st.sampled_from([
    "..", ".", "%2e%2e", "%2F", "%2f", "%00", "%ZZ", "%", "%C3", "%C3%28", "%FF%FE", "%E2%82", "%ED%A0%80",
    "commune", "42218", "initiative", "i01", "commune/42218", "initiative/i01", "x.ttl", "x.html", "i01.jsonld",
    ".rdf", ".nt", ";", "?", "#", "\\", "~", "//", "<", ">", '"', "{", "}", "|", "^", "`", " ", "%20", "+",
    "\ufffd", "é", "Œ", "%C5%92", "\u202e", "\x00", "\t", "a" * 3000,
])


def _quoted(text: str) -> str:
    return quote(text, safe="/%;:@&=+$,!~*'()")


PATHS = st.lists(st.one_of(RAW_PIECES, ANY_TEXT.map(_quoted), ANY_TEXT), max_size=8).map("/".join)

MEDIA = st.one_of(
    st.sampled_from(["text/html", "application/xhtml+xml", "text/turtle", "application/ld+json", "application/rdf+xml",
                     "application/n-triples", "application/sparql-results+json", "application/sparql-results+xml",
                     "text/csv", "text/tab-separated-values", "application/json", "application/xml", "text/plain",
                     "*/*", "text/*", "application/*", "image/png", "", "*", "/", ";", ",", "text/html;level=1",
                     "text/csv; charset=utf-8", "TEXT/HTML"]),
    st.text(HEADER_CHARS, max_size=30),
)
Q = st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=1.0", ";q=abc", ";q=-1", ";q=2", ";q=1e400", ";q=nan",
                     ";q=", ";charset=utf-8", ";q=0.000001", ";q=0.5;q=0.7", ";level=2;q=0.3"])
ACCEPT = st.one_of(st.lists(st.tuples(MEDIA, Q).map("".join), max_size=6).map(", ".join),
                   st.text(HEADER_CHARS, max_size=200))
LANGS = st.one_of(
    st.lists(st.tuples(st.sampled_from(["fr", "en", "de", "*", "fr-FR", "en-GB", "FR", "x-klingon", "", "-", "é"]),
                       Q).map("".join), max_size=5).map(", ".join),
    st.text(HEADER_CHARS, max_size=60),
)
KNOWN_KEYS = ["page", "lang", "format", "q", "limit", "offset", "checksums", "query", "update", "default-graph-uri",
              "named-graph-uri", "v", "text", "commune", "theme", "region", "departement", "initiative", "actor",
              "audience", "practice", "category", "body", "x"]
VALUES = st.one_of(
    ANY_TEXT,
    st.sampled_from(["", "0", "-1", "1", "99999999999999999999", "1e9", "0x10", " 1", "１", "en", "fr", "spdx", "json",
                     "xml", "turtle", "csv", "https://w3id.org/cohesio/id/commune/42218", "<x>", "a" * 3000,
                     "SELECT * WHERE { ?s ?p ?o }", "ASK {}", "INSERT DATA { <a:b> <a:c> <a:d> }", "%ZZ", "%C3",
                     "\x00"]),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
)


@st.composite
def query_strings(draw) -> str:
    """A raw query string: known and arbitrary keys, percent-encoded or raw values, broken escapes."""
    pairs = draw(st.lists(st.tuples(st.one_of(st.sampled_from(KNOWN_KEYS), ANY_TEXT), VALUES), max_size=6))
    out = []
    for key, value in pairs:
        style = draw(st.sampled_from(["quoted", "raw", "plus"]))
        if style == "quoted":
            out.append(f"{quote(key, safe='')}={quote(value, safe='')}")
        elif style == "plus":
            out.append(f"{quote(key, safe='')}={quote(value, safe='').replace('%20', '+')}")
        else:
            out.append(f"{key}={value}".replace("&", "%26").replace("#", "%23"))
    extra = draw(st.sampled_from(["", "&", "&&", "=", "%", "%ZZ=1", "a=%C3", "=x", "&=&"]))
    return "&".join(out) + extra


SPARQL_TOKENS = st.sampled_from([
    "SELECT", "CONSTRUCT", "ASK", "DESCRIBE", "WHERE", "{", "}", "(", ")", "?s", "?p", "?o", "$x", "*", ".", ";", ",",
    "<https://w3id.org/cohesio/id/commune/42218>", "<urn:x>", "<>", "<a b>", '"x"', '"é"@fr', '"1"^^<urn:t>', "1", "-1.5e3",
    "FILTER", "REGEX(?o, \"(a+)+b\")", "STRLEN", "CONCAT", "BIND", "AS", "VALUES", "LIMIT", "OFFSET", "10",
    "ORDER BY", "GROUP BY", "HAVING", "COUNT(*)", "DISTINCT", "OPTIONAL", "UNION", "MINUS", "GRAPH", "FROM",
    "FROM NAMED", "SERVICE", "SERVICE SILENT <http://127.0.0.1:9/sparql>", "INSERT DATA", "DELETE WHERE", "LOAD",
    "CLEAR ALL", "DROP GRAPH", "CREATE", "WITH", "USING", "PREFIX", "coh:", "rdfs:label", "a", "BASE", "#", "\n",
    "/", "|", "^", "+", "?", "!", "rdf:type*", "NOT EXISTS", "EXISTS", "IN", "IF", "COALESCE", "SUM", "SAMPLE",
    "LANG", "LANGMATCHES", "STR", "IRI", "URI", "BNODE", "UUID()", "NOW()", "RAND()", "[]", "_:b", "((((((((((",
    "))))))))))",
])
SPARQL = st.one_of(
    st.lists(SPARQL_TOKENS, max_size=30).map(" ".join),
    st.text(max_size=300),
    st.builds(lambda n: "SELECT * WHERE " + "{ " * n + "?s ?p ?o" + " }" * n, st.integers(1, 3000)),
    st.builds(lambda n: "ASK { FILTER(" + "(" * n + "1" + ")" * n + ") }", st.integers(1, 3000)),
    st.just("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o . ?q ?r ?t }"),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(["application/sparql-query", "application/sparql-query; charset=utf-8",
                     "application/sparql-query; charset=latin-1", "application/x-www-form-urlencoded",
                     "application/x-www-form-urlencoded; charset=utf-8", "application/sparql-update",
                     "multipart/form-data; boundary=x", "multipart/form-data", "text/plain", "text/turtle",
                     "text/csv", "application/json", "application/n-quads", "application/octet-stream", "", ";",
                     "application/x-www-form-urlencoded; charset=utf-16"]),
    st.text(HEADER_CHARS, max_size=40),
)
BODIES = st.one_of(st.binary(max_size=600), SPARQL.map(lambda s: s.encode("utf-8")),
                   st.builds(lambda q: ("query=" + quote(q, safe="")).encode(), SPARQL),
                   st.just(b"query=%ZZ&query=%C3"), st.just("é".encode("latin-1")),
                   st.builds(lambda n: b"x" * n, st.integers(1, 20000)))


# ---------------------------------------------------------------- checks


def _store_digest(store_dir: Path) -> dict[str, str]:
    digest = {p.relative_to(store_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in sorted((store_dir / versions.VERSIONS).rglob("*")) if p.is_file()}
    digest["current ->"] = os.readlink(store_dir / versions.CURRENT)
    return digest


def _triples(store_dir: Path) -> int:
    return len(versions.current(store_dir).open_store())


def call(client, method: str, path: str, **kwargs):
    """One request, checked: no 5xx but the documented 503, within the bound. Returns the response."""
    if "?" in path and "query_string" in kwargs:  # a path that brings its own query string
        extra = kwargs.pop("query_string")
        path += ("&" + extra) if extra else ""
    started = time.monotonic()
    # As a full URL, so that a path starting with "//" stays a path (as a server reads it), not a host.
    response = client.open("http://localhost" + path, method=method, **kwargs)
    response.get_data()
    elapsed = time.monotonic() - started
    where = f"{method} {path!r} {kwargs!r}"[:600]
    assert elapsed < BOUND, f"{elapsed:.1f} s for {where}"
    if response.status_code >= 500:
        assert response.status_code == 503 and response.headers.get("Retry-After"), \
            f"{response.status_code} for {where}:\n{response.get_data(as_text=True)[:800]}"
    return response


class Guard:
    """The store of an app, as it was before the fuzzing: checked after each test."""

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        self.digest = _store_digest(store_dir)
        self.triples = _triples(store_dir)

    def check(self) -> None:
        assert _store_digest(self.store_dir) == self.digest, "the published store changed"
        assert _triples(self.store_dir) == self.triples


# ---------------------------------------------------------------- apps


@pytest.fixture(scope="module")
def fuzz_app(sparql_settings, sparql_backend, tmp_path_factory):
    """The fixture store with short limits, and the project's named queries for /api (the store has
    none of their data, so they answer empty tables, which is enough to fuzz their parameters)."""
    from cohesio.web import create_app

    extra = {}
    if hasattr(sparql_settings, "contributions_dir"):  # writes, if ever accepted, stay out of the repository
        extra["contributions_dir"] = tmp_path_factory.mktemp("fuzz-contributions")
    settings_ = dataclasses.replace(sparql_settings, project_dir=ROOT, **extra)
    app = create_app(settings_, sparql_backend)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def fuzz_guard(sparql_store_dir):
    return Guard(sparql_store_dir)


@pytest.fixture(scope="module")
def real_fuzz_app(real_build, tmp_path_factory):
    from cohesio.config import load_settings
    from cohesio.web import create_app

    store_dir = real_build.version.path.parent.parent
    extra = {}
    from cohesio.config import Settings
    if "contributions_dir" in {f.name for f in dataclasses.fields(Settings)}:
        extra["contributions_dir"] = tmp_path_factory.mktemp("fuzz-real-contributions")
    settings_ = load_settings(None, environ={}, project_dir=ROOT, store_dir=store_dir, query_timeout=2.0,
                              query_processes=2, **extra)
    app = create_app(settings_)
    app.config["TESTING"] = True
    yield app, Guard(store_dir)
    app.extensions["cohesio.backend"].close()


def get_routes(app) -> list[str]:
    """One URL for each GET rule of the app, its variables filled with a plausible value."""
    samples = {"filename": "yasgui.min.js", "extension": "ttl", "ext": "ttl", "name": "counts-per-theme",
               "number": 1, "path": "commune/42218", "version": "0.1", "slug": "i01", "seq": 1}
    urls = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        values = {arg: samples.get(arg, "x") for arg in rule.arguments}
        if rule.endpoint == "publishing.latest_dump" or rule.endpoint == "publishing.hashed_dump":
            values["name"] = "cohesio.ttl"
        try:
            urls.add(app.url_map.bind("localhost").build(rule.endpoint, values))
        except Exception:  # noqa: BLE001 - a rule that cannot be built with these values
            continue
    return sorted(urls)


# ---------------------------------------------------------------- /id/, /doc/ and headers


@FUZZ
@given(prefix=st.sampled_from(["/id/", "/doc/", "/graph/", "/ontology/", "/ontology.", "/catalog.", "/dumps/",
                               "/dumps/latest/", "/assets/yasgui/", "/api/", "/sitemap-", "/"]),
       path=PATHS, accept=st.one_of(st.none(), ACCEPT), lang=st.one_of(st.none(), LANGS))
def test_arbitrary_paths(fuzz_app, fuzz_guard, prefix, path, accept, lang):
    headers = {k: v for k, v in (("Accept", accept), ("Accept-Language", lang)) if v is not None}
    call(fuzz_app.test_client(), "GET", prefix + path, headers=headers)


@FUZZ
@given(data=st.data(), accept=ACCEPT, lang=LANGS, method=st.sampled_from(["GET", "HEAD"]))
def test_arbitrary_headers_on_every_get_route(fuzz_app, fuzz_guard, data, accept, lang, method):
    route = data.draw(st.sampled_from(get_routes(fuzz_app)))
    call(fuzz_app.test_client(), method, route, headers={"Accept": accept, "Accept-Language": lang})


@FUZZ
@given(data=st.data(), qs=query_strings(), accept=st.one_of(st.none(), ACCEPT))
def test_arbitrary_query_strings_on_every_get_route(fuzz_app, fuzz_guard, data, qs, accept):
    route = data.draw(st.sampled_from(get_routes(fuzz_app)))
    call(fuzz_app.test_client(), "GET", route, query_string=qs,
         headers={"Accept": accept} if accept is not None else {})
    fuzz_guard.check()


# ---------------------------------------------------------------- /sparql


@FUZZ
@given(query=SPARQL, how=st.sampled_from(["get", "form", "direct"]), accept=st.one_of(st.none(), ACCEPT),
       qs=st.one_of(st.just(""), query_strings()))
def test_arbitrary_sparql(fuzz_app, fuzz_guard, query, how, accept, qs):
    client = fuzz_app.test_client()
    headers = {"Accept": accept} if accept is not None else {}
    if how == "get":
        call(client, "GET", "/sparql", query_string="query=" + quote(query, safe="") + ("&" + qs if qs else ""),
             headers=headers)
    elif how == "form":
        call(client, "POST", "/sparql", data=("query=" + quote(query, safe="")).encode(), query_string=qs,
             headers={**headers, "Content-Type": "application/x-www-form-urlencoded"})
    else:
        call(client, "POST", "/sparql", data=query.encode("utf-8"), query_string=qs,
             headers={**headers, "Content-Type": "application/sparql-query"})
    fuzz_guard.check()


@FUZZ
@given(body=BODIES, ctype=CONTENT_TYPES, qs=st.one_of(st.just(""), query_strings()),
       method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]))
def test_arbitrary_bodies_on_sparql(fuzz_app, fuzz_guard, body, ctype, qs, method):
    call(fuzz_app.test_client(), method, "/sparql", data=body, query_string=qs, headers={"Content-Type": ctype})
    fuzz_guard.check()


# ---------------------------------------------------------------- /api/<name>


NAMED = load_queries(ROOT / "queries")


@st.composite
def api_calls(draw) -> str:
    query = draw(st.sampled_from(NAMED))
    suffix = draw(st.sampled_from(["", "", ".json", ".csv", ".srj", ".srx", ".tsv", ".xml", ".", ".json.csv"]))
    names = [p.name for p in query.params] + ["limit", "offset"]
    pairs = draw(st.lists(st.tuples(st.one_of(st.sampled_from(names), ANY_TEXT), VALUES), max_size=4))
    qs = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    return f"/api/{query.name}{suffix}" + (f"?{qs}" if qs else "")


@FUZZ
@given(url=api_calls(), accept=st.one_of(st.none(), ACCEPT))
def test_arbitrary_api_parameters(fuzz_app, fuzz_guard, url, accept):
    call(fuzz_app.test_client(), "GET", url, headers={"Accept": accept} if accept is not None else {})


# ---------------------------------------------------------------- uploads to the write API


@FEW
@given(data=st.data(), body=BODIES, ctype=CONTENT_TYPES,
       auth=st.one_of(st.none(), st.just("Bearer nope"), st.text(HEADER_CHARS, max_size=40)))
def test_uploads_without_valid_credentials_change_nothing(fuzz_app, fuzz_guard, data, body, ctype, auth):
    writes = [(rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"})[0]) for rule in fuzz_app.url_map.iter_rules()
              if rule.methods - {"GET", "HEAD", "OPTIONS"} and rule.endpoint != "sparql.endpoint"]
    if not writes:
        pytest.skip("no write route in this app")
    rule, method = data.draw(st.sampled_from(sorted(writes)))
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "1" if m.group(1) == "seq" else "i01", rule)
    headers = {"Content-Type": ctype}
    if auth is not None:
        headers["Authorization"] = auth
    response = call(fuzz_app.test_client(), method, path, data=body, headers=headers)
    assert response.status_code >= 400, (method, path, response.status_code)
    fuzz_guard.check()


# ---------------------------------------------------------------- on the real build


@FEW
@given(prefix=st.sampled_from(["/id/", "/doc/"]),
       path=st.one_of(PATHS, st.sampled_from(["commune/35238", "departement/35", "theme/solidarite", "commune/35238.ttl",
                                              "commune/35238.html", "region/53", "scheme/themes", "commune/2A004"])),
       accept=st.one_of(st.none(), ACCEPT), lang=st.one_of(st.none(), LANGS), qs=st.one_of(st.just(""), query_strings()))
def test_arbitrary_paths_and_headers_on_the_real_build(real_fuzz_app, prefix, path, accept, lang, qs):
    app, guard = real_fuzz_app
    headers = {k: v for k, v in (("Accept", accept), ("Accept-Language", lang)) if v is not None}
    call(app.test_client(), "GET", prefix + path, headers=headers, query_string=qs)


@FEW
@given(route=st.sampled_from(["/", "/themes", "/territories", "/actors", "/audiences", "/search", "/catalog",
                              "/sitemap.xml", "/.well-known/void", "/ontology"]),
       qs=query_strings(), accept=st.one_of(st.none(), ACCEPT), lang=st.one_of(st.none(), LANGS))
def test_browse_pages_on_the_real_build(real_fuzz_app, route, qs, accept, lang):
    app, guard = real_fuzz_app
    headers = {k: v for k, v in (("Accept", accept), ("Accept-Language", lang)) if v is not None}
    call(app.test_client(), "GET", route, headers=headers, query_string=qs)


def test_the_real_store_is_unchanged_by_the_fuzzing(real_fuzz_app):
    _, guard = real_fuzz_app
    guard.check()


# ---------------------------------------------------------------- examples kept as explicit tests


class _TimingOut:
    """A backend whose every query times out or whose query process dies (a query process busy with
    heavy queries, as under load: benchmarks/load.py found pages answering 500 then)."""

    version = "test"
    manifest = {"base_iri": "https://w3id.org/cohesio/", "version": "test"}

    def __init__(self, error: Exception) -> None:
        self.error = error

    def graphs(self) -> list[str]:
        return ["https://w3id.org/cohesio/graph/guide"]

    def run(self, job, timeout=None):
        raise self.error

    def close(self) -> None:
        pass


@pytest.mark.parametrize("error", ["timeout", "crashed"])
@pytest.mark.parametrize("path", ["/doc/commune/42218", "/id/commune/42218", "/themes", "/territories", "/actors",
                                  "/audiences", "/", "/search?q=caf%C3%A9", "/graph/guide", "/ontology"])
def test_a_page_whose_queries_time_out_is_a_503_not_a_500(sparql_settings, path, error):
    from cohesio.sparql.executor import QueryCrashed, QueryTimeout
    from cohesio.web import create_app

    app = create_app(dataclasses.replace(sparql_settings, project_dir=ROOT),
                     _TimingOut(QueryTimeout() if error == "timeout" else QueryCrashed()))
    response = app.test_client().get(path, headers={"Accept": "text/html"})
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"]
    text = response.get_data(as_text=True)
    assert ("secondes" in text and "seconds" in text) or ("processus" in text and "process" in text)
