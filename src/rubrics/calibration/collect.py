"""Reading many packs for calibration: only what ``verify`` accepts, kept small.

Each pack is inspected exactly as ``rubrics verify`` inspects it; a pack with any error
is skipped with its reason, never used. From an accepted pack only what calibration
needs is kept: the submissions that count (an amendment replaces what it amends), as
aggregation reads them, and what the mechanical rule decides for the candidate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rubrics.aggregation import Rated, outcome
from rubrics.aggregation.evidence import Evidence
from rubrics.errors import RubricsError, display_path
from rubrics.log import SUBMISSION
from rubrics.packdir import Pack
from rubrics.recommend import map_packs
from rubrics.verify import PackRecord, load_record

"""From this many packs on, packs are read by worker processes (as ``aggregate`` does)."""


@dataclass(frozen=True, slots=True)
class Scorecard:
    """One counted submission, as calibration reads it."""

    stage: str
    name: str
    email: str | None
    interviewed_on: str | None
    """The interview date the interviewer gave (YYYY-MM-DD), if any."""
    returned_on: str
    """The date the scorecard was first accepted (an amendment keeps the first date)."""
    recommendation: str
    ratings: dict[str, int]
    """Criterion id -> 1-4, only the stage's own criteria (as aggregation counts them)."""
    unrated: tuple[str, ...]
    """The stage's criteria left not assessed."""

    @property
    def interview_date(self) -> str:
        """When the interview took place: the date given, else the day it was returned."""
        return self.interviewed_on or self.returned_on


