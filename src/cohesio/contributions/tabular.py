"""The spreadsheet way in: a CSV file (or JSON records with the same columns), one row per
initiative, turned into RDF triples about initiatives — or into a list of mistakes.

Councils fill a template (``docs/contribution-template.csv``) in Excel or LibreOffice; the people
who fill it know their territory, not RDF. So this module is forgiving about form (French or
English column names, comma or semicolon, a BOM, "saint etienne" for "Saint-Étienne", a code that
lost its leading zero) and strict about meaning: every name must resolve to exactly one commune,
practice, theme, audience or organisation of the published graph, and every mistake is reported
with the row and column a spreadsheet shows, in French and English, saying what to do. A row with
a mistake contributes nothing; the others are read all the same, so one pass reports everything.

The result is plain triples in canonical IRIs. What happens next (SHACL validation against the
published graph, the change log, provenance of new resources, writing) is the caller's.
The column documentation lives in :data:`COLUMNS`, the single list the docs and the tests check.
"""

from __future__ import annotations

import csv
import datetime
import difflib
import io
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pyoxigraph as ox
import rdflib
from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, XSD

from cohesio.contributions.lookup import ID, SLUG, Lookup, Territory, describe_all, fold, slugify
from cohesio.namespaces import PREFIXES

COH = Namespace(PREFIXES["coh"])
ORG = Namespace(PREFIXES["org"])
SCHEMA = Namespace(PREFIXES["schema"])

#: Separator of the values of a multi-valued cell.
MULTI_SEPARATOR = "|"


# ---------------------------------------------------------------------------- the columns

@dataclass(frozen=True)
class Column:
    """One column of the template: its name, how it is documented, how it may be written."""

    name: str
    #: The French header name, accepted instead of ``name``.
    french: str
    #: Needed to create an initiative: the header must have the column (cells of correction rows
    #: may still be empty).
    required: bool
    #: Several values separated by ``|``.
    multi: bool
    doc_fr: str
    doc_en: str
    #: Other header names accepted (folded, see :func:`header_key`).
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("id", "identifiant", False, False,
           "Identifiant de l'initiative : minuscules sans accents, chiffres et tirets, « -- » entre la "
           "pratique et le lieu (`bureau-des-temps--rennes`). S'il existe déjà, la ligne corrige cette "
           "initiative ; sinon elle la crée sous cet identifiant. Vide : une nouvelle initiative, "
           "identifiant fabriqué à partir de la pratique et du territoire.",
           "The initiative's identifier: lower-case ASCII letters, digits and hyphens, `--` between "
           "practice and place (`bureau-des-temps--rennes`). If it exists, the row corrects that "
           "initiative; otherwise the row creates it under this identifier. Empty: a new initiative, "
           "identifier made from the practice and the territory."),
    Column("title_fr", "titre_fr", True, False,
           "Titre en français. Obligatoire pour une nouvelle initiative.",
           "Title in French. Required for a new initiative."),
    Column("title_en", "titre_en", True, False,
           "Titre en anglais. Obligatoire pour une nouvelle initiative : c'est une traduction, que "
           "nous n'inventons pas (il n'est pas recopié du titre français).",
           "Title in English. Required for a new initiative: it is a translation, which we do not "
           "invent (it is not copied from the French title)."),
    Column("practice", "pratique", True, False,
           "La pratique dont l'initiative est un exemple : son identifiant (`bureau-des-temps`), sa "
           "notation (`P01`) ou son libellé français ou anglais. Obligatoire pour une nouvelle initiative.",
           "The practice the initiative is an example of: its identifier (`bureau-des-temps`), "
           "notation (`P01`) or French or English label. Required for a new initiative."),
    Column("themes", "themes", False, True,
           "Thèmes, séparés par `|` : identifiants, notations ou libellés. Vide pour une nouvelle "
           "initiative : les thèmes de sa pratique.",
           "Themes, separated by `|`: identifiers, notations or labels. Empty on a new initiative: "
           "its practice's themes."),
    Column("commune_code", "code_commune", False, False,
           "Code INSEE de la commune (5 caractères : `35238`, `2A004`, `97411`), pas le code postal.",
           "The commune's INSEE code (5 characters: `35238`, `2A004`, `97411`), not its postcode."),
    Column("commune_name", "nom_commune", False, False,
           "Nom de la commune, si le code n'est pas donné ; accents, majuscules et tirets indifférents. "
           "Avec `departement_code` si plusieurs communes portent ce nom.",
           "The commune's name, when the code is not given; accents, case and hyphens do not matter. "
           "With `departement_code` when several communes have that name.",
           aliases=("commune",)),
    Column("departement_code", "code_departement", False, False,
           "Code du département (`35`, `2A`, `974`). Seul, le territoire est le département ; avec une "
           "commune, il la situe et doit être le sien.",
           "The département's code (`35`, `2A`, `974`). Alone, the territory is the département; with "
           "a commune, it places it and must be its own."),
    Column("epci_code", "code_epci", False, False,
           "SIREN de l'intercommunalité (9 chiffres), quand le territoire est une intercommunalité "
           "(pas de commune alors).",
           "The intercommunality's SIREN (9 digits), when the territory is an intercommunality (no "
           "commune then).",
           aliases=("siren_epci",)),
    Column("lead", "porteur", True, False,
           "L'organisation qui porte l'initiative : identifiant ou nom exact d'une organisation connue ; "
           "un nom inconnu crée une nouvelle organisation. Obligatoire pour une nouvelle initiative.",
           "The organisation that leads the initiative: identifier or exact name of a known "
           "organisation; an unknown name creates a new organisation. Required for a new initiative."),
    Column("partners", "partenaires", False, True,
           "Partenaires, séparés par `|`, comme `lead`.",
           "Partners, separated by `|`, like `lead`."),
    Column("description_fr", "description_fr", False, False,
           "Description en français.", "Description in French."),
    Column("description_en", "description_en", False, False,
           "Description en anglais.", "Description in English."),
    Column("url", "site_web", False, False,
           "Adresse web complète, en `http://` ou `https://`.",
           "Full web address, with `http://` or `https://`.",
           aliases=("adresse_web",)),
    Column("start_date", "date_debut", False, False,
           "Date de début : `AAAA` ou `AAAA-MM-JJ`.", "Start date: `YYYY` or `YYYY-MM-DD`."),
    Column("end_date", "date_fin", False, False,
           "Date de fin : `AAAA` ou `AAAA-MM-JJ`, pas avant la date de début.",
           "End date: `YYYY` or `YYYY-MM-DD`, not before the start date."),
    Column("audiences", "publics", False, True,
           "Publics visés, séparés par `|` : identifiants, notations ou libellés.",
           "Audiences, separated by `|`: identifiers, notations or labels."),
)

