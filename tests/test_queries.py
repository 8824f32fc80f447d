"""The header of the example queries (cohesio.queries) and the files of queries/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # works before the package is installed
    sys.path.insert(0, str(ROOT / "src"))

import pyoxigraph as ox  # noqa: E402

from cohesio.queries import Param, QueryFileError, load_queries, parse_query  # noqa: E402

QUERIES = ROOT / "queries"

GOOD = """\
# title@fr: Initiatives par thème
# title@en: Initiatives by theme
# description@fr: Les initiatives d'un thème,
#   et de ses sous-thèmes.
# description@en: The initiatives of a theme,
#   and of its sub-topics.
# param theme: iri; default=https://w3id.org/cohesio/id/theme/solidarite; example=https://w3id.org/cohesio/id/theme/famille
# param lang: string; default=fr; values=fr|en
PREFIX dct: <http://purl.org/dc/terms/>
# a comment in the body mentions $theme and is kept
SELECT ?i ?themes WHERE {
  ?i dct:subject $theme ; <http://example.org/$theme> ?themes .
  FILTER (lang(?themes) = $lang && ?themes != "$theme")
}
"""


def test_good_header() -> None:
    query = parse_query(GOOD, "queries/by-theme.rq")
    assert query.name == "by-theme"
    assert query.title == {"fr": "Initiatives par thème", "en": "Initiatives by theme"}
    assert query.description == {"fr": "Les initiatives d'un thème, et de ses sous-thèmes.",
                                 "en": "The initiatives of a theme, and of its sub-topics."}
    assert query.params == [
        Param("theme", "iri", "https://w3id.org/cohesio/id/theme/solidarite",
              "https://w3id.org/cohesio/id/theme/famille", ()),
        Param("lang", "string", "fr", None, ("fr", "en")),
    ]
    assert query.text == GOOD
    assert query.header_lines == 8
    assert query.body.startswith("PREFIX dct:")
    assert query.title_in("en") == "Initiatives by theme"


def test_bind_replaces_only_the_parameter_variables() -> None:
    query = parse_query(GOOD, "by-theme.rq")
    bound = query.bind()
    assert "dct:subject <https://w3id.org/cohesio/id/theme/solidarite> ;" in bound
    assert 'lang(?themes) = "fr"' in bound
    # not a longer variable, not inside an IRI, a string or a comment
    assert "?themes" in bound and "<http://example.org/$theme>" in bound and '"$theme"' in bound
    assert "mentions $theme and" in bound
    assert "<https://w3id.org/cohesio/id/theme/famille>" in query.bind({"theme": "https://w3id.org/cohesio/id/theme/famille"})
    assert query.bind(header=False).startswith("PREFIX dct:")
    with pytest.raises(ValueError):
        query.bind({"lang": "de"})  # not among the values
    with pytest.raises(ValueError):
        query.bind({"theme": "not an iri"})
    with pytest.raises(ValueError):
        query.bind({"nope": "x"})
    ox.Store().query(bound)  # still a valid query


def test_string_parameter_is_escaped() -> None:
    text = '# title@fr: t\n# title@en: t\n# param s: string; default=x\nSELECT * WHERE { ?a ?b $s }\n'
    query = parse_query(text, "s.rq")
    bound = query.bind({"s": 'a"b\\c\nd'})
    assert '"a\\"b\\\\c\\nd"' in bound
    ox.Store().query(bound)


def _error(text: str, name: str = "bad.rq") -> QueryFileError:
    with pytest.raises(QueryFileError) as info:
        parse_query(text, Path("queries") / name)
    return info.value


@pytest.mark.parametrize(
    ("header", "line", "words"),
    [
        ("# title@fr: a\n# title@en: b\n# subject: x\n", 3, ("subject",)),
        ("# title@fr: a\n# title@en: b\n# just a free comment\n", 3, ("just a free comment",)),
        ("# title@fr: a\n# title@de: b\n", 2, ("title@de",)),
        ("# title@fr: a\n# title@en: b\n# title@fr: c\n", 3, ("title@fr", "1")),
        ("# title@fr: a\n# title@en:\n", 2, ("title@en",)),
        ("# title@fr: a\n# title@en: b\n# param x: uri; default=a\n", 3, ("uri",)),
        ("# title@fr: a\n# title@en: b\n# param x: iri\n", 3, ("default",)),
        ("# title@fr: a\n# title@en: b\n# param x: iri; default=pas une iri\n", 3, ("pas une iri",)),
        ("# title@fr: a\n# title@en: b\n# param x: integer; default=1; colour=red\n", 3, ("colour=red",)),
        ("# title@fr: a\n# title@en: b\n# param x: string; default=c; values=a|b\n", 3, ("values",)),
        ("# title@fr: a\n# title@en: b\n# param unused: string; default=c\n", 3, ("unused",)),
        ("# title@fr: a\n# title@en: b\n# param 1x: string; default=c\n", 3, ("1x",)),
        ("# title@fr: a\n# title@en: b\n# description@en: only English\n", 3, ("@fr",)),
    ],
)
def test_malformed_header_names_file_and_line(header: str, line: int, words: tuple[str, ...]) -> None:
    error = _error(header + "SELECT * WHERE { ?s ?p $x }\n")
    message = str(error)
    assert error.line == line
    assert f"bad.rq, ligne {line} :" in message and f"bad.rq, line {line}:" in message
    for word in words:
        assert word in message
    assert " / " in message  # French, then English


def test_missing_title() -> None:
    error = _error("# title@fr: seulement en français\nSELECT * WHERE { ?s ?p ?o }\n")
    assert "title@en" in str(error) and "bad.rq" in str(error)


def test_no_header_at_all() -> None:
    assert "title@fr" in str(_error("SELECT * WHERE { ?s ?p ?o }\n"))


def test_load_queries_sorted_and_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "b.rq").write_text("# title@fr: B\n# title@en: B\nASK {}\n", encoding="utf-8")
    (tmp_path / "a.rq").write_text("# title@fr: A\n# title@en: A\nASK {}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a query", encoding="utf-8")
    assert [q.name for q in load_queries(tmp_path)] == ["a", "b"]
    assert load_queries(tmp_path / "absent") == []
    (tmp_path / "c.rq").write_text("# title@fr: C\n# titel@en: C\nASK {}\n", encoding="utf-8")
    with pytest.raises(QueryFileError, match=r"c\.rq, line 2"):
        load_queries(tmp_path)


# ------------------------------------------------------------------ the files of queries/

FILES = sorted(QUERIES.glob("*.rq"))


def test_there_are_example_queries() -> None:
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_parses(path: Path) -> None:
    (query,) = [q for q in load_queries(QUERIES) if q.name == path.stem]
    assert set(query.title) == {"fr", "en"} and set(query.description) == {"fr", "en"}
    store = ox.Store()
    store.query(query.text)  # as it is: $param is just a variable
    store.query(query.bind())  # with the defaults
    examples = {p.name: p.example for p in query.params if p.example}
    store.query(query.bind(examples))


@pytest.fixture(scope="module")
def published_data() -> ox.Store:
    """The project's own sources, each in its named graph, as the build loads them."""
    from cohesio.build import load_sources
    from cohesio.config import CANONICAL_BASE_IRI
    from cohesio.sources import discover

    sources = discover(ROOT)
    if not sources:
        pytest.skip("no source data in the project")
    store = ox.Store()
    load_sources(store, sources, CANONICAL_BASE_IRI)
    return store


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_example_returns_rows_on_the_data(path: Path, published_data: ox.Store) -> None:
    (query,) = [q for q in load_queries(QUERIES) if q.name == path.stem]
    rows = list(published_data.query(query.bind(), use_default_graph_as_union=True))
    assert rows, f"{path.name} returns no row with its defaults"


def test_loaded_queries_follow_edits_of_the_directory(tmp_path):
    from cohesio.queries import load_queries

    source = next(Path(__file__).resolve().parents[1].joinpath("queries").glob("*.rq"))
    (tmp_path / "one.rq").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    assert [q.name for q in load_queries(tmp_path)] == ["one"]
    assert [q.name for q in load_queries(tmp_path)] == ["one"]  # from the cache
    (tmp_path / "two.rq").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    assert [q.name for q in load_queries(tmp_path)] == ["one", "two"]
    (tmp_path / "one.rq").unlink()
    assert [q.name for q in load_queries(tmp_path)] == ["two"]
