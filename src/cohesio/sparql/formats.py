"""Result formats of the SPARQL endpoint, and their serialisation with a row cap.

Solutions are written by cohesio itself (JSON, XML, CSV, TSV) because a capped result must stop
after N rows, and pyoxigraph's ``QuerySolutions.serialize`` can only write a whole result. Graphs
(CONSTRUCT, DESCRIBE) go through pyoxigraph's serialisers, which accept any list of triples.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    name: str  # the value of the ``format`` parameter
    media_type: str
    extension: str
    kind: str  # "solutions" (SELECT, ASK) or "graph" (CONSTRUCT, DESCRIBE)
    rdf_format: ox.RdfFormat | None = None

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


SOLUTION_FORMATS: tuple[Format, ...] = (
    Format("json", "application/sparql-results+json", "srj", "solutions"),
    Format("xml", "application/sparql-results+xml", "srx", "solutions"),
    Format("csv", "text/csv", "csv", "solutions"),
    Format("tsv", "text/tab-separated-values", "tsv", "solutions"),
)
GRAPH_FORMATS: tuple[Format, ...] = (
    Format("turtle", "text/turtle", "ttl", "graph", ox.RdfFormat.TURTLE),
    Format("ntriples", "application/n-triples", "nt", "graph", ox.RdfFormat.N_TRIPLES),
    Format("rdfxml", "application/rdf+xml", "rdf", "graph", ox.RdfFormat.RDF_XML),
    Format("jsonld", "application/ld+json", "jsonld", "graph", ox.RdfFormat.JSON_LD),
)
#: Also understood in Accept headers, mapped to a format above.
ALIASES: dict[str, str] = {
    "application/json": "json",
    "text/xml": "xml",
    "application/xml": "xml",
    "application/x-turtle": "turtle",
    "text/plain": "ntriples",
    "application/json+ld": "jsonld",
}
BY_NAME: dict[str, Format] = {f.name: f for f in SOLUTION_FORMATS + GRAPH_FORMATS}
BY_MEDIA: dict[str, Format] = {f.media_type: f for f in SOLUTION_FORMATS + GRAPH_FORMATS}


def formats_for(form: str) -> tuple[Format, ...]:
    return GRAPH_FORMATS if form in ("CONSTRUCT", "DESCRIBE") else SOLUTION_FORMATS


# ------------------------------------------------------------------ solutions


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _term_json(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> dict:
    # exact type tests, most frequent first, and each attribute read once: this runs once per term
    # of every result (benchmarks/endpoint.py, the 133-row theme-in-departement query)
    kind = type(term)
    if kind is ox.NamedNode:
        return {"type": "uri", "value": term.value}
    if kind is ox.Literal:
        language = term.language
        if language:
            return {"type": "literal", "value": term.value, "xml:lang": language}
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return {"type": "literal", "value": term.value}
        return {"type": "literal", "value": term.value, "datatype": datatype}
    if kind is ox.BlankNode:
        return {"type": "bnode", "value": term.value}
    return {"type": "triple", "value": {"subject": _term_json(term.subject),
                                         "predicate": _term_json(term.predicate),
                                         "object": _term_json(term.object)}}


def _term_xml(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_term_xml(term.subject)}</subject><predicate>{_term_xml(term.predicate)}"
                f"</predicate><object>{_term_xml(term.object)}</object></triple>")
    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
    if term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
    return f"<literal>{escape(term.value)}</literal>"


def _csv_field(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        text = f"_:{term.value}"
    elif isinstance(term, (ox.NamedNode, ox.Literal)):
        text = term.value
    else:
        text = str(term)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _tsv_field(term) -> str:
    if term is None:
        return ""
    text = str(term)  # pyoxigraph's str() is the N-Triples/Turtle form TSV asks for
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_solutions(fmt: Format, variables: list[str], rows: Iterable[list], boolean: bool | None = None) -> bytes:
    """Serialise SELECT rows (lists of terms or None, in ``variables`` order) or an ASK boolean."""
    if fmt.name == "json":
        if boolean is not None:
            return json.dumps({"head": {}, "boolean": boolean}).encode()
        bindings = [{v: _term_json(t) for v, t in zip(variables, row) if t is not None} for row in rows]
        return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False, separators=(",", ":")).encode()
    if fmt.name == "xml":
        out = io.StringIO()
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>')
        if boolean is not None:
            out.write(f"</head><boolean>{'true' if boolean else 'false'}</boolean></sparql>")
            return out.getvalue().encode()
        out.write("".join(f"<variable name={quoteattr(v)}/>" for v in variables))
        out.write("</head><results>")
        for row in rows:
            out.write("<result>")
            for v, t in zip(variables, row):
                if t is not None:
                    out.write(f"<binding name={quoteattr(v)}>{_term_xml(t)}</binding>")
            out.write("</result>")
        out.write("</results></sparql>")
        return out.getvalue().encode()
    if boolean is not None:  # CSV/TSV have no boolean form: one row, as most endpoints do
        variables, rows = ["boolean"], [[ox.Literal("true" if boolean else "false")]]
    if fmt.name == "csv":
        lines = [",".join(variables)] + [",".join(_csv_field(t) for t in row) for row in rows]
        return ("\r\n".join(lines) + "\r\n").encode()
    lines = ["\t".join("?" + v for v in variables)] + ["\t".join(_tsv_field(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


#: Default bound of the text a result may carry (the sum of its terms' lengths), in characters.
MAX_RESULT_CHARS = 32 * 1024 * 1024


def _term_chars(term) -> int:
    if term is None:
        return 0
    if isinstance(term, ox.Triple):
        return _term_chars(term.subject) + _term_chars(term.predicate) + _term_chars(term.object)
    return len(getattr(term, "value", "")) + 8


def _item_chars(item) -> int:
    if isinstance(item, (ox.Triple, ox.Quad)):
        return _term_chars(item.subject) + _term_chars(item.predicate) + _term_chars(item.object)
    if isinstance(item, ox.QuerySolution):
        return sum(_term_chars(term) for term in item)
    return 0


def capped_rows(solutions: Iterable[ox.QuerySolution], limit: int, max_chars: int = MAX_RESULT_CHARS
                ) -> tuple[list[list], bool]:
    """As :func:`capped`, for SELECT solutions: each row as the list of its terms in the order of
    the result's variables (``None`` where unbound), read once for both the count and the writer."""
    rows: list[list] = []
    chars = 0
    for solution in solutions:
        if len(rows) == limit:
            return rows, True
        row = list(solution)
        chars += sum(_term_chars(term) for term in row)
        if chars > max_chars:
            return rows, True
        rows.append(row)
    return rows, False


