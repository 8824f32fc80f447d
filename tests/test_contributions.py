"""Contributions through the library and the CLI: the guard, the log, the history, revert, rebuild."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from cohesio import versions
from cohesio.build import build
from cohesio.contributions import guard, log, service
from cohesio.contributions.delta import Conflict, NotEditable, NotFound
from cohesio.contributions.view import StoreView
from cohesio.contributions.writer import ChangeRefused, NothingToChange, recover, write_lock
from cohesio.validation import validate
from contrib_support import BASE, ask, new_initiative, open_current, turtle

INI = BASE + "id/initiative/"


def _import(settings, payload: bytes, reason: str = "test", agent: str = "alice", **kw):
    triples = service.read_payload(settings, payload, "turtle")
    return service.import_triples(settings, triples, agent=agent, reason=reason, **kw)


def _store_files(store_dir: Path) -> dict[str, bytes]:
    current = versions.current(store_dir)
    return {"current": str(current.path).encode(), **{
        str(p.relative_to(current.path)): p.read_bytes() for p in sorted(current.path.rglob("*")) if p.is_file()
        and p.suffix != ".log" and "LOG" not in p.name}}


def test_accepted_change_is_published_logged_and_described_in_prov(contrib_settings):
    before = versions.current(contrib_settings.store_path).id
    outcome = _import(contrib_settings, new_initiative("essai--brest"), reason="Nouvelle action à Brest")
    change = outcome.change
    assert change.seq == 1 and change.created == (INI + "essai--brest",)
    assert versions.current(contrib_settings.store_path).id == outcome.version != before
    # In the published graph, in the contributions graph, derived from its change.
    assert ask(contrib_settings, f"""ASK {{ GRAPH <{BASE}graph/contributions> {{
        <{INI}essai--brest> a <{BASE}ontology#Initiative> ;
            <http://www.w3.org/ns/prov#wasDerivedFrom> <{BASE}id/change/000001> }} }}""")
    # The history: who, when, why, what, as PROV.
    rows = list(open_current(contrib_settings).query(f"""
        PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX coh: <{BASE}ontology#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
        SELECT ?who ?when ?why (COUNT(?st) AS ?n) WHERE {{ GRAPH <{BASE}graph/history> {{
            <{BASE}id/change/000001> a prov:Activity ; prov:wasAssociatedWith/rdfs:label ?who ;
              prov:endedAtTime ?when ; rdfs:comment ?why ; prov:generated <{INI}essai--brest> ;
              coh:added ?st . ?st rdf:subject ?s }} }} GROUP BY ?who ?when ?why"""))
    assert len(rows) == 1
    assert rows[0]["who"].value == "alice" and rows[0]["why"].value == "Nouvelle action à Brest"
    assert int(rows[0]["n"].value) == len(change.added) == 8
    # The log file is the durable record, canonical IRIs, N-Quads lines.
    record = json.loads((contrib_settings.contributions_path / "000001.json").read_text(encoding="utf-8"))
    assert record["agent"] == "alice" and len(record["added"]) == 8 and record["removed"] == []
    assert versions.current(contrib_settings.store_path).manifest["last_change"] == 1


def test_refused_change_reports_resource_property_rule_and_changes_nothing(contrib_settings):
    files = _store_files(contrib_settings.store_path)
    bad = new_initiative("essai--faux", commune="99999", extra='; <http://xmlns.com/foaf/0.1/page> "pas une url" ')
    with pytest.raises(ChangeRefused) as refused:
        _import(contrib_settings, bad, lang="fr")
    found = {(v.focus, v.path, v.shape.rsplit("#", 1)[1]) for v in refused.value.report.violations}
    assert (INI + "essai--faux", "http://purl.org/dc/terms/spatial", "Initiative-spatialClass") in found
    assert (INI + "essai--faux", "http://purl.org/dc/terms/spatial", "LinkTargetsShape") in found
    assert (INI + "essai--faux", "http://xmlns.com/foaf/0.1/page", "Initiative-page") in found
    messages = " ".join(v.message("fr") for v in refused.value.report.violations)
    assert "n'est décrit nulle part" in messages
    assert _store_files(contrib_settings.store_path) == files
    assert log.sequence_numbers(contrib_settings.contributions_path) == []


def test_duplicate_code_is_caught_against_the_whole_graph(contrib_settings):
    # Ville de Rennes already has SIREN 213502388: the new organisation is not even linked to it.
    payload = turtle("""<https://w3id.org/cohesio/id/organization/copie-de-rennes> a org:Organization ;
        rdfs:label "Copie"@fr, "Copy"@en ; coh:siren "213502388" .""")
    with pytest.raises(ChangeRefused) as refused:
        _import(contrib_settings, payload)
    assert any(v.shape.endswith("OrganizationSirenCheck") and v.focus.endswith("copie-de-rennes")
               for v in refused.value.report.violations)


def test_neighbours_are_checked_when_a_resource_changes_kind(contrib_settings):
    # Ville de Rennes keeping only its org:FormalOrganization type stops being an org:Organization
    # for SHACL (our ontology does not state the subclass): every initiative it leads breaks.
    payload = turtle("""<https://w3id.org/cohesio/id/organization/ville-de-rennes> a org:FormalOrganization .""")
    with pytest.raises(ChangeRefused) as refused:
        _import(contrib_settings, payload)
    focus = {v.focus for v in refused.value.report.violations}
    assert INI + "bureau-des-temps--rennes" in focus


def test_incremental_guard_agrees_with_a_full_validation(contrib_settings):
    """What the guard reports about the focus is what validating the whole edited graph reports."""
    store = open_current(contrib_settings)
    view = StoreView(store)
    bad = service.read_payload(contrib_settings, new_initiative(
        "essai--double", commune="2A004", lead="nobody-at-all",
        extra='; rdfs:label "Deuxième"@fr '), "turtle")
    from cohesio.contributions import delta

    proposal = delta.upsert(view, bad, BASE + "id/change/000001")
    shapes = contrib_settings.shapes_dir / "cohesio.shapes.ttl"
    incremental = guard.check(view, proposal.added, proposal.removed, shapes)
    # The full graph after the change (edited graphs + the whole geography).
    full = ox.Store()
    full.extend(ox.Quad(q.subject, q.predicate, q.object) for q in view.after(proposal.added, proposal.removed).quads())
    whole = validate(full, shapes=guard.shapes_graph(shapes))
    about = {(v.focus, v.path, v.shape, v.value) for v in whole.violations if v.focus == INI + "essai--double"}
    assert about and {(v.focus, v.path, v.shape, v.value) for v in incremental.violations} == about


def test_correction_replaces_only_the_properties_and_languages_sent(contrib_settings):
    rennes = INI + "bureau-des-temps--rennes"
    payload = turtle(f'<{rennes}> rdfs:label "Time office of Rennes"@en ; '
                     f'foaf:page <https://metropole.rennes.fr/bureau-des-temps> .')
    change = _import(contrib_settings, payload, reason="English title").change
    assert change.touched == (rennes,) and not change.created
    store = open_current(contrib_settings)
    labels = {(q.object.value, q.graph_name.value.rsplit("/", 1)[1])
              for q in store.quads_for_pattern(ox.NamedNode(rennes), ox.NamedNode(str(rdflib.RDFS.label)), None)}
    assert labels == {("Bureau des temps — Rennes", "guide"), ("Time office of Rennes", "contributions")}
    # Untouched statements stay where they were: the editors' theme, the guide's practice.
    assert ask(contrib_settings, f"ASK {{ GRAPH <{BASE}graph/editorial> {{ <{rennes}> <http://purl.org/dc/terms/subject> ?t }} }}")
    assert [str(q.object) for q in change.removed] == ['"Time office — Rennes"@en']


def test_withdraw_then_revert_restores_the_graph_exactly(contrib_settings):
    rennes = INI + "bureau-des-temps--rennes"
    before = {q for q in open_current(contrib_settings) if "graph/meta" not in str(q.graph_name)
              and "graph/history" not in str(q.graph_name)}
    withdrawn = service.withdraw_initiative(contrib_settings, "bureau-des-temps--rennes", agent="alice",
                                            reason="doublon").change
    assert withdrawn.withdrawn == (rennes,)
    assert not ask(contrib_settings, f"ASK {{ GRAPH ?g {{ <{rennes}> ?p ?o }} FILTER(?g != <{BASE}graph/history>) }}")
    assert not ask(contrib_settings, f"ASK {{ GRAPH ?g {{ ?s ?p <{rennes}> }} FILTER(?g != <{BASE}graph/history>) }}")
    service.revert_change(contrib_settings, withdrawn.seq, agent="bob", reason="erreur")
    after = {q for q in open_current(contrib_settings) if "graph/meta" not in str(q.graph_name)
             and "graph/history" not in str(q.graph_name)}
    assert after == before


def test_revert_refused_when_a_later_change_touched_the_same_triples(contrib_settings):
    first = _import(contrib_settings, new_initiative("essai--lorient", commune="56121")).change
    payload = turtle(f'<{INI}essai--lorient> rdfs:label "Autre titre"@fr .')
    _import(contrib_settings, payload, reason="titre")
    with pytest.raises(Conflict):
        service.revert_change(contrib_settings, first.seq, agent="alice", reason="annuler")
    with pytest.raises(NotFound):
        service.revert_change(contrib_settings, 99, agent="alice", reason="annuler")


def test_what_a_contribution_may_not_touch(contrib_settings):
    with pytest.raises(NotEditable):
        _import(contrib_settings, turtle('<https://w3id.org/cohesio/id/commune/35238> rdfs:label "Renne"@fr .'))
    with pytest.raises(NothingToChange):
        _import(contrib_settings, turtle(f'<{INI}bureau-des-temps--rennes> rdfs:label "Bureau des temps — Rennes"@fr .'))
    with pytest.raises(service.ChangeError):
        _import(contrib_settings, new_initiative("essai--sans-raison"), reason="  ")


def test_blank_nodes_become_skolem_iris(contrib_settings):
    payload = new_initiative("essai--vannes", commune="56260",
                             extra='; <http://schema.org/location> [ rdfs:label "Salle des fêtes"@fr ] ')
    change = _import(contrib_settings, payload).change
    assert any(str(q.object).startswith(f"<{BASE}.well-known/genid/000001-") for q in change.added)
    assert not any(isinstance(t, ox.BlankNode) for q in change.added for t in (q.subject, q.object))


def test_a_build_from_data_and_the_log_reproduces_the_published_graph(contrib_settings, tmp_path):
    _import(contrib_settings, new_initiative("essai--brest"))
    _import(contrib_settings, turtle(f'<{INI}bureau-des-temps--rennes> rdfs:label "Rennes time office"@en .'))
    service.withdraw_initiative(contrib_settings, "bureau-des-temps--nancy", agent="bob", reason="fermé")
    published = open_current(contrib_settings)
    rebuilt_settings = contrib_settings.__class__(**{**contrib_settings.__dict__, "store_dir": tmp_path / "rebuilt"})
    result = build(rebuilt_settings)
    assert result.version.manifest["last_change"] == 3
    rebuilt = open_current(rebuilt_settings)

    def dataset(store) -> tuple[set, rdflib.Graph]:
        plain, with_bnodes = set(), rdflib.Graph()
        for q in store:
            if str(q.graph_name).endswith("graph/meta>"):
                continue  # publication metadata (VoID, build dates), regenerated by every build
            if any(isinstance(t, ox.BlankNode) for t in (q.subject, q.object)):
                with_bnodes.add(tuple(rdflib.BNode(t.value) if isinstance(t, ox.BlankNode)
                                      else rdflib.URIRef(t.value) if isinstance(t, ox.NamedNode)
                                      else rdflib.Literal(t.value, lang=t.language,
                                                          datatype=None if t.language else rdflib.URIRef(t.datatype.value))
                                      for t in (q.subject, q.predicate, q.object)))
            else:
                plain.add(q)
        return plain, with_bnodes

    a_plain, a_bnodes = dataset(published)
    b_plain, b_bnodes = dataset(rebuilt)
    assert a_plain == b_plain
    assert isomorphic(a_bnodes, b_bnodes)  # the guide's own blank nodes: equal up to renaming


def test_a_logged_change_not_yet_published_is_published_by_recovery(contrib_settings):
    """The writer died after logging (the change is accepted) and before publishing."""
    first = _import(contrib_settings, new_initiative("essai--brest"))
    # Put the pointer back to the version before the change, as if publication never happened.
    store_dir = contrib_settings.store_path
    previous = versions.current(store_dir).manifest["derived_from"]
    link = store_dir / ".current.tmp"
    link.symlink_to(Path("versions") / previous)
    link.replace(store_dir / "current")
    assert not ask(contrib_settings, f"ASK {{ GRAPH ?g {{ <{INI}essai--brest> ?p ?o }} }}")
    with write_lock(contrib_settings):
        version = recover(contrib_settings)
    assert version.manifest["last_change"] == first.change.seq
    assert ask(contrib_settings, f"ASK {{ GRAPH ?g {{ <{INI}essai--brest> ?p ?o }} }}")


def test_dry_run_validates_and_publishes_nothing(contrib_settings):
    before = versions.current(contrib_settings.store_path).id
    outcome = _import(contrib_settings, new_initiative("essai--brest"), dry_run=True)
    assert outcome.change is None and outcome.report.conforms
    assert versions.current(contrib_settings.store_path).id == before
    assert log.sequence_numbers(contrib_settings.contributions_path) == []


# ---------------------------------------------------------------- the CLI

def _cli(settings, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cohesio", "--project-dir", str(settings.project_dir), "--store-dir",
         str(settings.store_path), *args],
        input=stdin, capture_output=True, timeout=300,
        env={"COHESIO_CONTRIBUTIONS_DIR": str(settings.contributions_path), "PATH": "/usr/bin:/bin",
             "HOME": str(Path.home())})


def test_cli_import_history_withdraw_revert_and_exit_codes(contrib_settings, tmp_path):
    good = tmp_path / "good.ttl"
    good.write_bytes(new_initiative("essai--brest"))
    done = _cli(contrib_settings, "import", str(good), "-m", "ajout", "--agent", "carol")
    assert done.returncode == 0, done.stderr.decode()
    assert "Change no. 1 accepted" in done.stdout.decode()
    again = _cli(contrib_settings, "--lang", "fr", "import", str(good), "-m", "encore")
    assert again.returncode == 4 and "ne change rien" in again.stderr.decode()
    bad = tmp_path / "bad.ttl"
    bad.write_bytes(new_initiative("essai--faux", commune="99999"))
    refused = _cli(contrib_settings, "--lang", "fr", "import", str(bad), "-m", "faux")
    assert refused.returncode == 1 and "lien pendant" in refused.stdout.decode()
    broken = tmp_path / "broken.ttl"
    broken.write_bytes(b"<a> <b> .\n")
    unreadable = _cli(contrib_settings, "import", str(broken), "-m", "x", "--format", "json")
    assert unreadable.returncode == 1 and json.loads(unreadable.stdout)["errors"][0]["code"] == "syntax"
    no_reason = _cli(contrib_settings, "import", str(good))
    assert no_reason.returncode == 2
    gone = _cli(contrib_settings, "withdraw", "essai--brest", "-m", "retrait")
    assert gone.returncode == 0, gone.stderr.decode()
    back = _cli(contrib_settings, "revert", "2", "-m", "oups", "--format", "json")
    assert back.returncode == 0 and json.loads(back.stdout)["change"]["reverts"] == 2
    history = _cli(contrib_settings, "history", "--format", "json", "--resource", INI + "essai--brest")
    assert [c["seq"] for c in json.loads(history.stdout)] == [1, 2, 3]
    exported = _cli(contrib_settings, "history", "--format", "nquads")
    quads = list(ox.parse(exported.stdout, format=ox.RdfFormat.N_QUADS))
    changes = {q.subject for q in quads if q.object == ox.NamedNode(f"{BASE}ontology#Change")}
    assert len(changes) == 3


# ---------------------------------------------------------------- the spreadsheet way in, end to end

TEMPLATE = Path(__file__).resolve().parents[1] / "docs" / "contribution-template.csv"


def test_the_csv_template_imports_validates_and_publishes(contrib_settings):
    outcome = service.import_triples(contrib_settings, service.read_payload(contrib_settings, TEMPLATE.read_bytes(), "csv"),
                                     agent="mairie", reason="modèle")
    created = set(outcome.change.created)
    assert {i for i in created if "/initiative/" in i} and {i for i in created if "/organization/" in i}
    # Resolved by name + département: the real Saint-Étienne (42218).
    assert ask(contrib_settings, f"""ASK {{ GRAPH <{BASE}graph/contributions> {{ ?i a <{BASE}ontology#Initiative> ;
        <http://purl.org/dc/terms/spatial> <{BASE}id/commune/42218> ;
        <http://www.w3.org/ns/prov#wasDerivedFrom> <{BASE}id/change/000001> }} }}""")


def test_a_csv_with_mistakes_is_refused_whole_with_rows_and_columns(contrib_settings):
    rows = [
        "title_fr;title_en;practice;commune_code;lead;url;start_date",
        "Bon;Good;bureau-des-temps;35238;Ville de Rennes;https://rennes.fr/;2024",
        "Sans pratique;No practice;pratique-inconnue;35238;Ville de Rennes;;",
        "Mauvais code;Bad code;bureau-des-temps;99999;Ville de Rennes;;",
        "Mauvaise url;Bad url;bureau-des-temps;35238;Ville de Rennes;pas une url;",
        "Mauvaise date;Bad date;bureau-des-temps;35238;Ville de Rennes;;31/02/2024",
    ]
    data = ("\n".join(rows) + "\n").encode("utf-8")
    with pytest.raises(service.InputErrors) as refused:
        service.read_payload(contrib_settings, data, "csv")
    found = {(e.row, e.column) for e in refused.value.errors}
    assert found == {(3, "practice"), (4, "commune_code"), (5, "url"), (6, "start_date")}
    assert log.sequence_numbers(contrib_settings.contributions_path) == []


# ---------------------------------------------------------------- found in review

def test_identifiers_are_checked_whole_and_skolem_iris_are_not_minted(contrib_settings):
    from cohesio.contributions.delta import ChangeError

    # Only the last segment used to be checked: these were accepted as new initiatives.
    for slug in ("a/b", "../commune/35238", "x/../../commune/35238"):
        with pytest.raises(ChangeError):
            _import(contrib_settings, new_initiative(slug))
    # A skolem IRI written by hand would later be taken by the blank node of change no. 2.
    with pytest.raises(ChangeError):
        _import(contrib_settings, new_initiative("essai--brest", extra=f'; <http://schema.org/location> <{BASE}.well-known/genid/000002-1> '))
    with pytest.raises(ChangeError):
        _import(contrib_settings, turtle(f'<{BASE}.well-known/genid/000002-1> a coh:Place ; rdfs:label "x"@fr, "x"@en .'))
    assert log.sequence_numbers(contrib_settings.contributions_path) == []
    # An existing one can still be corrected.
    change = _import(contrib_settings, new_initiative(
        "essai--vannes", commune="56260", extra='; <http://schema.org/location> [ rdfs:label "Salle"@fr ] ')).change
    skolem = next(q.object for q in change.added if str(q.object).startswith(f"<{BASE}.well-known/genid/"))
    assert _import(contrib_settings, turtle(f'<{skolem.value}> rdfs:label "Salle des fêtes"@fr .')).change.seq == 2


def test_rdf_1_2_triple_terms_are_refused_before_they_can_break_the_build(contrib_settings):
    # Accepted, a triple term made every later build fail (the JSON-LD dump cannot hold it).
    rennes = INI + "bureau-des-temps--rennes"
    for body in (f'<{rennes}> rdfs:comment <<( <{INI}a> <{INI}b> <{INI}c> )>> .',
                 f'<< <{rennes}> rdfs:label "x"@fr >> rdfs:comment "y" .'):
        with pytest.raises(service.InputErrors) as refused:
            service.read_payload(contrib_settings, turtle(body), "turtle")
        assert refused.value.errors[0].code == "syntax"


def test_revert_of_a_creation_refused_when_a_later_change_added_to_it(contrib_settings):
    first = _import(contrib_settings, new_initiative("essai--brest")).change
    _import(contrib_settings, turtle(f'<{INI}essai--brest> coh:partner <{BASE}id/organization/ville-de-rennes> .'))
    # Accepted, the revert left `essai--brest coh:partner …` alone, typeless, under a withdrawn IRI.
    with pytest.raises(Conflict):
        service.revert_change(contrib_settings, first.seq, agent="alice", reason="annuler")
    assert log.sequence_numbers(contrib_settings.contributions_path) == [1, 2]
    # A typeless resource that exists (a blank node's skolem IRI) is corrected, not created again:
    # reverting the correction is no conflict.
    made = _import(contrib_settings, new_initiative(
        "essai--vannes", commune="56260", extra='; <http://schema.org/location> [ rdfs:label "Salle"@fr ; rdfs:comment "x" ] ')).change
    skolem = next(q.object for q in made.added if str(q.object).startswith(f"<{BASE}.well-known/genid/"))
    fix = _import(contrib_settings, turtle(f'<{skolem.value}> rdfs:label "Salle des fêtes"@fr .')).change
    assert fix.touched == (skolem.value,) and not fix.created
    service.revert_change(contrib_settings, fix.seq, agent="alice", reason="annuler")
    assert ask(contrib_settings, f'ASK {{ <{skolem.value}> <http://www.w3.org/2000/01/rdf-schema#label> "Salle"@fr }}')


def test_a_short_write_never_logs_a_truncated_change(tmp_path, monkeypatch):
    import os

    real_write = os.write
    monkeypatch.setattr(log.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    change = log.Change(seq=1, agent="alice", time="2026-01-01T00:00:00Z", reason="r" * 500, action="import",
                        touched=(INI + "bureau-des-temps--rennes",))
    log.append(tmp_path, change)
    assert log.read(tmp_path, 1) == change


def test_a_deployment_base_iri_builds_logs_canonically_and_replays(contrib_settings, tmp_path):
    """With base_iri other than https://w3id.org/cohesio/, the build was refused on the real data (the
    walk up the geography compared rebased predicates with canonical ones), so nothing could be
    contributed; the log stays canonical whatever IRIs the contributor writes."""
    from contrib_support import settings_for

    base = "http://127.0.0.1:8000/"
    settings = settings_for(contrib_settings.project_dir, tmp_path / "store", base_iri=base,
                            contributions_dir=tmp_path / "contributions")
    build(settings)
    payload = new_initiative("essai--brest").decode().replace(BASE, base).encode()
    change = _import(settings, payload).change
    record = (tmp_path / "contributions" / "000001.json").read_text(encoding="utf-8")
    assert base not in record and f"{BASE}id/initiative/essai--brest" in record
    query = f"ASK {{ GRAPH <{base}graph/contributions> {{ <{base}id/initiative/essai--brest> a <{base}ontology#Initiative> }} }}"
    assert ask(settings, query)
    bad = new_initiative("essai--faux", commune="99999").decode().replace(BASE, base).encode()
    with pytest.raises(ChangeRefused):
        _import(settings, bad)
    result = build(settings)  # replays the log under the deployment's base
    assert result.version.manifest["last_change"] == change.seq and ask(settings, query)


def test_the_name_resolver_cache_survives_a_thread_switching_versions(contrib_settings, monkeypatch):
    class Racy(dict):
        """The cache as seen by a thread while another, on the next version, clears it."""

        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            self.clear()

    monkeypatch.setattr(service, "_lookups", Racy())
    assert service.lookup_for(contrib_settings) is not None  # was KeyError: a 500 on a CSV or JSON write


def test_a_reason_that_is_not_one_line_of_text_is_refused(contrib_settings):
    from cohesio.contributions.delta import ChangeError

    # "\udcff": an undecodable byte of `cohesio import -m …` (surrogateescape); it failed at the
    # log, after validation. A line break or an escape forged lines of `cohesio history`.
    for reason in ("x\udcff", "a\n#7  2026-01-01T00:00:00Z  editors  withdraw", "\x1b[2J"):
        with pytest.raises(ChangeError):
            _import(contrib_settings, new_initiative("essai--brest"), reason=reason)
    assert log.sequence_numbers(contrib_settings.contributions_path) == []


def test_a_contribution_cannot_change_what_kind_of_thing_a_resource_is(contrib_settings):
    theme = turtle("""<https://w3id.org/cohesio/id/place/faux-theme> a <http://www.w3.org/2004/02/skos/core#Concept> ;
        <http://www.w3.org/2004/02/skos/core#inScheme> <https://w3id.org/cohesio/id/scheme/themes> .""")
    with pytest.raises(NotEditable) as refused:
        _import(contrib_settings, theme)
    assert "skos/core#Concept" in str(refused.value)
    commune = turtle("""<https://w3id.org/cohesio/id/organization/fausse-commune> a <http://rdf.insee.fr/def/geo#Commune> .""")
    with pytest.raises(NotEditable):
        _import(contrib_settings, commune)
    with pytest.raises(service.ChangeError):
        _import(contrib_settings, new_initiative("essai--long"), reason="x" * 1001)


def test_two_author_names_never_share_an_agent_iri():
    from cohesio.contributions.history import agent_iri

    names = ["alice", "Alice", "a.b", "a-b", "Alice Martin", "alice martin", "élodie", "elodie"]
    assert len({agent_iri(n) for n in names}) == len(names)
    assert agent_iri("region-bretagne") == BASE + "id/agent/region-bretagne"
