"""Harvest a DCAT catalogue URL with udata's own DCAT backend, as data.gouv.fr would.

Runs inside the separate virtualenv made by ``setup_venvs.sh udata`` (never in cohesio's own):

    python udata_harvest.py URL [URL …]

MongoDB is replaced by mongomock; the app is configured like the French portal for what matters
here (default language French, loopback allowed since the test server runs on 127.0.0.1, no DNS
look-ups). A few licence rows are seeded — the Licence Ouverte 2.0 with the URL the portal
knows, plus decoys — so that a wrong licence cannot pass through the fuzzy match. Prints one JSON
object per URL (a list) on stdout: the job's status and errors, every item's status and errors,
and the datasets, resources and data services created.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile


def _settings_file() -> str:
    handle, path = tempfile.mkstemp(suffix=".cfg", prefix="udata-")
    with os.fdopen(handle, "w") as out:
        out.write(
            "import mongomock\n"
            "MONGODB_SETTINGS = {'host': 'mongodb://localhost:27017/udata', 'mongo_client_class': mongomock.MongoClient}\n"
            "CACHE_TYPE = 'NullCache'\n"
            "SERVER_NAME = 'data.test.gouv.fr'\n"
            "SECRET_KEY = 'harvest-test'\n"
            "API_TOKEN_SECRET = 'harvest-test-token'\n"
            "URLS_ALLOW_LOCAL = True\n"
            "URLS_ALLOW_PRIVATE = True\n"
            "URLS_RESOLVE_HOSTNAME = False\n"
            "HARVESTER_BACKENDS = ['dcat']\n"
            "DEFAULT_LANGUAGE = 'fr'\n"
            "CELERY_TASK_ALWAYS_EAGER = True\n"
            "SEARCH_SERVICE_API_URL = None\n"
            "TESTING = True\n"
        )
    return path


LICENCES = [
    # id, title, url, alternate urls
    ("lov2", "Licence Ouverte / Open Licence version 2.0",
     "https://www.etalab.gouv.fr/licence-ouverte-open-licence", ["https://www.etalab.gouv.fr/licence-ouverte-open-licence/"]),
    ("fr-lo", "Licence Ouverte / Open Licence", "http://www.data.gouv.fr/Licence-Ouverte-Open-Licence", []),
    ("odc-odbl", "Open Data Commons Open Database License (ODbL)", "http://opendatacommons.org/licenses/odbl/summary/", []),
    ("cc-by", "Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by", []),
    ("notspecified", "License Not Specified", None, []),
]


def main(urls: list[str]) -> int:
    os.environ["UDATA_SETTINGS"] = _settings_file()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from udata.app import create_app, standalone

    app = standalone(create_app())
    results = []
    with app.app_context():
        from udata.core.dataservices.models import Dataservice
        from udata.core.dataset.models import Dataset, License
        from udata.core.organization.models import Organization
        from udata.harvest.backends import get_backend
        from udata.harvest.models import HarvestJob, HarvestSource

        for ident, title, url, alternates in LICENCES:
            License.objects(id=ident).delete()
            License(id=ident, title=title, url=url, alternate_urls=alternates).save()
        org = Organization(name="Organisation de test", description="Moissonnage de test").save()

        for index, url in enumerate(urls):
            # Each URL is harvested into an empty portal: nothing carried over from the previous one.
            for model in (Dataset, Dataservice, HarvestJob, HarvestSource):
                model.objects.delete()
            source = HarvestSource(name=f"cohesio-{index}", url=url, backend="dcat", organization=org).save()
            backend = get_backend("dcat")(source)
            job = backend.harvest()
            items = []
            for item in job.items:
                items.append({
                    "remote_id": item.remote_id,
                    "status": item.status,
                    "errors": [e.message for e in item.errors],
                    "kind": "dataservice" if item.dataservice else ("dataset" if item.dataset else None),
                })
            datasets = []
            for dataset in Dataset.objects(harvest__source_id=str(source.id)):
                datasets.append({
                    "title": dataset.title,
                    "description": dataset.description,
                    "remote_id": dataset.harvest.remote_id if dataset.harvest else None,
                    "uri": dataset.harvest.uri if dataset.harvest else None,
                    "license": dataset.license.id if dataset.license else None,
                    "tags": list(dataset.tags or []),
                    "temporal": [str(dataset.temporal_coverage.start), str(dataset.temporal_coverage.end)]
                    if dataset.temporal_coverage else None,
                    "frequency": str(dataset.frequency) if dataset.frequency else None,
                    "resources": [{
                        "title": r.title,
                        "url": r.url,
                        "format": r.format,
                        "mime": r.mime,
                        "filesize": r.filesize,
                        "checksum": {"type": r.checksum.type, "value": r.checksum.value} if r.checksum else None,
                    } for r in dataset.resources],
                })
            services = []
            for service in Dataservice.objects(harvest__source_id=str(source.id)):
                services.append({
                    "title": service.title,
                    "description": service.description,
                    "base_api_url": service.base_api_url,
                    "machine_documentation_url": service.machine_documentation_url,
                    "license": service.license.id if service.license else None,
                    "datasets": [d.title for d in service.datasets],
                })
            results.append({
                "url": url,
                "format": (job.data or {}).get("format"),
                "status": job.status,
                "errors": [e.message for e in job.errors],
                "pages": len(backend.graphs),
                "items": items,
                "datasets": datasets,
                "dataservices": services,
            })
    json.dump(results, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