_BY_NAME = {c.name: c for c in COLUMNS}
_ORDER = {c.name: i for i, c in enumerate(COLUMNS)}


def header_key(text: str) -> str:
    """How a header cell is compared: folded, spaces and hyphens as underscores ("Date début" →
    "date_debut"), so that any way a person types a column name is accepted."""
    return fold(text).replace(" ", "_")


_HEADERS: dict[str, Column] = {}
for _column in COLUMNS:
    for _name in (_column.name, _column.french, *_column.aliases):
        _HEADERS[header_key(_name)] = _column


# ---------------------------------------------------------------------------- errors

#: Message templates, French then English. Fields: ``value`` (the cell), ``column``, and what each
#: call adds. French typography: « » and a space before the colon and the question mark.
MESSAGES: dict[str, tuple[str, str]] = {
    "not-utf8": (
        "Le fichier n'est pas en UTF-8 (octet {value} ligne {line}). Enregistrez-le au format "
        "« CSV UTF-8 » (Excel : Enregistrer sous > CSV UTF-8 ; LibreOffice : jeu de caractères "
        "Unicode (UTF-8)) puis envoyez-le de nouveau.",
        "The file is not UTF-8 (byte {value} on line {line}). Save it as \"CSV UTF-8\" (Excel: Save As "
        "> CSV UTF-8; LibreOffice: character set Unicode (UTF-8)) and send it again."),
    "empty-file": (
        "Le fichier est vide : il faut une ligne d'en-tête (les noms des colonnes du modèle) puis une "
        "ligne par initiative.",
        "The file is empty: it needs a header line (the template's column names), then one line per "
        "initiative."),
    "no-rows": (
        "Le fichier n'a que l'en-tête : ajoutez une ligne par initiative.",
        "The file has only its header: add one line per initiative."),
    "bad-csv": (
        "Ligne illisible ({value}) : vérifiez les guillemets de cette ligne.",
        "Unreadable line ({value}): check the quotes on this line."),
    "unknown-column": (
        "Colonne inconnue : « {value} ». Les colonnes possibles sont celles du modèle : {columns}.",
        "Unknown column: \"{value}\". The possible columns are the template's: {columns}."),
    "missing-column": (
        "Colonne obligatoire absente : {column_fr}. Gardez toutes les colonnes du modèle, même vides.",
        "Required column missing: {column_en}. Keep every column of the template, even empty."),
    "duplicate-column": (
        "La colonne « {column} » apparaît deux fois (« {value} », colonne {position}) : gardez-en une.",
        "Column \"{column}\" appears twice (\"{value}\", column {position}): keep one."),
    "not-a-record": (
        "Cette ligne n'est pas un objet JSON de colonnes et de valeurs.",
        "This row is not a JSON object of columns and values."),
    "not-text": (
        "Valeur inutilisable dans la colonne {column_fr} : un texte est attendu.",
        "Unusable value in column {column_en}: a text is expected."),
    "too-many-cells": (
        "La ligne a plus de cellules que l'en-tête n'a de colonnes ({columns}) ; la première en trop "
        "contient « {value} ». Une virgule ou un point-virgule dans un texte doit être entre guillemets.",
        "The line has more cells than the header has columns ({columns}); the first extra one holds "
        "\"{value}\". A comma or semicolon inside a text must be within quotes."),
    "bad-character": (
        "La cellule contient un caractère invisible interdit ({character}) : supprimez-le.",
        "The cell holds a forbidden invisible character ({character}): remove it."),
    "bad-id": (
        "Identifiant invalide : « {value} ». Il s'écrit en minuscules sans accents, avec chiffres et "
        "tirets, par exemple « {suggestion} ».",
        "Invalid identifier: \"{value}\". It is written in lower-case ASCII letters, digits and "
        "hyphens, for example \"{suggestion}\"."),
    "duplicate-id": (
        "L'initiative « {value} » figure déjà ligne {first} : une initiative n'apparaît qu'une fois "
        "par fichier.",
        "Initiative \"{value}\" is already on row {first}: an initiative appears only once per file."),
    "missing-value": (
        "La colonne {column_fr} est obligatoire pour une nouvelle initiative{why_fr}.",
        "Column {column_en} is required for a new initiative{why_en}."),
    "missing-territory": (
        "Une nouvelle initiative a besoin d'un territoire : commune_code, ou commune_name (et "
        "departement_code si le nom est porté par plusieurs communes), ou departement_code seul, "
        "ou epci_code.",
        "A new initiative needs a territory: commune_code, or commune_name (and departement_code if "
        "several communes have that name), or departement_code alone, or epci_code."),
    "several-values": (
        "Une seule valeur est permise dans la colonne {column_fr} ; « {value} » en contient plusieurs (« | »).",
        "Only one value is allowed in column {column_en}; \"{value}\" holds several (\"|\")."),
    "unknown-practice": (
        "Pratique inconnue : « {value} ». Donnez l'identifiant (par exemple « bureau-des-temps »), "
        "la notation (P01) ou le libellé français ou anglais d'une pratique.",
        "Unknown practice: \"{value}\". Give the identifier (for example \"bureau-des-temps\"), the "
        "notation (P01) or the French or English label of a practice."),
    "unknown-theme": (
        "Thème inconnu : « {value} ». Donnez l'identifiant (par exemple « famille »), la notation "
        "ou le libellé français ou anglais d'un thème.",
        "Unknown theme: \"{value}\". Give the identifier (for example \"famille\"), the notation or "
        "the French or English label of a theme."),
    "unknown-audience": (
        "Public inconnu : « {value} ». Donnez l'identifiant (par exemple « parents »), la notation "
        "ou le libellé français ou anglais d'un public.",
        "Unknown audience: \"{value}\". Give the identifier (for example \"parents\"), the notation "
        "or the French or English label of an audience."),
    "ambiguous-practice": (
        "« {value} » désigne plusieurs pratiques : {candidates}. Donnez l'identifiant.",
        "\"{value}\" names several practices: {candidates}. Give the identifier."),
    "ambiguous-theme": (
        "« {value} » désigne plusieurs thèmes : {candidates}. Donnez l'identifiant.",
        "\"{value}\" names several themes: {candidates}. Give the identifier."),
    "ambiguous-audience": (
        "« {value} » désigne plusieurs publics : {candidates}. Donnez l'identifiant.",
        "\"{value}\" names several audiences: {candidates}. Give the identifier."),
    "bad-commune-code": (
        "Code commune invalide : « {value} ». Le code INSEE a 5 caractères (35238 ; 2A004 en Corse ; "
        "97411 outre-mer).",
        "Invalid commune code: \"{value}\". The INSEE code has 5 characters (35238; 2A004 in Corsica; "
        "97411 overseas)."),
    "unknown-commune": (
        "Aucune commune ne porte le code INSEE « {value} ». Ce n'est pas le code postal : cherchez le "
        "code officiel de la commune (code officiel géographique de l'INSEE).",
        "No commune has INSEE code \"{value}\". It is not the postcode: look up the commune's official "
        "code (INSEE's Code officiel géographique)."),
    "unknown-commune-name": (
        "Aucune commune ne s'appelle « {value} »{where_fr}. Vérifiez l'orthographe ou donnez commune_code.",
        "No commune is called \"{value}\"{where_en}. Check the spelling or give commune_code."),
    "ambiguous-commune": (
        "Plusieurs communes s'appellent « {value} » : {candidates}. Ajoutez departement_code ou donnez "
        "commune_code.",
        "Several communes are called \"{value}\": {candidates}. Add departement_code or give commune_code."),
    "commune-not-in-departement": (
        "Il n'y a pas de commune « {value} » dans le département {departement} ; il y en a : "
        "{candidates}. Corrigez departement_code ou le nom.",
        "There is no commune \"{value}\" in département {departement}; there is: {candidates}. Correct "
        "departement_code or the name."),
    "commune-departement-mismatch": (
        "La commune {commune} n'est pas dans le département « {value} » mais dans le {actual}. Corrigez "
        "commune_code ou departement_code.",
        "Commune {commune} is not in département \"{value}\" but in {actual}. Correct commune_code or "
        "departement_code."),
    "commune-name-mismatch": (
        "Le code commune {insee} est celui de {label}, pas de « {value} ». Corrigez commune_code ou "
        "commune_name (ou videz commune_name).",
        "Commune code {insee} is {label}'s, not \"{value}\"'s. Correct commune_code or commune_name "
        "(or empty commune_name)."),
    "bad-departement-code": (
        "Code département invalide : « {value} ». Il a 2 caractères (01 à 95, 2A, 2B) ou 3 outre-mer "
        "(971 à 976).",
        "Invalid département code: \"{value}\". It has 2 characters (01 to 95, 2A, 2B) or 3 overseas "
        "(971 to 976)."),
    "unknown-departement": (
        "Aucun département ne porte le code « {value} ».",
        "No département has code \"{value}\"."),
    "bad-epci-code": (
        "Code d'intercommunalité invalide : « {value} ». C'est le SIREN de l'EPCI, 9 chiffres (par "
        "exemple 242900314).",
        "Invalid intercommunality code: \"{value}\". It is the EPCI's SIREN, 9 digits (for example "
        "242900314)."),
    "unknown-epci": (
        "Aucune intercommunalité ne porte le SIREN « {value} » dans la géographie officielle.",
        "No intercommunality has SIREN \"{value}\" in the official geography."),
    "several-territories": (
        "Une ligne a un seul territoire : donnez une commune ou une intercommunalité (« {value} »), "
        "pas les deux.",
        "A row has one territory: give a commune or an intercommunality (\"{value}\"), not both."),
    "epci-departement-mismatch": (
        "L'intercommunalité {epci} n'a aucune commune dans le département « {value} ». Corrigez "
        "epci_code ou departement_code.",
        "Intercommunality {epci} has no commune in département \"{value}\". Correct epci_code or "
        "departement_code."),
    "ambiguous-organization": (
        "Plusieurs organisations s'appellent « {value} » : {candidates}. Donnez l'identifiant de la bonne.",
        "Several organisations are called \"{value}\": {candidates}. Give the right one's identifier."),
    "bad-organization-name": (
        "Nom d'organisation inutilisable : « {value} » (il faut au moins une lettre ou un chiffre).",
        "Unusable organisation name: \"{value}\" (it needs at least one letter or digit)."),
    "bad-url": (
        "Adresse web invalide : « {value} » ({reason_fr}). Exemple : https://www.exemple.fr/page",
        "Invalid web address: \"{value}\" ({reason_en}). Example: https://www.example.org/page"),
    "bad-date": (
        "Date invalide : « {value} ». Écrivez AAAA ou AAAA-MM-JJ, par exemple {example}{hint_fr}.",
        "Invalid date: \"{value}\". Write YYYY or YYYY-MM-DD, for example {example}{hint_en}."),
    "end-before-start": (
        "La date de fin « {value} » précède la date de début{stored_fr} « {start} ».",
        "The end date \"{value}\" is before the start date{stored_en} \"{start}\"."),
    "start-after-end": (
        "La date de début « {value} » suit la date de fin enregistrée « {end} » : corrigez aussi "
        "end_date.",
        "The start date \"{value}\" is after the end date on record \"{end}\": correct end_date too."),
    "cell-without-column": (
        "Cette cellule (« {value} ») est sous une colonne sans nom : nommez la colonne ou videz la cellule.",
        "This cell (\"{value}\") is under a column without a name: name the column or empty the cell."),
}

