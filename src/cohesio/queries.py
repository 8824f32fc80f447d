"""Named example queries: the ``.rq`` files of ``queries/`` with a small header of comment lines.

A file starts with comment lines that describe it; the first line that is not a comment ends the
header, and the whole file (header included: it is made of SPARQL comments) is the query::

    # title@fr: Initiatives par thème
    # title@en: Initiatives by theme
    # description@fr: Les initiatives d'un thème…
    #   a line indented by two spaces or more continues the previous value.
    # description@en: The initiatives of a theme…
    # param theme: iri; default=https://w3id.org/cohesio/id/theme/solidarite; example=…; values=a|b
    PREFIX …
    SELECT … WHERE { ?i dct:subject $theme }

``title`` is required in French and English; ``description`` is optional but, when given, is given in
both. A parameter is written ``$name`` in the query body: ``$name`` is an ordinary SPARQL variable, so
the file stays a valid query as it is (the variable is then simply unbound), and :meth:`NamedQuery.bind`
replaces it by an RDF term. Use a parameter only where a term is allowed (not in the SELECT clause).
Parameter types: ``iri``, ``string``, ``integer``, ``decimal``, ``boolean``, ``date``. Every parameter
has a default; ``values`` (``|``-separated) restricts what it may take.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

LANGS = ("fr", "en")
TYPES = ("iri", "string", "integer", "decimal", "boolean", "date")
PARAM_OPTIONS = ("default", "example", "values")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENTRY = re.compile(r"^#\s?(?P<key>[A-Za-z_]+(?:@[a-z]{2})?|param\s+\S+)\s*:\s*(?P<value>.*)$")
_CONTINUATION = re.compile(r"^#\s{2,}(?P<value>\S.*)$")
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


class QueryFileError(ValueError):
    """A ``.rq`` header cannot be read; the message names the file and line, in French and English."""

    def __init__(self, path: Path | str, line: int | None, message_fr: str, message_en: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message_fr = message_fr
        self.message_en = message_en
        where_fr = f"{path}, ligne {line}" if line else f"{path}"
        where_en = f"{path}, line {line}" if line else f"{path}"
        super().__init__(f"{where_fr} : {message_fr} / {where_en}: {message_en}")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str
    example: str | None = None
    values: tuple[str, ...] = ()

    def term(self, value: str | None = None) -> str:
        """``value`` (else the default) written as a SPARQL term of this parameter's type."""
        value = self.default if value is None else value
        if self.values and value not in self.values:
            raise ValueError(f"{self.name}: {value!r} ∉ {'|'.join(self.values)}")
        return sparql_term(self.type, value)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    title: dict[str, str]
    description: dict[str, str]
    params: list[Param]
    text: str
    path: Path | None = field(default=None, compare=False)
    #: How many lines the header takes; the query proper starts after them.
    header_lines: int = 0

    @property
    def body(self) -> str:
        """The query without its header."""
        return "".join(self.text.splitlines(keepends=True)[self.header_lines:]).lstrip("\n")

    def bind(self, values: dict[str, str] | None = None, header: bool = True) -> str:
        """The query with every ``$param`` replaced by the given value, else its default
        (without the header when ``header`` is false)."""
        values = values or {}
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        text = self.text if header else self.body
        for param in self.params:
            text = _substitute(text, param.name, param.term(values.get(param.name)))
        return text

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["en"]

    def description_in(self, lang: str) -> str:
        return self.description.get(lang) or self.description.get("en", "")


def sparql_term(kind: str, value: str) -> str:
    """A value written as a SPARQL term; ``ValueError`` if it is not a valid value of ``kind``."""
    if kind == "iri":
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value) or _IRI_FORBIDDEN.search(value):
            raise ValueError(f"not an absolute IRI: {value!r}")
        return f"<{value}>"
    if kind == "string":
        escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                   .replace("\r", "\\r"))
        return f'"{escaped}"'
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d+", value):
            raise ValueError(f"not an integer: {value!r}")
        return value
    if kind == "decimal":
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", value):
            raise ValueError(f"not a decimal: {value!r}")
        return value if "." in value else value + ".0"
    if kind == "boolean":
        if value not in ("true", "false"):
            raise ValueError(f"not a boolean: {value!r}")
        return value
    if kind == "date":
        if not re.fullmatch(r"-?\d{4,}-\d{2}-\d{2}", value):
            raise ValueError(f"not a date (YYYY-MM-DD): {value!r}")
        return f'"{value}"^^<http://www.w3.org/2001/XMLSchema#date>'
    raise ValueError(f"unknown parameter type: {kind!r}")


