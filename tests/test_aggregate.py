"""The mechanical rule's promises (docs/aggregation.md): properties over random scorecards,
and each way the first rule contradicted its evidence, now answered defensibly."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rubrics.aggregation import Rated, aggregate
from rubrics.aggregation.evidence import Rating, independent_observations
from rubrics.model import Recommendation, Submission
from rubrics.roles import InterviewLoop
from rubrics.workspace import Workspace
from tests.conftest import ROLE_ID
from tests.test_debrief import blank_pack

__all__ = ["blank_pack"]  # the module fixture of tests/test_debrief.py, shared

RECS = [r.value for r in Recommendation]
HM, DESIGN, CODING, DEEP_DIVE, LEADERSHIP, STAKEHOLDER = (
    "hiring-manager-conversation", "system-design-money-movement",
    "coding-correctness-concurrency", "deep-dive-ownership-incidents", "leadership-mentoring",
    "stakeholder-partnership")
HIRE_SIDE = {"hire", "hire_below_target"}


@cache
def loop() -> InterviewLoop:
    return Workspace.open(None).loop(ROLE_ID)[0]


def each_stage(value: str) -> list[str]:
    """One value per stage of the loop (a name or a recommendation)."""
    return [value] * len(loop().role.stages)


def level_of(cid: str) -> int:
    return loop().criteria[cid][1].level


def area_of(cid: str) -> str:
    return loop().criteria[cid][0].id


def make(stage: str, interviewer: str, ratings: dict[str, int | None],
         recommendation: str = "yes", red_flags: list[str] | None = None,
         email: str | None = None) -> Submission:
    return Submission(pack_id="p", stage=stage, interviewer=interviewer, ratings=ratings,
                      recommendation=Recommendation(recommendation), red_flags=red_flags or [],
                      interviewer_email=email)


def numbered(subs: list[Submission]) -> list[Rated]:
    return [Rated(f"{i + 1:04d}", s) for i, s in enumerate(subs)]


def run(rated: list[Rated]) -> dict[str, Any]:
    return aggregate(loop(), rated, pack_id="p", candidate={"name": "X", "id": "x"})


def loop_of(rate: Callable[[str], int | None], recs: list[str] | None = None,
            names: list[str] | None = None) -> list[Rated]:
    """One scorecard per stage, by a different interviewer each (unless ``names``)."""
    stages = loop().role.stages
    return numbered([make(s.id, names[n] if names else f"Interviewer {n}",
                          {c: rate(c) for c in s.assesses}, recs[n] if recs else "yes")
                     for n, s in enumerate(stages)])


def topic(result: dict[str, Any], area: str) -> dict[str, Any]:
    return next(t for t in result["topics"] if t["id"] == area)


def flag_kinds(result: dict[str, Any]) -> set[str]:
    return {f["kind"] for f in result["flags"]}


# --------------------------------------------------------------------------- strategies


@st.composite
def scorecards(draw: Any) -> list[Rated]:
    """Random returns: any subset of stages, 1-2 interviewers each, ratings 1-4 or null."""
    out = []
    for stage in loop().role.stages:
        for who in draw(st.lists(st.sampled_from(["Ann", "Bo", "Cy"]), max_size=2, unique=True)):
            ratings = {cid: draw(st.one_of(st.none(), st.integers(1, 4))) for cid in stage.assesses}
            out.append(make(stage.id, who, ratings, draw(st.sampled_from(RECS))))
    return numbered(out)


@st.composite
def full_loops(draw: Any) -> list[Rated]:
    """Every stage returned by 1-2 of six interviewers, most criteria rated: loops the rule
    can recommend on."""
    people = ["Ann", "Bo", "Cy", "Di", "Ed", "Flo"]
    out = []
    for stage in loop().role.stages:
        for who in draw(st.lists(st.sampled_from(people), min_size=1, max_size=2, unique=True)):
            ratings = {cid: draw(st.one_of(st.integers(1, 4), st.integers(1, 4),
                                           st.integers(1, 4), st.none()))
                       for cid in stage.assesses}
            out.append(make(stage.id, who, ratings, draw(st.sampled_from(RECS))))
    return numbered(out)


def changed(rated: list[Rated], i: int, cid: str, value: int | None) -> list[Rated]:
    sub = rated[i].submission
    new = sub.model_copy(update={"ratings": {**sub.ratings, cid: value}})
    return [*rated[:i], Rated(rated[i].ref, new), *rated[i + 1:]]


def pick(rated: list[Rated], rnd: random.Random, want: Callable[[int | None], bool]
         ) -> tuple[int, str] | None:
    stages = {s.id: s for s in loop().role.stages}
    choices = [(i, cid) for i, r in enumerate(rated) for cid in stages[r.submission.stage].assesses
               if want(r.submission.ratings.get(cid))]
    return rnd.choice(choices) if choices else None


def standing(result: dict[str, Any]) -> tuple[Any, ...]:
    """Everything "a level" means, ordered so that higher is better: each topic's value, the
    weighted mean, and the recommended level with its sub-level."""
    subs = loop().framework.sub_levels
    level = result["recommended_level"]
    # no sub-level (none of the level's own behaviours rated) counts as the lowest letter
    overall = (-1, -1) if level is None else (
        (level - 1, 99) if result["recommended_below"] else
        (level, 0 if result["sub_level"] is None else subs.index(result["sub_level"])))
    return ({t["id"]: t["counted_as"] for t in result["topics"]},
            result["weighted_mean_level"], overall)


def assert_not_lower(before: dict[str, Any], after: dict[str, Any]) -> None:
    topics_b, mean_b, overall_b = standing(before)
    topics_a, mean_a, overall_a = standing(after)
    for area, value in topics_b.items():
        assert topics_a.get(area, value) >= value, area
    if mean_b is not None and mean_a is not None:  # None: no weighted topic rated at all
        assert mean_a >= mean_b
        assert overall_a >= overall_b


# --------------------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(scorecards(), st.randoms())
def test_raising_a_rating_never_lowers_any_level(rated: list[Rated], rnd: random.Random) -> None:
    """Raising any one rating never lowers a topic's level, the overall level or its sub-level."""
    found = pick(rated, rnd, lambda v: v is not None and v < 4)
    if found is None:
        return
    i, cid = found
    old = rated[i].submission.ratings[cid]
    assert old is not None
    assert_not_lower(run(rated), run(changed(rated, i, cid, rnd.randint(old + 1, 4))))


