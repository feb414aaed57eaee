"""Step 8 of the rule: the decision margin. Would one rating change the outcome?

For every rating in a counting scorecard, one step up and one step down; for every
criterion a counting scorecard left unrated, each of 1-4: recompute what that changes
(one criterion, so one level of one topic, the overall level and the must-pass check)
and note each change that moves the evidence outcome (hire / hire below target /
no hire). The outcome is *fragile* when there is at least one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from rubrics.aggregation.decision import band_of
from rubrics.aggregation.evidence import Card, Evidence
from rubrics.aggregation.levels import Tally, TopicLevel, place

MAX_LISTED = 20


@dataclass
class Margin:
    outcome: str
    checked: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fragile(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "fragile": self.fragile, "checked": self.checked,
                "changing": len(self.changes), "changes": self.changes[:MAX_LISTED]}


@dataclass
class _State:
    """The figures one changed rating can move, to recompute only what it touches.

    The weighted mean is kept as an integer numerator over an integer denominator
    (weights scaled to a common denominator), so each "what if" costs a few integer
    operations.
    """

    ev: Evidence
    tallies: dict[str, Tally]
    levels: dict[str, dict[int, Tally]]
    topics: dict[str, TopicLevel]
    weights: dict[str, int]
    floor: int
    failed: frozenset[str]
    must_pass: frozenset[str]
    total: int
    weight: int

    def outcome_with(self, cid: str, old: int | None, new: int) -> str | None:
        """The evidence outcome if one rating of ``cid`` were ``new`` instead of ``old``
        (None: not rated); None when nothing that decides it moves."""
        failed = self.failed
        if cid in self.must_pass:
            t_sum, t_n = self.tallies.get(cid, (0, 0))
            shown = self.ev.shown(t_sum + new - (old or 0), t_n + (old is None))
            failed = failed - {cid} if shown else failed | {cid}
        area, crit = self.ev.loop.criteria[cid]
        topic = self.topics.get(area.id)
        value = self._topic_value(topic, area.id, crit.level, new - (old or 0), old is None)
        current = topic.value if topic else None
        if failed == self.failed and value == current:
            return None
        if failed:
            return "no_hire"
        return self._band(area.id, current, value)

    def _topic_value(self, topic: TopicLevel | None, area_id: str, level: int, delta: int,
                     added: bool) -> int:
        l_sum, l_n = self.levels.get(area_id, {}).get(level, (0, 0))
        passes = self.ev.shown(l_sum + delta, l_n + added)
        if topic is None:
            return place((level,), int(passes), (), self.floor).value
        was = level in topic.passed
        if passes == was and level in topic.ladder:
            return topic.value
        ladder = topic.ladder if level in topic.ladder else tuple(sorted((*topic.ladder, level)))
        return place(ladder, len(topic.passed) + int(passes) - int(was), (), self.floor).value

    def _band(self, area_id: str, current: int | None, value: int) -> str:
        w = self.weights.get(area_id)
        total, weight = self.total, self.weight
        if w is not None:  # an unrated weighted topic counted as the floor
            total += w * (value - (self.floor if current is None else current))
        whole, rest = divmod(total, weight)
        rounded = whole + 1 if 2 * rest > weight else whole  # half-way rounds down
        return band_of(self.ev, rounded, self.floor)


def margin(ev: Evidence, tallies: dict[str, Tally], levels: dict[str, dict[int, Tally]],
           topics: dict[str, TopicLevel], weights: dict[str, Fraction], floor: int,
           failed: list[str], outcome: str) -> Margin:
    scale = math.lcm(*(w.denominator for w in weights.values())) if weights else 1
    ints = {a: int(w * scale) for a, w in weights.items()}
    state = _State(ev, tallies, levels, topics, ints, floor, frozenset(failed),
                   ev.must_pass,
                   sum(w * (topics[a].value if a in topics else floor) for a, w in ints.items()),
                   sum(ints.values()))
    result = Margin(outcome)
    for card in ev.counting:
        for cid, old, new in _one_rating_changes(card):
            result.checked += 1
            changed = state.outcome_with(cid, old, new)
            if changed is not None and changed != outcome:
                result.changes.append({"submission": card.ref, "stage": card.stage,
                                       "interviewer": card.interviewer, "criterion": cid,
                                       "from": old, "to": new, "outcome": changed})
    return result


def _one_rating_changes(card: Card) -> list[tuple[str, int | None, int]]:
    out: list[tuple[str, int | None, int]] = []
    for cid, value in card.ratings.items():
        out += [(cid, value, v) for v in (value - 1, value + 1) if 1 <= v <= 4]
    for cid in card.unrated:
        out += [(cid, None, v) for v in (1, 2, 3, 4)]
    return out
