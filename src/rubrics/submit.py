"""Taking in returned scorecards: check each against its pack, keep it for good, log it.

Accepted submissions are kept under ``PACK/submissions/``: the original bytes and a
normalised JSON copy, in a folder per submission, and an entry in the pack's
hash-chained log (:mod:`rubrics.log`), which is the commit point: it is written only
after both files are on disk. A lock on the pack serialises concurrent writers.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubrics.errors import (
    IntegrityError,
    InvalidInput,
    Problem,
    display_path,
    problem,
    shorten,
)
from rubrics.fsutil import sha256_bytes, sha256_file
from rubrics.identity import email_key, same_person
from rubrics.ids import pack_id_folder, slugify
from rubrics.log import SUBMISSION, LogEntry, next_seq, now
from rubrics.model import Submission
from rubrics.packdir import Pack
from rubrics.store import Hold, PackWrite, Writer, folder_hold
from rubrics.submissions import read_submission
from rubrics.verify import Inspection, PackRecord, inspect, read_record


def check_writable(pack: Pack) -> Inspection:
    """Refuse to add to a pack that fails verification (but for an edited scorecard file,
    say a blank YAML filled in place); return what was inspected."""
    found = inspect(pack, files=False)
    if found.errors:
        raise IntegrityError("the pack fails verification; run `rubrics verify "
                             f"{pack.path}`: {found.errors[0]}")
    return found


# --------------------------------------------------------------------------- checks


def check_submission(sub: Submission, pack: Pack, where: Any) -> list[Problem]:
    """Problems of a well-formed submission against its pack (``where`` locates fields)."""
    problems: list[Problem] = []
    candidate_id = pack.candidate.get("id")
    if sub.pack_id != pack.pack_id:
        problems.append(where(("pack_id",), _not_this_pack(sub, pack.pack_id, candidate_id)))
    stage = pack.loop.role.stage(sub.stage)
    if stage is None:
        known = ", ".join(s.id for s in pack.loop.role.stages)
        problems.append(where(("stage",), f"stage: '{sub.stage}' is not a stage of this loop "
                              f"(stages: {known})"))
        return problems
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


def _not_this_pack(sub: Submission, pack_id: str, candidate_id: object) -> str:
    """Why a scorecard's pack id is not the pack's: sent for another candidate, or for this
    candidate's pack (the same candidate id, a pack id of the same folder) before ``pack
    --force`` remade it under a new pack id."""
    if sub.candidate_id is not None and sub.candidate_id == candidate_id \
            and pack_id_folder(sub.pack_id) == pack_id_folder(pack_id):
        return (f"pack_id: '{shorten(sub.pack_id)}' is this candidate's earlier pack: it was "
                f"made again from another version of the role or framework (now '{pack_id}') "
                "after this scorecard was sent; send the interviewer the new scorecard, or "
                "copy these ratings into it")
    return (f"pack_id: '{shorten(sub.pack_id)}' is not this pack ('{pack_id}'); was it sent "
            "for another candidate?")


def review_notes(sub: Submission, pack: Pack) -> list[str]:
    """Weak spots of an accepted scorecard: ratings without evidence, criteria left out,
    red flags that are not on the stage's list, a scorecard that rates nothing."""
    stage = pack.loop.role.stage(sub.stage)
    if stage is None:
        return []
    notes = []
    if all(sub.ratings.get(cid) is None for cid in stage.assesses):
        notes.append("rates none of the stage's criteria: it counts as not returned until "
                     "amended with ratings")
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


def same_scorecard(a: Submission, b: Submission) -> bool:
    """Whether two scorecards of one stage carry the same ratings and evidence: the same
    scorecard under another name. Identical ratings alone are not enough (two interviewers
    may well agree), unless there is written evidence or notes to compare too."""
    def rated(s: Submission) -> dict[str, int]:
        return {k: v for k, v in s.ratings.items() if v is not None}

    def said(s: Submission) -> dict[str, str]:
        return {k: folded(v) for k, v in s.evidence.items() if folded(v)}

    if not rated(a) or rated(a) != rated(b) or said(a) != said(b):
        return False
    notes_a, notes_b = folded(a.notes), folded(b.notes)
    return bool(said(a)) or (bool(notes_a) and notes_a == notes_b)


