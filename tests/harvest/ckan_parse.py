"""Parse a DCAT catalogue URL with ckanext-dcat's RDFParser, as a CKAN portal's DCAT harvester does.

Runs inside the separate virtualenv made by ``setup_venvs.sh ckan`` (no database, Solr or ckan.ini):

    python ckan_parse.py URL

Follows Hydra paging the way ckanext-dcat's ``DCATRDFHarvester`` does (``next_page()`` on each
page, each page parsed in the format of the first, guessed from the Content-Type), with the
``euro_dcat_ap_3`` profile and the portal's default locale set to French. Prints JSON on stdout: pages fetched, their content types, and the
CKAN dataset dicts.
"""

from __future__ import annotations

import json
import sys
import urllib.request

FORMATS = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}


def fetch(url: str) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": "text/turtle, application/rdf+xml;q=0.9, */*;q=0.1"})
    with urllib.request.urlopen(request, timeout=30) as response:
        ctype = response.headers.get("Content-Type", "")
        charset = response.headers.get_content_charset() or "utf-8"
        return response.read().decode(charset), ctype


def main(url: str) -> int:
    from ckantoolkit import config

    # A French CKAN portal: single-valued literals are read in its default locale.
    config["ckan.locale_default"] = "fr"
    from ckanext.dcat.processors import RDFParser

    datasets = []
    pages = []
    fmt = None
    seen = set()
    while url and url not in seen:
        seen.add(url)
        text, ctype = fetch(url)
        fmt = fmt or FORMATS.get(ctype.split(";")[0].strip(), "turtle")
        pages.append({"url": url, "content_type": ctype})
        parser = RDFParser(profiles=["euro_dcat_ap_3"])
        parser.parse(text, _format=fmt)
        datasets.extend(parser.datasets())
        url = parser.next_page()
    json.dump({"pages": pages, "format": fmt, "datasets": datasets}, sys.stdout, ensure_ascii=False, indent=2,
              default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
