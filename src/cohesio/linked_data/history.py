"""The history of accepted changes as the pages show it, read from the history graph.

Every accepted change is described in ``B graph/history`` with PROV (see
:mod:`cohesio.contributions.history`): a ``coh:Change`` with its number, time, author, reason and
action, the resources it created (``prov:generated``), withdrew (``prov:invalidated``) and changed
(``coh:changed``), and the triples it removed and added as ``rdf:Statement`` nodes. Everything here
is asked with SPARQL through the backend (:func:`cohesio.linked_data.describe.select`), never read
from the log files, so it works the same on the embedded store and on a remote SPARQL server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from cohesio.linked_data import describe as d
from cohesio.linked_data.links import is_safe_iri

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PROV = "http://www.w3.org/ns/prov#"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
GENERATED = f"{PROV}generated"
INVALIDATED = f"{PROV}invalidated"
ASSOCIATED = f"{PROV}wasAssociatedWith"
#: How many statements of each kind (removed, added) a change page shows at a time.
STATEMENTS_PAGE = 200


def history_graph(base_iri: str) -> str:
    return f"{base_iri}graph/history"


def coh(base_iri: str) -> str:
    return f"{base_iri}ontology#"


@dataclass
class ChangeSummary:
    """One change as a line of a history: who, when, what, why, how many triples."""

    iri: str
    seq: int
    time: str
    action: str
    agent: str = ""
    agent_label: str = ""
    reason: str = ""
    added: int = 0
    removed: int = 0
    #: The resources it created, withdrew and changed: filled when asked for (lists, JSON), or
    #: with the one resource a history is about.
    generated: list[str] = field(default_factory=list)
    invalidated: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    #: The earlier change it reverts.
    reverts: str = ""

    @property
    def when(self) -> str:
        """The time for people: ``2026-11-25 01:26:32 UTC`` (the same in both languages)."""
        text = self.time
        if text.endswith("Z"):
            text = text[:-1] + " UTC"
        elif text.endswith("+00:00"):
            text = text[:-6] + " UTC"
        return text.replace("T", " ", 1)

    def targets(self) -> list[tuple[str, str]]:
        """(relation, IRI) of every resource it created, changed or withdrew."""
        return ([("generated", i) for i in self.generated] + [("changed", i) for i in self.changed]
                + [("invalidated", i) for i in self.invalidated])

    def to_json(self, local) -> dict:  # noqa: ANN001 - local: IRI -> URL on this server
        return {"change": self.seq, "iri": local(self.iri), "time": self.time, "action": self.action,
                "agent": self.agent_label, "agent_iri": local(self.agent) if self.agent else None,
                "reason": self.reason, "removed": self.removed, "added": self.added,
                "created": [local(i) for i in self.generated], "changed": [local(i) for i in self.changed],
                "withdrawn": [local(i) for i in self.invalidated],
                "reverts": local(self.reverts) if self.reverts else None}


def _values(iris: list[str]) -> str:
    return " ".join(f"<{i}>" for i in iris if is_safe_iri(i))


def summaries(backend, base_iri: str, change_iris: list[str], with_targets: bool = False) -> list[ChangeSummary]:
    """The summaries of the given changes, in the order given (unknown IRIs left out)."""
    wanted = [i for i in dict.fromkeys(change_iris) if is_safe_iri(i)]
    if not wanted:
        return []
    h, c = history_graph(base_iri), coh(base_iri)
    found: dict[str, ChangeSummary] = {}
    for start in range(0, len(wanted), 200):
        values = _values(wanted[start:start + 200])
        rows = d.select(backend, f"""SELECT ?c ?seq ?time ?action ?agent ?agentLabel ?reason ?reverts WHERE {{
            VALUES ?c {{ {values} }}
            GRAPH <{h}> {{ ?c <{c}sequence> ?seq .
              OPTIONAL {{ ?c <{PROV}endedAtTime> ?time }}
              OPTIONAL {{ ?c <{c}action> ?action }}
              OPTIONAL {{ ?c <{ASSOCIATED}> ?agent OPTIONAL {{ ?agent <{d.RDFS}label> ?agentLabel }} }}
              OPTIONAL {{ ?c <{d.RDFS}comment> ?reason }}
              OPTIONAL {{ ?c <{c}reverts> ?reverts }} }} }}""")
        for row in rows:
            iri = row["c"].value
            if iri in found:
                continue
            try:
                seq = int(row["seq"].value)
            except ValueError:
                continue
            agent = row["agent"].value if "agent" in row else ""
            found[iri] = ChangeSummary(
                iri, seq, row["time"].value if "time" in row else "",
                row["action"].value if "action" in row else "", agent,
                row["agentLabel"].value if "agentLabel" in row else (d.fallback_label(agent) if agent else ""),
                row["reason"].value if "reason" in row else "",
                reverts=row["reverts"].value if "reverts" in row else "")
        counts = d.select(backend, f"""SELECT ?c ?k (COUNT(DISTINCT ?s) AS ?n) WHERE {{
            VALUES ?c {{ {values} }} VALUES ?k {{ <{c}added> <{c}removed> }}
            GRAPH <{h}> {{ ?c ?k ?s }} }} GROUP BY ?c ?k""")
        for row in counts:
            summary = found.get(row["c"].value)
            if summary is not None:
                setattr(summary, "added" if row["k"].value.endswith("#added") else "removed", int(row["n"].value))
        if with_targets:
            rows = d.select(backend, f"""SELECT ?c ?r ?x WHERE {{
                VALUES ?c {{ {values} }} VALUES ?r {{ <{GENERATED}> <{INVALIDATED}> <{c}changed> }}
                GRAPH <{h}> {{ ?c ?r ?x }} }} ORDER BY ?c ?r ?x""")
            for row in rows:
                summary = found.get(row["c"].value)
                if summary is None or not row["x"].is_iri:
                    continue
                rel, x = row["r"].value, row["x"].value
                if rel == GENERATED:
                    summary.generated.append(x)
                elif rel == INVALIDATED:
                    summary.invalidated.append(x)
                else:
                    summary.changed.append(x)
    return [found[i] for i in wanted if i in found]


def _about(base_iri: str, resource: str) -> str:
    """A pattern binding ?c to the changes about ``resource``: that created, changed or withdrew
    it, that reverted it (for a change), or that it made (for an agent)."""
    c = coh(base_iri)
    return (f"VALUES ?rel {{ <{GENERATED}> <{INVALIDATED}> <{c}changed> <{c}reverts> <{ASSOCIATED}> }} "
            f"?c ?rel <{resource}> .")


def changes_about(backend, base_iri: str, iri: str) -> list[ChangeSummary]:
    """The changes that created, changed or withdrew ``iri``, oldest first."""
    if not is_safe_iri(iri):
        return []
    h, c = history_graph(base_iri), coh(base_iri)
    rows = d.select(backend, f"""SELECT DISTINCT ?c ?rel ?seq WHERE {{ GRAPH <{h}> {{
        VALUES ?rel {{ <{GENERATED}> <{INVALIDATED}> <{c}changed> }} ?c ?rel <{iri}> ; <{c}sequence> ?seq }} }}
        ORDER BY ?seq""")
    found = summaries(backend, base_iri, [r["c"].value for r in rows])
    by_iri = {s.iri: s for s in found}
    for row in rows:
        summary, rel = by_iri.get(row["c"].value), row["rel"].value
        if summary is not None:
            (summary.generated if rel == GENERATED else summary.invalidated if rel == INVALIDATED
             else summary.changed).append(iri)
    return found


def count_changes(backend, base_iri: str, resource: str | None = None) -> int:
    h, c = history_graph(base_iri), coh(base_iri)
    about = _about(base_iri, resource) if resource else f"?c a <{c}Change> ."
    rows = d.select(backend, f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ GRAPH <{h}> {{ {about} }} }}")
    return int(rows[0]["n"].value) if rows and "n" in rows[0] else 0


def list_changes(backend, base_iri: str, page: int = 1, page_size: int = d.PAGE_SIZE,
                 resource: str | None = None) -> list[ChangeSummary]:
    """One page of the changes, newest first; with ``resource``, those about it."""
    if resource is not None and not is_safe_iri(resource):
        return []
    h, c = history_graph(base_iri), coh(base_iri)
    about = _about(base_iri, resource) if resource else f"?c a <{c}Change> ."
    offset = (max(page, 1) - 1) * page_size
    rows = d.select(backend, f"""SELECT DISTINCT ?c ?seq WHERE {{ GRAPH <{h}> {{ {about} ?c <{c}sequence> ?seq }} }}
        ORDER BY DESC(?seq) LIMIT {page_size} OFFSET {offset}""")
    return summaries(backend, base_iri, [r["c"].value for r in rows], with_targets=True)


def withdrawn_by(backend, base_iri: str, iri: str) -> tuple[ChangeSummary | None, list[ChangeSummary]]:
    """For an IRI the data graphs no longer hold: the change that last withdrew it (None if none
    did), and all the changes about it, oldest first."""
    changes = changes_about(backend, base_iri, iri)
    last = next((c for c in reversed(changes) if iri in c.invalidated), None)
    return last, changes


def former_labels(backend, base_iri: str, iris) -> dict[str, dict[str, str]]:  # noqa: ANN001
    """Labels the history remembers (removed ``rdfs:label`` & co.), by language: the names of
    resources that are no longer published."""
    wanted = sorted({i for i in iris if is_safe_iri(i)})
    found: dict[str, dict[str, str]] = {}
    h = history_graph(base_iri)
    for start in range(0, len(wanted), 400):
        rows = d.select(backend, f"""SELECT ?x ?l WHERE {{ VALUES ?x {{ {_values(wanted[start:start + 400])} }}
            GRAPH <{h}> {{ ?st <{RDF}subject> ?x ; <{RDF}predicate> ?p ; <{RDF}object> ?l }}
            {d.LABEL_FILTER} FILTER(isLiteral(?l)) }}""")
        for row in rows:
            found.setdefault(row["x"].value, {}).setdefault(row["l"].lang, row["l"].value)
    return found


def labels_with_history(backend, base_iri: str, iris) -> dict[str, dict[str, str]]:  # noqa: ANN001
    """Labels of the published data, and for the IRIs it no longer labels, those the history keeps."""
    iris = set(iris)
    labels = d.labels_of(backend, iris)
    missing = [i for i in iris if i not in labels]
    if missing:
        labels.update(former_labels(backend, base_iri, missing))
    return labels


# ------------------------------------------------------------------ one change in full


@dataclass
class Statement:
    """A removed or added triple, with the named graph it was in or went to."""

    iri: str
    index: int
    subject: d.Value
    predicate: d.Value
    object: d.Value
    graph: str


@dataclass
class ChangeDetail:
    summary: ChangeSummary
    removed: list[Statement]
    added: list[Statement]
    reverted_by: list[ChangeSummary]
    resources: dict[str, d.Value]
    page: int = 1
    pages: int = 1

    def resource(self, iri: str) -> d.Value:
        return self.resources.get(iri) or d.Value(d.Term("uri", iri))


def _statements(backend, base_iri: str, change: str, kind: str, page: int, page_size: int) -> list[tuple]:
    """One page of the statements a change removed or added, in the log's order (their number)."""
    h, c = history_graph(base_iri), coh(base_iri)
    offset = (page - 1) * page_size
    rows = d.select(backend, f"""SELECT ?st ?s ?p ?o ?g ?i WHERE {{
        GRAPH <{h}> {{ <{change}> <{c}{kind}> ?st .
          ?st <{RDF}subject> ?s ; <{RDF}predicate> ?p ; <{RDF}object> ?o .
          OPTIONAL {{ ?st <{c}inGraph> ?g }} }}
        BIND(<{XSD_INTEGER}>(REPLACE(STR(?st), "^.*/", "")) AS ?i) }}
        ORDER BY ?i ?st LIMIT {page_size} OFFSET {offset}""")
    out = []
    for row in rows:
        index = int(row["i"].value) if "i" in row and row["i"].value.isdigit() else 0
        out.append((row["st"].value, index, row["s"], row["p"], row["o"], row["g"].value if "g" in row else ""))
    return out


