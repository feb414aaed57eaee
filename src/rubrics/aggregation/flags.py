"""Step 6 of the rule: what the panel must look at before it decides.

Each flag has a stable id (its kind and a short hash of what it is about: a criterion, a
submission, the scorecards on each side of a split), so that a panel can record how it
resolved it (``rubrics decide --resolve ID=TEXT``) and a later report can match the
resolution to the flag; a flag about other evidence gets another id. Each flag also says which way it points:

- ``against``: it speaks against a hire (a strong no, a red flag, most interviewers
  saying no, a strong no from someone who saw every behaviour);
- ``for``: it speaks for a hire against the evidence (a strong yes from someone who saw
  none of the behaviours);
- ``contested``: the evidence itself is disputed (interviewers far apart, split
  recommendations);
- ``info``: something to know (a missing or blank scorecard, an unrated criterion, a
  fragile margin, an amendment that changed the outcome).

A flag *blocks* a mechanical outcome it could overturn: against/contested flags block a
hire, for/contested flags block a no-hire. A blocked outcome becomes ``needs_discussion``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from rubrics.aggregation.evidence import NO_SIDE, YES_SIDE, Card, Evidence
from rubrics.fsutil import sha256_bytes
from rubrics.model import Recommendation

AGAINST, FOR, CONTESTED, INFO = "against", "for", "contested", "info"


@dataclass
class Flag:
    kind: str
    key: str
    message: str
    direction: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind}-{sha256_bytes(f'{self.kind}:{self.key}'.encode())[:6]}"

    def blocks(self, hire_side: bool) -> bool:
        if hire_side:
            return self.direction in (AGAINST, CONTESTED)
        return self.direction in (FOR, CONTESTED)

    def to_json(self, blocking: bool) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "direction": self.direction,
                "blocking": blocking, "message": self.message, **self.details}


def _num(x: Fraction | int) -> float:
    return round(float(x), 2)


def criterion_disagreements(ev: Evidence) -> list[Flag]:
    """Interviewers whose own mean ratings of one criterion are far apart."""
    spread_at = ev.loop.role.aggregation.disagreement_spread
    names = ev.names()
    flags = []
    for cid, ratings in ev.ratings.items():
        spread = ev.spread(cid)
        if spread < spread_at:
            continue
        given = sorted((r.value, names[r.person], r.stage) for r in ratings)
        text = ev.loop.criteria[cid][1].text
        flags.append(Flag(
            "disagreement", cid,
            f"interviewers differ by {_num(spread):g} on '{text}' "
            f"({', '.join(f'{who}: {v}' for v, who, _ in given)})",
            CONTESTED,
            {"criterion": cid, "spread": _num(spread),
             "ratings": [{"rating": v, "interviewer": who, "stage": s} for v, who, s in given]}))
    return flags


def topic_disagreements(ev: Evidence, criterion_flags: list[Flag]) -> list[Flag]:
    """An interviewer whose ratings of a topic contradict the other interviewers' ratings of it.

    Means are compared level by level, as the framework's levels are cumulative: a
    behaviour shown at one level contradicts one not shown at the same or a lower level
    (strong at 5 and weak at 6 is a profile, not a disagreement). Two sides contradict
    when they are ``disagreement_spread`` or more apart.
    """
    names = ev.names()
    spread_at = ev.loop.role.aggregation.disagreement_spread
    flags = []
    disputed = {(area_level(ev, f.details["criterion"]), r.person)
                for f in criterion_flags for r in ev.ratings[f.details["criterion"]]}
    for area in ev.loop.areas.values():
        by_person: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for crit in area.criteria:
            for r in ev.ratings.get(crit.id, []):
                by_person[r.person][crit.level].append(r.value)
        people = sorted(by_person)
        if len(people) < 2 or not _far_apart(by_person, spread_at):
            continue
        found = [(person, c) for person in people
                 if (c := _contradiction(ev, by_person, person)) is not None
                 # one criterion two interviewers rated far apart is flagged already
                 and not (c[2] == c[3] and ((area.id, c[2]), person) in disputed)]
        if len(people) == 2 and len(found) == 2:
            found = found[:1]  # two interviewers: one disagreement, named once
        for person, (mine, theirs, lv_mine, lv_theirs) in found:
            who = names[person]
            others = (names[next(p for p in people if p != person)] if len(people) == 2
                      else "the others")
            gap = abs(mine - theirs)
            flags.append(Flag(
                "topic_disagreement", f"{area.id}:{person}",
                f"{who} and {others} disagree on {area.title}: {who} rates level {lv_mine} at "
                f"{_num(mine):g}, {others} rate{'s' if len(people) == 2 else ''} level "
                f"{lv_theirs} at {_num(theirs):g} ({_num(gap):g} apart)",
                CONTESTED,
                {"topic": area.id, "interviewer": who, "mean": _num(mine),
                 "others_mean": _num(theirs), "level": lv_mine, "others_level": lv_theirs,
                 "gap": _num(gap)}))
    return flags


def _far_apart(by_person: dict[str, dict[int, list[int]]], spread_at: int) -> bool:
    """Whether any two level means could be ``spread_at`` apart (a cheap first look: the
    others' pooled means lie between the individual ones)."""
    means = [sum(v) / len(v) for levels in by_person.values() for v in levels.values()]
    return max(means) - min(means) >= spread_at - 1e-9


def area_level(ev: Evidence, cid: str) -> tuple[str, int]:
    area, crit = ev.loop.criteria[cid]
    return area.id, crit.level


def _contradiction(ev: Evidence, by_person: dict[str, dict[int, list[int]]], person: str
                   ) -> tuple[Fraction, Fraction, int, int] | None:
    """The strongest contradiction between one interviewer's and the others' level means:
    (their mean, the others' mean, their level, the others' level), or None.

    Integer arithmetic on (sum, count) pairs: this runs for every interviewer of every
    topic of every pack in a pipeline."""
    spread_at = ev.loop.role.aggregation.disagreement_spread
    num, den = ev.demonstrated_at.numerator, ev.demonstrated_at.denominator
    mine = {lv: (sum(v), len(v)) for lv, v in by_person[person].items()}
    pooled: dict[int, list[int]] = {}
    for other, levels in by_person.items():
        if other != person:
            for lv, values in levels.items():
                slot = pooled.setdefault(lv, [0, 0])
                slot[0] += sum(values)
                slot[1] += len(values)
    best: tuple[Fraction, int, tuple[int, int, int, int, int, int]] | None = None
    for lv_m, (sm, nm) in mine.items():
        for lv_t, (st, nt) in pooled.items():
            # orient so that "high" is the larger mean: sm/nm vs st/nt
            if sm * nt >= st * nm:
                sh, nh, sl, nl, lv_high, lv_low = sm, nm, st, nt, lv_m, lv_t
            else:
                sh, nh, sl, nl, lv_high, lv_low = st, nt, sm, nm, lv_t, lv_m
            if (lv_low <= lv_high and sh * den >= num * nh and sl * den < num * nl
                    and sh * nl - sl * nh >= spread_at * nh * nl):
                gap = Fraction(sh * nl - sl * nh, nh * nl)
                if best is None or (gap, -abs(lv_m - lv_t)) > best[:2]:
                    best = (gap, -abs(lv_m - lv_t), (sm, nm, st, nt, lv_m, lv_t))
    if best is None:
        return None
    sm, nm, st, nt, lv_m, lv_t = best[2]
    return Fraction(sm, nm), Fraction(st, nt), lv_m, lv_t


def recommendation_flags(ev: Evidence) -> list[Flag]:
    """Split recommendations, strong noes, red flags, verdicts that contradict the ratings."""
    flags = []
    counting = ev.counting
    yes = [c for c in counting if c.recommendation in YES_SIDE]
    no = [c for c in counting if c.recommendation in NO_SIDE]
    if yes and no:
        flags.append(Flag(
            "split_recommendation", f"{sorted(c.ref for c in yes)}/{sorted(c.ref for c in no)}",
            "interviewers' recommendations are split: "
            + "; ".join(f"{c.interviewer} ({c.stage}): {c.recommendation.value}"
                        for c in sorted(counting, key=_by_verdict)),
            CONTESTED,
            {"yes": [c.ref for c in yes], "no": [c.ref for c in no]}))
    for card in ev.cards:
        flags.extend(_card_flags(ev, card))
    return flags


def _by_verdict(card: Card) -> tuple[int, str, str]:
    order = [Recommendation.STRONG_NO, Recommendation.NO, Recommendation.YES,
             Recommendation.STRONG_YES]
    return order.index(card.recommendation), card.stage, card.person


def _card_flags(ev: Evidence, card: Card) -> list[Flag]:
    flags = []
    where = {"submission": card.ref, "stage": card.stage, "interviewer": card.interviewer}
    blank = "" if card.counts else " (on a scorecard that rates nothing)"
    if card.recommendation is Recommendation.STRONG_NO:
        flags.append(Flag("strong_no", card.ref, f"{card.interviewer} ({card.stage}) recommends "
                          f"strong no{blank}", AGAINST, where))
    for n, text in enumerate(card.submission.red_flags):
        flags.append(Flag("red_flag", f"{card.ref}:{n}", f"red flag noted by {card.interviewer} "
                          f"({card.stage}){blank}: {text}", AGAINST, {**where, "text": text}))
    if card.counts:
        shown = [v for v in card.ratings.values() if v * ev.demonstrated_at.denominator
                 >= ev.demonstrated_at.numerator]
        rec = card.recommendation
        if rec is Recommendation.STRONG_YES and not shown:
            flags.append(Flag("verdict_contradicts_ratings", card.ref,
                              f"{card.interviewer} ({card.stage}) recommends strong yes but "
                              f"rated none of the {len(card.ratings)} criteria as shown",
                              FOR, where))
        if rec is Recommendation.STRONG_NO and len(shown) == len(card.ratings):
            flags.append(Flag("verdict_contradicts_ratings", card.ref,
                              f"{card.interviewer} ({card.stage}) recommends strong no but "
                              f"rated all {len(card.ratings)} criteria as shown",
                              AGAINST, where))
    return flags


def coverage_flags(ev: Evidence, missing_stages: list[str]) -> list[Flag]:
    """Stages with no countable scorecard, blank scorecards, criteria nobody rated."""
    flags = [Flag("missing_stage", sid, f"no scorecard that rates anything returned for "
                  f"stage '{sid}'", INFO, {"stage": sid}) for sid in missing_stages]
    flags += [Flag("blank_scorecard", c.ref, f"{c.interviewer} ({c.stage}) returned a "
                   "scorecard that rates none of its criteria: counted as not returned",
                   INFO, {"submission": c.ref, "stage": c.stage, "interviewer": c.interviewer})
              for c in ev.blank]
    returned = {c.stage for c in ev.counting}
    for row in ev.loop.coverage():
        cid = row.criterion.id
        # a criterion whose every stage is missing is covered by the missing_stage flag
        if cid not in ev.ratings and returned.intersection(row.stages):
            flags.append(Flag("unrated_criterion", cid, f"nobody rated '{row.criterion.text}' "
                              f"({cid})", INFO, {"criterion": cid, "text": row.criterion.text}))
    return flags

