"""Steps 3-7 of the rule: criterion scores, levels passed, topic levels, overall level.

Everything here is integer arithmetic on sums and counts of ratings, so it is exact and
cheap enough to recompute for every "what if" question the later steps ask (the margin,
and whether resolving a disagreement could change the outcome).

- A criterion is **shown** when its ratings average at least ``demonstrated_at``.
- A level of a topic **passes** when all the ratings given to that level's criteria
  average at least ``demonstrated_at`` (a 4 can make up for a 2 beside it, a 3 cannot
  make up for a 1).
- A topic's **ladder** is the levels at which it was rated. Its level is the k-th rung,
  where k is the number of rungs passed (a Guttman score): never a level that was not
  rated, and one rating moves it at most one rung. With no rung passed it is *below*
  its lowest rung and counts as the topic's floor: the level below the lowest level at
  which the loop assesses that topic. So does a weighted topic nobody rated (absence is
  not evidence). A floor is below every level the topic can reach, so it can only pull
  the overall level down, and more evidence can only raise it.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from rubrics.aggregation.evidence import Evidence, Rating

Tally = tuple[int, int]  # (sum of ratings, number of ratings)


@dataclass(frozen=True)
class TopicLevel:
    level: int
    """The topic's level; with ``below``, the lowest rung it failed to reach."""
    below: bool
    value: int
    """What the topic counts as in the overall level."""
    ladder: tuple[int, ...]
    passed: tuple[int, ...]

    @property
    def consistent(self) -> bool:
        """Whether every level passed sits below every level failed, as the framework's
        cumulative levels expect (a failed level under a passed one contradicts itself)."""
        failed = [lv for lv in self.ladder if lv not in self.passed]
        return not (failed and self.passed and min(failed) < max(self.passed))


@dataclass(frozen=True)
class Overall:
    level: int | None
    below: bool
    rounded: int | None
    """The rounded weighted mean: what the band is compared with."""
    weighted_mean: Fraction | None


@dataclass(frozen=True)
class Scale:
    """What does not depend on the ratings: weights and floors of the loop's topics."""

    weights: dict[str, Fraction]
    int_weights: dict[str, int]
    """The weights scaled to a common denominator: integer arithmetic for the what-ifs."""
    floors: dict[str, int]
    """Topic id -> the level below the lowest level at which the loop assesses it."""
    floor: int
    """The level below the lowest level the loop assesses at all."""
    lo: int
    hi: int

    @classmethod
    def of(cls, ev: Evidence) -> Scale:
        found = ev.loop.memo.get("scale")
        if not isinstance(found, Scale):
            found = ev.loop.memo["scale"] = cls._build(ev)
        return found

    @classmethod
    def _build(cls, ev: Evidence) -> Scale:
        loop = ev.loop
        lowest: dict[str, int] = {}
        for stage in loop.role.stages:
            for cid in stage.assesses:
                if cid in loop.criteria:
                    area, crit = loop.criteria[cid]
                    lowest[area.id] = min(lowest.get(area.id, crit.level), crit.level)
        floors = {a: lv - 1 for a, lv in lowest.items()}
        floor = min(floors.values(), default=loop.framework.min_level - 1)
        weights = weights_of(ev)
        common = math.lcm(*(w.denominator for w in weights.values())) if weights else 1
        return cls(weights, {a: int(w * common) for a, w in weights.items()}, floors, floor,
                   loop.framework.min_level, loop.framework.max_level)

    def floor_of(self, area_id: str) -> int:
        return self.floors.get(area_id, self.floor)


def criterion_tallies(ratings: dict[str, list[Rating]]) -> dict[str, Tally]:
    return {cid: (sum(r.value for r in rs), len(rs)) for cid, rs in ratings.items() if rs}


def level_tallies(evidence: Evidence, tallies: dict[str, Tally]) -> dict[str, dict[int, Tally]]:
    """Area id -> level -> the tally of every rating given at that level of that area."""
    out: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for cid, (total, count) in tallies.items():
        area, crit = evidence.loop.criteria[cid]
        slot = out[area.id][crit.level]
        slot[0] += total
        slot[1] += count
    return {a: {lv: (t[0], t[1]) for lv, t in by.items()} for a, by in out.items()}


