"""Step 8 of the rule: the decision margin. Would one rating change the outcome?

For every rating in a counting scorecard, one step up and one step down; for every
criterion a counting scorecard left unrated, each of 1-4: recompute what that changes
(one criterion, so one level of one topic, the overall level and the must-pass check)
and note each change that moves the evidence outcome (hire / hire below target /
no hire). The outcome is *fragile* when there is at least one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rubrics.aggregation.decision import band_of
from rubrics.aggregation.evidence import Card, Evidence
from rubrics.aggregation.levels import Scale, Tally, TopicLevel, place

MAX_LISTED = 20


@dataclass
class Margin:
    outcome: str
    level: int
    """The rounded overall level the outcome rests on."""
    checked: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)
    level_changes: int = 0
    """Single changes that would move the recommended level, whatever the outcome."""

    @property
    def fragile(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "fragile": self.fragile, "checked": self.checked,
                "changing": len(self.changes), "changes": self.changes[:MAX_LISTED],
                "level_changing": self.level_changes}


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
    scale: Scale
    failed: frozenset[str]
    total: int
    weight: int

    def with_rating(self, cid: str, old: int | None, new: int) -> tuple[str, int] | None:
        """The evidence outcome and rounded level if one rating of ``cid`` were ``new``
        instead of ``old`` (None: not rated); None when nothing that decides them moves."""
        failed = self.failed
        if cid in self.ev.must_pass:
            t_sum, t_n = self.tallies.get(cid, (0, 0))
            shown = self.ev.shown(t_sum + new - (old or 0), t_n + (old is None))
            failed = failed - {cid} if shown else failed | {cid}
        area, crit = self.ev.loop.criteria[cid]
        topic = self.topics.get(area.id)
        value = self._topic_value(topic, area.id, crit.level, new - (old or 0), old is None)
        current = topic.value if topic else None
        if failed == self.failed and value == current:
            return None
        rounded = self._rounded(area.id, current, value)
        return ("no_hire" if failed else band_of(self.ev, rounded, self.scale.floor)), rounded

    def _topic_value(self, topic: TopicLevel | None, area_id: str, level: int, delta: int,
                     added: bool) -> int:
        l_sum, l_n = self.levels.get(area_id, {}).get(level, (0, 0))
        passes = self.ev.shown(l_sum + delta, l_n + added)
        floor = self.scale.floor_of(area_id)
        if topic is None:
            return place((level,), int(passes), (), floor).value
        was = level in topic.passed
        if passes == was and level in topic.ladder:
            return topic.value
        ladder = topic.ladder if level in topic.ladder else tuple(sorted((*topic.ladder, level)))
        return place(ladder, len(topic.passed) + int(passes) - int(was), (), floor).value

    def _rounded(self, area_id: str, current: int | None, value: int) -> int:
        w = self.weights.get(area_id)
        total, weight = self.total, self.weight
        if w is not None:  # an unrated weighted topic counted as its floor
            total += w * (value - (self.scale.floor_of(area_id) if current is None else current))
        whole, rest = divmod(total, weight)
        return whole + 1 if 2 * rest > weight else whole  # half-way rounds down


def margin(ev: Evidence, tallies: dict[str, Tally], levels: dict[str, dict[int, Tally]],
           topics: dict[str, TopicLevel], scale: Scale, failed: list[str], outcome: str,
           rounded: int) -> Margin:
    ints = scale.int_weights
    state = _State(ev, tallies, levels, topics, ints, scale, frozenset(failed),
                   sum(w * (topics[a].value if a in topics else scale.floor_of(a))
                       for a, w in ints.items()),
                   sum(ints.values()))
    result = Margin(outcome, rounded)
    level_now = max(rounded, scale.floor)
    for card in ev.counting:
        for cid, old, new in _one_rating_changes(card):
            result.checked += 1
            changed = state.with_rating(cid, old, new)
            if changed is None:
                continue
            if max(changed[1], scale.floor) != level_now:
                result.level_changes += 1
            if changed[0] != outcome:
                result.changes.append({"submission": card.ref, "stage": card.stage,
                                       "interviewer": card.interviewer, "criterion": cid,
                                       "from": old, "to": new, "outcome": changed[0]})
    return result


def _one_rating_changes(card: Card) -> list[tuple[str, int | None, int]]:
    out: list[tuple[str, int | None, int]] = []
    for cid, value in card.ratings.items():
        out += [(cid, value, v) for v in (value - 1, value + 1) if 1 <= v <= 4]
    for cid in card.unrated:
        out += [(cid, None, v) for v in (1, 2, 3, 4)]
    return out
