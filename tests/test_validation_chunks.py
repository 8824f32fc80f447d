"""Validation in pieces (cohesio.validation_chunks) says exactly what pyshacl says on the whole graph.

The reference is the build's former validation, written out here independently: every triple of the
edited graphs plus the part of the geography they point at, in one pyoxigraph graph, one pyshacl run.
The pieces hold 3 resources, so that an initiative, its organisation, the other organisation with
the same SIREN, the annotation that says an intercommunality is dissolved… are always in different
pieces.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from cohesio.build import edited_graph_iris, geography_nodes, load_sources, validate_graphs
from cohesio.config import CANONICAL_BASE_IRI as BASE
from cohesio.sources import discover
from cohesio.validation import DEFAULT_SHAPES, Report, load_shapes, validate
from cohesio.validation_chunks import Reach, StoredGraphs, shapes_reach, validate_in_chunks

ROOT = Path(__file__).resolve().parents[1]
EDITED = edited_graph_iris(BASE)
GEO = ox.NamedNode(BASE + "graph/geography")
GUIDE = ox.NamedNode(BASE + "graph/guide")
EDITORIAL = ox.NamedNode(BASE + "graph/editorial")
CONTRIBUTIONS = ox.NamedNode(BASE + "graph/contributions")

ID = BASE + "id/"
COH = BASE + "ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DCT = "http://purl.org/dc/terms/"
IGEO = "http://rdf.insee.fr/def/geo#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DQV = "http://www.w3.org/ns/dqv#"
OA = "http://www.w3.org/ns/oa#"

RENNES_INITIATIVE = ID + "initiative/bureau-des-temps--rennes"
RENNES_CITY = ID + "organization/ville-de-rennes"
RENNES_SIREN = "213502388"
ASSE = ID + "place/cc-de-l-asse-et-de-ses-affluents"


def n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ox.Store:
    """The project's own sources (the whole official geography included), on disk like a build's."""
    store = ox.Store(str(tmp_path_factory.mktemp("chunks") / "store"))
    load_sources(store, discover(ROOT), BASE)
    return store


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return load_shapes(DEFAULT_SHAPES)


def whole_graph_report(store: ox.Store, shapes: rdflib.Graph) -> Report:
    """pyshacl once on everything: the edited graphs and the geography they point at (its territories
    and their parents, found the way the build used to: every IRI the other graphs link to)."""
    graph = ox.Store()
    for name in EDITED:
        graph.extend(ox.Quad(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, n(name)))
    seeds = store.query(f"SELECT DISTINCT ?t WHERE {{ GRAPH ?g {{ ?s ?p ?t }} FILTER(isIRI(?t) && ?g != {GEO}) }}")
    todo, seen = [row["t"] for row in seeds], set()
    upward = {n(IGEO + "subdivisionDe"), n(COH + "intercommunality"), n(DCT + "type"), n(SKOS + "inScheme")}
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for q in store.quads_for_pattern(node, None, None, GEO):
            graph.add(ox.Quad(q.subject, q.predicate, q.object))
            if q.predicate in upward and isinstance(q.object, ox.NamedNode):
                todo.append(q.object)
    return validate(graph, shapes=shapes)


def chunked_report(store: ox.Store, shapes: rdflib.Graph, chunk_size: int = 3, processes: int = 1) -> Report:
    source = StoredGraphs(store, EDITED, BASE, context_graph=GEO.value,
                          context_nodes=geography_nodes(store, BASE, EDITED))
    result = validate_in_chunks(source, shapes, chunk_size=chunk_size, processes=processes)
    assert not result.whole and result.chunks > 1
    return result.report


def assert_same(chunked: Report, whole: Report) -> None:
    key = lambda r: {(v.focus, v.path, v.shape, v.constraint, v.value, v.severity) for v in r.violations}  # noqa: E731
    assert key(chunked) == key(whole), (
        f"only in pieces: {key(chunked) - key(whole)}\nonly in the whole: {key(whole) - key(chunked)}")
    assert chunked.violations == whole.violations  # messages and labels too
    assert chunked.conforms == whole.conforms
    assert chunked.to_text("fr") == whole.to_text("fr") and chunked.to_text("en") == whole.to_text("en")


def test_the_project_data_gives_the_same_report_in_pieces_of_three(store, shapes):
    whole = whole_graph_report(store, shapes)
    # The shipped data conforms; its warnings (if any) must come out the same.
    assert whole.conforms, whole.to_text()
    assert_same(chunked_report(store, shapes), whole)


def _lit(text: str, lang: str | None = None) -> ox.Literal:
    return ox.Literal(text, language=lang) if lang else ox.Literal(text)


def _one(store: ox.Store, subject: str, predicate: str) -> ox.Quad:
    return next(iter(store.quads_for_pattern(n(subject), n(predicate), None, None)))


# Each variant: (quads to remove, quads to add, (focus, constraint) the whole graph must report).
def _missing_spatial(store):
    return [_one(store, RENNES_INITIATIVE, DCT + "spatial")], [], (RENNES_INITIATIVE, "MinCountConstraintComponent")


def _dangling_commune(store):
    old = _one(store, RENNES_INITIATIVE, DCT + "spatial")
    new = ox.Quad(old.subject, old.predicate, n(ID + "commune/99999"), old.graph_name)
    return [old], [new], (RENNES_INITIATIVE, "SPARQLConstraintComponent")


def _lead_is_a_theme(store):
    old = _one(store, RENNES_INITIATIVE, COH + "lead")
    theme = next(iter(store.quads_for_pattern(n(RENNES_INITIATIVE), n(DCT + "subject"), None, None))).object
    return [old], [ox.Quad(old.subject, old.predicate, theme, old.graph_name)], (RENNES_INITIATIVE, "ClassConstraintComponent")


def _duplicated_siren(store):
    other = next(q.subject for q in store.quads_for_pattern(None, n(COH + "siren"), None, GUIDE)
                 if q.object.value != RENNES_SIREN)
    old = _one(store, other.value, COH + "siren")
    new = ox.Quad(other, n(COH + "siren"), _lit(RENNES_SIREN), GUIDE)
    return [old], [new], (RENNES_CITY, "SPARQLConstraintComponent")


def _german_label(store):
    return [], [ox.Quad(n(RENNES_CITY), n(LABEL), _lit("Stadt Rennes", "de"), CONTRIBUTIONS)], \
        (RENNES_CITY, "LanguageInConstraintComponent")


def _duplicated_notation(store):
    theme = next(iter(store.quads_for_pattern(n(RENNES_INITIATIVE), n(DCT + "subject"), None, None))).object
    notation = _one(store, theme.value, SKOS + "notation").object
    others = [q.subject for q in store.quads_for_pattern(None, n(SKOS + "inScheme"), n(ID + "scheme/themes"), None)
              if q.subject != theme]
    old = _one(store, others[-1].value, SKOS + "notation")
    return [old], [ox.Quad(old.subject, old.predicate, notation, old.graph_name)], (theme.value, "SPARQLConstraintComponent")


def _asse_not_dissolved(store):
    # The intercommunality has no code: only the annotation (another resource, in another graph,
    # linking to it) says it is dissolved. Change the annotation's category: it is no longer.
    annotation = n(ID + "annotation/asse-territory-dissolved")
    old = _one(store, annotation.value, DQV + "inCategory")
    new = ox.Quad(annotation, old.predicate, n(ID + "quality-category/misspelling"), old.graph_name)
    return [old], [new], (ASSE, "OrConstraintComponent")


def _geography_commune_in_wrong_departement(store):
    # A territory the guide points at, wrong in the geography itself (a node of no edited graph).
    commune = _one(store, RENNES_INITIATIVE, DCT + "spatial").object
    old = _one(store, commune.value, IGEO + "subdivisionDe")
    new = ox.Quad(commune, old.predicate, n(ID + "departement/2A"), GEO)
    return [old], [new], (commune.value, "SPARQLConstraintComponent")


def _duplicated_insee_code(store):
    # A new commune in the guide with the code of one of the geography's.
    commune = _one(store, RENNES_INITIATIVE, DCT + "spatial").object
    code = _one(store, commune.value, IGEO + "codeINSEE").object
    copy = n(ID + "commune/copie")
    added = [ox.Quad(copy, n(RDF_TYPE), n(IGEO + "Commune"), GUIDE),
             ox.Quad(copy, n(LABEL), _lit("Copie", "fr"), GUIDE), ox.Quad(copy, n(LABEL), _lit("Copy", "en"), GUIDE),
             ox.Quad(copy, n(IGEO + "codeINSEE"), code, GUIDE),
             ox.Quad(copy, n(IGEO + "subdivisionDe"), _one(store, commune.value, IGEO + "subdivisionDe").object, GUIDE)]
    return [], added, (commune.value, "SPARQLConstraintComponent")


def _blank_annotation_without_category(store):
    node = ox.BlankNode("broken1")
    added = [ox.Quad(node, n(RDF_TYPE), n(DQV + "QualityAnnotation"), EDITORIAL),
             ox.Quad(node, n(OA + "hasTarget"), n(RENNES_CITY), EDITORIAL),
             ox.Quad(node, n(COH + "asPrinted"), _lit("x", "fr"), EDITORIAL)]
    return [], added, ("_:broken1", "MinCountConstraintComponent")


VARIANTS = [_missing_spatial, _dangling_commune, _lead_is_a_theme, _duplicated_siren, _german_label,
            _duplicated_notation, _asse_not_dissolved, _geography_commune_in_wrong_departement,
            _duplicated_insee_code, _blank_annotation_without_category]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.__name__.strip("_") for v in VARIANTS])
def test_a_broken_variant_gives_the_same_report_in_pieces(store, shapes, variant):
    removed, added, (focus, constraint) = variant(store)
    for quad in removed:
        store.remove(quad)
    store.extend(added)
    try:
        whole = whole_graph_report(store, shapes)
        assert any(v.focus == focus and v.constraint == constraint for v in whole.violations), whole.to_text()
        assert_same(chunked_report(store, shapes), whole)
    finally:
        for quad in added:
            store.remove(quad)
        store.extend(removed)


def test_pieces_validated_by_worker_processes_give_the_same_report(store, shapes):
    """Two worker processes, pieces sent as N-Triples: blank nodes and keys survive the trip."""
    variants = [_blank_annotation_without_category, _duplicated_siren, _asse_not_dissolved]
    changes = [variant(store) for variant in variants]
    for removed, added, _ in changes:
        for quad in removed:
            store.remove(quad)
        store.extend(added)
    try:
        whole = whole_graph_report(store, shapes)
        assert {(focus, constraint) for _, _, (focus, constraint) in changes} <= {
            (v.focus, v.constraint) for v in whole.violations}
        assert_same(chunked_report(store, shapes, chunk_size=40, processes=2), whole)
    finally:
        for removed, added, _ in changes:
            for quad in added:
                store.remove(quad)
            store.extend(removed)


def test_the_build_validation_under_another_base_iri_reports_canonical_iris(tmp_path, shapes):
    """A deployment under another base: the store holds its IRIs, the report the canonical ones."""
    other = "http://127.0.0.1:8000/"
    store = ox.Store(str(tmp_path / "store"))
    load_sources(store, discover(ROOT), other)
    initiative = n(other + "id/initiative/bureau-des-temps--rennes")
    quad = next(iter(store.quads_for_pattern(initiative, n(DCT + "spatial"), None, None)))
    store.remove(quad)
    report, checked = validate_graphs(store, other, edited_graph_iris(other), DEFAULT_SHAPES, "en", chunk_size=50)
    assert checked > 2000
    assert {(v.focus, v.constraint) for v in report.violations} == {(RENNES_INITIATIVE, "MinCountConstraintComponent")}


# ------------------------------------------------------------------------------------------- reach


def test_the_project_shapes_are_all_answered_by_a_one_hop_neighbourhood(shapes):
    reach = shapes_reach(shapes)
    assert reach.problems == ()
    assert {frozenset(k.value for k in group) for group in reach.keys} == {
        frozenset({COH + "siren"}), frozenset({IGEO + "codeINSEE"}),
        frozenset({SKOS + "notation", SKOS + "inScheme"}),
    }
    assert {k.value for k in reach.inverse} == {OA + "hasTarget"}


PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix coh: <https://w3id.org/cohesio/ontology#> . @prefix igeo: <http://rdf.insee.fr/def/geo#> .
@prefix org: <http://www.w3.org/ns/org#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:p sh:declare [ sh:prefix "coh" ; sh:namespace "https://w3id.org/cohesio/ontology#"^^xsd:anyURI ] ,
  [ sh:prefix "igeo" ; sh:namespace "http://rdf.insee.fr/def/geo#"^^xsd:anyURI ] .
"""