def folded(text: str) -> str:
    """Text compared for sameness: compatibility forms, invisible characters, case and
    spacing folded."""
    visible = "".join(ch for ch in unicodedata.normalize("NFKC", text)
                      if unicodedata.category(ch) != "Cf")
    return " ".join(visible.casefold().split())


# --------------------------------------------------------------------------- submit


@dataclass
class Accepted:
    seq: int
    stage: str
    interviewer: str
    folder: Path
    entry: LogEntry
    """The log entry the submission was kept under (as chained: hash and all)."""
    amends: int | None = None
    notes: list[str] = field(default_factory=list)
    """Things worth telling the interviewer; they do not stop a submission."""


@dataclass
class _Prepared:
    source: Path
    raw: bytes
    submission: Submission
    normalised: bytes
    amends: LogEntry | None = None


def submit(pack_dir: Path, files: list[Path], *, amend: bool = False,
           reason: str | None = None, hold: Hold = folder_hold,
           by_link: bool = False) -> list[Accepted]:
    """Check and store returned scorecards; all files are accepted or none is. ``hold``
    is how the pack is held while writing (the folder's lock; the server's transaction).

    ``by_link``: the scorecard comes through an interviewer's personal link, whose email
    says who they are. Then a scorecard is the interviewer's own only by that email, an
    amendment replaces only their own counted scorecard, and no refusal names or points
    at another interviewer's submission (the cross-person "same ratings and evidence"
    rule of the CLI would tell a link holder what someone else wrote)."""
    if amend and not (reason and reason.strip()):
        raise InvalidInput([problem("--reason", "--amend needs --reason saying why")])
    pack = Pack.open(pack_dir)
    # A lock-free dry run first, so that a refused submit leaves the pack exactly as it
    # was (not even a submissions/ folder or lock file); the run under the lock decides.
    _submit_locked(pack, files, amend, reason, by_link=by_link)
    with hold(pack) as writer:
        return _submit_locked(pack, files, amend, reason, writer=writer, by_link=by_link)


def _submit_locked(pack: Pack, files: list[Path], amend: bool, reason: str | None, *,
                   writer: Writer | None = None, by_link: bool = False) -> list[Accepted]:
    """Check ``files`` against the pack; with a ``writer`` (the pack held), store them."""
    inspected = check_writable(pack)
    entries = inspected.entries
    record = read_record(inspected)
    problems: list[Problem] = []
    prepared: list[_Prepared] = []
    known_hashes = {e.data["original"]["sha256"]: e for e in entries if e.kind == SUBMISSION}
    batch: list[tuple[Submission, Path]] = []
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
            problems.append(problem(path, "already submitted (identical to an earlier "
                                    "submission)" if by_link else "already submitted "
                                    f"(identical to submission {known_hashes[digest].ref})"))
            continue
        twin = next((p for s, p in batch if s.stage == sub.stage and _same_person(s, sub)), None)
        if twin is not None:
            found.append(problem(path, f"same stage '{sub.stage}' and interviewer "
                                 f"'{sub.interviewer}' as {display_path(twin)}"))
        copy = next((p for s, p in batch if s.stage == sub.stage and same_scorecard(s, sub)),
                    None)
        if twin is None and copy is not None:
            found.append(problem(path, f"same ratings and evidence as {display_path(copy)} "
                                 "under another name: one scorecard counts once"))
        batch.append((sub, path))
        previous, why = _replaces(record, sub, amend, by_link=by_link)
        if why:
            found.append(problem(path, why))
        if found:
            problems.extend(found)
            continue
        normalised = (json.dumps(sub.model_dump(mode="json"), indent=2, ensure_ascii=False,
                                 sort_keys=False) + "\n").encode("utf-8")
        prepared.append(_Prepared(path, raw, sub, normalised, previous))
    if problems:
        raise InvalidInput(problems)
    if writer is None:
        return []
    return _store(pack, writer(entries), entries, prepared, reason)


