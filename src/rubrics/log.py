"""A pack's log: the append-only, hash-chained record of what was accepted and decided.

``submissions/log.jsonl`` holds one JSON entry a line. Each entry carries the SHA-256 of
the previous one (a hash chain), so an edited, removed or reordered entry shows; the
head record ``submissions/head.json`` (entry count and last hash, written after the
log) shows entries removed from the end, which a chain alone cannot. Two kinds of entry
share the chain: ``submission`` (a returned scorecard, kept in its own folder) and
``decision`` (what the hiring panel decided, see :mod:`rubrics.debrief`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rubrics.errors import IntegrityError, Problem, Severity, problem, shorten
from rubrics.fsutil import atomic_write, sha256_bytes

LOG = "log.jsonl"
HEAD = "head.json"
GENESIS = "0" * 64
SUBMISSION = "submission"
DECISION = "decision"
GENESIS_KIND = "genesis"


@dataclass
class LogEntry:
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", SUBMISSION))  # entries before decisions had no kind

    @property
    def seq(self) -> int:
        return int(self.data["seq"])

    @property
    def ref(self) -> str:
        """How reports name the entry: its number, e.g. ``0003``."""
        return f"{self.seq:04d}"

    @property
    def stage(self) -> str:
        return str(self.data["stage"])

    @property
    def interviewer(self) -> str:
        return str(self.data["interviewer"])

    @property
    def interviewer_email(self) -> str | None:
        email = self.data.get("interviewer_email")
        return email if isinstance(email, str) else None

    @property
    def folder(self) -> str:
        return str(self.data["folder"])

    @property
    def amends(self) -> int | None:
        amends = self.data.get("amends")
        return amends if type(amends) is int else None


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def entry_hash(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "hash"}
    return sha256_bytes(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                   separators=(",", ":")).encode("utf-8"))


class LogLineError(IntegrityError):
    """A line of the log that is not a log entry at all."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.problem = problem(path, message, line)
        super().__init__(str(self.problem))


def _well_formed(data: Any) -> bool:
    """Has the fields and types every reader of a log entry relies on."""
    if not (isinstance(data, dict) and type(data.get("seq")) is int):
        return False
    kind = data.get("kind", SUBMISSION)
    if kind == DECISION:
        return _decision_well_formed(data.get("decision"))
    if kind == GENESIS_KIND:
        return all(isinstance(data.get(k), str) for k in ("pack_id", "manifest_sha256"))
    return (kind == SUBMISSION
            and all(isinstance(data.get(k), str) for k in ("stage", "interviewer", "folder"))
            and all(isinstance(data.get(k), dict)
                    and isinstance(data[k].get("path"), str)
                    and isinstance(data[k].get("sha256"), str)
                    for k in ("original", "normalised")))


def _decision_well_formed(record: Any) -> bool:
    def texts(item: Any, *keys: str) -> bool:
        return isinstance(item, dict) and all(isinstance(item.get(k), str) for k in keys)

    return (texts(record, "decision", "reason", "by")
            and (record.get("level") is None or type(record.get("level")) is int)
            and (record.get("override") is None or isinstance(record.get("override"), str))
            and isinstance(record.get("resolutions"), list)
            and all(texts(r, "flag", "kind", "message", "resolution")
                    for r in record["resolutions"])
            and isinstance(record.get("left_open"), list)
            and all(texts(r, "flag", "kind", "message") for r in record["left_open"])
            and isinstance(record.get("recommendation"), dict))


MAX_LOG_BYTES = 256 * 2**20  # about 200,000 entries: far beyond any loop's amendments
MAX_HEAD_BYTES = 64 * 1024


def _bounded(path: Path, limit: int) -> bytes | None:
    """The bytes of a file the pack wrote, or None when it is bigger than ``limit`` (a
    damaged or planted file is named, never read whole)."""
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    return None if len(data) > limit else data


def amends_problems(folder: Path, entries: list[LogEntry]) -> list[Problem]:
    """Amendments must name an earlier submission of the same stage: anything else would
    make a submission stop counting, or count one that is not there."""
    by_seq = {e.seq: e for e in entries if e.kind == SUBMISSION}
    problems = []
    for n, entry in enumerate(entries, 1):
        if entry.kind != SUBMISSION or entry.data.get("amends") is None:
            continue
        target = by_seq.get(entry.amends) if entry.amends is not None else None
        if target is None or target.seq >= entry.seq or target.stage != entry.stage:
            problems.append(problem(folder / LOG, f"entry {n}: amends "
                                    f"{shorten(repr(entry.data.get('amends')))}, which is not an "
                                    "earlier submission of the same stage", n))
    return problems


def read_log(folder: Path) -> list[LogEntry]:
    """The entries of the log in ``folder`` (a pack's ``submissions/``); none if it has none."""
    path = folder / LOG
    if not path.exists():
        return []
    if not path.is_file():
        raise LogLineError(path, 1, "the log is not a regular file")
    raw = _bounded(path, MAX_LOG_BYTES)
    if raw is None:
        raise LogLineError(path, 1, f"the log is larger than {MAX_LOG_BYTES // 2**20} MiB: "
                                    "no pack's log grows that big")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise LogLineError(path, bad_line, "log entry is not UTF-8 text") from None
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise LogLineError(path, n, "log entry is not valid JSON") from None
        if not _well_formed(data):
            raise LogLineError(path, n, "log entry is not a log entry of a rubrics pack "
                                        "(fields missing or of the wrong type)")
        entries.append(LogEntry(data))
    return entries


