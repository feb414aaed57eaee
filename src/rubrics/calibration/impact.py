"""Adverse impact, opt-in: selection rates by group at each stage and for the decision, the
impact ratio against the highest-rate group, and the four-fifths rule (29 CFR 1607.4(D)).

The groups file maps candidate ids to group labels. It is read here and never written
anywhere, least of all into a pack.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

from rubrics.calibration.agreement import r3
from rubrics.calibration.collect import PackData
from rubrics.calibration.selection import HIRE_SIDE, YES, LoopMeta, Seen
from rubrics.errors import InvalidInput, Problem, problem

FOUR_FIFTHS = Fraction(4, 5)
"""Compared exactly: (3/5) / (3/4) is 4/5, not flagged (in floating point it is 0.7999...)."""
MIN_GROUP_CANDIDATES = 30
"""Under this many candidates (at a stage, or decided) a group is too few to compare: its
rate, impact ratio and flag are not given (one candidate moves them a long way)."""
MIN_GROUP_SELECTED = 5
"""A comparable group with fewer selected is compared, with a caution."""
MIN_GROUP_SHOWN = 5
"""In a group too few to compare, counts under this are not shown either: with one or two
candidates a count ties a person's group to their outcome."""
_CANDIDATE = {"candidate id", "candidate", "candidateid", "id", "candidate ref"}
_GROUP = {"group", "group label", "label", "groups", "group name"}
Groups = dict[str, tuple[str, int]]
"""Candidate id -> (group label, line of the groups file)."""


