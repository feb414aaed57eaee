"""Calibration across candidates (docs/calibration.md): synthetic panels whose properties are
known, the literature's worked example, bad input, and `rubrics calibrate` end to end."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from rubrics.aggregation import Rated, outcome
from rubrics.calibration import calibrate, summarise
from rubrics.calibration.agreement import MIN_ALPHA_UNITS, alpha
from rubrics.calibration.collect import PackData, Scorecard
from rubrics.calibration.interviewers import MIN_LENIENCY_CANDIDATES, leniency_pairs
from rubrics.calibration.selection import LoopMeta, People, seen_of
from rubrics.calibration.text import to_text
from rubrics.cli import app
from rubrics.cohort import interviewer_name, make_cohort
from rubrics.fsutil import sha256_bytes
from rubrics.log import genesis, write_genesis
from rubrics.submit import submit
from tests.conftest import FIXTURES, ROLE_ID, make_pack, rel
from tests.test_aggregate import full_loops
from tests.test_aggregate import loop as aggregate_loop
from tests.test_aggregate import run as aggregate_one

META = LoopMeta(role_title="Test role", stages={"s1": "One", "s2": "Two", "s3": "Three"},
                criteria={"a.x": ("a", "X"), "a.y": ("a", "Y"), "b.z": ("b", "Z"),
                          "b.w": ("b", "W")},
                topics={"a": "Topic A", "b": "Topic B"})
CRITERIA = list(META.criteria)
Rate = Callable[[int, str, str], int | None]


def card(stage: str, who: str, ratings: dict[str, int | None], rec: str = "yes",
         on: str | None = "2026-11-02", returned: str = "2026-11-03") -> Scorecard:
    return Scorecard(stage, who, None, on, returned, rec,
                     {c: v for c, v in ratings.items() if v is not None},
                     tuple(c for c, v in ratings.items() if v is None))


def pack(n: int, cards: list[Scorecard], level: float | None = 5.0, outcome: str | None = "hire",
         panel: str | None = None) -> PackData:
    return PackData(f"p{n}", f"p{n}", f"c{n}", "r", ("x", "y"), outcome or "incomplete",
                    outcome, level, panel, tuple(cards))


def panel(candidates: int, rate: Rate, people: Sequence[str] = ("Ann", "Bo", "Cy"),
          criteria: Sequence[str] = tuple(CRITERIA)) -> list[PackData]:
    """Each candidate seen by every person, each in a stage of their own, rating
    ``rate(candidate, person, criterion)``."""
    return [pack(n, [card(f"s{i + 1}", who, {c: rate(n, who, c) for c in criteria})
                     for i, who in enumerate(people)]) for n in range(candidates)]


def run(packs: list[PackData], **kw: Any) -> dict[str, Any]:
    return summarise(packs, META, **kw)


def by_name(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in data["interviewers"] if i["name"] == name)


def criterion(data: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in data["criteria"] if c["id"] == cid)


# --------------------------------------------------------------------------- leniency


def test_a_lenient_interviewer_is_found_lenient_with_the_right_sign_and_size() -> None:
    """Lenny rates one point above what the others see (with the same noise): leniency near
    +1 with an interval above 0; the others come out severe relative to him."""
    rnd = random.Random(7)
    bases = [rnd.randint(1, 3) for _ in range(40)]
    noise = {(n, who, c): rnd.choice([-1, 0, 0, 1]) for n in range(40)
             for who in ("Ann", "Bo", "Lenny") for c in CRITERIA}

    def rate(n: int, who: str, c: str) -> int:
        return max(1, min(4, bases[n] + (who == "Lenny") + noise[(n, who, c)]))

    data = run(panel(40, rate, ("Ann", "Bo", "Lenny")))
    lenny = by_name(data, "Lenny")
    assert 0.7 <= lenny["leniency"] <= 1.2
    assert (lenny["leniency_n"], lenny["leniency_pairs"]) == (40, 160)  # 40 x 4 criteria
    lo, hi = lenny["leniency_interval"]
    assert 0 < lo < lenny["leniency"] < hi
    assert by_name(data, "Ann")["leniency"] < 0 and by_name(data, "Bo")["leniency"] < 0


def test_leniency_is_null_under_the_minimum_of_candidates() -> None:
    """Seven candidates give no leniency (but their count and the pairs), however many
    criteria each has; eight give one, its interval over candidates."""
    def rate(n: int, who: str, c: str) -> int:
        return 3 if who == "Ann" else 2

    few = by_name(run(panel(7, rate)), "Ann")
    assert (few["leniency"], few["leniency_n"], few["leniency_pairs"],
            few["leniency_interval"]) == (None, 7, 28, None)
    enough = by_name(run(panel(8, rate, criteria=["a.x"])), "Ann")
    assert (enough["leniency"], enough["leniency_n"], enough["leniency_interval"]) == (
        1.0, 8, [1.0, 1.0])


def test_two_candidates_with_many_criteria_give_no_leniency() -> None:
    """Two scorecards each, however many criteria they share, are two candidates: null, not
    a confident +1.5 resting on pairs from the same two interviews."""
    def rate(n: int, who: str, c: str) -> int:
        return 4 if who == "Ann" else 2 + (n + len(c)) % 2

    ann = by_name(run(panel(2, rate, ("Ann", "Bo"))), "Ann")
    assert (ann["leniency"], ann["leniency_n"], ann["leniency_pairs"]) == (None, 2, 8)


def test_the_leniency_interval_is_over_candidates_and_narrows_with_more_of_them() -> None:
    """Ann's difference varies between candidates but not within one: the interval is the t
    interval of the per-candidate means, whatever the number of criteria, and narrower with
    four times the candidates."""
    def rate(n: int, who: str, c: str) -> int:
        return 2 + (n % 2) if who == "Ann" else 2

    def width(candidates: int, criteria: Sequence[str]) -> float:
        lo, hi = by_name(run(panel(candidates, rate, ("Ann", "Bo"), criteria)),
                         "Ann")["leniency_interval"]
        return float(hi - lo)

    assert width(8, CRITERIA) == width(8, ["a.x"])  # more criteria are not more candidates
    assert width(32, CRITERIA) < width(8, CRITERIA) / 1.8
    ann = by_name(run(panel(8, rate, ("Ann", "Bo"))), "Ann")
    assert ann["leniency"] == 0.5 and ann["leniency_interval"] == [0.053, 0.947]  # t(7)


def test_a_stages_harder_criteria_are_not_read_as_a_severe_interviewer() -> None:
    """Ann always runs stage s1 (a.x, easy: rated 3), Bo stage s2 (a.y, harder: rated 2), both
    on topic a and both neutral: they share no criterion, so leniency is null with no pairs
    (not Bo -1); with a shared criterion b.z rated alike, both come out 0."""
    def cards(n: int, shared: bool) -> list[Scorecard]:
        extra = {"b.z": 1 + n % 4} if shared else {}
        return [card("s1", "Ann", {"a.x": 3, **extra}), card("s2", "Bo", {"a.y": 2, **extra})]

    apart = run([pack(n, cards(n, False)) for n in range(20)])
    for name in ("Ann", "Bo"):
        who = by_name(apart, name)
        assert (who["leniency"], who["leniency_n"], who["leniency_pairs"]) == (None, 0, 0)
    assert "no shared criteria" in to_text({**apart, "role": "r", "role_title": "R",
                                            "since": None, "packs": {
                                                "read": 20, "skipped": [], "other_roles": 0}})
    shared = run([pack(n, cards(n, True)) for n in range(20)])
    for name in ("Ann", "Bo"):
        who = by_name(shared, name)
        assert (who["leniency"], who["leniency_n"], who["leniency_interval"]) == (
            0.0, 20, [0.0, 0.0])


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two synthetic cohorts of 32 candidates of the bundled role (seed 1): ``fixed``, seven
    neutral interviewers each always running the same stage; ``planted``, ten interviewers
    on any stage, one lenient by +1 and one severe by -1."""
    root = tmp_path_factory.mktemp("cohorts")
    make_cohort(None, ROLE_ID, root / "fixed", 32, 7, seed=1, fixed_stages=True)
    make_cohort(None, ROLE_ID, root / "planted", 32, 10, seed=1,
                lenient={interviewer_name(1): 1.0, interviewer_name(4): -1.0})
    return root


