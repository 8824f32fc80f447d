"""Running a named query of ``queries/`` for the REST API: validate, bind, page, format.

The web layer (:mod:`cohesio.web.api`) only reads the request and writes the response; everything
else is here so that it can be tested and reused without Flask.

* **Binding.** A parameter's value is checked against its type (and its ``values``), turned into an
  RDF term by pyoxigraph (``NamedNode``, ``Literal``: pyoxigraph refuses what is not an IRI and
  escapes literals itself), and bound by a ``VALUES`` block placed first in the query's WHERE group
  (:func:`cohesio.store.remote.bind_values`, shared with the remote backend). No text given by a
  caller is ever pasted into the query as such; the query runs unchanged on both backends.
* **Paging.** ``limit`` (1 … ``max_rows``, default ``max_rows``) and ``offset`` (0 … ``MAX_OFFSET``)
  become ``LIMIT limit+1 OFFSET offset`` appended to the query: one row more than asked tells
  whether a next page exists. The named queries have no top-level LIMIT/OFFSET of their own (a test
  checks it).
* **Bounds.** The job runs through the backend like any endpoint query: same time bound
  (``query_timeout``), same row bound (``max_rows``). A result cut at ``max_rows`` without the
  caller asking for a ``limit`` is *truncated*, said by ``Cohesio-Truncated`` as on ``/sparql``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable

import pyoxigraph as ox

from cohesio.queries import NamedQuery, Param, sparql_term
from cohesio.sparql import formats
from cohesio.sparql.executor import Job
from cohesio.store.remote import _lex, _shape, bind_values

XSD = "http://www.w3.org/2001/XMLSchema#"
#: Query-string names the API keeps for itself: a query parameter may not use them.
RESERVED = ("limit", "offset")
#: The largest ``offset`` accepted (beyond, no page can exist on a bounded dataset).
MAX_OFFSET = 1_000_000
#: The longest parameter value accepted, in characters.
MAX_VALUE_LENGTH = 2000

_DATATYPES = {"integer": XSD + "integer", "decimal": XSD + "decimal", "boolean": XSD + "boolean",
              "date": XSD + "date"}


@dataclass(frozen=True)
class OutputFormat:
    """A response format of the API: plain JSON, CSV, or a SPARQL results format."""

    name: str  # the extension (``/api/<name>.<ext>``)
    media_type: str
    sparql: formats.Format | None = None  # None: the plain JSON of the API

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


OUTPUT_FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat("json", "application/json"),
    OutputFormat("csv", "text/csv", formats.BY_NAME["csv"]),
    OutputFormat("srj", "application/sparql-results+json", formats.BY_NAME["json"]),
    OutputFormat("srx", "application/sparql-results+xml", formats.BY_NAME["xml"]),
    OutputFormat("tsv", "text/tab-separated-values", formats.BY_NAME["tsv"]),
)
BY_EXTENSION: dict[str, OutputFormat] = {f.name: f for f in OUTPUT_FORMATS}
BY_MEDIA: dict[str, OutputFormat] = {f.media_type: f for f in OUTPUT_FORMATS}


class ApiError(Exception):
    """A request the API refuses; ``status`` is the HTTP status, messages in French and English."""

    def __init__(self, status: int, message_fr: str, message_en: str, param: str | None = None) -> None:
        super().__init__(f"{message_fr} / {message_en}")
        self.status = status
        self.message_fr = message_fr
        self.message_en = message_en
        self.param = param


# ------------------------------------------------------------------ request


@dataclass(frozen=True)
class Call:
    """A validated call of a named query."""

    query: NamedQuery
    values: dict[str, str]  # parameter name -> value as given (defaults not included)
    limit: int
    offset: int
    limit_given: bool = False

    def terms(self) -> list[tuple[str, str]]:
        """(variable, N-Triples term) for every parameter, the default where none was given."""
        return [(p.name, str(rdf_term(p, self.values.get(p.name, p.default)))) for p in self.query.params]

    def text(self) -> str:
        """The query to run: parameters bound by a VALUES block, then the page's LIMIT/OFFSET."""
        bound = bind_values(self.query.text, self.terms())
        page = f"\nLIMIT {self.limit + 1}"
        if self.offset:
            page += f"\nOFFSET {self.offset}"
        return bound + page + "\n"

    def job(self, max_rows: int, prefixes: Iterable[tuple[str, str]] = ()) -> Job:
        # The SPARQL JSON results are read back by read_rows; max_rows caps what is read at the
        # page size, and the one extra row the LIMIT lets through marks a next page.
        return Job(query=self.text(), format="json", max_rows=min(self.limit, max_rows),
                   prefixes=tuple(prefixes))