def chain_problems(folder: Path, entries: list[LogEntry]) -> list[Problem]:
    """Entries whose link to the previous entry, or whose own hash, does not match."""
    log_path = folder / LOG
    problems: list[Problem] = []
    prev = GENESIS
    for n, entry in enumerate(entries, 1):
        data = entry.data
        if data.get("prev") != prev:
            problems.append(problem(log_path, f"entry {n}: chain broken (previous entry's "
                                    "hash does not match): an entry was removed, reordered or "
                                    "edited", n))
        if data.get("hash") != entry_hash(data):
            problems.append(problem(log_path, f"entry {n}: entry was altered (its hash does "
                                    "not match its content)", n))
        prev = str(data.get("hash"))
    return problems


def read_head(folder: Path) -> dict[str, Any] | None:
    path = folder / HEAD
    if not path.exists():
        return None
    if not path.is_file():
        return {"entries": -1, "hash": ""}
    raw = _bounded(path, MAX_HEAD_BYTES)
    if raw is None:
        return {"entries": -1, "hash": ""}
    try:
        head = json.loads(raw.decode("utf-8"))
        if (isinstance(head, dict) and type(head.get("entries")) is int
                and isinstance(head.get("hash"), str)):
            return head
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, OSError):
        pass
    return {"entries": -1, "hash": ""}


def head_problems(folder: Path, entries: list[LogEntry], head: dict[str, Any] | None
                  ) -> list[Problem]:
    """The log against its head record: removed last entries show here, not in the chain.

    ``head`` is the head record as read *before* the log (:func:`read_head`): a writer
    renames the log, then the head, so a head read first never claims more entries than
    a log read after it."""
    path = folder / HEAD
    if head is None:
        if entries:
            return [problem(path, "missing: the log's head record (entry count and last hash)")]
        return []
    count = head["entries"]
    if count < 0:
        return [problem(path, "altered: the log's head record is not valid")]
    if count == 0 and entries and entries[0].kind == GENESIS_KIND:
        return [problem(path, "altered: the head record counts no entry, but a pack's log "
                        "always holds at least its genesis entry")]
    if len(entries) < count:
        return [problem(folder / LOG, f"{count - len(entries)} logged "
                        f"entr{'ies' if count - len(entries) != 1 else 'y'} removed: the log "
                        f"has {len(entries)} entries, its head record says {count}")]
    if count and entries[count - 1].data.get("hash") != head.get("hash"):
        return [problem(path, f"altered: entry {count} of the log does not match its head record")]
    if len(entries) > count:
        return [problem(path, f"the last write was interrupted after logging entry "
                        f"{len(entries)} (the head record says {count}); the next submit "
                        "or decision completes it", severity=Severity.WARNING)]
    return []


def genesis(pack_id: str, manifest_sha256: str, created_at: str) -> dict[str, Any]:
    """The first entry of a pack's log, written with the pack."""
    data = {"seq": 0, "kind": GENESIS_KIND, "pack_id": pack_id,
            "manifest_sha256": manifest_sha256, "created_at": created_at, "prev": GENESIS}
    data["hash"] = entry_hash(data)
    return data


def write_genesis(folder: Path, data: dict[str, Any]) -> None:
    """Start a new pack's log (its folder must have no log yet)."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / LOG, (json.dumps(data, ensure_ascii=False, sort_keys=True)
                                + "\n").encode("utf-8"), exclusive=True)
    atomic_write(folder / HEAD, (json.dumps({"entries": 1, "hash": data["hash"]})
                                 + "\n").encode("utf-8"), exclusive=True)


def next_seq(entries: list[LogEntry]) -> int:
    """The number the next entry of the log gets."""
    return entries[-1].seq + 1 if entries else 1


def chain(entries: list[LogEntry], new: list[dict[str, Any]]) -> list[LogEntry]:
    """``new`` entries chained after ``entries``: each gets its ``prev`` and ``hash``
    (callers number them with :func:`next_seq`, as a submission's folder is named by its
    number). Both stores (ADR 15) chain with this, so their hashes are one rule."""
    prev = entries[-1].data["hash"] if entries else GENESIS
    seq = next_seq(entries) - 1
    added = []
    for data in new:
        seq += 1
        if data.get("seq", seq) != seq:
            raise ValueError(f"log entries must be numbered in order (expected {seq})")
        data = {**data, "seq": seq, "prev": prev}
        data["hash"] = entry_hash(data)
        prev = data["hash"]
        added.append(LogEntry(data))
    return added


def log_line(entry: LogEntry) -> str:
    """The entry as its line of ``log.jsonl`` (without the newline)."""
    return json.dumps(entry.data, ensure_ascii=False, sort_keys=True)


def head_record(entries: int, last_hash: str) -> bytes:
    """``head.json`` for a log of ``entries`` entries, the last hashed ``last_hash``.
    (Counts, not the entries themselves: the database store writes the head it holds, so
    that a log row gone missing still disagrees with it.)"""
    return (json.dumps({"entries": entries, "hash": last_hash}) + "\n").encode("utf-8")


def append(folder: Path, entries: list[LogEntry], new: list[dict[str, Any]]) -> list[LogEntry]:
    """Chain ``new`` entries after ``entries`` and write the log, then its head record.

    The log is rewritten atomically (the commit point), and only then the head record.
    """
    log_path = folder / LOG
    text = log_path.read_text(encoding="utf-8") if log_path.is_file() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    added = chain(entries, new)
    text += "".join(log_line(e) + "\n" for e in added)
    atomic_write(log_path, text.encode("utf-8"))  # the commit point
    logged = entries + added
    atomic_write(folder / HEAD, head_record(len(logged),
                                            logged[-1].data["hash"] if logged else GENESIS))
    return added
