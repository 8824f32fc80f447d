"""Decide, before anything runs, what a SPARQL request is and whether a public endpoint may run it.

pyoxigraph has no parse-only API and evaluates ``SERVICE <iri>`` with a real outbound HTTP
request, so the endpoint must recognise the query form and any ``SERVICE`` itself. A full parser
is not needed for that: SPARQL keywords can only appear as bare words, so a lexer that skips
strings, IRIs, comments, variables and prefixed names finds every keyword exactly. The query is
then parsed for real by the engine, which reports syntax errors with their position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Order matters: long strings before short ones, IRIs before the '<' operator. As in the SPARQL
# grammar (and pyoxigraph), a comment ends at a carriage return as well as at a line feed, and an
# IRI may hold \u / \U escapes, and a prefixed name escaped characters (ex:a\'b): read otherwise,
# "#\rSERVICE <…>", "<urn:x'\u0041>" or "ex:a\'b" would hide from this lexer what the engine runs.
_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>\#[^\r\n]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
    | (?P<var>[?$][A-Za-z0-9_\u00B7\u00C0-\uFFFF]+)
    | (?P<pname>(?:[A-Za-z\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*)?:(?:(?:[\w\-.:%\u00B7\u00C0-\uFFFF]|\\[_~.\-!$&'()*+,;=/?\#@%])*(?:[\w\-:%\u00B7\u00C0-\uFFFF]|\\[_~.\-!$&'()*+,;=/?\#@%]))?)
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

QUERY_FORMS = frozenset({"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"})
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})
PROLOGUE = frozenset({"PREFIX", "BASE"})


@dataclass(frozen=True)
class Refusal(Exception):
    """A request the public endpoint will not run; ``status`` is the HTTP status to answer."""

    status: int
    message_fr: str
    message_en: str

    def __str__(self) -> str:
        return f"{self.message_fr} / {self.message_en}"


@dataclass(frozen=True)
class Inspection:
    form: str  # SELECT, CONSTRUCT, DESCRIBE or ASK
    has_from: bool


#: Deepest nesting of { } and ( ) accepted. The engine's parser recurses on nesting, and a few
#: thousand levels overflow its stack and kill the query process; real queries stay far below.
MAX_NESTING = 200


def tokens(text: str) -> list[tuple[str, str]]:
    """The tokens of a SPARQL text as (kind, text), without spaces and comments. Kinds: string,
    iri, var, pname, langtag, word, other (one character). Shared with cohesio.sparql.lookup."""
    return [(m.lastgroup or "", m.group()) for m in _TOKEN.finditer(text) if m.lastgroup not in ("ws", "comment")]


def words(text: str) -> list[str]:
    """The bare words of a SPARQL text, upper-cased, in order (keywords and a few literals)."""
    found: list[str] = []
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "word":
            found.append(match.group().upper())
        elif kind == "other":
            char = match.group()
            if char in "{(":
                depth += 1
                if depth > MAX_NESTING:
                    raise Refusal(
                        400,
                        f"Requête trop imbriquée (plus de {MAX_NESTING} niveaux d'accolades ou de parenthèses).",
                        f"Query nested too deeply (more than {MAX_NESTING} levels of braces or brackets).",
                    )
            elif char in "})":
                depth -= 1
    return found


def inspect(text: str) -> Inspection:
    """Classify a query and refuse what a read-only, no-outbound endpoint must not run."""
    tokens = words(text)
    form = next((w for w in tokens if w not in PROLOGUE), "")
    if form in UPDATE_KEYWORDS:
        raise Refusal(
            403,
            "Ce point d'accès est en lecture seule : les mises à jour SPARQL (INSERT, DELETE, LOAD…) sont refusées.",
            "This endpoint is read-only: SPARQL updates (INSERT, DELETE, LOAD…) are refused.",
        )
    hidden = _hidden_service(text) if "SERVICE" not in tokens and "service" in text.lower() else False
    if hidden is None:
        raise Refusal(
            400,
            "La requête contient le mot « service » et n'a pas pu être vérifiée sans risque de requête fédérée "
            "(SERVICE), alors que ce point d'accès ne fait aucune requête sortante ; retirez ce mot des "
            "commentaires ou simplifiez la requête.",
            "The query contains the word 'service' and could not be checked to be free of federation (SERVICE), "
            "while this endpoint makes no outbound request; remove the word from comments or simplify the query.",
        )
    if "SERVICE" in tokens or hidden:
        raise Refusal(
            400,
            "Les requêtes fédérées (SERVICE) sont refusées : ce point d'accès ne fait aucune requête sortante.",
            "Federated queries (SERVICE) are refused: this endpoint makes no outbound request.",
        )
    if form not in QUERY_FORMS:
        # Not a query we can classify: let the engine parse it and report the syntax error.
        form = ""
    return Inspection(form=form, has_from="FROM" in tokens)


def _hidden_service(text: str) -> bool | None:
    """Second opinion when the word "service" occurs but the lexer saw no ``SERVICE`` keyword.

    Without the grammar the lexer cannot tell ``<`` as less-than from the start of an IRI, so
    ``FILTER(?a<?b)SERVICE#>`` reads to it as one IRI while the engine sees a bare ``SERVICE``
    (and a local-name escape such as ``ex:a\\'b`` can open a string the engine never sees).
    rdflib's full SPARQL parser decides. ``None``: it could not parse the text (a syntax error, or
    a query too large for it), so the text cannot be trusted.
    """
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    if "\\u" in text or "\\U" in text:
        # rdflib expands \u escapes everywhere (comments included) before parsing; the engine only
        # inside IRIs and strings: their views of such a text may differ, so it cannot be trusted
        return None
    try:
        # the engine ends a comment at a carriage return too; rdflib only at a line feed
        tree = parseQuery(text.replace("\r", "\n"))
    except Exception:  # noqa: BLE001 - any parser failure (RecursionError included) means "cannot tell"
        return None
    stack: list = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                return True
            stack.extend(node.values())
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
            stack.extend(node)
    return False