def rdf_term(param: Param, value: str) -> ox.NamedNode | ox.Literal:
    """``value`` as an RDF term of ``param``'s type, built by pyoxigraph; ``ValueError`` if invalid."""
    if param.values and value not in param.values:
        raise ValueError(f"not among {'|'.join(param.values)}")
    sparql_term(param.type, value)  # the type's lexical check (absolute IRI, integer syntax…)
    if param.type == "iri":
        return ox.NamedNode(value)
    if param.type == "string":
        return ox.Literal(value)
    if param.type == "decimal" and "." not in value:
        value += ".0"
    return ox.Literal(value, datatype=ox.NamedNode(_DATATYPES[param.type]))


_TYPE_WORDS = {
    "iri": ("une IRI absolue (http://…)", "an absolute IRI (http://…)"),
    "string": ("un texte", "a text"),
    "integer": ("un entier", "an integer"),
    "decimal": ("un nombre décimal", "a decimal number"),
    "boolean": ("true ou false", "true or false"),
    "date": ("une date AAAA-MM-JJ", "a date YYYY-MM-DD"),
}


def _int_param(name: str, raw: str, low: int, high: int) -> int:
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12 or not low <= int(text) <= high:
        raise ApiError(400, f"Paramètre « {name} » invalide : « {raw} » (attendu : un entier de {low} à {high}).",
                       f"Invalid parameter '{name}': '{raw}' (expected: an integer from {low} to {high}).", name)
    return int(text)


def read_call(query: NamedQuery, args: Iterable[tuple[str, str]], max_rows: int) -> Call:
    """Validate the query-string pairs of a call; :class:`ApiError` (400) names the parameter at fault."""
    params = {p.name: p for p in query.params}
    seen: dict[str, str] = {}
    for key, value in args:
        if key in seen:
            raise ApiError(400, f"Paramètre « {key} » donné plusieurs fois.",
                           f"Parameter '{key}' given more than once.", key)
        seen[key] = value
    unknown = sorted(set(seen) - set(params) - set(RESERVED))
    if unknown:
        known = ", ".join([*params, *RESERVED])
        name = unknown[0]
        raise ApiError(400, f"Paramètre inconnu « {name} » pour la requête « {query.name} » (paramètres : {known}).",
                       f"Unknown parameter '{name}' for query '{query.name}' (parameters: {known}).", name)
    values: dict[str, str] = {}
    for name, value in seen.items():
        if name in RESERVED:
            continue
        param = params[name]
        fr, en = _TYPE_WORDS[param.type]
        if param.values:
            fr += f" parmi : {', '.join(param.values)}"
            en += f" among: {', '.join(param.values)}"
        if len(value) > MAX_VALUE_LENGTH:
            raise ApiError(400, f"Paramètre « {name} » trop long (plus de {MAX_VALUE_LENGTH} caractères).",
                           f"Parameter '{name}' too long (more than {MAX_VALUE_LENGTH} characters).", name)
        try:
            rdf_term(param, value)
        except ValueError:
            shown = value if len(value) <= 100 else value[:100] + "…"
            raise ApiError(400, f"Paramètre « {name} » invalide : « {shown} » (attendu : {fr}).",
                           f"Invalid parameter '{name}': '{shown}' (expected: {en}).", name) from None
        values[name] = value
    limit_given = "limit" in seen
    limit = _int_param("limit", seen["limit"], 1, max_rows) if limit_given else max_rows
    offset = _int_param("offset", seen["offset"], 0, MAX_OFFSET) if "offset" in seen else 0
    return Call(query, values, limit, offset, limit_given)


