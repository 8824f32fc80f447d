"""The ``cohesio`` command line: a thin shell over the library.

Exit codes (documented in ``docs/cli.md``):

* 0 — success;
* 1 — the data is invalid (validation failed, build refused);
* 2 — unusable input or usage (unparsable file, bad option or config);
* 3 — nothing to work on (no published build yet);
* 4 — a change that cannot be made now: conflict, not found, not editable, nothing to change, or
  another write holding the lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cohesio import __version__, i18n
from cohesio.config import ConfigError, Settings, load_settings

EXIT_INVALID = 1
EXIT_UNUSABLE = 2
EXIT_NO_BUILD = 3
EXIT_CONFLICT = 4


class Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cohesio")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="COHESIO_CONFIG",
    help="TOML config file (default: ./cohesio.toml). / Fichier de configuration TOML.",
)
@click.option("--project-dir", type=click.Path(path_type=Path, file_okay=False), help="Directory holding ontology/, data/, shapes/.")
@click.option("--store-dir", type=click.Path(path_type=Path, file_okay=False), help="Where builds are written (default: var/).")
@click.option("--lang", type=click.Choice(["fr", "en"]), help="Language of reports and summaries.")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None, project_dir: Path | None, store_dir: Path | None, lang: str | None) -> None:
    """cohesio: publish local social-cohesion initiatives as validated linked open data.

    Settings come from cohesio.toml, COHESIO_* environment variables, then these options.
    """
    try:
        settings = load_settings(config_file, project_dir=project_dir, store_dir=store_dir, lang=lang)
    except ConfigError as exc:
        _fail(str(exc), EXIT_UNUSABLE)
    ctx.obj = Context(settings)


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(Context).settings


@main.command()
@click.option("--base-iri", help="Publish under this base IRI instead of the configured one.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def build(ctx: click.Context, base_iri: str | None, fmt: str, quiet: bool) -> None:
    """Load, validate and publish a new version of the graph.

    An invalid build is refused with the report (exit 1) and the published version stays as it was.
    """
    from cohesio.build import BuildRefused
    from cohesio.build import build as run_build
    from cohesio import versions
    from cohesio.validation import UnusableInput

    settings = _settings(ctx)
    if base_iri:
        try:
            settings = load_settings(None, project_dir=settings.project_dir, store_dir=settings.store_dir,
                                     lang=settings.lang, base_iri=base_iri, environ={})
        except ConfigError as exc:
            _fail(str(exc), EXIT_UNUSABLE)
    lang = settings.lang
    show = not quiet and fmt == "text"
    bars: dict[str, object] = {}

    def progress(step: str, done: int, total: int) -> None:
        if not show:
            return
        bar = bars.get(step)
        if bar is None:
            bar = click.progressbar(length=total, label=i18n.t(f"build.step.{step}", lang), file=sys.stderr)
            bar.__enter__()
            bars[step] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    try:
        result = run_build(settings, progress)
    except UnusableInput as exc:
        _fail(_unusable(exc), EXIT_UNUSABLE)
    except BuildRefused as refused:
        try:
            current = versions.current(settings.store_path).id
        except versions.NoBuildError:
            current = i18n.t("build.none_published", lang)
        if fmt == "json":
            click.echo(json.dumps({"published": False, "current": current, "report": refused.report.to_json(lang)},
                                  ensure_ascii=False, indent=2))
        else:
            click.echo(refused.report.to_text(lang))
            click.echo(i18n.t("build.refused", lang, current=current), err=True)
        sys.exit(EXIT_INVALID)

    counts = result.counts
    if fmt == "json":
        click.echo(json.dumps({"published": True, "version": result.version.id, "path": str(result.version.path),
                               "counts": counts, "timings": result.timings}, ensure_ascii=False, indent=2))
        return
    click.echo(i18n.t("build.published", lang, version=result.version.id, total=counts["total"]))
    click.echo(i18n.t("summary.graphs", lang) + ":")
    for name, n in counts.items():
        if name != "total":
            click.echo(f"  {name:<12} {n:>9}")
    warnings = result.version.manifest.get("warnings", 0)
    if warnings:
        click.echo(i18n.t("summary.warnings", lang, n=warnings))
    click.echo(i18n.t("summary.timings", lang) + ": " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
    _print_stats(settings, lang, short=True)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, exists=True, dir_okay=True))
@click.option("--standalone", is_flag=True, help="Validate FILES alone, without the project's data as context.")
@click.option("--all", "everything", is_flag=True,
              help="Include the official geography (250,000 triples, about 30 s).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def validate(ctx: click.Context, files: tuple[Path, ...], standalone: bool, everything: bool, fmt: str) -> None:
    """Check RDF files against the SHACL shapes (default: the project's own sources).

    FILES are checked together with the project's data, so they may refer to its themes,
    practices and territories; --standalone checks them alone. Exit 0 valid, 1 invalid,
    2 unusable input (the file, line and parser message are printed).
    """
    from cohesio.build import check_files
    from cohesio.sources import is_rdf_file
    from cohesio.validation import UnusableInput

    settings = _settings(ctx)
    lang = settings.lang
    paths: list[Path] = []
    for item in files:
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if is_rdf_file(p))
            if not found:
                _fail(i18n.both("no_files", path=item), EXIT_UNUSABLE)
            paths.extend(found)
        else:
            paths.append(item)
    try:
        report, checked = check_files(settings, paths, with_project=not files or not standalone,
                                      everything=everything)
    except UnusableInput as exc:
        _fail(_unusable(exc), EXIT_UNUSABLE)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(lang), ensure_ascii=False, indent=2))
    elif report.conforms:
        click.echo(i18n.t("validate.ok", lang, n=checked))
        if report.violations:
            click.echo(report.to_text(lang))
    else:
        click.echo(report.to_text(lang))
    sys.exit(0 if report.conforms else EXIT_INVALID)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def stats(ctx: click.Context, fmt: str) -> None:
    """Counts of the published version: per class, per theme, per département."""
    settings = _settings(ctx)
    if fmt == "json":
        from cohesio import stats as stats_mod

        store = _open_current(settings)
        click.echo(json.dumps(stats_mod.compute(store, settings.lang).to_json(), ensure_ascii=False, indent=2))
        return
    _print_stats(settings, settings.lang, short=False)


def _open_current(settings: Settings):
    from cohesio import versions

    try:
        return versions.current(settings.store_path).open_store()
    except versions.NoBuildError as exc:
        _fail(str(exc), EXIT_NO_BUILD)


def _print_stats(settings: Settings, lang: str, short: bool) -> None:
    from cohesio import stats as stats_mod
    from cohesio.namespaces import shorten

    result = stats_mod.compute(_open_current(settings), lang)
    classes = [r for r in result.classes if not short or "cohesio" in r.iri or "geo#" in r.iri or "org#" in r.iri]
    for title, rows in (("summary.classes", classes), ("summary.themes", result.themes),
                        ("summary.departements", result.departements)):
        click.echo(i18n.t(title, lang) + ":")
        for row in rows:
            label = shorten(row.label) if title == "summary.classes" else row.label
            click.echo(f"  {row.count:>7}  {label}")


def _shapes_file(settings: Settings) -> Path:
    return settings.shapes_dir / "cohesio.shapes.ttl"


def _unusable(exc: Exception) -> str:
    file = getattr(exc, "file", "?")
    line = getattr(exc, "line", None)
    return i18n.both("unusable", file=file, line=f":{line}" if line else "", message=getattr(exc, "message", str(exc)))


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Server worker processes (default 2).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the published graph: pages, linked data, /sparql, /api, /catalog, dumps.

    Runs gunicorn in the foreground (Ctrl-C stops it). Exit 3 if nothing is published yet.
    """
    import dataclasses

    from cohesio import versions
    from cohesio.web.server import serve as run_server

    settings = _settings(ctx)
    settings = dataclasses.replace(settings, **{k: v for k, v in
                                                {"host": host, "port": port, "workers": workers}.items() if v})
    if settings.backend == "embedded":
        import multiprocessing

        try:
            versions.current(settings.store_path)
        except versions.NoBuildError as exc:
            _fail(str(exc), EXIT_NO_BUILD)
        # A writer killed between logging a change and publishing it: publish it now. In a child
        # process: RocksDB's background threads must not exist in the gunicorn master when it
        # forks its workers (a worker would inherit their locks, held, and hang on its first write).
        child = multiprocessing.get_context("spawn").Process(target=_recover, args=(settings,))
        child.start()
        child.join()
        if child.exitcode:
            _fail(i18n.both("serve.recover_failed"), EXIT_CONFLICT)
    click.echo(f"cohesio: http://{settings.host}:{settings.port}/sparql", err=True)
    run_server(settings)


def _recover(settings: Settings) -> None:
    from cohesio.contributions.writer import recover, write_lock

    try:
        with write_lock(settings, settings.write_lock_timeout):
            recover(settings)
    except Exception as exc:  # noqa: BLE001 - reported by the parent through the exit code
        click.echo(str(exc), err=True)
        sys.exit(1)


@main.command()
@click.option("--source", type=click.Path(path_type=Path, file_okay=False),
              default=Path("node_modules/@etalab/decoupage-administratif"), show_default=True,
              help="The installed npm package @etalab/decoupage-administratif.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("data/geography/cog.nt.gz"),
              show_default=True)
@click.pass_context
def geography(ctx: click.Context, source: Path, out: Path) -> None:
    """Regenerate the official geography of France (reference data) from the npm package."""
    from cohesio import geography as geo

    settings = _settings(ctx)
    source, out = settings.resolve(source), settings.resolve(out)
    if not (source / "data" / "communes.json").is_file():
        _fail(
            f"Paquet introuvable : {source} (lancez « npm ci »). / Package not found: {source} (run 'npm ci').",
            EXIT_UNUSABLE,
        )
    stats_ = geo.generate(source, out)
    click.echo(str(stats_))


@main.command()
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option("--chunk-size", type=click.IntRange(min=1000), default=50_000, show_default=True,
              help="Triples per request for big graphs. / Triplets par requête pour les gros graphes.")
@click.pass_context
def push(ctx: click.Context, quiet: bool, chunk_size: int) -> None:
    """Copy the published build into the remote SPARQL server (remote_graph_store_url or remote_update_url).

    Graph by graph with the Graph Store protocol (PUT replaces a graph), then a small
    ``…/graph/push`` graph naming the version, which the remote backend serves. Exit 0 pushed,
    2 remote server not configured, unreachable or refusing, 3 no published build.
    """
    from cohesio import versions
    from cohesio.store.remote import RemoteError, load_version

    settings = _settings(ctx)
    lang = settings.lang
    if not (settings.remote_graph_store_url or settings.remote_update_url):
        _fail("Réglez remote_graph_store_url (ou remote_update_url) pour savoir où charger. / "
              "Set remote_graph_store_url (or remote_update_url) to say where to load.", EXIT_UNUSABLE)
    try:
        version = versions.current(settings.store_path)
    except versions.NoBuildError as exc:
        _fail(str(exc), EXIT_NO_BUILD)
    bars: dict[str, object] = {}

    def progress(graph: str, done: int, total: int) -> None:
        if quiet:
            return
        bar = bars.get(graph)
        if bar is None:
            name = graph.rsplit("/", 1)[-1]
            label = f"Envoi de {name}" if lang == "fr" else f"Pushing {name}"
            bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            bar.__enter__()
            bars[graph] = bar
        bar.update(min(done, bar.length) - bar.pos)
        if done >= total and not getattr(bar, "finished", False):
            bar.update(bar.length - bar.pos)
            bar.__exit__(None, None, None)
            bar.finished = True

    try:
        result = load_version(settings, version, progress, chunk_triples=chunk_size)
    except RemoteError as exc:
        _fail(str(exc), EXIT_UNUSABLE)
    total = sum(result.graphs.values())
    if lang == "fr":
        click.echo(f"Version {result.version} chargée dans {settings.remote_graph_store_url or settings.remote_update_url} "
                   f"({total} triplets, {len(result.graphs)} graphes, {result.seconds:.1f} s).")
    else:
        click.echo(f"Version {result.version} pushed to {settings.remote_graph_store_url or settings.remote_update_url} "
                   f"({total} triples, {len(result.graphs)} graphs, {result.seconds:.1f} s).")
    for graph, n in result.graphs.items():
        click.echo(f"  {graph.rsplit('/', 1)[-1]:<12} {n:>9}")
    for graph in result.removed:
        click.echo(("  supprimé : " if lang == "fr" else "  removed: ") + graph)


class _Published:
    """A published version seen as the search module sees the embedded backend."""

    def __init__(self, version) -> None:
        self.published = version
        self.manifest = version.manifest
        self.version = version.id


@main.command("search-index")
@click.option("--force", is_flag=True, help="Rebuild the cached index even if it exists. / Reconstruire même s'il existe.")
@click.pass_context
def search_index(ctx: click.Context, force: bool) -> None:
    """Build the search and listing index of the served version into the cache directory.

    Only needed for a version published without one (an older build, a store loaded by other
    means) or for the remote backend: the server would otherwise build it at first use, answering
    503 meanwhile. A version built by ``cohesio build`` has its own. Exit 0 ready, 2 backend
    unreachable, 3 no published build.
    """
    import time as time_mod

    from cohesio import versions
    from cohesio.linked_data import search as search_mod
    from cohesio.store import open_backend
    from cohesio.store.remote import RemoteError

    settings = _settings(ctx)
    lang = settings.lang
    backend: object
    try:
        if settings.backend == "remote":
            backend = open_backend(settings)
        else:  # the published version alone: no query processes are needed to read it
            backend = _Published(versions.current(settings.store_path))
    except versions.NoBuildError as exc:
        _fail(str(exc), EXIT_NO_BUILD)
    except RemoteError as exc:
        _fail(str(exc), EXIT_UNUSABLE)
    try:
        manifest = getattr(backend, "manifest", None) or {}
        base = manifest.get("base_iri") or settings.base_iri
        plan = search_mod.locate(backend, base, settings.resolve(settings.cache_dir), in_child=False,
                                 log=lambda line: click.echo(line, err=True))
        if plan.own or (plan.path.exists() and not force):
            click.echo(("Index prêt : " if lang == "fr" else "Index ready: ") + str(plan.path))
            return
        started = time_mod.perf_counter()
        assert plan.build is not None
        plan.build(plan.path)
    except RemoteError as exc:
        _fail(str(exc), EXIT_UNUSABLE)
    finally:
        getattr(backend, "close", lambda: None)()
    index = search_mod.SearchIndex.open(plan.path)
    seconds = time_mod.perf_counter() - started
    size = plan.path.stat().st_size / 2**20
    if lang == "fr":
        click.echo(f"Index écrit : {plan.path} ({index.main.meta.get('entries')} ressources, {size:.0f} Mio, {seconds:.0f} s).")
    else:
        click.echo(f"Index written: {plan.path} ({index.main.meta.get('entries')} resources, {size:.0f} MiB, {seconds:.0f} s).")


# ---------------------------------------------------------------- contributions


def _agent() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


_reason_option = click.option("--reason", "-m", required=True,
                              help="Why: recorded in the history with the change. / Pourquoi (historique).")
_agent_option = click.option("--agent", default=_agent, show_default="the user name",
                             help="Who: recorded as the change's author. / Auteur de la modification.")
_format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


def _run_change(settings: Settings, fmt: str, action) -> None:
    """Run one write and turn its outcome into output and an exit code."""
    from cohesio.contributions.delta import ChangeError
    from cohesio.contributions.service import InputErrors
    from cohesio.contributions.writer import Busy, ChangeRefused
    from cohesio.versions import NoBuildError

    lang = settings.lang
    try:
        outcome = action()
    except NoBuildError as exc:
        _fail(str(exc), EXIT_NO_BUILD)
    except InputErrors as exc:
        if fmt == "json":
            click.echo(json.dumps({"accepted": False, "errors": [e.to_json(lang) for e in exc.errors]},
                                  ensure_ascii=False, indent=2))
        else:
            click.echo(exc.message(lang), err=True)
            for e in exc.errors:
                where = ", ".join(x for x in (f"{i18n.t('import.row', lang)} {e.row}" if e.row else "",
                                              f"{i18n.t('import.column', lang)} {e.column}" if e.column else "") if x)
                click.echo(f"  - {where + ' : ' if where and lang == 'fr' else where + ': ' if where else ''}"
                           f"{e.message(lang)}", err=True)
        sys.exit(EXIT_INVALID)
    except ChangeRefused as exc:
        if fmt == "json":
            click.echo(json.dumps({"accepted": False, "report": exc.report.to_json(lang)}, ensure_ascii=False, indent=2))
        else:
            click.echo(str(exc), err=True)
            click.echo(exc.report.to_text(lang))
        sys.exit(EXIT_INVALID)
    except Busy as exc:
        _fail(str(exc), EXIT_CONFLICT)
    except ChangeError as exc:
        _fail(str(exc), EXIT_UNUSABLE if exc.status == 400 else EXIT_CONFLICT)
    change = outcome.change
    if fmt == "json":
        click.echo(json.dumps({
            "accepted": change is not None, "dry_run": change is None, "version": outcome.version,
            "change": change.to_json() if change else None, "timings": outcome.timings,
            "warnings": outcome.report.to_json(lang)["results"] if outcome.report.violations else [],
        }, ensure_ascii=False, indent=2))
        return
    if change is None:
        click.echo(i18n.t("import.dry_run", lang))
    else:
        click.echo(i18n.t("import.accepted", lang, seq=change.seq, added=len(change.added),
                          removed=len(change.removed), version=outcome.version))
        for iri in change.created:
            click.echo(f"  + {iri}")
        for iri in change.touched:
            click.echo(f"  ~ {iri}")
        for iri in change.withdrawn:
            click.echo(f"  - {iri}")
    if outcome.report.violations:
        click.echo(outcome.report.to_text(lang))


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--input-format", "input_format", type=click.Choice(["csv", "turtle", "ntriples", "jsonld", "rdfxml"]),
              help="Format of FILE (default: from its extension).")