def test_neutral_interviewers_on_fixed_stages_are_not_called_lenient_or_severe(
        cohorts: Path) -> None:
    """Seven neutral interviewers, each on their own stage (whose criteria differ in level):
    every leniency is near 0 and no interval excludes 0, so no month names anyone."""
    data = calibrate([cohorts / "fixed"])
    for who in data["interviewers"]:
        assert who["leniency"] is not None and abs(who["leniency"]) < 0.3, who
        lo, hi = who["leniency_interval"]
        assert lo < 0 < hi, who
    assert to_text(data).count("(95% interval excludes 0): none of") == len(data["months"]) == 2
    for month in data["months"]:  # nobody measured: say so, never "none"
        for who in month["interviewers"]:
            who["leniency"] = who["leniency_interval"] = None
    n = len(data["months"][0]["interviewers"])
    assert f"(95% interval excludes 0): too little data ({n} of {n} interviewers)" in to_text(data)


def test_planted_lenient_and_severe_interviewers_are_found_in_a_real_cohort(
        cohorts: Path) -> None:
    """The +1 interviewer comes out near +1 and the -1 one near -1, each interval on its own
    side of 0, over candidates (not pairs)."""
    data = calibrate([cohorts / "planted"])
    lenient, severe = by_name(data, interviewer_name(1)), by_name(data, interviewer_name(4))
    assert 0.6 <= lenient["leniency"] <= 1.3 and lenient["leniency_interval"][0] > 0
    assert -1.3 <= severe["leniency"] <= -0.6 and severe["leniency_interval"][1] < 0
    assert lenient["leniency_n"] >= MIN_LENIENCY_CANDIDATES
    assert lenient["leniency_pairs"] > lenient["leniency_n"]
    assert lenient["halo"]["reference"] is not None  # others run the same stages