def topic_level(levels: dict[int, Tally], evidence: Evidence, floor: int) -> TopicLevel:
    ladder = tuple(sorted(levels))
    passed = tuple(lv for lv in ladder if evidence.shown(*levels[lv]))
    return place(ladder, len(passed), passed, floor)


def place(ladder: tuple[int, ...], k: int, passed: tuple[int, ...], floor: int) -> TopicLevel:
    """The k-th rung of the ladder, or below its first rung when k is 0."""
    if k == 0:
        return TopicLevel(ladder[0], True, floor, ladder, passed)
    return TopicLevel(ladder[k - 1], False, ladder[k - 1], ladder, passed)


def place_topics(ev: Evidence, per_level: dict[str, dict[int, Tally]], scale: Scale
                 ) -> dict[str, TopicLevel]:
    return {a: topic_level(levels, ev, scale.floor_of(a)) for a, levels in per_level.items()}


def weighted_mean(values: dict[str, int], scale: Scale) -> Fraction | None:
    """The weighted mean of the topics' values; a weighted topic nobody rated counts as its
    floor (absence is not evidence). None when no weighted topic was rated at all."""
    total, weight = _weighted_sum(values, scale)
    if weight <= 0 or not any(a in values for a in scale.weights):
        return None
    return Fraction(total, weight)


def _weighted_sum(values: dict[str, int], scale: Scale) -> tuple[int, int]:
    weights = scale.int_weights
    return (sum(w * values.get(a, scale.floor_of(a)) for a, w in weights.items()),
            sum(weights.values()))


def rounded_mean(values: dict[str, int], scale: Scale) -> int | None:
    """The weighted mean rounded half down, in integers (None: no weighted topic rated)."""
    total, weight = _weighted_sum(values, scale)
    if weight <= 0 or not any(a in values for a in scale.weights):
        return None
    whole, rest = divmod(total, weight)
    return whole + 1 if 2 * rest > weight else whole


def round_half_down(x: Fraction) -> int:
    """Nearest whole level; exactly half-way rounds down (the conservative side)."""
    floor = math.floor(x)
    return floor + 1 if x - floor > Fraction(1, 2) else floor


def overall(values: dict[str, int], scale: Scale) -> Overall:
    mean = weighted_mean(values, scale)
    if mean is None:
        return Overall(None, False, None, None)
    rounded = round_half_down(mean)
    if rounded <= scale.floor:
        return Overall(scale.floor + 1, True, rounded, mean)
    return Overall(min(max(rounded, scale.lo), scale.hi), False, rounded, mean)


def weights_of(evidence: Evidence) -> dict[str, Fraction]:
    return dict(_weights(tuple(evidence.loop.role.topic_weights.items())))


@functools.lru_cache(maxsize=64)
def _weights(items: tuple[tuple[str, float], ...]) -> tuple[tuple[str, Fraction], ...]:
    """The role's topic weights as exact fractions (a thousand packs share one role)."""
    return tuple((a, Fraction(str(w))) for a, w in items if w > 0)


def level_criteria(evidence: Evidence, level: int) -> list[str]:
    """The criteria of one level that the loop assesses (in any stage)."""
    loop = evidence.loop
    key = f"level_criteria:{level}"
    if key not in loop.memo:
        loop.memo[key] = sorted({cid for s in loop.role.stages for cid in s.assesses
                                 if cid in loop.criteria and loop.criteria[cid][1].level == level})
    found: list[str] = loop.memo[key]
    return found


def sub_level(evidence: Evidence, tallies: dict[str, Tally], result: Overall
              ) -> tuple[str | None, str | None]:
    """The framework's sub-level: the share of the recommended level's own behaviours (all
    that the loop assesses: one left unrated is not shown) that were shown."""
    subs = evidence.loop.framework.sub_levels
    if not subs or result.level is None:
        return None, None
    level = result.level
    if result.below:
        return None, f"below level {level}: no sub-level"
    planned = level_criteria(evidence, level)
    if not planned:
        return None, f"the loop assesses no behaviour of level {level}, so no sub-level"
    shown = sum(1 for cid in planned if cid in tallies and evidence.shown(*tallies[cid]))
    rated = sum(1 for cid in planned if cid in tallies)
    index = min(len(subs) - 1, shown * len(subs) // len(planned))
    return subs[index], (f"{shown} of the loop's {len(planned)} level-{level} behaviours "
                         f"shown ({rated} rated)")
