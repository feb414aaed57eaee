"""Per interviewer: how many scorecards, on time, left unassessed, how they rate against the
panel (distribution, leniency), against the mechanical outcome, and within one scorecard."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from rubrics.calibration.agreement import SCALE, mean_interval, r3, sd, share
from rubrics.calibration.selection import HIRE_SIDE, YES, People, Seen

ON_TIME_DAYS = 2
"""A scorecard is on time when returned 0 to this many days after the interview."""
MIN_LENIENCY_CANDIDATES = 8
"""Leniency needs shared criteria on at least this many candidates (its interval is over
candidates, not over ratings)."""


def interviewer_figures(seen: list[Seen], who: People) -> list[dict[str, Any]]:
    """One entry per interviewer who returned a scorecard in ``seen``, by name."""
    mine: dict[str, list[Seen]] = defaultdict(list)
    for s in seen:
        mine[s.person].append(s)
    pairs = leniency_pairs(seen)
    panel = panel_ratings(seen)
    halos = halo_reference(seen)
    out = [_one(person, cards, who, pairs.get(person, {}), panel.get(person, Counter()),
                halos.get(person, (None, 0)))
           for person, cards in mine.items()]
    return sorted(out, key=lambda x: (x["name"].casefold(), x["id"]))


def _one(person: str, cards: list[Seen], who: People, pairs: dict[str, list[float]],
         panel: Counter[int], reference: tuple[float | None, int]) -> dict[str, Any]:
    rated = sum(len(s.card.ratings) for s in cards)
    unrated = sum(len(s.card.unrated) for s in cards)
    own = Counter(v for s in cards for v in s.card.ratings.values())
    value, interval = leniency(pairs)
    return {
        "id": person, "name": who.names[person], "email": who.emails[person],
        "scorecards": len(cards),
        "on_time": on_time(cards),
        "unassessed_share": share(unrated, rated + unrated),
        "unassessed_n": rated + unrated,
        "ratings": distribution(own),
        "panel_ratings": distribution(panel),
        "leniency": value,
        "leniency_n": len(pairs),
        "leniency_pairs": sum(len(d) for d in pairs.values()),
        "leniency_interval": interval,
        "disagrees_with_decision": disagreement(cards),
        "halo": {**halo(cards), "reference": r3(reference[0]), "reference_n": reference[1]},
    }


def distribution(counts: Counter[int]) -> dict[str, int]:
    return {str(v): counts.get(v, 0) for v in SCALE}


def on_time(cards: list[Seen]) -> dict[str, Any]:
    """Scorecards first accepted 0 to ``ON_TIME_DAYS`` days after the interview date they
    give; accepted before that date is ``inconsistent`` (counted apart, as undated is)."""
    delays = [_days(s.card.interviewed_on, s.card.returned_on) for s in cards
              if s.card.interviewed_on]
    inconsistent = sum(1 for d in delays if d is not None and d < 0)
    judged = [d for d in delays if d is None or d >= 0]
    timely = sum(1 for d in judged if d is not None and d <= ON_TIME_DAYS)
    return {"n": len(judged), "share": share(timely, len(judged)),
            "undated": len(cards) - len(delays), "inconsistent": inconsistent}


def _days(start: str | None, end: str) -> int | None:
    """Days from the interview to the first acceptance (None when that is unknown)."""
    if start is None or not end:
        return None
    return (date.fromisoformat(end) - date.fromisoformat(start)).days


def leniency_pairs(seen: list[Seen]) -> dict[str, dict[str, list[float]]]:
    """Person -> candidate -> for each criterion of that candidate which they and another
    interviewer rated: their rating minus the mean of the others' ratings of it.

    Only the same criterion is compared: stages ask different criteria (and levels) of one
    topic, so comparing topic means would read a stage's harder criteria as severity."""
    by_unit: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for s in seen:
        for cid, value in s.card.ratings.items():
            by_unit[(s.pack.path, cid)].setdefault(s.person, value)
    pairs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (pack, _), raters in by_unit.items():
        if len(raters) < 2:
            continue
        total = sum(raters.values())
        for person, value in raters.items():
            pairs[person][pack].append(value - (total - value) / (len(raters) - 1))
    return pairs


def leniency(pairs: dict[str, list[float]]) -> tuple[float | None, list[float | None] | None]:
    """The mean over candidates of each candidate's mean difference, with the 95% t interval
    over candidates (the ratings of one candidate are not independent); None under
    ``MIN_LENIENCY_CANDIDATES`` candidates."""
    if len(pairs) < MIN_LENIENCY_CANDIDATES:
        return None, None
    per_candidate = [sum(d) / len(d) for d in pairs.values()]
    lo, hi = mean_interval(per_candidate)
    return r3(sum(per_candidate) / len(per_candidate)), [r3(lo), r3(hi)]


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


def halo_reference(seen: list[Seen]) -> dict[str, tuple[float | None, int]]:
    """Person -> the mean within-scorecard sd of the other interviewers' scorecards at the
    stages they interviewed (each stage weighted by how many of their scorecards it holds),
    and how many of those scorecards there are."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    mine: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    for s in seen:
        spread = sd(list(s.card.ratings.values())) if len(s.card.ratings) >= 2 else None
        if spread is None:
            continue
        for acc in (totals[s.card.stage], mine[s.person][s.card.stage]):
            acc[0] += spread
            acc[1] += 1
    out: dict[str, tuple[float | None, int]] = {}
    for person, stages in mine.items():
        weighted, weight, others = 0.0, 0, 0
        for stage, (own_sum, own_n) in stages.items():
            rest = totals[stage][1] - own_n
            if rest:
                weighted += own_n * (totals[stage][0] - own_sum) / rest
                weight += int(own_n)
                others += int(rest)
        out[person] = (weighted / weight if weight else None, others)
    return out


def halo(cards: list[Seen]) -> dict[str, Any]:
    """The mean standard deviation of the ratings within each of their scorecards that rates
    two criteria or more (low: every criterion rated alike)."""
    spreads = [sd(list(s.card.ratings.values())) for s in cards if len(s.card.ratings) >= 2]
    values = [x for x in spreads if x is not None]
    return {"sd": r3(sum(values) / len(values)) if values else None, "n": len(values)}