@st.composite
def panels(draw: Any) -> list[PackData]:
    people = ["Ann", "Bo", "Cy", "Di"][:draw(st.integers(2, 4))]
    rating = st.one_of(st.none(), st.integers(1, 4))
    return [pack(n, [card(f"s{i + 1}", who, {c: draw(rating) for c in CRITERIA})
                     for i, who in enumerate(people) if draw(st.booleans()) or i < 2])
            for n in range(draw(st.integers(1, 8)))]


@settings(max_examples=60, deadline=None)
@given(panels(), st.integers(1, 3))
def test_raising_one_interviewers_ratings_never_lowers_their_leniency(
        packs: list[PackData], step: int) -> None:
    """Ann's ratings raised by a constant (capped at 4) never lower her mean difference from
    the others, over the same pairs."""
    def mean_diff(ps: list[PackData]) -> float | None:
        found = leniency_pairs(seen_of(ps, People.of(ps), None)).get("name:ann", {})
        means = [sum(d) / len(d) for d in found.values()]
        return sum(means) / len(means) if means else None

    raised = [PackData(**{**{f: getattr(p, f) for f in PackData.__slots__}, "cards": tuple(
        Scorecard(**{**{f: getattr(c, f) for f in Scorecard.__slots__}, "ratings": {
            k: min(4, v + step) if c.name == "Ann" else v for k, v in c.ratings.items()}})
        for c in p.cards)}) for p in packs]
    before, after = mean_diff(packs), mean_diff(raised)
    assert (before is None) == (after is None)
    assert before is None or (after is not None and after >= before - 1e-9)


# --------------------------------------------------------------------------- agreement


