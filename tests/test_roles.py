"""Roles checked against their framework: every validation error's exact message."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rubrics.cli import app
from rubrics.roles import InterviewLoop, read_role
from rubrics.workspace import Workspace
from tests.conftest import FIXTURES, rel

WS = FIXTURES / "ws"
BAD = FIXTURES / "bad"


def run(runner: CliRunner, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["validate", "-w", str(WS), *args])
    return result.exit_code, result.output.splitlines()


def test_every_role_error_is_reported_with_its_location(runner: CliRunner) -> None:
    """Unknown criteria, levels outside the framework, duplicate stages, empty stages,
    uncovered criteria and weighted topics too few stages assess are all reported at once,
    in line order."""
    f = rel(BAD / "role-errors.yaml")
    code, lines = run(runner, str(BAD / "role-errors.yaml"))
    assert code == 1
    assert lines == [
        f"{f}:11:20: responsibilities[0].evidenced_by[0]: unknown criterion 'craft.desing' "
        "(did you mean 'craft.design'?)",
        f"{f}:11:34: criterion 'people.leads' is part of the role but no stage assesses it",
        f"{f}:12:17: warning: topic_weights.craft: 'craft' is weighted but assessed by 1 stage "
        "(design); the rule needs 2 independent observations "
        "(aggregation.min_topic_observations), so it would always report insufficient_evidence",
        f"{f}:12:27: warning: topic_weights.people: 'people' is weighted but assessed by 0 "
        "stages (none); the rule needs 2 independent observations "
        "(aggregation.min_topic_observations), so it would always report insufficient_evidence",
        f"{f}:12:38: topic_weights.cooking: no topic or competency 'cooking' "
        "(known: craft, people)",
        f"{f}:25:14: stages[0].questions[0].what_good_looks_like[0].level: level 7 is outside "
        "framework 'tiny' (levels 1-3)",
        f"{f}:26:5: stages[1].id: duplicate stage id 'design' (also stages[0])",
        f"{f}:26:5: stages[1]: stage 'design' assesses nothing (no focus criteria)",
        "6 problems found",
    ]


def test_wrong_types_and_unknown_fields(runner: CliRunner) -> None:
    """Type errors and unknown keys become one located, path-style line each."""
    f = rel(BAD / "role-types.yaml")
    code, lines = run(runner, str(BAD / "role-types.yaml"))
    assert code == 1
    assert lines == [
        f"{f}:1:1: id: must be an id: lower-case letters, digits, '.', '_' or '-' "
        "(got 'Broken Role')",
        f"{f}:6:1: target_level: Input should be a valid integer, unable to parse string as "
        "an integer (got 'five')",
        f"{f}:8:1: responsibilities: List should have at least 1 item after validation, not 0",
        f"{f}:13:5: stages[0].kind: Input should be 'system_design', 'coding', 'behavioural', "
        "'technical_deep_dive', 'leadership', 'stakeholder', 'screen' or 'other' "
        "(got 'karaoke')",
        f"{f}:18:5: stages[0].colour: unknown field 'colour'",
        "5 problems found",
    ]


def test_target_outside_band(tmp_path: Path, runner: CliRunner) -> None:
    """A target level outside the band is an error on the role."""
    text = (WS / "roles" / "tiny-engineer.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "r.yaml"
    bad.write_text(text.replace("target_level: 2", "target_level: 1"), encoding="utf-8")
    code, lines = run(runner, str(bad))
    assert code == 1
    assert lines == [f"{rel(bad)}:1:1: target_level 1 is outside the band 2-3",
                     "1 problem found"]


def test_key_criterion_assessed_once_warns_and_strict_fails(tmp_path: Path,
                                                            runner: CliRunner) -> None:
    """A key criterion assessed by only one stage is a warning; --strict makes it an error."""
    text = (WS / "roles" / "tiny-engineer.yaml").read_text(encoding="utf-8")
    role = tmp_path / "r.yaml"
    role.write_text(text.replace("[people.mentors, craft.design]", "[people.mentors]"),
                    encoding="utf-8")
    message = (f"{rel(role)}:26:16: key criterion 'craft.design' is assessed by only one stage "
               "(design); key criteria need two")
    code, lines = run(runner, str(role))
    assert (code, lines) == (0, [message.replace(": key", ": warning: key", 1),
                                 "ok: no problems found (1 warning)"])
    code, lines = run(runner, "--strict", str(role))
    assert (code, lines) == (1, [message, "1 problem found"])


def test_unknown_framework(tmp_path: Path, runner: CliRunner) -> None:
    """A role naming a framework the workspace lacks says which ones exist."""
    text = (WS / "roles" / "tiny-engineer.yaml").read_text(encoding="utf-8")
    role = tmp_path / "r.yaml"
    role.write_text(text.replace("framework: tiny", "framework: huge"), encoding="utf-8")
    code, lines = run(runner, str(role))
    assert code == 1
    assert lines[0] == (f"{rel(role)}:3:1: framework: framework 'huge' not found in "
                        f"{WS / 'frameworks'} (known: tiny)")


def test_coverage_of_fixture_role() -> None:
    """Competency ids expand to their criteria; the coverage rows say which stages assess each."""
    role, _ = read_role(WS / "roles" / "tiny-engineer.yaml")
    loop = InterviewLoop.build(role, Workspace(WS).framework("tiny"))
    rows = {r.criterion.id: r.stages for r in loop.coverage()}
    assert rows == {
        "craft.design": ("design", "people"),
        "craft.systems": ("design", "pairing"),
        "people.mentors": ("people", "pairing"),
        "ledgers.l2.balances": ("design", "pairing"),
        "ledgers.l3.reconciles": ("design",),
    }
    below, above = loop.anchors("craft.design")
    assert [c.id for c in below] == ["craft.tests"]
    assert [c.id for c in above] == ["craft.systems"]


def test_rule_2_warnings_on_a_role(tmp_path: Path, runner: CliRunner) -> None:
    """Rule 1's level_pass_fraction, a must-pass criterion above the target level and a
    key criterion written as a mapping: warnings where they are, and the role still loads."""
    text = (WS / "roles" / "tiny-engineer.yaml").read_text(encoding="utf-8")
    role = tmp_path / "r.yaml"
    role.write_text(text.replace("key_criteria: [craft.design]",
                                 "key_criteria: [craft.design, {id: craft.systems}]")
                    + "aggregation:\n  level_pass_fraction: 0.5\n", encoding="utf-8")
    code, lines = run(runner, str(role))
    assert (code, lines) == (0, [
        f"{rel(role)}:26:30: warning: key_criteria[1]: must-pass criterion 'craft.systems' is "
        "at level 3, above the target level 2: no hire at the target level could be "
        "recommended without it; mark it must_pass: false unless that is meant",
        f"{rel(role)}:76:3: warning: aggregation.level_pass_fraction: no longer used: since "
        "rule 2 a level passes when its ratings average at least demonstrated_at "
        "(docs/aggregation.md); remove it",
        "ok: no problems found (2 warnings)"])
    role.write_text(text.replace("key_criteria: [craft.design]",
                                 "key_criteria: [craft.design, {id: craft.systems, "
                                 "must_pass: false}]"), encoding="utf-8")
    assert run(runner, str(role)) == (0, ["ok: no problems found"])
    role.write_text(text.replace("key_criteria: [craft.design]",
                                 "key_criteria: [{id: craft.design, must_pas: false}]"),
                    encoding="utf-8")
    code, lines = run(runner, str(role))
    assert (code, lines[0]) == (1, f"{rel(role)}:26:35: key_criteria[0].must_pas: unknown "
                                "field 'must_pas' (did you mean 'must_pass'?)")


# --------------------------------------------------------------------------- focus criteria


def _tiny(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = (WS / "roles" / "tiny-engineer.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    role = tmp_path / "r.yaml"
    role.write_text(text, encoding="utf-8")
    return role


def _line(path: Path, needle: str, nth: int = 1) -> int:
    hits = [n for n, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if needle in t]
    return hits[nth - 1]


def test_questions_name_the_focus_criteria_they_assess(tmp_path: Path,
                                                       runner: CliRunner) -> None:
    """A question that assesses a criterion outside its stage's focus is an error; a
    question that assesses nothing, and a focus criterion no question assesses, warn."""
    role = _tiny(tmp_path,
                 ("        assesses: [people.mentors, craft.design]\n",
                  "        assesses: [people.mentors, craft.systems]\n"),
                 ("        assesses: [craft.systems, people.mentors, ledgers.l2.balances]\n", ""))
    code, lines = run(runner, str(role))
    people = _line(role, "    focus: [people.mentors, craft.design]")
    pairing = _line(role, "    focus: [craft.systems, people.mentors, ledgers.l2.balances]")
    assert (code, lines) == (1, [
        f"{rel(role)}:{people}:29: warning: stages[1]: no question assesses focus criterion "
        "'craft.design'",
        f"{rel(role)}:{people + 3}:36: stages[1].questions[0].assesses[1]: 'craft.systems' is "
        "not a focus criterion of stage 'people'",
        *(f"{rel(role)}:{pairing}:{col}: warning: stages[2]: no question assesses focus "
          f"criterion '{cid}'" for cid, col in [("craft.systems", 13), ("people.mentors", 28),
                                                 ("ledgers.l2.balances", 44)]),
        f"{rel(role)}:{_line(role, '- text: Add a refund')}:9: warning: "
        "stages[2].questions[0]: assesses no focus criterion; add `assesses: [criterion ids]`",
        "1 problem found"])


def test_more_than_five_focus_criteria_warn_and_more_than_eight_are_refused(
        tmp_path: Path, runner: CliRunner) -> None:
    """Six focus criteria in a stage are a warning (an error with --strict); nine are an
    error: raters are more accurate with fewer dimensions."""
    six = ["craft.design", "craft.systems", "craft.tests", "people.mentors",
           "ledgers.l2.balances", "ledgers.l3.reconciles"]
    edits = [("    focus: [people.mentors, craft.design]\n",
              f"    focus: [{', '.join(six)}]\n"),
             ("        assesses: [people.mentors, craft.design]\n",
              f"        assesses: [{', '.join(six)}]\n")]
    role = _tiny(tmp_path, *edits)
    at = f"{rel(role)}:{_line(role, '    focus: [craft.design, craft.systems, craft.tests')}:5"
    message = ("stages[1].focus: 6 focus criteria, more than 5: raters are more accurate with "
               "fewer; keep 5 or fewer and let another stage assess the rest")
    assert run(runner, str(role)) == (0, [f"{at}: warning: {message}",
                                          "ok: no problems found (1 warning)"])
    assert run(runner, "--strict", str(role)) == (1, [f"{at}: {message}", "1 problem found"])
    nine = ", ".join([*six, "craft.design", "craft.systems", "craft.tests"])
    role = _tiny(tmp_path, ("    focus: [people.mentors, craft.design]\n",
                            f"    focus: [{nine}]\n"))
    code, lines = run(runner, str(role))
    assert (code, lines) == (1, [
        f"{at}: stages[1].focus: 9 focus criteria, more than 8: no interviewer rates that "
        "many well in one interview; keep 5 or fewer and let another stage assess the rest",
        "1 problem found"])


def test_rating_anchors_need_all_four_points(tmp_path: Path, runner: CliRunner) -> None:
    """A focus criterion's anchors name what 1, 2, 3 and 4 look like: one missing is an
    error on the anchors, naming the missing point."""
    role = _tiny(tmp_path, ("          4: Weighs two designs against the failures that matter "
                            "most, and picks one\n", ""))
    code, lines = run(runner, str(role))
    assert (code, lines) == (1, [
        f"{rel(role)}:{_line(role, '        anchors:')}:9: stages[0].focus[0].anchors: "
        "give all four rating points 1, 2, 3 and 4 (missing: 4)",
        "1 problem found"])


def test_a_role_written_with_assesses_still_loads_with_a_warning(
        tmp_path: Path, runner: CliRunner) -> None:
    """Roles written before focus criteria list a stage's criteria under `assesses`: they
    load as focus criteria, and validate says to rename the key."""
    role = _tiny(tmp_path, ("    focus: [people.mentors, craft.design]\n",
                            "    assesses: [people.mentors, craft.design]\n"))
    at = _line(role, "    assesses: [people.mentors, craft.design]")
    assert run(runner, str(role)) == (0, [
        f"{rel(role)}:{at}:5: warning: stages[1].assesses: renamed 'focus' (the criteria this "
        "stage rates); rename the key", "ok: no problems found (1 warning)"])
    loaded, _ = read_role(role)
    assert loaded.stages[1].assesses == ("people.mentors", "craft.design")
