"""Checking a pack: its files against the manifest, its log's chain, the files the log names.

One inspection serves everyone: :func:`verify` reports every problem it finds;
:func:`load_record`, what aggregation and the panel's decision read, refuses a pack with
any error verify would report (an altered file, an edited or removed log, a path that
leaves the pack), so no report is ever built on a pack that verify rejects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrics.errors import IntegrityError, InvalidInput, Problem, Severity, problem
from rubrics.fsutil import sha256_bytes, sha256_file
from rubrics.log import (
    DECISION,
    GENESIS_KIND,
    LOG,
    SUBMISSION,
    LogEntry,
    LogLineError,
    amends_problems,
    chain_problems,
    head_problems,
    read_head,
    read_log,
)
from rubrics.model import Submission
from rubrics.packdir import Pack
from rubrics.submissions import MAX_SUBMISSION_BYTES
from rubrics.yamlio import read_bytes

_SEQ = re.compile(r"[0-9]{4}")


@dataclass
class Inspection:
    """A pack's log as read, and every problem found with the pack and the log."""

    pack: Pack
    entries: list[LogEntry]
    head: dict[str, Any] | None
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def inspect(pack: Pack, *, files: bool = True) -> Inspection:
    """Every check verify makes. ``files=False`` leaves out the pack's own listed files but
    its role and framework snapshot (a scorecard filled in place does not stop a submit)."""
    problems = verify_files(pack, only=None if files else pack.source_files())
    problems += _closed(pack)
    head = read_head(pack.submissions_dir)  # before the log: a writer renames the log first
    try:
        entries = read_log(pack.submissions_dir)
    except LogLineError as exc:
        return Inspection(pack, [], head, [*problems, exc.problem])
    problems += anchor_problems(pack, entries)
    problems += verify_manifest(pack, entries)
    problems += chain_problems(pack.submissions_dir, entries)
    problems += amends_problems(pack.submissions_dir, entries)
    problems += verify_submission_files(pack, entries)
    problems += head_problems(pack.submissions_dir, entries, head)
    problems += _unlogged_folders(pack, entries, head)
    return Inspection(pack, entries, head, problems)


def verify(pack_dir: Path) -> tuple[list[Problem], list[LogEntry]]:
    """Every altered or missing file of a pack and its log; and the log entries checked."""
    found = inspect(Pack.open(pack_dir))
    return found.problems, found.entries


ORPHAN = ("not in the submission log: left by a submit that was interrupted or is still "
          "writing (never accepted), unless entries were cut from the end of the log")
ALTERED = "altered: does not match the SHA-256 in manifest.json"


def verify_files(pack: Pack, only: set[str] | None = None) -> list[Problem]:
    """Pack files listed in manifest.json (``only``: those paths) that are missing, altered,
    or outside the pack."""
    problems: list[Problem] = []
    for item in pack.manifest.get("files", []):
        if only is not None and item["path"] not in only:
            continue
        path = pack.inside(item["path"])
        if path is None:
            problems.append(problem(pack.path / "manifest.json", f"{item['path']}: lists a "
                                    "path that leaves the pack (a link, an absolute path or ..)"))
        elif not path.is_file():
            problems.append(problem(path, "missing: pack file listed in manifest.json"))
        elif (isinstance(item.get("bytes"), int) and item["path"] not in pack.hashes
              and path.stat().st_size != item["bytes"]):  # (a planted 30 GB file: not read)
            problems.append(problem(path, ALTERED))  # (it cannot hash the same)
        elif (pack.hashes.get(item["path"]) or sha256_file(path)) != item["sha256"]:
            problems.append(problem(path, ALTERED))
    return problems


def _closed(pack: Pack) -> list[Problem]:
    """A pack is closed: its submissions folder is a real folder inside it."""
    folder = pack.submissions_dir
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        return [problem(folder, "is a link or not a folder: a pack's submissions stay inside it")]
    return []