@pytest.mark.parametrize("text, words", [
    # The lead's jurisdiction: two steps from the initiative.
    ("ex:S a sh:NodeShape ; sh:targetClass coh:Initiative ; sh:property [ sh:path ( coh:lead coh:jurisdiction ) ; "
     "sh:class igeo:Commune ] .", "is not one step"),
    # sh:class on the values of a value: the types of a node two hops away.
    ("ex:S a sh:NodeShape ; sh:targetClass coh:Initiative ; sh:property [ sh:path coh:lead ; sh:node ex:T ] . "
     "ex:T a sh:NodeShape ; sh:property [ sh:path coh:jurisdiction ; sh:class igeo:Commune ] .", "sh:class on values 2"),
    # A SPARQL pattern about what the lead links to.
    ("ex:S a sh:NodeShape ; sh:targetClass coh:Initiative ; sh:sparql [ sh:prefixes ex:p ; sh:select "
     "\"SELECT $this WHERE { $this coh:lead ?o . ?o coh:jurisdiction ?j . ?j a igeo:Commune }\" ] .", "beyond one hop"),
    # A SPARQL pattern about a fixed resource.
    ("ex:S a sh:NodeShape ; sh:targetClass coh:Initiative ; sh:sparql [ sh:prefixes ex:p ; sh:select "
     "\"SELECT $this WHERE { <http://example.org/x> coh:lead ?o }\" ] .", "beyond one hop"),
    # Everything that links to the focus by any predicate.
    ("ex:S a sh:NodeShape ; sh:targetClass coh:Initiative ; sh:sparql [ sh:prefixes ex:p ; sh:select "
     "\"SELECT $this WHERE { ?x ?p $this }\" ] .", "beyond one hop"),
    ("ex:S a sh:NodeShape ; sh:targetClass coh:Initiative ; sh:property [ sh:path [ sh:zeroOrMorePath coh:lead ] ; "
     "sh:minCount 1 ] .", "is not one step"),
])
def test_shapes_reading_further_are_reported(text, words):
    graph = rdflib.Graph().parse(data=PREFIXES + text, format="turtle")
    problems = shapes_reach(graph).problems
    assert problems and any(words in p for p in problems), problems