@_reason_option
@_agent_option
@click.option("--dry-run", is_flag=True, help="Validate only: publish nothing. / Valider sans publier.")
@_format_option
@click.pass_context
def import_(ctx: click.Context, file: Path, input_format: str | None, reason: str, agent: str, dry_run: bool,
            fmt: str) -> None:
    """Add or correct initiatives from a CSV (docs/contribution-template.csv) or RDF file.

    Names of communes, practices, themes and organisations are resolved against the published
    graph; the result is validated with the SHACL shapes, then published as one change, or refused
    whole with the report. Exit 0 accepted, 1 refused (errors listed by row and column, or the SHACL
    report), 2 unreadable file or usage, 3 no build yet, 4 conflict or busy.
    """
    from cohesio.contributions import service
    from cohesio.contributions.delta import ChangeError

    settings = _settings(ctx)
    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        fmt_in = service.format_for(input_format, None if str(file) == "-" else file.name)
    except OSError as exc:
        _fail(f"{file}: {exc.strerror}", EXIT_UNUSABLE)
    except ChangeError as exc:
        _fail(str(exc), EXIT_UNUSABLE)

    def action():
        triples = service.read_payload(settings, data, fmt_in)
        return service.import_triples(settings, triples, agent=agent, reason=reason, lang=settings.lang,
                                      dry_run=dry_run)

    _run_change(settings, fmt, action)