def change_detail(backend, base_iri: str, change: str, page: int = 1,
                  page_size: int = STATEMENTS_PAGE) -> ChangeDetail | None:
    """A change with its statements (one page of each kind), the resources it is about, and the
    later changes that reverted it; None if ``change`` is not a change of the history."""
    found = summaries(backend, base_iri, [change], with_targets=True)
    if not found:
        return None
    summary = found[0]
    pages = max(1, -(-summary.removed // page_size), -(-summary.added // page_size))
    page = min(max(page, 1), pages)
    removed = _statements(backend, base_iri, change, "removed", page, page_size)
    added = _statements(backend, base_iri, change, "added", page, page_size)
    h, c = history_graph(base_iri), coh(base_iri)
    rows = d.select(backend, f"""SELECT ?later ?seq WHERE {{ GRAPH <{h}> {{ ?later <{c}reverts> <{change}> ;
        <{c}sequence> ?seq }} }} ORDER BY ?seq""")
    reverted_by = summaries(backend, base_iri, [r["later"].value for r in rows])
    iris: set[str] = set(summary.generated) | set(summary.changed) | set(summary.invalidated)
    if summary.reverts:
        iris.add(summary.reverts)
    for _, _, s, p, o, _ in removed + added:
        iris |= {t.value for t in (s, p, o) if t.is_iri}
    labels = labels_with_history(backend, base_iri, iris)

    def value(term: d.Term) -> d.Value:
        return d.Value(term, labels.get(term.value, {}) if term.is_iri else {})

    def statements(rows: list[tuple]) -> list[Statement]:
        return [Statement(st, i, value(s), value(p), value(o), g) for st, i, s, p, o, g in rows]

    resources = {i: value(d.Term("uri", i)) for i in iris}
    return ChangeDetail(summary, statements(removed), statements(added), reverted_by, resources, page, pages)


def statement_triples(backend, base_iri: str, change: str) -> list[ox.Triple]:
    """What the statement nodes of ``change`` say (subject, predicate, object, graph): its RDF
    document then holds the removed and added triples themselves, not only links to them."""
    h, c = history_graph(base_iri), coh(base_iri)
    return d.construct(backend, f"""CONSTRUCT {{ ?st ?p ?o }} WHERE {{ GRAPH <{h}> {{
        VALUES ?k {{ <{c}added> <{c}removed> }} <{change}> ?k ?st . ?st ?p ?o }} }}""")


# ------------------------------------------------------------------ the whole graph, as RDF


def history_triples(backend, base_iri: str, max_rows: int = 5_000_000) -> tuple[list[ox.Triple], bool]:
    """Every triple of the history graph, and whether the backend had to cut the answer (it caps a
    result at 32 MiB of text)."""
    from cohesio.sparql.executor import Job

    h = history_graph(base_iri)
    outcome = backend.run(Job(query=f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{h}> {{ ?s ?p ?o }} }}",
                              format="ntriples", max_rows=max_rows))
    triples = [q.triple for q in ox.parse(outcome.body, format=ox.RdfFormat.N_TRIPLES)]
    return triples, outcome.truncated
