"""Serve the app with gunicorn: several worker processes over the same published store.

Each gunicorn worker builds its own app (and so its own query processes) after the fork, so no
store handle or pipe is ever shared between processes.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from cohesio.config import Settings


class CohesioServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.options = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "threads": settings.threads,
            "worker_class": "gthread",
            # The query bound is enforced by killing query processes; the HTTP worker only waits.
            "timeout": int(settings.query_timeout) + 30,
            "graceful_timeout": 10,
            "accesslog": "-",
            "errorlog": "-",
            **(options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from cohesio.web import create_app

        return create_app(self.settings)


def serve(settings: Settings) -> None:
    CohesioServer(settings).run()
