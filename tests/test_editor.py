"""The browser query editor served at GET /sparql (cohesio.web.editor) and its language handling."""

from __future__ import annotations

import json
import re
import sys
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # works before the package is installed
    sys.path.insert(0, str(ROOT / "src"))

import pyoxigraph as ox  # noqa: E402

from cohesio.config import Settings  # noqa: E402
from cohesio.namespaces import PREFIXES  # noqa: E402
from cohesio.sparql.executor import Job, Outcome, evaluate  # noqa: E402
from cohesio.web import create_app, editor, i18n  # noqa: E402

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

TINY = """\
@prefix coh: <https://w3id.org/cohesio/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/cohesio/id/initiative/bureau-des-temps--rennes> a coh:Initiative ;
    rdfs:label "Bureau des temps — Rennes"@fr , "Time office — Rennes"@en .
"""


class TinyBackend:
    """A backend over an in-memory store, enough for the web layer."""

    version = "test"

    def __init__(self) -> None:
        self.store = ox.Store()
        self.store.load(TINY.encode(), format=ox.RdfFormat.TURTLE,
                        to_graph=ox.NamedNode("https://w3id.org/cohesio/graph/guide"))

    def graphs(self) -> list[str]:
        return [g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode)]

    def run(self, job: Job, timeout: float | None = None) -> Outcome:
        return evaluate(self.store, job)

    def close(self) -> None:
        pass


def fake_assets(project: Path, version: str = "9.9.9") -> None:
    build = project / "node_modules" / "@zazuko" / "yasgui" / "build"
    build.mkdir(parents=True)
    (build / "yasgui.min.js").write_text("window.Yasgui = function () {};\n", encoding="utf-8")
    (build / "yasgui.min.css").write_text(".yasgui { color: black }\n", encoding="utf-8")
    (build.parent / "package.json").write_text(json.dumps({"name": "@zazuko/yasgui", "version": version}),
                                               encoding="utf-8")


def make_client(project: Path):
    app = create_app(Settings(project_dir=project), TinyBackend())
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project with editor files and one example query."""
    fake_assets(tmp_path)
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "labels.rq").write_text(
        "# title@fr: Les libellés\n# title@en: The labels\n"
        "# description@fr: Tous les libellés.\n# description@en: All the labels.\n"
        "# param lang: string; default=fr; values=fr|en\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT ?s ?label WHERE { ?s rdfs:label ?label FILTER (lang(?label) = $lang) }\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture()
def client(project: Path):
    return make_client(project)


class Links(HTMLParser):
    """Every URL the page makes the browser load or follow, and the scripts' attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.forms: list[dict[str, str | None]] = []
        self.in_noscript = 0
        self.noscript_tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href", "action", "poster", "data", "srcset", "formaction"):
            if attributes.get(name):
                self.urls.append((tag, name, attributes[name] or ""))
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "form":
            self.forms.append(attributes)
        if tag == "noscript":
            self.in_noscript += 1
        elif self.in_noscript:
            self.noscript_tags.append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        if tag == "noscript":
            self.in_noscript -= 1


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def editor_config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="editor-config">(.*?)</script>', html, re.S)
    assert match, "no editor configuration in the page"
    return json.loads(match.group(1))


# ------------------------------------------------------------------ the page and its languages


def test_browser_gets_the_editor_in_french_by_default(client) -> None:
    response = client.get("/sparql", headers=HTML)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Language"] == "fr"
    assert "Accept-Language" in response.headers["Vary"] and "Accept" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Éditeur de requêtes SPARQL" in html
    assert 'href="/sparql?lang=en"' in html  # the language switch


@pytest.mark.parametrize(
    ("query", "accept_language", "lang"),
    [
        ("?lang=en", None, "en"),
        ("?lang=fr", "en-GB,en;q=0.9", "fr"),  # the parameter wins over the header
        ("", "en-US,en;q=0.9,fr;q=0.5", "en"),
        ("", "de-DE,de;q=0.9,en;q=0.5", "en"),
        ("", "fr-CA", "fr"),
        ("", "de", "fr"),  # neither: French
        ("?lang=de", None, "fr"),
    ],
)
def test_language_choice(client, query: str, accept_language: str | None, lang: str) -> None:
    headers = dict(HTML)
    if accept_language:
        headers["Accept-Language"] = accept_language
    response = client.get("/sparql" + query, headers=headers)
    html = response.get_data(as_text=True)
    assert response.headers["Content-Language"] == lang
    assert f'<html lang="{lang}">' in html
    title = {"fr": "Éditeur de requêtes SPARQL", "en": "SPARQL query editor"}[lang]
    assert f"<h1>{title}</h1>" in html
    example = {"fr": "Les libellés", "en": "The labels"}[lang]
    assert example in html
    config = editor_config(html)
    assert config["lang"] == lang
    assert f'FILTER (lang(?label) = "{lang}")' in config["defaultQuery"]