def test_krippendorffs_worked_example_gives_the_published_alphas() -> None:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", 4 observers x 12
    units with missing values: ordinal alpha 0.815 (nominal 0.743 from the same data)."""
    nan = None
    rows = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    units = [[r[u] for r in rows if r[u] is not None] for u in range(12)]
    assert alpha(units, domain=(1, 2, 3, 4, 5)) == 0.815
    import krippendorff
    import numpy as np

    matrix = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)
    assert round(float(krippendorff.alpha(matrix, level_of_measurement="nominal")), 3) == 0.743


def test_perfectly_agreeing_interviewers_give_alpha_one() -> None:
    """Everyone gives each candidate the same rating (different candidates, different
    ratings): alpha 1 for every criterion and topic, every candidate a unit."""
    data = run(panel(12, lambda n, who, c: 1 + n % 4))
    for x in [*data["criteria"], *data["topics"]]:
        assert x["alpha"] == 1.0
    assert criterion(data, "a.x")["units"] == 12 and criterion(data, "a.x")["pairable"] == 36


def test_a_rater_answering_at_random_drives_alpha_towards_zero() -> None:
    """One interviewer rates what the candidate is, the other at random: alpha near 0."""
    rnd = random.Random(11)
    truth = [rnd.randint(1, 4) for _ in range(300)]
    data = run(panel(300, lambda n, who, c: truth[n] if who == "Ann" else rnd.randint(1, 4),
                     ("Ann", "Rand")))
    for x in data["criteria"]:
        assert x["alpha"] is not None and -0.3 < x["alpha"] < 0.3


def test_a_criterion_everyone_leaves_unassessed_is_listed_without_alpha() -> None:
    """b.w rated by nobody: listed, unassessed share 1, alpha null, no units."""
    data = run(panel(6, lambda n, who, c: None if c == "b.w" else 1 + n % 4))
    w = criterion(data, "b.w")
    assert (w["unassessed_share"], w["alpha"], w["units"], w["sd"]) == (1.0, None, 0, None)
    assert w["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 0}
    assert by_name(data, "Ann")["unassessed_share"] == 0.25


def test_alpha_is_null_under_ten_units() -> None:
    """Nine candidates rated by two interviewers, even in perfect agreement, give no alpha
    (and so no "reliable" label); ten give 1."""
    assert MIN_ALPHA_UNITS == 10
    units = [[1 + n % 4, 1 + n % 4] for n in range(10)]
    assert alpha(units[:9]) is None and alpha(units) == 1.0
    data = run(panel(9, lambda n, who, c: 1 + n % 4))
    assert [(x["alpha"], x["units"]) for x in data["criteria"]] == [(None, 9)] * 4


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(1, 4), max_size=4), max_size=30))
def test_alpha_is_between_minus_one_and_one_or_null(units: list[list[int]]) -> None:
    """Whatever the ratings, alpha is null (under the minimum of pairable units, or no
    variation) or lies in [-1, 1]."""
    found = alpha(units)
    pairable = [u for u in units if len(u) >= 2]
    if len(pairable) < MIN_ALPHA_UNITS or len({v for u in pairable for v in u}) < 2:
        assert found is None
    else:
        assert found is not None and -1 <= found <= 1


def test_level_correlation_needs_ten_candidates_and_follows_the_level() -> None:
    """A criterion whose ratings rise with the overall level correlates 1; under ten
    candidates it is too little data."""
    packs = [pack(n, [card("s1", "Ann", {"a.x": 1 + n % 4}), card("s2", "Bo", {"a.x": 1 + n % 4})],
                  level=4 + n % 4) for n in range(12)]
    assert criterion(run(packs), "a.x")["level_correlation"] == 1.0
    few = criterion(run(packs[:9]), "a.x")
    assert (few["level_correlation"], few["level_correlation_n"]) == (None, 9)


# --------------------------------------------------------------------------- interviewers, stages


def test_on_time_disagreement_with_the_rule_halo_and_stage_mix() -> None:
    """On time within two days of the interview (undated counted apart); a no against a hire
    outcome disagrees; halo is the mean within-scorecard sd; stages count the mix."""
    packs = [
        pack(0, [card("s1", "Ann", {"a.x": 3, "a.y": 3}, "yes", "2026-11-02", "2026-11-04"),
                 card("s2", "Bo", {"a.x": 1, "a.y": 3}, "no", "2026-11-02", "2026-11-05")]),
        pack(1, [card("s1", "Ann", {"a.x": 2, "a.y": 4}, "no", None, "2026-11-09"),
                 card("s2", "Bo", {"a.x": 2}, "strong_yes")], outcome="no_hire"),
        pack(2, [card("s1", "Ann", {"a.x": 4}, "yes")], outcome=None),
    ]
    data = run(packs)
    ann, bo = by_name(data, "Ann"), by_name(data, "Bo")
    assert ann["on_time"] == {"n": 2, "share": 1.0, "undated": 1, "inconsistent": 0}
    assert bo["on_time"] == {"n": 2, "share": 0.5, "undated": 0, "inconsistent": 0}
    assert ann["disagrees_with_decision"] == {"n": 2, "share": 0.0}
    assert bo["disagrees_with_decision"] == {"n": 2, "share": 1.0}
    assert ann["halo"] == {"sd": 0.5, "n": 2, "reference": None, "reference_n": 0}
    assert bo["halo"] == {"sd": 1.0, "n": 1, "reference": None, "reference_n": 0}
    assert ann["ratings"] == {"1": 0, "2": 1, "3": 2, "4": 2}
    assert ann["panel_ratings"] == {"1": 1, "2": 1, "3": 1, "4": 0}
    s1 = next(s for s in data["stages"] if s["id"] == "s1")
    assert (s1["scorecards"], s1["pass_through"], s1["pass_through_n"]) == (3, 0.667, 3)
    assert s1["decisions"] == {"strong_no": 0, "no": 1, "yes": 2, "strong_yes": 0}


def test_on_time_counts_zero_to_two_days_and_a_return_before_the_interview_apart() -> None:
    """Returned the same day or two days later is on time, three days is late, and accepted a
    day before the interview it names is inconsistent: neither on time nor in n."""
    days = ["2026-11-02", "2026-11-04", "2026-11-05", "2026-11-01"]
    packs = [pack(n, [card("s1", "Ann", {"a.x": 3}, on="2026-11-02", returned=d)])
             for n, d in enumerate(days)]
    assert by_name(run(packs), "Ann")["on_time"] == {
        "n": 3, "share": 0.667, "undated": 0, "inconsistent": 1}


def test_the_text_output_shows_the_n_of_every_share() -> None:
    """On time, unassessed, against the rule and halo each show the count they rest on, so a
    share over one scorecard says so."""
    packs = [pack(0, [card("s1", "Ann", {"a.x": 3, "a.y": 2}, on="2026-11-02",
                           returned="2026-11-01")])]
    text = to_text({**run(packs), "role": "r", "role_title": "R", "since": None,
                    "packs": {"read": 1, "skipped": [], "other_roles": 0}})
    row = next(line for line in text.splitlines() if line.startswith("  Ann"))
    assert "- (0) 1!" in row and "0% (2)" in row and "0.50 (1) / -" in row and "no shared criteria" in row
    assert "N! = N accepted before the interview date" in text


def test_halo_has_a_reference_from_the_others_at_the_same_stages() -> None:
    """An interviewer who runs a stage whose criteria all get one mark is not a halo rater
    when the others at that stage do the same: Ann (s1, always flat) has reference 0 from
    Cy at s1; Bo (s2, spread 1) has Di's spread at s2 as reference."""
    packs = [pack(n, [card("s1", "Ann" if n % 2 else "Cy", {"a.x": 3, "a.y": 3}),
                      card("s2", "Bo" if n % 2 else "Di", {"a.x": 2, "a.y": 4})])
             for n in range(6)]
    data = run(packs)
    assert by_name(data, "Ann")["halo"] == {"sd": 0.0, "n": 3, "reference": 0.0,
                                            "reference_n": 3}
    assert by_name(data, "Bo")["halo"] == {"sd": 1.0, "n": 3, "reference": 1.0,
                                           "reference_n": 3}


