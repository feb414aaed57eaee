"""The mechanical rule's promises, as properties over random scorecards (docs/aggregation.md)."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rubrics.aggregate import Rated, aggregate
from rubrics.model import Recommendation, Submission
from rubrics.roles import InterviewLoop
from rubrics.store import LogEntry, effective_entries
from rubrics.workspace import Workspace
from tests.conftest import ROLE_ID

RECS = [r.value for r in Recommendation]


@cache
def loop() -> InterviewLoop:
    return Workspace.open(None).loop(ROLE_ID)[0]


def make(stage: str, interviewer: str, ratings: dict[str, int | None],
         recommendation: str = "yes", red_flags: list[str] | None = None) -> Submission:
    return Submission(pack_id="p", stage=stage, interviewer=interviewer, ratings=ratings,
                      recommendation=Recommendation(recommendation), red_flags=red_flags or [])


@st.composite
def scorecards(draw: Any) -> list[Rated]:
    """Random returns: any subset of stages, 1-2 interviewers each, ratings 1-4 or null."""
    out = []
    for stage in loop().role.stages:
        for who in draw(st.lists(st.sampled_from(["Ann", "Bo", "Cy"]), max_size=2, unique=True)):
            ratings = {cid: draw(st.one_of(st.none(), st.integers(1, 4))) for cid in stage.assesses}
            out.append(make(stage.id, who, ratings, draw(st.sampled_from(RECS))))
    return [Rated(f"{i + 1:04d}", s) for i, s in enumerate(out)]


def run(rated: list[Rated]) -> dict[str, Any]:
    return aggregate(loop(), rated, pack_id="p", candidate={"name": "X", "id": "x"})


def levels(result: dict[str, Any]) -> tuple[int | None, dict[str, int]]:
    return result["recommended_level"], {t["id"]: t["level"] for t in result["topics"]}


def raise_one(rated: list[Rated], rnd: random.Random) -> list[Rated] | None:
    choices = [(i, cid) for i, r in enumerate(rated)
               for cid, v in r.submission.ratings.items() if v is not None and v < 4]
    if not choices:
        return None
    i, cid = rnd.choice(choices)
    sub = rated[i].submission
    old = sub.ratings[cid]
    assert old is not None
    new = sub.model_copy(update={"ratings": {**sub.ratings, cid: rnd.randint(old + 1, 4)}})
    return [*rated[:i], Rated(rated[i].ref, new), *rated[i + 1:]]


@settings(max_examples=150, deadline=None)
@given(scorecards(), st.randoms())
def test_raising_a_rating_never_lowers_any_level(rated: list[Rated], rnd: random.Random) -> None:
    """Raising any one rating never lowers a topic's level nor the overall level."""
    raised = raise_one(rated, rnd)
    if raised is None:
        return
    before_overall, before_topics = levels(run(rated))
    after_overall, after_topics = levels(run(raised))
    assert before_topics.keys() == after_topics.keys()
    for topic, level in before_topics.items():
        assert after_topics[topic] >= level, topic
    if before_overall is not None:
        assert after_overall is not None and after_overall >= before_overall


def projection(result: dict[str, Any]) -> Any:
    return (result["recommended_level"], result["sub_level"], result["decision"],
            result["confidence"]["level"], result["weighted_mean_level"],
            [(t["id"], t["level"], t["confidence"], t["raters"], t["max_spread"])
             for t in result["topics"]],
            sorted(f["message"] for f in result["flags"]))


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
    rated = []
    for n, stage in enumerate(loop().role.stages):
        ratings = {cid: (3 if loop().criteria[cid][1].level == level else None)
                   for cid in stage.assesses}
        rated.append(Rated(f"{n:04d}", make(stage.id, who, ratings)))
    result = run(rated)
    assert result["recommended_level"] == level
    assert {t["level"] for t in result["topics"]} == {level}


@settings(max_examples=100, deadline=None)
@given(scorecards(), st.sampled_from([s.id for s in loop().role.stages]))
def test_a_stage_with_no_ratings_changes_no_level(rated: list[Rated], stage_id: str) -> None:
    """Adding a scorecard whose ratings are all null changes no topic level nor the overall level."""
    stage = loop().role.stage(stage_id)
    assert stage is not None
    empty = Rated("9999", make(stage_id, "Zed", dict.fromkeys(stage.assesses)))
    assert levels(run([*rated, empty])) == levels(run(rated))


