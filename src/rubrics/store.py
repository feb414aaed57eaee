"""A pack on disk, and the submissions kept inside it.

Accepted submissions are kept for good under ``PACK/submissions/``: the original
bytes and a normalised JSON copy, in a folder per submission. The log
``submissions/log.jsonl`` is the commit point: an entry is appended (by an
atomic rewrite) only after both files are on disk, and each entry carries the
SHA-256 of the previous one, so any edit to the history shows in ``verify``.
A lock on the pack serialises concurrent ``submit`` runs.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from rubrics.errors import (
    Conflict,
    IntegrityError,
    InvalidInput,
    NotFound,
    Problem,
    Severity,
    display_path,
    problem,
)
from rubrics.frameworks import load_framework
from rubrics.fsutil import atomic_write, sha256_bytes, sha256_file
from rubrics.ids import slugify
from rubrics.model import Submission, interviewer_key
from rubrics.roles import InterviewLoop, check_role, read_role
from rubrics.submissions import read_submission

LOG = "log.jsonl"
HEAD = "head.json"  # entry count and last hash, written after the log: catches truncation
LOCK_TIMEOUT = 60.0
GENESIS = "0" * 64


@dataclass
class Pack:
    """A candidate pack folder: its manifest and the interview loop it was made from."""

    path: Path
    manifest: dict[str, Any]
    loop: InterviewLoop
    hashes: dict[str, str] = field(default_factory=dict)
    """SHA-256 of the snapshot files, taken when the pack was opened."""

    @classmethod
    def open(cls, path: Path) -> Pack:
        manifest_path = path / "manifest.json"
        if not path.is_dir():
            raise NotFound(f"{path}: pack folder not found")
        if not manifest_path.is_file():
            raise NotFound(f"{path}: not a pack (no manifest.json)")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput([problem(manifest_path, f"manifest is not valid JSON: {exc}")]) from None
        if not isinstance(manifest, dict) or manifest.get("format") != "rubrics-pack/1":
            raise InvalidInput([problem(manifest_path, "not a rubrics pack manifest "
                                        "(format is not rubrics-pack/1)")])
        try:
            role_rel = str(manifest["role"]["file"])
            framework_rel = str(manifest["framework"]["file"])
            str(manifest["pack_id"])
            if not all(isinstance(f, dict) and isinstance(f.get("path"), str)
                       and isinstance(f.get("sha256"), str) for f in manifest["files"]):
                raise TypeError
        except (KeyError, TypeError):
            raise InvalidInput([problem(manifest_path, "manifest is damaged: it lacks the role, "
                                        "framework, pack id or file list of a rubrics pack")]
                               ) from None
        loop, role_hash, framework_hash = _load_loop(path / role_rel, path / framework_rel)
        return cls(path, manifest, loop, {role_rel: role_hash, framework_rel: framework_hash})

    @property
    def pack_id(self) -> str:
        return str(self.manifest["pack_id"])

    @property
    def submissions_dir(self) -> Path:
        return self.path / "submissions"

    def stage_fields(self) -> dict[str, dict[str, list[str]]]:
        return {s.id: {"criteria": list(s.assesses), "red_flags": list(s.red_flags)}
                for s in self.loop.role.stages}


_LOOPS: dict[tuple[str, str], InterviewLoop] = {}


def _load_loop(role_file: Path, framework_file: Path) -> tuple[InterviewLoop, str, str]:
    """The loop of a pack's snapshot (cached by content: a thousand packs share one role),
    and the SHA-256 of the two files."""
    for f in (role_file, framework_file):
        if not f.is_file():
            raise IntegrityError(f"{f}: missing from the pack (it snapshots its role and "
                                 "framework)")
    key = (sha256_file(role_file), sha256_file(framework_file))
    if key not in _LOOPS:
        role, doc = read_role(role_file)
        framework, _ = load_framework(framework_file)
        errors = [p for p in check_role(role, framework, doc) if p.is_error]
        if errors:
            raise InvalidInput(errors)
        if len(_LOOPS) >= 64:
            _LOOPS.pop(next(iter(_LOOPS)))
        _LOOPS[key] = InterviewLoop.build(role, framework)
    return _LOOPS[key], key[0], key[1]


# --------------------------------------------------------------------------- checks


def check_submission(sub: Submission, pack: Pack, where: Any) -> list[Problem]:
    """Problems of a well-formed submission against its pack (``where`` locates fields)."""
    problems: list[Problem] = []
    if sub.pack_id != pack.pack_id:
        problems.append(where(("pack_id",), f"pack_id: '{sub.pack_id}' is not this pack "
                              f"('{pack.pack_id}'); was it sent for another candidate?"))
    stage = pack.loop.role.stage(sub.stage)
    if stage is None:
        known = ", ".join(s.id for s in pack.loop.role.stages)
        problems.append(where(("stage",), f"stage: '{sub.stage}' is not a stage of this loop "
                              f"(stages: {known})"))
        return problems
    candidate_id = pack.manifest.get("candidate", {}).get("id")
    if sub.candidate_id is not None and candidate_id and sub.candidate_id != candidate_id:
        problems.append(where(("candidate_id",), f"candidate_id: '{sub.candidate_id}' is not "
                              f"this pack's candidate ('{candidate_id}')"))
    allowed = set(stage.assesses)

    def unknown(section: str, key: str) -> Problem:
        close = difflib.get_close_matches(key, stage.assesses, n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        found: Problem = where((section, key), f"{section}.{key}: not a criterion of stage "
                               f"'{stage.id}'{hint}")
        return found

    problems.extend(unknown("ratings", k) for k in sub.ratings if k not in allowed)
    problems.extend(unknown("evidence", k) for k in sub.evidence if k not in allowed)
    return problems


# --------------------------------------------------------------------------- log


@dataclass
class LogEntry:
    data: dict[str, Any]

    @property
    def seq(self) -> int:
        return int(self.data["seq"])

    @property
    def stage(self) -> str:
        return str(self.data["stage"])

    @property
    def interviewer(self) -> str:
        return str(self.data["interviewer"])

    @property
    def folder(self) -> str:
        return str(self.data["folder"])


def entry_hash(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "hash"}
    return sha256_bytes(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                   separators=(",", ":")).encode("utf-8"))


class LogLineError(IntegrityError):
    """A line of the submission log that is not a log entry at all."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.problem = problem(path, message, line)
        super().__init__(str(self.problem))


