"""The authenticated write API: success and refusal paths, concurrent writers, and crashes."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from cohesio import versions
from cohesio.contributions import log
from cohesio.web import create_app
from contrib_support import (BASE, OTHER_TOKEN, TOKEN, Server, ask, new_initiative, request, settings_for,
                             turtle)

INI = BASE + "id/initiative/"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def client(contrib_settings):
    app = create_app(contrib_settings)
    yield app.test_client()
    app.extensions["cohesio.backend"].close()


def test_authentication_401_403_and_writes_disabled(client, contrib_settings):
    body = new_initiative("essai--brest")
    r = client.post("/contrib/import?reason=x", data=body, content_type="text/turtle")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authentication required" in r.get_json()["message_en"] and "Authentification" in r.get_json()["message_fr"]
    r = client.post("/contrib/import?reason=x", data=body, content_type="text/turtle",
                    headers={"Authorization": "Bearer wrong-token-000000000"})
    assert r.status_code == 403 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = client.post("/contrib/import?reason=x", data=body, content_type="text/turtle",
                    headers={"Authorization": "Basic YWxpY2U6eA=="})
    assert r.status_code == 401
    assert log.sequence_numbers(contrib_settings.contributions_path) == []
    # No token configured: the write API is off.
    closed = create_app(settings_for(contrib_settings.project_dir, contrib_settings.store_path, write_tokens=""))
    r = closed.test_client().post("/contrib/import?reason=x", data=body, content_type="text/turtle", headers=AUTH)
    assert r.status_code == 403 and "disabled" in r.get_json()["message_en"]
    closed.extensions["cohesio.backend"].close()
    # The public endpoint stays read-only, token or not.
    r = client.post("/sparql", data={"update": f"INSERT DATA {{ <{INI}x> a <{BASE}ontology#Initiative> }}"},
                    headers=AUTH)
    assert r.status_code == 403


def test_create_correct_withdraw_revert_over_http(client, contrib_settings):
    r = client.post("/contrib/initiatives?reason=Nouvelle+action", data=new_initiative("essai--brest"),
                    content_type="text/turtle", headers=AUTH)
    assert r.status_code == 201, r.get_json()
    assert r.headers["Location"].endswith("/id/initiative/essai--brest")
    assert r.get_json()["agent"] == "alice" and r.get_json()["change"] == 1
    # Creating it again is a conflict, not a silent correction.
    r = client.post("/contrib/initiatives?reason=x", data=new_initiative("essai--brest"),
                    content_type="text/turtle", headers=AUTH)
    assert r.status_code == 409
    # Correct with If-Match: the validator comes from GET /contrib/initiatives/<slug>.
    tag = client.get("/contrib/initiatives/essai--brest").headers["ETag"]
    fix = turtle(f'<{INI}essai--brest> rdfs:label "Essai à Brest"@fr .')
    r = client.patch("/contrib/initiatives/essai--brest?reason=titre", data=fix, content_type="text/turtle",
                     headers={**AUTH, "If-Match": tag})
    assert r.status_code == 200 and r.get_json()["changed"] == [INI + "essai--brest"]
    r = client.patch("/contrib/initiatives/essai--brest?reason=titre", data=fix, content_type="text/turtle",
                     headers={**AUTH, "If-Match": tag})
    assert r.status_code == 412  # the tag is stale now
    r = client.patch("/contrib/initiatives/inconnue?reason=x", data=fix, content_type="text/turtle", headers=AUTH)
    assert r.status_code == 400  # the body is about another initiative than the URL's
    other = turtle(f'<{INI}inconnue> rdfs:label "Inconnue"@fr .')
    r = client.patch("/contrib/initiatives/inconnue?reason=x", data=other, content_type="text/turtle", headers=AUTH)
    assert r.status_code == 404
    r = client.delete("/contrib/initiatives/essai--brest?reason=fermée",
                      headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert r.status_code == 200 and r.get_json()["withdrawn"] == [INI + "essai--brest"]
    assert r.get_json()["agent"] == "bob"
    r = client.post("/contrib/changes/3/revert?reason=erreur", headers=AUTH)
    assert r.status_code == 201 and r.get_json()["created"] == [INI + "essai--brest"]
    assert [c.action for c in log.changes(contrib_settings.contributions_path)] == ["create", "correct", "withdraw",
                                                                                  "revert"]
    assert ask(contrib_settings, f'ASK {{ <{INI}essai--brest> <http://www.w3.org/2000/01/rdf-schema#label> "Essai à Brest"@fr }}')


def test_refusals_carry_the_report_in_the_contributors_language(client, contrib_settings):
    bad = new_initiative("essai--faux", commune="99999")
    r = client.post("/contrib/import?reason=x", data=bad, content_type="text/turtle",
                    headers={**AUTH, "Accept-Language": "fr"})
    assert r.status_code == 422
    body = r.get_json()
    assert body["accepted"] is False and body["message"].startswith("Modification refusée")
    results = body["report"]["results"]
    assert {(x["focus"], x["path"]) for x in results} >= {(INI + "essai--faux", "http://purl.org/dc/terms/spatial")}
    assert any("lien pendant" in x["message"] for x in results)
    assert all(x["shape"].startswith("https://w3id.org/cohesio/shapes#") for x in results)
    r = client.post("/contrib/import?reason=x", data=b"<a> <b> .", content_type="text/turtle", headers=AUTH)
    assert r.status_code == 422 and r.get_json()["errors"][0]["code"] == "syntax"
    r = client.post("/contrib/import?reason=x", data=b"{}", content_type="application/x-unknown", headers=AUTH)
    assert r.status_code == 415
    r = client.post("/contrib/import", data=new_initiative("essai--brest"), content_type="text/turtle", headers=AUTH)
    assert r.status_code == 400 and "reason" in r.get_json()["message_en"]
    big = b"#" * (contrib_settings.max_upload_bytes + 10)
    r = client.post("/contrib/import?reason=x", data=big, content_type="text/turtle", headers=AUTH)
    assert r.status_code == 413
    r = client.post("/contrib/changes/42/revert?reason=x", headers=AUTH)
    assert r.status_code == 404
    r = client.post("/contrib/import?reason=x&dry_run=1", data=new_initiative("essai--brest"),
                    content_type="text/turtle", headers=AUTH)
    assert r.status_code == 200 and r.get_json()["valid"] is True
    assert log.sequence_numbers(contrib_settings.contributions_path) == []


# ---------------------------------------------------------------- a real server: concurrency and crashes

def _post(server: Server, path: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    status, _headers, payload = request("POST", server.base + path, body,
                                        {"Content-Type": "text/turtle", **AUTH, **(headers or {})})
    return status, json.loads(payload or b"{}")


def test_concurrent_writers_lose_no_update(contrib_settings, tmp_path):
    server = Server(contrib_settings, tmp_path, workers=2).start()
    try:
        results: list[tuple[int, dict]] = []

        def create(n: int) -> None:
            results.append(_post(server, f"/contrib/initiatives?reason=r{n}",
                                 new_initiative(f"essai--concurrent-{n}", commune="29019")))

        threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert sorted(status for status, _ in results) == [201] * 8, results
        assert sorted(body["change"] for _, body in results) == list(range(1, 9))
        for n in range(8):
            assert ask(contrib_settings, f"ASK {{ <{INI}essai--concurrent-{n}> a ?t }}")
        # Two editors correct the same initiative from the same reading: one wins, one is told.
        _, headers, _ = request("GET", server.base + "/contrib/initiatives/essai--concurrent-0")
        tag = headers["ETag"]
        answers: list[int] = []

        def correct(title: str) -> None:
            fix = turtle(f'<{INI}essai--concurrent-0> rdfs:label "{title}"@fr .')
            status, _, _ = request("PATCH", server.base + "/contrib/initiatives/essai--concurrent-0?reason=t", fix,
                                   {"Content-Type": "text/turtle", "If-Match": tag, **AUTH})
            answers.append(status)

        pair = [threading.Thread(target=correct, args=(t,)) for t in ("Titre A", "Titre B")]
        for t in pair:
            t.start()
        for t in pair:
            t.join(timeout=120)
        assert sorted(answers) == [200, 412]
        # Every worker serves the last version.
        for _ in range(4):
            status, _, body = request("GET", server.base + "/sparql?query=" + urllib_quote(
                f"SELECT (COUNT(*) AS ?n) WHERE {{ ?i a <{BASE}ontology#Change> }}"),
                headers={"Accept": "application/sparql-results+json"})
            assert json.loads(body)["results"]["bindings"][0]["n"]["value"] == "9"
    finally:
        server.stop()


def urllib_quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@pytest.mark.parametrize("point, accepted", [("before-log", False), ("after-log", True), ("after-publish", True)])
def test_sigkill_during_a_write_loses_nothing_accepted_and_keeps_the_store_intact(contrib_settings, tmp_path,
                                                                                 point, accepted):
    marker = tmp_path / "reached"
    server = Server(contrib_settings, tmp_path, workers=1,
                    env={"COHESIO_FAILPOINT": point, "COHESIO_FAILPOINT_FILE": str(marker)}).start()
    before = versions.current(contrib_settings.store_path).id
    def write() -> None:
        try:
            _post(server, "/contrib/import?reason=crash", new_initiative("essai--crash"))
        except OSError:
            pass  # the server is killed before it answers: that is the point

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    server.kill()  # SIGKILL: master, workers and query processes, mid-write
    server.log.close()
    assert log.sequence_numbers(contrib_settings.contributions_path) == ([1] if accepted else [])
    # The store as it was left still opens and answers.
    current = versions.current(contrib_settings.store_path)
    assert current.open_store().query("ASK { GRAPH ?g { ?s ?p ?o } }")
    if point == "before-log":
        assert current.id == before
    # Restarted: a change that was accepted (logged) is published; one that was not never appears.
    restarted = Server(contrib_settings, tmp_path, workers=1).start()
    try:
        status, _, body = request("GET", restarted.base + "/sparql?query=" + urllib_quote(
            f"ASK {{ <{INI}essai--crash> a <{BASE}ontology#Initiative> }}"),
            headers={"Accept": "application/sparql-results+json"})
        assert status == 200 and json.loads(body)["boolean"] is accepted
        # And the service takes writes again.
        status, body2 = _post(restarted, "/contrib/import?reason=after", new_initiative("essai--apres"))
        assert status == 201 and body2["change"] == (2 if accepted else 1)
    finally:
        restarted.stop()


def test_sigkill_right_after_the_answer_keeps_the_change(contrib_settings, tmp_path):
    server = Server(contrib_settings, tmp_path, workers=1).start()
    status, body = _post(server, "/contrib/import?reason=durable", new_initiative("essai--durable"))
    server.kill()
    server.log.close()
    assert status == 201
    record = json.loads((contrib_settings.contributions_path / "000001.json").read_text(encoding="utf-8"))
    assert record["created"] == [INI + "essai--durable"]
    assert ask(contrib_settings, f"ASK {{ <{INI}essai--durable> a ?t }}")
    assert not list(Path(contrib_settings.contributions_path).glob(".*.tmp"))


def test_json_records_and_csv_over_http(client, contrib_settings):
    record = {"id": "essai-json--rennes", "title_fr": "Essai JSON", "title_en": "JSON test",
              "practice": "bureau-des-temps", "commune_code": "35238", "lead": "Ville de Rennes",
              "reason": "création en JSON"}
    r = client.post("/contrib/initiatives", json=record, headers=AUTH)
    assert r.status_code == 201, r.get_json()
    assert r.headers["Location"].endswith("/id/initiative/essai-json--rennes")
    r = client.patch("/contrib/initiatives/essai-json--rennes", json={"title_en": "A JSON test", "reason": "titre"},
                     headers=AUTH)
    assert r.status_code == 200 and r.get_json()["removed"] == 1 and r.get_json()["added"] == 1
    r = client.post("/contrib/initiatives", json={**record, "id": "essai-json--x", "commune_code": "123"},
                    headers={**AUTH, "Accept-Language": "fr"})
    assert r.status_code == 422
    assert [(e["row"], e["column"]) for e in r.get_json()["errors"]] == [(2, "commune_code")]
    csv_body = ("title_fr;title_en;practice;commune_code;lead\n"
                "Essai CSV;CSV test;bureau-des-temps;29019;Ville de Rennes\n").encode("utf-8")
    r = client.post("/contrib/import?reason=tableur", data=csv_body, content_type="text/csv", headers=AUTH)
    assert r.status_code == 201 and len([i for i in r.get_json()["created"] if "/initiative/" in i]) == 1


def test_malformed_slugs_and_reasons_are_answered_4xx_never_500(client, contrib_settings):
    # Slugs no initiative can have, some not even allowed in an IRI (space, <, ").
    for slug in ("a%20b", "a%3Cb", "%22x%22", "Bureau-Des-Temps"):
        r = client.get(f"/contrib/initiatives/{slug}")
        assert r.status_code == 404 and r.get_json()["message_fr"] and r.get_json()["message_en"], (slug, r.status_code)
        r = client.patch(f"/contrib/initiatives/{slug}?reason=x", headers=AUTH, content_type="text/turtle",
                         data=turtle(f'<{INI}x> rdfs:label "x"@fr .'))
        assert r.status_code in (400, 404), (slug, r.status_code)
        r = client.delete(f"/contrib/initiatives/{slug}?reason=x", headers=AUTH)
        assert r.status_code == 404, (slug, r.status_code)
    # A reason that is not a string is no reason.
    record = {"id": "essai-json--raison", "title_fr": "Essai", "title_en": "Test", "practice": "bureau-des-temps",
              "commune_code": "35238", "lead": "Ville de Rennes"}
    for reason in (5, ["a"], {"a": 1}, True):
        r = client.post("/contrib/initiatives", json={**record, "reason": reason}, headers=AUTH)
        assert r.status_code == 400 and "reason" in r.get_json()["message_en"], (reason, r.status_code)
    # Control characters in a reason would forge lines in `cohesio history` or drive a terminal.
    fix = turtle(f'<{INI}bureau-des-temps--rennes> rdfs:label "Rennes time office"@en .')
    for reason in ("a%0A%2399%20forged", "red%1B%5B31m", "nul%00"):
        r = client.post(f"/contrib/import?reason={reason}", data=fix, content_type="text/turtle", headers=AUTH)
        assert r.status_code == 400 and r.get_json()["message_fr"] and r.get_json()["message_en"], reason
    # A lone surrogate is valid JSON but no text: it could not be written to the log (was a 500).
    fields = ", ".join(f'"{k}": "{v}"' for k, v in record.items())
    for body in ('{' + fields + ', "reason": "x\\ud800"}', '{' + fields.replace('"Essai"', '"E\\udc00"') + ', "reason": "x"}'):
        r = client.post("/contrib/initiatives", data=body.encode(), content_type="application/json", headers=AUTH)
        assert r.status_code == 400 and r.get_json()["message_fr"] and r.get_json()["message_en"], body
    r = client.patch("/contrib/initiatives/bureau-des-temps--rennes", data=b'{"title_en": "a\\ud800", "reason": "x"}',
                     content_type="application/json", headers=AUTH)
    assert r.status_code == 400
    assert log.sequence_numbers(contrib_settings.contributions_path) == []
    r = client.post("/contrib/import?reason=un%09tab", data=fix, content_type="text/turtle", headers=AUTH)
    assert r.status_code == 201


def test_patching_an_unknown_initiative_with_json_is_404(client, contrib_settings):
    r = client.patch("/contrib/initiatives/inconnue--nulle-part", json={"title_en": "x", "reason": "r"}, headers=AUTH)
    assert r.status_code == 404, r.get_json()
    assert log.sequence_numbers(contrib_settings.contributions_path) == []


def test_json_values_that_are_not_text_are_cell_errors_in_both_languages(client, contrib_settings):
    record = {"id": "essai-json--valeurs", "title_fr": "Essai", "title_en": "Test", "practice": "bureau-des-temps",
              "commune_code": 35238, "lead": "Ville de Rennes", "reason": "r"}
    # These were made text before being read: [null] created an organisation named "None".
    for field, value in (("partners", [None]), ("partners", [{"a": 1}]), ("title_fr", {"a": 1}), ("lead", True)):
        r = client.post("/contrib/initiatives?dry_run=1", json={**record, field: value}, headers=AUTH)
        assert r.status_code == 422, (field, value, r.get_json())
        errors = r.get_json()["errors"]
        assert [(e["column"], e["code"]) for e in errors] == [(field, "not-text")]
        assert all(e["message_fr"] and e["message_en"] and e["message_fr"] != e["message_en"] for e in errors)
    r = client.post("/contrib/initiatives?dry_run=1", json={**record, "partners": ["Ville de Rennes"]}, headers=AUTH)
    assert r.status_code == 200 and r.get_json()["valid"] is True