def capped_json(solutions: Iterable[ox.QuerySolution], variables: list[str], limit: int,
                max_chars: int = MAX_RESULT_CHARS) -> tuple[bytes, int, bool]:
    """SPARQL JSON of at most ``limit`` solutions and ``max_chars`` of text, counted as
    :func:`capped_rows` counts them: the body, its rows, and whether the result was cut. Each term
    is read once for both (JSON is what clients ask for most; the other formats go through
    :func:`capped_rows` and :func:`write_solutions`)."""
    bindings: list[dict] = []
    chars = 0
    truncated = False
    for solution in solutions:
        if len(bindings) == limit:
            truncated = True
            break
        binding = {}
        for name, term in zip(variables, solution):
            if term is None:
                continue
            value = binding[name] = _term_json(term)
            chars += _term_chars(term) if value["type"] == "triple" else len(value["value"]) + 8
        if chars > max_chars:
            truncated = True
            break
        bindings.append(binding)
    body = json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}},
                      ensure_ascii=False, separators=(",", ":")).encode()
    return body, len(bindings), truncated


def capped(items: Iterator, limit: int, max_chars: int = MAX_RESULT_CHARS) -> tuple[list, bool]:
    """At most ``limit`` items carrying at most ``max_chars`` of text, and whether more were there.

    The row cap alone does not bound a result's size (one row can hold a string doubled twenty
    times by CONCAT), so the text of the terms is counted too; a result cut by either bound is
    announced the same way.
    """
    taken: list = []
    chars = 0
    for item in items:
        if len(taken) == limit:
            return taken, True
        chars += _item_chars(item)
        if chars > max_chars:
            return taken, True
        taken.append(item)
    return taken, False


def write_graph(fmt: Format, triples: list[ox.Triple], prefixes: dict[str, str] | None = None) -> bytes:
    assert fmt.rdf_format is not None
    if fmt.rdf_format in (ox.RdfFormat.TURTLE,):
        return ox.serialize(triples, format=fmt.rdf_format, prefixes=prefixes or {})
    return ox.serialize(triples, format=fmt.rdf_format)


TRUNCATION_NOTE = (
    "Résultat tronqué à {limit} lignes par le serveur ; ajoutez LIMIT/OFFSET pour paginer. / "
    "Result truncated to {limit} rows by the server; use LIMIT/OFFSET to page."
)


def announce_truncation(fmt: Format, body: bytes, limit: int) -> bytes:
    """Say in the body itself that rows were cut, wherever the format has room for a note.

    JSON results get a top-level member (clients ignore unknown members), XML results and RDF/XML
    a comment, Turtle and N-Triples a ``#`` comment line. CSV, TSV and JSON-LD have no place for
    a note that would not be read as data: the ``Cohesio-Truncated`` header alone carries it.
    """
    note = TRUNCATION_NOTE.format(limit=limit)
    if fmt.name == "json":
        return body[:-1] + b',"cohesio:truncated":' + json.dumps({"limit": limit, "note": note},
                                                                   ensure_ascii=False).encode() + b"}"
    if fmt.name in ("xml", "rdfxml"):
        comment = f"<!-- {note.replace('--', '—')} -->\n".encode()
        if body.startswith(b"<?xml"):
            end = body.index(b"?>") + 2
            return body[:end] + b"\n" + comment + body[end:].lstrip(b"\n")
        return comment + body
    if fmt.name in ("turtle", "ntriples"):
        return f"# {note}\n".encode() + body
    return body
