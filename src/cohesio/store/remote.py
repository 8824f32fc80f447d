"""The remote backend: cohesio's graphs on an existing SPARQL 1.1 server (Virtuoso, Fuseki, GraphDB…).

Queries go to ``remote_query_url`` through SPARQLWrapper. The server is asked for formats cohesio can
re-read exactly (SPARQL JSON results for SELECT and ASK, N-Triples for CONSTRUCT and DESCRIBE); the
answer is parsed with pyoxigraph, capped at ``max_rows`` and written again with
:mod:`cohesio.sparql.formats`, so both backends answer the same formats, bytes and truncation.

What the embedded backend gets from pyoxigraph's API, this one has to say in the request:

* **Dataset.** pyoxigraph is queried with the union of the named graphs as default graph and all
  named graphs as named graphs. A server has graphs of its own (Virtuoso's system graphs, cohesio's
  ``…/graph/push``), so by default (``union="explicit"``) every query is sent with one
  ``default-graph-uri`` *and* one ``named-graph-uri`` per cohesio graph: the dataset is then exactly
  the embedded one on any SPARQL 1.1 server. ``union="server"`` sends nothing and relies on the
  server's own default graph (Virtuoso's is the union of *all* its graphs, system ones included).
  A query with its own ``FROM``/``FROM NAMED`` is sent without protocol dataset, so its dataset applies.
* **Substitutions** (bound parameters) become a ``VALUES`` block placed first inside the query's
  outermost group, so they are in scope for every pattern and filter of the query, as with
  pyoxigraph's ``substitutions``. Terms are parsed as N-Triples by pyoxigraph and written back by it:
  no text given by a caller is ever pasted into the query. See :func:`bind_values`.
* **Time bound.** The HTTP request is bounded by ``query_timeout`` (socket timeout, plus a
  wall-clock check while the answer is read); past it :class:`QueryTimeout` is raised and the
  connection dropped. The server may keep computing: bound it there too (Virtuoso's
  ``MaxQueryExecutionTime``, see ``docs/remote-backend.md``).

Loading (``cohesio push``) is :func:`load_version`: the published build, graph by graph, with the
SPARQL 1.1 Graph Store HTTP Protocol (or SPARQL Update when no Graph Store URL is set).
"""

from __future__ import annotations

import base64
import io
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, URLENCODED, SPARQLWrapper

from cohesio.config import Settings
from cohesio.sources import GROUPS
from cohesio.sparql import formats, guard
from cohesio.sparql.executor import Job, Outcome, QueryError, QueryTimeout

DCT = "http://purl.org/dc/terms/"
VOID = "http://rdfs.org/ns/void#"
XSD = "http://www.w3.org/2001/XMLSchema#"

#: Media types asked for: the ones cohesio re-reads without loss.
ACCEPT_SOLUTIONS = "application/sparql-results+json"
ACCEPT_GRAPH = "application/n-triples, text/plain;q=0.9"
#: How many triples one Graph Store request carries when a graph is pushed in chunks.
CHUNK_TRIPLES = 50_000


def meta_graph_iri(base_iri: str) -> str:
    """The small graph ``cohesio push`` writes last: version id, time, and the graphs it loaded.

    Not ``…/graph/meta`` (the build's own VoID/DCAT description, pushed like any other graph): this
    one describes the push and is never part of the dataset queries see.
    """
    return f"{base_iri}graph/push"


# ------------------------------------------------------------------ errors


from cohesio.store.errors import RemoteError, RemoteNotLoaded, RemoteUnavailable  # noqa: E402  (re-exported)


# ------------------------------------------------------------------ query text