def check_pageable(query: NamedQuery) -> None:
    """``ValueError`` unless LIMIT/OFFSET can be appended to the query (a SELECT without its own)."""
    tokens = _lex(query.text)
    shape = _shape(tokens)
    if shape.form != "SELECT":
        raise ValueError(f"{query.name}: only SELECT queries are served by the API")
    depth = 0
    for tok in tokens[shape.form_index:]:
        if tok.text == "{":
            depth += 1
        elif tok.text == "}":
            depth -= 1
        elif depth == 0 and tok.word() in ("LIMIT", "OFFSET", "VALUES"):
            raise ValueError(f"{query.name}: a top-level {tok.word()} leaves no room for paging")
    for param in query.params:
        if any(tok.kind == "var" and tok.text == "?" + param.name for tok in tokens):
            # $name and ?name are one SPARQL variable: binding the parameter would bind both
            raise ValueError(f"{query.name}: parameter '{param.name}' is also used as ?{param.name}")
    for name in RESERVED:
        if any(p.name == name for p in query.params):
            raise ValueError(f"{query.name}: parameter name '{name}' is reserved for paging")


# ------------------------------------------------------------------ results


@dataclass
class Page:
    variables: list[str]
    rows: list[list]  # pyoxigraph terms or None
    has_next: bool
    truncated: bool  # cut at max_rows without the caller asking for a limit
    call: Call
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def read_page(call: Call, body: bytes, rows_cut: bool, seconds: float = 0.0) -> Page:
    """The page from the backend's SPARQL JSON answer (``rows_cut``: the extra row was there)."""
    result = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    variables = [v.value for v in result.variables]
    rows = [[solution[v] for v in variables] for solution in result]
    return Page(variables, rows, rows_cut, rows_cut and not call.limit_given, call, seconds)


