"""Checking a pack: its files against the manifest, its log's chain, the files the log names.

:func:`verify` reports every problem; :func:`load_record` is what aggregation and the
panel's decision read, and it refuses anything that would silently change what they
say (an altered role or framework snapshot, an edited log, an altered submission).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrics.errors import IntegrityError, Problem, Severity, problem
from rubrics.fsutil import sha256_bytes, sha256_file
from rubrics.log import (
    DECISION,
    SUBMISSION,
    LogEntry,
    LogLineError,
    chain_problems,
    head_problems,
    read_head,
    read_log,
)
from rubrics.model import Submission
from rubrics.packdir import Pack


def verify_files(pack: Pack, only: set[str] | None = None) -> list[Problem]:
    """Pack files listed in manifest.json (``only``: those paths) that are missing or altered."""
    problems: list[Problem] = []
    for item in pack.manifest.get("files", []):
        if only is not None and item["path"] not in only:
            continue
        path = pack.path / item["path"]
        if not path.is_file():
            problems.append(problem(path, "missing: pack file listed in manifest.json"))
        elif (pack.hashes.get(item["path"]) or sha256_file(path)) != item["sha256"]:
            problems.append(problem(path, "altered: does not match the SHA-256 in manifest.json"))
    return problems


def verify_manifest(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    """manifest.json must be the one the latest log entry was written against."""
    recorded = next((e.data["manifest_sha256"] for e in reversed(entries)
                     if isinstance(e.data.get("manifest_sha256"), str)), None)
    path = pack.path / "manifest.json"
    if recorded is not None and sha256_file(path) != recorded:
        return [problem(path, "altered: manifest.json changed after submissions were accepted "
                        "(its SHA-256 is recorded in the submission log)")]
    return []


def verify_submission_files(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    """Each logged submission's original and normalised copy, present and unaltered."""
    problems: list[Problem] = []
    for entry in entries:
        if entry.kind != SUBMISSION:
            continue
        for kind in ("original", "normalised"):
            ref = entry.data[kind]
            path = pack.submissions_dir / str(ref["path"])
            if not path.is_file():
                problems.append(problem(path, f"missing: {kind} file of submission {entry.ref}"))
            elif sha256_file(path) != ref["sha256"]:
                problems.append(problem(path, f"altered: {kind} file of submission {entry.ref} "
                                        "does not match its recorded SHA-256"))
    return problems


def verify_log(pack: Pack, entries: list[LogEntry], head: dict[str, Any] | None
               ) -> list[Problem]:
    folder = pack.submissions_dir
    return [*chain_problems(folder, entries), *verify_submission_files(pack, entries),
            *head_problems(folder, entries, head)]


def blocking_problems(pack: Pack, entries: list[LogEntry], head: dict[str, Any] | None
                      ) -> list[Problem]:
    """What must stop a new submission or decision: an altered role/framework snapshot,
    manifest, log or stored submission. (A scorecard edited inside the pack, say a blank
    YAML filled in place, is reported by verify but does not block.)"""
    return [p for p in [*verify_files(pack, only=pack.source_files()),
                        *verify_manifest(pack, entries), *verify_log(pack, entries, head)]
            if p.is_error]


def verify(pack_dir: Path) -> tuple[list[Problem], list[LogEntry]]:
    """Every altered or missing file of a pack and its log; and the log entries checked."""
    pack = Pack.open(pack_dir)
    problems = verify_files(pack)
    head = read_head(pack.submissions_dir)  # before the log: a writer renames the log first
    try:
        entries = read_log(pack.submissions_dir)
    except LogLineError as exc:
        return [*problems, exc.problem], []
    problems.extend(verify_manifest(pack, entries))
    problems.extend(verify_log(pack, entries, head))
    problems.extend(_unlogged_folders(pack, entries))
    return problems, entries


def _unlogged_folders(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    if not pack.submissions_dir.is_dir():
        return []
    problems = []
    logged = {e.folder for e in entries if e.kind == SUBMISSION}
    head = read_head(pack.submissions_dir) or {"entries": 0}
    for child in sorted(pack.submissions_dir.iterdir()):
        if child.is_dir() and child.name not in logged and not child.name.startswith("."):
            seq = int(child.name[:4]) if child.name[:4].isdigit() else 0
            if 0 < seq <= head["entries"]:
                problems.append(problem(child, "removed from the log: this submission "
                                        f"({seq:04d}) was accepted, but its log entry is gone"))
            else:
                problems.append(problem(child, "not in the submission log (left by an "
                                        "interrupted submit; it was never accepted)",
                                        severity=Severity.WARNING))
    return problems


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


def load_record(pack: Pack) -> PackRecord:
    """The pack's log and submissions, refusing (IntegrityError) a log whose chain or head
    is broken, a stored submission that was altered, or an altered source snapshot:
    any of them would silently change the recommendation."""
    head = read_head(pack.submissions_dir)  # before the log: a writer renames the log first
    entries = read_log(pack.submissions_dir)
    altered = verify_files(pack, only=pack.source_files())
    if altered:
        raise IntegrityError(f"{altered[0]}; run rubrics verify")
    for p in [*chain_problems(pack.submissions_dir, entries),
              *head_problems(pack.submissions_dir, entries, head)]:
        if p.is_error:
            raise IntegrityError(f"{p}; run rubrics verify")
    submissions = {}
    for entry in entries:
        if entry.kind != SUBMISSION:
            continue
        path = pack.submissions_dir / entry.data["normalised"]["path"]
        if not path.is_file():  # also a folder or a pipe put in its place
            raise IntegrityError(f"{path}: missing normalised submission "
                                 f"{entry.ref}; run rubrics verify")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise IntegrityError(f"{path}: cannot read normalised submission {entry.ref} "
                                 f"({exc.strerror or exc}); run rubrics verify") from None
        if sha256_bytes(raw) != entry.data["normalised"]["sha256"]:
            raise IntegrityError(f"{path}: altered since it was accepted; run rubrics verify")
        submissions[entry.seq] = Submission.model_validate_json(raw)
    return PackRecord(pack, entries, submissions)
