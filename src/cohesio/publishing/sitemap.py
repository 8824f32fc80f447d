"""sitemap.xml and robots.txt, from the list of resource IRIs the build wrote.

The sitemap lists the resources' IRIs (under the base IRI: where their pages are dereferenced),
with the build's date as ``lastmod``. Past 50,000 IRIs (the protocol's limit per file) the
sitemap becomes an index of ``sitemap-N.xml`` files.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

#: The sitemaps protocol's limit of URLs per file.
PER_FILE = 50_000
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def pages(count: int, per_file: int = PER_FILE) -> int:
    return max(1, math.ceil(count / per_file))


def _document(root: str, item: str, locations: list[str], lastmod: str | None) -> bytes:
    """A sitemap document: ``<root>`` holding one ``<item><loc>…</loc></item>`` per location."""
    when = f"<lastmod>{escape(lastmod)}</lastmod>" if lastmod else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{root} xmlns="{NS}">\n']
    out.extend(f"<{item}><loc>{escape(loc)}</loc>{when}</{item}>\n" for loc in locations)
    out.append(f"</{root}>\n")
    return "".join(out).encode("utf-8")


def urlset(iris: list[str], lastmod: str | None) -> bytes:
    return _document("urlset", "url", iris, lastmod)


def index(urls: list[str], lastmod: str | None) -> bytes:
    return _document("sitemapindex", "sitemap", urls, lastmod)


def robots(service_root: str) -> str:
    """Everything may be crawled except the query endpoints (unbounded URL space, costly)."""
    return (
        "User-agent: *\n"
        "Disallow: /sparql\n"
        "Disallow: /api/\n"
        "Allow: /\n"
        "\n"
        f"Sitemap: {service_root}sitemap.xml\n"
    )