@settings(max_examples=150, deadline=None)
@given(scorecards(), st.randoms(), st.sampled_from([3, 4]))
def test_a_new_rating_of_3_or_4_never_lowers_any_level(rated: list[Rated], rnd: random.Random,
                                                       value: int) -> None:
    """Rating a criterion 3 or 4 where it was not assessed never lowers any level."""
    found = pick(rated, rnd, lambda v: v is None)
    if found is None:
        return
    assert_not_lower(run(rated), run(changed(rated, *found, value)))


@settings(max_examples=150, deadline=None)
@given(scorecards(), st.randoms())
def test_a_new_rating_of_1_never_raises_any_level(rated: list[Rated], rnd: random.Random) -> None:
    """Rating a criterion 1 where it was not assessed never raises any level."""
    found = pick(rated, rnd, lambda v: v is None)
    if found is None:
        return
    assert_not_lower(run(changed(rated, *found, 1)), run(rated))


def projection(result: dict[str, Any]) -> Any:
    return (result["recommended_level"], result["recommended_below"], result["sub_level"],
            result["decision"], result["evidence_outcome"], result["confidence"]["level"],
            result["weighted_mean_level"], result["fragile"],
            [(t["id"], t["level"], t["below"], t["confidence"], t["raters"],
              t["independent_observations"], t["max_spread"]) for t in result["topics"]],
            sorted(f["message"] for f in result["flags"]),
            # ids of flags about particular submissions name them by their log numbers
            sorted(f["id"] for f in result["flags"] if f["kind"] not in (
                "strong_no", "red_flag", "blank_scorecard", "verdict_contradicts_ratings",
                "split_recommendation", "majority_no", "majority_yes", "fragile")))


@settings(max_examples=100, deadline=None)
@given(scorecards(), st.randoms())
def test_order_and_names_of_submissions_change_nothing(rated: list[Rated],
                                                       rnd: random.Random) -> None:
    """Shuffling the submissions and renumbering them gives the same result."""
    shuffled = rated[:]
    rnd.shuffle(shuffled)
    renamed = [Rated(f"x{rnd.randint(0, 10**6)}-{i}", r.submission)
               for i, r in enumerate(shuffled)]
    assert projection(run(renamed)) == projection(run(rated))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([4, 5, 6]), st.sampled_from(["Ann", "Bo"]))
def test_threes_on_exactly_the_criteria_of_a_level_yield_that_level(level: int, who: str) -> None:
    """Rating 3 on exactly the criteria of level L (and nothing else) recommends level L."""
    rated = loop_of(lambda c: 3 if level_of(c) == level else None, names=each_stage(who))
    result = run(rated)
    assert result["recommended_level"] == level and not result["recommended_below"]
    assert {t["level"] for t in result["topics"]} == {level}


@settings(max_examples=100, deadline=None)
@given(scorecards(), st.sampled_from([s.id for s in loop().role.stages]))
def test_a_scorecard_with_no_ratings_changes_no_level_nor_the_decision(rated: list[Rated],
                                                                        stage_id: str) -> None:
    """Adding a scorecard whose ratings are all null changes no level and not the decision."""
    stage = loop().role.stage(stage_id)
    assert stage is not None
    empty = Rated("9999", make(stage_id, "Zed", dict.fromkeys(stage.assesses)))
    before, after = run(rated), run([*rated, empty])
    assert standing(after) == standing(before)
    assert after["decision"] == before["decision"]


@settings(max_examples=100, deadline=None)
@given(scorecards())
def test_results_stay_inside_the_framework(rated: list[Rated]) -> None:
    """Every topic level and the overall level are levels of the framework; a sub-level is
    one of the framework's letters."""
    result = run(rated)
    lo, hi = loop().framework.min_level, loop().framework.max_level
    for t in result["topics"]:
        assert lo <= t["level"] <= hi
        assert str(t["level"]) in t["levels"]  # never a level that was not rated
    if result["recommended_level"] is not None:
        assert lo <= result["recommended_level"] <= hi
        assert result["sub_level"] in [*loop().framework.sub_levels, None]


@settings(max_examples=100, deadline=None)
@given(scorecards())
def test_a_blank_loop_never_yields_a_decision(rated: list[Rated]) -> None:
    """A loop whose scorecards rate nothing is incomplete or insufficient evidence, never more."""
    blank = [Rated(r.ref, r.submission.model_copy(
        update={"ratings": dict.fromkeys(r.submission.ratings)})) for r in rated]
    assert run(blank)["decision"] in ("incomplete", "insufficient_evidence")


@settings(max_examples=100, deadline=None)
@given(full_loops())
def test_a_unanimous_no_panel_never_yields_a_hire(rated: list[Rated]) -> None:
    """When every interviewer recommends no or strong no, the decision is never a hire."""
    nos = [Rated(r.ref, r.submission.model_copy(update={"recommendation": Recommendation.NO}))
           for r in rated]
    assert run(nos)["decision"] not in HIRE_SIDE


