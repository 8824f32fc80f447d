"""The log of accepted changes: one JSON file per change, append-only, durable.

``contributions/000007.json`` holds change number 7: who, when, why, and the quads it removed and
added, as N-Quads lines with canonical IRIs (like the files of ``data/``, whatever base a deployment
publishes under). The log is the record of what was accepted: a build replays it over ``data/``,
and a server that stopped between logging a change and publishing it publishes it on restart.

A change file is written to a temporary name, flushed to disk, then linked to its final name, which
fails if that name exists: two writers can never both own number 7, and a reader never sees half a
file. The directory is flushed too, so the name survives a power cut once the writer has answered.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyoxigraph as ox

#: Format version written into every change file, for readers of the log years from now.
LOG_FORMAT = 1
_NAME = re.compile(r"^(\d{6,})\.json$")

ACTIONS = ("import", "create", "correct", "withdraw", "revert")


class LogError(Exception):
    """A change file cannot be read; the message names the file, in French and English."""


@dataclass(frozen=True)
class Change:
    """One accepted change. Quads are pyoxigraph quads with canonical IRIs, sorted."""

    seq: int
    agent: str
    time: str  # ISO 8601, UTC, seconds
    reason: str
    action: str
    added: tuple[ox.Quad, ...] = ()
    removed: tuple[ox.Quad, ...] = ()
    created: tuple[str, ...] = ()
    withdrawn: tuple[str, ...] = ()
    touched: tuple[str, ...] = ()
    reverts: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.seq:06d}"

    def iri(self, base_iri: str) -> str:
        return f"{base_iri}id/change/{self.id}"

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "format": LOG_FORMAT,
            "seq": self.seq,
            "agent": self.agent,
            "time": self.time,
            "reason": self.reason,
            "action": self.action,
            "created": list(self.created),
            "withdrawn": list(self.withdrawn),
            "touched": list(self.touched),
            "removed": quads_to_lines(self.removed),
            "added": quads_to_lines(self.added),
        }
        if self.reverts is not None:
            record["reverts"] = self.reverts
        record.update(self.extra)
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> "Change":
        known = {"format", "seq", "agent", "time", "reason", "action", "created", "withdrawn", "touched",
                 "removed", "added", "reverts"}
        return cls(
            seq=int(record["seq"]),
            agent=str(record["agent"]),
            time=str(record["time"]),
            reason=str(record["reason"]),
            action=str(record["action"]),
            added=lines_to_quads(record.get("added", [])),
            removed=lines_to_quads(record.get("removed", [])),
            created=tuple(record.get("created", [])),
            withdrawn=tuple(record.get("withdrawn", [])),
            touched=tuple(record.get("touched", [])),
            reverts=record.get("reverts"),
            extra={k: v for k, v in record.items() if k not in known},
        )


def quads_to_lines(quads: tuple[ox.Quad, ...] | list[ox.Quad]) -> list[str]:
    """Sorted N-Quads lines: the same change always gives the same bytes."""
    if not quads:
        return []
    text = ox.serialize(list(quads), format=ox.RdfFormat.N_QUADS).decode("utf-8")
    return sorted(line for line in text.splitlines() if line.strip())


def lines_to_quads(lines: list[str]) -> tuple[ox.Quad, ...]:
    if not lines:
        return ()
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    return tuple(sorted(ox.parse(payload, format=ox.RdfFormat.N_QUADS), key=str))


def _path(log_dir: Path, seq: int) -> Path:
    return log_dir / f"{seq:06d}.json"


def sequence_numbers(log_dir: Path) -> list[int]:
    if not log_dir.is_dir():
        return []
    return sorted(int(m.group(1)) for p in log_dir.iterdir() if (m := _NAME.match(p.name)))


def last_seq(log_dir: Path) -> int:
    numbers = sequence_numbers(log_dir)
    return numbers[-1] if numbers else 0


def read(log_dir: Path, seq: int) -> Change:
    path = _path(log_dir, seq)
    try:
        return Change.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, SyntaxError) as exc:
        raise LogError(
            f"Fichier du journal des contributions illisible : {path} ({exc}). / "
            f"Unreadable contributions log file: {path} ({exc})."
        ) from exc


def changes(log_dir: Path, after: int = 0) -> Iterator[Change]:
    """The accepted changes with a number above ``after``, in order."""
    for seq in sequence_numbers(log_dir):
        if seq > after:
            yield read(log_dir, seq)


def append(log_dir: Path, change: Change) -> Path:
    """Write ``change`` durably under its number; FileExistsError if the number is taken."""
    log_dir.mkdir(parents=True, exist_ok=True)
    final = _path(log_dir, change.seq)
    tmp = log_dir / f".{change.id}.{os.getpid()}.tmp"
    payload = (json.dumps(change.to_json(), ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(payload)
        while view:  # os.write may write less than asked (a full disk): never link a truncated change
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, final)  # atomic, and refuses to replace another writer's change
    finally:
        tmp.unlink()
    fsync_dir(log_dir)
    return final


def clean_temporary(log_dir: Path) -> None:
    """Remove files of writes that were interrupted before their change was accepted."""
    if log_dir.is_dir():
        for stale in log_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