_SUGGEST = (" Vouliez-vous dire : {} ?", " Did you mean: {}?")


@dataclass(frozen=True)
class CellError:
    """One mistake, where a spreadsheet shows it: header = row 1, first data row = row 2."""

    row: int  # 0 for a file-level error
    column: str  # "" for a file- or row-level error
    code: str  # stable, for machines: "unknown-commune", "bad-date", …
    value: str  # the offending cell as written
    message_fr: str
    message_en: str

    def message(self, lang: str) -> str:
        return self.message_fr if lang == "fr" else self.message_en

    def to_json(self, lang: str) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "value": self.value,
                "message": self.message(lang)}


def make_error(row: int, column: str, code: str, value: str, suggestions: Sequence[str] = (),
               **fields: Any) -> CellError:
    """A :class:`CellError` with both messages filled from :data:`MESSAGES`; ``suggestions`` (close
    matches) are appended as "Did you mean …?"."""
    fr, en = MESSAGES[code]
    known = _BY_NAME.get(column)
    names = (f"« {column} » (« {known.french} »)", f'"{column}" ("{known.french}")') \
        if known is not None and known.french != column else (f"« {column} »", f'"{column}"')
    values = {"value": value, "column": column, "column_fr": names[0], "column_en": names[1], **fields}
    message_fr, message_en = fr.format(**values), en.format(**values)
    if suggestions:
        message_fr += _SUGGEST[0].format(", ".join(f"« {s} »" for s in suggestions))
        message_en += _SUGGEST[1].format(", ".join(f'"{s}"' for s in suggestions))
    return CellError(row, column, code, value, message_fr, message_en)