_VARNAME = re.compile(r"[A-Za-z0-9_\u00B7\u00C0-\uFFFF]+")
_MODIFIERS = frozenset({"GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "VALUES"})


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int

    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def _lex(query: str) -> list[_Tok]:
    """The significant tokens (no spaces, no comments), with the guard's lexer: braces inside
    strings, IRIs and comments are never mistaken for structure."""
    return [_Tok(m.lastgroup or "", m.group(), m.start(), m.end())
            for m in guard._TOKEN.finditer(query) if m.lastgroup not in ("ws", "comment")]


def _closing(tokens: list[_Tok], opening: int) -> int:
    depth = 0
    for i in range(opening, len(tokens)):
        if tokens[i].text == "{":
            depth += 1
        elif tokens[i].text == "}":
            depth -= 1
            if depth == 0:
                return i
    raise QueryError("Accolades non équilibrées. / Unbalanced braces.")


@dataclass(frozen=True)
class _Shape:
    form: str
    form_index: int
    group: int | None  # index of the '{' opening the outermost WHERE group
    short_construct: bool = False


def _shape(tokens: list[_Tok]) -> _Shape:
    """Where the query form keyword and its WHERE group are."""
    form_index = next((i for i, t in enumerate(tokens) if t.kind == "word" and t.word() not in guard.PROLOGUE), None)
    if form_index is None or tokens[form_index].word() not in guard.QUERY_FORMS:
        raise QueryError("Forme de requête non reconnue (SELECT, ASK, CONSTRUCT, DESCRIBE). / "
                         "Unrecognised query form (SELECT, ASK, CONSTRUCT, DESCRIBE).")
    form = tokens[form_index].word()
    start = form_index + 1
    short = False
    if form == "CONSTRUCT":
        if start < len(tokens) and tokens[start].text == "{":
            start = _closing(tokens, start) + 1  # skip the template
        else:
            short = True
    parens = 0
    for i in range(start, len(tokens)):
        text = tokens[i].text
        if text == "(":
            parens += 1
        elif text == ")":
            parens -= 1
        elif text == "{" and parens == 0:
            return _Shape(form, form_index, i, short)
    return _Shape(form, form_index, None, short)


def _values_block(substitutions: Iterable[tuple[str, str]]) -> str:
    """``VALUES (?a ?b) { (t1 t2) }`` from (variable, N-Triples term) pairs, written by pyoxigraph."""
    names: list[str] = []
    terms: list[str] = []
    for name, text in substitutions:
        name = name.lstrip("?$")
        if not _VARNAME.fullmatch(name):
            raise QueryError(f"Nom de variable invalide : {name!r}. / Invalid variable name: {name!r}.")
        try:
            quads = list(ox.parse(f"<urn:s> <urn:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES))
        except SyntaxError:
            quads = []
        if len(quads) != 1:
            raise QueryError(f"Valeur invalide pour ?{name} (un terme N-Triples est attendu). / "
                             f"Invalid value for ?{name} (an N-Triples term is expected).")
        term = quads[0].object
        if not isinstance(term, (ox.NamedNode, ox.Literal)):
            raise QueryError(f"?{name} : seuls une IRI ou un littéral peuvent être liés. / "
                             f"?{name}: only an IRI or a literal can be bound.")
        names.append("?" + name)
        terms.append(str(term))  # pyoxigraph's own N-Triples writing of the parsed term
    return f"VALUES ({' '.join(names)}) {{ ({' '.join(terms)}) }}"


def bind_values(query: str, substitutions: Iterable[tuple[str, str]]) -> str:
    """The query with its variables bound by a ``VALUES`` block at the start of the WHERE group.

    A remote server has no substitution API, so the binding has to be in the text. Three places
    were possible: a trailing ``VALUES`` after the query (easy, but joined *after* the WHERE clause,
    so a ``FILTER(?s = ?x)`` inside it would see ``?x`` unbound), replacing the variable by the term
    everywhere (breaks ``SELECT ?x``, ``BIND … AS ?x``, ``SELECT *``), or a ``VALUES`` block first in
    the outermost group, chosen here: every pattern and filter of that group sees the value, as with
    pyoxigraph's substitutions. The group is found with the same lexer as the guard (so braces in
    strings, IRIs and comments do not count); a group that is a sub-SELECT is wrapped
    (``{ VALUES … { SELECT … } }``), a ``CONSTRUCT WHERE { … }`` is expanded to its long form, and a
    ``DESCRIBE`` without WHERE gets one. The terms are parsed and re-serialised by pyoxigraph, and
    blank nodes are refused (SPARQL forbids them in VALUES).
    """
    substitutions = list(substitutions)
    if not substitutions:
        return query
    block = _values_block(substitutions)
    tokens = _lex(query)
    shape = _shape(tokens)
    if shape.group is None:
        if shape.form != "DESCRIBE":
            raise QueryError("Clause WHERE introuvable. / No WHERE clause found.")
        at = next((t.start for t in tokens[shape.form_index + 1:] if t.word() in _MODIFIERS), len(query))
        return f"{query[:at]}\nWHERE {{ {block} }}\n{query[at:]}"
    opening = tokens[shape.group]
    closing = tokens[_closing(tokens, shape.group)]
    inner = tokens[shape.group + 1] if shape.group + 1 < len(tokens) else None
    if shape.short_construct:
        template = query[opening.end:closing.start]
        form_end = tokens[shape.form_index].end
        return (f"{query[:form_end]} {{{template}\n}}{query[form_end:opening.end]} {block}"
                f"{query[opening.end:]}")
    if inner is not None and inner.word() == "SELECT":
        return (f"{query[:opening.end]} {block} {{ {query[opening.end:closing.start]}\n}} "
                f"{query[closing.start:]}")
    return f"{query[:opening.end]} {block} {query[opening.end:]}"


def cap_select(query: str, limit: int) -> str:
    """Add ``LIMIT limit`` to a SELECT that has no top-level LIMIT, so the server stops early.

    Only SELECT: a CONSTRUCT's LIMIT counts solutions, not triples, and could hide a truncation.
    Not with ORDER BY either (see below).
    """
    tokens = _lex(query)
    try:
        shape = _shape(tokens)
    except QueryError:
        return query
    if shape.form != "SELECT" or shape.group is None:
        return query
    try:
        end = _closing(tokens, shape.group)
    except QueryError:
        return query
    depth = 0
    for tok in tokens[end + 1:]:
        if tok.text == "{":
            depth += 1
        elif tok.text == "}":
            depth -= 1
        elif depth == 0 and tok.word() in ("LIMIT", "VALUES", "ORDER"):
            # ORDER BY: Virtuoso refuses a sorted LIMIT above its MaxSortedTopRows (10000 by
            # default, so max_rows + 1 would fail); the answer is cut while it is read instead.
            return query
    return f"{query}\nLIMIT {limit}\n"


# ------------------------------------------------------------------ HTTP


def _opener(settings: Settings) -> urllib.request.OpenerDirector:
    """An opener of our own (never the process-wide one SPARQLWrapper installs for digest): the
    credentials are offered to Basic and Digest challenges only, so an open endpoint never sees them."""
    handlers: list[urllib.request.BaseHandler] = []
    if settings.remote_user:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        for url in (settings.remote_query_url, settings.remote_update_url, settings.remote_graph_store_url):
            if url:
                passwords.add_password(None, url, settings.remote_user, settings.remote_password)
        handlers += [urllib.request.HTTPDigestAuthHandler(passwords), urllib.request.HTTPBasicAuthHandler(passwords)]
    return urllib.request.build_opener(*handlers)


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(8192).decode("utf-8", "replace").strip()
    except Exception:  # noqa: BLE001 - the status alone is still worth reporting
        body = ""
    return body or f"HTTP {exc.code} {exc.reason}"


def _is_timeout(reason: object) -> bool:
    return isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason)


def _unreachable(reason: object) -> bool:
    return isinstance(reason, (ConnectionError, OSError)) and not _is_timeout(reason)


#: Virtuoso answers 500 with these when its own time limits stop a query.
_SERVER_TIMEOUT = re.compile(r"S1T00|estimated execution time|timeout|timed out", re.IGNORECASE)


class _Wrapper(SPARQLWrapper):
    """SPARQLWrapper building the request; the request is sent with our opener and bound."""

    def __init__(self, endpoint: str, opener: urllib.request.OpenerDirector, seconds: float) -> None:
        super().__init__(endpoint, returnFormat=JSON)
        self._opener = opener
        self._seconds = seconds
        self.setTimeout(max(1, math.ceil(seconds)))

    def _query(self):  # type: ignore[override]
        request = self._createRequest()
        try:
            return self._opener.open(request, timeout=self._seconds), self.returnFormat
        except urllib.error.HTTPError as exc:
            text = _error_text(exc)
            if exc.code == 400:
                raise QueryError(text) from None
            if exc.code in (500, 503) and _SERVER_TIMEOUT.search(text):
                raise QueryTimeout() from None
            raise RemoteError(f"Le serveur SPARQL a répondu {exc.code} : {text} / "
                              f"The SPARQL server answered {exc.code}: {text}") from None
        except urllib.error.URLError as exc:
            if _is_timeout(exc.reason):
                raise QueryTimeout() from None
            raise RemoteUnavailable(self.endpoint, exc.reason) from None
        except (TimeoutError, socket.timeout):
            raise QueryTimeout() from None
        except OSError as exc:
            raise RemoteUnavailable(self.endpoint, exc) from None


class _Bounded(io.RawIOBase):
    """The response body, read under a wall-clock deadline (the socket timeout bounds each read)."""

    def __init__(self, response, deadline: float) -> None:
        self._response = response
        self._deadline = deadline
        self.expired = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError("query time bound reached while reading the answer")
        sock = getattr(getattr(getattr(self._response, "fp", None), "raw", None), "_sock", None)
        if sock is not None:
            try:
                sock.settimeout(left)
            except OSError:
                pass
        try:
            return self._response.readinto(buffer)
        except (TimeoutError, socket.timeout):
            self.expired = True
            raise


def _boolean(result) -> bool:
    """An ASK answer. Virtuoso may write it as one row of ``?__ASK_RETVAL`` = 1 instead of a boolean."""
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    for solution in result:
        for term in solution:
            if term is not None and term.value not in ("0", "false"):
                return True
    return False


def _results_format(content_type: str) -> ox.QueryResultsFormat:
    if "xml" in content_type:
        return ox.QueryResultsFormat.XML
    if "tab-separated" in content_type:
        return ox.QueryResultsFormat.TSV
    return ox.QueryResultsFormat.JSON


def _graph_format(content_type: str) -> ox.RdfFormat:
    if "turtle" in content_type:
        return ox.RdfFormat.TURTLE
    if "rdf+xml" in content_type:
        return ox.RdfFormat.RDF_XML
    if "json" in content_type:
        return ox.RdfFormat.JSON_LD
    return ox.RdfFormat.N_TRIPLES  # application/n-triples, text/plain


# ------------------------------------------------------------------ the backend


class RemoteBackend:
    """The :class:`~cohesio.store.Backend` protocol over a SPARQL 1.1 query endpoint.

    ``union`` is ``"explicit"`` (default: the dataset is named in every request, exact on any
    server) or ``"server"`` (trust the server's default graph to be the union, as Virtuoso's is).
    ``version`` and ``graphs()`` read the meta graph written by :func:`load_version`, at most once
    every ``refresh`` seconds.
    """

    def __init__(self, settings: Settings, *, union: str = "explicit", refresh: float = 5.0) -> None:
        if union not in ("explicit", "server"):
            raise ValueError(f"union must be 'explicit' or 'server', not {union!r}")
        if not settings.remote_query_url:
            raise RemoteError("Le backend « remote » demande remote_query_url. / "
                              "The 'remote' backend needs remote_query_url.")
        self._settings = settings
        self._url = settings.remote_query_url
        self._opener = _opener(settings)
        self._union = union
        self._refresh = refresh
        self._meta_iri = meta_graph_iri(settings.base_iri)
        self._lock = threading.Lock()
        self._meta: tuple[str | None, list[str]] | None = None
        self._meta_read = 0.0

    @property
    def identity(self) -> str:
        """What the data served depends on besides the version id (the search index cache key)."""
        return f"remote {self._url} {self._union}"

    # ---- metadata

    def _read_meta(self) -> tuple[str | None, list[str]]:
        now = time.monotonic()
        with self._lock:
            if self._meta is not None and now - self._meta_read < self._refresh:
                return self._meta
        meta = f"<{self._meta_iri}>"
        query = (f"SELECT ?id ?part WHERE {{ GRAPH {meta} {{ {meta} <{DCT}identifier> ?id . "
                 f"OPTIONAL {{ {meta} <{DCT}hasPart> ?part }} }} }}")
        response = self._send(query, ACCEPT_SOLUTIONS, (), (), self._settings.query_timeout)
        try:
            solutions = ox.parse_query_results(response.read(), format=ox.QueryResultsFormat.JSON)
        finally:
            response.close()
        version: str | None = None
        parts: set[str] = set()
        for solution in solutions:
            version = solution["id"].value
            if solution["part"] is not None:
                parts.add(solution["part"].value)
        with self._lock:
            self._meta = (version, sorted(parts))
            self._meta_read = time.monotonic()
            return self._meta

    def invalidate(self) -> None:
        """Forget the cached version (after a push from this process)."""
        with self._lock:
            self._meta = None

    @property
    def version(self) -> str:
        version, _ = self._read_meta()
        if version is None:
            raise RemoteNotLoaded(self._url)
        return version

    def graphs(self) -> list[str]:
        return list(self._read_meta()[1])

    def _dataset_graphs(self) -> list[str]:
        graphs = self.graphs()
        return graphs or [group.graph_iri(self._settings.base_iri) for group in GROUPS]

    # ---- queries

    def _send(self, query: str, accept: str, default_graphs: Iterable[str], named_graphs: Iterable[str],
              seconds: float):
        wrapper = _Wrapper(self._url, self._opener, seconds)
        wrapper.setMethod(POST)
        wrapper.setRequestMethod(URLENCODED)
        wrapper.setOnlyConneg(True)  # no format=/output= parameters: the Accept header says it
        wrapper.setReturnFormat(TURTLE if accept == ACCEPT_GRAPH else JSON)  # no warning; Accept wins
        wrapper.addCustomHttpHeader("Accept", accept)
        for graph in default_graphs:
            wrapper.addParameter("default-graph-uri", graph)
        for graph in named_graphs:
            wrapper.addParameter("named-graph-uri", graph)
        wrapper.setQuery(query)
        return wrapper.query().response

    def _dataset(self, job: Job, has_from: bool) -> tuple[list[str], list[str]]:
        """The protocol dataset that gives the embedded backend's semantics (see the module doc)."""
        if not job.default_graphs and not job.named_graphs and (has_from or self._union == "server"):
            return [], []
        ours = self._dataset_graphs()
        if job.default_graphs:
            default = list(job.default_graphs)
        elif job.union_default_graph:
            default = ours
        else:  # the store's own default graph, which a cohesio build leaves empty
            default = [f"{self._settings.base_iri}graph/empty"]
        named = list(job.named_graphs) or ours
        return default, named

    def run(self, job: Job, timeout: float | None = None) -> Outcome:
        started = time.perf_counter()
        seconds = self._settings.query_timeout if timeout is None else timeout
        deadline = time.monotonic() + seconds
        try:
            inspection = guard.inspect(job.query)
        except guard.Refusal as refusal:
            raise QueryError(str(refusal)) from None
        form = inspection.form
        text = bind_values(job.query, job.substitutions) if job.substitutions else job.query
        if form == "SELECT":
            text = cap_select(text, job.max_rows + 1)
        graph_form = form in ("CONSTRUCT", "DESCRIBE")
        default, named = self._dataset(job, inspection.has_from)
        response = self._send(text, ACCEPT_GRAPH if graph_form else ACCEPT_SOLUTIONS, default, named, seconds)
        body = _Bounded(response, deadline)
        content_type = (response.headers.get("Content-Type") or "").lower()
        fmt = formats.BY_NAME[job.format]
        try:
            if graph_form or any(k in content_type for k in ("n-triples", "turtle", "text/plain", "rdf+xml")):
                parsed = ox.parse(io.BufferedReader(body), format=_graph_format(content_type))
                quads, truncated = formats.capped(parsed, job.max_rows)
                triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
                if fmt.kind != "graph":
                    fmt = formats.GRAPH_FORMATS[0]
                out = formats.write_graph(fmt, triples, dict(job.prefixes))
                return Outcome(out, "CONSTRUCT", fmt.name, len(triples), truncated, time.perf_counter() - started)
            result = ox.parse_query_results(io.BufferedReader(body), format=_results_format(content_type))
            if fmt.kind != "solutions":
                fmt = formats.SOLUTION_FORMATS[0]
            if isinstance(result, ox.QueryBoolean) or form == "ASK":
                out = formats.write_solutions(fmt, [], [], boolean=_boolean(result))
                return Outcome(out, "ASK", fmt.name, 1, False, time.perf_counter() - started)
            variables = [v.value for v in result.variables]
            solutions, truncated = formats.capped(iter(result), job.max_rows)
            rows = [[s[v] for v in variables] for s in solutions]
            out = formats.write_solutions(fmt, variables, rows)
            return Outcome(out, "SELECT", fmt.name, len(rows), truncated, time.perf_counter() - started)
        except (QueryError, QueryTimeout):
            raise
        except Exception as exc:
            if body.expired:
                raise QueryTimeout() from None
            raise RemoteError(f"Réponse illisible du serveur SPARQL : {exc} / "
                              f"Unreadable answer from the SPARQL server: {exc}") from None
        finally:
            response.close()

    def close(self) -> None:
        pass


# ------------------------------------------------------------------ loading (cohesio push)


#: Called with (graph IRI, triples sent, triples in the graph).
PushProgress = Callable[[str, int, int], None]


def _no_progress(graph: str, done: int, total: int) -> None:
    pass


@dataclass
class PushResult:
    version: str
    graphs: dict[str, int] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    method: str = "graph-store"


class _Loader:
    """Replaces whole graphs on the server: Graph Store HTTP Protocol, or SPARQL Update."""

    def __init__(self, settings: Settings) -> None:
        self.gsp = settings.remote_graph_store_url
        self.update = settings.remote_update_url
        if not (self.gsp or self.update):
            raise RemoteError(
                "Ni remote_graph_store_url ni remote_update_url ne sont réglés : impossible de charger. / "
                "Neither remote_graph_store_url nor remote_update_url is set: cannot load."
            )
        self.opener = _opener(settings)
        self.plain = urllib.request.build_opener()
        self.timeout = max(settings.query_timeout, 300.0)
        self.passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        self.user = settings.remote_user
        for url in (self.gsp, self.update):
            if url and self.user:
                self.passwords.add_password(None, url, self.user, settings.remote_password)
        self.digest = urllib.request.HTTPDigestAuthHandler(self.passwords)

    def _authorize(self, request: urllib.request.Request) -> bool:
        """Answer the server's challenge before sending the body.

        urllib only authenticates after a 401, that is after sending the whole body once; Virtuoso
        answers 401 without reading a big body and resets the connection while it is being sent.
        So a bodiless HEAD fetches the challenge and the real request carries its answer.
        """
        if not self.user:
            return False
        probe = urllib.request.Request(request.full_url, method="HEAD")
        try:
            with self.plain.open(probe, timeout=self.timeout):
                return False
        except urllib.error.HTTPError as exc:
            if exc.code != 401:
                return False
            challenges = exc.headers.get_all("WWW-Authenticate") or []
        except (urllib.error.URLError, OSError):
            return False
        for challenge in challenges:
            scheme, _, rest = challenge.partition(" ")
            if scheme.lower() == "digest":
                fields = urllib.request.parse_keqv_list(filter(None, urllib.request.parse_http_list(rest)))
                answer = self.digest.get_authorization(request, fields)
                if answer:
                    request.add_unredirected_header("Authorization", f"Digest {answer}")
                    return True
            elif scheme.lower() == "basic":
                user, password = self.passwords.find_user_password(None, request.full_url)
                if user:
                    token = base64.b64encode(f"{user}:{password}".encode()).decode()
                    request.add_unredirected_header("Authorization", f"Basic {token}")
                    return True
        return False

    def _send(self, url: str, method: str, data: bytes | None, content_type: str | None,
              ok_missing: bool = False) -> None:
        request = urllib.request.Request(url, data=data, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        opener = self.plain if data and len(data) > 65536 and self._authorize(request) else self.opener
        try:
            with opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if ok_missing and exc.code == 404:
                return
            text = _error_text(exc)
            raise RemoteError(f"Le serveur a refusé {method} {url} ({exc.code}) : {text} / "
                              f"The server refused {method} {url} ({exc.code}): {text}") from None
        except urllib.error.URLError as exc:
            raise RemoteUnavailable(url, exc.reason) from None
        except OSError as exc:
            raise RemoteUnavailable(url, exc) from None

    def _graph_url(self, graph: str) -> str:
        joiner = "&" if "?" in self.gsp else "?"
        return f"{self.gsp}{joiner}graph={urllib.parse.quote(graph, safe='')}"

    def run_update(self, text: str) -> None:
        data = urllib.parse.urlencode({"update": text}).encode("ascii")
        self._send(self.update, "POST", data, "application/x-www-form-urlencoded")

    def put(self, graph: str, ntriples: bytes) -> None:
        """Replace ``graph`` by these triples. N-Triples is sent as Turtle, of which it is a subset:
        every Graph Store implementation reads Turtle, not all know application/n-triples."""
        if self.gsp:
            self._send(self._graph_url(graph), "PUT", ntriples, "text/turtle; charset=utf-8")
        else:
            self.run_update(f"DROP SILENT GRAPH <{graph}> ;\nINSERT DATA {{ GRAPH <{graph}> {{\n"
                            f"{ntriples.decode('utf-8')}\n}} }}")

    def append(self, graph: str, ntriples: bytes) -> None:
        if self.gsp:
            self._send(self._graph_url(graph), "POST", ntriples, "text/turtle; charset=utf-8")
        else:
            self.run_update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{ntriples.decode('utf-8')}\n}} }}")

    def drop(self, graph: str) -> None:
        if self.gsp:
            self._send(self._graph_url(graph), "DELETE", None, None, ok_missing=True)
        else:
            self.run_update(f"DROP SILENT GRAPH <{graph}>")

    def move(self, source: str, target: str) -> None:
        self.run_update(f"MOVE SILENT GRAPH <{source}> TO GRAPH <{target}>")