def _substitute(text: str, name: str, term: str) -> str:
    """Replace the variable ``$name`` (not ``$names``, not inside IRIs, strings or comments)."""
    pattern = re.compile(
        r'(?P<skip><[^<>"{}|^`\\\s]*>|"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
        r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*)'
        r"|\$" + re.escape(name) + r"(?![A-Za-z0-9_\u00B7\u00C0-\uFFFF])"
    )
    return pattern.sub(lambda m: m.group("skip") if m.group("skip") is not None else term, text)


def _uses(text: str, name: str) -> bool:
    return _substitute(text, name, "\x00") != text


def _parse_param(path: Path, line: int, name: str, spec: str) -> Param:
    def fail(fr: str, en: str) -> QueryFileError:
        return QueryFileError(path, line, fr, en)

    if not _NAME.match(name):
        raise fail(f"nom de paramètre invalide « {name} » (lettres, chiffres, _).",
                   f"invalid parameter name '{name}' (letters, digits, _).")
    parts = [part.strip() for part in spec.split(";")]
    kind = parts[0]
    if kind not in TYPES:
        raise fail(f"type de paramètre inconnu « {kind} » pour « {name} » (attendu : {', '.join(TYPES)}).",
                   f"unknown parameter type '{kind}' for '{name}' (expected: {', '.join(TYPES)}).")
    options: dict[str, str] = {}
    for part in parts[1:]:
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in PARAM_OPTIONS:
            raise fail(f"option de paramètre illisible « {part} » (attendu : default=…, example=…, values=a|b).",
                       f"unreadable parameter option '{part}' (expected: default=…, example=…, values=a|b).")
        if key in options:
            raise fail(f"option « {key} » répétée pour « {name} ».", f"option '{key}' repeated for '{name}'.")
        options[key] = value.strip()
    if not options.get("default"):
        raise fail(f"le paramètre « {name} » n'a pas de valeur par défaut (default=…).",
                   f"parameter '{name}' has no default value (default=…).")
    values = tuple(v.strip() for v in options["values"].split("|")) if options.get("values") else ()
    param = Param(name, kind, options["default"], options.get("example") or None, values)
    for label, value in [("default", param.default), ("example", param.example), *[("values", v) for v in values]]:
        if value is None:
            continue
        try:
            sparql_term(kind, value)
        except ValueError:
            raise fail(f"« {value} » ({label}) n'est pas une valeur de type {kind} pour « {name} ».",
                       f"'{value}' ({label}) is not a {kind} value for '{name}'.") from None
    if values and param.default not in values:
        raise fail(f"la valeur par défaut de « {name} » n'est pas parmi values.",
                   f"the default of '{name}' is not among its values.")
    return param