def anchor_problems(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    """A pack made with its log must still have it, starting with its genesis entry."""
    log_path = pack.submissions_dir / LOG
    if not pack.anchored:  # an older pack, or a newer one whose manifest lost its "log" key
        return [problem(pack.path / "manifest.json", "names no log made with the pack (packs "
                        "made before rubrics anchored them, or a manifest edited to look so): "
                        "a removed log, or a manifest or role edited before the first "
                        "submission, would go unnoticed", severity=Severity.WARNING)]
    if not entries:
        return [problem(log_path, "missing: the pack's log, made with the pack, was removed")]
    first = entries[0]
    if first.kind != GENESIS_KIND or first.seq != 0:
        return [problem(log_path, "entry 1: the log does not start with the pack's genesis "
                        "entry: it was replaced", 1)]
    if first.data.get("pack_id") != pack.pack_id:
        return [problem(log_path, f"entry 1: the log belongs to pack "
                        f"'{first.data.get('pack_id')}', not '{pack.pack_id}'", 1)]
    return []


def verify_manifest(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    """manifest.json must be the one the latest log entry was written against."""
    recorded = next((e.data["manifest_sha256"] for e in reversed(entries)
                     if isinstance(e.data.get("manifest_sha256"), str)), None)
    path = pack.path / "manifest.json"
    if recorded is not None and sha256_file(path) != recorded:
        return [problem(path, "altered: manifest.json changed after the pack was made (its "
                        "SHA-256 is recorded in the pack's log)")]
    return []


def verify_submission_files(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    """Each logged submission's original and normalised copy, present and unaltered."""
    problems: list[Problem] = []
    for entry in entries:
        if entry.kind != SUBMISSION:
            continue
        for kind in ("original", "normalised"):
            ref = entry.data[kind]
            path = pack.inside(f"submissions/{ref['path']}")
            if path is None:
                problems.append(problem(pack.submissions_dir / LOG, f"submission {entry.ref}: "
                                        f"its {kind} file {ref['path']} leaves the pack"))
            elif not path.is_file():
                problems.append(problem(path, f"missing: {kind} file of submission {entry.ref}"))
            elif path.stat().st_size > MAX_SUBMISSION_BYTES * 2 or sha256_file(path) != ref["sha256"]:
                # (no submission is accepted over the limit: a bigger file is not read)
                problems.append(problem(path, f"altered: {kind} file of submission {entry.ref} "
                                        "does not match its recorded SHA-256"))
    return problems


def _unlogged_folders(pack: Pack, entries: list[LogEntry], head: dict[str, Any] | None
                      ) -> list[Problem]:
    folder = pack.submissions_dir
    if not folder.is_dir() or folder.is_symlink():
        return []
    problems = []
    logged = {e.folder for e in entries if e.kind == SUBMISSION}
    last = _last_committed_seq(pack, entries, head)
    for child in sorted(folder.iterdir()):
        if child.is_dir() and child.name not in logged and not child.name.startswith("."):
            seq = int(child.name[:4]) if _SEQ.fullmatch(child.name[:4]) else 0
            if 0 < seq <= last:
                problems.append(problem(child, "removed from the log: this submission "
                                        f"({seq:04d}) was accepted, but its log entry is gone"))
            else:
                problems.append(problem(child, ORPHAN, severity=Severity.WARNING))
    return problems


def _last_committed_seq(pack: Pack, entries: list[LogEntry], head: dict[str, Any] | None
                        ) -> int:
    """The number of the last entry the head record vouches for."""
    count = (head or {}).get("entries", 0)
    if not isinstance(count, int) or count <= 0:
        return 0
    if count <= len(entries):
        return entries[count - 1].seq
    return count - 1 if pack.anchored else count


@dataclass
class PackRecord:
    """A pack's log, read and checked: what aggregation and the panel's decision read."""

    pack: Pack
    entries: list[LogEntry]
    submissions: dict[int, Submission]
    """Every logged submission (amended ones too), by log number."""

    @property
    def effective(self) -> list[LogEntry]:
        """The submissions that count: those no later amendment replaced."""
        subs = [e for e in self.entries if e.kind == SUBMISSION]
        replaced = {e.amends for e in subs if e.amends is not None}
        return [e for e in subs if e.seq not in replaced]

    @property
    def amendments(self) -> list[LogEntry]:
        return [e for e in self.entries if e.kind == SUBMISSION and e.amends is not None]

    @property
    def decisions(self) -> list[LogEntry]:
        return [e for e in self.entries if e.kind == DECISION]

    def first_of(self, entry: LogEntry) -> LogEntry:
        """The submission ``entry`` amends, followed back to the one first returned
        (verify refuses an ``amends`` that is not an earlier submission of the log)."""
        by_seq = {e.seq: e for e in self.entries}
        while entry.amends is not None:
            entry = by_seq[entry.amends]
        return entry


def load_record(pack: Pack) -> PackRecord:
    """The pack's log and submissions, refusing (IntegrityError) a pack with any error
    verify would report: it would silently change what the record says."""
    found = inspect(pack)
    if found.errors:
        more = len(found.errors) - 1
        also = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
        raise IntegrityError(f"{found.errors[0]}{also}; run rubrics verify")
    return read_record(found)


def read_record(found: Inspection) -> PackRecord:
    """The submissions of an inspected pack, read from their normalised copies."""
    pack = found.pack
    submissions = {}
    for entry in found.entries:
        if entry.kind != SUBMISSION:
            continue
        path = pack.inside(f"submissions/{entry.data['normalised']['path']}")
        assert path is not None  # inspect() checked it
        try:
            raw = read_bytes(path)
        except InvalidInput as exc:
            raise IntegrityError(f"{exc.problems[0]}: normalised submission {entry.ref}; "
                                 "run rubrics verify") from None
        if sha256_bytes(raw) != entry.data["normalised"]["sha256"]:
            raise IntegrityError(f"{path}: altered since it was accepted; run rubrics verify")
        submissions[entry.seq] = Submission.model_validate_json(raw)
    return PackRecord(pack, found.entries, submissions)