def test_english_page_has_no_french_ui_text(client) -> None:
    html = client.get("/sparql?lang=en", headers=HTML).get_data(as_text=True)
    for french in ("Requête", "Exemples de requêtes", "Point d'accès", "Lancer"):
        assert french not in html


def test_machines_still_get_the_service_description(client) -> None:
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.mimetype == "text/turtle"
    assert b"sparql-service-description" in response.data


def test_endpoint_url_and_prefixes(client) -> None:
    html = client.get("/sparql", headers=HTML, base_url="https://data.example.org").get_data(as_text=True)
    config = editor_config(html)
    assert config["endpoint"] == "https://data.example.org/sparql"
    assert "<code class=\"endpoint\">https://data.example.org/sparql</code>" in html
    assert config["prefixes"] == PREFIXES
    for prefix, namespace in PREFIXES.items():
        assert f"PREFIX {prefix}: <{namespace}>" in config["defaultQuery"]
        assert f"PREFIX {prefix}: &lt;{namespace}&gt;" in html
    assert 'method: "POST"' in html
    ox.Store().query(config["defaultQuery"])  # the default query is valid SPARQL


def test_default_query_lists_initiatives_on_the_endpoint(client) -> None:
    config = editor_config(client.get("/sparql?lang=en", headers=HTML).get_data(as_text=True))
    response = client.post("/sparql", data={"query": config["defaultQuery"]},
                           headers={"Accept": "application/sparql-results+json"})
    bindings = response.get_json()["results"]["bindings"]
    assert [b["label"]["value"] for b in bindings] == ["Time office — Rennes"]


def test_examples_are_offered_with_defaults(client) -> None:
    html = client.get("/sparql?lang=en", headers=HTML).get_data(as_text=True)
    (example,) = editor_config(html)["examples"]
    assert example["title"] == "The labels"
    assert "$lang" not in example["query"] and 'lang(?label) = "fr"' in example["query"]
    assert "title@fr" not in example["query"]  # the header is not shown in the editor
    assert 'data-example="0"' in html
    assert "All the labels." in html


def test_only_local_urls(client) -> None:
    response = client.get("/sparql", headers=HTML)
    html = response.get_data(as_text=True)
    links = parse(html)
    assert links.urls
    for tag, attribute, url in links.urls:
        if re.match(r"(?i)^(https?:)?//", url):
            assert url.startswith("http://localhost/"), f"<{tag} {attribute}={url!r}> leaves the server"
        assert not url.lower().startswith("javascript:")
    for style in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S):
        assert "@import" not in style and not re.search(r"url\(\s*['\"]?(https?:)?//", style)
    # the scripts: the editor's file from this server, then the inline start-up script
    sources = [s["src"] for s in links.scripts if s.get("src")]
    assert sources == ["/assets/yasgui/yasgui.min.js?v=9.9.9"]
    assert '<link rel="stylesheet" href="/assets/yasgui/yasgui.min.css?v=9.9.9">' in html


def test_content_security_policy_keeps_requests_local(client) -> None:
    response = client.get("/sparql", headers=HTML)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    inline = [s for s in parse(response.get_data(as_text=True)).scripts if not s.get("src") and not s.get("type")]
    assert inline and all(s.get("nonce") == nonce for s in inline)
    assert client.get("/sparql", headers=HTML).headers["Content-Security-Policy"] != policy  # fresh nonce


def test_no_javascript_form(client) -> None:
    html = client.get("/sparql", headers=HTML).get_data(as_text=True)
    links = parse(html)
    tags = [tag for tag, _ in links.noscript_tags]
    assert "form" in tags and "textarea" in tags and "select" in tags
    (form,) = links.forms
    assert form["action"] == "/sparql" and form["method"] == "get"
    assert '<textarea id="plain-query" name="query"' in html
    assert '<select id="plain-format" name="format">' in html
    assert '<option value="turtle">' in html and '<option value="csv" selected>' in html
    assert "JavaScript est désactivé" in html


def test_no_javascript_form_works(client) -> None:
    response = client.get("/sparql", query_string={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1",
                                                   "format": "csv"}, headers=HTML)
    assert response.status_code == 200 and response.mimetype == "text/csv"


