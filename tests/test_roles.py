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
    """Unknown criteria, levels outside the framework, duplicate stages, empty stages and
    uncovered criteria are all reported at once, in line order."""
    f = rel(BAD / "role-errors.yaml")
    code, lines = run(runner, str(BAD / "role-errors.yaml"))
    assert code == 1
    assert lines == [
        f"{f}:11:20: responsibilities[0].evidenced_by[0]: unknown criterion 'craft.desing' "
        "(did you mean 'craft.design'?)",
        f"{f}:11:34: criterion 'people.leads' is part of the role but no stage assesses it",
        f"{f}:12:38: topic_weights.cooking: no topic or competency 'cooking' "
        "(known: craft, people)",
        f"{f}:24:14: stages[0].questions[0].what_good_looks_like[0].level: level 7 is outside "
        "framework 'tiny' (levels 1-3)",
        f"{f}:25:5: stages[1].id: duplicate stage id 'design' (also stages[0])",
        f"{f}:25:5: stages[1]: stage 'design' assesses nothing",
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
    role.write_text(text.replace("assesses: [people.mentors, craft.design]",
                                 "assesses: [people.mentors]"), encoding="utf-8")
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
        "craft.systems": ("design",),
        "people.mentors": ("people",),
        "ledgers.l2.balances": ("design",),
        "ledgers.l3.reconciles": ("design",),
    }
    below, above = loop.anchors("craft.design")
    assert [c.id for c in below] == ["craft.tests"]
    assert [c.id for c in above] == ["craft.systems"]
