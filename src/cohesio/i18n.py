"""French and English texts of the command line.

Errors are always given in both languages (the reader may not have chosen one yet); summaries and
reports follow the chosen language.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "build.published": {
        "fr": "Version {version} publiée ({total} triplets).",
        "en": "Version {version} published ({total} triples).",
    },
    "build.refused": {
        "fr": "Construction refusée : les données ne sont pas valides. La version publiée reste {current}.",
        "en": "Build refused: the data is not valid. The published version stays {current}.",
    },
    "build.none_published": {"fr": "aucune", "en": "none"},
    "build.step.parse": {"fr": "Lecture des sources", "en": "Parsing sources"},
    "build.step.load": {"fr": "Chargement dans le magasin", "en": "Loading into the store"},
    "build.step.validate": {"fr": "Validation SHACL", "en": "SHACL validation"},
    "build.step.reference": {
        "fr": "Validation SHACL complète de la géographie officielle",
        "en": "Full SHACL validation of the official geography",
    },
    "build.step.artefacts": {
        "fr": "Vidages, catalogue DCAT, VoID et index de recherche",
        "en": "Dumps, DCAT catalogue, VoID and search index",
    },
    "summary.graphs": {"fr": "Triplets par graphe", "en": "Triples per graph"},
    "summary.classes": {"fr": "Ressources par classe", "en": "Resources per class"},
    "summary.themes": {"fr": "Initiatives par thème", "en": "Initiatives per theme"},
    "summary.departements": {"fr": "Initiatives par département", "en": "Initiatives per département"},
    "summary.warnings": {"fr": "Avertissements : {n}", "en": "Warnings: {n}"},
    "summary.timings": {"fr": "Durées", "en": "Timings"},
    "validate.ok": {
        "fr": "Valide : {n} triplets conformes aux formes SHACL.",
        "en": "Valid: {n} triples conform to the SHACL shapes.",
    },
    "unusable": {
        "fr": "Fichier inutilisable {file}{line} : {message}",
        "en": "Unusable file {file}{line}: {message}",
    },
    "import.row": {"fr": "ligne", "en": "row"},
    "import.column": {"fr": "colonne", "en": "column"},
    "import.dry_run": {
        "fr": "Essai à blanc : la modification est valide ; rien n'a été publié.",
        "en": "Dry run: the change is valid; nothing was published.",
    },
    "import.accepted": {
        "fr": "Modification n° {seq} acceptée : {removed} triplet(s) retiré(s), {added} ajouté(s) ; version {version} publiée.",
        "en": "Change no. {seq} accepted: {removed} triple(s) removed, {added} added; version {version} published.",
    },
    "serve.recover_failed": {
        "fr": "Impossible de publier les modifications du journal en attente (voir le message ci-dessus).",
        "en": "Could not publish the pending changes of the log (see the message above).",
    },
    "history.empty": {"fr": "Aucune modification acceptée.", "en": "No accepted change."},
    "no_files": {
        "fr": "Aucun fichier RDF à valider dans {path}.",
        "en": "No RDF file to validate in {path}.",
    },
}


def t(key: str, lang: str, **values: object) -> str:
    """The message in one language, falling back to English."""
    entry = MESSAGES[key]
    return entry.get(lang, entry["en"]).format(**values)


def both(key: str, **values: object) -> str:
    """The message in French then English, for errors."""
    return f"{t(key, 'fr', **values)} / {t(key, 'en', **values)}"