@settings(max_examples=100, deadline=None)
@given(full_loops(), st.sampled_from(loop().role.must_pass_ids))
def test_a_must_pass_criterion_rated_1_by_all_its_raters_never_yields_a_hire(
        rated: list[Rated], key: str) -> None:
    """A must-pass key criterion rated 1 by everyone who rated it rules out a hire."""
    ones = [Rated(r.ref, r.submission.model_copy(update={"ratings": {
        c: (1 if c == key and v is not None else v) for c, v in r.submission.ratings.items()}}))
        for r in rated]
    assert run(ones)["decision"] not in HIRE_SIDE


def ladder_rank(t: dict[str, Any], rungs: list[int]) -> int:
    return 0 if t["below"] else rungs.index(t["level"]) + 1


@settings(max_examples=80, deadline=None)
@given(scorecards(), st.randoms())
def test_one_rating_moves_a_topic_at_most_one_rung(rated: list[Rated], rnd: random.Random) -> None:
    """Changing one rating one step, or rating an unassessed criterion, moves its topic at
    most one rung on the ladder of its rated levels (docs/aggregation.md, "No cliffs")."""
    found = pick(rated, rnd, lambda v: True)
    if found is None:
        return
    i, cid = found
    old = rated[i].submission.ratings.get(cid)
    new = rnd.randint(1, 4) if old is None else rnd.choice([v for v in (old - 1, old + 1)
                                                           if 1 <= v <= 4])
    before, after = run(rated), run(changed(rated, i, cid, new))
    area = area_of(cid)
    if area not in {t["id"] for t in before["topics"]}:
        return
    b, a = topic(before, area), topic(after, area)
    rungs = sorted({int(lv) for lv in [*b["levels"], *a["levels"]]})
    assert abs(ladder_rank(a, rungs) - ladder_rank(b, rungs)) <= 1


def single_changes(rated: list[Rated]) -> list[tuple[int, str, int | None, int]]:
    stages = {s.id: s for s in loop().role.stages}
    out = []
    for i, r in enumerate(rated):
        ratings = r.submission.ratings
        if all(ratings.get(c) is None for c in stages[r.submission.stage].assesses):
            continue  # a blank scorecard counts as not returned
        for cid in stages[r.submission.stage].assesses:
            old = ratings.get(cid)
            news = [1, 2, 3, 4] if old is None else [v for v in (old - 1, old + 1) if 1 <= v <= 4]
            out += [(i, cid, old, v) for v in news]
    return out


@settings(max_examples=25, deadline=None)
@given(full_loops())
def test_the_margin_names_exactly_the_ratings_that_would_change_the_outcome(
        rated: list[Rated]) -> None:
    """The fast margin computation agrees with re-running the whole rule for every single
    rating change: fragile exactly when one exists, and each one it names is real."""
    result = run(rated)
    if result["evidence_outcome"] is None:
        return
    flips = set()
    for i, cid, old, new in single_changes(rated):
        outcome = run(changed(rated, i, cid, new))["evidence_outcome"]
        if outcome != result["evidence_outcome"]:
            flips.add((rated[i].ref, cid, old, new))
    margin = result["margin"]
    assert result["fragile"] is bool(flips)
    assert margin["changing"] == len(flips)
    assert {(c["submission"], c["criterion"], c["from"], c["to"]) for c in margin["changes"]} <= flips
    assert margin["checked"] == len(single_changes(rated))


@settings(max_examples=40, deadline=None)
@given(full_loops())
def test_a_disagreement_holds_up_the_outcome_exactly_when_settling_it_changes_it(
        rated: list[Rated]) -> None:
    """The fast "could settling it change the outcome" test agrees with re-running the whole
    rule with the criterion rated its highest, or its lowest, given rating everywhere."""
    result = run(rated)
    if result["evidence_outcome"] is None:
        return
    for flag in (f for f in result["flags"] if f["kind"] == "disagreement"):
        cid = flag["criterion"]
        given = [r.submission.ratings[cid] for r in rated
                 if r.submission.ratings.get(cid) is not None]
        outcomes = set()
        for value in (max(given), min(given)):
            settled = [Rated(r.ref, r.submission.model_copy(update={"ratings": {
                **r.submission.ratings, cid: value}}))
                if r.submission.ratings.get(cid) is not None else r for r in rated]
            outcomes.add(run(settled)["evidence_outcome"])
        assert flag["blocking"] is (outcomes != {result["evidence_outcome"]})


# --------------------------------------------------------------------------- evidence


def test_a_single_rating_in_a_returned_loop_is_not_a_decision() -> None:
    """Every stage returned but one rating of 3 in the whole loop: scorecards that rate
    nothing count as not returned, so the loop is incomplete, not a 6E hire."""
    only = next(c for s in loop().role.stages for c in s.assesses
                if level_of(c) == 6 and c.startswith("mastery"))
    result = run(loop_of(lambda c: 3 if c == only else None))
    assert result["decision"] == "incomplete"
    assert result["confidence"]["level"] == "low"
    assert "blank_scorecard" in flag_kinds(result)
    assert result["decision_reasons"][0].startswith("no scorecard that rates anything for: ")


def test_only_level_6_rated_is_not_a_decision() -> None:
    """Only level-6 criteria rated, all 4: not a hire (stages with none rated are missing)."""
    result = run(loop_of(lambda c: 4 if level_of(c) == 6 else None))
    assert result["decision"] in ("incomplete", "insufficient_evidence")


