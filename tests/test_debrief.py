"""The debrief record end to end: `rubrics decide` on real packs, through the CLI, and what
the reports then show beside the mechanical recommendation."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rubrics.cli import app
from rubrics.samples import fill_yaml, sample_email
from tests.conftest import ROLE_ID, rel

STAGES = ["hiring-manager-conversation", "system-design-money-movement",
          "coding-correctness-concurrency", "deep-dive-ownership-incidents",
          "design-review-exercise", "leadership-mentoring", "stakeholder-partnership"]
PEOPLE = ["Priya Raman", "Tomás Álvarez", "Grace Okafor", "Jonas Weber", "Mei Chen", "Sam Taylor",
          "Kwame Mensah"]


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def blank_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packs")
    result = cli("pack", ROLE_ID, "--candidate", "Ada Lovelace", "--candidate-id", "ada",
                 "--out", out, "--format", "html")
    assert result.exit_code == 0, result.output
    return out / "ada"


@pytest.fixture
def pack(blank_pack: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(blank_pack, tmp_path / "ada"))


def level_of(cid: str) -> int:
    found = re.search(r"\.l(\d)\.", cid)
    assert found
    return int(found.group(1))


def returns(pack: Path, folder: Path, rate: Callable[[str], int | None],
            recs: list[str] | None = None, stages: list[str] | None = None) -> list[Path]:
    """Fill the pack's blank YAML scorecards as one interviewer a stage would."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n, stage in enumerate(STAGES):
        if stages is not None and stage not in stages:
            continue
        blank = (pack / "scorecards" / f"{stage}.yaml").read_text(encoding="utf-8")
        criteria = re.findall(r"^  ([a-z0-9.-]+): null$", blank, flags=re.M)
        ratings = {cid: rate(cid) for cid in criteria}
        answers: dict[str, Any] = {
            "interviewer": PEOPLE[n], "interviewer_email": sample_email(PEOPLE[n]),
            "interviewed_on": "2026-11-20", "ratings": ratings,
            "evidence": {cid: "Walked through it in detail." for cid, v in ratings.items() if v},
            "notes": "", "recommendation": recs[n] if recs else "yes"}
        path = folder / f"{stage}.yaml"
        path.write_text(fill_yaml(blank, answers), encoding="utf-8")
        files.append(path)
    return files


