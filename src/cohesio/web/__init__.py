"""The web layer: an app factory and one blueprint per surface, thin over the library."""

from __future__ import annotations

from flask import Flask

from cohesio.config import Settings, load_settings
from cohesio.store import Backend, open_backend


def create_app(settings: Settings | None = None, backend: Backend | None = None) -> Flask:
    """Build the WSGI app. ``backend`` may be given (tests, a remote server); else it is opened
    from the settings: the published embedded store, or the configured SPARQL server."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["COHESIO_SETTINGS"] = settings
    # Refuse oversized bodies before reading them: a query is at most max_query_bytes, and a form
    # adds little around it. Werkzeug answers 413, rendered by errors.register.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_query_bytes * 3 + 4096
    app.extensions["cohesio.backend"] = backend or open_backend(settings)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from cohesio.web import editor, errors, sparql
    from cohesio.web import publishing
    from cohesio.web import browse, resources
    from cohesio.web import api, contrib, history

    errors.register(app)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(publishing.blueprint)
    app.register_blueprint(editor.blueprint)
    app.register_blueprint(resources.blueprint)
    app.register_blueprint(browse.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(contrib.blueprint)
    app.register_blueprint(history.blueprint)

    if settings.cors_origins:
        from flask_cors import CORS

        origins = settings.cors_origins.split()
        CORS(app, origins=origins, send_wildcard=origins == ["*"], expose_headers=["Cohesio-Truncated", "Link"],
             allow_headers=["Content-Type", "Accept"], methods=["GET", "POST", "HEAD", "OPTIONS"])
    return app