_NUMERIC = {XSD + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger",
                              "positiveInteger", "negativeInteger", "nonPositiveInteger",
                              "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}
_FLOATS = {XSD + "decimal", XSD + "double", XSD + "float"}


def plain(term) -> str | int | float | bool | None:
    """A term as a plain JSON value: IRIs and texts as strings, numbers as numbers."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        try:
            if datatype in _NUMERIC:
                return int(term.value)
            if datatype in _FLOATS:
                number = float(term.value)
                return number if math.isfinite(number) else term.value
            if datatype == XSD + "boolean":
                return term.value in ("true", "1")
        except ValueError:
            return term.value
        return term.value
    return str(term)


def render(page: Page, fmt: OutputFormat, next_url: str | None = None, max_rows: int = 0) -> bytes:
    if fmt.sparql is None:
        document = {
            "query": page.call.query.name,
            "params": {p.name: page.call.values.get(p.name, p.default) for p in page.call.query.params},
            "limit": page.call.limit,
            "offset": page.call.offset,
            "variables": page.variables,
            "rows": [{v: plain(t) for v, t in zip(page.variables, row)} for row in page.rows],
            "truncated": page.truncated,
            "next": next_url,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    body = formats.write_solutions(fmt.sparql, page.variables, page.rows)
    if page.truncated:
        body = formats.announce_truncation(fmt.sparql, body, max_rows)
    return body


# ------------------------------------------------------------------ OpenAPI


def _param_schema(param: Param) -> dict:
    schema: dict
    if param.type == "iri":
        schema = {"type": "string", "format": "uri", "maxLength": MAX_VALUE_LENGTH}
    elif param.type == "string":
        schema = {"type": "string", "maxLength": MAX_VALUE_LENGTH}
    elif param.type == "integer":
        schema = {"type": "integer"}
    elif param.type == "decimal":
        schema = {"type": "number"}
    elif param.type == "boolean":
        schema = {"type": "boolean"}
    else:
        schema = {"type": "string", "format": "date"}
    if param.values:
        schema["enum"] = [_typed(param.type, v) for v in param.values]
    schema["default"] = _typed(param.type, param.default)
    return schema


def _typed(kind: str, value: str):
    if kind == "integer":
        return int(value)
    if kind == "decimal":
        return float(value)
    if kind == "boolean":
        return value == "true"
    return value


def _error(description: str) -> dict:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def openapi(queries: list[NamedQuery], max_rows: int, server_url: str = "/") -> dict:
    """An OpenAPI 3.0 description of ``GET /api/{name}`` for every named query, from their headers."""
    value = {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True}
    page_schema = {
        "type": "object",
        "required": ["query", "params", "limit", "offset", "variables", "rows", "truncated", "next"],
        "properties": {
            "query": {"type": "string"},
            "params": {"type": "object", "additionalProperties": {"type": "string"}},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "variables": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": {"type": "object", "additionalProperties": value}},
            "truncated": {"type": "boolean"},
            "next": {"type": "string", "nullable": True},
        },
    }
    paging = [
        {"name": "limit", "in": "query", "required": False,
         "description": f"Lignes par page (1 à {max_rows}). / Rows per page (1 to {max_rows}).",
         "schema": {"type": "integer", "minimum": 1, "maximum": max_rows, "default": max_rows}},
        {"name": "offset", "in": "query", "required": False,
         "description": "Lignes à sauter. / Rows to skip.",
         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
    ]
    headers = {
        "Link": {"description": 'rel="next" / rel="prev": the neighbouring pages.', "schema": {"type": "string"}},
        "Cohesio-Truncated": {"description": "Present when the result was cut at max_rows: "
                                             f"`true; limit={max_rows}`.", "schema": {"type": "string"}},
    }
    paths: dict = {}
    for query in queries:
        parameters = []
        for param in query.params:
            spec = {"name": param.name, "in": "query", "required": False, "schema": _param_schema(param),
                    "description": f"{param.type}"}
            if param.example:
                spec["example"] = _typed(param.type, param.example)
            parameters.append(spec)
        description = query.description_in("fr") + "\n\n" + query.description_in("en") if query.description else ""
        paths[f"/api/{query.name}"] = {"get": {
            "operationId": query.name.replace("-", "_"),
            "summary": f"{query.title_in('fr')} / {query.title_in('en')}",
            "description": description + "\n\nFormats: .json (default), .csv, .srj, .srx, .tsv or Accept.",
            "tags": ["queries"],
            "parameters": parameters + paging,
            "responses": {
                "200": {"description": "Une page de résultats. / One page of results.", "headers": headers,
                        "content": {
                            "application/json": {"schema": page_schema},
                            "text/csv": {"schema": {"type": "string"}},
                            "application/sparql-results+json": {"schema": {"type": "object"}},
                            "application/sparql-results+xml": {"schema": {"type": "string"}},
                            "text/tab-separated-values": {"schema": {"type": "string"}},
                        }},
                "400": _error("Paramètre inconnu ou invalide. / Unknown or invalid parameter."),
                "406": _error("Format non disponible. / Format not available."),
                "503": _error("Limite de temps dépassée. / Time limit exceeded."),
            },
        }}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "cohesio — requêtes prêtes à l'emploi / ready-made queries",
            "version": "1",
            "description": "Les requêtes nommées de queries/, paramétrées, en JSON, CSV et formats de résultats "
                           "SPARQL. / The named queries of queries/, with parameters, as JSON, CSV and SPARQL "
                           "result formats.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
    }
