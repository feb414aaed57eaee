"""Steps 9-12 of the rule: enough evidence?, what the ratings say, the decision, confidence.

The decision, first that applies:

1. ``incomplete``: a stage has no scorecard that rates anything;
2. ``insufficient_evidence``: a weighted topic has fewer independent observations than
   ``min_topic_observations``, or a key criterion fewer ratings than ``min_key_ratings``;
3. ``needs_discussion`` when a flag holds up what the ratings say (the **evidence
   outcome**: ``no_hire`` when a must-pass key criterion is not shown, otherwise the
   overall level against the role's band): a flag against a hire holds up a hire; a
   contested flag holds up any outcome that settling it either way would change;
4. otherwise the evidence outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rubrics.aggregation.evidence import NO_SIDE, YES_SIDE, Card, Evidence
from rubrics.aggregation.flags import AGAINST, CONTESTED, INFO, Flag
from rubrics.aggregation.levels import (
    Overall,
    Scale,
    Tally,
    TopicLevel,
    rounded_mean,
    topic_level,
)

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


def outcome_of(ev: Evidence, values: dict[str, int], tallies: dict[str, Tally],
               scale: Scale) -> str:
    """The evidence outcome for topic values and criterion tallies (a what-if)."""
    if failed_must_pass(ev, tallies):
        return "no_hire"
    rounded = rounded_mean(values, scale)
    return "no_hire" if rounded is None else band_of(ev, rounded, scale.floor)


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


@dataclass(frozen=True)
class Standing:
    """Where the evidence stands: what the what-if questions start from."""

    placed: dict[str, TopicLevel]
    tallies: dict[str, Tally]
    scale: Scale
    outcome: str


def decide(ev: Evidence, standing: Standing, outcome_reasons: list[str], flags: list[Flag]
           ) -> tuple[str, list[str], list[Flag]]:
    """The decision from the evidence outcome and the flags; and the flags that hold it up."""
    hire_side = standing.outcome in HIRE_SIDE
    blocking = [f for f in flags
                if (f.direction == AGAINST and hire_side)
                or (f.direction == CONTESTED and could_overturn(ev, f, standing))]
    if not blocking:
        return standing.outcome, outcome_reasons, []
    said = standing.outcome.replace("_", " ")
    return ("needs_discussion", [f"the ratings alone say {said}: {outcome_reasons[0]}",
                                 *outcome_reasons[1:], *(f.message for f in blocking)], blocking)


def could_overturn(ev: Evidence, flag: Flag, standing: Standing) -> bool:
    """Whether settling a contested flag one way or the other changes the evidence outcome.

    - a disagreement on a criterion: every interview rates it as the highest, or as the
      lowest, of the ratings it was given;
    - a topic disagreement: only the interviewer's ratings of the topic count, or only
      those of the interviewers who contradict them;
    - inconsistent levels: the topic is placed at its highest level passed, or at the
      last level before its lowest failed one.

    Each way recomputes only the one topic it touches.
    """
    if flag.kind == "inconsistent_levels":
        area_id = flag.details["topic"]
        return any(_outcome_with(ev, standing, area_id, value, standing.tallies)
                   != standing.outcome for value in _readings(standing, area_id))
    for area_id, changes in _settlements(ev, flag):
        tallies = dict(standing.tallies)
        for cid, ratings in changes:
            if ratings:
                tallies[cid] = (sum(r.value for r in ratings), len(ratings))
            else:
                tallies.pop(cid, None)
        area = ev.loop.areas[area_id]
        levels: dict[int, list[int]] = {}
        for crit in area.criteria:
            if crit.id in tallies:
                slot = levels.setdefault(crit.level, [0, 0])
                slot[0] += tallies[crit.id][0]
                slot[1] += tallies[crit.id][1]
        value = (topic_level({lv: (t[0], t[1]) for lv, t in levels.items()}, ev,
                             standing.scale.floor_of(area_id)).value if levels else None)
        if _outcome_with(ev, standing, area_id, value, tallies) != standing.outcome:
            return True
    return False


def _settlements(ev: Evidence, flag: Flag) -> list[tuple[str, list[tuple[str, list[Any]]]]]:
    """The ways of settling a contested flag: (its topic, the criteria's new ratings)."""
    if flag.kind == "disagreement":
        cid = flag.details["criterion"]
        ratings = ev.ratings[cid]
        values = [r.value for r in ratings]
        area_id = ev.loop.criteria[cid][0].id
        return [(area_id, [(cid, [r._replace(value=v) for r in ratings])])
                for v in (max(values), min(values))]
    if flag.kind == "topic_disagreement":
        person, others = flag.about[0], set(flag.about[1:])
        area = ev.loop.areas[flag.details["topic"]]
        keep_others = [(c.id, [r for r in ev.ratings[c.id] if r.person != person])
                       for c in area.criteria if c.id in ev.ratings]
        keep_person = [(c.id, [r for r in ev.ratings[c.id] if r.person not in others])
                       for c in area.criteria if c.id in ev.ratings]
        return [(area.id, keep_others), (area.id, keep_person)]
    return []


def _readings(standing: Standing, area_id: str) -> list[int]:
    """A contradictory topic's value read optimistically and pessimistically."""
    t = standing.placed[area_id]
    failed = [lv for lv in t.ladder if lv not in t.passed]
    below = [lv for lv in t.ladder if lv < min(failed)]
    pessimistic = max(below) if below else standing.scale.floor_of(area_id)
    return [max(t.passed), pessimistic]


def _outcome_with(ev: Evidence, standing: Standing, area_id: str, value: int | None,
                  tallies: dict[str, Tally]) -> str:
    """The evidence outcome with one topic's value (None: unrated) and the tallies given."""
    values = {a: t.value for a, t in standing.placed.items()}
    if value is None:
        values.pop(area_id, None)
    else:
        values[area_id] = value
    return outcome_of(ev, values, tallies, standing.scale)


def dissenters(ev: Evidence, outcome: str) -> list[Card]:
    """Interviewers whose recommendation points the other way from the evidence outcome."""
    other = NO_SIDE if outcome in HIRE_SIDE else YES_SIDE
    return [c for c in ev.counting if c.recommendation in other]


CONFIDENCE_MEANING = (
    "Confidence says how much independent evidence stands behind what the ratings say "
    "(hire, hire below target or no hire; not the exact level): high means every key "
    "criterion was seen in at least {n} separate interviews, every weighted topic by at "
    "least {n} independent interviewers, the interviewers do not disagree, no topic's levels "
    "contradict each other and no single rating would change the outcome; low means the "
    "rule could not recommend, or one rating would change what it recommends.")
DISPUTES = ("disagreement", "topic_disagreement", "split_recommendation", "majority_no",
            "majority_yes", "inconsistent_levels")


def confidence(ev: Evidence, decision: str, gaps: Gaps, flags: list[Flag], fragile: bool,
               blocking: set[str]) -> dict[str, Any]:
    need = ev.loop.role.aggregation.high_confidence_raters
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
    disputes = sorted({f.kind.replace("_", " ") for f in flags if f.kind in DISPUTES})
    holding = sorted({f.kind.replace("_", " ") for f in flags
                      if f.id in blocking and f.kind not in DISPUTES})
    if disputes:
        why_not.append(f"the interviewers disagree ({', '.join(disputes)})")
    if holding:
        why_not.append(f"flags hold up the outcome ({', '.join(holding)})")
    if fragile:
        why_not.append("one rating would change the outcome (fragile)")
    level = "low" if could_not or fragile else ("medium" if why_not else "high")
    return {"level": level, "meaning": CONFIDENCE_MEANING.format(n=need),
            "basis": "low when the rule could not recommend or one rating would change the "
                     "outcome; high when nothing below stands in the way; medium otherwise",
            "not_high_because": why_not,
            "key_criteria": {cid: {"ratings": gaps.key_ratings[cid],
                                   "independent_observations": gaps.key_observations[cid]}
                             for cid in gaps.key_ratings}}
