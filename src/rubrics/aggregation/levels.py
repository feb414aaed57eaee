"""Steps 2-5 of the rule: criterion scores, levels passed, topic levels, overall level.

Everything here is integer arithmetic on sums and counts of ratings, so it is exact and
cheap enough to recompute for every "what if one rating were different" question the
margin step asks.

- A criterion is **shown** when its ratings average at least ``demonstrated_at``.
- A level of a topic **passes** when all the ratings given to that level's criteria
  average at least ``demonstrated_at`` (a 4 can make up for a 2 beside it, a 3 cannot
  make up for a 1).
- A topic's **ladder** is the levels at which it was rated. Its level is the k-th rung,
  where k is the number of rungs passed (a Guttman score): never a level that was not
  rated, and one rating moves it at most one rung. With no rung passed it is *below*
  its lowest rung and counts as the loop's floor (the level below the lowest one the
  loop assesses), which can only pull the overall level down; so does a weighted topic
  nobody rated.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from rubrics.aggregation.evidence import Evidence

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


@dataclass(frozen=True)
class Overall:
    level: int | None
    below: bool
    rounded: int | None
    """The rounded weighted mean: what the band is compared with."""
    weighted_mean: Fraction | None


def loop_floor(evidence: Evidence) -> int:
    """The level below the lowest level any stage of the loop assesses."""
    loop = evidence.loop
    levels = [loop.criteria[cid][1].level for s in loop.role.stages for cid in s.assesses
              if cid in loop.criteria]
    return (min(levels) if levels else loop.framework.min_level) - 1


def criterion_tallies(evidence: Evidence) -> dict[str, Tally]:
    return {cid: (sum(r.value for r in rs), len(rs)) for cid, rs in evidence.ratings.items()}


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


def weighted_mean(values: dict[str, int], weights: dict[str, Fraction], floor: int
                  ) -> Fraction | None:
    """The weighted mean of the topics' values; a weighted topic nobody rated counts as the
    floor (absence is not evidence). None when no weighted topic was rated at all."""
    total = sum(weights.values(), Fraction(0))
    if total <= 0 or not any(a in values for a in weights):
        return None
    return sum((w * values.get(a, floor) for a, w in weights.items()), Fraction(0)) / total


def round_half_down(x: Fraction) -> int:
    """Nearest whole level; exactly half-way rounds down (the conservative side)."""
    floor = math.floor(x)
    return floor + 1 if x - floor > Fraction(1, 2) else floor


def overall(values: dict[str, int], weights: dict[str, Fraction], floor: int,
            lo: int, hi: int) -> Overall:
    mean = weighted_mean(values, weights, floor)
    if mean is None:
        return Overall(None, False, None, None)
    rounded = round_half_down(mean)
    if rounded <= floor:
        return Overall(floor + 1, True, rounded, mean)
    return Overall(min(max(rounded, lo), hi), False, rounded, mean)


def weights_of(evidence: Evidence) -> dict[str, Fraction]:
    return dict(_weights(tuple(evidence.loop.role.topic_weights.items())))


@functools.lru_cache(maxsize=64)
def _weights(items: tuple[tuple[str, float], ...]) -> tuple[tuple[str, Fraction], ...]:
    """The role's topic weights as exact fractions (a thousand packs share one role)."""
    return tuple((a, Fraction(str(w))) for a, w in items if w > 0)


def sub_level(evidence: Evidence, tallies: dict[str, Tally], result: Overall
              ) -> tuple[str | None, str | None]:
    """The framework's sub-level: the share of the recommended level's own behaviours shown."""
    subs = evidence.loop.framework.sub_levels
    if not subs or result.level is None:
        return None, None
    level = result.level
    if result.below:
        return None, f"below level {level}: no sub-level"
    rated = [t for cid, t in tallies.items() if evidence.loop.criteria[cid][1].level == level]
    if not rated:
        return None, f"no behaviour of level {level} was rated, so no sub-level"
    shown = sum(1 for t in rated if evidence.shown(*t))
    index = min(len(subs) - 1, shown * len(subs) // len(rated))
    return subs[index], f"{shown} of {len(rated)} rated level-{level} behaviours shown"
