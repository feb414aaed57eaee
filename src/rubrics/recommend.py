"""A pack's recommendation as the panel reads it.

The rule (:mod:`rubrics.aggregation`) applied to the submissions that count, plus what
the pack's log adds: every amendment (with its reason, time, what it changed, and
whether the amendments changed the outcome) and the panel's recorded decision.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from rubrics.aggregation import Rated, aggregate
from rubrics.aggregation.flags import INFO, Flag
from rubrics.log import LogEntry
from rubrics.packdir import Pack
from rubrics.verify import PackRecord, load_record

T = TypeVar("T")
R = TypeVar("R")


def recommend_pack(pack_dir: Path) -> dict[str, Any]:
    """The level recommendation for the pack in ``pack_dir``, with its history."""
    return recommend(load_record(Pack.open(pack_dir)))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector while building many large, acyclic results."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


POOL_FROM = 32
"""From this many packs on, reading them is spread over worker processes."""


def map_packs(read: Callable[[T], R], items: list[T], jobs: int | None = None, *,
              before_pool: Callable[[], None] | None = None) -> list[R]:
    """``read`` of each item, in order: in worker processes (``jobs``, else up to 4 from
    ``POOL_FROM`` items, forked where the system can) with the cycle collector paused, as
    results of many packs are large and acyclic; ``before_pool`` runs first, in the
    parent, so that workers inherit what it loads."""
    jobs = jobs or (min(os.cpu_count() or 1, 4) if len(items) >= POOL_FROM else 1)
    jobs = max(1, min(jobs, len(items), 32))
    with collector_paused():
        if jobs == 1:
            return [read(item) for item in items]
        import multiprocessing

        if before_pool is not None:
            before_pool()
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with multiprocessing.get_context(method).Pool(jobs) as pool:
            return pool.map(read, items, chunksize=max(1, len(items) // (jobs * 8)))


def recommend(record: PackRecord) -> dict[str, Any]:
    from rubrics.debrief import panel_view

    pack = record.pack
    counted = record.effective
    result = aggregate(pack.loop, [Rated(e.ref, record.submissions[e.seq]) for e in counted],
                       pack_id=pack.pack_id, candidate=pack.candidate)
    if record.amendments:
        result["amendments"] = [_amendment(record, e) for e in record.amendments]
        _compare_with_originals(record, result)
    result["panel_decision"] = panel_view(record, result)
    return result


def _amendment(record: PackRecord, entry: LogEntry) -> dict[str, Any]:
    assert entry.amends is not None
    new, old = record.submissions[entry.seq], record.submissions[entry.amends]
    changes = [{"criterion": cid, "from": old.ratings.get(cid), "to": new.ratings.get(cid)}
               for cid in sorted(set(old.ratings) | set(new.ratings))
               if old.ratings.get(cid) != new.ratings.get(cid)]
    out: dict[str, Any] = {
        "submission": entry.ref, "amends": f"{entry.amends:04d}", "stage": entry.stage,
        "interviewer": entry.interviewer, "previous_interviewer": old.interviewer,
        "reason": entry.data.get("reason"), "accepted_at": entry.data.get("accepted_at"),
        "rating_changes": changes,
        "evidence_changed": old.evidence != new.evidence,
        "recommendation": None if old.recommendation == new.recommendation else
        {"from": old.recommendation.value, "to": new.recommendation.value},
    }
    return out


def _originals(record: PackRecord) -> list[Rated]:
    """The counted submissions as first returned, before any amendment."""
    firsts = [record.first_of(entry) for entry in record.effective]
    return [Rated(first.ref, record.submissions[first.seq]) for first in firsts]


def _compare_with_originals(record: PackRecord, result: dict[str, Any]) -> None:
    """Flag amendments that changed the outcome: the panel must see what they moved."""
    pack = record.pack
    before = aggregate(pack.loop, _originals(record), pack_id=pack.pack_id,
                       candidate=pack.candidate)
    shown = _said(before), _said(result)
    result["before_amendments"] = {"decision": before["decision"],
                                   "recommended_level": before["recommended_level"],
                                   "recommended_below": before["recommended_below"],
                                   "sub_level": before["sub_level"]}
    if shown[0] == shown[1]:
        return
    refs = ", ".join(a["submission"] for a in result["amendments"])
    flag = Flag("amended_outcome", refs,
                f"the amendments ({refs}) changed the recommendation: as first returned the "
                f"scorecards gave {shown[0]}; amended they give {shown[1]}", INFO,
                {"before": shown[0], "after": shown[1]}, scope=pack.pack_id)
    result["flags"].append(flag.to_json(False))


def _said(r: dict[str, Any]) -> str:
    level = r["recommended_level"]
    if level is None:
        return str(r["decision"]).replace("_", " ")
    at = f"below level {level}" if r["recommended_below"] else f"level {level}{r['sub_level'] or ''}"
    return f"{r['decision'].replace('_', ' ')} at {at}"

