"""One settings object for the whole of cohesio.

Settings come, in increasing order of precedence, from the defaults below, a TOML config file
(``cohesio.toml`` in the working directory, or the file named by ``--config`` /
``COHESIO_CONFIG``), environment variables ``COHESIO_<NAME>``, and command-line flags. Keeping
them in one frozen dataclass means the CLI, the build and the web app can never disagree about
where the store lives or which base IRI is published.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

#: The base under which the files in git are written; a deployment may publish under another.
CANONICAL_BASE_IRI = "https://w3id.org/cohesio/"

CONFIG_FILE_NAME = "cohesio.toml"
ENV_PREFIX = "COHESIO_"


class ConfigError(Exception):
    """A setting has an unusable value; the message names it, in French and English."""


@dataclass(frozen=True)
class Settings:
    """Every setting cohesio reads. Paths are resolved against the project directory."""

    #: Directory holding ontology/, data/, shapes/ and queries/.
    project_dir: Path = field(default_factory=Path.cwd)
    #: Where builds are written: ``<store_dir>/versions/<id>`` and the ``current`` pointer.
    store_dir: Path = Path("var")
    #: The base IRI the published graph uses.
    base_iri: str = CANONICAL_BASE_IRI
    #: Language of messages and reports when none is asked for ("fr" or "en").
    lang: str = "en"
    #: Host and port ``cohesio serve`` listens on.
    host: str = "127.0.0.1"
    port: int = 8000
    #: Where results worth keeping across builds and store directories live (the digests of
    #: reference data already validated in full). Default: $XDG_CACHE_HOME/cohesio or ~/.cache/cohesio.
    cache_dir: Path = field(default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cohesio")
    #: How many old builds to keep next to the current one, for rollback.
    keep_versions: int = 3
    #: gunicorn worker processes for ``cohesio serve``, and threads per worker.
    workers: int = 2
    threads: int = 4
    #: Query processes per server worker (each holds the read-only store; a timeout kills one).
    query_processes: int = 2
    #: Wall-clock bound of one query, in seconds; past it the query is killed and 503 answered.
    query_timeout: float = 30.0
    #: Most memory one query process may allocate, in MiB (its heap: RLIMIT_DATA, Linux); a query
    #: that needs more is stopped and answered 503, and the process replaced. 0: no bound.
    query_memory_limit: int = 2048
    #: A query process whose resident memory is above this many MiB after a query is replaced by a
    #: fresh one, so that what one large query took is given back (serving memory stays bounded by
    #: the settings, not by the size of the graph or of the last query). 0: never replaced.
    query_process_recycle: int = 512
    #: A /sparql query made only of triple patterns anchored on an IRI (cohesio.sparql.lookup) is
    #: answered in the server's own thread, without the query-process hop, when the product of its
    #: patterns' match counts is at most this; anything else runs in a killable query process.
    #: 0: every query goes to a query process.
    inline_lookup_budget: int = 1000
    #: Most rows (solutions or triples) a query returns; more are cut and the cut is announced.
    max_rows: int = 10000
    #: Largest query text accepted, in bytes (413 beyond).
    max_query_bytes: int = 65536
    #: Value of Access-Control-Allow-Origin; empty to switch CORS off.
    cors_origins: str = "*"
    #: "embedded" (pyoxigraph store built by ``cohesio build``) or "remote" (a SPARQL 1.1 server).
    backend: str = "embedded"
    #: For the remote backend: the query endpoint, and the Graph Store endpoint used for loading.
    remote_query_url: str = ""
    remote_update_url: str = ""
    remote_graph_store_url: str = ""
    remote_user: str = ""
    remote_password: str = ""
    #: The accepted contributions: an append-only log of change files, replayed by every build.
    contributions_dir: Path = Path("contributions")
    #: Who may write through the HTTP API: ``name:token`` pairs separated by spaces or commas.
    #: The name is recorded as the author of each change; empty disables the write API.
    write_tokens: str = ""
    #: Largest body the write API accepts (a CSV or RDF import), in bytes (413 beyond).
    max_upload_bytes: int = 10 * 1024 * 1024
    #: How long a write waits for another write or a build to finish before answering 503, in seconds.
    write_lock_timeout: float = 30.0
    #: Resources validated together by a build or ``cohesio validate`` (pyshacl sees one such piece
    #: and its neighbourhood at a time: the memory it takes grows with this, not with the data).
    validation_chunk: int = 2000
    #: Processes running pyshacl on the pieces (1: in the build's own process).
    validation_processes: int = 2

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.project_dir / path

    @property
    def store_path(self) -> Path:
        return self.resolve(self.store_dir)

    @property
    def contributions_path(self) -> Path:
        return self.resolve(self.contributions_dir)

    def tokens(self) -> dict[str, str]:
        """The write tokens, token → author name (validated by :func:`load_settings`)."""
        pairs = (item.split(":", 1) for item in re.split(r"[\s,]+", self.write_tokens.strip()) if item)
        return {token: name for name, token in pairs}

    @property
    def shapes_dir(self) -> Path:
        return self.project_dir / "shapes"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    """Turn a raw value (string from the environment, or TOML value) into the field's type."""
    kind = _FIELDS[name].type
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "Path":
            return Path(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Réglage « {name} » invalide : {value!r} n'est pas un entier. / "
            f"Setting '{name}' is invalid: {value!r} is not an integer."
        ) from None
    return str(value)