def _same_person(a: Submission, b: Submission) -> bool:
    return same_person((a.interviewer, a.interviewer_email), (b.interviewer, b.interviewer_email))


def _replaces(record: PackRecord, sub: Submission, amend: bool, *,
              by_link: bool = False) -> tuple[LogEntry | None, str]:
    """The counted submission that ``sub`` would replace, and why it may not (if so).
    ``by_link``: only the interviewer's own scorecard (by email) counts, see :func:`submit`."""
    in_stage = [e for e in record.effective if e.stage == sub.stage]
    if by_link:
        own = email_key(sub.interviewer_email)
        mine = next((e for e in in_stage if own is not None
                     and email_key(record.submissions[e.seq].interviewer_email) == own), None)
        if mine is not None:
            if amend:
                return mine, ""
            return None, (f"you already submitted a scorecard for stage '{sub.stage}' "
                          f"({mine.ref}); to replace it, amend it with a reason")
        if amend:
            return None, (f"there is no earlier submission of yours for stage '{sub.stage}' "
                          "to amend")
        return None, ""
    mine = next((e for e in in_stage if _same_person(record.submissions[e.seq], sub)), None)
    if mine is not None:
        if amend:
            return mine, ""
        return None, (f"stage '{sub.stage}' already has a submission by '{mine.interviewer}' "
                      f"({mine.ref}); to replace it use --amend --reason \"...\"")
    twin = next((e for e in in_stage if same_scorecard(record.submissions[e.seq], sub)), None)
    if twin is not None:
        if amend:
            return twin, ""
        return None, (f"same ratings and evidence as submission {twin.ref} by "
                      f"'{twin.interviewer}' for stage '{sub.stage}': if this is that "
                      "scorecard under another name, replace it with --amend --reason "
                      "\"...\"; a second interviewer's scorecard needs their own evidence")
    if amend:
        return None, (f"--amend: there is no earlier submission for stage '{sub.stage}' by "
                      f"'{sub.interviewer}' to amend")
    return None, ""


def _store(pack: Pack, write: PackWrite, entries: list[LogEntry], prepared: list[_Prepared],
           reason: str | None) -> list[Accepted]:
    new: list[dict[str, Any]] = []
    kept: list[tuple[_Prepared, Path]] = []
    manifest_sha = sha256_file(pack.path / "manifest.json")
    seq = next_seq(entries)
    for item in prepared:
        sub = item.submission
        ext = item.source.suffix.lower() if item.source.suffix.lower() in (
            ".yaml", ".yml", ".json", ".pdf") else ".txt"
        folder = f"{seq:04d}-{sub.stage}--{slugify(sub.interviewer, max_chars=40) or 'interviewer'}"
        original_rel = f"{folder}/original{ext}"
        normalised_rel = f"{folder}/submission.json"
        write.put(original_rel, item.raw)
        write.put(normalised_rel, item.normalised)
        new.append({
            "seq": seq,
            "kind": SUBMISSION,
            "accepted_at": now(),
            "pack_id": pack.pack_id,
            "stage": sub.stage,
            "interviewer": sub.interviewer,
            "interviewer_email": sub.interviewer_email,
            "folder": folder,
            "source_name": item.source.name,
            "original": {"path": original_rel, "sha256": sha256_bytes(item.raw)},
            "normalised": {"path": normalised_rel, "sha256": sha256_bytes(item.normalised)},
            "amends": item.amends.seq if item.amends else None,
            "manifest_sha256": manifest_sha,
            "reason": reason.strip() if (reason and item.amends) else None,
        })
        kept.append((item, pack.submissions_dir / folder))
        seq += 1
    added = write.append(new)
    return [Accepted(entry.seq, item.submission.stage, item.submission.interviewer, folder,
                     entry, item.amends.seq if item.amends else None,
                     review_notes(item.submission, pack))
            for (item, folder), entry in zip(kept, added, strict=True)]

