"""A remote SPARQL server that fails is the server's problem, not the client's: 503 or 502, both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohesio.config import Settings
from cohesio.store.errors import RemoteError, RemoteUnavailable
from cohesio.web import create_app

ROOT = Path(__file__).resolve().parents[1]


class FailingBackend:
    version = "test"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def graphs(self) -> list[str]:
        return []

    def run(self, job, timeout=None):
        raise self.error

    def close(self) -> None:
        pass


@pytest.mark.parametrize("error, status", [
    (RemoteUnavailable("http://127.0.0.1:9/sparql", "connection refused"), 503),
    (RemoteError("the server answered 500"), 502),
])
@pytest.mark.parametrize("path", ["/sparql?query=ASK%20%7B%7D", "/api/counts-per-theme"])
def test_remote_failures_are_5xx_with_both_languages(error, status, path):
    app = create_app(Settings(project_dir=ROOT, backend="remote", remote_query_url="http://127.0.0.1:9/sparql"),
                     backend=FailingBackend(error))
    response = app.test_client().get(path, headers={"Accept": "application/json"})
    assert response.status_code == status
    text = response.get_data(as_text=True)
    assert "distant" in text and "remote" in text
    assert ("Retry-After" in response.headers) == (status == 503)