def report(pack: Path) -> dict[str, Any]:
    result = cli("aggregate", pack, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def resolve_all(pack: Path) -> list[str]:
    return [arg for f in report(pack)["flags"]
            for arg in ("--resolve", f"{f['id']}=Discussed in the debrief: {f['kind']}")]


def log_bytes(pack: Path) -> bytes:
    return (pack / "submissions" / "log.jsonl").read_bytes()


def decide(pack: Path, *args: str) -> Result:
    return cli("decide", pack, *args)


# --------------------------------------------------------------------------- recording


def test_a_decision_is_logged_verified_and_shown_beside_the_recommendation(
        pack: Path, tmp_path: Path) -> None:
    """A hire with every flag resolved is entry 0008 of the log, verify covers it, and the
    text, JSON and HTML reports show it beside the recommendation."""
    files = returns(pack, tmp_path / "r", lambda c: 3 if level_of(c) <= 5 else 2,
                    recs=["yes", "yes", "no", "yes", "yes", "yes", "yes"])
    assert cli("submit", pack, *files).exit_code == 0
    before = report(pack)
    assert before["decision"] == "needs_discussion" and before["panel_decision"] is None
    flags = {f["kind"] for f in before["flags"]}
    assert "split_recommendation" in flags
    result = decide(pack, "--decision", "hire", "--reason", "Design and incidents strong; the "
                    "coding no was about speed, not correctness", "--by", "Hiring panel (chair: "
                    "Sam Taylor)", *resolve_all(pack))
    assert (result.exit_code, result.stdout) == (0, "recorded decision 0008: hire at level 5\n")

    assert cli("verify", pack).stdout == ("ok: pack files and 7 logged submissions and 1 panel "
                                          "decision verified\n")
    after = report(pack)
    d = after["panel_decision"]
    assert (d["entry"], d["decision"], d["level"], d["by"], d["override"]) == (
        "0008", "hire", 5, "Hiring panel (chair: Sam Taylor)", None)
    assert {r["flag"] for r in d["resolutions"]} == {f["id"] for f in before["flags"]}
    assert d["left_open"] == [] and d["unresolved_now"] == [] and d["after_decision"] == []
    assert d["recommendation_then"]["decision"] == "needs_discussion"
    assert after["decision"] == before["decision"]  # the recommendation is not rewritten

    text = cli("aggregate", pack).stdout.splitlines()
    assert text[2].startswith("recommendation: needs discussion   level: 5")
    panel_line = next(i for i, x in enumerate(text) if x.startswith("panel decision: "))
    assert panel_line < 12 and "hire at level 5, by Hiring panel" in text[panel_line]
    assert any("against what the ratings say (hire): Grace Okafor "
               "(coding-correctness-concurrency): no" in x for x in text[:panel_line])
    html = tmp_path / "r.html"
    assert cli("aggregate", pack, "--format", "html", "--out", html).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert page.index("Panel decision") < page.index("Level by topic")
    assert "resolved: Discussed in the debrief" in page


def test_unresolved_flags_refuse_the_decision_and_change_nothing(pack: Path, tmp_path: Path) -> None:
    """Deciding while flags are open lists each one, says how to resolve them, and leaves
    the log exactly as it was."""
    files = returns(pack, tmp_path / "r", lambda c: 3, recs=["no"] + ["yes"] * 6)
    assert cli("submit", pack, *files).exit_code == 0
    flags = report(pack)["flags"]
    before = log_bytes(pack)
    result = decide(pack, "--decision", "hire", "--reason", "Strong", "--by", "Panel")
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[:-2] == [f"--resolve: {f['id']}: not resolved: {f['message']}" for f in flags]
    assert lines[-2:] == [
        f"{len(flags)} problem{'s' if len(flags) != 1 else ''} found; nothing was recorded",
        "hint: resolve each flag with --resolve ID=TEXT or a --resolutions FILE (rubrics "
        "aggregate PACK --format resolutions writes one to fill in), or decide with them open "
        'using --force-unresolved "why"']
    assert log_bytes(pack) == before


def test_flags_left_open_on_purpose_are_on_the_record(pack: Path, tmp_path: Path) -> None:
    """--force-unresolved records the open flags and why; the reports show them as left open."""
    files = returns(pack, tmp_path / "r", lambda c: 3, stages=STAGES[:4])
    assert cli("submit", pack, *files).exit_code == 0
    flags = report(pack)["flags"]
    assert {f["kind"] for f in flags} >= {"missing_stage"}
    result = decide(pack, "--decision", "no_hire", "--reason", "Candidate withdrew", "--by",
                    "Recruiter", "--force-unresolved", "withdrawn before the last two stages")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "recorded decision 0005: no hire",
        "  override of the recommendation: decided although the rule could not recommend "
        "(incomplete)"]
    d = report(pack)["panel_decision"]
    assert [x["flag"] for x in d["left_open"]] == [f["id"] for f in flags]
    assert d["left_open_reason"] == "withdrawn before the last two stages"
    text = cli("aggregate", pack).stdout
    assert "left open by the panel" in text


def test_resolutions_from_a_file_and_bad_arguments(pack: Path, tmp_path: Path) -> None:
    """Resolutions may come from a YAML file; unknown ids, empty texts, a bad decision, a
    level for a no-hire or outside the framework are each one clear line, nothing recorded."""
    files = returns(pack, tmp_path / "r", lambda c: 3, recs=["no"] + ["yes"] * 6)
    assert cli("submit", pack, *files).exit_code == 0
    flags = report(pack)["flags"]
    before = log_bytes(pack)
    bad = flags[0]["id"][:-1] + ("x" if flags[0]["id"][-1] != "x" else "y")
    cases = [
        (["--decision", "maybe"], "--decision: must be hire or no_hire (got 'maybe')"),
        (["--decision", "no_hire", "--level", "5"],
         "--level: a no_hire decision has no level; leave --level out"),
        (["--decision", "hire", "--level", "9"],
         "--level: level 9 is not a level of framework 'backend' (1-6)"),
        (["--decision", "hire", "--resolve", f"{bad}=x"],
         f"--resolve: {bad}: no such flag in this pack's report (did you mean {flags[0]['id']}?)"),
        (["--decision", "hire", "--resolve", f"{flags[0]['id']}=  "],
         f"--resolve: {flags[0]['id']}: say how the panel resolved it (text)"),
        (["--decision", "hire", "--resolve", "no-equals-sign"],
         "--resolve: 'no-equals-sign': write FLAG_ID=TEXT"),
    ]
    for args, line in cases:
        result = decide(pack, *args, "--reason", "r", "--by", "p", "--force-unresolved", "test")
        assert result.exit_code == 1, args
        assert result.stderr.splitlines()[0] == line, args
        assert log_bytes(pack) == before
    answers = tmp_path / "resolutions.yaml"
    answers.write_text("".join(f"{f['id']}: \"Discussed: {f['kind']}\"\n" for f in flags),
                       encoding="utf-8")
    result = decide(pack, "--decision", "hire", "--reason", "r", "--by", "p",
                    "--resolutions", answers)
    assert result.exit_code == 0, result.output
    answers.write_text(f"{flags[0]['id']}: 3\n", encoding="utf-8")
    result = decide(pack, "--decision", "hire", "--reason", "r", "--by", "p", "--resolutions",
                    answers, "--force-unresolved", "x")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(answers)}:1:1: {flags[0]['id']}: say how the panel resolved it (text)")


