"""Per interviewer: how many scorecards, on time, left unassessed, how they rate against the
panel (distribution, leniency), against the mechanical outcome, and within one scorecard."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from rubrics.calibration.agreement import SCALE, mean_interval, r3, sd, share
from rubrics.calibration.selection import HIRE_SIDE, YES, LoopMeta, People, Seen

ON_TIME_DAYS = 2
"""A scorecard is on time when returned within this many days of the interview."""
MIN_LENIENCY_PAIRS = 5
"""Leniency needs at least this many paired observations."""


def interviewer_figures(seen: list[Seen], who: People, meta: LoopMeta) -> list[dict[str, Any]]:
    """One entry per interviewer who returned a scorecard in ``seen``, by name."""
    mine: dict[str, list[Seen]] = defaultdict(list)
    for s in seen:
        mine[s.person].append(s)
    pairs = leniency_pairs(seen, meta)
    panel = panel_ratings(seen)
    out = [_one(person, cards, who, pairs.get(person, []), panel.get(person, Counter()))
           for person, cards in mine.items()]
    return sorted(out, key=lambda x: (x["name"].casefold(), x["id"]))


def _one(person: str, cards: list[Seen], who: People, pairs: list[float],
         panel: Counter[int]) -> dict[str, Any]:
    rated = sum(len(s.card.ratings) for s in cards)
    unrated = sum(len(s.card.unrated) for s in cards)
    own = Counter(v for s in cards for v in s.card.ratings.values())
    enough = len(pairs) >= MIN_LENIENCY_PAIRS
    interval = mean_interval(pairs) if enough else None
    return {
        "id": person, "name": who.names[person], "email": who.emails[person],
        "scorecards": len(cards),
        "on_time": on_time(cards),
        "unassessed_share": share(unrated, rated + unrated),
        "unassessed_n": rated + unrated,
        "ratings": distribution(own),
        "panel_ratings": distribution(panel),
        "leniency": r3(sum(pairs) / len(pairs)) if enough else None,
        "leniency_n": len(pairs),
        "leniency_interval": [r3(interval[0]), r3(interval[1])] if interval else None,
        "disagrees_with_decision": disagreement(cards),
        "halo": halo(cards),
    }


def distribution(counts: Counter[int]) -> dict[str, int]:
    return {str(v): counts.get(v, 0) for v in SCALE}


def on_time(cards: list[Seen]) -> dict[str, Any]:
    """Scorecards returned within ``ON_TIME_DAYS`` of the interview date they give."""
    dated = [s.card for s in cards if s.card.interviewed_on]
    timely = sum(1 for c in dated if c.returned_on and _days(c.interviewed_on, c.returned_on)
                 <= ON_TIME_DAYS)
    return {"n": len(dated), "share": share(timely, len(dated)),
            "undated": len(cards) - len(dated)}


def _days(start: str | None, end: str) -> int:
    assert start is not None
    return (date.fromisoformat(end) - date.fromisoformat(start)).days


def leniency_pairs(seen: list[Seen], meta: LoopMeta) -> dict[str, list[float]]:
    """Person -> for each candidate and topic they and someone else rated: their mean rating
    of the topic minus the mean of the other interviewers' means."""
    by_unit: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for s in seen:
        for cid, value in s.card.ratings.items():
            topic = meta.criteria.get(cid, ("", ""))[0]
            by_unit[(s.pack.path, topic)][s.person].append(value)
    pairs: dict[str, list[float]] = defaultdict(list)
    for raters in by_unit.values():
        if len(raters) < 2:
            continue
        means = {p: sum(v) / len(v) for p, v in raters.items()}
        total = sum(means.values())
        for person, m in means.items():
            pairs[person].append(m - (total - m) / (len(means) - 1))
    return pairs


def panel_ratings(seen: list[Seen]) -> dict[str, Counter[int]]:
    """Person -> the ratings the other interviewers gave the candidates they rated."""
    per_pack: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    per_person_pack: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    for s in seen:
        whole, own = per_pack[s.pack.path], per_person_pack[(s.person, s.pack.path)]
        for value in s.card.ratings.values():
            whole[value] += 1
            own[value] += 1
    out: dict[str, Counter[int]] = defaultdict(Counter)
    for (person, pack), own in per_person_pack.items():
        whole, theirs = per_pack[pack], out[person]
        for value in SCALE:
            theirs[value] += whole[value] - own[value]
    return out


def disagreement(cards: list[Seen]) -> dict[str, Any]:
    """How often their yes-side or no-side recommendation points the other way from what
    the ratings say (the rule's evidence outcome), over candidates where the rule could
    recommend."""
    outcomes = [(s.card.recommendation in YES, s.pack.evidence_outcome in HIRE_SIDE)
                for s in cards if s.pack.evidence_outcome is not None]
    against = sum(1 for said, outcome in outcomes if said != outcome)
    return {"n": len(outcomes), "share": share(against, len(outcomes))}


def halo(cards: list[Seen]) -> dict[str, Any]:
    """The mean standard deviation of the ratings within each of their scorecards that rates
    two criteria or more (low: every criterion rated alike)."""
    spreads = [sd(list(s.card.ratings.values())) for s in cards if len(s.card.ratings) >= 2]
    values = [x for x in spreads if x is not None]
    return {"sd": r3(sum(values) / len(values)) if values else None, "n": len(values)}