@main.command()
@click.argument("initiative")
@_reason_option
@_agent_option
@_format_option
@click.pass_context
def withdraw(ctx: click.Context, initiative: str, reason: str, agent: str, fmt: str) -> None:
    """Withdraw an initiative (its identifier, e.g. bureau-des-temps--rennes, or its IRI).

    Its triples, the links to it and the quality notes about it alone are removed; the history
    keeps them, and `cohesio revert` puts them back.
    """
    from cohesio.contributions import service

    settings = _settings(ctx)
    slug = initiative.rstrip("/").rsplit("/", 1)[-1]
    _run_change(settings, fmt, lambda: service.withdraw_initiative(settings, slug, agent=agent, reason=reason,
                                                                     lang=settings.lang))


@main.command()
@click.argument("change", type=int)
@_reason_option
@_agent_option
@_format_option
@click.pass_context
def revert(ctx: click.Context, change: int, reason: str, agent: str, fmt: str) -> None:
    """Undo an accepted change (its number), as a new change that is validated like any other."""
    from cohesio.contributions import service

    settings = _settings(ctx)
    _run_change(settings, fmt, lambda: service.revert_change(settings, change, agent=agent, reason=reason,
                                                               lang=settings.lang))


@main.command()
@click.option("--resource", help="Only the changes that created, changed or withdrew this IRI.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "nquads", "turtle"]), default="text",
              show_default=True, help="json: the log itself; nquads/turtle: the PROV history graph.")