def test_shapes_reading_further_are_validated_in_one_piece(store):
    """The type of an initiative's lead must not be a concept: a two-step path. Pieces would miss it
    (the type's own types are two hops from the initiative), so the whole graph is validated at once."""
    extra = PREFIXES + ("ex:S a sh:NodeShape ; sh:targetClass coh:Initiative ; sh:property ex:P . "
                        "ex:P sh:path ( coh:lead org:classification ) ; "
                        "sh:not [ sh:class <http://www.w3.org/2004/02/skos/core#Concept> ] ; "
                        "sh:message \"x\"@en, \"x\"@fr .")
    shapes = load_shapes(DEFAULT_SHAPES) + rdflib.Graph().parse(data=extra, format="turtle")
    source = StoredGraphs(store, EDITED, BASE, context_graph=GEO.value, context_nodes=geography_nodes(store, BASE, EDITED))
    whole = whole_graph_report(store, shapes)
    found = {(v.focus, v.shape) for v in whole.violations if v.shape == "http://example.org/P"}
    assert found

    reach = shapes_reach(shapes)
    trusting = validate_in_chunks(source, shapes, chunk_size=3, reach=Reach(reach.keys, reach.inverse))
    assert found - {(v.focus, v.shape) for v in trusting.report.violations}, "pieces would have missed some"

    result = validate_in_chunks(source, shapes, chunk_size=3)
    assert result.whole and result.chunks == 1 and result.problems
    assert_same(result.report, whole)


