"""Recognise lookups: queries small enough, by construction, to be answered without a query process.

Every query sent to ``/sparql`` normally runs in a killable process (:mod:`cohesio.sparql.executor`),
because pyoxigraph cannot be interrupted and aborts the whole process on some inputs (an
``ORDER BY`` over mixed terms, in 0.5.13). The price is one process hop per query, which is most
of the cost of a lookup of a few triples (docs/performance.md). This module finds the queries whose
work can be bounded *before* they run, so the server may evaluate them in its own thread:

- the query is a ``SELECT`` (``*`` or variables, ``DISTINCT`` allowed), ``ASK`` or ``CONSTRUCT``
  whose pattern is a single group of at most MAX_PATTERNS triple patterns, with ``FILTER``
  expressions that hold no pattern and call only cheap tests (FILTER_WORDS), and ``LIMIT`` /
  ``OFFSET``, in at most MAX_TEXT characters. Nothing that sorts, groups, aggregates, follows
  property paths, nests queries, names graphs or datasets, or calls outside;
- every triple pattern is **anchored**: its subject or its object is an IRI.

An anchored pattern matches at most the triples of the store that have that IRI at that place (and
the other IRIs of the pattern), which the caller counts through the store's indexes before running
anything (:func:`bound`). Whatever order the engine joins the patterns in, each partial
solution extends through index lookups inside those counts, so the product of the counts bounds
both the solutions and the engine's work. A query not recognised here, or over the budget, runs in
a query process exactly as before: recognising is only ever a shortcut, never a refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph as ox

from cohesio.sparql.guard import tokens

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: Longest lookup text and most patterns: the counts bound the solutions, not the engine's planning,
#: which grows about as the fourth power of the patterns (250 patterns on one IRI: 18 s).
MAX_TEXT = 4096
MAX_PATTERNS = 16
#: What a FILTER of a lookup may call: tests and comparisons whose cost is linear in their
#: arguments and whose results do not grow (nested REPLACE or CONCAT can ask for gigabytes).
FILTER_WORDS = frozenset({
    "LANG", "LANGMATCHES", "STR", "DATATYPE", "BOUND", "ISIRI", "ISURI", "ISLITERAL", "ISBLANK",
    "ISNUMERIC", "STRSTARTS", "STRENDS", "CONTAINS", "IN", "NOT", "SAMETERM", "LCASE", "UCASE",
    "STRLEN", "TRUE", "FALSE",
})  # not REGEX: pyoxigraph 0.5.13 compiles the pattern again for every solution (a heavy one, 3 ms)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_DIGITS = frozenset("0123456789")
#: A prefixed name's escaped characters (PN_LOCAL_ESC), which stand for themselves in the IRI.
_LOCAL_ESCAPE = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")


@dataclass(frozen=True)
class Pattern:
    """The IRIs of one triple pattern (``None``: a variable or a literal, i.e. not used to count)."""

    subject: ox.NamedNode | None
    predicate: ox.NamedNode | None
    object: ox.NamedNode | None


class _NotALookup(Exception):
    pass


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self.i = 0
        self.prefixes: dict[str, str] = {}

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.i += 1
        return token

    def word(self) -> str:
        kind, value = self.peek()
        return value.upper() if kind == "word" else ""

    def expect(self, kind: str, value: str | None = None) -> str:
        got_kind, got = self.take()
        if got_kind != kind or (value is not None and got.upper() != value):
            raise _NotALookup()
        return got

    # -- terms

    def iri(self, kind: str, value: str) -> ox.NamedNode:
        if kind == "iri":
            iri = value[1:-1]
        else:  # a prefixed name
            prefix, _, local = value.partition(":")
            if prefix not in self.prefixes:
                raise _NotALookup()
            iri = self.prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)
        if not _ABSOLUTE.match(iri):
            raise _NotALookup()
        try:
            return ox.NamedNode(iri)
        except ValueError:
            raise _NotALookup() from None

    def node(self) -> ox.NamedNode | None:
        """A subject or object: an IRI, a variable, or a string literal (``None`` for the last two)."""
        kind, value = self.take()
        if kind in ("iri", "pname"):
            return self.iri(kind, value)
        if kind == "var":
            return None
        if kind == "string":
            nxt = self.peek()
            if nxt[0] == "langtag":
                self.take()
            elif nxt == ("other", "^"):
                self.take()
                self.expect("other", "^")
                datatype = self.take()
                if datatype[0] not in ("iri", "pname"):
                    raise _NotALookup()
                self.iri(*datatype)
            return None
        raise _NotALookup()

    def verb(self) -> ox.NamedNode | None:
        kind, value = self.take()
        if kind == "word" and value == "a":
            return ox.NamedNode(RDF_TYPE)
        if kind in ("iri", "pname"):
            return self.iri(kind, value)
        if kind == "var":
            return None
        raise _NotALookup()

    # -- structure

    def prologue(self) -> None:
        while self.word() == "PREFIX":
            self.take()
            name = self.expect("pname")
            if not name.endswith(":") or name.count(":") != 1:
                raise _NotALookup()
            self.prefixes[name[:-1]] = self.expect("iri")[1:-1]

    def filter(self) -> None:
        """``FILTER`` then one bracketed expression (or a call of a function of FILTER_WORDS), with
        no pattern inside and nothing but FILTER_WORDS as words."""
        self.take()
        if self.peek()[0] == "word":  # FILTER regex(...)
            if self.take()[1].upper() not in FILTER_WORDS:
                raise _NotALookup()
        self.expect("other", "(")
        depth = 1
        while depth:
            kind, value = self.take()
            if kind in ("end", "pname") or (kind == "other" and value in "{}\\") or (
                    kind == "word" and value.upper() not in FILTER_WORDS):
                # a prefixed name may be a function of any cost (or an extension): not in a lookup
                raise _NotALookup()
            if kind == "iri":
                # Inside an expression the lexer cannot tell "<" (less than) from an IRI's start:
                # "?a<?b).?s?p?o.FILTER(?c>?d" reads to it as one IRI, while the engine sees a
                # pattern this reader never counted. Lookups rarely compare with IRIs: refuse them.
                raise _NotALookup()
            if kind == "other" and value == "(":
                depth += 1
            elif kind == "other" and value == ")":
                depth -= 1

    def triples(self, anchored: bool) -> list[Pattern]:
        """A brace-delimited block of triples (and, in the WHERE clause, FILTERs)."""
        self.expect("other", "{")
        found: list[Pattern] = []
        while True:
            if self.peek() == ("other", "}"):
                self.take()
                return found
            if self.peek() == ("other", "."):
                self.take()
                continue
            if anchored and self.word() == "FILTER":
                self.filter()
                continue
            subject = self.node()
            while True:
                predicate = self.verb()
                while True:
                    obj = self.node()
                    if anchored and subject is None and obj is None:
                        raise _NotALookup()
                    found.append(Pattern(subject, predicate, obj))
                    if self.peek() != ("other", ","):
                        break
                    self.take()
                if self.peek() != ("other", ";"):
                    break
                while self.peek() == ("other", ";"):
                    self.take()
                if self.peek() in (("other", "."), ("other", "}")):
                    break

    def modifiers(self) -> None:
        while self.word() in ("LIMIT", "OFFSET"):
            self.take()
            if self.peek()[1] not in _DIGITS:
                raise _NotALookup()
            while self.peek()[0] == "other" and self.peek()[1] in _DIGITS:
                self.take()

    def query(self) -> list[Pattern]:
        self.prologue()
        form = self.word()
        self.take()
        if form == "SELECT":
            if self.word() in ("DISTINCT", "REDUCED"):
                self.take()
            if self.peek() == ("other", "*"):
                self.take()
            else:
                if self.peek()[0] != "var":
                    raise _NotALookup()
                while self.peek()[0] == "var":
                    self.take()
        elif form == "CONSTRUCT":
            if self.peek() == ("other", "{"):
                self.triples(anchored=False)  # the template: it only shapes the output
        elif form != "ASK":
            raise _NotALookup()
        if self.word() == "WHERE":
            self.take()
        elif form == "CONSTRUCT" and self.peek() != ("other", "{"):
            raise _NotALookup()
        patterns = self.triples(anchored=True)
        self.modifiers()
        if self.peek()[0] != "end" or not patterns:
            raise _NotALookup()
        return patterns


def anchored_patterns(text: str) -> list[Pattern] | None:
    """The triple patterns of ``text`` if it is a lookup (module docstring), else ``None``."""
    if len(text) > MAX_TEXT or "\\u" in text or "\\U" in text:
        # \u escapes are read by the engine inside IRIs and strings; refusing them all keeps this
        # reader's view of the text the engine's without decoding them here
        return None
    try:
        patterns = _Reader(text).query()
    except (_NotALookup, IndexError):
        return None
    return patterns if len(patterns) <= MAX_PATTERNS else None


def _count(store: ox.Store, pattern: Pattern, cap: int) -> int:
    """How many triples match ``pattern``'s IRIs, counting no further than ``cap``, in the dataset
    the endpoint queries (the union of the graphs). Counted by the engine: walking
    ``quads_for_pattern`` from Python costs about 4 µs a triple, the engine's count 0.25 µs."""
    terms = [str(t) if t is not None else v for t, v in
             ((pattern.subject, "?s"), (pattern.predicate, "?p"), (pattern.object, "?o"))]
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT * WHERE {{ {' '.join(terms)} }} LIMIT {cap} }}"
    solution = next(iter(store.query(query, use_default_graph_as_union=True)))
    return int(solution["n"].value)


def bound(store: ox.Store, patterns: list[Pattern], budget: int) -> int | None:
    """The product of the patterns' match counts if it is at most ``budget``, else ``None``.

    Each count stops just past what the budget leaves, so a query about a hub costs at most about
    ``budget`` index steps here before it goes to a query process. A pattern that matches nothing
    counts as one, so that the patterns the engine may join before it are bounded too. The product
    also bounds the number of solutions.
    """
    product = 1
    for p in patterns:
        room = budget // product  # this pattern may match at most this many
        if room < 1:
            return None
        count = _count(store, p, room + 1)
        if count > room:
            return None
        product *= max(count, 1)
    return product