def _well_formed(data: Any) -> bool:
    """Has the fields and types every reader of a log entry relies on."""
    return (isinstance(data, dict) and type(data.get("seq")) is int
            and all(isinstance(data.get(k), str) for k in ("stage", "interviewer", "folder"))
            and all(isinstance(data.get(k), dict)
                    and isinstance(data[k].get("path"), str)
                    and isinstance(data[k].get("sha256"), str)
                    for k in ("original", "normalised")))


def read_log(pack: Pack) -> list[LogEntry]:
    path = pack.submissions_dir / LOG
    if not path.is_file():
        return []
    entries = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        bad_line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise LogLineError(path, bad_line, "log entry is not UTF-8 text") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            raise LogLineError(path, n, "log entry is not valid JSON") from None
        if not _well_formed(data):
            raise LogLineError(path, n, "log entry is not a submission log entry "
                                        "(fields missing or of the wrong type)")
        entries.append(LogEntry(data))
    return entries


def effective_entries(entries: list[LogEntry]) -> list[LogEntry]:
    """The submission that counts for each (stage, interviewer): the newest."""
    latest: dict[tuple[str, str], LogEntry] = {}
    for entry in entries:
        latest[(entry.stage, interviewer_key(entry.interviewer))] = entry
    return sorted(latest.values(), key=lambda e: e.seq)


# --------------------------------------------------------------------------- submit


@dataclass
class Accepted:
    seq: int
    stage: str
    interviewer: str
    folder: Path
    amends: int | None = None
    notes: list[str] = field(default_factory=list)
    """Things worth telling the interviewer; they do not stop a submission."""