def _validate(settings: Settings) -> Settings:
    if not settings.base_iri.startswith(("http://", "https://")) or not settings.base_iri.endswith("/"):
        raise ConfigError(
            f"base_iri doit être une IRI http(s) terminée par « / » : {settings.base_iri!r}. / "
            f"base_iri must be an http(s) IRI ending in '/': {settings.base_iri!r}."
        )
    if settings.lang not in ("fr", "en"):
        raise ConfigError(
            f"lang doit valoir « fr » ou « en » : {settings.lang!r}. / lang must be 'fr' or 'en': {settings.lang!r}."
        )
    if settings.backend not in ("embedded", "remote"):
        raise ConfigError(
            f"backend doit valoir « embedded » ou « remote » : {settings.backend!r}. / "
            f"backend must be 'embedded' or 'remote': {settings.backend!r}."
        )
    if settings.backend == "remote" and not settings.remote_query_url:
        raise ConfigError(
            "Le backend « remote » demande remote_query_url. / The 'remote' backend needs remote_query_url."
        )
    for name in ("workers", "threads", "query_processes", "max_rows", "max_query_bytes", "max_upload_bytes",
                 "validation_chunk", "validation_processes"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name} doit être ≥ 1. / {name} must be ≥ 1.")
    for item in (i for i in re.split(r"[\s,]+", settings.write_tokens.strip()) if i):
        name, _, token = item.partition(":")
        if not re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", name) or len(token) < 16:
            raise ConfigError(
                "write_tokens : chaque entrée s'écrit nom:jeton, le nom en lettres, chiffres, « . _ @ - », "
                "le jeton d'au moins 16 caractères. / write_tokens: each entry is name:token, the name made "
                "of letters, digits and '. _ @ -', the token at least 16 characters long."
            )
    if settings.write_lock_timeout <= 0:
        raise ConfigError("write_lock_timeout doit être > 0. / write_lock_timeout must be > 0.")
    for name in ("query_memory_limit", "query_process_recycle", "inline_lookup_budget"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name} doit être ≥ 0 (0 : sans limite). / {name} must be ≥ 0 (0: no limit).")
    if 0 < settings.query_memory_limit < 64:
        raise ConfigError("query_memory_limit doit être 0 ou ≥ 64 (Mio) : un processus de requête en a besoin pour "
                          "démarrer. / query_memory_limit must be 0 or ≥ 64 (MiB): a query process needs that much "
                          "to start.")
    if settings.query_timeout <= 0:
        raise ConfigError("query_timeout doit être > 0. / query_timeout must be > 0.")
    if not 0 < settings.port < 65536:
        raise ConfigError(f"port hors limites : {settings.port}. / port out of range: {settings.port}.")
    return settings


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read the config file and the environment, then apply ``overrides`` (CLI flags).

    ``None`` overrides are ignored so that click options left unset do not mask the file.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    explicit = config_file or (Path(environ[ENV_PREFIX + "CONFIG"]) if ENV_PREFIX + "CONFIG" in environ else None)
    path = explicit or Path.cwd() / CONFIG_FILE_NAME
    if explicit is not None and not path.is_file():
        raise ConfigError(
            f"Fichier de configuration introuvable : {path}. / Config file not found: {path}."
        )
    if path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"Fichier de configuration illisible {path} : {exc}. / Unreadable config file {path}: {exc}."
            ) from None
        table = raw.get("cohesio", raw)
        for key, value in table.items():
            if key not in _FIELDS:
                raise ConfigError(
                    f"Réglage inconnu « {key} » dans {path}. / Unknown setting '{key}' in {path}."
                )
            values[key] = _coerce(key, value)
        if "project_dir" not in values:
            values["project_dir"] = path.parent

    for name in _FIELDS:
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ:
            values[name] = _coerce(name, environ[env_name])

    for name, value in overrides.items():
        if value is not None:
            values[name] = _coerce(name, value)

    settings = Settings(**values)
    return _validate(dataclasses.replace(settings, project_dir=settings.project_dir.resolve()))
