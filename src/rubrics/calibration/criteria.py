"""Per criterion and per topic: agreement, how often left unassessed, spread, and whether the
ratings go with the candidate's overall level."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rubrics.calibration.agreement import alpha, r3, sd, share, spearman
from rubrics.calibration.interviewers import distribution
from rubrics.calibration.selection import LoopMeta, Seen


class Table:
    """The ratings of ``seen`` by criterion: per candidate, one value per interviewer."""

    def __init__(self, seen: list[Seen]) -> None:
        self.values: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        """Criterion -> candidate (pack path) -> person -> rating (their first, in stage
        order, should one person rate a criterion in two stages)."""
        self.asked: Counter[str] = Counter()
        self.unrated: Counter[str] = Counter()
        self.levels: dict[str, float | None] = {}
        self._sums: dict[str, dict[str, tuple[int, int]]] = {}
        for s in seen:
            self.levels[s.pack.path] = s.pack.level
            for cid, value in s.card.ratings.items():
                self.values[cid].setdefault(s.pack.path, {}).setdefault(s.person, value)
            self.asked.update(s.card.ratings)
            self.asked.update(s.card.unrated)
            self.unrated.update(s.card.unrated)

    def sums(self, cid: str) -> dict[str, tuple[int, int]]:
        """Candidate -> the sum and number of the ratings of ``cid``."""
        if cid not in self._sums:
            self._sums[cid] = {pack: (sum(raters.values()), len(raters))
                               for pack, raters in self.values[cid].items()}
        return self._sums[cid]

    def units(self, cids: list[str]) -> list[list[int]]:
        """The values of each (candidate, criterion) that two interviewers or more rated."""
        return [list(raters.values()) for cid in cids for raters in self.values[cid].values()
                if len(raters) >= 2]

    def correlation(self, cids: list[str]) -> tuple[float | None, int]:
        """Spearman's rho between a candidate's mean rating of ``cids`` and their recommended
        overall level, and over how many candidates."""
        sums = [self.sums(cid) for cid in cids]
        totals: dict[str, tuple[int, int]] = sums[0] if len(sums) == 1 else {}
        for one in sums if len(sums) > 1 else []:
            for pack, (total, n) in one.items():
                before = totals.get(pack, (0, 0))
                totals[pack] = (before[0] + total, before[1] + n)
        xs, ys = [], []
        for pack, (total, n) in totals.items():
            level = self.levels[pack]
            if level is not None:
                xs.append(total / n)
                ys.append(level)
        return spearman(xs, ys), len(xs)


def criterion_figures(table: Table, meta: LoopMeta) -> list[dict[str, Any]]:
    out = []
    for cid, (topic, text) in meta.criteria.items():
        units = table.units([cid])
        ratings = [v for raters in table.values[cid].values() for v in raters.values()]
        rho, n = table.correlation([cid])
        out.append({"id": cid, "topic": topic, "text": text, "alpha": alpha(units),
                    "units": len(units), "pairable": sum(len(u) for u in units),
                    "unassessed_share": share(table.unrated[cid], table.asked[cid]),
                    "ratings": distribution(Counter(ratings)), "sd": r3(sd(ratings)),
                    "level_correlation": rho, "level_correlation_n": n})
    return out


def topic_figures(table: Table, meta: LoopMeta) -> list[dict[str, Any]]:
    """Per topic, its criteria pooled: each (candidate, criterion) is one unit of alpha, so
    only ratings of the same criterion are compared (never one stage's criterion with
    another's: a mean over criteria of different levels would mix difficulty into
    disagreement)."""
    out = []
    for topic, title in meta.topics.items():
        cids = meta.topic_criteria(topic)
        units = table.units(cids)
        rho, n = table.correlation(cids)
        out.append({"id": topic, "title": title, "alpha": alpha(units), "units": len(units),
                    "pairable": sum(len(u) for u in units),
                    "unassessed_share": share(sum(table.unrated[c] for c in cids),
                                              sum(table.asked[c] for c in cids)),
                    "level_correlation": rho, "level_correlation_n": n})
    return out
