"""Synthetic panels (rubrics.cohort): real packs that verify, the same for the same seed,
interviewers whose leniency shows in their ratings, interviews over two months."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from rubrics.cohort import interviewer_name, make_cohort
from rubrics.verify import verify
from tests.conftest import ROLE_ID

LENIENT = interviewer_name(2)


def submissions(pack: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((pack / "submissions").glob("*/submission.json"))]


def log_times(pack: Path) -> list[str]:
    lines = (pack / "submissions" / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [e["accepted_at"] for e in map(json.loads, lines) if e["kind"] == "submission"]


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    make_cohort(None, ROLE_ID, out, 12, 8, seed=3, lenient={LENIENT: 1.5})
    return out


def test_every_pack_verifies_with_one_scorecard_a_stage(cohort_dir: Path) -> None:
    """Each generated pack passes verify, has its own pack id and candidate, and one
    scorecard per stage from distinct interviewers."""
    packs = sorted(p for p in cohort_dir.iterdir() if p.is_dir())
    assert len(packs) == 12
    ids = set()
    for pack in packs:
        problems, _ = verify(pack)
        assert problems == [], (pack, problems)
        manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
        ids.add(manifest["pack_id"])
        assert manifest["candidate"]["id"] == pack.name
        subs = submissions(pack)
        assert len(subs) == len(manifest["stages"]) == 7
        assert len({s["interviewer_email"] for s in subs}) == 7
    assert len(ids) == 12


def test_the_same_seed_gives_the_same_scorecards(cohort_dir: Path, tmp_path: Path) -> None:
    """Generating again with the same arguments gives the same scorecards and log times."""
    make_cohort(None, ROLE_ID, tmp_path, 3, 8, seed=3, lenient={LENIENT: 1.5})
    for name in ("c0000", "c0001", "c0002"):
        assert submissions(tmp_path / name) == submissions(cohort_dir / name)
        assert log_times(tmp_path / name) == log_times(cohort_dir / name)


def test_a_lenient_interviewer_rates_higher(cohort_dir: Path) -> None:
    """The interviewer given a bias of +1.5 rates well above the others' mean."""
    mine, others = [], []
    for pack in cohort_dir.iterdir():
        for s in submissions(pack) if pack.is_dir() else []:
            rated = [r for r in s["ratings"].values() if r is not None]
            (mine if s["interviewer"] == LENIENT else others).extend(rated)
    assert len(mine) >= 10
    assert mean(mine) - mean(others) > 0.7


def test_interviews_span_two_months_and_return_on_or_after_the_day(cohort_dir: Path) -> None:
    """Interview dates fall in September and October 2026, and each scorecard's log time is
    on or after its interview day (0-3 days later)."""
    months = set()
    for pack in (p for p in cohort_dir.iterdir() if p.is_dir()):
        for s, at in zip(submissions(pack), log_times(pack), strict=True):
            day = date.fromisoformat(s["interviewed_on"])
            months.add(day.strftime("%Y-%m"))
            assert 0 <= (date.fromisoformat(at[:10]) - day).days <= 4
    assert months == {"2026-09", "2026-10"}


def test_unknown_interviewer_or_too_few_are_refused(tmp_path: Path) -> None:
    """A bias for a name not in the cohort, or fewer interviewers than stages, is refused
    before anything is written."""
    with pytest.raises(ValueError, match="not among the 8 sample interviewers: Nobody"):
        make_cohort(None, ROLE_ID, tmp_path / "a", 1, 8, seed=1, lenient={"Nobody": 1.0})
    with pytest.raises(ValueError, match="at least as many interviewers"):
        make_cohort(None, ROLE_ID, tmp_path / "b", 1, 3, seed=1)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_fixed_stages_give_each_interviewer_one_stage(tmp_path: Path) -> None:
    """With fixed_stages and 14 interviewers for 7 stages, interviewer k only ever runs stage
    k mod 7."""
    make_cohort(None, ROLE_ID, tmp_path, 4, 14, seed=2, fixed_stages=True)
    stages: dict[str, set[str]] = {}
    order = json.loads((tmp_path / "c0000" / "manifest.json").read_text(encoding="utf-8"))
    ids = [s["id"] for s in order["stages"]]
    for pack in tmp_path.iterdir():
        for sub in submissions(pack):
            stages.setdefault(sub["interviewer"], set()).add(sub["stage"])
    for name, seen in stages.items():
        k = next(k for k in range(14) if interviewer_name(k) == name)
        assert seen == {ids[k % 7]}
