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
from rubrics.calibration.collect import PackData, expand, one_copy_each, read_packs
from rubrics.calibration.criteria import Table, criterion_figures, topic_figures
from rubrics.calibration.impact import (
    MIN_GROUP_CANDIDATES,
    MIN_GROUP_SELECTED,
    MIN_GROUP_SHOWN,
    Groups,
    group_figures,
    match_groups,
    read_groups,
)
from rubrics.calibration.interviewers import MIN_LENIENCY_CANDIDATES, interviewer_figures
from rubrics.calibration.selection import LoopMeta, People, Seen, seen_of
from rubrics.calibration.stages import stage_figures
from rubrics.errors import InvalidInput, problem
from rubrics.packdir import Pack

FORMAT = "rubrics-calibration/1"
__all__ = ["FORMAT", "calibrate", "check_out", "summarise"]


def calibrate(pack_dirs: list[Path], *, since: date | None = None, role: str | None = None,
              groups: Path | None = None, jobs: int | None = None) -> dict[str, Any]:
    """The calibration figures over the packs in ``pack_dirs`` (packs, or folders of packs)."""
    mapping = read_groups(groups) if groups is not None else None
    found = expand(pack_dirs)
    read, skipped = read_packs(found.packs, jobs)
    packs, copies, warnings = one_copy_each(read)
    skipped = found.skipped + skipped + copies
    if not packs:
        raise InvalidInput([problem(s.path, s.reason) for s in skipped]
                           or [problem("PACK_DIR", "no pack given")])
    chosen, role_id = _one_role(packs, role)
    meta = LoopMeta()
    firsts: dict[tuple[str, str], PackData] = {}
    for pack in chosen:
        firsts.setdefault(pack.snapshot, pack)
    for first in firsts.values():  # (each snapshot of the role once: its criteria's texts)
        meta.add(Pack.open(Path(first.path)).loop)
    matched = None
    if mapping is not None and groups is not None:
        matched = match_groups(groups, mapping, {p.candidate_id for p in chosen
                                                 if p.candidate_id})
    found_figures = summarise(chosen, meta, since=since,
                              groups=(matched[0], groups) if matched and groups else None)
    if matched is not None and "groups" in found_figures:
        found_figures["groups"]["warnings"][:0] = matched[1]
    return {
        "format": FORMAT, "role": role_id, "role_title": meta.role_title,
        "since": since.isoformat() if since else None,
        "packs": {"read": len(chosen), "with_scorecards": found_figures.pop("with_scorecards"),
                  "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
                  "other_roles": len(packs) - len(chosen)},
        "warnings": warnings + found_figures.pop("warnings"),
        "minimums": {"leniency_candidates": MIN_LENIENCY_CANDIDATES,
                     "alpha_units": MIN_ALPHA_UNITS, "correlation_n": MIN_CORRELATION_N,
                     "group_candidates": MIN_GROUP_CANDIDATES,
                     "group_selected": MIN_GROUP_SELECTED, "group_shown": MIN_GROUP_SHOWN},
        **found_figures,
    }


def check_out(out: Path, pack_dirs: list[Path], groups: Path | None) -> None:
    """Refuse an ``--out`` that would replace an input (a pack argument or the groups file),
    land inside a pack folder to be read, or need a folder that does not exist."""
    from rubrics.panel import check_out as not_a_pack_file

    not_a_pack_file(out)
    target = out.resolve()
    if not target.parent.is_dir():
        raise InvalidInput([problem(out, f"the folder {out.parent} does not exist: create it "
                                    "first, or write the report elsewhere")])
    inputs = [*pack_dirs, *([groups] if groups is not None else [])]
    if any(target == p.resolve() for p in inputs):
        raise InvalidInput([problem(out, "is one of the inputs (a pack or the groups file): "
                                    "write the report elsewhere")])
    for pack in expand(pack_dirs).packs:
        if pack.resolve() in target.parents:
            raise InvalidInput([problem(out, f"is inside the pack {pack}: calibration writes "
                                        "nothing into packs; write the report elsewhere")])


def summarise(packs: list[PackData], meta: LoopMeta, *, since: date | None = None,
              groups: tuple[Groups, Path] | None = None) -> dict[str, Any]:
    """The figures over the scorecards of ``packs`` (all of one role) interviewed on or
    after ``since``: overall, by month when they span more than one, and by group."""
    who = People.of(packs)
    seen = seen_of(packs, who, since.isoformat() if since else None)
    if since is not None and not seen and any(p.cards for p in packs):
        latest = max(c.interview_date for p in packs for c in p.cards)
        raise InvalidInput([problem("--since", f"no scorecard on or after {since.isoformat()} "
                                    f"(the latest interview read is on {latest})")])
    data: dict[str, Any] = {"with_scorecards": len({s.pack.path for s in seen}),
                            "warnings": who.merged(), **figures(seen, who, meta)}
    months = sorted({s.card.interview_date[:7] for s in seen})
    if len(months) > 1:
        data["months"] = [{"month": m, **figures([s for s in seen
                                                  if s.card.interview_date[:7] == m], who, meta)}
                          for m in months]
    if groups is not None:
        data["groups"] = group_figures(seen, groups[0], meta, groups[1])
    return data


def figures(seen: list[Seen], who: People, meta: LoopMeta) -> dict[str, Any]:
    """The interviewer, criterion, topic and stage figures over ``seen``."""
    table = Table(seen)
    interviewers = interviewer_figures(seen, who)
    for row in interviewers:
        row["emails"] = who.all_emails.get(row["id"], [])
    return {"interviewers": interviewers,
            "criteria": criterion_figures(table, meta),
            "topics": topic_figures(table, meta),
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