def test_an_override_and_a_later_decision(pack: Path, tmp_path: Path) -> None:
    """Hiring at another level than recommended is an override with its reason; a second
    decision supersedes the first, keeps both in the log, and a submission after it is
    listed."""
    files = returns(pack, tmp_path / "r", lambda c: 4)
    assert cli("submit", pack, *files).exit_code == 0
    rec = report(pack)
    assert (rec["decision"], rec["recommended_level"], rec["flags"]) == ("hire", 6, [])
    result = decide(pack, "--decision", "hire", "--level", "5", "--reason",
                    "Budget for a level-5 role only", "--by", "Panel")
    assert result.stdout.splitlines() == [
        "recorded decision 0008: hire at level 5",
        "  override of the recommendation: level: the panel hires at level 5; the "
        "recommendation is level 6"]
    result = decide(pack, "--decision", "no_hire", "--reason", "Offer declined", "--by", "Panel")
    assert result.stdout.splitlines() == [
        "recorded decision 0009: no hire", "  supersedes decision 0008 (both stay in the log)",
        "  override of the recommendation: decision: the panel decided no hire; the ratings "
        "say hire"]
    late = returns(pack, tmp_path / "late", lambda c: 3, stages=[STAGES[0]])[0]
    result = cli("submit", pack, "--amend", "--reason", "typo in two ratings", late)
    assert result.exit_code == 0, result.output
    d = report(pack)["panel_decision"]
    assert (d["entry"], d["decision"], [e["entry"] for e in d["earlier"]]) == ("0009", "no_hire", ["0008"])
    assert d["after_decision"] == [{"submission": "0010", "stage": STAGES[0],
                                    "interviewer": PEOPLE[0], "accepted_at": d["after_decision"][0]["accepted_at"],
                                    "amends": "0001"}]
    assert "after the decision: 0010" in cli("aggregate", pack).stdout
    assert cli("verify", pack).exit_code == 0


def test_an_edited_decision_is_caught(pack: Path, tmp_path: Path) -> None:
    """Editing the recorded reason breaks the chain: verify names it and aggregate refuses."""
    files = returns(pack, tmp_path / "r", lambda c: 4)
    assert cli("submit", pack, *files).exit_code == 0
    assert decide(pack, "--decision", "hire", "--reason", "Strong", "--by", "Panel").exit_code == 0
    log = pack / "submissions" / "log.jsonl"
    log.write_text(log.read_text(encoding="utf-8").replace('"Strong"', '"Weak"'), encoding="utf-8")
    result = cli("verify", pack)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(log)}:9: entry 9: entry was altered (its hash does not match its content)")
    assert cli("aggregate", pack).exit_code == 1
    assert decide(pack, "--decision", "hire", "--reason", "x", "--by", "y").exit_code == 1


def test_hiring_without_a_recommended_level_needs_one(pack: Path, tmp_path: Path) -> None:
    """When the rule could not recommend, a hire must name its level."""
    files = returns(pack, tmp_path / "r", lambda c: 3, stages=STAGES[:2])
    assert cli("submit", pack, *files).exit_code == 0
    result = decide(pack, "--decision", "hire", "--reason", "r", "--by", "p",
                    "--force-unresolved", "x")
    assert (result.exit_code, result.stderr.splitlines()[0]) == (
        1, "--level: the rule recommends no level to hire at (incomplete); give --level N")


# --------------------------------------------------------------------------- amendments


def test_amendments_show_in_every_format_and_a_changed_outcome_is_flagged(
        pack: Path, tmp_path: Path) -> None:
    """Three amendments with reason "x" that move the candidate from 5 to 6 appear in text,
    JSON and HTML with their reason and time, and the amended_outcome flag says what moved."""
    files = returns(pack, tmp_path / "r", lambda c: 3 if level_of(c) <= 5 else 2)
    assert cli("submit", pack, *files).exit_code == 0
    assert report(pack)["recommended_level"] == 5
    for stage in (STAGES[0], STAGES[3], STAGES[5]):  # level-6 ratings 2 -> 3
        amended = returns(pack, tmp_path / f"a-{stage}", lambda c: 3, stages=[stage])
        result = cli("submit", pack, "--amend", "--reason", "x", *amended)
        assert result.exit_code == 0, result.output
    data = report(pack)
    assert data["recommended_level"] == 6
    assert [(a["submission"], a["amends"], a["reason"]) for a in data["amendments"]] == [
        ("0008", "0001", "x"), ("0009", "0004", "x"), ("0010", "0006", "x")]
    assert all(a["accepted_at"] and a["rating_changes"] for a in data["amendments"])
    flag = next(f for f in data["flags"] if f["kind"] == "amended_outcome")
    assert flag["message"].startswith("the amendments (0008, 0009, 0010) changed the "
                                      "recommendation: as first returned the scorecards gave "
                                      "hire at level 5")
    text = cli("aggregate", pack).stdout
    assert "0008 amends 0001" in text and "reason: x" in text
    html = tmp_path / "r.html"
    assert cli("aggregate", pack, "--format", "html", "--out", html).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "0008 amends 0001" in page and "<td>x</td>" in page