def test_since_filters_interviews_and_months_appear_only_across_months() -> None:
    """October and November interviews give two months; --since November leaves one month
    and no months key; a scorecard without a date counts on the day it was returned."""
    packs = [pack(0, [card("s1", "Ann", {"a.x": 2}, on="2026-10-20"),
                      card("s2", "Bo", {"a.x": 3}, on=None, returned="2026-11-03")]),
             pack(1, [card("s1", "Ann", {"a.x": 4}, on="2026-11-10")])]
    data = run(packs)
    assert [m["month"] for m in data["months"]] == ["2026-10", "2026-11"]
    assert [by_name(m, "Ann")["scorecards"] for m in data["months"]] == [1, 1]
    assert set(data["months"][0]) == {"month", "interviewers", "criteria", "topics", "stages"}
    later = run(packs, since=date(2026, 11, 1))
    assert "months" not in later
    assert by_name(later, "Ann")["scorecards"] == 1 and by_name(later, "Bo")["scorecards"] == 1


# --------------------------------------------------------------------------- groups


def groups_of(labels: dict[int, str]) -> tuple[dict[str, tuple[str, int]], Path]:
    return {f"c{n}": (g, n + 2) for n, g in labels.items()}, Path("groups.csv")


def test_selection_rates_impact_ratio_and_the_four_fifths_flag() -> None:
    """Group A: 24 of 32 pass stage s1, B: 8 of 32; B's ratio 0.25 / 0.75 = 0.333 is flagged;
    the decision uses the panel's recorded one before the rule's, and says how many of each."""
    recs = ["yes"] * 24 + ["no"] * 8 + ["yes"] * 8 + ["no"] * 24
    packs = [pack(n, [card("s1", "Ann", {"a.x": 3}, recs[n])],
                  outcome="hire" if n < 48 else "no_hire", panel="no_hire" if n < 8 else None)
             for n in range(64)]
    data = run(packs, groups=groups_of({n: "A" if n < 32 else "B" for n in range(64)}))
    s1 = next(s for s in data["groups"]["stages"] if s["id"] == "s1")["rates"]
    assert s1 == [
        {"group": "A", "comparable": True, "selected": 24, "total": 32, "rate": 0.75,
         "impact_ratio": 1.0, "flag": False},
        {"group": "B", "comparable": True, "selected": 8, "total": 32, "rate": 0.25,
         "impact_ratio": 0.333, "flag": True}]
    decision = data["groups"]["decision"]
    assert [(r["selected"], r["total"], r["impact_ratio"], r["flag"], r["undecided"])
            for r in decision["rates"]] == [(24, 32, 1.0, False, 0), (16, 32, 0.667, True, 0)]
    assert (decision["from_panel"], decision["from_rule"], decision["undecided"]) == (8, 56, 0)
    assert data["groups"]["warnings"] == []


