"""Step 1 of the rule: what the returned scorecards say, as tables the later steps read.

A scorecard counts only if it rates at least one of its stage's criteria (a blank one
counts as not returned). Interviewers are recognised across stages and spellings of
their name (:mod:`rubrics.identity`); ratings from the same interview, or by the same
person, are one *independent observation*.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

from rubrics.identity import people
from rubrics.model import Recommendation, Submission
from rubrics.roles import InterviewLoop

YES_SIDE = frozenset({Recommendation.YES, Recommendation.STRONG_YES})
NO_SIDE = frozenset({Recommendation.NO, Recommendation.STRONG_NO})


@dataclass(frozen=True)
class Rated:
    """One submission as aggregation sees it."""

    ref: str  # e.g. "0003" (the submission's number in the pack log)
    submission: Submission


class Rating(NamedTuple):
    value: int
    ref: str
    stage: str
    person: str


@dataclass
class Card:
    """One returned scorecard."""

    ref: str
    stage: str
    interviewer: str
    person: str
    submission: Submission
    ratings: dict[str, int]
    unrated: list[str]
    """Criteria of the stage it left as not assessed (null or left out)."""

    @property
    def counts(self) -> bool:
        """See :func:`counts` (``ratings`` holds only the stage's criteria it rated)."""
        return bool(self.ratings)

    @property
    def recommendation(self) -> Recommendation:
        return self.submission.recommendation


def counts(submission: Submission, assesses: Iterable[str]) -> bool:
    """Whether a scorecard counts: it rates at least one of its stage's criteria
    (``assesses``); a blank one counts as not returned."""
    return any(submission.ratings.get(cid) is not None for cid in assesses)


@dataclass
class Evidence:
    """Everything the rule reads, gathered once."""

    loop: InterviewLoop
    cards: list[Card]
    ratings: dict[str, list[Rating]] = field(default_factory=dict)
    """Criterion id -> its ratings, from counting scorecards only."""
    demonstrated_at: Fraction = Fraction(5, 2)
    _spreads: dict[str, Fraction | int] = field(default_factory=dict)
    _observations: dict[str, int] = field(default_factory=dict)
    _area_observations: dict[str, int] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)
    keys: frozenset[str] = field(init=False)
    must_pass: frozenset[str] = field(init=False)

    @classmethod
    def gather(cls, loop: InterviewLoop, rated: list[Rated]) -> Evidence:
        subs = sorted(rated, key=lambda r: (r.submission.stage, r.ref))
        persons = people([(r.submission.interviewer, r.submission.interviewer_email)
                          for r in subs])
        cards = [_card(loop, r, person) for r, person in zip(subs, persons, strict=True)]
        order = {s.id: n for n, s in enumerate(loop.role.stages)}
        cards.sort(key=lambda c: (order.get(c.stage, len(order)), c.stage, c.person, c.ref))
        ratings: dict[str, list[Rating]] = defaultdict(list)
        for card in cards:
            for cid, value in card.ratings.items():
                ratings[cid].append(Rating(value, card.ref, card.stage, card.person))
        d = Fraction(str(loop.role.aggregation.demonstrated_at))
        return cls(loop, cards, dict(ratings), d)

    @property
    def counting(self) -> list[Card]:
        return [c for c in self.cards if c.counts]

    @property
    def blank(self) -> list[Card]:
        return [c for c in self.cards if not c.counts]

    def spread(self, cid: str) -> Fraction | int:
        """How far apart the interviews' mean ratings of a criterion are."""
        found = self._spreads.get(cid)
        if found is None:
            found = self._spreads[cid] = spread(self.ratings.get(cid, []))
        return found

    def observations(self, cid: str) -> int:
        if cid not in self._observations:
            self._observations[cid] = independent_observations(self.ratings.get(cid, []))
        return self._observations[cid]

    def names(self) -> dict[str, str]:
        """Person id -> the name to show (the first spelling, in stage order)."""
        if not self._names:
            for card in self.cards:
                self._names.setdefault(card.person, card.interviewer)
        return self._names

    def __post_init__(self) -> None:
        self._num, self._den = self.demonstrated_at.numerator, self.demonstrated_at.denominator
        self.keys = frozenset(self.loop.role.key_ids)
        self.must_pass = frozenset(self.loop.role.must_pass_ids)

    def shown(self, total: int, count: int) -> bool:
        """Whether ``count`` ratings adding up to ``total`` average at least demonstrated_at."""
        return total * self._den >= self._num * count

    def area_observations(self, area_id: str) -> int:
        """Independent observations of all the criteria of one topic or competency."""
        if area_id not in self._area_observations:
            area = self.loop.areas[area_id]
            ratings = [r for c in area.criteria for r in self.ratings.get(c.id, ())]
            self._area_observations[area_id] = independent_observations(ratings)
        return self._area_observations[area_id]


def _card(loop: InterviewLoop, r: Rated, person: str) -> Card:
    sub = r.submission
    stage = loop.role.stage(sub.stage)
    assessed = [cid for cid in (stage.assesses if stage else []) if cid in loop.criteria]
    ratings = {cid: v for cid in assessed if (v := sub.ratings.get(cid)) is not None}
    unrated = [cid for cid in assessed if cid not in ratings]
    name = " ".join(sub.interviewer.split())
    return Card(r.ref, sub.stage, name, person, sub, ratings, unrated)


def independent_observations(ratings: list[Rating]) -> int:
    """How many independent observations ``ratings`` hold: the most of them that can be
    picked with no two from the same interview (co-interviewers see the same answers) and
    no two by the same person (in any stage). A maximum matching between stages and
    interviewers, so a further rating never lowers it."""
    if len(ratings) < 2:
        return len(ratings)
    if len(ratings) == 2:
        first, second = ratings
        return 1 if first.stage == second.stage or first.person == second.person else 2
    people_of: dict[str, set[str]] = {}
    for r in ratings:
        people_of.setdefault(r.stage, set()).add(r.person)
    matched: dict[str, str] = {}  # person -> stage

    def augment(stage: str, seen: set[str]) -> bool:
        for person in sorted(people_of[stage]):
            if person in seen:
                continue
            seen.add(person)
            if person not in matched or augment(matched[person], seen):
                matched[person] = stage
                return True
        return False

    return sum(augment(stage, set()) for stage in sorted(people_of))


def spread(ratings: list[Rating]) -> Fraction | int:
    """The largest gap between the mean ratings of two interviews of a criterion: two
    interviewers, or one interviewer in two interviews (0 with one)."""
    if len(ratings) < 2:
        return 0
    units: dict[tuple[str, str], list[int]] = {}
    for r in ratings:
        units.setdefault((r.person, r.stage), []).append(r.value)
    if len(units) < 2:
        return 0
    if all(len(v) == 1 for v in units.values()):  # the usual case: plain integers
        values = [v[0] for v in units.values()]
        return max(values) - min(values)
    means = [Fraction(sum(v), len(v)) for v in units.values()]
    return max(means) - min(means)