def parse_query(text: str, path: Path | str, name: str | None = None) -> NamedQuery:
    """Read one query file's text; ``path`` is only used in messages (and for the default name)."""
    path = Path(path)
    title: dict[str, str] = {}
    description: dict[str, str] = {}
    params: list[Param] = []
    param_lines: dict[str, int] = {}
    seen: dict[str, int] = {}
    last: tuple[dict[str, str], str] | None = None  # where a continuation line goes
    pending_params: list[tuple[int, str, str]] = []

    lines = text.splitlines()
    header_lines = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if not line.startswith("#"):
            break
        header_lines = number
        if line.strip() == "#":
            last = None
            continue
        continuation = _CONTINUATION.match(line)
        if continuation and last is not None:
            target, key = last
            target[key] = f"{target[key]} {continuation['value'].strip()}"
            continue
        entry = _ENTRY.match(line)
        if not entry:
            raise QueryFileError(path, number,
                                 f"ligne d'en-tête illisible : « {line} » (attendu « # clé: valeur »).",
                                 f"unreadable header line: '{line}' (expected '# key: value').")
        key, value = entry["key"], entry["value"].strip()
        if key in seen:
            raise QueryFileError(path, number, f"« {key} » est déjà donné ligne {seen[key]}.",
                                 f"'{key}' is already given on line {seen[key]}.")
        seen[key] = number
        last = None
        if key.startswith("param"):
            pending_params.append((number, key.split(None, 1)[1], value))
            continue
        field_name, _, lang = key.partition("@")
        if field_name not in ("title", "description"):
            raise QueryFileError(path, number,
                                 f"clé inconnue « {key} » (attendu : title@fr, title@en, description@fr, "
                                 "description@en, param NOM).",
                                 f"unknown key '{key}' (expected: title@fr, title@en, description@fr, "
                                 "description@en, param NAME).")
        if lang not in LANGS:
            raise QueryFileError(path, number, f"« {key} » : langue manquante ou inconnue (@fr ou @en).",
                                 f"'{key}': missing or unknown language (@fr or @en).")
        if not value:
            raise QueryFileError(path, number, f"« {key} » est vide.", f"'{key}' is empty.")
        target = title if field_name == "title" else description
        target[lang] = value
        last = (target, lang)

    for number, pname, spec in pending_params:
        if pname in param_lines:
            raise QueryFileError(path, number, f"paramètre « {pname} » déjà déclaré ligne {param_lines[pname]}.",
                                 f"parameter '{pname}' already declared on line {param_lines[pname]}.")
        param_lines[pname] = number
        param = _parse_param(path, number, pname, spec)
        if not _uses(text, pname):
            raise QueryFileError(path, number, f"le paramètre « {pname} » n'apparaît pas dans la requête (${pname}).",
                                 f"parameter '{pname}' does not appear in the query (${pname}).")
        params.append(param)

    for lang in LANGS:
        if lang not in title:
            raise QueryFileError(path, 1, f"en-tête sans « title@{lang} ».", f"header without 'title@{lang}'.")
    if description and set(description) != set(LANGS):
        missing = next(lang for lang in LANGS if lang not in description)
        raise QueryFileError(path, seen[f"description@{'en' if missing == 'fr' else 'fr'}"],
                             f"description sans sa version « @{missing} ».",
                             f"description without its '@{missing}' version.")
    return NamedQuery(name=name or path.stem, title=title, description=description, params=params,
                      text=text, path=path, header_lines=header_lines)


def load_query(path: Path) -> NamedQuery:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise QueryFileError(path, None, "fichier qui n'est pas en UTF-8.", "file is not UTF-8.") from None
    return parse_query(text, path)


#: Parsed queries per directory, with the (name, mtime, size) stamp of its files when parsed.
_LOADED: dict[Path, tuple[tuple, list[NamedQuery]]] = {}