def test_missing_evidence_is_named() -> None:
    """A loop where every stage rates something but key criteria and topics are thin is
    insufficient_evidence, naming each missing piece."""
    first = {s.id: s.assesses[0] for s in loop().role.stages}
    result = run(loop_of(lambda c: 3 if c in first.values() else None))
    assert result["decision"] == "insufficient_evidence"
    assert result["evidence_outcome"] is None and result["fragile"] is None
    gaps = result["evidence"]["gaps"]
    assert any("key criterion" in g and "has 0 ratings; it needs 1" in g for g in gaps)
    assert any("independent observation" in g and "it needs 2" in g for g in gaps)
    assert result["decision_reasons"] == gaps


def test_one_person_under_six_spellings_is_one_observation() -> None:
    """One interviewer writing their name six ways is one person: one independent
    observation per topic, so the rule cannot recommend."""
    spellings = ["Mei Chen", "mei chen", "MEI CHEN", "Mei  Chen", "Méi Chen", "Chen, Mei"]
    names = [spellings[n % len(spellings)] for n in range(len(loop().role.stages))]
    result = run(loop_of(lambda c: 3, names=names))
    assert result["decision"] == "insufficient_evidence"
    assert all(t["raters"] == 1 and t["independent_observations"] == 1 for t in result["topics"])


def test_an_email_identifies_an_interviewer_across_names() -> None:
    """The same email under two names is one interviewer; two people of the same name with
    different emails are two."""
    a = Rating(3, "0001", "s1", "email:mei@example.com")
    b = Rating(3, "0002", "s2", "email:mei@example.com")
    c = Rating(3, "0003", "s2", "name:chen mei")
    assert independent_observations([a, b]) == 1
    assert independent_observations([a, c]) == 2
    # Ann alone in s1, and with Bo in s2: still two independent observations (Ann s1, Bo s2)
    ann1, ann2, bo2 = Rating(3, "1", "s1", "ann"), Rating(3, "2", "s2", "ann"), Rating(3, "3", "s2", "bo")
    assert independent_observations([ann1, bo2]) == independent_observations([ann1, ann2, bo2]) == 2
    cid = "mastery.l5.produces-clear-technical-designs-for-large-complex-projects"
    rated = numbered([make(DESIGN, "Mei Chen", {cid: 3}, email="mei@example.com"),
                      make(DEEP_DIVE, "M. Chen", {cid: 4}, email="MEI@example.com")])
    crit = next(x for t in run(rated)["topics"] for x in t["criteria"] if x["id"] == cid)
    assert crit["independent_observations"] == 1
    rated = numbered([make(DESIGN, "Sam Lee", {cid: 3}, email="sam.lee@example.com"),
                      make(DEEP_DIVE, "Sam Lee", {cid: 4}, email="sam.lee2@example.com")])
    crit = next(x for t in run(rated)["topics"] for x in t["criteria"] if x["id"] == cid)
    assert crit["independent_observations"] == 2


@given(st.lists(st.tuples(st.sampled_from("ABCD"), st.sampled_from("wxyz")), max_size=10),
       st.tuples(st.sampled_from("ABCD"), st.sampled_from("wxyz")))
def test_independent_observations_never_fall_when_a_rating_is_added(
        pairs: list[tuple[str, str]], extra: tuple[str, str]) -> None:
    """The count of independent observations (no two from one interview or one person) never
    falls when a rating is added, and never exceeds the interviews or the people."""
    ratings = [Rating(3, str(i), stage, person) for i, (stage, person) in enumerate(pairs)]
    more = [*ratings, Rating(3, "new", *extra)]
    n = independent_observations(ratings)
    assert independent_observations(more) >= n
    assert n <= min(len({r.stage for r in ratings}), len({r.person for r in ratings}))


def test_co_interviewers_of_one_stage_are_one_observation() -> None:
    """Two interviewers in one interview see the same behaviour: one observation, not two."""
    stage = loop().role.stage(DESIGN)
    assert stage is not None
    rated = numbered([make(DESIGN, "Ann", dict.fromkeys(stage.assesses, 3)),
                      make(DESIGN, "Bo", dict.fromkeys(stage.assesses, 3))])
    result = run(rated)
    assert all(t["raters"] == 2 and t["independent_observations"] == 1 for t in result["topics"])


# --------------------------------------------------------------------------- verdicts


def test_all_no_with_ratings_of_2_is_no_hire() -> None:
    """All say no and 22 of the 24 criteria are rated 2 (partial): no hire, below the
    loop's levels, not hire_below_target at level 4."""
    criteria = sorted({c for s in loop().role.stages for c in s.assesses})
    assert len(criteria) == 24
    threes = set(criteria[:2])
    result = run(loop_of(lambda c: 3 if c in threes else 2, recs=each_stage("no")))
    assert (result["decision"], result["recommended_below"]) == ("no_hire", True)
    assert sum(not t["below"] for t in result["topics"]) <= 2  # where a lone 3 passes a level
    assert result["dissent"] == []


def test_unanimous_low_ratings_are_a_confident_no_hire_with_the_figures() -> None:
    """All 1s (or all 2s): a no-hire every key criterion's two interviews agree on, which no
    single rating could change, is high confidence, and the report gives the figures."""
    for rating in (1, 2):
        result = run(loop_of(lambda c, r=rating: r, recs=each_stage("no")))
        conf = result["confidence"]
        assert (result["decision"], conf["level"], result["fragile"]) == ("no_hire", "high", False)
        assert all(k["independent_observations"] == 2 for k in conf["key_criteria"].values())
        assert all(t["independent_observations"] >= 2 for t in conf["per_topic"].values())


