"""Step 8 of the rule: what the panel must look at before it decides.

Each flag has a stable id (its kind and a short hash of its pack and of what it is
about: a criterion, a submission, the scorecards on each side of a split), so that a
panel can record how it resolved it (``rubrics decide --resolve ID=TEXT``) and a later
report can match the resolution to the flag; a flag about other evidence gets another
id. Each flag also says which way it points:

- ``against``: it speaks against a hire (a strong no, a red flag, any no beside a yes,
  most interviewers saying no, a strong no from someone who saw every behaviour);
- ``contested``: the evidence itself is disputed (interviews far apart on a criterion,
  an interviewer contradicting the others on a topic, a topic whose levels contradict
  each other);
- ``info``: something to know (a missing or blank scorecard, an unrated criterion, most
  interviewers saying yes against a no-hire, a strong yes from someone who saw nothing,
  a fragile margin, an amendment that changed the outcome).

A flag *holds up* (blocks) an outcome it could overturn: an against flag holds up a
hire; a contested flag holds up any outcome that settling it one way or the other would
change (decision.py tries both ways). Verdicts never overturn a no-hire that the ratings
support: combining the ratings mechanically is the point of the rule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from rubrics.aggregation.evidence import NO_SIDE, YES_SIDE, Card, Evidence
from rubrics.aggregation.levels import TopicLevel
from rubrics.fsutil import sha256_bytes
from rubrics.identity import name_key
from rubrics.model import Recommendation

AGAINST, CONTESTED, INFO = "against", "contested", "info"


@dataclass
class Flag:
    kind: str
    key: str
    message: str
    direction: str
    details: dict[str, Any] = field(default_factory=dict)
    scope: str = ""
    """The pack the flag belongs to: a resolution written for one pack never fits another."""
    about: tuple[str, ...] = ()
    """For a topic disagreement: the interviewer and those who contradict them (person ids),
    to try settling it either way."""

    @property
    def id(self) -> str:
        digest = sha256_bytes(f"{self.scope}:{self.kind}:{self.key}".encode())
        return f"{self.kind}-{digest[:6]}"

    def to_json(self, blocking: bool) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "direction": self.direction,
                "blocking": blocking, "message": self.message, **self.details}


def _num(x: Fraction | int) -> float:
    return round(float(x), 2)


def criterion_disagreements(ev: Evidence) -> list[Flag]:
    """Interviews far apart on one criterion: two interviewers, or one interviewer in two
    interviews (a contradiction too)."""
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
            f"interviews differ by {_num(spread):g} on '{text}' "
            f"({', '.join(f'{who} ({stage}): {v}' for v, who, stage in given)})",
            CONTESTED,
            {"criterion": cid, "spread": _num(spread),
             "ratings": [{"rating": v, "interviewer": who, "stage": s} for v, who, s in given]}))
    return flags


LevelMeans = dict[int, tuple[int, int]]  # level -> (sum, count) of one interviewer's ratings


def topic_disagreements(ev: Evidence, criterion_flags: list[Flag]) -> list[Flag]:
    """Interviewers whose ratings of a topic contradict each other's.

    Level means are compared level by level, as the framework's levels are cumulative: a
    level shown by one interviewer contradicts a level not shown by another at the same
    or a lower level (strong at 5 and weak at 6 is a profile, not a disagreement), when
    they are ``disagreement_spread`` or more apart. Contradicting pairs are gathered into
    one flag per interviewer on the side of fewer, naming those they contradict."""
    names = ev.names()
    disputed = {(*area_level(ev, f.details["criterion"]), r.person)
                for f in criterion_flags for r in ev.ratings[f.details["criterion"]]}
    flags = []
    for area in ev.loop.areas.values():
        by_person: dict[str, LevelMeans] = defaultdict(dict)
        for crit in area.criteria:
            for r in ev.ratings.get(crit.id, ()):
                s, n = by_person[r.person].get(crit.level, (0, 0))
                by_person[r.person][crit.level] = (s + r.value, n + 1)
        pairs = _contradicting_pairs(ev, area.id, by_person, disputed)
        for person, others, (mine, theirs, lv_mine, lv_theirs) in _outliers(pairs):
            who = names[person]
            them = ", ".join(names[o] for o in others)
            verb = "rates" if len(others) == 1 else "rate"
            flags.append(Flag(
                "topic_disagreement", f"{area.id}:{person}",
                f"{who} and {them} disagree on {area.title}: {who} rates level {lv_mine} at "
                f"{_num(mine):g}, {them} {verb} level {lv_theirs} at {_num(theirs):g} "
                f"({_num(abs(mine - theirs)):g} apart)",
                CONTESTED,
                {"topic": area.id, "interviewer": who, "others": [names[o] for o in others],
                 "mean": _num(mine), "others_mean": _num(theirs), "level": lv_mine,
                 "others_level": lv_theirs, "gap": _num(abs(mine - theirs))},
                about=(person, *others)))
    return flags


Contradiction = tuple[Fraction, Fraction, int, int]  # (mean a, mean b, level a, level b)


def _contradicting_pairs(ev: Evidence, area_id: str, by_person: dict[str, LevelMeans],
                         disputed: set[tuple[str, int, str]]
                         ) -> dict[tuple[str, str], Contradiction]:
    people = sorted(by_person)
    if len(people) < 2 or not _far_apart(by_person, ev.loop.role.aggregation.disagreement_spread):
        return {}
    pairs = {}
    for i, a in enumerate(people):
        for b in people[i + 1:]:
            found = _contradiction(ev, by_person[a], by_person[b])
            # one criterion two interviewers rated far apart is flagged already
            if found and not (found[2] == found[3] and (area_id, found[2], a) in disputed
                              and (area_id, found[2], b) in disputed):
                pairs[(a, b)] = found
    return pairs


def _outliers(pairs: dict[tuple[str, str], Contradiction]
              ) -> list[tuple[str, list[str], Contradiction]]:
    """Group contradicting pairs by the interviewer in most of them (ties by id)."""
    out = []
    left = dict(pairs)
    while left:
        count: dict[str, int] = defaultdict(int)
        for a, b in left:
            count[a] += 1
            count[b] += 1
        person = min(count, key=lambda p: (-count[p], p))
        mine = {(a, b): c for (a, b), c in left.items() if person in (a, b)}
        others = sorted(b if a == person else a for a, b in mine)
        (a, _), strongest = max(mine.items(), key=lambda kv: (abs(kv[1][0] - kv[1][1]), kv[0]))
        m, t, lm, lt = strongest
        out.append((person, others, (m, t, lm, lt) if a == person else (t, m, lt, lm)))
        left = {k: v for k, v in left.items() if person not in k}
    return out


def _far_apart(by_person: dict[str, LevelMeans], spread_at: int) -> bool:
    """Whether any two level means could be ``spread_at`` apart (a cheap first look)."""
    means = [s / n for levels in by_person.values() for s, n in levels.values()]
    return max(means) - min(means) >= spread_at - 1e-9


def area_level(ev: Evidence, cid: str) -> tuple[str, int]:
    area, crit = ev.loop.criteria[cid]
    return area.id, crit.level


def _contradiction(ev: Evidence, a: LevelMeans, b: LevelMeans) -> Contradiction | None:
    """The strongest contradiction between two interviewers' level means, or None.

    Integer arithmetic on (sum, count) pairs: this runs for every pair of interviewers of
    every topic of every pack in a pipeline."""
    spread_at = ev.loop.role.aggregation.disagreement_spread
    num, den = ev.demonstrated_at.numerator, ev.demonstrated_at.denominator
    best: tuple[Fraction, int, Contradiction] | None = None
    for lv_a, (sa, na) in a.items():
        for lv_b, (sb, nb) in b.items():
            if sa * nb >= sb * na:  # a's mean is the higher one
                sh, nh, sl, nl, lv_high, lv_low = sa, na, sb, nb, lv_a, lv_b
            else:
                sh, nh, sl, nl, lv_high, lv_low = sb, nb, sa, na, lv_b, lv_a
            if (lv_low <= lv_high and sh * den >= num * nh and sl * den < num * nl
                    and sh * nl - sl * nh >= spread_at * nh * nl):
                gap = Fraction(sh * nl - sl * nh, nh * nl)
                key = (gap, -abs(lv_a - lv_b))
                if best is None or key > best[:2]:
                    best = (*key, (Fraction(sa, na), Fraction(sb, nb), lv_a, lv_b))
    return best[2] if best else None


def inconsistent_levels(ev: Evidence, placed: dict[str, TopicLevel]) -> list[Flag]:
    """Weighted topics where a level failed below a level that passed: the evidence
    contradicts itself, and the topic's level rests on counting rungs."""
    flags = []
    for area_id, t in placed.items():
        if t.consistent or ev.loop.role.topic_weights.get(area_id, 0) <= 0:
            continue
        area = ev.loop.areas[area_id]
        failed = [lv for lv in t.ladder if lv not in t.passed and lv < max(t.passed)]
        flags.append(Flag(
            "inconsistent_levels", area_id,
            f"{area.title}: level {', '.join(map(str, failed))} did not pass although level "
            f"{max(t.passed)} did; counted by the number of levels passed "
            f"({len(t.passed)} of {len(t.ladder)}) as level {t.level}",
            CONTESTED, {"topic": area_id, "passed": list(t.passed), "failed": failed}))
    return flags


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
            AGAINST,
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
        shown = [v for v in card.ratings.values() if ev.shown(v, 1)]
        rec = card.recommendation
        if rec is Recommendation.STRONG_YES and not shown:
            flags.append(Flag("verdict_contradicts_ratings", card.ref,
                              f"{card.interviewer} ({card.stage}) recommends strong yes but "
                              f"rated none of the {len(card.ratings)} criteria as shown",
                              INFO, where))
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
    flags += _one_name_several_people(ev)
    returned = {c.stage for c in ev.counting}
    for row in ev.loop.coverage():
        cid = row.criterion.id
        # a criterion whose every stage is missing is covered by the missing_stage flag
        if cid not in ev.ratings and returned.intersection(row.stages):
            flags.append(Flag("unrated_criterion", cid, f"nobody rated '{row.criterion.text}' "
                              f"({cid})", INFO, {"criterion": cid, "text": row.criterion.text}))
    return flags


def _one_name_several_people(ev: Evidence) -> list[Flag]:
    """A name that stands for several interviewers (different emails): they count as
    several independent observations, which is right only if they are several people."""
    by_name: dict[str, set[str]] = defaultdict(set)
    shown: dict[str, str] = {}
    for card in ev.cards:
        key = name_key(card.interviewer)
        by_name[key].add(card.person)
        shown.setdefault(key, card.interviewer)
    flags = []
    for key, persons in sorted(by_name.items()):
        if len(persons) > 1:
            emails = ", ".join(sorted(p.removeprefix("email:") for p in persons))
            flags.append(Flag(
                "one_name_several_people", key,
                f"'{shown[key]}' returned scorecards under {len(persons)} emails ({emails}): "
                f"counted as {len(persons)} independent interviewers; if this is one person, "
                "amend their scorecards to one email", INFO,
                {"interviewer": shown[key], "identities": sorted(persons)}))
    return flags
