"""Incremental SHACL validation of a change: the touched resources and their neighbours only.

Validating the whole graph for each change would cost minutes at national scale. The shapes only
look a short way from the resource they check (:mod:`cohesio.validation_chunks` reads how far), so
the graph handed to pyshacl holds, *as it would be after the change*:

* the focus: every subject the change adds or removes triples of, and — when a resource loses its
  type or scheme — every resource that links to it (its links may now dangle);
* the focus's neighbourhood (:func:`cohesio.validation_chunks.neighbourhood`, which the build uses
  for its pieces too): everything the focus says, everything said about what it links to and about
  what links to it backwards, the other resources with one of its codes (SIREN, INSEE code,
  notation), the class hierarchy.

Results about context nodes are dropped: their own neighbourhood is incomplete by design, and they
are not what changed. What is kept is exactly what a full validation would say about the focus.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from cohesio.contributions.view import RDF_TYPE, StoreView
from cohesio.validation import DEFAULT_SHAPES, Report, load_shapes
from cohesio.validation_chunks import Reach, neighbourhood as shared_neighbourhood, shapes_reach, validate_focus

IN_SCHEME = ox.NamedNode("http://www.w3.org/2004/02/skos/core#inScheme")

_shapes_cache: dict[tuple[str, float], tuple[object, Reach]] = {}


def _shapes(path: Path) -> tuple[object, Reach]:
    """The parsed shapes and what they read, kept across changes (parsing costs more than a change)."""
    key = (str(path), path.stat().st_mtime)
    if key not in _shapes_cache:
        _shapes_cache.clear()
        graph = load_shapes(path)
        _shapes_cache[key] = (graph, shapes_reach(graph))
    return _shapes_cache[key]


def shapes_graph(path: Path):
    """The parsed shapes, kept across changes (parsing them costs more than validating a change)."""
    return _shapes(path)[0]


def focus_of(view: StoreView, added: set[ox.Quad], removed: set[ox.Quad]) -> set:
    """The resources a change may make valid or invalid, as they are after it."""
    after = view.after(added, removed)
    focus = {q.subject for q in added | removed}
    # A resource that loses a type or a scheme may no longer be what the resources linking to it
    # need (sh:class, sh:node, dangling links): they are checked again too.
    for node in {q.subject for q in removed if q.predicate in (RDF_TYPE, IN_SCHEME)}:
        focus |= {q.subject for q in after.quads(None, None, node)}
    return focus


def neighbourhood(view: StoreView, added: set[ox.Quad], removed: set[ox.Quad],
                  reach: Reach | None = None) -> tuple[set, ox.Store]:
    """The focus nodes of a change and the graph (after the change) that validating them needs
    (``reach``: what the shapes read, by default the project's shapes')."""
    if reach is None:
        reach = _shapes(DEFAULT_SHAPES)[1]
    focus = focus_of(view, added, removed)
    return focus, shared_neighbourhood(view.after(added, removed), focus, reach).store


def check(view: StoreView, added: set[ox.Quad], removed: set[ox.Quad], shapes_path: Path,
          lang: str = "en") -> Report:
    """Validate the change; the report lists only results about the focus nodes."""
    shapes, reach = _shapes(shapes_path)
    after = view.after(added, removed)
    report, _ = validate_focus(after, focus_of(view, added, removed), shapes, reach, lang)
    return report
