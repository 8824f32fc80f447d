"""Query processes keep serving memory bounded: a heap limit per process (a query needing more is
stopped and answered 503) and recycling of a process a large query left big."""

from __future__ import annotations

import time

import pytest

from cohesio.sparql.executor import Job, QueryCrashed, QueryPool, resident_bytes

#: The fixture store's 148 triples four times over, each row's text concatenated: memory grows at
#: hundreds of MiB a second and would need tens of GiB.
HUNGRY = ("SELECT (STRLEN(GROUP_CONCAT(?x)) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l "
          "BIND(CONCAT(STR(?a), STR(?c), STR(?f), STR(?i), STR(?l)) AS ?x) }")
SMALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def _count(pool: QueryPool) -> int:
    import json

    outcome = pool.run(Job(query=SMALL, format="json"))
    return int(json.loads(outcome.body)["results"]["bindings"][0]["n"]["value"])


def _store_path(sparql_backend) -> str:
    return str(sparql_backend.published.store_path)


def test_resident_bytes_reads_this_process():
    assert 5 * 1024 * 1024 < resident_bytes() < 4 * 1024 ** 3


def test_a_query_past_the_memory_limit_is_stopped_and_the_pool_goes_on(sparql_backend):
    pool = QueryPool(_store_path(sparql_backend), size=1, timeout=60, memory_limit_mib=256)
    try:
        before = pool.pids()
        started = time.monotonic()
        with pytest.raises(QueryCrashed):
            pool.run(Job(query=HUNGRY, format="json"))
        # stopped by the memory bound, long before the 60-second time bound
        assert time.monotonic() - started < 30
        assert pool.pids() and pool.pids() != before  # a fresh process took its place
        assert _count(pool) == 148
    finally:
        pool.close()


def test_without_a_limit_the_same_query_is_only_bounded_by_time(sparql_backend):
    pool = QueryPool(_store_path(sparql_backend), size=1, timeout=1.5, memory_limit_mib=0)
    try:
        from cohesio.sparql.executor import QueryTimeout

        with pytest.raises(QueryTimeout):
            pool.run(Job(query=HUNGRY, format="json"))
        assert _count(pool) == 148
    finally:
        pool.close()


def test_a_process_left_big_by_a_query_is_replaced(sparql_backend):
    # 1 MiB: every process is above it after any query, so each query's process is replaced
    pool = QueryPool(_store_path(sparql_backend), size=1, timeout=30, recycle_mib=1)
    try:
        first = pool.pids()
        assert _count(pool) == 148
        deadline = time.monotonic() + 30
        while pool.pids() in ([], first):  # the successor starts on the spawner thread
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert pool.recycled == 1 and len(pool.pids()) == 1
        assert _count(pool) == 148 and pool.recycled == 2
    finally:
        pool.close()


def test_a_process_under_the_recycling_size_is_kept(sparql_backend):
    pool = QueryPool(_store_path(sparql_backend), size=1, timeout=30, recycle_mib=4096)
    try:
        first = pool.pids()
        for _ in range(3):
            assert _count(pool) == 148
        assert pool.pids() == first and pool.recycled == 0
    finally:
        pool.close()


def test_the_endpoint_answers_503_in_both_languages_when_a_query_needs_too_much_memory(sparql_store_dir):
    import dataclasses

    from cohesio.config import Settings
    from cohesio.store.embedded import EmbeddedBackend
    from cohesio.web import create_app

    settings = Settings(project_dir=sparql_store_dir, store_dir=sparql_store_dir, query_timeout=60.0,
                        query_memory_limit=256, query_processes=1)
    backend = EmbeddedBackend(settings)
    try:
        client = create_app(dataclasses.replace(settings), backend).test_client()
        response = client.post("/sparql", data={"query": HUNGRY}, headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 503, response.data[:300]
        text = response.get_data(as_text=True)
        assert "Simplifiez la requête" in text and "Simplify the query" in text
        assert response.headers["Retry-After"]
        again = client.post("/sparql", data={"query": SMALL}, headers={"Accept": "application/sparql-results+json"})
        assert again.status_code == 200 and again.get_json()["results"]["bindings"][0]["n"]["value"] == "148"
    finally:
        backend.close()