def load_queries(directory: Path) -> list[NamedQuery]:
    """Every ``*.rq`` of ``directory``, sorted by name; none if the directory does not exist.

    Pages, the API and the editor ask on every request: the files are parsed again only when one
    of them is added, removed or changed, so an edited query is seen without a restart.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    paths = sorted(path for path in directory.glob("*.rq") if path.is_file())
    stamp = tuple((path.name, stat.st_mtime_ns, stat.st_size) for path in paths for stat in [path.stat()])
    key = directory.resolve()
    cached = _LOADED.get(key)
    if cached is not None and cached[0] == stamp:
        return list(cached[1])
    queries = sorted((load_query(path) for path in paths), key=lambda q: q.name)
    _LOADED[key] = (stamp, queries)
    return list(queries)


# ------------------------------------------------------------------ the queries as linked data

SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
DCT = "http://purl.org/dc/terms/"
CANONICAL_BASE = "https://w3id.org/cohesio/"


def query_iri(query: NamedQuery, base_iri: str = CANONICAL_BASE) -> str:
    return f"{base_iri}id/query/{query.name}"


def queries_graph(queries: list[NamedQuery], base_iri: str = CANONICAL_BASE) -> list:
    """The named queries as SHACL executables (``sh:SPARQLSelectExecutable`` with ``sh:select``),
    labelled and described in French and English, as a list of ``pyoxigraph.Triple``.

    IRIs: ``{base_iri}id/query/{name}``. ``sh:select`` holds the query without its header, its
    parameters left as variables (``$name``); ``dct:identifier`` is the name used by ``/api/{name}``.
    """
    import pyoxigraph as ox

    def node(iri: str) -> ox.NamedNode:
        return ox.NamedNode(iri)

    triples: list = []
    for query in queries:
        subject = node(query_iri(query, base_iri))
        add = lambda p, o: triples.append(ox.Triple(subject, node(p), o))  # noqa: E731
        add(RDF_TYPE, node(SH + "SPARQLSelectExecutable"))
        add(RDF_TYPE, node(SH + "SPARQLExecutable"))
        add(SH + "select", ox.Literal(query.body))
        add(DCT + "identifier", ox.Literal(query.name))
        for lang in LANGS:
            add(RDFS + "label", ox.Literal(query.title_in(lang), language=lang))
            if query.description:
                add(RDFS + "comment", ox.Literal(query.description_in(lang), language=lang))
    return triples


# ------------------------------------------------------------------ which queries concern a resource

_IGEO = "http://rdf.insee.fr/def/geo#"
#: A resource of one of these types fills the parameters of these names.
TYPE_PARAMS: dict[str, tuple[str, ...]] = {
    "https://w3id.org/cohesio/ontology#Initiative": ("initiative",),
    _IGEO + "Commune": ("commune",),
    _IGEO + "Departement": ("departement",),
    _IGEO + "Region": ("region",),
    "http://www.w3.org/ns/org#Organization": ("actor", "body"),
}


def _collection(iri: str, base_iri: str) -> str | None:
    """``id/commune/`` for ``{base}id/commune/13004``: the kind of resource an IRI names."""
    if not iri.startswith(base_iri):
        return None
    path = iri[len(base_iri):]
    return path.rsplit("/", 1)[0] + "/" if "/" in path else None


def queries_for(resource_iri: str, rdf_types: Iterable[str] = (), queries: list[NamedQuery] | None = None,
                base_iri: str = CANONICAL_BASE,
                directory: Path | None = None) -> list[tuple[NamedQuery, dict[str, str]]]:
    """The named queries that take ``resource_iri`` as a parameter, with that parameter filled.

    A query qualifies when one of its ``iri`` parameters is of the resource's kind: its default is
    in the same IRI collection (``…/id/commune/13004`` and ``…/id/commune/35238``; defaults are
    written with the canonical base, ``base_iri`` is the deployment's), or the resource has a type
    of :data:`TYPE_PARAMS` naming that parameter, and the resource is among the parameter's
    ``values`` when it has any. Other parameters keep their defaults (absent from the dict).
    ``queries`` defaults to :func:`load_queries` of ``directory`` (default: ``queries/`` of the
    working directory's project).
    """
    if queries is None:
        queries = load_queries(directory or Path("queries"))
    kind = _collection(resource_iri, base_iri)
    types = set(rdf_types)
    names_by_type = {name for t in types for name in TYPE_PARAMS.get(t, ())}
    found: list[tuple[NamedQuery, dict[str, str]]] = []
    for query in queries:
        for param in query.params:
            if param.type != "iri":
                continue
            same_kind = kind is not None and _collection(param.default, CANONICAL_BASE) == kind
            if not (same_kind or param.name in names_by_type):
                continue
            if param.values and resource_iri not in param.values and (
                    base_iri == CANONICAL_BASE
                    or CANONICAL_BASE + resource_iri[len(base_iri):] not in param.values):
                continue
            found.append((query, {param.name: resource_iri}))
            break
    return found