def _header(cell: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", cell.strip().lstrip("\ufeff").casefold())).strip()


def read_groups(path: Path) -> Groups:
    """Candidate id -> (group, line) from a CSV with a candidate id and a group column
    (headers forgiving: ``candidate_id``, ``Candidate ID``, ``id``; ``group``, ``label``)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput([problem(path, f"not UTF-8 text (byte {exc.start})")]) from None
    rows = list(csv.reader(io.StringIO(text)))
    cand, group = _columns(path, rows[0] if rows else [])
    out: Groups = {}
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
    if not out:
        raise InvalidInput([problem(path, "no candidates: the file has a header and no rows")])
    return out


def _columns(path: Path, header_row: list[str]) -> tuple[int, int]:
    """The candidate id column and the group column: exactly one of each."""
    header = [_header(c) for c in header_row]
    cand = [i for i, h in enumerate(header) if h in _CANDIDATE]
    group = [i for i, h in enumerate(header) if h in _GROUP]
    if not cand or not group:
        found = ", ".join(repr(c) for c in header_row) if header_row else "nothing"
        raise InvalidInput([problem(path, "header: needs a candidate id column and a group "
                                    f"column (e.g. candidate_id,group); found {found}", 1)])
    twice = [(what, cols) for what, cols in (("candidate id", cand), ("group", group))
             if len(cols) > 1]
    if twice:
        raise InvalidInput([problem(path, f"header: {len(cols)} columns are read as the {what} "
                                    f"column ({', '.join(repr(header_row[i]) for i in cols)}): "
                                    "keep one", 1) for what, cols in twice])
    return cand[0], group[0]


def match_groups(path: Path, groups: Groups, known: set[str]) -> tuple[Groups, list[str]]:
    """The groups of the candidates read, and a line counting the ids of the file that no
    pack read has (an HR export covers more people than one role); none matching is
    refused."""
    matched = {cid: v for cid, v in groups.items() if cid in known}
    if not matched:
        raise InvalidInput([problem(path, f"none of its {len(groups)} candidate id"
                                    f"{'s' if len(groups) != 1 else ''} is the candidate id of "
                                    "a pack read")],
                           hint="the groups file names candidates by the candidate id of their "
                           "pack (rubrics pack --candidate-id)")
    ignored = len(groups) - len(matched)
    return matched, [f"{ignored} candidate{'s' if ignored != 1 else ''} in {path.name} "
                     f"{'are' if ignored != 1 else 'is'} not in these packs; ignored"
                     ] if ignored else []


def group_figures(seen: list[Seen], groups: Groups, meta: LoopMeta, source: Path
                  ) -> dict[str, Any]:
    """Selection rates by group: at each stage, and for the decision."""
    chosen = {s.pack.path: s.pack for s in seen}
    group_of = {p.path: groups[p.candidate_id][0] for p in chosen.values()
                if p.candidate_id in groups}
    warnings = []
    outside = len(chosen) - len(group_of)
    if outside:
        warnings.append(f"{outside} candidate{'s are' if outside != 1 else ' is'} in no group "
                        f"of {source.name}: left out of the group figures")
    stages: list[dict[str, Any]] = []
    for stage in meta.stages:
        passed = _stage_outcomes(seen, stage)
        stages.append({"id": stage, "rates": _rates({p: v for p, v in passed.items()
                                                     if p in group_of}, group_of)})
    decided = {p: _selected(chosen[p]) for p in group_of}
    rates = _rates({p: v[0] for p, v in decided.items() if v is not None}, group_of, every=True)
    for r in rates:
        undecided = sum(1 for p, g in group_of.items() if g == r["group"] and decided[p] is None)
        r["undecided"] = _shown(undecided, r["comparable"])
    sources = Counter("undecided" if v is None else v[1] for v in decided.values())
    decision = {"rates": rates, "from_panel": sources["panel"], "from_rule": sources["rule"],
                "undecided": sources["undecided"]}
    warnings += _cautions([*[(f"stage {s['id']}", s["rates"]) for s in stages],
                           ("the decision", rates)])
    return {"stages": stages, "decision": decision, "warnings": warnings}


def _stage_outcomes(seen: list[Seen], stage: str) -> dict[str, bool]:
    """Candidate -> passed the stage: more than half of its scorecards there say yes."""
    votes: dict[str, list[bool]] = defaultdict(list)
    for s in seen:
        if s.card.stage == stage:
            votes[s.pack.path].append(s.card.recommendation in YES)
    return {p: 2 * sum(v) > len(v) for p, v in votes.items()}


def _selected(pack: PackData) -> tuple[bool, str] | None:
    """Selected or not, and by whom: the panel's recorded decision if any, else the rule's;
    None while neither decides."""
    if pack.panel_decision is not None:
        return pack.panel_decision == "hire", "panel"
    if pack.decision in HIRE_SIDE or pack.decision == "no_hire":
        return pack.decision in HIRE_SIDE, "rule"
    return None


def _shown(count: int, comparable: bool) -> int | None:
    """A count as the report may show it: in a group too few to compare, not under 5."""
    return count if comparable or count >= MIN_GROUP_SHOWN else None


def _rates(outcomes: dict[str, bool], group_of: dict[str, str], *, every: bool = False
           ) -> list[dict[str, Any]]:
    """Every group's rate against the highest rate of the groups large enough to compare;
    a group too few to compare gets its count only (none under ``MIN_GROUP_SHOWN``). None
    where no candidate of any group is counted, unless ``every``."""
    if not outcomes and not every:
        return []
    tally: dict[str, list[int]] = {g: [0, 0] for g in group_of.values()}
    for pack, chosen in outcomes.items():
        t = tally[group_of[pack]]
        t[0] += chosen
        t[1] += 1
    comparable = {g: Fraction(s, n) for g, (s, n) in tally.items() if n >= MIN_GROUP_CANDIDATES}
    top = max(comparable.values(), default=Fraction(0))
    out = []
    for group in sorted(tally):
        selected, total = tally[group]
        rate = comparable.get(group)
        ratio = rate / top if rate is not None and top and len(comparable) > 1 else None
        out.append({"group": group, "comparable": rate is not None,
                    "selected": selected if rate is not None else None,
                    "total": _shown(total, rate is not None),
                    "rate": r3(float(rate)) if rate is not None else None,
                    "impact_ratio": r3(float(ratio)) if ratio is not None else None,
                    "flag": None if ratio is None else ratio < FOUR_FIFTHS})
    return out


def _cautions(scopes: list[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """One line for the groups too few to compare, one for the scopes without a ratio,
    one for the comparable groups with few selected (never a line per cell)."""
    few = sorted({r["group"] for _, rates in scopes for r in rates if not r["comparable"]})
    bare = [where for where, rates in scopes if rates and all(r["impact_ratio"] is None
                                                              for r in rates)]
    thin = sorted({r["group"] for _, rates in scopes for r in rates
                   if r["comparable"] and r["selected"] < MIN_GROUP_SELECTED})
    out = []
    if few:
        out.append(f"{len(few)} group{'s' if len(few) != 1 else ''} ({_listed(few)}) "
                   f"{'have' if len(few) != 1 else 'has'} fewer than {MIN_GROUP_CANDIDATES} "
                   "candidates at one stage or more, or for the decision: there shown as too "
                   f"few to compare (no rate, ratio or flag; counts under {MIN_GROUP_SHOWN} "
                   "not shown)")
    if bare:
        where = ("any stage or for the decision" if len(bare) == sum(1 for _, r in scopes if r)
                 else _listed(bare, quote=False))
        out.append(f"no impact ratio for {where}: fewer than two groups "
                   f"with {MIN_GROUP_CANDIDATES} candidates or more, or no one selected")
    if thin:
        out.append(f"group{'s' if len(thin) != 1 else ''} {_listed(thin)}: fewer than "
                   f"{MIN_GROUP_SELECTED} selected at one stage or more, or for the decision: "
                   "one selection more or less moves the ratio a long way")
    return out


def _listed(items: list[str], quote: bool = True, most: int = 8) -> str:
    shown = [f"'{i}'" if quote else i for i in items[:most]]
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(shown) + more