def review_notes(sub: Submission, pack: Pack) -> list[str]:
    """Weak spots of an accepted scorecard: ratings without evidence, criteria left out,
    red flags that are not on the stage's list."""
    stage = pack.loop.role.stage(sub.stage)
    if stage is None:
        return []
    notes = []
    bare = [cid for cid, v in sub.ratings.items() if v is not None
            and not sub.evidence.get(cid, "").strip()]
    if bare:
        notes.append(f"{len(bare)} rating(s) without evidence: {', '.join(bare)}")
    left_out = [cid for cid in stage.assesses if cid not in sub.ratings]
    if left_out:
        notes.append(f"{len(left_out)} criterion(s) left out, read as not assessed: "
                     f"{', '.join(left_out)}")
    unlisted = [f for f in sub.red_flags if f not in stage.red_flags]
    if unlisted:
        notes.append(f"red flag(s) not on the stage's list, kept as written: "
                     f"{'; '.join(unlisted)}")
    return notes


@dataclass
class _Prepared:
    source: Path
    raw: bytes
    submission: Submission
    normalised: bytes
    amends: LogEntry | None = None


def submit(pack_dir: Path, files: list[Path], *, amend: bool = False,
           reason: str | None = None) -> list[Accepted]:
    """Check and store returned scorecards; all files are accepted or none is."""
    if amend and not (reason and reason.strip()):
        raise InvalidInput([problem("--reason", "--amend needs --reason saying why")])
    pack = Pack.open(pack_dir)
    # A lock-free dry run first, so that a refused submit leaves the pack exactly as it
    # was (not even a submissions/ folder or lock file); the run under the lock decides.
    _submit_locked(pack, files, amend, reason, dry_run=True)
    pack.submissions_dir.mkdir(exist_ok=True)
    lock = FileLock(str(pack.submissions_dir / ".lock"), timeout=LOCK_TIMEOUT)
    try:
        with lock:
            return _submit_locked(pack, files, amend, reason)
    except Timeout:
        raise Conflict(f"{pack_dir}: another submit has held the pack lock for over "
                       f"{LOCK_TIMEOUT:.0f} s") from None


