"""Inputs found by review and newcomer testing: each is one clear line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rubrics.aggregation import Rated, aggregate
from rubrics.cli import app
from rubrics.errors import InvalidInput
from rubrics.model import Recommendation, Submission
from rubrics.submissions import parse_submission_text
from rubrics.workspace import Workspace
from rubrics.yamlio import parse_yaml, read_document
from tests.conftest import FIXTURES, rel

WS = FIXTURES / "ws"


def tiny_pack(tmp_path: Path) -> Path:
    """An HTML-only pack of the fixture role for candidate Ada; returns its folder."""
    out = tmp_path / "packs"
    result = CliRunner().invoke(app, ["pack", "tiny-engineer", "-w", str(WS), "--candidate",
                                      "Ada", "--out", str(out), "--format", "html"])
    assert result.exit_code == 0, result.output
    return out / "ada"


def submission_yaml(extra: str) -> str:
    return ("pack_id: p\nstage: design\ninterviewer: Ann\nrecommendation: yes\n"
            "ratings: {craft.design: 3}\n" + extra)


def test_unquoted_iso_date_is_accepted() -> None:
    """`interviewed_on: 2026-11-20` (as the blank's comment shows it) is a date, not an error."""
    sub = parse_submission_text("s.yaml", submission_yaml("interviewed_on: 2026-11-20\n"))
    assert str(sub.interviewed_on) == "2026-11-20"


@pytest.mark.parametrize("typed", ["20/11/2026", "20.11.2026", "20-11-2026", "11/20/2026",
                                   "2026/11/20"])
def test_a_date_with_only_one_reading_is_read(typed: str) -> None:
    """20/11/2026 (as a PDF reader's user types it), 11/20/2026 and 2026/11/20 can only be
    20 November 2026: read as such."""
    sub = parse_submission_text("s.yaml", submission_yaml(f"interviewed_on: {typed}\n"))
    assert str(sub.interviewed_on) == "2026-11-20"


@pytest.mark.parametrize(("typed", "message"), [
    ("03/04/2026", "03/04/2026 could be 3 April or 4 March: write the date as YYYY-MM-DD, "
                   "e.g. 2026-11-20"),
    ("20/11/26", "write the date as YYYY-MM-DD, e.g. 2026-11-20 (got '20/11/26')"),
    ("next Tuesday", "write the date as YYYY-MM-DD, e.g. 2026-11-20 (got 'next Tuesday')"),
])
def test_a_date_that_could_mean_two_days_is_refused_naming_the_format(typed: str,
                                                                       message: str) -> None:
    """A date with two readings, a two-digit year or words is refused on its field, with
    the format to use: never guessed."""
    with pytest.raises(InvalidInput) as info:
        parse_submission_text("s.yaml", submission_yaml(f"interviewed_on: {typed}\n"))
    assert str(info.value) == f"s.yaml:6:1: interviewed_on: {message}"


def test_impossible_date_is_a_located_error() -> None:
    """2026-02-30 is reported on its field, not raised as a ValueError."""
    with pytest.raises(InvalidInput) as info:
        parse_submission_text("s.yaml", submission_yaml("interviewed_on: 2026-02-30\n"))
    assert str(info.value).startswith("s.yaml:6:1: interviewed_on: ")


def test_enormous_integer_is_one_line() -> None:
    """An integer of 5,000 digits (beyond Python's int/str limit) is one clear line."""
    with pytest.raises(InvalidInput) as info:
        parse_yaml("x.yaml", "x: " + "1" * 5000 + "\n")
    assert str(info.value).startswith("x.yaml: invalid value: ")


def test_json_duplicate_keys_are_refused(tmp_path: Path) -> None:
    """Duplicate keys in JSON are refused, as in YAML (the last one does not silently win)."""
    f = tmp_path / "s.json"
    f.write_text('{"recommendation": "strong_no", "recommendation": "strong_yes"}',
                 encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        read_document(f)
    assert str(info.value) == f"{rel(f)}: duplicate key 'recommendation'"


def test_framework_without_levels_is_refused(tmp_path: Path) -> None:
    """A native framework with no levels is an error, not a crash later."""
    fw = tmp_path / "frameworks" / "empty.yaml"
    fw.parent.mkdir()
    fw.write_text("id: empty\ntitle: Empty\nlevels: []\ntopics: []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(fw)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"{rel(fw)}:3:1: levels: List should have at least 1 item after validation, not 0")


def test_square_brackets_in_titles_do_not_break_the_terminal_tables(tmp_path: Path) -> None:
    """Text like "[/]" in a title is shown as typed, not parsed as terminal markup."""
    ws = tmp_path / "ws"
    (ws / "frameworks").mkdir(parents=True)
    text = (WS / "frameworks" / "tiny.yaml").read_text(encoding="utf-8")
    (ws / "frameworks" / "tiny.yaml").write_text(
        text.replace("title: Tiny framework", 'title: "Eng [/] team [bold]"'), encoding="utf-8")
    for args in (["frameworks", "list"], ["frameworks", "show", "tiny"]):
        result = CliRunner().invoke(app, [*args, "-w", str(ws)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "Eng [/] team [bold]" in result.output


def test_force_never_replaces_a_folder_that_is_not_a_pack(tmp_path: Path) -> None:
    """--force replaces packs only: a user's own folder of the same name is left alone."""
    out = tmp_path / "out"
    mine = out / "documents"
    mine.mkdir(parents=True)
    (mine / "thesis.txt").write_text("years of work", encoding="utf-8")
    result = CliRunner().invoke(app, ["pack", "tiny-engineer", "-w", str(WS), "--candidate", "X",
                                      "--candidate-id", "documents", "--out", str(out),
                                      "--format", "html", "--force"])
    assert result.exit_code == 1
    assert result.output == (f"error: {mine}: exists and is not a rubrics pack (pack, even "
                             "with --force, replaces only packs); choose another --out, or give "
                             "this candidate an id of their own\n")
    assert (mine / "thesis.txt").read_text(encoding="utf-8") == "years of work"


def test_header_only_csv_is_an_error(tmp_path: Path) -> None:
    """A candidates CSV with no rows fails, rather than reporting 0 packs written."""
    sheet = tmp_path / "c.csv"
    sheet.write_text("name,id\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["pack", "tiny-engineer", "-w", str(WS), "--candidates",
                                      str(sheet), "--out", str(tmp_path / "o"),
                                      "--format", "html"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{rel(sheet)}:1: no candidates: the CSV has a header row but no rows",
        "1 problem found"]


def test_candidate_and_candidates_together(tmp_path: Path) -> None:
    """Giving both --candidate and --candidates says "not both" (a usage error)."""
    result = CliRunner().invoke(app, ["pack", "tiny-engineer", "-w", str(WS), "--candidate",
                                      "X", "--candidates", str(tmp_path / "c.csv")])
    assert (result.exit_code, result.output) == (
        2, "error: give --candidate NAME or --candidates FILE.csv, not both\n")


def _tiny(*cards: tuple[str, str, dict[str, int | None], str]) -> dict[str, Any]:
    loop, _ = Workspace.open(WS).loop("tiny-engineer")
    rated = [Rated(f"{n:04d}", Submission(pack_id="p", stage=stage, interviewer=who,
                                          ratings=ratings, recommendation=Recommendation(rec)))
             for n, (stage, who, ratings, rec) in enumerate(cards, 1)]
    return aggregate(loop, rated, pack_id="p", candidate={})


ANN = ("design", "Ann", {"craft.design": 3, "craft.systems": 2, "ledgers.l2.balances": 4,
                         "ledgers.l3.reconciles": 3}, "yes")
BO = ("people", "Bo", {"people.mentors": 3, "craft.design": 4}, "yes")
CY = ("pairing", "Cy", {"craft.systems": 3, "people.mentors": 2, "ledgers.l2.balances": 3}, "yes")


def _with(card: tuple[str, str, dict[str, int | None], str], who: str | None = None,
          rec: str | None = None, **ratings: int | None) -> tuple[str, str, dict[str, int | None], str]:
    stage, name, old, verdict = card
    new = {**old, **{k.replace("__", "."): v for k, v in ratings.items()}}
    return stage, who or name, new, rec or verdict


def _said(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["decision"], r["recommended_level"], r["recommended_below"], r["sub_level"],
            r["confidence"]["level"], sorted({f["kind"] for f in r["flags"]}))


DOCS = (Path(__file__).resolve().parents[1] / "docs" / "aggregation.md").read_text(encoding="utf-8")


def test_docs_example_a_a_hire_worked_through() -> None:
    """Example A of docs/aggregation.md: craft 3, people 2, ledgers 3, 11/4 = 2.75, 3C, hire, high."""
    r = _tiny(ANN, BO, CY)
    assert {t["id"]: t["level"] for t in r["topics"]} == {"craft": 3, "people": 2, "ledgers": 3}
    assert r["weighted_mean_level"] == 2.75 and "11 / 4 = 2.75" in DOCS
    assert _said(r) == ("hire", 3, False, "C", "high", [])
    assert {t["id"]: t["independent_observations"] for t in r["topics"]} == {
        "craft": 3, "people": 2, "ledgers": 2}
    assert r["fragile"] is False and r["evidence"]["floor"] == 1
    assert json.dumps(r)  # the whole result is JSON-serialisable


def test_docs_example_b_a_blank_scorecard_is_not_returned() -> None:
    """Example B: Bo's all-null scorecard leaves stage people missing: incomplete, 2C provisional."""
    r = _tiny(ANN, _with(BO, people__mentors=None, craft__design=None), CY)
    assert _said(r)[:4] == ("incomplete", 2, False, "C")
    assert {"missing_stage", "blank_scorecard"} <= {f["kind"] for f in r["flags"]}


def test_docs_example_c_verdicts_count() -> None:
    """Example C: one no beside yeses is a split, all no is majority_no: needs discussion."""
    r = _tiny(ANN, _with(BO, rec="no"), CY)
    assert (r["decision"], r["evidence_outcome"]) == ("needs_discussion", "hire")
    assert [d["interviewer"] for d in r["dissent"]] == ["Bo"]
    r = _tiny(*(_with(c, rec="no") for c in (ANN, BO, CY)))
    assert _said(r)[0] == "needs_discussion" and "majority_no" in _said(r)[5]


def test_docs_example_d_must_pass() -> None:
    """Example D: craft.design 1 and 2 is no hire (must pass) at level 2; 3 and 1 is needs discussion."""
    cy = _with(CY, craft__systems=2)
    r = _tiny(_with(ANN, craft__design=1), _with(BO, craft__design=2), cy)
    assert (r["decision"], r["recommended_level"], r["weighted_mean_level"]) == ("no_hire", 2, 1.75)
    assert ("must-pass key criterion not shown: 'Designs modules' averages 1.5 (Ann: 1, Bo: 2), "
            "below 2.5") in r["decision_reasons"]
    assert "averages 1.5 (Ann: 1, Bo: 2), below 2.5" in DOCS.replace("\n", " ")
    r = _tiny(_with(ANN, craft__design=3), _with(BO, craft__design=1), cy)
    assert (r["evidence_outcome"], r["decision"]) == ("no_hire", "needs_discussion")
    r = _tiny(_with(ANN, craft__design=4), _with(BO, craft__design=1), cy)
    assert (r["evidence_outcome"], r["decision"]) == ("hire", "needs_discussion")


def test_docs_example_e_one_person_is_one_observation() -> None:
    """Example E: Ann also signing the pairing scorecard leaves ledgers with one observation."""
    r = _tiny(ANN, BO, _with(CY, who="ann"))
    assert r["decision"] == "insufficient_evidence"
    assert r["decision_reasons"] == [
        "Ledger correctness (ledgers) has 1 independent observation; it needs 2"]


def test_docs_example_f_no_cliffs() -> None:
    """Example F: one rating of 1 costs craft one rung (3 to 2); all 1s and 2s is below level 2."""
    r = _tiny(ANN, BO, _with(CY, craft__systems=1))
    assert {t["id"]: t["level"] for t in r["topics"]}["craft"] == 2
    assert (r["weighted_mean_level"], r["recommended_level"]) == (2.25, 2)
    low = [("design", "Ann", dict.fromkeys(ANN[2], 1), "no"),
           ("people", "Bo", dict.fromkeys(BO[2], 2), "no"),
           ("pairing", "Cy", dict.fromkeys(CY[2], 1), "no")]
    r = _tiny(*low)
    assert (r["decision"], r["recommended_level"], r["recommended_below"]) == ("no_hire", 2, True)
    assert all(t["below"] and t["counted_as"] == 1 for t in r["topics"])


def test_docs_example_g_threes_and_fours() -> None:
    """Example G: with Cy's 1 on craft.systems, Ann's 4 keeps level 3 of craft, her 3 does not."""
    four = _tiny(_with(ANN, craft__systems=4), BO, _with(CY, craft__systems=1))
    three = _tiny(_with(ANN, craft__systems=3), BO, _with(CY, craft__systems=1))
    level = {t["id"]: t["level"] for t in four["topics"]}["craft"], \
        {t["id"]: t["level"] for t in three["topics"]}["craft"]
    assert level == (3, 2)
    assert all("disagreement" in _said(r)[5] for r in (four, three))


def test_docs_example_h_disagreement_across_a_topic() -> None:
    """Example H: Bo's level 2 at 1 against Cy's level 3 at 4 is a topic disagreement; fragile."""
    r = _tiny(_with(ANN, craft__design=None, craft__systems=None), _with(BO, craft__design=1),
              _with(CY, craft__systems=4, people__mentors=3))
    flag = next(f for f in r["flags"] if f["kind"] == "topic_disagreement")
    assert flag["message"] == ("Bo and Cy disagree on Craft: Bo rates level 2 at 1, Cy rates "
                               "level 3 at 4 (3 apart)")
    assert flag["message"] in DOCS.replace("\n", " ")
    assert (r["evidence_outcome"], r["decision"], r["fragile"]) == (
        "no_hire", "needs_discussion", True)
    assert r["margin"]["changes"] == [{"submission": "0001", "stage": "design", "interviewer": "Ann",
                                       "criterion": "craft.design", "from": None, "to": 4,
                                       "outcome": "hire"}]


def test_pipeline_keeps_going_past_a_damaged_pack(tmp_path: Path) -> None:
    """Aggregating several packs lists every good one and names each damaged one (exit 1)."""
    pack = tiny_pack(tmp_path)
    broken = pack.parent / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(app, ["aggregate", str(pack), str(broken)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("candidate")
    assert result.stdout.splitlines()[1].startswith("Ada ")
    assert result.stderr == (f"error: {broken}: {rel(broken / 'manifest.json')}: not a rubrics "
                             "pack manifest (format is not rubrics-pack/1) (left out of the "
                             "table)\n")


def test_validate_points_a_pack_folder_to_verify(tmp_path: Path) -> None:
    """`rubrics validate PACK_DIR` says to use verify rather than misreading manifest.json."""
    pack = tiny_pack(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(pack)])
    assert (result.exit_code, result.output.splitlines()[0]) == (
        1, f"{rel(pack)}: is a candidate pack: check it with `rubrics verify {pack}`")


def test_submit_notes_weak_spots_but_accepts(tmp_path: Path) -> None:
    """A rating without evidence, a criterion left out and an unlisted red flag are noted, not refused."""
    runner = CliRunner()
    pack = tiny_pack(tmp_path)
    pack_id = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))["pack_id"]
    ret = tmp_path / "people.yaml"
    ret.write_text(f"pack_id: {pack_id}\nstage: people\ninterviewer: Bo\nrecommendation: yes\n"
                   "ratings: {people.mentors: 3}\nred_flags: [Talked over me]\n",
                   encoding="utf-8")
    result = runner.invoke(app, ["submit", str(pack), str(ret)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "accepted 0001: people by Bo\n"
    folder = rel(pack / "submissions" / "0001-people--bo")
    assert result.stderr.splitlines() == [
        f"{folder}: note: 1 rating(s) without evidence: people.mentors",
        f"{folder}: note: 1 criterion(s) left out, read as not assessed: craft.design",
        f"{folder}: note: red flag(s) not on the stage's list, kept as written: Talked over me",
    ]
