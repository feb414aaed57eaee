"""Reading many packs for calibration: only what ``verify`` accepts, kept small.

Each pack is inspected exactly as ``rubrics verify`` inspects it; a pack with any error
is skipped with its reason, never used. From an accepted pack only what calibration
needs is kept: the submissions that count (an amendment replaces what it amends), as
aggregation reads them, and what the mechanical rule decides for the candidate.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from rubrics.aggregation import Rated, outcome
from rubrics.aggregation.evidence import Evidence
from rubrics.errors import RubricsError
from rubrics.log import SUBMISSION, LogEntry
from rubrics.packdir import Pack
from rubrics.recommend import collector_paused
from rubrics.verify import PackRecord, inspect, read_record

POOL_FROM = 32
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


def expand(arguments: list[Path]) -> list[Path]:
    """Pack folders, from arguments that are packs or folders of packs (a folder without a
    manifest.json whose children hold one); anything else is passed on to be reported."""
    found: list[Path] = []
    for arg in arguments:
        if arg.is_dir() and not (arg / "manifest.json").exists():
            children = sorted(c for c in arg.iterdir() if (c / "manifest.json").exists())
            if children:
                found.extend(children)
                continue
        found.append(arg)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def read_packs(paths: list[Path], jobs: int | None = None) -> tuple[list[PackData], list[Skipped]]:
    """Every pack read (in worker processes from ``POOL_FROM`` packs), in the order given."""
    jobs = jobs or (min(os.cpu_count() or 1, 4) if len(paths) >= POOL_FROM else 1)
    jobs = max(1, min(jobs, len(paths), 32))
    with collector_paused():
        if jobs == 1:
            done = [read_one(p) for p in paths]
        else:
            import multiprocessing

            _warm(paths)

            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            with multiprocessing.get_context(method).Pool(jobs) as pool:
                done = pool.map(read_one, paths, chunksize=max(1, len(paths) // (jobs * 8)))
    packs = [d for d in done if isinstance(d, PackData)]
    return packs, [d for d in done if isinstance(d, Skipped)]


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
        found = inspect(Pack.open(path))
        if found.errors:
            more = len(found.errors) - 1
            also = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
            return Skipped(str(path), f"{found.errors[0]}{also}; run rubrics verify")
        return _pack_data(read_record(found))
    except RubricsError as exc:
        return Skipped(str(path), " ".join(str(exc).split()))
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return Skipped(str(path), f"{exc.strerror or exc}{where}")


def _pack_data(record: PackRecord) -> PackData:
    pack = record.pack
    counted = record.effective
    rated = [Rated(e.ref, record.submissions[e.seq]) for e in counted]
    result = outcome(pack.loop, rated)
    level = None if result.level is None else result.level - (0.5 if result.below else 0)
    first = _first_returned(record.entries)
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


def _first_returned(entries: list[LogEntry]) -> dict[int, str]:
    """Log number -> the day its scorecard was first accepted (following amendments back)."""
    by_seq = {e.seq: e for e in entries}
    out = {}
    for e in entries:
        if e.kind != SUBMISSION:
            continue
        first = e
        while first.amends is not None and first.amends in by_seq:
            first = by_seq[first.amends]
        out[e.seq] = str(first.data.get("accepted_at") or "")[:10]
    return out