@dataclass(frozen=True, slots=True)
class PackData:
    """What calibration keeps of one accepted pack."""

    path: str
    pack_id: str
    candidate_id: str | None
    role_id: str
    snapshot: tuple[str, str]
    """The SHA-256 of the pack's role and framework snapshot."""
    decision: str
    evidence_outcome: str | None
    level: float | None
    """The recommended overall level; *below L* counts as L - 0.5."""
    panel_decision: str | None
    """The panel's latest recorded decision (hire / no_hire), if any."""
    cards: tuple[Scorecard, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Found:
    """What the arguments name: pack folders to read, and what is not a pack (with why)."""

    packs: list[Path]
    skipped: list[Skipped]


def expand(arguments: list[Path]) -> Found:
    """Pack folders, from arguments that are packs or folders of packs.

    A folder without a manifest.json that holds packs (at any depth) is a folder of packs:
    each of its child folders is read if it is a pack, recursed into if it holds packs,
    and otherwise skipped with why; hidden (dot) folders and plain files beside the packs
    are passed over. An argument that is neither a pack nor holds one is skipped.
    """
    found = Found([], [])
    seen: set[Path] = set()
    for arg in arguments:
        _expand_one(arg, found, seen, top=True)
    return found


def _expand_one(path: Path, found: Found, seen: set[Path], *, top: bool) -> None:
    real = path.resolve()
    if real in seen:
        return
    seen.add(real)
    if (path / "manifest.json").exists() or (path / "manifest.json").is_symlink():
        found.packs.append(path)
    elif not path.exists():
        found.skipped.append(Skipped(str(path), "not found"))
    elif not path.is_dir():
        found.skipped.append(Skipped(str(path), "not a pack folder (it is a file)"))
    elif _holds_packs(path, set()):
        for child in _child_folders(path):
            _expand_one(child, found, seen, top=False)
    else:
        what = ", nor a folder of packs" if top else ""
        found.skipped.append(Skipped(str(path), f"not a pack (no manifest.json){what}"))


def _child_folders(path: Path) -> list[Path]:
    """The folders in ``path``, hidden (dot) folders left out, in name order."""
    return sorted(c for c in path.iterdir() if c.is_dir() and not c.name.startswith("."))


def _holds_packs(path: Path, visited: set[Path]) -> bool:
    """Whether some folder under ``path`` (not inside a pack) is a pack."""
    real = path.resolve()
    if real in visited:
        return False
    visited.add(real)
    try:
        return any((c / "manifest.json").exists() or _holds_packs(c, visited)
                   for c in _child_folders(path))
    except OSError:
        return False


def read_packs(paths: list[Path], jobs: int | None = None) -> tuple[list[PackData], list[Skipped]]:
    """Every pack read (in worker processes for many packs: recommend.map_packs), in the order given."""
    done = map_packs(read_one, paths, jobs, before_pool=lambda: _warm(paths))
    packs = [d for d in done if isinstance(d, PackData)]
    return packs, [d for d in done if isinstance(d, Skipped)]


def one_copy_each(packs: list[PackData]) -> tuple[list[PackData], list[Skipped], list[str]]:
    """Each pack once: a copy of a pack (same pack id, same content) is read once, with a
    warning; copies that differ are both skipped (which is the record is not ours to
    guess). Packs of one candidate id under different pack ids are kept, with a warning."""
    by_id: dict[str, list[PackData]] = defaultdict(list)
    for pack in packs:
        by_id[pack.pack_id].append(pack)
    kept: list[PackData] = []
    skipped: list[Skipped] = []
    warnings: list[str] = []
    for copies in by_id.values():
        first, others = copies[0], copies[1:]
        if all(dataclasses.replace(o, path=first.path) == first for o in others):
            kept.append(first)
            warnings += [f"{o.path}: the same pack as {first.path} (pack id {first.pack_id}): "
                         "read once" for o in others]
        else:
            paths = ", ".join(c.path for c in copies)
            skipped += [Skipped(c.path, f"pack id {c.pack_id} is also that of another pack "
                                f"read, with different submissions ({paths}): give one copy")
                        for c in copies]
    by_candidate: dict[str, list[PackData]] = defaultdict(list)
    for pack in kept:
        if pack.candidate_id:
            by_candidate[pack.candidate_id].append(pack)
    warnings += [f"candidate id {cid}: {len(ps)} packs ({', '.join(p.path for p in ps)}): "
                 "counted as that many candidates" for cid, ps in by_candidate.items()
                 if len(ps) > 1]
    return kept, skipped, warnings


def _warm(paths: list[Path]) -> None:
    """Load the first pack's role and framework before the workers start, so that each
    inherits the parsed loop instead of parsing it again (packs of one role share it)."""
    for path in paths[:1]:
        with contextlib.suppress(RubricsError, OSError):
            Pack.open(path)


def read_one(path: Path) -> PackData | Skipped:
    """One pack, or why it is skipped: any error ``verify`` reports, or a pack that cannot
    be opened."""
    try:
        return _pack_data(load_record(Pack.open(path)))  # what aggregate would read
    except RubricsError as exc:
        return Skipped(str(path), _without(path, " ".join(str(exc).split())))
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return Skipped(str(path), _without(path, f"{exc.strerror or exc}{where}"))


def _without(path: Path, reason: str) -> str:
    """A reason without the pack's own path before it (the report names the pack once)."""
    for named in dict.fromkeys((str(path), display_path(path))):
        for prefix in (f"{named}: ", f"{named}{os.sep}"):
            if reason.startswith(prefix):
                return reason[len(prefix):]
    return reason


def _pack_data(record: PackRecord) -> PackData:
    pack = record.pack
    counted = record.effective
    rated = [Rated(e.ref, record.submissions[e.seq]) for e in counted]
    result = outcome(pack.loop, rated)
    level = None if result.level is None else result.level - (0.5 if result.below else 0)
    first = _first_returned(record)
    ev = Evidence.gather(pack.loop, rated)
    by_ref = {e.ref: e for e in counted}
    cards = tuple(Scorecard(
        stage=c.stage, name=c.interviewer, email=c.submission.interviewer_email,
        interviewed_on=c.submission.interviewed_on.isoformat()
        if c.submission.interviewed_on else None,
        returned_on=first.get(by_ref[c.ref].seq, ""), recommendation=c.recommendation.value,
        ratings=c.ratings, unrated=tuple(c.unrated)) for c in ev.cards)
    decisions = record.decisions
    panel = str(decisions[-1].data["decision"]["decision"]) if decisions else None
    candidate_id = pack.candidate.get("id")
    return PackData(str(pack.path), pack.pack_id,
                    candidate_id if isinstance(candidate_id, str) else None,
                    pack.loop.role.id, _snapshot(pack),
                    result.decision, result.evidence_outcome, level, panel, cards)


def _snapshot(pack: Pack) -> tuple[str, str]:
    return (pack.hashes[str(pack.manifest["role"]["file"])],
            pack.hashes[str(pack.manifest["framework"]["file"])])


def _first_returned(record: PackRecord) -> dict[int, str]:
    """Log number -> the day its scorecard was first accepted (following amendments back)."""
    return {e.seq: str(record.first_of(e).data.get("accepted_at") or "")[:10]
            for e in record.entries if e.kind == SUBMISSION}
