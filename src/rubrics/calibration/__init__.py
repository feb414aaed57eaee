"""Calibration across candidates: how each interviewer rates, how far interviewers agree,
which criteria work, each stage's pass-through, drift by month, and (opt-in) adverse
impact by group.

Reads only packs ``verify`` accepts (others are listed as skipped, with why), counts the
submissions aggregation counts, identifies interviewers as aggregation does, and takes
each candidate's outcome from the mechanical rule. What each figure means and where it
stops meaning anything: docs/calibration.md.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from rubrics.calibration.agreement import MIN_ALPHA_UNITS, MIN_CORRELATION_N
from rubrics.calibration.collect import PackData, expand, read_packs
from rubrics.calibration.criteria import Table, criterion_figures, topic_figures
from rubrics.calibration.impact import (
    MIN_GROUP_CANDIDATES,
    MIN_GROUP_SELECTED,
    group_figures,
    read_groups,
    unknown_ids,
)
from rubrics.calibration.interviewers import MIN_LENIENCY_CANDIDATES, interviewer_figures
from rubrics.calibration.selection import LoopMeta, People, Seen, seen_of
from rubrics.calibration.stages import stage_figures
from rubrics.errors import InvalidInput, problem
from rubrics.packdir import Pack

FORMAT = "rubrics-calibration/1"
__all__ = ["FORMAT", "calibrate", "summarise"]


def calibrate(pack_dirs: list[Path], *, since: date | None = None, role: str | None = None,
              groups: Path | None = None, jobs: int | None = None) -> dict[str, Any]:
    """The calibration figures over the packs in ``pack_dirs`` (packs, or folders of packs)."""
    mapping = read_groups(groups) if groups is not None else None
    packs, skipped = read_packs(expand(pack_dirs), jobs)
    if not packs:
        raise InvalidInput([problem(s.path, s.reason) for s in skipped]
                           or [problem("PACK_DIR", "no pack given")])
    if mapping is not None and groups is not None:
        unknown = unknown_ids(groups, mapping, {p.candidate_id for p in packs if p.candidate_id})
        if unknown:
            raise InvalidInput(unknown, hint="the groups file names candidates by the "
                               "candidate id of their pack (rubrics pack --candidate-id)")
    chosen, role_id = _one_role(packs, role)
    meta = LoopMeta()
    firsts: dict[tuple[str, str], PackData] = {}
    for pack in chosen:
        firsts.setdefault(pack.snapshot, pack)
    for first in firsts.values():  # (each snapshot of the role once: its criteria's texts)
        meta.add(Pack.open(Path(first.path)).loop)
    found = summarise(chosen, meta, since=since,
                      groups=(mapping, groups) if mapping is not None and groups else None)
    return {
        "format": FORMAT, "role": role_id, "role_title": meta.role_title,
        "since": since.isoformat() if since else None,
        "packs": {"read": len(chosen), "with_scorecards": found.pop("with_scorecards"),
                  "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
                  "other_roles": len(packs) - len(chosen)},
        "minimums": {"leniency_candidates": MIN_LENIENCY_CANDIDATES,
                     "alpha_units": MIN_ALPHA_UNITS, "correlation_n": MIN_CORRELATION_N,
                     "group_candidates": MIN_GROUP_CANDIDATES,
                     "group_selected": MIN_GROUP_SELECTED},
        **found,
    }


def summarise(packs: list[PackData], meta: LoopMeta, *, since: date | None = None,
              groups: tuple[dict[str, tuple[str, int]], Path] | None = None) -> dict[str, Any]:
    """The figures over the scorecards of ``packs`` (all of one role) interviewed on or
    after ``since``: overall, by month when they span more than one, and by group."""
    who = People.of(packs)
    seen = seen_of(packs, who, since.isoformat() if since else None)
    data: dict[str, Any] = {"with_scorecards": len({s.pack.path for s in seen}),
                            **figures(seen, who, meta)}
    months = sorted({s.card.interview_date[:7] for s in seen})
    if len(months) > 1:
        data["months"] = [{"month": m, **figures([s for s in seen
                                                  if s.card.interview_date[:7] == m], who, meta)}
                          for m in months]
    if groups is not None:
        data["groups"] = group_figures(seen, packs, groups[0], meta, groups[1])
    return data


def figures(seen: list[Seen], who: People, meta: LoopMeta) -> dict[str, Any]:
    """The interviewer, criterion, topic and stage figures over ``seen``."""
    table = Table(seen)
    return {"interviewers": interviewer_figures(seen, who, meta),
            "criteria": criterion_figures(seen, meta, table),
            "topics": topic_figures(seen, meta, table),
            "stages": stage_figures(seen, meta)}


def _one_role(packs: list[PackData], role: str | None) -> tuple[list[PackData], str]:
    """The packs of ``role``, or of the only role read: criteria of two roles never mix."""
    roles = Counter(p.role_id for p in packs)
    listed = ", ".join(f"{r} ({n} pack{'s' if n != 1 else ''})" for r, n in sorted(roles.items()))
    if role is not None:
        if role not in roles:
            raise InvalidInput([problem("--role", f"no pack read is of role '{role}' "
                                        f"(roles read: {listed})")])
        return [p for p in packs if p.role_id == role], role
    if len(roles) > 1:
        raise InvalidInput([problem("--role", f"the packs are of {len(roles)} roles, whose "
                                    f"criteria are not comparable: {listed}")],
                           hint="calibrate one role at a time with --role ID")
    return packs, next(iter(roles))
