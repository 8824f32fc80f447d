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


def urlset(iris: list[str], lastmod: str | None) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<urlset xmlns="{NS}">\n']
    when = f"<lastmod>{escape(lastmod)}</lastmod>" if lastmod else ""
    for iri in iris:
        out.append(f"<url><loc>{escape(iri)}</loc>{when}</url>\n")
    out.append("</urlset>\n")
    return "".join(out).encode("utf-8")


def index(urls: list[str], lastmod: str | None) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<sitemapindex xmlns="{NS}">\n']
    when = f"<lastmod>{escape(lastmod)}</lastmod>" if lastmod else ""
    for url in urls:
        out.append(f"<sitemap><loc>{escape(url)}</loc>{when}</sitemap>\n")
    out.append("</sitemapindex>\n")
    return "".join(out).encode("utf-8")


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