def _error_order(error: CellError) -> tuple[int, int]:
    """Sort by row, then by the column's place in the template (row-level first, unknown last)."""
    if not error.column:
        return error.row, -1
    return error.row, _ORDER.get(error.column, len(COLUMNS))


# ---------------------------------------------------------------------------- the result

@dataclass
class TabularImport:
    graph: rdflib.Graph  # canonical IRIs, the triples of every good row
    initiatives: list[URIRef] = field(default_factory=list)  # one per good row, in row order
    created: set[URIRef] = field(default_factory=set)  # initiatives and organisations not yet in the store
    errors: list[CellError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def new_graph() -> rdflib.Graph:
    graph = rdflib.Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


# ---------------------------------------------------------------------------- entry points

def read_csv(data: bytes, lookup: Lookup) -> TabularImport:
    """Read a CSV file filled from the template (see docs/contributions-csv.md)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        byte = f"0x{data[exc.start]:02X}"
        return TabularImport(new_graph(), errors=[make_error(0, "", "not-utf8", byte, line=line)])
    if not text.strip():
        return TabularImport(new_graph(), errors=[make_error(0, "", "empty-file", "")])
    delimiter = detect_delimiter(text)
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            records.append((number, cells))
    except csv.Error as exc:
        error = make_error(len(records) + 1, "", "bad-csv", str(exc))
        return TabularImport(new_graph(), errors=[error])
    # The header is the first line with something in it (blank lines above it are still counted).
    first = next((i for i, (_, cells) in enumerate(records) if any(c.strip() for c in cells)), None)
    if first is None:
        return TabularImport(new_graph(), errors=[make_error(0, "", "empty-file", "")])
    return _Importer(lookup).run(records[first][1], records[first + 1:], header_row=records[first][0])


def read_records(records: list[dict[str, str]], lookup: Lookup, first_row: int = 2) -> TabularImport:
    """Read JSON records (column → text) as if they were the rows of a CSV file.

    The header is every key met, in the order first met; a missing key is an empty cell. Numbers
    are read as their text, ``null`` as empty, and a list in a multi-valued column as its values
    joined by ``|``. Row numbers start at ``first_row``, so that an API can number as it likes.
    """
    header: list[str] = []
    seen: set[str] = set()
    for record in records:
        if isinstance(record, Mapping):
            for key in record:
                if str(key) not in seen:
                    seen.add(str(key))
                    header.append(str(key))
    rows: list[tuple[int, list[str]]] = []
    early: list[CellError] = []
    for index, record in enumerate(records):
        number = first_row + index
        if not isinstance(record, Mapping):
            early.append(make_error(number, "", "not-a-record", _short(repr(record))))
            continue
        texts = {str(k): v for k, v in record.items()}
        cells, usable = [], True
        for key in header:
            column = _HEADERS.get(header_key(key))
            text, ok = _record_text(texts.get(key), column)
            if not ok:
                early.append(make_error(number, column.name if column else key, "not-text", _short(repr(texts.get(key)))))
                usable = False
            cells.append(text)
        if usable:  # a row with an unusable value is reported once, not again as missing cells
            rows.append((number, cells))
    if not header and not early:
        return TabularImport(new_graph(), errors=[make_error(0, "", "no-rows", "")])
    return _Importer(lookup, early).run(header, rows, header_row=first_row - 1)


def detect_delimiter(text: str) -> str:
    """Comma or semicolon, whichever the header line has more of outside quotes (a French
    spreadsheet writes semicolons); a tie, such as a one-column header, means comma."""
    counts = {",": 0, ";": 0}
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            break
        elif char in counts and not quoted:
            counts[char] += 1
    return ";" if counts[";"] > counts[","] else ","


def _record_text(value: Any, column: Column | None) -> tuple[str, bool]:
    if value is None:
        return "", True
    if isinstance(value, str):
        return value, True
    if isinstance(value, bool):
        return "", False
    if isinstance(value, (int, float)):
        return str(value), True
    if isinstance(value, (list, tuple)) and column is not None and column.multi and all(isinstance(v, str) for v in value):
        return MULTI_SEPARATOR.join(value), True
    return "", False


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ---------------------------------------------------------------------------- cell checks

_COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_DEPARTEMENT_CODE = re.compile(r"^(?:\d{2}|2[AB]|97\d)$")
_SIREN = re.compile(r"^\d{9}$")
_YEAR = re.compile(r"^\d{4}$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_FRENCH_DAY = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_IRI_FORBIDDEN = set('<>"{}|\\^`')
_WHY = {
    "title_fr": (" : c'est le nom affiché de l'initiative", ": it is the initiative's displayed name"),
    "title_en": (" : l'anglais est une traduction, que nous n'inventons pas",
                 ": the English title is a translation, which we do not invent"),
    "practice": (" : une initiative est l'exemple d'une pratique", ": an initiative is an example of a practice"),
    "lead": (" : une initiative a au moins un porteur", ": an initiative has at least one lead"),
}


def normalise_commune_code(value: str) -> str:
    """Upper case (2a004 → 2A004), and the leading zero a spreadsheet drops put back (1053 → 01053):
    no INSEE code has 4 characters, so this guesses nothing."""
    code = value.strip().upper()
    return "0" + code if re.fullmatch(r"\d{4}", code) else code


def normalise_departement_code(value: str) -> str:
    code = value.strip().upper()
    return "0" + code if re.fullmatch(r"\d", code) else code


def _bad_character(text: str) -> str:
    """The first character no cell may hold (controls other than tab and line breaks, lone
    surrogates from JSON), as U+XXXX, or ""."""
    for char in text:
        point = ord(char)
        if (point < 32 and char not in "\t\n\r") or 0x7F <= point < 0xA0 or 0xD800 <= point < 0xE000 or point in (0xFFFE, 0xFFFF):
            return f"U+{point:04X}"
    return ""


def url_problem(value: str) -> tuple[str, str] | None:
    """Why ``value`` is not an absolute http(s) address (French, English), or None."""
    if any(c.isspace() for c in value):
        return "elle contient une espace", "it contains a space"
    if any(c in _IRI_FORBIDDEN for c in value):
        return "elle contient un caractère interdit", "it contains a forbidden character"
    try:
        parts = urllib.parse.urlsplit(value)
        host, _port = parts.hostname, parts.port
    except ValueError:
        return "elle est mal formée", "it is malformed"
    if parts.scheme.lower() not in ("http", "https"):
        return "elle doit commencer par http:// ou https://", "it must start with http:// or https://"
    if not host or ("." not in host and host != "localhost") or host.startswith(".") or host.endswith(".."):
        return "il manque le nom du site", "the site's name is missing"
    try:
        ox.NamedNode(value)  # the store's own IRI check (percent-escapes, ports, brackets…)
    except ValueError:
        return "elle est mal formée", "it is malformed"
    return None


@dataclass(frozen=True)
class _Date:
    literal: Literal
    earliest: datetime.date
    latest: datetime.date


def parse_date(value: str) -> _Date | None:
    """``YYYY`` (xsd:gYear) or ``YYYY-MM-DD`` (xsd:date), a real date; None otherwise."""
    if _YEAR.match(value):
        year = int(value)
        if year < 1:
            return None
        return _Date(Literal(value, datatype=XSD.gYear), datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    if _DAY.match(value):
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            return None
        return _Date(Literal(value, datatype=XSD.date), day, day)
    return None


def _date_hint(value: str) -> tuple[str, str]:
    """For "15/03/2024", the ISO form to write instead: the usual French spreadsheet date."""
    match = _FRENCH_DAY.match(value)
    if not match:
        return "", ""
    day, month, year = match.groups()
    iso = f"{year}-{int(month):02d}-{int(day):02d}"
    return f" ; « {value} » s'écrit « {iso} »", f"; \"{value}\" is written \"{iso}\""


def split_multi(value: str) -> list[str]:
    """The values of a multi-valued cell, trimmed, empty ones and repeats dropped."""
    values: list[str] = []
    for part in value.split(MULTI_SEPARATOR):
        part = part.strip()
        if part and part not in values:
            values.append(part)
    return values


# ---------------------------------------------------------------------------- the reader

class _Row:
    """One row being read: its cells by column name and the mistakes found so far."""

    def __init__(self, number: int, cells: dict[str, str]) -> None:
        self.number = number
        self.cells = cells
        self.errors: list[CellError] = []

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def error(self, column: str, code: str, value: str | None = None, suggestions: Sequence[str] = (),
              **fields: Any) -> None:
        self.errors.append(make_error(self.number, column, code, self.get(column) if value is None else value,
                                      suggestions, **fields))


@dataclass
class _Resolved:
    """What a good row says, resolved to IRIs."""

    practice: URIRef | None = None
    themes: list[URIRef] = field(default_factory=list)
    territory: Territory | None = None
    lead: URIRef | None = None
    partners: list[URIRef] = field(default_factory=list)
    audiences: list[URIRef] = field(default_factory=list)
    url: URIRef | None = None
    start: _Date | None = None
    end: _Date | None = None


class _Importer:
    """Reads the rows of one file, remembering what earlier rows did (ids, new organisations)."""

    def __init__(self, lookup: Lookup, errors: Iterable[CellError] = ()) -> None:
        self.lookup = lookup
        self.result = TabularImport(new_graph())
        self.errors: list[CellError] = list(errors)
        #: Initiative slug → the row that first used it (given or generated).
        self.rows_of_id: dict[str, int] = {}
        #: Every id the file gives, so that a generated id never takes one a later row asks for.
        self.reserved: set[str] = set()
        #: New organisations of this file: folded name → IRI, and IRI → name as first written.
        self.new_organizations: dict[str, URIRef] = {}
        self.new_organization_names: dict[URIRef, str] = {}
        self.organization_slugs: set[str] = set()

    # -------------------------------------------------------------- file

    def run(self, header: list[str], rows: list[tuple[int, list[str]]], header_row: int) -> TabularImport:
        columns = self._header(header, header_row)
        if columns is not None:
            records = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
            if not records and not self.errors:
                self.errors.append(make_error(0, "", "no-rows", ""))
            table = [(n, self._cells(n, columns, cells)) for n, cells in records]
            self.reserved = {c["id"] for _, c in table if c is not None and c.get("id")}
            for number, cells in table:
                if cells is not None:
                    self._row(_Row(number, cells))
        self.result.errors = sorted(self.errors, key=_error_order)
        return self.result

    def _header(self, header: list[str], row: int) -> list[Column | None] | None:
        """The column of each header cell; None (and errors) if the header is unusable, since
        then no cell can be trusted to be what it seems."""
        if not any(h.strip() for h in header):
            self.errors.append(make_error(0, "", "empty-file", ""))
            return None
        columns: list[Column | None] = []
        positions: dict[str, int] = {}
        errors: list[CellError] = []
        names = ", ".join(c.name for c in COLUMNS)
        for position, raw in enumerate(header, start=1):
            text = raw.strip()
            column = _HEADERS.get(header_key(text))
            if column is None:
                if text:  # an empty header cell over empty cells is what spreadsheets leave
                    close = difflib.get_close_matches(header_key(text), list(_HEADERS), n=1, cutoff=0.75)
                    suggestions = [_HEADERS[close[0]].name] if close else []
                    errors.append(make_error(row, text, "unknown-column", text, suggestions, columns=names))
            elif column.name in positions:
                errors.append(make_error(row, column.name, "duplicate-column", text, position=position))
            else:
                positions[column.name] = position
            columns.append(column)
        for column in COLUMNS:
            if column.required and column.name not in positions:
                errors.append(make_error(row, column.name, "missing-column", ""))
        self.errors.extend(errors)
        return None if errors else columns

    def _cells(self, number: int, columns: list[Column | None], cells: list[str]) -> dict[str, str] | None:
        """Cells by column name, trimmed; None (and an error) if the row cannot be read."""
        extra = [c for c in cells[len(columns):] if c.strip()]
        if extra:
            self.errors.append(make_error(number, "", "too-many-cells", _short(extra[0].strip()),
                                          columns=len(columns)))
            return None
        named: dict[str, str] = {}
        bad = False
        for column, cell in zip(columns, cells):
            text = cell.strip()
            if column is None:
                if text:
                    self.errors.append(make_error(number, "", "cell-without-column", _short(text)))
                    bad = True
                continue
            character = _bad_character(text)
            if character:
                self.errors.append(make_error(number, column.name, "bad-character", _short(text), character=character))
                bad = True
            named[column.name] = text
        return None if bad else named

    # -------------------------------------------------------------- one row

    def _row(self, row: _Row) -> None:
        slug, existing = self._identify(row)
        new = not existing
        if new:
            self._require(row)
        resolved = _Resolved()
        resolved.practice = self._practice(row)
        resolved.themes = self._concepts(row, "themes", "theme")
        if new and not split_multi(row.get("themes")) and resolved.practice is not None:
            resolved.themes = self.lookup.practice_themes(resolved.practice)
        resolved.territory = self._territory(row, new)
        resolved.lead = self._organization(row, "lead", row.get("lead"), single=True) if row.get("lead") else None
        resolved.partners = [iri for name in split_multi(row.get("partners"))
                             if (iri := self._organization(row, "partners", name)) is not None]
        resolved.audiences = self._concepts(row, "audiences", "audience")
        resolved.url = self._url(row)
        resolved.start, resolved.end = self._dates(row, slug if existing else None)
        if row.errors:
            self.errors.extend(row.errors)
            return
        if slug is None:
            assert resolved.practice is not None and resolved.territory is not None
            slug = self._generate_id(resolved.practice, resolved.territory)
            self.rows_of_id[slug] = row.number
        self._emit(row, URIRef(f"{ID}initiative/{slug}"), new, resolved)

    def _identify(self, row: _Row) -> tuple[str | None, bool]:
        """The row's initiative slug (None: to be generated) and whether it exists already."""
        value = row.get("id")
        if not value:
            return None, False
        if not SLUG.match(value):
            row.error("id", "bad-id", suggestion=slugify(value) or "bureau-des-temps--rennes")
            return None, False
        if value in self.rows_of_id:
            row.error("id", "duplicate-id", first=self.rows_of_id[value])
        else:
            self.rows_of_id[value] = row.number
        return value, self.lookup.exists(f"{ID}initiative/{value}")

    def _require(self, row: _Row) -> None:
        for column in COLUMNS:
            if column.required and not row.get(column.name):
                why_fr, why_en = _WHY.get(column.name, ("", ""))
                row.error(column.name, "missing-value", why_fr=why_fr, why_en=why_en)

    # -------------------------------------------------------------- vocabularies

    def _practice(self, row: _Row) -> URIRef | None:
        value = row.get("practice")
        if not value:
            return None
        if MULTI_SEPARATOR in value:
            row.error("practice", "several-values")
            return None
        return self._concept(row, "practice", "practice", value)

    def _concepts(self, row: _Row, column: str, kind: str) -> list[URIRef]:
        found = [self._concept(row, column, kind, value) for value in split_multi(row.get(column))]
        return [iri for iri in found if iri is not None]

    def _concept(self, row: _Row, column: str, kind: str, value: str) -> URIRef | None:
        found = self.lookup.concepts(kind, value)
        if len(found) == 1:
            return found[0].iri
        if found:
            candidates = ", ".join(f"{c.label_fr} ({c.slug})" for c in found)
            row.error(column, f"ambiguous-{kind}", value, candidates=candidates)
            return None
        everything = self.lookup.all_concepts(kind)
        names = {fold(c.label_fr): c.slug for c in everything} | {fold(c.label_en): c.slug for c in everything}
        names |= {c.slug: c.slug for c in everything}
        close = difflib.get_close_matches(fold(value), list(names), n=3, cutoff=0.7)
        suggestions = list(dict.fromkeys(names[c] for c in close))
        row.error(column, f"unknown-{kind}", value, suggestions)
        return None

    # -------------------------------------------------------------- territory

    def _territory(self, row: _Row, new: bool) -> Territory | None:
        """The one territory the row names (commune, EPCI or département alone), checked for
        consistency between its cells."""
        code, name = row.get("commune_code"), row.get("commune_name")
        dep_text, epci_text = row.get("departement_code"), row.get("epci_code")
        if not (code or name or dep_text or epci_text):
            if new:
                row.error("", "missing-territory", "")
            return None
        departement = self._departement(row, dep_text) if dep_text else None
        dep_ok = not dep_text or departement is not None
        if epci_text and (code or name):
            row.error("epci_code", "several-territories")
            return None
        if epci_text:
            return self._epci(row, epci_text, departement)
        if code:
            return self._commune_by_code(row, code, name, departement)
        if name:
            return self._commune_by_name(row, name, departement) if dep_ok else None
        return departement

    def _departement(self, row: _Row, text: str) -> Territory | None:
        code = normalise_departement_code(text)
        if not _DEPARTEMENT_CODE.match(code):
            row.error("departement_code", "bad-departement-code")
            return None
        found = self.lookup.departement(code)
        if found is None:
            row.error("departement_code", "unknown-departement")
        return found

    def _epci(self, row: _Row, text: str, departement: Territory | None) -> Territory | None:
        siren = text.replace(" ", "")
        if not _SIREN.match(siren):
            row.error("epci_code", "bad-epci-code")
            return None
        found = self.lookup.epci(siren)
        if found is None:
            row.error("epci_code", "unknown-epci")
            return None
        if departement is not None and departement.code not in self.lookup.epci_departements(siren):
            row.error("departement_code", "epci-departement-mismatch", epci=found.describe())
            return None
        return found

    def _commune_by_code(self, row: _Row, text: str, name: str, departement: Territory | None) -> Territory | None:
        code = normalise_commune_code(text)
        if not _COMMUNE_CODE.match(code):
            row.error("commune_code", "bad-commune-code")
            return None
        commune = self.lookup.commune(code)
        if commune is None:
            row.error("commune_code", "unknown-commune")
            return None
        if departement is not None and commune.departement != departement.code:
            row.error("departement_code", "commune-departement-mismatch", commune=commune.describe(),
                      actual=commune.departement)
            return None
        if name and fold(name) != fold(commune.label):
            row.error("commune_name", "commune-name-mismatch", insee=code, label=commune.label)
            return None
        return commune

    def _commune_by_name(self, row: _Row, name: str, departement: Territory | None) -> Territory | None:
        found = self.lookup.communes_named(name)
        if departement is not None:
            here = [c for c in found if c.departement == departement.code]
            if len(here) == 1:
                return here[0]
            if len(here) > 1:
                row.error("commune_name", "ambiguous-commune", candidates=describe_all(here))
                return None
            if found:
                row.error("commune_name", "commune-not-in-departement", departement=departement.describe(),
                          candidates=describe_all(found))
                return None
        elif len(found) == 1:
            return found[0]
        elif found:
            row.error("commune_name", "ambiguous-commune", candidates=describe_all(found))
            return None
        dep_code = departement.code if departement is not None else ""
        close = self.lookup.similar_communes(name, dep_code) if len(name) <= 60 else []
        where = (f" dans le département {departement.describe()}", f" in département {departement.describe()}") \
            if departement is not None else ("", "")
        row.error("commune_name", "unknown-commune-name", suggestions=[c.describe() for c in close],
                  where_fr=where[0], where_en=where[1])
        return None

    # -------------------------------------------------------------- organisations

    def _organization(self, row: _Row, column: str, value: str, single: bool = False) -> URIRef | None:
        """An existing organisation by slug or folded label; else a new one of this file."""
        if single and MULTI_SEPARATOR in value:
            row.error(column, "several-values")
            return None
        if SLUG.match(value):
            known = self.lookup.organization(value)
            if known is not None:
                return known.iri
        found = self.lookup.organizations_labelled(value)
        if len(found) == 1:
            return found[0].iri
        if found:
            candidates = ", ".join(f"{o.label_fr} ({o.slug})" for o in found)
            row.error(column, "ambiguous-organization", value, candidates=candidates)
            return None
        key = fold(value)
        if key in self.new_organizations:
            return self.new_organizations[key]
        slug = slugify(value)
        if not slug:
            row.error(column, "bad-organization-name", value)
            return None
        slug = self._free_slug("organization", slug, self.organization_slugs)
        self.organization_slugs.add(slug)
        iri = URIRef(f"{ID}organization/{slug}")
        self.new_organizations[key] = iri
        self.new_organization_names[iri] = value
        return iri

    # -------------------------------------------------------------- url, dates

    def _url(self, row: _Row) -> URIRef | None:
        value = row.get("url")
        if not value:
            return None
        problem = url_problem(value)
        if problem is not None:
            row.error("url", "bad-url", reason_fr=problem[0], reason_en=problem[1])
            return None
        return URIRef(value)

    def _dates(self, row: _Row, existing: str | None) -> tuple[_Date | None, _Date | None]:
        """Start and end dates; the end may not be before the start, including, for a correction
        giving only one of them, the other one on record."""
        start, start_ok = self._date(row, "start_date", "2024 / 2024-03-15")
        end, end_ok = self._date(row, "end_date", "2025 / 2025-06-30")
        if not (start_ok and end_ok):
            return None, None
        first, last, on_record = start, end, ""
        if existing is not None and (start is None) != (end is None):
            kept_start, kept_end = self.lookup.initiative_dates(f"{ID}initiative/{existing}")
            if start is None and kept_start:
                first, on_record = parse_date(kept_start), "start"
            if end is None and kept_end:
                last, on_record = parse_date(kept_end), "end"
        if first is None or last is None or last.latest >= first.earliest:
            return start, end
        if end is not None:
            stored = (" enregistrée", " on record") if on_record else ("", "")
            row.error("end_date", "end-before-start", start=str(first.literal), stored_fr=stored[0], stored_en=stored[1])
        else:
            row.error("start_date", "start-after-end", end=str(last.literal))
        return start, end

    def _date(self, row: _Row, column: str, example: str) -> tuple[_Date | None, bool]:
        value = row.get(column)
        if not value:
            return None, True
        parsed = parse_date(value)
        if parsed is None:
            hint = _date_hint(value)
            row.error(column, "bad-date", example=example, hint_fr=hint[0], hint_en=hint[1])
            return None, False
        return parsed, True

    # -------------------------------------------------------------- ids and triples

    def _free_slug(self, kind: str, base: str, taken: set[str]) -> str:
        """``base``, or ``base-2``, ``base-3``… the first not in ``taken`` nor in the store."""
        slug, n = base, 1
        while slug in taken or self.lookup.exists(f"{ID}{kind}/{slug}"):
            n += 1
            slug = f"{base}-{n}"
        return slug

    def _generate_id(self, practice: URIRef, territory: Territory) -> str:
        """practice slug + "--" + territory slug, the guide's own rule (docs/model.md)."""
        base = f"{str(practice).rsplit('/', 1)[-1]}--{slugify(territory.label) or territory.code.lower()}"
        return self._free_slug("initiative", base, set(self.rows_of_id) | self.reserved)

    def _emit(self, row: _Row, initiative: URIRef, new: bool, r: _Resolved) -> None:
        """The row's triples: everything for a new initiative, only the filled cells for a
        correction (an empty cell leaves the published value alone)."""
        g = self.result.graph
        if new:
            g.add((initiative, RDF.type, COH.Initiative))
            self.result.created.add(initiative)
        for column, lang in (("title_fr", "fr"), ("title_en", "en")):
            if row.get(column):
                g.add((initiative, RDFS.label, Literal(row.get(column), lang=lang)))
        for column, lang in (("description_fr", "fr"), ("description_en", "en")):
            if row.get(column):
                g.add((initiative, DCTERMS.description, Literal(row.get(column), lang=lang)))
        if r.practice is not None:
            g.add((initiative, DCTERMS.type, r.practice))
        for theme in r.themes:
            g.add((initiative, DCTERMS.subject, theme))
        if r.territory is not None:
            g.add((initiative, DCTERMS.spatial, r.territory.iri))
        if r.lead is not None:
            g.add((initiative, COH.lead, r.lead))
        for partner in r.partners:
            g.add((initiative, COH.partner, partner))
        for audience in r.audiences:
            g.add((initiative, DCTERMS.audience, audience))
        if r.url is not None:
            g.add((initiative, FOAF.page, r.url))
        if r.start is not None:
            g.add((initiative, SCHEMA.startDate, r.start.literal))
        if r.end is not None:
            g.add((initiative, SCHEMA.endDate, r.end.literal))
        for organization in [r.lead, *r.partners]:
            if organization is not None:
                self._emit_organization(organization)
        self.result.initiatives.append(initiative)

    def _emit_organization(self, iri: URIRef) -> None:
        """A new organisation, once, when the first good row names it: a proper name is the same
        in both languages, so the name as written is its French and its English label."""
        name = self.new_organization_names.get(iri)
        if name is None or iri in self.result.created:
            return
        g = self.result.graph
        g.add((iri, RDF.type, ORG.Organization))
        g.add((iri, RDFS.label, Literal(name, lang="fr")))
        g.add((iri, RDFS.label, Literal(name, lang="en")))
        self.result.created.add(iri)