def test_a_ratio_of_exactly_four_fifths_is_not_flagged_and_no_groups_without_the_file() -> None:
    """Rates 0.5 and 0.4 (ratio 0.8) are not flagged; without groups there is no groups key."""
    recs = ["yes"] * 15 + ["no"] * 15 + ["yes"] * 12 + ["no"] * 18
    packs = [pack(n, [card("s1", "Ann", {"a.x": 3}, recs[n])]) for n in range(60)]
    data = run(packs, groups=groups_of({n: "A" if n < 30 else "B" for n in range(60)}))
    rates = data["groups"]["stages"][0]["rates"]
    assert [(r["impact_ratio"], r["flag"]) for r in rates] == [(1.0, False), (0.8, False)]
    assert "groups" not in run(packs)


# --------------------------------------------------------------------------- real packs, the CLI


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def candidate_pack(seed: Path, target: Path, cid: str, rate: Callable[[str], int | None],
                   on: str = "2026-11-02") -> Path:
    """A copy of ``seed`` for candidate ``cid`` (own pack id and genesis, as the aggregate
    benchmark makes them) with one scorecard a stage, submitted through rubrics.submit."""
    shutil.copytree(seed, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["pack_id"] = f"cal-{cid}"
    manifest["candidate"] = {"name": f"Candidate {cid}", "id": cid, "email": None,
                             "anonymous": False}
    raw = json.dumps(manifest).encode("utf-8")
    (target / "manifest.json").write_bytes(raw)
    shutil.rmtree(target / "submissions")
    write_genesis(target / "submissions", genesis(manifest["pack_id"], sha256_bytes(raw),
                                                  "2026-11-01"))
    returned = target.parent / f"{cid}-returned"
    returned.mkdir()
    files = []
    for n, stage in enumerate(manifest["stages"]):
        path = returned / f"{stage['id']}.json"
        path.write_text(json.dumps({
            "pack_id": manifest["pack_id"], "stage": stage["id"], "interviewer": f"Person {n}",
            "ratings": {c: rate(c) for c in stage["criteria"]}, "recommendation": "yes",
            "interviewed_on": on}), encoding="utf-8")
        files.append(path)
    submit(target, files)
    shutil.rmtree(returned)
    return target


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three candidates' packs of the bundled role, every stage returned."""
    root = tmp_path_factory.mktemp("cal")
    seed = make_pack(root / "seed", "Seed", "html", "--candidate-id", "seed")
    folder = root / "packs"
    folder.mkdir()
    for n in range(3):
        candidate_pack(seed, folder / f"c{n}", f"c{n}", lambda c, n=n: 2 + n % 3)
    return folder


@pytest.fixture
def folder(packs: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(packs, tmp_path / "packs"))


def test_calibrate_reads_a_folder_of_packs_to_json(folder: Path) -> None:
    """A folder of packs: every pack read, the figures with the keys the report reads."""
    result = cli("calibrate", folder, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "rubrics-calibration/1" and data["role"] == ROLE_ID
    assert data["packs"] == {"read": 3, "with_scorecards": 3, "skipped": [], "other_roles": 0}
    assert set(data["minimums"]) >= {"leniency_candidates", "alpha_units", "correlation_n",
                                     "group_candidates"}
    assert {i["name"] for i in data["interviewers"]} == {f"Person {n}" for n in range(7)}
    assert all(i["scorecards"] == 3 for i in data["interviewers"])
    assert "groups" not in data and "months" not in data
    text = cli("calibrate", *sorted(folder.iterdir()))
    assert text.exit_code == 0 and "Interviewers" in text.stdout and "Stages" in text.stdout


def test_a_damaged_pack_is_skipped_and_reported(folder: Path) -> None:
    """A pack whose accepted scorecard was edited is never used: listed under skipped with
    verify's reason, named on stderr, exit 1."""
    damaged = folder / "c1"
    target = next((damaged / "submissions").glob("0001-*/*.json"))
    target.write_text(target.read_text(encoding="utf-8") + " ", encoding="utf-8")
    result = cli("calibrate", folder, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["packs"]["read"] == 2
    [skipped] = data["packs"]["skipped"]
    assert skipped["path"] == str(damaged) and "altered" in skipped["reason"]
    assert f"error: {rel(damaged)}" in result.stderr or str(damaged) in result.stderr
    assert str(damaged) not in skipped["reason"]  # the pack is named once, by its path


def test_packs_of_two_roles_need_role(folder: Path, tmp_path: Path) -> None:
    """A pack of another role without --role: exit 1 naming both roles; with --role the
    others are left out and counted."""
    made = cli("--workspace", FIXTURES / "ws", "pack", "tiny-engineer", "--candidate", "Zed",
               "--candidate-id", "zed", "--out", tmp_path / "other", "--format", "html")
    assert made.exit_code == 0, made.output
    result = cli("calibrate", folder, tmp_path / "other" / "zed")
    assert result.exit_code == 1
    assert result.stderr == (
        f"--role: the packs are of 2 roles, whose criteria are not comparable: {ROLE_ID} "
        "(3 packs), tiny-engineer (1 pack)\n1 problem found\n"
        "hint: calibrate one role at a time with --role ID\n")
    chosen = cli("calibrate", folder, tmp_path / "other" / "zed", "--role", ROLE_ID,
                 "--format", "json")
    assert chosen.exit_code == 0, chosen.output
    assert json.loads(chosen.stdout)["packs"]["other_roles"] == 1
    missing = cli("calibrate", folder, "--role", "nobody")
    assert missing.exit_code == 1
    assert missing.stderr.startswith(f"--role: no pack read is of role 'nobody' (roles read: "
                                     f"{ROLE_ID} (3 packs))\n")


def test_groups_file_with_no_known_id_or_a_bad_header_exits_1(folder: Path, tmp_path: Path) -> None:
    """A groups file none of whose ids a pack read has is refused; a header without a
    candidate id and a group column is refused; forgiving headers are read."""
    groups = tmp_path / "groups.csv"
    groups.write_text("Candidate ID,Group\nc8,A\nc9,B\n", encoding="utf-8")
    result = cli("calibrate", folder, "--groups", groups)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{rel(groups)}: none of its 2 candidate ids is the "
                                    "candidate id of a pack read\n1 problem found\n")
    groups.write_text("who,team\nc0,A\n", encoding="utf-8")
    bad = cli("calibrate", folder, "--groups", groups)
    assert bad.exit_code == 1
    assert bad.stderr == (f"{rel(groups)}:1: header: needs a candidate id column and a group "
                          "column (e.g. candidate_id,group); found 'who', 'team'\n"
                          "1 problem found\n")
    groups.write_text("candidate_id,group\nc0,A\nc1,B\nc2,B\n", encoding="utf-8")
    good = cli("calibrate", folder, "--groups", groups, "--format", "json")
    assert good.exit_code == 0, good.output
    found = json.loads(good.stdout)["groups"]
    for stage in found["stages"]:  # groups of one and two: counts not even shown
        assert [(r["group"], r["comparable"], r["selected"], r["total"], r["flag"])
                for r in stage["rates"]] == [("A", False, None, None, None),
                                             ("B", False, None, None, None)]
    assert groups.read_text(encoding="utf-8") == "candidate_id,group\nc0,A\nc1,B\nc2,B\n"


def test_calibrate_options_are_checked(folder: Path) -> None:
    """Unknown format, pdf without --out and a bad --since exit 2; --out inside a pack is
    refused."""
    assert cli("calibrate", folder, "--format", "xml").exit_code == 2
    assert cli("calibrate", folder, "--format", "pdf").exit_code == 2
    since = cli("calibrate", folder, "--since", "last week")
    assert (since.exit_code, since.stderr) == (
        2, "error: --since: 'last week' is not a date (YYYY-MM-DD)\n")
    into = cli("calibrate", folder, "--out", folder / "c0" / "manifest.json")
    assert into.exit_code == 1 and "is a file of the pack" in into.stderr


def test_since_after_every_interview_is_refused(folder: Path) -> None:
    """--since after the interviews: no scorecard to calibrate, exit 1 naming the latest."""
    result = cli("calibrate", folder, "--since", "2027-01-01", "--format", "json")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == ("--since: no scorecard on or after 2027-01-01 (the latest "
                             "interview read is on 2026-11-02)\n1 problem found\n")


@settings(max_examples=60, deadline=None)
@given(full_loops())
def test_outcome_without_the_margin_decides_as_aggregate(rated: list[Rated]) -> None:
    """aggregation.outcome, which calibration reads for every pack, gives the decision,
    evidence outcome and level aggregate reports (the margin never changes them)."""
    full = aggregate_one(rated)
    quick = outcome(aggregate_loop(), rated)
    assert (quick.decision, quick.evidence_outcome, quick.level, quick.below) == (
        full["decision"], full["evidence_outcome"], full["recommended_level"],
        full["recommended_below"])


def test_calibrate_writes_html_and_pdf_reports(folder: Path, tmp_path: Path) -> None:
    """--format html and pdf write the report to --out: the page with its caveat and what
    stands out, and a PDF of it."""
    html_out, pdf_out = tmp_path / "cal.html", tmp_path / "cal.pdf"
    html = cli("calibrate", folder, "--format", "html", "--out", html_out)
    assert (html.exit_code, html.stdout) == (0, f"wrote {html_out}\n")
    page = html_out.read_text(encoding="utf-8")
    assert "not verdicts on people" in page and "What stands out" in page
    pdf = cli("calibrate", folder, "--format", "pdf", "--out", pdf_out)
    assert (pdf.exit_code, pdf.stdout) == (0, f"wrote {pdf_out}\n")
    assert pdf_out.read_bytes().startswith(b"%PDF-")


def test_worker_processes_give_the_same_calibration(folder: Path) -> None:
    """Reading the packs in two worker processes gives the JSON one process gives."""
    runs = [cli("calibrate", folder, "--format", "json", "--jobs", jobs) for jobs in ("1", "2")]
    assert [r.exit_code for r in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout
