"""IRIs under the base ↔ paths on this server, in one place.

Things are named ``B id/{path}``; their documents are ``B doc/{path}`` (Cool URIs: a thing and the
page about it are two resources). The ontology is ``B ontology`` (terms are hash IRIs), named graphs
``B graph/{name}``. On a server whose URL is not the base (a local run, a test server), every IRI
under the base is rewritten to the server's URL, in HTML links and in RDF output alike, by
:class:`Linker` — the only place that knows about the rewriting.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pyoxigraph as ox

#: Characters kept as they are when an IRI path becomes a URL (RFC 3986 pchar, '/' and '%').
SAFE = "/:@!$&'()*+,;=-._~%"
#: Characters that may not appear in an IRI written between <> in SPARQL / N-Triples.
FORBIDDEN = set('<>"{}|^`\\ \t\r\n')


def is_safe_iri(iri: str) -> bool:
    """Whether ``iri`` can be written between <> in a query: the engine's own IRI parser decides,
    so a path the engine would refuse (bad %-escape, brackets, U+FFFD) is a 404, never a 500."""
    if not iri or any(c in FORBIDDEN or ord(c) < 0x20 or c == "\ufffd" for c in iri):
        return False
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return True


def url_path(path: str) -> str:
    """A path (possibly with non-ASCII characters) as it is written in a URL: percent-encoded UTF-8."""
    return quote(path, safe=SAFE)


@dataclass(frozen=True)
class Linker:
    """Maps IRIs under ``base`` (the published base IRI) to URLs under ``root`` (this server)."""

    base: str
    root: str

    @property
    def rewriting(self) -> bool:
        return self.base != self.root

    # ------------------------------------------------------------ IRIs → server URLs
    def local(self, iri: str) -> str:
        """The IRI as seen from this server: under the server's root when it is under the base."""
        if self.rewriting and iri.startswith(self.base):
            return self.root + iri[len(self.base):]
        return iri

    def canonical(self, url: str) -> str:
        """Inverse of :meth:`local`: a URL of this server back to the IRI under the base."""
        if self.rewriting and url.startswith(self.root):
            return self.base + url[len(self.root):]
        return url

    def is_ours(self, iri: str) -> bool:
        return iri.startswith(self.base)

    def doc_path(self, iri: str) -> str | None:
        """The path (relative to the root, no leading '/') of the document describing ``iri``."""
        if not iri.startswith(self.base):
            return None
        rest = iri[len(self.base):]
        if rest.startswith("id/") and len(rest) > 3 and "#" not in rest:
            return "doc/" + rest[3:]
        if rest == "ontology" or rest.startswith("ontology#"):
            return "ontology"
        if rest.startswith("graph/") and len(rest) > 6 and "#" not in rest:
            return rest
        return None

    def href(self, iri: str, lang: str | None = None) -> str:
        """The link an HTML page gives for ``iri``: the document on this server, else the IRI itself."""
        path = self.doc_path(iri)
        if path is None:
            # Data may hold any IRI; only web and mail schemes become live links (never javascript:).
            return iri if iri.lower().startswith(("http://", "https://", "mailto:", "urn:")) else "#"
        fragment = ""
        if "#" in iri:
            fragment = "#" + iri.split("#", 1)[1]
        suffix = f"?lang={lang}" if lang else ""
        return "/" + url_path(path) + suffix + fragment

    # ------------------------------------------------------------ paths → IRIs
    def thing(self, path: str) -> str:
        """``B id/{path}`` for a (decoded) path of ``/id/{path}`` or ``/doc/{path}``."""
        return f"{self.base}id/{path}"

    # ------------------------------------------------------------ RDF
    def term(self, term):
        if isinstance(term, ox.NamedNode):
            local = self.local(term.value)
            return term if local == term.value else ox.NamedNode(local)
        return term

    def triples(self, triples: list[ox.Triple]) -> list[ox.Triple]:
        """The triples with every IRI under the base rewritten to this server."""
        if not self.rewriting:
            return triples
        return [ox.Triple(self.term(t.subject), self.term(t.predicate), self.term(t.object)) for t in triples]


def linker_for(base: str, host_url: str, script_root: str = "") -> Linker:
    return Linker(base, host_url.rstrip("/") + script_root + "/")


def iri_for(request, base: str) -> Linker:  # noqa: ANN001 - a Flask/Werkzeug request
    """The :class:`Linker` of this request: base IRI → the URL the request came in on."""
    return linker_for(base, request.host_url, request.script_root)