def _submit_locked(pack: Pack, files: list[Path], amend: bool,
                   reason: str | None, *, dry_run: bool = False) -> list[Accepted]:
    entries = read_log(pack)
    _check_chain(pack, entries)
    problems: list[Problem] = []
    prepared: list[_Prepared] = []
    known_hashes = {e.data["original"]["sha256"]: e for e in entries}
    current = {(e.stage, interviewer_key(e.interviewer)): e for e in effective_entries(entries)}
    batch_keys: dict[tuple[str, str], Path] = {}
    for path in files:
        try:
            sub, doc = read_submission(path, stage_fields=pack.stage_fields())
        except InvalidInput as exc:
            problems.extend(exc.problems)
            continue
        found = check_submission(sub, pack, lambda loc, msg, d=doc: d.problem(loc, msg))
        raw = doc.raw  # exactly the bytes that were checked
        digest = sha256_bytes(raw)
        if digest in known_hashes:
            problems.append(problem(path, f"already submitted (identical to submission "
                                    f"{known_hashes[digest].seq:04d})"))
            continue
        key = (sub.stage, interviewer_key(sub.interviewer))
        if key in batch_keys:
            found.append(problem(path, f"same stage '{sub.stage}' and interviewer "
                                 f"'{sub.interviewer}' as {display_path(batch_keys[key])}"))
        batch_keys.setdefault(key, path)
        previous = current.get(key)
        if previous is not None and not amend:
            found.append(problem(path, f"stage '{sub.stage}' already has a submission by "
                                 f"'{previous.interviewer}' ({previous.seq:04d}); to replace it "
                                 "use --amend --reason \"...\""))
        if amend and previous is None:
            found.append(problem(path, f"--amend: there is no earlier submission for stage "
                                 f"'{sub.stage}' by '{sub.interviewer}' to amend"))
        if found:
            problems.extend(found)
            continue
        normalised = (json.dumps(sub.model_dump(mode="json"), indent=2, ensure_ascii=False,
                                 sort_keys=False) + "\n").encode("utf-8")
        prepared.append(_Prepared(path, raw, sub, normalised, previous))
    if problems:
        raise InvalidInput(problems)
    if dry_run:
        return []

    _remove_orphans(pack, entries)
    accepted = []
    log_path = pack.submissions_dir / LOG
    log_text = log_path.read_text(encoding="utf-8") if log_path.is_file() else ""
    prev_hash = entries[-1].data["hash"] if entries else GENESIS
    seq = entries[-1].seq if entries else 0
    for item in prepared:
        seq += 1
        sub = item.submission
        ext = item.source.suffix.lower() if item.source.suffix.lower() in (
            ".yaml", ".yml", ".json", ".pdf") else ".txt"
        folder = f"{seq:04d}-{sub.stage}--{slugify(sub.interviewer, max_chars=40) or 'interviewer'}"
        original_rel = f"{folder}/original{ext}"
        normalised_rel = f"{folder}/submission.json"
        atomic_write(pack.submissions_dir / original_rel, item.raw, exclusive=True)
        atomic_write(pack.submissions_dir / normalised_rel, item.normalised, exclusive=True)
        data: dict[str, Any] = {
            "seq": seq,
            "accepted_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "pack_id": pack.pack_id,
            "stage": sub.stage,
            "interviewer": sub.interviewer,
            "folder": folder,
            "source_name": item.source.name,
            "original": {"path": original_rel, "sha256": sha256_bytes(item.raw)},
            "normalised": {"path": normalised_rel, "sha256": sha256_bytes(item.normalised)},
            "amends": item.amends.seq if item.amends else None,
            "manifest_sha256": sha256_file(pack.path / "manifest.json"),
            "reason": reason.strip() if (reason and item.amends) else None,
            "prev": prev_hash,
        }
        data["hash"] = entry_hash(data)
        prev_hash = data["hash"]
        log_text += json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n"
        accepted.append(Accepted(seq, sub.stage, sub.interviewer,
                                 pack.submissions_dir / folder,
                                 item.amends.seq if item.amends else None,
                                 review_notes(sub, pack)))
    atomic_write(log_path, log_text.encode("utf-8"))  # the commit point
    head = {"entries": seq, "hash": prev_hash}
    atomic_write(pack.submissions_dir / HEAD, (json.dumps(head) + "\n").encode("utf-8"))
    return accepted