def test_script_in_a_query_title_is_escaped(project: Path) -> None:
    (project / "queries" / "evil.rq").write_text(
        '# title@fr: <script>alert("fr")</script>\n# title@en: <script>alert("en")</script>\n'
        "# description@fr: <img src=x onerror=alert(1)>\n# description@en: <b>bold</b>\nASK {}\n",
        encoding="utf-8",
    )
    html = make_client(project).get("/sparql", headers=HTML).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#34;fr&#34;)&lt;/script&gt;" in html
    assert "\\u003cscript\\u003e" in html  # inside the JSON configuration
    titles = [e["title"] for e in editor_config(html)["examples"]]
    assert '<script>alert("fr")</script>' in titles


def test_malformed_example_does_not_break_the_page(project: Path) -> None:
    (project / "queries" / "broken.rq").write_text("# title@fr: x\n# tilte@en: y\nASK {}\n", encoding="utf-8")
    response = make_client(project).get("/sparql", headers=HTML)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "broken.rq, line 2" in html and "broken.rq, ligne 2" in html


def test_missing_assets_leave_a_working_page(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    response = client.get("/sparql", headers=HTML)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "npm ci" in html
    text = unescape(html)
    assert "Lancez « npm ci »" in text and "Run 'npm ci'" in text
    assert "<noscript>" not in html  # the form is shown to everyone
    assert '<form class="plain-form" action="/sparql" method="get">' in html
    assert not [s for s in parse(html).scripts if s.get("src")]
    assert "Aucun exemple de requête n'est publié." in html
    assert client.get("/assets/yasgui/yasgui.min.js").status_code == 404


# ------------------------------------------------------------------ the assets


def test_assets_are_served_with_type_and_long_cache(client) -> None:
    script = client.get("/assets/yasgui/yasgui.min.js?v=9.9.9")
    assert script.status_code == 200
    assert script.mimetype in ("text/javascript", "application/javascript")
    assert script.data == b"window.Yasgui = function () {};\n"
    assert "max-age=31536000" in script.headers["Cache-Control"]
    assert "public" in script.headers["Cache-Control"]
    style = client.get("/assets/yasgui/yasgui.min.css")
    assert style.status_code == 200 and style.mimetype == "text/css"
    assert "max-age=31536000" in style.headers["Cache-Control"]


def test_assets_stay_in_their_directory(client) -> None:
    assert client.get("/assets/yasgui/nothing.js").status_code == 404
    assert client.get("/assets/yasgui/../package.json").status_code == 404
    assert client.get("/assets/yasgui/%2e%2e/package.json").status_code == 404
    missing = client.get("/assets/yasgui/nothing.js")
    assert "ne correspond" in missing.get_data(as_text=True)  # bilingual error


REAL_BUILD = ROOT / "node_modules" / editor.PACKAGE / "build"


@pytest.mark.skipif(not (REAL_BUILD / editor.SCRIPT).is_file(), reason="npm ci has not been run")
def test_real_package_is_served_and_loads_nothing_from_a_cdn() -> None:
    client = make_client(ROOT)
    html = client.get("/sparql", headers=HTML).get_data(as_text=True)
    version = json.loads((REAL_BUILD.parent / "package.json").read_text())["version"]
    assert f"/assets/yasgui/yasgui.min.js?v={version}" in html
    script = client.get(f"/assets/yasgui/yasgui.min.js?v={version}")
    style = client.get(f"/assets/yasgui/yasgui.min.css?v={version}")
    assert script.status_code == 200 and len(script.data) > 100_000
    assert style.status_code == 200 and style.mimetype == "text/css"
    for body in (script.get_data(as_text=True), style.get_data(as_text=True)):
        for cdn in ("unpkg.com", "jsdelivr", "cdnjs", "fonts.googleapis", "fonts.gstatic"):
            assert cdn not in body
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", style.get_data(as_text=True))
    # the only third-party service the bundle can call is switched off by the page
    assert "lov.linkeddata.es" in script.get_data(as_text=True)
    assert 'Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"]' in html
    # the real example queries are offered
    assert len(editor_config(html)["examples"]) >= 5


# ------------------------------------------------------------------ catalogues


def test_every_ui_text_is_translated() -> None:
    from babel.messages.extract import extract_from_dir

    web = ROOT / "src" / "cohesio" / "web"
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    msgids = {message for _, _, message, *_ in extract_from_dir(str(web), method_map) if isinstance(message, str)}
    assert "SPARQL query editor" in msgids and "Query" in msgids
    for lang in i18n.SUPPORTED:
        catalogue = i18n.translations(lang)
        for msgid in msgids:
            assert msgid in catalogue._catalog, f"{lang}: no translation for {msgid!r}"  # noqa: SLF001
            assert catalogue.ugettext(msgid).strip()
    assert i18n.translations("fr").ugettext("Prefixes") == "Préfixes"


def test_get_lang_outside_a_request_is_french() -> None:
    assert i18n.get_lang() == "fr"
    assert i18n.gettext("Prefixes") == "Préfixes"
