"""Combining interview ratings mechanically into a level recommendation (rule 2).

The rule is written down, with worked examples, in docs/aggregation.md, and the code
follows its steps: gather the evidence (evidence.py), score criteria and levels and
place each topic (levels.py), flag what the panel must look at (flags.py), check the
evidence is enough and decide (decision.py), and measure the margin (margin.py). It is
deterministic (integer and exact-fraction arithmetic, no dependence on file names or
submission order) and monotone: more or better evidence never lowers a level.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rubrics.aggregation import decision as rule2
from rubrics.aggregation.evidence import Evidence, Rated
from rubrics.aggregation.flags import (
    INFO,
    Flag,
    coverage_flags,
    criterion_disagreements,
    inconsistent_levels,
    recommendation_flags,
    topic_disagreements,
)
from rubrics.aggregation.levels import (
    Overall,
    Scale,
    Tally,
    TopicLevel,
    criterion_tallies,
    level_tallies,
    overall,
    place_topics,
    sub_level,
)
from rubrics.aggregation.margin import Margin, margin
from rubrics.roles import InterviewLoop

__all__ = ["DISCLAIMER", "RULE_VERSION", "Outcome", "Rated", "aggregate", "outcome"]

RULE_VERSION = 2
DISCLAIMER = ("This is a mechanical recommendation to the hiring panel, not a decision: the panel "
              "decides, and records how it resolved each flag (rubrics decide).")
SUB_LEVEL_MEANING = ("The sub-level letter is the share of the recommended level's own "
                     "behaviours that were shown, as the framework defines it: {first} for "
                     "the fewest, {last} for (nearly) all.")


def _num(x: Fraction | int | None) -> float | None:
    return None if x is None else round(float(x), 3)


def aggregate(loop: InterviewLoop, rated: list[Rated], *, pack_id: str,
              candidate: dict[str, Any]) -> dict[str, Any]:
    """The level recommendation for one candidate, with every number traceable."""
    ev = Evidence.gather(loop, rated)
    scale = Scale.of(ev)
    tallies = criterion_tallies(ev.ratings)
    per_level = level_tallies(ev, tallies)
    placed = place_topics(ev, per_level, scale)
    result = overall({a: t.value for a, t in placed.items()}, scale)
    sub, sub_basis = sub_level(ev, tallies, result)

    missing = _missing_stages(ev)
    flags = _flags(ev, placed, missing)
    gaps = rule2.evidence_gaps(ev)
    found = _decide(ev, result, tallies, per_level, placed, scale, missing, gaps, flags)
    decision, reasons, blocking, outcome, the_margin = found
    for f in flags:
        f.scope = pack_id
    blocking_ids = {f.id for f in blocking}
    confidence = rule2.confidence(ev, decision, gaps, flags,
                                  bool(the_margin and the_margin.fragile), blocking_ids)
    per_topic = _confidence_per_topic(ev, placed, flags)
    fw = loop.framework
    return {
        "pack_id": pack_id,
        "candidate": candidate,
        "role": {"id": loop.role.id, "title": loop.role.title,
                 "target_level": loop.role.target_level,
                 "band": [loop.role.band.min, loop.role.band.max]},
        "framework": {"id": fw.id, "title": fw.title},
        "recommended_level": result.level,
        "recommended_below": result.below,
        "sub_level": sub,
        "sub_level_basis": sub_basis,
        "sub_level_meaning": SUB_LEVEL_MEANING.format(first=fw.sub_levels[0],
                                                      last=fw.sub_levels[-1])
        if fw.sub_levels else None,
        "weighted_mean_level": _num(result.weighted_mean),
        "decision": decision,
        "decision_reasons": reasons,
        "evidence_outcome": outcome,
        "dissent": [_dissent(c) for c in rule2.dissenters(ev, outcome)] if outcome else [],
        "confidence": {**confidence, **per_topic},
        "evidence": {"enough": not gaps.messages, "gaps": gaps.messages,
                     "independent_observations": gaps.topic_observations,
                     "floor": scale.floor, "topic_floors": scale.floors},
        "fragile": the_margin.fragile if the_margin else None,
        "margin": the_margin.to_json() if the_margin else None,
        "topics": _topics(ev, placed, per_level, tallies, per_topic["per_topic"]),
        "flags": [f.to_json(f.id in blocking_ids) for f in flags],
        "missing_stages": missing,
        "recommendations": [
            {"submission": c.ref, "stage": c.stage, "interviewer": c.interviewer,
             "interviewer_email": c.submission.interviewer_email,
             "recommendation": c.recommendation.value, "notes": c.submission.notes,
             "counted": c.counts}
            for c in ev.cards
        ],
        "amendments": [],
        "panel_decision": None,
        "rule": {"version": RULE_VERSION, **loop.role.aggregation.model_dump()},
        "disclaimer": DISCLAIMER,
    }


@dataclass(frozen=True)
class Outcome:
    """What :func:`aggregate` decides for one candidate, and the overall level."""

    decision: str
    evidence_outcome: str | None
    level: int | None
    below: bool


def outcome(loop: InterviewLoop, rated: list[Rated]) -> Outcome:
    """The decision, evidence outcome and overall level :func:`aggregate` reports, without
    the margin (its ``fragile`` flag is information and never changes the decision): for
    reading many packs at once, as calibration does."""
    ev = Evidence.gather(loop, rated)
    scale = Scale.of(ev)
    tallies = criterion_tallies(ev.ratings)
    per_level = level_tallies(ev, tallies)
    placed = place_topics(ev, per_level, scale)
    result = overall({a: t.value for a, t in placed.items()}, scale)
    missing = _missing_stages(ev)
    found = _decide(ev, result, tallies, per_level, placed, scale, missing,
                    rule2.evidence_gaps(ev), _flags(ev, placed, missing), with_margin=False)
    return Outcome(found[0], found[3], result.level, result.below)


def _flags(ev: Evidence, placed: dict[str, TopicLevel], missing: list[str]) -> list[Flag]:
    """The flags that do not depend on the evidence outcome."""
    disputes = criterion_disagreements(ev)
    return [*coverage_flags(ev, missing), *disputes, *topic_disagreements(ev, disputes),
            *inconsistent_levels(ev, placed), *recommendation_flags(ev)]


Decided = tuple[str, list[str], list[Flag], str | None, Margin | None]


def _decide(ev: Evidence, result: Overall, tallies: dict[str, Tally],
            per_level: dict[str, dict[int, Tally]], placed: dict[str, TopicLevel],
            scale: Scale, missing: list[str], gaps: rule2.Gaps, flags: list[Flag],
            with_margin: bool = True) -> Decided:
    """The decision and its reasons, the flags that hold it up, the evidence outcome, and
    the margin (None without ``with_margin``); ``flags`` gains the flags that depend on the
    outcome."""
    if missing:
        blank = [f"{c.interviewer} ({c.stage}) returned a scorecard that rates nothing"
                 for c in ev.blank]
        return ("incomplete", [f"no scorecard that rates anything for: {', '.join(missing)}",
                               *blank], [], None, None)
    if gaps.messages or result.rounded is None:
        return ("insufficient_evidence", gaps.messages or ["no weighted topic was rated"],
                [], None, None)
    failed = rule2.failed_must_pass(ev, tallies)
    outcome, why = rule2.evidence_outcome(ev, result, failed, tallies, scale.floor)
    extra = rule2.majority_against(ev, outcome)
    if extra is not None:
        flags.append(extra)
    the_margin = None
    if with_margin:
        the_margin = margin(ev, tallies, per_level, placed, scale, failed, outcome,
                            result.rounded)
        if the_margin.fragile:  # (information: it never holds the outcome up)
            flags.append(_fragile_flag(the_margin))
    standing = rule2.Standing(placed, tallies, scale, outcome)
    decision, reasons, blocking = rule2.decide(ev, standing, why, flags)
    return decision, reasons, blocking, outcome, the_margin


def _fragile_flag(m: Margin) -> Flag:
    named = "; ".join(f"{c['interviewer']} ({c['stage']}) rating {c['criterion']} "
                      f"{'unrated' if c['from'] is None else c['from']} → {c['to']} gives "
                      f"{c['outcome'].replace('_', ' ')}" for c in m.changes[:3])
    more = f" (and {len(m.changes) - 3} more)" if len(m.changes) > 3 else ""
    key = ";".join(f"{c['submission']}:{c['criterion']}:{c['from']}:{c['to']}" for c in m.changes)
    return Flag("fragile", key,
                f"{len(m.changes)} single rating change{'s' if len(m.changes) != 1 else ''} "
                f"would change what the ratings say: {named}{more}", INFO,
                {"changes": m.changes[:3]})


def _missing_stages(ev: Evidence) -> list[str]:
    returned = {c.stage for c in ev.counting}
    return [s.id for s in ev.loop.role.stages if s.id not in returned]


def _dissent(card: Any) -> dict[str, str]:
    return {"submission": card.ref, "stage": card.stage, "interviewer": card.interviewer,
            "recommendation": card.recommendation.value}


def _confidence_per_topic(ev: Evidence, placed: dict[str, TopicLevel], flags: list[Flag]
                          ) -> dict[str, Any]:
    weights = ev.loop.role.topic_weights
    rule = ev.loop.role.aggregation
    disputed = {f.details.get("topic") for f in flags if f.kind == "topic_disagreement"}
    disputed |= {ev.loop.criteria[f.details["criterion"]][0].id for f in flags
                 if f.kind == "disagreement"}
    per_topic = {}
    for a in placed:
        ratings = [r for c in ev.loop.areas[a].criteria for r in ev.ratings.get(c.id, ())]
        n = ev.area_observations(a)
        consistent = placed[a].consistent
        if n < min(rule.min_topic_observations, rule.high_confidence_raters):
            level = "low"
        elif n >= rule.high_confidence_raters and a not in disputed and consistent:
            level = "high"
        else:
            level = "medium"
        per_topic[a] = {"confidence": level, "raters": len({r.person for r in ratings}),
                        "independent_observations": n,
                        "max_spread": _num(max((ev.spread(c.id) for c in ev.loop.areas[a].criteria
                                                if c.id in ev.ratings), default=0))}
    return {"per_topic": per_topic,
            "unrated_weighted_topics": sorted(a for a, w in weights.items()
                                              if w > 0 and a not in placed)}


def _topics(ev: Evidence, placed: dict[str, TopicLevel], per_level: dict[str, dict[int, Tally]],
            tallies: dict[str, Tally], conf: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    said = _evidence_texts(ev)
    names = {c.ref: c.interviewer for c in ev.cards}
    rated: dict[str, list[str]] = {}
    for cid in sorted(tallies, key=ev.loop.position):
        rated.setdefault(ev.loop.criteria[cid][0].id, []).append(cid)
    out = []
    for area in ev.loop.areas.values():
        if area.id not in placed:
            continue
        t, levels, cids = placed[area.id], per_level[area.id], rated[area.id]
        out.append({
            "id": area.id,
            "title": area.title,
            "kind": area.kind,
            "weight": ev.loop.role.topic_weights.get(area.id, 0),
            "level": t.level,
            "below": t.below,
            "counted_as": t.value,
            "basis": _basis(t),
            "strength": None if t.below else round(levels[t.level][0] / levels[t.level][1], 2),
            **conf[area.id],
            "levels": {str(lv): _level_row(ev, lv, levels[lv], cids, tallies) for lv in t.ladder},
            "criteria": [_criterion(ev, cid, tallies[cid], said, names) for cid in cids],
            "submissions": sorted({r.ref for cid in cids for r in ev.ratings[cid]}),
        })
    return out


def _basis(t: TopicLevel) -> str:
    rungs = ", ".join(str(lv) for lv in t.ladder)
    passed = ", ".join(str(lv) for lv in t.passed) or "none"
    text = (f"rated at level{'s' if len(t.ladder) != 1 else ''} {rungs}; passed: {passed}")
    if t.below:
        return text + (f": below level {t.level}, counted as {t.value} (the level below the "
                       "lowest at which the loop assesses this topic)")
    if t.consistent:
        return text + f", so level {t.level}"
    failed = ", ".join(str(lv) for lv in t.ladder if lv not in t.passed)
    return text + (f"; level {failed} did not, although a higher level did: the evidence "
                   f"contradicts itself, so the topic is placed by the number of levels "
                   f"passed ({len(t.passed)} of {len(t.ladder)}), level {t.level}, and is not "
                   "high confidence")


def _level_row(ev: Evidence, lv: int, tally: Tally, cids: list[str], tallies: dict[str, Tally]
               ) -> dict[str, Any]:
    crits = [c for c in cids if ev.loop.criteria[c][1].level == lv]
    return {"rated": len(crits), "shown": sum(1 for c in crits if ev.shown(*tallies[c])),
            "ratings": tally[1], "mean": round(tally[0] / tally[1], 3),
            "passed": ev.shown(*tally)}


def _criterion(ev: Evidence, cid: str, tally: Tally, said: dict[str, list[dict[str, str]]],
               names: dict[str, str]) -> dict[str, Any]:
    crit = ev.loop.criteria[cid][1]
    return {
        "id": cid,
        "text": crit.text,
        "level": crit.level,
        "key": cid in ev.keys,
        "must_pass": cid in ev.must_pass,
        "score": round(tally[0] / tally[1], 3),
        "shown": ev.shown(*tally),
        "spread": _num(ev.spread(cid)),
        "independent_observations": ev.observations(cid),
        "ratings": [{"submission": r.ref, "stage": r.stage, "interviewer": names[r.ref],
                     "rating": r.value} for r in ev.ratings[cid]],
        "evidence": said.get(cid, []),
    }


def _evidence_texts(ev: Evidence) -> dict[str, list[dict[str, str]]]:
    """Criterion id -> what each counting scorecard wrote about it."""
    said: dict[str, list[dict[str, str]]] = {}
    for c in ev.counting:
        for cid, text in c.submission.evidence.items():
            if text.strip():
                said.setdefault(cid, []).append({"submission": c.ref, "stage": c.stage,
                                                 "interviewer": c.interviewer,
                                                 "text": text.strip()})
    return said