@settings(max_examples=100, deadline=None)
@given(scorecards())
def test_results_stay_inside_the_framework(rated: list[Rated]) -> None:
    """Every topic level and the overall level are levels of the framework."""
    result = run(rated)
    lo, hi = loop().framework.min_level, loop().framework.max_level
    for t in result["topics"]:
        assert lo <= t["level"] <= hi
    if result["recommended_level"] is not None:
        assert lo <= result["recommended_level"] <= hi
        assert result["sub_level"] in loop().framework.sub_levels


@given(st.lists(st.tuples(st.sampled_from(["s1", "s2"]), st.sampled_from(["Ann", "ann ", "Bo"])),
                max_size=12))
def test_an_amended_submission_counts_once(pairs: list[tuple[str, str]]) -> None:
    """Of several submissions by one interviewer for one stage, only the newest counts."""
    entries = [LogEntry({"seq": i + 1, "stage": s, "interviewer": w, "folder": str(i)})
               for i, (s, w) in enumerate(pairs)]
    kept = effective_entries(entries)
    keys = [(e.stage, " ".join(e.interviewer.casefold().split())) for e in kept]
    assert len(keys) == len(set(keys))
    for e in kept:
        later = [x for x in entries if x.seq > e.seq and x.stage == e.stage
                 and x.interviewer.casefold().strip() == e.interviewer.casefold().strip()]
        assert not later


def test_decisions_against_the_band() -> None:
    """hire at or above target, hire_below_target inside the band, no_hire below it,
    needs_discussion on a strong no, incomplete with a stage missing."""
    def all_stages(rating: int, rec: str = "yes") -> list[Rated]:
        return [Rated(f"{n:04d}", make(s.id, f"I{n}", dict.fromkeys(s.assesses, rating), rec))
                for n, s in enumerate(loop().role.stages)]

    assert run(all_stages(3))["decision"] == "hire"
    result = run(all_stages(1, "no"))
    assert (result["decision"], result["recommended_level"]) == ("no_hire", 3)
    strong_no = all_stages(3)
    strong_no[0] = Rated("0000", strong_no[0].submission.model_copy(
        update={"recommendation": Recommendation.STRONG_NO}))
    assert run(strong_no)["decision"] == "needs_discussion"
    assert run(all_stages(3)[1:])["decision"] == "incomplete"
    assert run(all_stages(3)[1:])["missing_stages"] == [loop().role.stages[0].id]


def test_below_target_inside_band() -> None:
    """Evidence of level 4 only (3s at level 4, 1s above) gives hire_below_target at level 4."""
    rated = []
    for n, stage in enumerate(loop().role.stages):
        ratings = {cid: (3 if loop().criteria[cid][1].level <= 4 else 1) for cid in stage.assesses}
        rated.append(Rated(f"{n:04d}", make(stage.id, f"I{n}", ratings)))
    result = run(rated)
    assert (result["recommended_level"], result["decision"]) == (4, "hire_below_target")


def test_disagreement_and_split_flags() -> None:
    """Raters two apart on a criterion and a strong_yes beside a no are flagged for the panel."""
    stage = loop().role.stages[1]
    cid = stage.assesses[0]
    a = make(stage.id, "Ann", {cid: 4}, "strong_yes")
    b = make(stage.id, "Bo", {cid: 2}, "no")
    result = run([Rated("0001", a), Rated("0002", b)])
    kinds = {f["kind"] for f in result["flags"]}
    assert {"disagreement", "split_recommendation"} <= kinds
    topic = next(t for t in result["topics"] if any(c["id"] == cid for c in t["criteria"]))
    crit = next(c for c in topic["criteria"] if c["id"] == cid)
    assert sorted(r["submission"] for r in crit["ratings"]) == ["0001", "0002"]
    assert crit["score"] == 3.0


def test_levels_are_cumulative() -> None:
    """A pass at a higher level does not count when an assessed level below it failed."""
    topic = loop().framework.topic("influence")
    assert topic is not None
    l5 = [c.id for c in topic.at_level(5)]
    l6 = [c.id for c in topic.at_level(6)]
    stage = next(s for s in loop().role.stages if any(c in s.assesses for c in l5))
    stage6 = next(s for s in loop().role.stages if any(c in s.assesses for c in l6))
    a = make(stage.id, "Ann", {c: 1 for c in stage.assesses if c in l5})
    b = make(stage6.id, "Bo", {c: 4 for c in stage6.assesses if c in l6})
    result = run([Rated("0001", a), Rated("0002", b)])
    influence = next(t for t in result["topics"] if t["id"] == "influence")
    assert influence["levels"]["5"]["passed"] is False
    assert influence["levels"]["6"]["passed"] is True
    assert influence["level"] == 4
