"""Steps 7-9 of the rule: enough evidence?, what the evidence says, the decision, confidence.

The decision, first that applies:

1. ``incomplete``: a stage has no scorecard that rates anything;
2. ``insufficient_evidence``: a weighted topic has fewer independent observations than
   ``min_topic_observations``, or a key criterion fewer ratings than ``min_key_ratings``;
3. the **evidence outcome**: ``no_hire`` when a must-pass key criterion is not shown;
   otherwise the overall level against the role's band (``hire`` at or above the
   target, ``hire_below_target`` inside the band, ``no_hire`` below it);
4. ``needs_discussion`` when a flag could overturn that outcome (see flags.py), when
   most interviewers recommend no and the evidence says hire, or when a must-pass
   criterion failed while its interviewers disagree; else the evidence outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rubrics.aggregation.evidence import NO_SIDE, YES_SIDE, Card, Evidence
from rubrics.aggregation.flags import AGAINST, INFO, Flag
from rubrics.aggregation.levels import Overall, Tally

HIRE_SIDE = ("hire", "hire_below_target")


@dataclass(frozen=True)
class Gaps:
    messages: list[str]
    topic_observations: dict[str, int]
    key_ratings: dict[str, int]
    key_observations: dict[str, int]


def evidence_gaps(ev: Evidence) -> Gaps:
    """What is missing before the rule may recommend a hire or a no-hire."""
    rule = ev.loop.role.aggregation
    topic_obs = {}
    messages = []
    for area_id, weight in sorted(ev.loop.role.topic_weights.items()):
        if weight <= 0 or area_id not in ev.loop.areas:
            continue
        area = ev.loop.areas[area_id]
        topic_obs[area_id] = n = ev.area_observations(area_id)
        if n < rule.min_topic_observations:
            messages.append(f"{area.title} ({area_id}) has {n} independent observation"
                            f"{'s' if n != 1 else ''}; it needs {rule.min_topic_observations}")
    key_ratings, key_obs = {}, {}
    for cid in ev.loop.role.key_ids:
        ratings = ev.ratings.get(cid, [])
        key_ratings[cid] = len(ratings)
        key_obs[cid] = ev.observations(cid)
        if len(ratings) < rule.min_key_ratings:
            messages.append(f"key criterion '{ev.loop.criteria[cid][1].text}' ({cid}) has "
                            f"{len(ratings)} rating{'s' if len(ratings) != 1 else ''}; it "
                            f"needs {rule.min_key_ratings}")
    return Gaps(messages, topic_obs, key_ratings, key_obs)


def failed_must_pass(ev: Evidence, tallies: dict[str, Tally]) -> list[str]:
    """Must-pass key criteria that were rated but not shown."""
    return [cid for cid in ev.loop.role.must_pass_ids
            if cid in tallies and not ev.shown(*tallies[cid])]


def band_of(ev: Evidence, rounded: int, floor: int) -> str:
    """The outcome of an overall level (the rounded weighted mean) against the role's band.

    At or below the loop's floor nothing was shown, so it is never a hire, even for a
    band that reaches below the levels the loop assesses.
    """
    role = ev.loop.role
    if rounded <= floor:
        return "no_hire"
    if rounded >= role.target_level:
        return "hire"
    return "hire_below_target" if rounded >= role.band.min else "no_hire"


def band_outcome(ev: Evidence, result: Overall, floor: int) -> tuple[str, str]:
    role = ev.loop.role
    assert result.rounded is not None
    shown = f"below level {result.level}" if result.below else f"level {result.level}"
    outcome = band_of(ev, result.rounded, floor)
    if outcome == "hire":
        return outcome, f"recommended {shown} meets the target level {role.target_level}"
    if outcome == "hire_below_target":
        return outcome, (f"recommended {shown} is inside the band {role.band.min}-"
                         f"{role.band.max}, below the target {role.target_level}")
    if result.below:
        return outcome, f"recommended {shown}: none of the levels the loop assesses was shown"
    return outcome, f"recommended {shown} is below the band {role.band.min}-{role.band.max}"


def evidence_outcome(ev: Evidence, result: Overall, failed: list[str],
                     tallies: dict[str, Tally], floor: int) -> tuple[str, list[str]]:
    """What the ratings alone say: a failed must-pass criterion, else the level vs the band."""
    if failed:
        return "no_hire", [_must_pass_reason(ev, cid, tallies) for cid in failed]
    outcome, reason = band_outcome(ev, result, floor)
    return outcome, [reason]


def _must_pass_reason(ev: Evidence, cid: str, tallies: dict[str, Tally]) -> str:
    total, count = tallies[cid]
    names = ev.names()
    given = ", ".join(f"{names[r.person]}: {r.value}" for r in ev.ratings[cid])
    return (f"must-pass key criterion not shown: '{ev.loop.criteria[cid][1].text}' averages "
            f"{total / count:.2g} ({given}), below {float(ev.demonstrated_at):g}")


def majority_against(ev: Evidence, outcome: str) -> Flag | None:
    """Most interviewers' verdicts point the other way from the evidence outcome.

    Most saying no while the ratings say hire holds the hire up (``majority_no``); most
    saying yes while the ratings say no-hire is flagged for the panel (``majority_yes``)
    but does not overturn the ratings: mechanical combination is the point of the rule.
    """
    counting = ev.counting
    if outcome in HIRE_SIDE:
        side, kind, direction, said, ratings = NO_SIDE, "majority_no", AGAINST, "no", "a hire"
    else:
        side, kind, direction, said, ratings = YES_SIDE, "majority_yes", INFO, "yes", "no hire"
    cards = [c for c in counting if c.recommendation in side]
    if 2 * len(cards) <= len(counting):
        return None
    return Flag(kind, ",".join(sorted(c.ref for c in cards)),
                f"{len(cards)} of {len(counting)} interviewers recommend {said}, while the "
                f"ratings say {ratings}: the panel must reconcile them", direction,
                {said: [c.ref for c in cards], "scorecards": len(counting)})


def decide(ev: Evidence, outcome: str, outcome_reasons: list[str], flags: list[Flag],
           failed: list[str]) -> tuple[str, list[str], list[Flag]]:
    """The decision from the evidence outcome and the flags; and the flags that block it.

    A failed must-pass criterion is a no-hire unless its evidence is contested: its
    interviewers disagree on it, or on its topic.
    """
    hire_side = outcome in HIRE_SIDE
    if failed:
        topics = {ev.loop.criteria[cid][0].id for cid in failed}
        contested = [f for f in flags
                     if (f.kind == "disagreement" and f.details.get("criterion") in failed)
                     or (f.kind == "topic_disagreement" and f.details.get("topic") in topics)]
        if contested:
            return ("needs_discussion", [*outcome_reasons, *(f.message for f in contested)],
                    contested)
        return "no_hire", outcome_reasons, []
    blocking = [f for f in flags if f.blocks(hire_side)]
    if blocking:
        return ("needs_discussion",
                [f"the ratings alone say {outcome.replace('_', ' ')}: {outcome_reasons[0]}",
                 *(f.message for f in blocking)], blocking)
    return outcome, outcome_reasons, []


def dissenters(ev: Evidence, outcome: str) -> list[Card]:
    """Interviewers whose recommendation points the other way from the evidence outcome."""
    other = NO_SIDE if outcome in HIRE_SIDE else YES_SIDE
    return [c for c in ev.counting if c.recommendation in other]


CONFIDENCE_MEANING = (
    "Confidence says how much independent evidence stands behind the recommendation: high "
    "means every key criterion was seen in at least {n} separate interviews, every weighted "
    "topic by at least {n} independent interviewers, the interviewers do not disagree and no "
    "single rating would change the outcome; low means the rule could not recommend at all.")


DISPUTES = ("disagreement", "topic_disagreement", "split_recommendation", "majority_no",
            "majority_yes")


def confidence(ev: Evidence, decision: str, gaps: Gaps, flags: list[Flag], fragile: bool,
               blocking: set[str]) -> dict[str, Any]:
    rule = ev.loop.role.aggregation
    need = rule.high_confidence_raters
    why_not: list[str] = []
    could_not = decision in ("incomplete", "insufficient_evidence")
    if could_not:
        why_not.append("the rule could not recommend: "
                       + ("a stage is missing" if decision == "incomplete"
                          else "the evidence is insufficient"))
    thin_keys = sorted(cid for cid, n in gaps.key_observations.items() if n < need)
    if thin_keys:
        why_not.append(f"{len(thin_keys)} key criteri{'a rest' if len(thin_keys) != 1 else 'on rests'} "
                       f"on fewer than {need} separate interviews: {', '.join(thin_keys)}")
    thin_topics = sorted(a for a, n in gaps.topic_observations.items() if n < need)
    if thin_topics:
        why_not.append(f"fewer than {need} independent interviewers on: {', '.join(thin_topics)}")
    disputes = [f for f in flags if f.kind in DISPUTES or f.id in blocking]
    if disputes:
        why_not.append(f"{len(disputes)} disagreement{'s' if len(disputes) != 1 else ''} "
                       f"open: {', '.join(sorted({f.kind for f in disputes}))}")
    if fragile:
        why_not.append("one rating would change the outcome (fragile)")
    level = "low" if could_not else ("medium" if why_not else "high")
    return {"level": level, "meaning": CONFIDENCE_MEANING.format(n=need),
            "basis": "low when the rule could not recommend; high when nothing below stands "
                     "in the way; medium otherwise",
            "not_high_because": why_not,
            "key_criteria": {cid: {"ratings": gaps.key_ratings[cid],
                                   "independent_observations": gaps.key_observations[cid]}
                             for cid in gaps.key_ratings}}
