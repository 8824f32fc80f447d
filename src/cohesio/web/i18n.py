"""French and English for the HTML pages: the page language, and gettext over Babel catalogues.

The language is ``?lang=fr|en`` if given, else the best of the Accept-Language header, else French.
Texts live in ``translations/{fr,en}/LC_MESSAGES/messages.po`` (msgids are the English texts).

The ``.po`` files are compiled to ``.mo`` in memory when first used (``babel.messages``) rather
than committed compiled: the ``.po`` is then the only source, a stale ``.mo`` can never be served,
and there is no build step to forget; compiling a few dozen messages takes milliseconds, once per
process.

A blueprint that renders pages calls :func:`install` (idempotent) from ``record_once``; templates
then use ``{{ _("Text") }}`` / ``{{ _("%(n)s rows", n=3) }}`` (the ``jinja2.ext.i18n`` extension,
new-style, so substitutions are escaped) and get ``lang``, ``other_lang`` and ``lang_url``.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask, Response, g, has_request_context, request

SUPPORTED: tuple[str, ...] = ("fr", "en")
DEFAULT = "fr"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DOMAIN = "messages"


@lru_cache(maxsize=None)
def translations(lang: str) -> Translations:
    """The catalogue of one language, compiled from its ``.po`` file."""
    po = TRANSLATIONS_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def negotiate_lang() -> str:
    """The language asked for by this request (no caching)."""
    asked = request.args.get("lang", "").strip().lower()
    if asked in SUPPORTED:
        return asked
    best = request.accept_languages.best_match(list(SUPPORTED))
    return best if best in SUPPORTED else DEFAULT


def get_lang() -> str:
    """The page language of the current request ("fr" or "en"); French outside a request."""
    if not has_request_context():
        return DEFAULT
    if "cohesio_lang" not in g:
        g.cohesio_lang = negotiate_lang()
    return g.cohesio_lang


def gettext(message: str, **variables: object) -> str:
    text = translations(get_lang()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(get_lang()).ungettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the name Babel's extractor looks for
    """Mark a text for the catalogues where it is written; it is translated where it is shown."""
    return message


def other_lang(lang: str | None = None) -> str:
    lang = lang or get_lang()
    return next(other for other in SUPPORTED if other != lang)


def lang_url(lang: str) -> str:
    """This page's URL in ``lang``: the same path and parameters, with ``lang`` set."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    args.append(("lang", lang))
    return f"{request.path}?{urlencode(args)}"


def localize(response: Response) -> Response:
    """Mark a page with its language, and tell caches it depends on the language headers."""
    response.headers["Content-Language"] = get_lang()
    response.vary.add("Accept-Language")
    return response


def install(app: Flask) -> None:
    """Give the app's Jinja2 environment gettext and the language helpers (once)."""
    if app.extensions.get("cohesio.i18n"):
        return
    app.extensions["cohesio.i18n"] = True
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]

    @app.context_processor
    def _language() -> dict[str, object]:
        lang = get_lang()
        return {"lang": lang, "other_lang": other_lang(lang), "lang_url": lang_url}