def test_a_renamed_resubmission_is_refused(pack: Path, tmp_path: Path) -> None:
    """The same scorecard sent again as "M. Chen" is refused (it would count twice); with
    --amend it replaces the first; an email identifies one person across spellings."""
    stage = STAGES[4]
    first = returns(pack, tmp_path / "r", lambda c: 3, stages=[stage])[0]
    assert cli("submit", pack, first).exit_code == 0
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(first.read_text(encoding="utf-8").replace(
        'interviewer: "Mei Chen"', 'interviewer: "M. Chen"').replace(
        "interviewer_email: mei.chen@example.com", 'interviewer_email: ""'), encoding="utf-8")
    result = cli("submit", pack, renamed)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(renamed)}: same ratings and evidence as submission 0001 by 'Mei Chen' for stage "
        f"'{stage}': if this is that scorecard under another name, replace it with --amend "
        "--reason \"...\"; a second interviewer's scorecard needs their own evidence")
    again = tmp_path / "again.yaml"
    again.write_text(first.read_text(encoding="utf-8").replace(
        'interviewer: "Mei Chen"', 'interviewer: "MEI  CHÉN"').replace(": 3\n", ": 4\n"),
        encoding="utf-8")
    result = cli("submit", pack, again)
    assert result.exit_code == 1
    assert "already has a submission by 'Mei Chen' (0001)" in result.stderr
    result = cli("submit", pack, "--amend", "--reason", "signed with initials", renamed)
    assert (result.exit_code, result.stdout) == (0, f"accepted 0002: {stage} by M. Chen (amends 0001)\n")
    assert [r["submission"] for r in report(pack)["recommendations"]] == ["0002"]


# --------------------------------------------------------------------------- pipelines


def test_a_pipeline_in_worker_processes_matches_one_process(blank_pack: Path, tmp_path: Path) -> None:
    """Several packs aggregate to the same JSON with worker processes as without, with the
    panel's decision in each row; a damaged pack is named on stderr and left out (exit 1)."""
    packs = []
    for n, rate in enumerate([lambda c: 4, lambda c: 2, lambda c: 3]):
        pack = Path(shutil.copytree(blank_pack, tmp_path / "packs" / f"c{n}"))
        assert cli("submit", pack, *returns(pack, tmp_path / f"r{n}", rate)).exit_code == 0
        packs.append(pack)
    assert decide(packs[0], "--decision", "hire", "--reason", "r", "--by", "p",
                  "--force-unresolved", "none open").exit_code == 0
    broken = tmp_path / "packs" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{}", encoding="utf-8")
    runs = [cli("aggregate", *packs, broken, "--format", "json", "--jobs", jobs)
            for jobs in ("1", "2")]
    assert runs[0].stdout == runs[1].stdout
    assert [r.exit_code for r in runs] == [1, 1]
    assert runs[1].stderr == (f"error: {broken}: {rel(broken / 'manifest.json')}: not a rubrics "
                              "pack manifest (format is not rubrics-pack/1) (left out of the "
                              "table)\n")
    data = json.loads(runs[1].stdout)
    assert [row["panel"] for row in data["pipeline"]] == ["hire at level 6", "-", "-"]
    assert [p["pack_id"] for p in data["packs"]] == [row["pack_id"] for row in data["pipeline"]]
    table, below = cli("aggregate", *packs, "--jobs", "2").stdout.split("\n\n", 1)
    text = table.splitlines()
    assert text[0].split() == ["candidate", "level", "decision", "confidence", "missing"]
    assert len(text) == 4
    assert "panel decided hire at level 6" in below.splitlines()[0]


def test_a_lone_surrogate_in_a_decision_is_a_problem_not_a_crash(pack: Path,
                                                                   tmp_path: Path) -> None:
    """A reason with a lone surrogate (an invalid byte in the shell's argument) is refused
    as the reason's problem, exit 1, and the log is left as it was."""
    assert cli("submit", pack, *returns(pack, tmp_path / "r", lambda c: 3)).exit_code == 0
    before = log_bytes(pack)
    result = decide(pack, "--decision", "hire", "--reason", "strong\udcff", "--by", "Panel",
                    *resolve_all(pack))
    assert result.exit_code == 1, result.output
    assert "--reason: contains a lone surrogate U+DCFF; remove it" \
        in result.output
    assert log_bytes(pack) == before
