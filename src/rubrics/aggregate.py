"""Combining interview ratings mechanically into a level recommendation.

The rule is written down, with a worked example, in docs/aggregation.md. It is
deterministic (exact fractions, no floating-point ties, no dependence on file
names or submission order) and monotone: raising any rating never lowers a
topic's level or the overall level. Its thresholds live in the role file.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rubrics.model import AggregationRule, Recommendation, Submission, interviewer_key
from rubrics.roles import InterviewLoop

DISCLAIMER = ("This is a mechanical recommendation to the hiring panel, not a decision: the panel "
              "decides, and resolves every flag before it does.")
RECOMMENDATION_ORDER = {Recommendation.STRONG_NO: 0, Recommendation.NO: 1,
                        Recommendation.YES: 2, Recommendation.STRONG_YES: 3}
BLOCKING_FLAGS = ("strong_no", "split_recommendation", "red_flag", "disagreement")


@dataclass(frozen=True)
class Rated:
    """One submission as aggregation sees it."""

    ref: str  # e.g. "0003" (the submission's number in the pack log)
    submission: Submission


def _num(x: Fraction) -> float:
    return round(float(x), 3)


def aggregate(loop: InterviewLoop, rated: list[Rated], *, pack_id: str,
              candidate: dict[str, Any]) -> dict[str, Any]:
    """The level recommendation for one candidate, with every number traceable."""
    role, framework = loop.role, loop.framework
    rule: AggregationRule = role.aggregation
    demonstrated_at = Fraction(str(rule.demonstrated_at))
    pass_fraction = Fraction(str(rule.level_pass_fraction))
    rated = sorted(rated, key=lambda r: (r.submission.stage,
                                         r.submission.interviewer.casefold(), r.ref))

    names = {r.ref: r.submission.interviewer for r in rated}
    # ratings[cid][interviewer] -> list of (rating, ref, stage)
    ratings: dict[str, dict[str, list[tuple[int, str, str]]]] = defaultdict(lambda: defaultdict(list))
    evidence: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rated:
        sub = r.submission
        who = " ".join(sub.interviewer.split())
        for cid, value in sub.ratings.items():
            if value is not None and cid in loop.criteria:
                ratings[cid][interviewer_key(who)].append((value, r.ref, sub.stage))
        for cid, text in sub.evidence.items():
            if text.strip() and cid in loop.criteria:
                evidence[cid].append({"submission": r.ref, "stage": sub.stage,
                                      "interviewer": who, "text": text.strip()})

    scores: dict[str, tuple[Fraction, Fraction]] = {}
    for cid, by_rater in ratings.items():
        if all(len(vals) == 1 for vals in by_rater.values()):  # the usual case: plain integers
            ints = [vals[0][0] for vals in by_rater.values()]
            scores[cid] = (Fraction(sum(ints), len(ints)), Fraction(max(ints) - min(ints)))
            continue
        per_rater = [Fraction(sum(v for v, _, _ in vals), len(vals)) for vals in by_rater.values()]
        mean = sum(per_rater, Fraction(0)) / len(per_rater)
        scores[cid] = (mean, max(per_rater) - min(per_rater))
    criterion_score = scores.get

    topics = []
    level_of: dict[str, int] = {}
    for area in loop.areas.values():
        criteria_out: list[dict[str, Any]] = []
        by_level: dict[int, list[bool]] = defaultdict(list)
        raters: set[str] = set()
        spread = Fraction(0)
        for crit in area.criteria:
            scored = criterion_score(crit.id)
            if scored is None:
                continue
            mean, crit_spread = scored
            shown = mean >= demonstrated_at
            by_level[crit.level].append(shown)
            raters.update(ratings[crit.id].keys())
            spread = max(spread, crit_spread)
            criteria_out.append({
                "id": crit.id,
                "text": crit.text,
                "level": crit.level,
                "score": _num(mean),
                "shown": shown,
                "spread": _num(crit_spread),
                "ratings": [
                    {"submission": ref, "stage": stage, "interviewer": names[ref],
                     "rating": value}
                    for vals in ratings[crit.id].values() for value, ref, stage in vals
                ],
                "evidence": evidence.get(crit.id, []),
            })
        if not criteria_out:
            continue
        passed = {lv: Fraction(sum(s), len(s)) >= pass_fraction for lv, s in by_level.items()}
        reached = None  # levels are cumulative: climb while every assessed level passes
        for lv in sorted(passed):
            if not passed[lv]:
                break
            reached = lv
        if reached is not None:
            level = reached
            failed_above = [lv for lv in sorted(passed) if lv > reached and not passed[lv]]
            basis = (f"level {level} is the highest level reached with every assessed level "
                     f"up to it passing (at least {_pct(pass_fraction)} of its rated criteria "
                     "shown)")
            if failed_above:
                basis += f"; level {failed_above[0]} did not pass"
        else:
            level = min(by_level) - 1
            basis = (f"the lowest assessed level ({min(by_level)}) did not reach "
                     f"{_pct(pass_fraction)} shown, so one below it")
        level = min(max(level, framework.min_level), framework.max_level)
        level_of[area.id] = level
        topic_confidence = _confidence(len(raters), len(criteria_out), spread, rule)
        topics.append({
            "id": area.id,
            "title": area.title,
            "kind": area.kind,
            "weight": role.topic_weights.get(area.id, 0),
            "level": level,
            "basis": basis,
            "confidence": topic_confidence,
            "raters": len(raters),
            "max_spread": _num(spread),
            "levels": {str(lv): {"rated": len(s), "shown": sum(s), "passed": passed[lv]}
                       for lv, s in sorted(by_level.items())},
            "criteria": criteria_out,
            "submissions": sorted({r["submission"] for c in criteria_out for r in c["ratings"]}),
        })

    weights = {a: Fraction(str(w)) for a, w in role.topic_weights.items()
               if w > 0 and a in level_of}
    total = sum(weights.values(), Fraction(0))
    recommended: int | None = None
    weighted_mean: Fraction | None = None
    if total > 0:
        weighted_mean = sum((w * level_of[a] for a, w in weights.items()), Fraction(0)) / total
        recommended = _round_half_down(weighted_mean)
        recommended = min(max(recommended, framework.min_level), framework.max_level)

    sub_level, sub_basis = _sub_level(loop, recommended, criterion_score, demonstrated_at)
    flags = _flags(loop, rated, ratings, criterion_score, rule)
    stage_ids = {r.submission.stage for r in rated}
    missing_stages = [s.id for s in role.stages if s.id not in stage_ids]
    for sid in missing_stages:
        flags.append({"kind": "missing_stage", "stage": sid,
                      "message": f"no scorecard returned for stage '{sid}'"})

    confidence = _overall_confidence(topics, role.topic_weights, missing_stages)
    decision, reasons = _decision(loop, recommended, flags, missing_stages)
    return {
        "pack_id": pack_id,
        "candidate": candidate,
        "role": {"id": role.id, "title": role.title, "target_level": role.target_level,
                 "band": [role.band.min, role.band.max]},
        "framework": {"id": framework.id, "title": framework.title},
        "recommended_level": recommended,
        "sub_level": sub_level,
        "sub_level_basis": sub_basis,
        "weighted_mean_level": _num(weighted_mean) if weighted_mean is not None else None,
        "decision": decision,
        "decision_reasons": reasons,
        "confidence": confidence,
        "topics": topics,
        "flags": flags,
        "missing_stages": missing_stages,
        "recommendations": [
            {"submission": r.ref, "stage": r.submission.stage,
             "interviewer": r.submission.interviewer,
             "recommendation": r.submission.recommendation.value,
             "notes": r.submission.notes}
            for r in rated
        ],
        "rule": rule.model_dump(),
        "disclaimer": DISCLAIMER,
    }


def _pct(x: Fraction) -> str:
    return f"{float(x) * 100:g}%"


def _round_half_down(x: Fraction) -> int:
    """Nearest whole level; exactly half-way rounds down (the conservative side)."""
    floor = math.floor(x)
    return floor + 1 if x - floor > Fraction(1, 2) else floor


def _confidence(raters: int, rated_criteria: int, spread: Fraction, rule: AggregationRule) -> str:
    if raters >= rule.high_confidence_raters and spread < rule.disagreement_spread:
        return "high"
    if raters >= 2 or rated_criteria >= 2:
        return "medium"
    return "low"


def _overall_confidence(topics: list[dict[str, Any]], weights: dict[str, float],
                        missing: list[str]) -> dict[str, Any]:
    order = ["low", "medium", "high"]
    weighted = [t for t in topics if weights.get(t["id"], 0) > 0]
    unrated = sorted(a for a, w in weights.items() if w > 0
                     and a not in {t["id"] for t in topics})
    levels = [t["confidence"] for t in weighted]
    value = min(levels, key=order.index) if levels else "low"
    if unrated or missing:
        value = "low"
    return {
        "level": value,
        "basis": "the lowest confidence of any weighted topic; low when a weighted topic was "
                 "not rated or a stage is missing",
        "per_topic": {t["id"]: {"confidence": t["confidence"], "raters": t["raters"],
                                "max_spread": t["max_spread"]} for t in topics},
        "unrated_weighted_topics": unrated,
    }


def _sub_level(loop: InterviewLoop, level: int | None, score: Any,
               demonstrated_at: Fraction) -> tuple[str | None, str | None]:
    subs = loop.framework.sub_levels
    if not subs or level is None:
        return None, None
    target = level + 1 if level < loop.framework.max_level else level
    rated = [(cid, s) for cid, (_, crit) in loop.criteria.items()
             if crit.level == target and (s := score(cid)) is not None]
    if not rated:
        return subs[0], f"no behaviours of level {target} were assessed"
    shown = sum(1 for _, s in rated if s[0] >= demonstrated_at)
    index = min(len(subs) - 1, shown * len(subs) // len(rated))
    return subs[index], f"{shown} of {len(rated)} assessed behaviours of level {target} shown"


def _flags(loop: InterviewLoop, rated: list[Rated], ratings: Any, score: Any,
           rule: AggregationRule) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []
    names = {r.ref: r.submission.interviewer for r in rated}
    for cid in loop.criteria:
        scored = score(cid)
        if scored is not None and scored[1] >= rule.disagreement_spread:
            given = sorted((v, names[ref]) for vals in ratings[cid].values()
                           for v, ref, _ in vals)
            text = loop.criteria[cid][1].text
            flags.append({"kind": "disagreement", "criterion": cid,
                          "ratings": [{"rating": v, "interviewer": who} for v, who in given],
                          "message": f"raters differ by {_num(scored[1]):g} on '{text}' "
                                     f"({', '.join(f'{who}: {v}' for v, who in given)})"})
    recs = [r.submission.recommendation for r in rated]
    if recs:
        low = min(RECOMMENDATION_ORDER[r] for r in recs)
        high = max(RECOMMENDATION_ORDER[r] for r in recs)
        if low <= 1 and high >= 2 and high - low >= 2:
            flags.append({"kind": "split_recommendation",
                          "recommendations": sorted({r.value for r in recs},
                                                    key=lambda v: RECOMMENDATION_ORDER[Recommendation(v)]),
                          "message": "interviewers' recommendations are split "
                                     f"({', '.join(sorted({r.value for r in recs}))})"})
    for r in rated:
        sub = r.submission
        if sub.recommendation is Recommendation.STRONG_NO:
            flags.append({"kind": "strong_no", "submission": r.ref, "stage": sub.stage,
                          "interviewer": sub.interviewer,
                          "message": f"{sub.interviewer} ({sub.stage}) recommends strong no"})
        for text in sub.red_flags:
            flags.append({"kind": "red_flag", "submission": r.ref, "stage": sub.stage,
                          "interviewer": sub.interviewer, "text": text,
                          "message": f"red flag noted by {sub.interviewer} ({sub.stage}): {text}"})
    returned = {r.submission.stage for r in rated}
    for row in loop.coverage():
        # a criterion whose every stage is missing is covered by the missing_stage flag
        if score(row.criterion.id) is None and returned.intersection(row.stages):
            flags.append({"kind": "unrated_criterion", "criterion": row.criterion.id,
                          "text": row.criterion.text,
                          "message": f"nobody rated '{row.criterion.text}' "
                                     f"({row.criterion.id})"})
    return flags


def _decision(loop: InterviewLoop, level: int | None, flags: list[dict[str, Any]],
              missing: list[str]) -> tuple[str, list[str]]:
    role = loop.role
    if missing:
        return "incomplete", [f"missing scorecards for: {', '.join(missing)}"]
    blocking = [f["message"] for f in flags if f["kind"] in BLOCKING_FLAGS]
    if blocking:
        return "needs_discussion", blocking
    if level is None:
        return "incomplete", ["no weighted topic was rated"]
    if level >= role.target_level:
        return "hire", [f"recommended level {level} meets the target level {role.target_level}"]
    if level >= role.band.min:
        return "hire_below_target", [f"recommended level {level} is inside the band "
                                     f"{role.band.min}-{role.band.max}, below the target "
                                     f"{role.target_level}"]
    return "no_hire", [f"recommended level {level} is below the band "
                       f"{role.band.min}-{role.band.max}"]
