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
        for s in seen:
            self.levels[s.pack.path] = s.pack.level
            for cid, value in s.card.ratings.items():
                self.values[cid].setdefault(s.pack.path, {}).setdefault(s.person, value)
                self.asked[cid] += 1
            for cid in s.card.unrated:
                self.asked[cid] += 1
                self.unrated[cid] += 1

    def units(self, cids: list[str]) -> list[list[int]]:
        return [list(raters.values()) for cid in cids for raters in self.values[cid].values()]

    def correlation(self, cids: list[str]) -> tuple[float | None, int]:
        """Spearman's rho between a candidate's mean rating of ``cids`` and their recommended
        overall level, and over how many candidates."""
        per_pack: dict[str, list[int]] = defaultdict(list)
        for cid in cids:
            for pack, raters in self.values[cid].items():
                per_pack[pack].extend(raters.values())
        xs, ys = [], []
        for pack, values in per_pack.items():
            level = self.levels.get(pack)
            if level is not None:
                xs.append(sum(values) / len(values))
                ys.append(level)
        return spearman(xs, ys), len(xs)


def criterion_figures(seen: list[Seen], meta: LoopMeta, table: Table | None = None
                      ) -> list[dict[str, Any]]:
    table = table or Table(seen)
    out = []
    for cid, (topic, text) in meta.criteria.items():
        units = [u for u in table.units([cid]) if len(u) >= 2]
        ratings = [v for raters in table.values[cid].values() for v in raters.values()]
        rho, n = table.correlation([cid])
        out.append({"id": cid, "topic": topic, "text": text, "alpha": alpha(units),
                    "units": len(units), "pairable": sum(len(u) for u in units),
                    "unassessed_share": share(table.unrated[cid], table.asked[cid]),
                    "ratings": distribution(Counter(ratings)), "sd": r3(sd(ratings)),
                    "level_correlation": rho, "level_correlation_n": n})
    return out


def topic_figures(seen: list[Seen], meta: LoopMeta, table: Table | None = None
                  ) -> list[dict[str, Any]]:
    """Per topic, its criteria pooled: each (candidate, criterion) is one unit of alpha."""
    table = table or Table(seen)
    out = []
    for topic, title in meta.topics.items():
        cids = meta.topic_criteria(topic)
        units = [u for u in table.units(cids) if len(u) >= 2]
        rho, n = table.correlation(cids)
        out.append({"id": topic, "title": title, "alpha": alpha(units), "units": len(units),
                    "pairable": sum(len(u) for u in units),
                    "unassessed_share": share(sum(table.unrated[c] for c in cids),
                                              sum(table.asked[c] for c in cids)),
                    "level_correlation": rho, "level_correlation_n": n})
    return out