def _remove_orphans(pack: Pack, entries: list[LogEntry]) -> None:
    """Folders an interrupted submit wrote but never logged were never accepted: move them
    out of the way (into submissions/.interrupted/), never delete them."""
    logged = {e.folder for e in entries}
    for child in pack.submissions_dir.iterdir():
        if child.is_dir() and child.name not in logged and not child.name.startswith("."):
            aside = pack.submissions_dir / ".interrupted"
            aside.mkdir(exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            child.rename(aside / f"{child.name}.{stamp}")
        elif child.is_file() and child.name.startswith(".") and child.name.endswith(".tmp"):
            child.unlink(missing_ok=True)


def _check_chain(pack: Pack, entries: list[LogEntry]) -> None:
    """Refuse to add to a pack whose role/framework snapshot, manifest, log or stored
    submissions fail verification. (A scorecard edited inside the pack, say a blank
    YAML filled in place, is reported by verify but does not block submissions.)"""
    problems = [p for p in [*verify_files(pack, only=_source_files(pack)),
                            *verify_manifest(pack, entries), *verify_log(pack, entries)]
                if p.is_error]
    if problems:
        raise IntegrityError("the pack fails verification; run `rubrics verify "
                             f"{pack.path}`: {problems[0]}")


def _source_files(pack: Pack) -> set[str]:
    """The role and framework snapshot that submissions are checked and aggregated against."""
    return {str(pack.manifest["role"]["file"]), str(pack.manifest["framework"]["file"])}


# --------------------------------------------------------------------------- verify


def verify_log(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    log_path = pack.submissions_dir / LOG
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
        for kind in ("original", "normalised"):
            ref = data.get(kind) or {}
            path = pack.submissions_dir / str(ref.get("path", ""))
            if not path.is_file():
                problems.append(problem(path, f"missing: {kind} file of submission "
                                        f"{entry.seq:04d}"))
            elif sha256_file(path) != ref.get("sha256"):
                problems.append(problem(path, f"altered: {kind} file of submission "
                                        f"{entry.seq:04d} does not match its recorded SHA-256"))
    return problems + verify_head(pack, entries)


def verify_manifest(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    """manifest.json must be the one the latest submission was accepted against."""
    recorded = next((e.data["manifest_sha256"] for e in reversed(entries)
                     if isinstance(e.data.get("manifest_sha256"), str)), None)
    path = pack.path / "manifest.json"
    if recorded is not None and sha256_file(path) != recorded:
        return [problem(path, "altered: manifest.json changed after submissions were accepted "
                        "(its SHA-256 is recorded in the submission log)")]
    return []


def read_head(pack: Pack) -> dict[str, Any] | None:
    path = pack.submissions_dir / HEAD
    if not path.is_file():
        return None
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(head, dict) and isinstance(head.get("entries"), int):
            return head
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    return {"entries": -1, "hash": ""}


def verify_head(pack: Pack, entries: list[LogEntry]) -> list[Problem]:
    """The log against its head record: removed last entries show here, not in the chain."""
    head = read_head(pack)
    path = pack.submissions_dir / HEAD
    if head is None:
        if entries:
            return [problem(path, "missing: the log's head record (entry count and last hash)")]
        return []
    count = head["entries"]
    if count < 0:
        return [problem(path, "altered: the log's head record is not valid")]
    if len(entries) < count:
        return [problem(pack.submissions_dir / LOG, f"{count - len(entries)} logged "
                        f"submission(s) removed: the log has {len(entries)} entries, its head "
                        f"record says {count}")]
    if count and entries[count - 1].data.get("hash") != head.get("hash"):
        return [problem(path, f"altered: entry {count} of the log does not match its head record")]
    if len(entries) > count:
        return [problem(path, f"the last submit was interrupted after logging entry "
                        f"{len(entries)} (the head record says {count}); the next submit "
                        "completes it", severity=Severity.WARNING)]
    return []


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


def verify(pack_dir: Path) -> tuple[list[Problem], int]:
    """Every altered or missing file of a pack and its submission log; and entries checked."""
    pack = Pack.open(pack_dir)
    problems = verify_files(pack)
    try:
        entries = read_log(pack)
    except LogLineError as exc:
        return [*problems, exc.problem], 0
    problems.extend(verify_manifest(pack, entries))
    problems.extend(verify_log(pack, entries))
    if pack.submissions_dir.is_dir():
        logged = {e.folder for e in entries}
        head = read_head(pack) or {"entries": 0}
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
    return problems, len(entries)


def load_effective(pack: Pack) -> list[tuple[LogEntry, Submission]]:
    """The submissions that count, read from their normalised copies.

    Refuses (IntegrityError) a log whose chain is broken or a source snapshot that
    was altered: either would silently change the recommendation.
    """
    entries = read_log(pack)
    altered = verify_files(pack, only=_source_files(pack))
    if altered:
        raise IntegrityError(f"{altered[0]}; run rubrics verify")
    prev = GENESIS
    for n, entry in enumerate(entries, 1):
        if entry.data.get("prev") != prev or entry.data.get("hash") != entry_hash(entry.data):
            raise IntegrityError(f"{pack.submissions_dir / LOG}: entry {n} fails verification "
                                 "(the log was edited); run rubrics verify")
        prev = str(entry.data["hash"])
    head_errors = [p for p in verify_head(pack, entries) if p.is_error]
    if head_errors:
        raise IntegrityError(f"{head_errors[0]}; run rubrics verify")
    out = []
    for entry in effective_entries(entries):
        path = pack.submissions_dir / entry.data["normalised"]["path"]
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(f"{path}: missing normalised submission "
                                 f"{entry.seq:04d}; run rubrics verify") from None
        if sha256_bytes(raw) != entry.data["normalised"]["sha256"]:
            raise IntegrityError(f"{path}: altered since it was accepted; run rubrics verify")
        out.append((entry, Submission.model_validate_json(raw)))
    return out