@pytest.mark.parametrize("fixture, focus", [
    ("theme-outside-scheme", RENNES_INITIATIVE),  # sh:node on a value
    ("missing-english-label", RENNES_CITY),  # sh:qualifiedValueShape on literal values
    ("spatial-wrong-class", RENNES_INITIATIVE),  # sh:or of sh:class on a value
])
def test_restricting_the_targets_keeps_the_checks_of_nested_shapes(shapes, fixture, focus):
    """pyshacl's focus_nodes option alone also filters the nodes nested shapes are evaluated on, and
    loses these violations; validate(focus=...) restricts the targets only."""
    from cohesio.validation import load_data

    data = load_data([ROOT / "tests" / "fixtures" / "invalid" / f"{fixture}.ttl"])
    whole = validate(data, shapes=shapes)
    about = {v for v in whole.violations if v.focus == focus}
    assert about
    assert set(validate(data, shapes=shapes, focus=[focus]).violations) == about


def test_cohesio_validate_reads_quad_formats_and_gives_the_line_of_a_syntax_error(tmp_path):
    """Files given to ``cohesio validate`` go through pyoxigraph's parsers: N-Quads and TriG too."""
    from cohesio.build import check_files
    from cohesio.config import load_settings
    from cohesio.validation import UnusableInput

    settings = load_settings(None, environ={}, project_dir=ROOT)
    good = tmp_path / "one.nq"
    good.write_text(f'<{RENNES_CITY}> <{LABEL}> "Stadt Rennes"@de <http://example.org/g> .\n', encoding="utf-8")
    report, checked = check_files(settings, [good], with_project=False)
    assert checked == 1 and {(v.focus, v.constraint) for v in report.violations} == set()  # untyped: no target
    bad = tmp_path / "two.nq"
    bad.write_text(good.read_text(encoding="utf-8") + "<http://example.org/a> <http://example.org/b> c .\n",
                   encoding="utf-8")
    with pytest.raises(UnusableInput) as unusable:
        check_files(settings, [bad], with_project=False)
    assert unusable.value.file == bad and unusable.value.line == 2