def test_most_interviewers_saying_no_blocks_a_hire() -> None:
    """The ratings reach a hire but most interviewers recommend no: needs discussion, with a
    majority_no flag; a unanimous no is never a hire."""
    result = run(loop_of(lambda c: 3, recs=each_stage("no")))
    assert (result["evidence_outcome"], result["decision"]) == ("hire", "needs_discussion")
    assert "majority_no" in flag_kinds(result)
    assert result["confidence"]["level"] != "high"


def test_any_yes_beside_any_no_is_a_split() -> None:
    """As many no as yes (give or take one), or one no and the rest yes, is a split
    recommendation: the panel discusses it, and the dissenting interviewer is named among
    the first reasons."""
    n = len(loop().role.stages)
    for recs in ((["no", "yes"] * n)[:n], ["no"] + ["yes"] * (n - 1)):
        result = run(loop_of(lambda c: 3, recs=recs))
        assert result["decision"] == "needs_discussion"
        assert "split_recommendation" in flag_kinds(result)
        assert result["dissent"][0]["interviewer"] == "Interviewer 0"
    assert result["dissent"] == [{"submission": "0001", "stage": HM, "interviewer": "Interviewer 0",
                                  "recommendation": "no"}]


def test_a_strong_yes_with_nothing_shown_is_flagged() -> None:
    """An interviewer whose strong yes contradicts their own ratings is flagged, by name."""
    rated = loop_of(lambda c: 3)
    stage = loop().role.stage(CODING)
    assert stage is not None
    rated[2] = Rated("0003", make(CODING, "Interviewer 2", dict.fromkeys(stage.assesses, 2),
                                  "strong_yes"))
    result = run(rated)
    flag = next(f for f in result["flags"] if f["kind"] == "verdict_contradicts_ratings")
    assert flag["interviewer"] == "Interviewer 2"
    assert flag["message"].startswith("Interviewer 2 (coding-correctness-concurrency) recommends "
                                      "strong yes but rated none of the")


# --------------------------------------------------------------------------- key criteria


def test_key_criteria_not_shown_rule_out_a_hire() -> None:
    """All key criteria rated 1 by both raters, the rest 4: no hire (must pass), naming each
    (it used to be a 5E hire, high confidence). The 4s elsewhere in the same topics
    contradict the 1s and are flagged, but settling them either way leaves a must-pass
    criterion failed, so they do not hold the no-hire up."""
    keys = set(loop().role.key_ids)
    result = run(loop_of(lambda c: 1 if c in keys else 4))
    assert (result["evidence_outcome"], result["decision"]) == ("no_hire", "no_hire")
    assert result["confidence"]["level"] != "high"
    named = [r for r in result["decision_reasons"] if r.startswith("must-pass key criterion")]
    assert len(named) == len(loop().role.must_pass_ids)
    kinds = {f["kind"] for f in result["flags"]}
    assert {"topic_disagreement", "inconsistent_levels"} <= kinds
    assert not any(f["blocking"] for f in result["flags"])


def test_a_failed_must_pass_with_disagreeing_raters_needs_discussion() -> None:
    """A must-pass criterion below the bar whose two raters are far apart goes to the panel."""
    key = loop().role.must_pass_ids[0]
    stages = [s.id for s in loop().role.stages if key in s.assesses]
    rated = loop_of(lambda c: 3)
    for i, r in enumerate(rated):
        if r.submission.stage in stages:
            rated = changed(rated, i, key, 4 if r.submission.stage == stages[0] else 1)
    rated = changed(rated, 0, loop().role.stages[0].assesses[0], 3)
    result = run(rated)
    assert result["decision"] == "needs_discussion"  # (4 + 1) / 2 = 2.5 is shown, so ...
    rated2 = [r if r.submission.stage != stages[0] else
              Rated(r.ref, r.submission.model_copy(update={"ratings": {
                  **r.submission.ratings, key: 3}})) for r in rated]
    result2 = run(rated2)  # (3 + 1) / 2 = 2 is not shown, and 3 vs 1 is a disagreement
    assert result2["evidence_outcome"] == "no_hire"
    assert result2["decision"] == "needs_discussion"
    assert any(key in f.get("criterion", "") for f in result2["flags"] if f["kind"] == "disagreement")


def test_a_must_pass_key_criterion_can_opt_out() -> None:
    """A key criterion with must_pass: false counts for coverage and confidence, not as a gate."""
    optional = [k.id for k in loop().role.key_criteria if not k.must_pass]
    assert optional
    result = run(loop_of(lambda c: 1 if c in optional else 4))
    assert result["evidence_outcome"] in HIRE_SIDE


# --------------------------------------------------------------------------- levels


def test_one_low_rating_at_the_lowest_level_costs_one_rung() -> None:
    """A 2 on the lone level-4 mastery criterion, with levels 5 and 6 shown, costs one rung
    (6 to 5) and is pointed out; leaving it unrated keeps 6. It used to drop mastery to 3."""
    low = [c for s in loop().role.stages for c in s.assesses if c.startswith("mastery.l4")]
    assert len(low) == 1
    rated_2 = topic(run(loop_of(lambda c: 2 if c in low else 4)), "mastery")
    unrated = topic(run(loop_of(lambda c: None if c in low else 4)), "mastery")
    assert (rated_2["level"], unrated["level"]) == (5, 6)
    assert "level 4 did not, although a higher level did" in rated_2["basis"]
    assert rated_2["confidence"] == "medium"


def test_a_topic_is_never_reported_at_a_level_it_was_not_rated_at() -> None:
    """All 1s: impact, rated only at levels 5 and 6, is below 5, not level 4; it counts as
    its floor (4, the level below the lowest at which the loop assesses impact), which can
    only pull the overall level down."""
    result = run(loop_of(lambda c: 1, recs=each_stage("no")))
    impact = topic(result, "impact")  # the loop assesses impact at levels 5 and 6
    assert (impact["level"], impact["below"], impact["counted_as"]) == (5, True, 4)
    assert result["evidence"]["floor"] == 3 and result["evidence"]["topic_floors"]["impact"] == 4
    assert (result["recommended_level"], result["recommended_below"]) == (4, True)


