"""Validate cohesio data against the SHACL shapes and turn pyshacl's report into something people read.

Why this module exists rather than calling pyshacl directly:

* A build must refuse bad data *before* it publishes anything, and the editors who fix the data read
  French or English. pyshacl reports results as RDF with untranslated default messages; here every
  result becomes a :class:`Violation` carrying both the French and the English message of the shape
  that fired, the label of the resource concerned, and stable identifiers (shape IRI, constraint
  component) that tests and tools can match on.
* A file that does not parse is a different kind of failure from data that breaks a rule: the user
  needs the file and the line, not a stack trace. :func:`load_data` raises :class:`UnusableInput`
  with both.
* Validation runs on one graph: the union of every named graph (guide, editorial, geography) plus the
  ontology, because the rules cross those boundaries (an initiative from the guide gets its theme
  from the editorial graph; its commune comes from the geography; the quality categories live in the
  ontology graph). Provenance is kept by :func:`load_data` (one named graph per source directory) for
  the rest of the build; validation deliberately ignores it.
* A large graph is not handed to :func:`validate` whole: :mod:`cohesio.validation_chunks` validates
  a few thousand resources at a time, each with the part of the graph the rules read around it, and
  merges the reports with :func:`report_of`, so a build's memory does not grow with the data.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import xml.sax
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import rdflib
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, SKOS, XSD
from rdflib.plugins.serializers.nt import _nt_row

if TYPE_CHECKING:
    import pyoxigraph

__all__ = [
    "DEFAULT_SHAPES",
    "CANONICAL_BASE",
    "Violation",
    "Report",
    "UnusableInput",
    "load_data",
    "union_graph",
    "load_shapes",
    "validate",
    "report_of",
]

#: The shapes shipped with the project: <repo>/shapes/cohesio.shapes.ttl.
DEFAULT_SHAPES: Path = Path(__file__).resolve().parents[2] / "shapes" / "cohesio.shapes.ttl"

#: The base every IRI in git is written with (docs/model.md); a deployment may publish under another.
CANONICAL_BASE = "https://w3id.org/cohesio/"

#: Named graph for each source directory (docs/model.md, "Named graphs = provenance").
_GRAPH_FOR_DIR = {
    "ontology": "graph/ontology",
    "guide": "graph/guide",
    "editorial": "graph/editorial",
    "geography": "graph/geography",
}

#: rdflib parser name for each file suffix we accept (compressed files: the suffix before .gz).
_FORMATS = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".nq": "nquads",
    ".trig": "trig",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
}

_SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}

# Labels shown for the resource a result is about, best first.
_LABEL_PROPERTIES = (RDFS.label, SKOS.prefLabel)


# --------------------------------------------------------------------------------------------------
# Report model
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One SHACL validation result, flattened to plain strings so it can cross any boundary (JSON,
    templates, test assertions) without dragging rdflib terms along.

    ``shape`` and ``constraint`` identify the rule that fired in a way that does not change between
    runs (every shape in shapes/cohesio.shapes.ttl has an IRI), so tools can match on them;
    ``message_fr``/``message_en`` are what a person reads.
    """

    focus: str  # IRI (or blank-node id) of the resource
    focus_label: str | None  # its rdfs:label / skos:prefLabel in the requested language, else another
    path: str | None  # property IRI (or SPARQL property path text)
    value: str | None  # offending value, N-Triples-ish text
    severity: str  # "Violation" | "Warning" | "Info"
    constraint: str  # SHACL constraint component local name, e.g. "MinCountConstraintComponent"
    shape: str  # IRI of the shape that produced the result
    message_fr: str
    message_en: str

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` ("fr" or "en"); English for any other language."""
        return self.message_fr if lang == "fr" else self.message_en


_TEXT = {
    "en": {
        "conforms": "The data conforms to the shapes.",
        "summary": "{n} problem(s) on {r} resource(s): {v} violation(s), {w} warning(s), {i} info.",
        "property": "property",
        "node": "(the resource itself)",
        "value": "value",
        "rule": "rule",
        "severity": {"Violation": "Violation", "Warning": "Warning", "Info": "Info"},
        "nolabel": "(no label)",
    },
    "fr": {
        "conforms": "Les données respectent les formes.",
        "summary": "{n} problème(s) sur {r} ressource(s) : {v} violation(s), {w} avertissement(s), {i} info.",
        "property": "propriété",
        "node": "(la ressource elle-même)",
        "value": "valeur",
        "rule": "règle",
        "severity": {"Violation": "Violation", "Warning": "Avertissement", "Info": "Info"},
        "nolabel": "(sans libellé)",
    },
}


@dataclass(frozen=True)
class Report:
    """The outcome of one validation run.

    ``conforms`` is False as soon as one result has severity Violation; warnings and infos are
    reported but do not make a build fail (pyshacl's ``allow_warnings``).
    """

    conforms: bool
    violations: tuple[Violation, ...]
    lang: str = field(default="en", compare=False)
    # focus -> {"fr": label, "en": label}: lets to_text/to_json show labels in any language without
    # going back to the data (Violation.focus_label is in the language asked of validate()).
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def label_of(self, v: Violation, lang: str) -> str | None:
        """``v``'s resource label in ``lang``, else in the other language, else ``v.focus_label``."""
        known = self.labels.get(v.focus, {})
        other = "en" if lang == "fr" else "fr"
        return known.get(lang) or known.get(other) or v.focus_label

    def by_focus(self) -> dict[str, list[Violation]]:
        """Results grouped by resource, in a stable order (resource IRI, then path, shape, value)."""
        groups: dict[str, list[Violation]] = {}
        for v in sorted(self.violations, key=_sort_key):
            groups.setdefault(v.focus, []).append(v)
        return groups

    def counts(self) -> dict[str, int]:
        out = {"Violation": 0, "Warning": 0, "Info": 0}
        for v in self.violations:
            out[v.severity] = out.get(v.severity, 0) + 1
        return out

    def to_json(self, lang: str = "en") -> dict:
        """Machine format: a JSON-serialisable dict. Every result keeps both messages, plus
        ``message`` in ``lang`` for consumers that only want one."""
        return {
            "conforms": self.conforms,
            "counts": self.counts(),
            "lang": lang,
            "results": [
                {**asdict(v), "focus_label": self.label_of(v, lang), "message": v.message(lang)}
                for v in sorted(self.violations, key=_sort_key)
            ],
        }

    def to_json_text(self, lang: str = "en") -> str:
        return json.dumps(self.to_json(lang), ensure_ascii=False, indent=2)

    def to_text(self, lang: str = "en") -> str:
        """Human report grouped by resource: label and IRI, then for each result the property, the
        value, the message (in ``lang``, the other language below it) and the severity."""
        t = _TEXT.get(lang, _TEXT["en"])
        other = "en" if lang == "fr" else "fr"
        if not self.violations:
            return t["conforms"] + "\n"
        c = self.counts()
        groups = self.by_focus()
        lines = [
            t["summary"].format(
                n=len(self.violations), r=len(groups), v=c["Violation"], w=c["Warning"], i=c["Info"]
            ),
            "",
        ]
        for focus, items in groups.items():
            label = self.label_of(items[0], lang) or t["nolabel"]
            lines.append(f"{label} <{focus}>" if not focus.startswith("_:") else f"{label} {focus}")
            for v in items:
                prop = f"<{v.path}>" if v.path and not v.path.startswith(("[", "(", "^", "<")) else v.path
                lines.append(f"  - {t['property']}: {prop or t['node']}")
                if v.value is not None:
                    lines.append(f"    {t['value']}: {v.value}")
                lines.append(f"    {t['severity'].get(v.severity, v.severity)}: {v.message(lang)}")
                lines.append(f"    ({other}) {v.message(other)}")
                lines.append(f"    {t['rule']}: <{v.shape}> {v.constraint}")
            lines.append("")
        return "\n".join(lines)


def _sort_key(v: Violation) -> tuple:
    return (v.focus, v.path or "", v.shape, v.constraint, v.value or "")


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


class UnusableInput(Exception):
    """A source file could not be parsed. Carries what a person needs to fix it: the file, the line
    (1-based, None when the parser could not say) and the parser's own message."""

    def __init__(self, file: Path | str, line: int | None, message: str):
        self.file = Path(file)
        self.line = line
        self.message = message
        where = f"{self.file}:{line}" if line is not None else str(self.file)
        super().__init__(f"{where}: {message}")


def _format_for(path: Path) -> tuple[str, bool]:
    """(rdflib format, gzipped?) from the file name."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in _FORMATS:
        raise UnusableInput(path, None, f"unknown RDF file type {''.join(path.suffixes) or '(none)'!r}")
    return _FORMATS[suffixes[-1]], gz


def format_of(path: Path) -> tuple[str, bool]:
    """(format name, gzipped?) of a file ``cohesio validate`` is given, from its name; raises
    :class:`UnusableInput` for a name no parser here reads."""
    return _format_for(Path(path))


def _default_graph_name(path: Path, base: str) -> URIRef:
    """The named graph a file belongs to, after the directory it sits in (docs/model.md):
    ontology/ → graph/ontology, data/guide → graph/guide, and so on. Files elsewhere (test fixtures)
    go into graph/guide's sibling ``graph/other`` so they never masquerade as a known source."""
    for part in reversed(path.resolve().parts[:-1]):
        if part in _GRAPH_FOR_DIR:
            return URIRef(base + _GRAPH_FOR_DIR[part])
    return URIRef(base + "graph/other")


def _error_line(exc: BaseException, data: bytes, fmt: str) -> int | None:
    """Best effort at the 1-based line of a parse error.

    pyoxigraph's parsers report where the faulty token *starts*, which is the line a person must
    edit (rdflib's Turtle parser counts the newline that revealed an unterminated string, one line
    too far, and its N-Triples parser gives no position at all). So ask pyoxigraph first, then fall
    back on what rdflib's exception exposes."""
    line = _oxigraph_error_line(data, fmt)
    if line is not None:
        return line
    # Turtle / N3 / TriG (rdflib's notation3 BadSyntax): `lines` counts the newlines before the error.
    lines = getattr(exc, "lines", None)
    if isinstance(lines, int):
        return lines + 1
    if isinstance(exc, json.JSONDecodeError):  # JSON-LD
        return exc.lineno
    if isinstance(exc, xml.sax.SAXParseException):  # RDF/XML
        return exc.getLineNumber()
    return None


def _oxigraph_error_line(data: bytes, fmt: str) -> int | None:
    try:
        import pyoxigraph

        ox_format = {
            "nt": "N_TRIPLES",
            "nquads": "N_QUADS",
            "turtle": "TURTLE",
            "trig": "TRIG",
            "xml": "RDF_XML",
            "json-ld": "JSON_LD",
        }.get(fmt)
        ox = getattr(pyoxigraph.RdfFormat, ox_format or "", None)
        if ox is None:
            return None
        for _ in pyoxigraph.parse(data, format=ox):
            pass
    except SyntaxError as err:
        return err.lineno
    except Exception:  # noqa: BLE001 - only a hint; never mask the original error
        return None
    return None


def _error_message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return re.sub(r"\s+", " ", text)[:500]


def load_data(
    paths: Iterable[Path | str],
    graph_for: Callable[[Path], URIRef] | Mapping[Path, URIRef] | None = None,
    base: str = CANONICAL_BASE,
) -> Dataset:
    """Parse RDF files into a Dataset, one named graph per source.

    Accepts .ttl, .nt, .nq, .trig, .jsonld/.json, .rdf/.owl/.xml, each optionally gzipped (.nt.gz).
    Directories are expanded to the RDF files they contain (sorted, so loads are reproducible).

    ``graph_for`` chooses the named graph of each file (a callable or a mapping); by default the
    directory name decides (ontology/, guide/, editorial/, geography/ → ``graph/...``), which is the
    convention of docs/model.md. Quad formats keep their own graphs.

    Raises :class:`UnusableInput` with the file, the line and the parser's message on a syntax error,
    so the caller can point the user at the exact place instead of showing a traceback.
    """
    ds = Dataset()
    for path in _expand(paths):
        fmt, gz = _format_for(path)
        try:
            raw = path.read_bytes()
            data = gzip.decompress(raw) if gz else raw
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise UnusableInput(path, None, _error_message(exc)) from exc
        if graph_for is None:
            name = _default_graph_name(path, base)
        elif isinstance(graph_for, Mapping):
            name = graph_for.get(path) or _default_graph_name(path, base)
        else:
            name = graph_for(path)
        # rdflib logs a traceback for every ill-typed literal ("2014-02-30"^^xsd:date); the shapes
        # report those properly, so keep the log quiet while parsing.
        term_logger = logging.getLogger("rdflib.term")
        level = term_logger.level
        term_logger.setLevel(logging.CRITICAL)
        try:
            if fmt in ("nquads", "trig"):
                ds.parse(data=data, format=fmt, publicID=path.resolve().as_uri())
            else:
                ds.graph(name).parse(data=data, format=fmt, publicID=path.resolve().as_uri())
        except Exception as exc:  # noqa: BLE001 - every parser has its own exception types
            raise UnusableInput(path, _error_line(exc, data, fmt), _error_message(exc)) from exc
        finally:
            term_logger.setLevel(level)
    return ds


def _expand(paths: Iterable[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(
                sorted(
                    f
                    for f in p.rglob("*")
                    if f.is_file() and not f.name.startswith(".") and _is_rdf_name(f)
                )
            )
        else:
            out.append(p)
    return out


def _is_rdf_name(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in _FORMATS and suffixes[-1] not in (".json", ".xml")


def union_graph(data: Graph | Dataset, *extra: Graph) -> Graph:
    """All triples of every graph of ``data`` (and of ``extra``) in one plain Graph.

    pyshacl validates one data graph; the union is what the rules are written against. A fresh Graph
    is faster to query than a Dataset's union view and leaves the caller's data untouched."""
    g = Graph()
    if isinstance(data, Dataset):
        for s, p, o, _ in data.quads((None, None, None, None)):
            g.add((s, p, o))
    else:
        for t in data:
            g.add(t)
    for e in extra:
        for t in e:
            g.add(t)
    return g


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def load_shapes(shapes_path: Path = DEFAULT_SHAPES, base_iri: str | None = None) -> Graph:
    """Parse the shapes. With ``base_iri`` (a deployment publishing under another base than
    https://w3id.org/cohesio/), the IRIs the shapes point into (ontology terms, concept schemes) are
    rewritten the same way ``cohesio build --base-iri`` rewrites the data; the shapes' own IRIs
    (``.../shapes#``) are left alone so that reports stay comparable between deployments."""
    text = Path(shapes_path).read_text(encoding="utf-8")
    if base_iri and base_iri != CANONICAL_BASE:
        for part in ("ontology", "id/"):
            text = text.replace(CANONICAL_BASE + part, base_iri + part)
    g = Graph()
    try:
        g.parse(data=text, format="turtle", publicID=Path(shapes_path).resolve().as_uri())
    except Exception as exc:  # noqa: BLE001
        raise UnusableInput(shapes_path, _error_line(exc, text.encode(), "turtle"), _error_message(exc)) from exc
    return g


def validate(
    data: "Graph | Dataset | pyoxigraph.Store",
    shapes_path: Path = DEFAULT_SHAPES,
    lang: str = "en",
    *,
    ontology: Graph | None = None,
    shapes: Graph | None = None,
    base_iri: str | None = None,
    focus: Collection[str] | None = None,
) -> Report:
    """Validate ``data`` against the SHACL shapes and return a :class:`Report`.

    ``data`` may be a Dataset or a pyoxigraph Store (their named graphs are merged) or a Graph. Include the ontology in it,
    or pass it as ``ontology``: the quality categories and organisation types are described there,
    and sh:class checks need the class declarations of the data graph.

    pyshacl runs with no inference (the data must state what the shapes check; inference would also
    hide missing types), ``advanced=True`` for the SPARQL-based constraints and targets, and
    ``allow_warnings=True`` so that warnings are reported without making the data non-conforming.

    ``lang`` chooses which label of each resource is shown (``focus_label``); both messages are
    always kept.

    ``focus`` (IRIs) restricts the shapes' targets to those nodes: the rest of ``data`` is only
    there to be read (the neighbours of a piece, :mod:`cohesio.validation_chunks`). Nested shapes
    (sh:node, sh:property, sh:or…) still see every node; see :func:`_patch_pyshacl_focus`.
    """
    import pyshacl  # imported here: it is slow to import and not every command validates

    _patch_pyshacl_truthiness()
    options = {}
    if focus and _patch_pyshacl_focus():
        options["focus_nodes"] = list(focus)

    shapes_graph = shapes if shapes is not None else load_shapes(shapes_path, base_iri)
    data_graph = _data_store(data, ontology)

    _conforms, results_graph, _text = pyshacl.validate(
        data_graph,
        shacl_graph=shapes_graph,
        inference="none",
        advanced=True,
        allow_warnings=True,
        abort_on_first=False,
        meta_shacl=False,
        inplace=True,  # data_graph is our own fresh copy: no need for pyshacl to clone it again
        debug=False,
        **options,
    )
    if not isinstance(results_graph, Graph):  # pyshacl returns a failure object on broken shapes
        raise RuntimeError(f"SHACL validation could not run: {_text}")

    violations = {
        _to_violation(results_graph, shapes_graph, data_graph, r, lang)
        # Only the report's own results: results of nested shapes (sh:node, sh:or) are
        # attached as sh:detail and would otherwise show up as rules nobody wrote.
        for report in results_graph.subjects(RDF.type, SH.ValidationReport)
        for r in results_graph.objects(report, SH.result)
    }
    labels: dict[str, dict[str, str]] = {}
    for focus in {v.focus for v in violations}:
        node = BNode(focus[2:]) if focus.startswith("_:") else URIRef(focus)
        labels[focus] = {
            code: label for code in ("fr", "en") if (label := _label(data_graph, node, code, strict=True))
        }
    return report_of(violations, labels, lang)


def report_of(violations: Iterable[Violation], labels: Mapping[str, Mapping[str, str]], lang: str = "en") -> Report:
    """A :class:`Report` of these results: deduplicated, sorted, non-conforming if one is a Violation.

    One place for the rule, so that a report merged from several validation runs (the build's
    pieces, :mod:`cohesio.validation_chunks`) reads exactly like the report of one run.
    """
    ordered = tuple(sorted(set(violations), key=_sort_key))
    conforms = not any(v.severity == "Violation" for v in ordered)
    return Report(conforms=conforms, violations=ordered, lang=lang, labels=dict(labels))


def _patch_pyshacl_truthiness() -> None:
    """Make pyshacl's pyoxigraph-backed data graph truthy without counting it.

    pyshacl writes ``datagraph or shapes_graph`` when it builds each result (and each intermediate
    result of sh:or / sh:node). Its OxigraphDataGraph has no ``__bool__``, so Python calls
    ``__len__``, which runs ``SELECT (COUNT(DISTINCT ...))`` over the whole store: measured here as
    75% of the run time on the 2,000-triple guide, and it grows with the data. A data graph is never
    meant to be falsy there, so answering True is exactly what the expression wants.
    """
    try:
        from pyshacl.graph_abstraction import OxigraphDataGraph
    except ImportError:  # pragma: no cover - older/newer pyshacl without the class
        return
    if "__bool__" not in OxigraphDataGraph.__dict__:
        OxigraphDataGraph.__bool__ = lambda self: True  # type: ignore[attr-defined]


def _patch_pyshacl_focus() -> bool:
    """Make pyshacl's ``focus_nodes`` option restrict the targets only, not what nested shapes check.

    pyshacl filters the focus nodes of *every* shape evaluation by that option, including those of
    a shape evaluated on a value (sh:node, sh:or, sh:qualifiedValueShape…): the value is not in the
    list, so the nested shape silently conforms and the violation is lost (an initiative whose theme
    is outside the themes scheme validates). Here the filter is lifted while a shape is evaluated on
    given nodes, and kept for a shape evaluated on its targets, which is what the option means. The
    list is also made a set: pyshacl tests membership once per target. Returns False when this
    version of pyshacl does not have what the patch relies on: the option is then not used.
    """
    try:
        from pyshacl.pytypes import SHACLExecutor
        from pyshacl.shape import Shape
    except ImportError:  # pragma: no cover - older/newer pyshacl
        return False
    if not hasattr(SHACLExecutor, "focus_nodes"):  # pragma: no cover
        return False
    if getattr(Shape.validate, "_cohesio_focus", False):
        return True
    original = Shape.validate

    def validate(self, executor, target_graph, focus=None, _evaluation_path=None):  # noqa: ANN001
        chosen = executor.focus_nodes
        if not chosen:
            return original(self, executor, target_graph, focus=focus, _evaluation_path=_evaluation_path)
        if focus is None:  # a shape evaluated on its targets: the chosen ones only
            if not isinstance(chosen, frozenset):
                executor.focus_nodes = frozenset(chosen)
            return original(self, executor, target_graph, focus=focus, _evaluation_path=_evaluation_path)
        executor.focus_nodes = None  # a shape evaluated on given nodes: all of them
        try:
            return original(self, executor, target_graph, focus=focus, _evaluation_path=_evaluation_path)
        finally:
            executor.focus_nodes = chosen

    validate._cohesio_focus = True  # type: ignore[attr-defined]
    Shape.validate = validate  # type: ignore[method-assign]
    return True


def _data_store(data, ontology: Graph | None):
    """One default graph holding every triple of ``data`` (+ ``ontology``), in pyoxigraph.

    pyshacl evaluates SPARQL-based constraints once per focus node. On an rdflib graph every one of
    those evaluations re-parses the query text with rdflib's pure-Python SPARQL parser (~0.15 s
    each, measured here), which makes a 35,000-commune geography impractical; pyshacl 0.40 runs the
    same shapes on a pyoxigraph Store, natively and ~10x faster even on tiny data. Falls back to an
    rdflib Graph when pyoxigraph is not installed.
    """
    try:
        import pyoxigraph as ox
    except ImportError:  # pragma: no cover - pyoxigraph is a project dependency
        return union_graph(data, *([ontology] if ontology is not None else []))

    store = ox.Store()
    if isinstance(data, ox.Store):
        # A build's store: drop the graph names (validation runs on the union).
        store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in data)
        sources: list = [ontology] if ontology is not None else []
    else:
        sources = [data] + ([ontology] if ontology is not None else [])
    for g in sources:
        triples = g.quads((None, None, None, None)) if isinstance(g, Dataset) else g
        # rdflib's own N-Triples row writer: escapes literals correctly (Term.n3() would write
        # Turtle long strings for multi-line text, which N-Triples does not allow).
        nt = "".join(_nt_row((t[0], t[1], t[2])) for t in triples)
        store.bulk_load(nt.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)
    return store


def _to_violation(results: Graph, shapes: Graph, data, r, lang: str) -> Violation:
    focus = results.value(r, SH.focusNode)
    path = results.value(r, SH.resultPath)
    value = results.value(r, SH.value)
    severity = results.value(r, SH.resultSeverity)
    component = results.value(r, SH.sourceConstraintComponent)
    shape = results.value(r, SH.sourceShape)
    fr, en = _messages(results, shapes, r)
    return Violation(
        focus=_node_id(focus),
        focus_label=_label(data, focus, lang),
        path=_path_text(results, path),
        value=None if value is None else _nt(value),
        severity=_SEVERITIES.get(severity, str(severity).rsplit("#", 1)[-1]),
        constraint=str(component).rsplit("#", 1)[-1] if component is not None else "",
        shape=_node_id(shape),
        message_fr=fr,
        message_en=en,
    )


def _node_id(node) -> str:
    if node is None:
        return ""
    if isinstance(node, BNode):
        return f"_:{node}"
    return str(node)


def _nt(term) -> str:
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal) and term.datatype == XSD.string:
        # RDF 1.1: "x" and "x"^^xsd:string are the same literal; show it the way it was written.
        return Literal(str(term)).n3()
    return term.n3()


def _label(data, node, lang: str, strict: bool = False) -> str | None:
    """The resource's label in ``lang``, else (unless ``strict``) in the other of fr/en, else any."""
    if node is None:
        return None
    found: dict[str | None, str] = {}
    for prop in _LABEL_PROPERTIES:
        for text, language in _literals(data, node, prop):
            found.setdefault(language, text)
    if strict:
        return found.get(lang)
    for key in (lang, "en" if lang == "fr" else "fr", None):
        if key in found:
            return found[key]
    return next(iter(found.values()), None)


def _literals(data, node, prop) -> list[tuple[str, str | None]]:
    """(text, language) of the literal values of ``prop`` on ``node``, rdflib or pyoxigraph."""
    if isinstance(data, Graph):
        return [(str(o), o.language) for o in data.objects(node, prop) if isinstance(o, Literal)]
    import pyoxigraph as ox

    subject = ox.BlankNode(str(node)) if isinstance(node, BNode) else ox.NamedNode(str(node))
    if isinstance(node, Literal):
        return []
    return [
        (q.object.value, q.object.language)
        for q in data.quads_for_pattern(subject, ox.NamedNode(str(prop)), None)
        if isinstance(q.object, ox.Literal)
    ]


def _path_text(g: Graph, path) -> str | None:
    """A property IRI as is; a complex SHACL path as compact SPARQL-like text."""
    if path is None:
        return None
    if isinstance(path, URIRef):
        return str(path)
    alt = g.value(path, SH.alternativePath)
    if alt is not None:
        return "(" + " | ".join(_path_text(g, p) or "?" for p in rdflib.collection.Collection(g, alt)) + ")"
    inv = g.value(path, SH.inversePath)
    if inv is not None:
        return "^" + (_path_text(g, inv) or "?")
    for pred, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = g.value(path, pred)
        if inner is not None:
            return f"({_path_text(g, inner)}){suffix}"
    if g.value(path, RDF.first) is not None:
        return "/".join(_path_text(g, p) or "?" for p in rdflib.collection.Collection(g, path))
    return _node_id(path)


_VAR = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


def _messages(results: Graph, shapes: Graph, r) -> tuple[str, str]:
    """The French and English messages of a result.

    Where they come from: the sh:message of the SPARQL constraint that fired (sh:sourceConstraint)
    if it has one, else the sh:message of the shape (sh:sourceShape). pyshacl puts the messages of
    *both* into sh:resultMessage, and returns the filled-in templates of SPARQL constraints
    ("{?value}") *without* their language tag. So each template (which keeps its tag) is matched
    against the result messages: equal text, or the template read as a pattern.
    """
    received = [m for m in results.objects(r, SH.resultMessage) if isinstance(m, Literal)]
    templates: list[Literal] = []
    constraint = results.value(r, SH.sourceConstraint)
    if constraint is not None:
        templates = _message_literals(results, constraint) or _message_literals(shapes, constraint)
    shape = results.value(r, SH.sourceShape)
    if not templates and shape is not None:
        templates = _message_literals(shapes, shape) or _message_literals(results, shape)

    out: dict[str, str] = {}
    for tpl in templates:
        language = tpl.language
        if language not in ("fr", "en") or language in out:
            continue
        pattern = _template_regex(str(tpl))
        for m in received:
            if m.language in (None, language) and pattern.fullmatch(str(m)):
                out[language] = str(m)
                break
        else:
            out[language] = str(tpl)  # template not found among the results: show it unfilled
    if len(out) < 2:
        for m in received:
            if m.language in ("fr", "en"):
                out.setdefault(m.language, str(m))
    default = next(iter(out.values()), str(received[0]) if received else "")
    return out.get("fr", default), out.get("en", default)


def _message_literals(g: Graph, node) -> list[Literal]:
    return [m for m in g.objects(node, SH.message) if isinstance(m, Literal)]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = _VAR.split(template)
    # split() alternates literal text and variable names.
    regex = "".join(re.escape(p) if i % 2 == 0 else ".*?" for i, p in enumerate(parts))
    return re.compile(regex, re.DOTALL)
