"""Adverse impact, opt-in: selection rates by group at each stage and for the decision, the
impact ratio against the highest-rate group, and the four-fifths rule (29 CFR 1607.4(D)).

The groups file maps candidate ids to group labels. It is read here and never written
anywhere, least of all into a pack.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from rubrics.calibration.agreement import r3
from rubrics.calibration.collect import PackData
from rubrics.calibration.selection import HIRE_SIDE, YES, LoopMeta, Seen
from rubrics.errors import InvalidInput, Problem, problem

FOUR_FIFTHS = 0.8
MIN_GROUP_CANDIDATES = 30
MIN_GROUP_SELECTED = 5
"""Under these a group's rate moves a lot with one candidate: the ratio means little."""
_CANDIDATE = {"candidate id", "candidate", "candidateid", "id", "candidate ref"}
_GROUP = {"group", "group label", "label", "groups", "group name"}


def _header(cell: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", cell.strip().lstrip("\ufeff").casefold())).strip()


def read_groups(path: Path) -> dict[str, tuple[str, int]]:
    """Candidate id -> (group, line) from a CSV with a candidate id and a group column
    (headers forgiving: ``candidate_id``, ``Candidate ID``, ``id``; ``group``, ``label``)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput([problem(path, f"not UTF-8 text (byte {exc.start})")]) from None
    rows = list(csv.reader(io.StringIO(text)))
    header = [_header(c) for c in rows[0]] if rows else []
    cand = next((i for i, h in enumerate(header) if h in _CANDIDATE), None)
    group = next((i for i, h in enumerate(header) if h in _GROUP), None)
    if cand is None or group is None:
        found = ", ".join(repr(c) for c in rows[0]) if rows else "nothing"
        raise InvalidInput([problem(path, "header: needs a candidate id column and a group "
                                    f"column (e.g. candidate_id,group); found {found}", 1)])
    out: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        cid = row[cand].strip() if cand < len(row) else ""
        label = row[group].strip() if group < len(row) else ""
        if not cid or not label:
            problems.append(problem(path, f"{'candidate id' if not cid else 'group'}: empty", line))
        elif cid in out and out[cid][0] != label:
            problems.append(problem(path, f"candidate id '{cid}': in group '{out[cid][0]}' on "
                                    f"line {out[cid][1]} and '{label}' here", line))
        else:
            out.setdefault(cid, (label, line))
    if problems:
        raise InvalidInput(problems)
    return out


def unknown_ids(path: Path, groups: dict[str, tuple[str, int]], known: set[str]
                ) -> list[Problem]:
    return [problem(path, f"candidate id '{cid}': no pack read has this candidate id", line)
            for cid, (_, line) in groups.items() if cid not in known]


def group_figures(seen: list[Seen], packs: list[PackData], groups: dict[str, tuple[str, int]],
                  meta: LoopMeta, source: Path) -> dict[str, Any]:
    """Selection rates by group: at each stage, and for the decision."""
    chosen = {s.pack.path: s.pack for s in seen}
    group_of = {p.path: groups[p.candidate_id][0] for p in chosen.values()
                if p.candidate_id in groups}
    warnings = []
    outside = len(chosen) - len(group_of)
    if outside:
        warnings.append(f"{outside} candidate{'s are' if outside != 1 else ' is'} in no group "
                        f"of {source.name}: left out of the group figures")
    stages = []
    for stage in meta.stages:
        passed = _stage_outcomes(seen, stage)
        rates = _rates({p: v for p, v in passed.items() if p in group_of}, group_of)
        warnings += _small(rates, f"stage {stage}")
        stages.append({"id": stage, "rates": rates})
    decided = {p: v for p, v in ((p, _selected(chosen[p])) for p in group_of) if v is not None}
    rates = _rates(decided, group_of)
    for r in rates:
        r["undecided"] = sum(1 for p, g in group_of.items() if g == r["group"] and p not in decided)
    warnings += _small(rates, "the decision")
    return {"stages": stages, "decision": {"rates": rates}, "warnings": warnings}


def _stage_outcomes(seen: list[Seen], stage: str) -> dict[str, bool]:
    """Candidate -> passed the stage: more than half of its scorecards there say yes."""
    votes: dict[str, list[bool]] = defaultdict(list)
    for s in seen:
        if s.card.stage == stage:
            votes[s.pack.path].append(s.card.recommendation in YES)
    return {p: 2 * sum(v) > len(v) for p, v in votes.items()}


def _selected(pack: PackData) -> bool | None:
    """The panel's recorded decision if any, else the rule's; None while neither decides."""
    if pack.panel_decision is not None:
        return pack.panel_decision == "hire"
    if pack.decision in HIRE_SIDE or pack.decision == "no_hire":
        return pack.decision in HIRE_SIDE
    return None


def _rates(outcomes: dict[str, bool], group_of: dict[str, str]) -> list[dict[str, Any]]:
    """Every group's rate (null for a group with no candidate here) against the highest."""
    tally: dict[str, list[int]] = {g: [0, 0] for g in group_of.values()}
    for pack, chosen in outcomes.items():
        t = tally[group_of[pack]]
        t[0] += chosen
        t[1] += 1
    top = max((s / n for s, n in tally.values() if n), default=0)
    out = []
    for group in sorted(tally):
        selected, total = tally[group]
        ratio = (selected / total) / top if top and total else None
        out.append({"group": group, "selected": selected, "total": total,
                    "rate": r3(selected / total) if total else None, "impact_ratio": r3(ratio),
                    "flag": ratio is not None and ratio < FOUR_FIFTHS})
    return out


def _small(rates: list[dict[str, Any]], where: str) -> list[str]:
    out = []
    for r in rates:
        short = [f"fewer than {MIN_GROUP_CANDIDATES} candidates"
                 if r["total"] < MIN_GROUP_CANDIDATES else "",
                 f"fewer than {MIN_GROUP_SELECTED} selected"
                 if r["selected"] < MIN_GROUP_SELECTED else ""]
        if any(short):
            out.append(f"{where}: group '{r['group']}' has {r['total']} candidate"
                       f"{'s' if r['total'] != 1 else ''} and {r['selected']} selected "
                       f"({' and '.join(x for x in short if x)}): its impact ratio means "
                       "little")
    return out