@click.pass_context
def history(ctx: click.Context, resource: str | None, fmt: str) -> None:
    """The accepted changes: who, when, why, what (export with --format)."""
    import pyoxigraph as ox

    from cohesio.contributions import history as hist
    from cohesio.contributions.writer import changes_for

    settings = _settings(ctx)
    found = changes_for(settings, resource)
    if fmt == "json":
        click.echo(json.dumps([c.to_json() for c in found], ensure_ascii=False, indent=1))
    elif fmt in ("nquads", "turtle"):
        quads = [q for c in found for q in hist.change_quads(c, settings.base_iri)]
        if fmt == "turtle":
            triples = sorted((ox.Triple(q.subject, q.predicate, q.object) for q in quads), key=str)
            out = ox.serialize(triples, format=ox.RdfFormat.TURTLE,
                               prefixes={"prov": hist.PROV, "coh": settings.base_iri + "ontology#",
                                         "rdfs": hist.RDFS, "rdf": hist.RDF, "xsd": hist.XSD})
        else:
            out = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
        click.echo(out.decode("utf-8"), nl=False)
    else:
        lang = settings.lang
        if not found:
            click.echo(i18n.t("history.empty", lang))
        for c in found:
            click.echo(f"#{c.seq}  {c.time}  {c.agent}  {c.action}  -{len(c.removed)} +{len(c.added)}  {c.reason}")


def run() -> None:
    """The console script: ``main`` with click's usage errors introduced in French and English.

    click writes its own messages in English only; the line before them says in both languages
    what kind of error it is and where to look, and the exit code stays click's (2).
    """
    try:
        main.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrompu. / Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
        click.echo("Erreur d'utilisation (voir --help) / Usage error (see --help):", err=True)
        click.echo(f"  {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