def test_a_4_makes_up_for_a_2_where_a_3_cannot_make_up_for_a_1() -> None:
    """At one level, ratings are averaged: 4 and 1 (or 4 and 2) pass, 3 and 1 do not; so
    3s and 4s, and 1s and 2s, do not count the same."""
    stage = loop().role.stage(DESIGN)
    assert stage is not None
    pair = [c for c in stage.assesses if c.startswith("money-movement-correctness.l5")][:2]

    def level5(a: int, b: int) -> bool:
        rated = numbered([make(DESIGN, "Ann", {pair[0]: a, pair[1]: b})])
        return bool(topic(run(rated), "money-movement-correctness")["levels"]["5"]["passed"])

    assert level5(4, 1) and level5(4, 2) and level5(3, 2)
    assert not level5(3, 1) and not level5(2, 2)
    threes, fours = run(loop_of(lambda c: 3)), run(loop_of(lambda c: 4))
    assert [t["strength"] for t in threes["topics"]] != [t["strength"] for t in fours["topics"]]


def test_sub_levels_count_the_recommended_levels_own_behaviours() -> None:
    """Showing every level-5 behaviour (and none above) is 5E, as the framework defines
    sub-levels, not 5A; showing half of them is a middle letter."""
    result = run(loop_of(lambda c: 3 if level_of(c) <= 5 else 1))
    assert (result["recommended_level"], result["sub_level"]) == (5, "E")
    fives = sorted({c for s in loop().role.stages for c in s.assesses if level_of(c) == 5})
    strong = set(fives[::2])  # 4 on every other level-5 criterion, 2 on the rest: levels pass
    result = run(loop_of(lambda c: 3 if level_of(c) < 5 else
                         (4 if c in strong else 2) if level_of(c) == 5 else 1))
    assert result["recommended_level"] == 5
    shown = sum(1 for c in fives if c in strong)
    assert result["sub_level_basis"] == (f"{shown} of the loop's {len(fives)} level-5 "
                                         f"behaviours shown ({len(fives)} rated)")
    assert result["sub_level"] == "ABCDE"[min(4, shown * 5 // len(fives))] != "E"
    # leaving the weak ones unrated is no better than rating them 2: absence is not shown
    unrated = run(loop_of(lambda c: 3 if level_of(c) < 5 else
                          (4 if c in strong else None) if level_of(c) == 5 else 1))
    assert unrated["sub_level"] == result["sub_level"]


def test_a_topic_disagreement_is_flagged() -> None:
    """The coding interviewer rates every mastery criterion 1 while everyone else rates
    mastery 4: one topic-level disagreement naming her and those she contradicts, no high
    confidence. Even if she is right the candidate stays a hire, so it does not hold the
    hire up."""
    def rate(stage: str) -> Callable[[str], int]:
        return lambda c: (1 if stage == CODING else 4) if c.startswith("mastery") else 3

    stages = loop().role.stages
    rated = numbered([make(s.id, f"I{n}", {c: rate(s.id)(c) for c in s.assesses})
                      for n, s in enumerate(stages)])
    result = run(rated)
    flags = [f for f in result["flags"] if f["kind"] == "topic_disagreement"]
    assert len(flags) == 1
    flag = flags[0]
    assert (flag["topic"], flag["interviewer"], flag["mean"], flag["others_mean"]) == (
        "mastery", "I2", 1.0, 4.0)
    assert flag["others"] == ["I1", "I3"]  # system design and deep dive also rate mastery
    assert (flag["blocking"], result["decision"]) == (False, "hire")
    assert result["confidence"]["level"] == "medium"


def test_a_disagreement_that_could_change_the_outcome_holds_it_up() -> None:
    """Two interviewers 4 and 1 on a must-pass criterion: settled at 1 the candidate is no
    hire, settled at 4 a hire, so the panel discusses it; the same gap on a criterion that
    cannot change the outcome (no gate, one of several in its topic) is flagged but does not
    hold it up."""
    key = loop().role.must_pass_ids[0]
    plain = next(c for s in loop().role.stages for c in s.assesses
                 if c not in loop().role.must_pass_ids and len(loop().stages_assessing(c)) == 2)
    stages = [s.id for s in loop().role.stages if key in s.assesses]

    def with_gap(cid: str) -> dict[str, Any]:
        rated = loop_of(lambda c: 4)
        first = next(i for i, r in enumerate(rated) if cid in r.submission.ratings)
        return run(changed(rated, first, cid, 1))

    held, loose = with_gap(key), with_gap(plain)
    assert held["decision"] == "needs_discussion" and len(stages) == 2
    assert [f["kind"] for f in held["flags"] if f["blocking"]] == ["disagreement"]
    assert loose["decision"] == "hire"
    assert [f["blocking"] for f in loose["flags"] if f["kind"] == "disagreement"] == [False]


def test_a_lone_no_beside_the_ratings_no_hire_does_not_hold_it_up() -> None:
    """Ratings that say no hire stand whatever the verdicts: one no and the rest yes is a
    split flagged for the panel, as all yes is majority_yes, and neither holds the no-hire up."""
    n = len(loop().role.stages)
    for recs in (["yes"] * n, ["no"] + ["yes"] * (n - 1)):
        result = run(loop_of(lambda c: 2, recs=recs))
        assert (result["evidence_outcome"], result["decision"]) == ("no_hire", "no_hire")


# --------------------------------------------------------------------------- confidence


def test_a_borderline_candidate_is_not_high_confidence() -> None:
    """Level-5 ratings of 2 or 3 at random: most such loops are fragile, and a fragile
    outcome is low confidence."""
    rnd = random.Random(7)
    results = [run(loop_of(lambda c: rnd.choice([2, 3]) if level_of(c) == 5 else
                           (3 if level_of(c) < 5 else 2))) for _ in range(40)]
    assert all(r["confidence"]["level"] == "low" for r in results if r["fragile"])
    assert sum(r["confidence"]["level"] == "high" for r in results) < len(results) / 2


def test_a_full_agreeing_loop_is_high_confidence_and_says_why() -> None:
    """Every key criterion seen twice, every topic by several interviewers, no dispute and a
    wide margin: high confidence, with the meaning spelled out and the figures behind it."""
    result = run(loop_of(lambda c: 4))
    conf = result["confidence"]
    assert (result["decision"], conf["level"], result["fragile"]) == ("hire", "high", False)
    assert conf["not_high_because"] == []
    assert conf["meaning"].startswith("Confidence says how much independent evidence")
    assert all(k["independent_observations"] >= 2 for k in conf["key_criteria"].values())
    assert result["sub_level_meaning"].startswith("The sub-level letter is the share")


def test_a_fragile_outcome_names_the_rating() -> None:
    """When one rating step would change the outcome, the flag and margin name who gave it."""
    rnd = random.Random(3)
    for _ in range(200):
        result = run(loop_of(lambda c: rnd.choice([2, 3]) if level_of(c) == 5 else 3))
        if result["fragile"]:
            break
    else:
        raise AssertionError("no fragile loop found")
    flag = next(f for f in result["flags"] if f["kind"] == "fragile")
    first = result["margin"]["changes"][0]
    assert first["interviewer"] in flag["message"] and first["criterion"] in flag["message"]
    assert result["confidence"]["level"] == "low"


# --------------------------------------------------------------------------- human text

@pytest.fixture
def ada_pack(blank_pack: Path, tmp_path: Path) -> Path:
    """This test's own copy of a blank pack of the bundled role (HTML scorecards)."""
    import shutil

    return Path(shutil.copytree(blank_pack, tmp_path / "ada"))


PYTHON_WORDS = ("None", "True", "False", "strong_yes", "strong_no", "<built-in", "object at 0x")


def _json_strings(data: Any) -> list[str]:
    """Every string value of a JSON document (the text a panel reads), not its nulls."""
    if isinstance(data, dict):
        return [s for v in data.values() for s in _json_strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _json_strings(v)]
    return [data] if isinstance(data, str) else []


def _reports(pack: Path) -> dict[str, str]:
    import json

    from tests.test_debrief import cli

    out = {}
    for fmt in ("text", "json", "html"):
        result = cli("aggregate", pack, "--format", fmt)
        assert result.exit_code == 0, result.output
        out[fmt] = result.stdout
    out["json"] = "\n".join(_json_strings(json.loads(out["json"])))
    return out


def _no_python_words(reports: dict[str, str]) -> None:
    for fmt, text in reports.items():  # JSON keeps its enum values (strong_yes): data
        found = [w for w in PYTHON_WORDS[:3] if w in text] if fmt == "json" else \
            [w for w in PYTHON_WORDS if w in text]
        assert not found, f"{fmt} shows {found}"


def test_blank_pack_reads_as_text_for_people(ada_pack: Path) -> None:
    """A pack with nothing returned: text, JSON strings and HTML say so in words, never None."""
    reports = _reports(ada_pack)
    _no_python_words(reports)
    assert "weighted mean of topic levels no topic level yet" in reports["text"]
    assert "Weighted mean of topic levels: no topic level yet." in reports["html"]


def test_partial_pack_reads_as_text_for_people(ada_pack: Path, tmp_path: Path) -> None:
    """Two stages returned (one recommends strong yes, one criterion not assessed): no None,
    no Python spelling of a recommendation, and the level marked provisional."""
    from tests.test_debrief import cli, returns

    files = returns(ada_pack, tmp_path / "returned", lambda cid: None if "l6" in cid else 3,
                    recs=["strong_yes", "yes"] + ["yes"] * 5,
                    stages=["hiring-manager-conversation", "system-design-money-movement"])
    assert cli("submit", ada_pack, *files).exit_code == 0
    reports = _reports(ada_pack)
    _no_python_words(reports)
    assert "Priya Raman: strong yes" in reports["text"]
    assert "(provisional)" in reports["text"]


def test_an_empty_recommendation_is_named_in_words(ada_pack: Path) -> None:
    """Submitting the blank YAML says the recommendation is empty ('got nothing'), not None."""
    from tests.test_debrief import cli

    result = cli("submit", ada_pack, ada_pack / "scorecards" / "stakeholder-partnership.yaml")
    assert result.exit_code == 1
    assert "recommendation: must be one of strong_no, no, yes, strong_yes (got nothing)" \
        in result.output
    assert "None" not in result.output


def test_pipeline_html_and_pdf_show_what_the_text_shows(blank_pack: Path, tmp_path: Path) -> None:
    """The pipeline's HTML and PDF carry every field of its text table, the '(provisional)'
    of a partly returned pack included."""
    import io
    import json
    import shutil

    from pypdf import PdfReader

    from tests.test_debrief import cli, returns

    partial = shutil.copytree(blank_pack, tmp_path / "packs" / "partial")
    blank = shutil.copytree(blank_pack, tmp_path / "packs" / "blank")
    files = returns(partial, tmp_path / "returned", lambda cid: 3,
                    stages=["hiring-manager-conversation", "system-design-money-movement"])
    assert cli("submit", partial, *files).exit_code == 0
    rows = json.loads(cli("aggregate", partial, blank, "--format", "json").stdout)["pipeline"]
    text = cli("aggregate", partial, blank).stdout
    html = cli("aggregate", partial, blank, "--format", "html").stdout
    pdf_path = tmp_path / "pipeline.pdf"
    assert cli("aggregate", partial, blank, "--format", "pdf", "--out", pdf_path).exit_code == 0
    pdf = " ".join(" ".join(page.extract_text().split())
                   for page in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    assert rows[0]["level_label"].endswith("(provisional)")
    for row in rows:
        fields = [row["candidate"], row["role"], row["level_label"],
                  row["decision"].replace("_", " "), row["confidence"], row["panel"],
                  *row["missing"]]
        for field in fields:
            assert field in text and field in html, field
        for field in (row["candidate"], row["level_label"], row["decision"].replace("_", " ")):
            assert field in pdf, field


def test_the_pipeline_text_fits_80_columns(blank_pack: Path, tmp_path: Path) -> None:
    """With every stage missing, a long name and a long role id, each line of the pipeline
    table is at most 80 columns, missing stages are counted in the table and named, wrapped,
    below it."""
    from rubrics.panel import pipeline_text

    stages = ["hiring-manager-conversation", "system-design-money-movement",
              "coding-correctness-concurrency", "deep-dive-ownership-incidents",
              "design-review-exercise", "leadership-mentoring", "stakeholder-partnership"]
    row = {"candidate": "Maximiliane Alexandra von Hohenberg-Lindqvist",
           "role": "senior-backend-money-movement-and-payments-platform",
           "level_label": "4E (provisional)", "decision": "insufficient_evidence",
           "confidence": "medium", "panel": "no hire at level 4 (override)",
           "missing": stages}
    text = pipeline_text([row, {**row, "candidate": "Ada", "missing": [], "panel": "-"}])
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = text.splitlines()
    assert lines[1] == ("Maximiliane Alexand\u2026 4E (provisional) insufficient evidence "
                        "medium     7")
    assert lines[2].endswith("medium     -")
    below = " ".join(text.split("\n\n", 1)[1].split())
    assert below == ("Maximiliane Alexandra von Hohenberg-Lindqvist: role "
                     "senior-backend-money-movement-and-payments-platform; panel decided no hire "
                     f"at level 4 (override); missing {', '.join(stages)} Ada: role "
                     "senior-backend-money-movement-and-payments-platform")


# --------------------------------------------------------------------------- the demo's story


def test_sample_returns_are_written_per_stage_and_criterion() -> None:
    """The demo's sample returns cover every focus criterion of every stage with evidence of
    its own, from seven interviewers with notes of their own."""
    from rubrics.samples import STORY

    stages = loop().role.stages
    assert set(STORY) == {s.id for s in stages}
    for stage in stages:
        assert set(STORY[stage.id]["ratings"]) == set(stage.assesses), stage.id
    evidence = [text for told in STORY.values() for _, text in told["ratings"].values()]
    assert len(set(evidence)) == len(evidence) == sum(len(s.assesses) for s in stages)
    assert len({told["interviewer"] for told in STORY.values()}) == len(stages)
    assert len({told["notes"] for told in STORY.values()}) == len(stages)


def test_samples_of_an_html_only_pack_return_every_stage_on_its_creation_date(
        ada_pack: Path, tmp_path: Path) -> None:
    """With no PDF scorecards, the stages whose turn is a filled PDF get the YAML instead, so
    every stage has its return; each is dated the day the pack was made, never before."""
    import json

    from rubrics.samples import write_samples
    from tests.test_debrief import cli

    assert not list((ada_pack / "scorecards").glob("*.pdf"))
    files = write_samples(ada_pack, tmp_path / "returned")
    manifest = json.loads((ada_pack / "manifest.json").read_text(encoding="utf-8"))
    assert len(files) == len(manifest["stages"]) == 7
    assert sorted(f.suffix for f in files) == [".json"] * 2 + [".yaml"] * 5
    assert cli("submit", ada_pack, *files).exit_code == 0
    r = json.loads(cli("aggregate", ada_pack, "--format", "json").stdout)
    assert len(r["recommendations"]) == 7
    made_on = manifest["created_at"][:10]
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert f'interviewed_on: "{made_on}"' in text or f'"interviewed_on": "{made_on}"' in text


def test_sample_returns_tell_a_coherent_story(ada_pack: Path, tmp_path: Path) -> None:
    """Submitted, the sample returns recommend hiring at the target level, the one weakness
    (alerting) is what the flags are about, and blast radius is the one mild disagreement."""
    import json

    from rubrics.samples import BLAST_RADIUS, write_samples
    from tests.test_debrief import cli

    files = write_samples(ada_pack, tmp_path / "returned", kinds=("yaml", "json"))
    assert cli("submit", ada_pack, *files).exit_code == 0
    r = json.loads(cli("aggregate", ada_pack, "--format", "json").stdout)
    assert (r["decision"], r["recommended_level"]) == ("hire", 5)
    assert {f["kind"] for f in r["flags"]} <= {"topic_disagreement", "inconsistent_levels"}
    assert all("Operational excellence" in f["message"] for f in r["flags"])
    weak = min(r["topics"], key=lambda t: t["level"])
    assert weak["id"] == "operational-excellence"
    blast = [c for t in r["topics"] for c in t["criteria"] if c["id"] == BLAST_RADIUS]
    assert sorted(x["rating"] for x in blast[0]["ratings"]) == [3, 4]