def _chunks(store: ox.Store, graph: str, size: int) -> Iterator[list[ox.Triple]]:
    chunk: list[ox.Triple] = []
    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
        chunk.append(ox.Triple(quad.subject, quad.predicate, quad.object))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _previous_graphs(settings: Settings, base_iri: str) -> list[str]:
    try:
        backend = RemoteBackend(settings)
        backend._meta_iri = meta_graph_iri(base_iri)
        return backend.graphs()
    except (RemoteError, QueryError, QueryTimeout):
        return []


def load_version(settings: Settings, version=None, progress: PushProgress = _no_progress,
                 chunk_triples: int = CHUNK_TRIPLES) -> PushResult:
    """Push a published build into the remote server, one named graph at a time.

    A graph that fits in one chunk is replaced by one Graph Store ``PUT`` (atomic for that graph).
    A bigger one is sent in N-Triples chunks; when ``remote_update_url`` is set, the chunks go to a
    staging graph that then replaces the real one with ``MOVE`` (so readers never see half a graph),
    otherwise ``PUT`` of the first chunk and ``POST`` of the others. Graphs a previous push loaded
    and this build no longer has are dropped. The meta graph (version id, graphs, counts) is written
    last: a server's ``version`` only changes once all the data is there.
    """
    from cohesio import versions as versions_mod

    started = time.perf_counter()
    if version is None:
        version = versions_mod.current(settings.store_path)
    base_iri = version.manifest.get("base_iri", settings.base_iri)
    meta = meta_graph_iri(base_iri)
    loader = _Loader(settings)
    before = _previous_graphs(settings, base_iri)
    store = version.open_store()
    graphs = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
    result = PushResult(version.id, method="graph-store" if loader.gsp else "update")
    for graph in graphs:
        total = sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
        progress(graph, 0, total)
        staged = total > chunk_triples and bool(loader.update)
        target = f"{graph}.loading" if staged else graph
        done = 0
        for index, chunk in enumerate(_chunks(store, graph, chunk_triples)):
            data = ox.serialize(chunk, format=ox.RdfFormat.N_TRIPLES)
            (loader.put if index == 0 else loader.append)(target, data)
            done += len(chunk)
            progress(graph, done, total)
        if total == 0:
            loader.drop(graph)
        if staged:
            loader.move(target, graph)
        result.graphs[graph] = total
        progress(graph, total, total)
    for old in before:
        if old not in result.graphs:
            loader.drop(old)
            result.removed.append(old)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    m = ox.NamedNode(meta)
    triples = [
        ox.Triple(m, ox.NamedNode(DCT + "identifier"), ox.Literal(version.id)),
        ox.Triple(m, ox.NamedNode(DCT + "created"),
                  ox.Literal(str(version.manifest.get("created", now)), datatype=ox.NamedNode(XSD + "dateTime"))),
        ox.Triple(m, ox.NamedNode(DCT + "modified"), ox.Literal(now, datatype=ox.NamedNode(XSD + "dateTime"))),
    ]
    for graph, count in result.graphs.items():
        triples.append(ox.Triple(m, ox.NamedNode(DCT + "hasPart"), ox.NamedNode(graph)))
        triples.append(ox.Triple(ox.NamedNode(graph), ox.NamedNode(VOID + "triples"),
                                 ox.Literal(str(count), datatype=ox.NamedNode(XSD + "integer"))))
    loader.put(meta, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
    result.seconds = time.perf_counter() - started
    return result
