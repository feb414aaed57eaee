"""The command line as users run it: exit codes, messages, JSON, help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rubrics import __version__
from rubrics.cli import app
from tests.conftest import ROLE_ID, ROOT, SEED, rel


def test_version(runner: CliRunner) -> None:
    """--version prints the version and exits 0."""
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"rubrics {__version__}\n")


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [(*prefix, c.name or c.callback.__name__) for c in group.registered_commands
           if c.callback is not None]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None and sub.name is not None
        out += _commands(sub.typer_instance, (*prefix, sub.name))
    return out


def test_every_command_has_help_and_is_documented(runner: CliRunner) -> None:
    """Each command answers --help with a description and is named in the README."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = _commands(app)
    assert len(commands) >= 8
    for cmd in commands:
        result = runner.invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0, cmd
        assert "Usage:" in result.output
        assert f"rubrics {cmd[0]}" in readme, f"rubrics {' '.join(cmd)} is not in README.md"


def test_help_does_not_import_weasyprint() -> None:
    """`rubrics --help` stays fast: neither WeasyPrint nor the domain model is imported."""
    code = (
        "import sys\nfrom rubrics.cli import main\nsys.argv=['rubrics','--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'weasyprint' in sys.modules, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "LOADED False False"


def test_validate_bundled_workspace(runner: CliRunner) -> None:
    """The bundled framework and role validate clean (the seed's mojibake is a warning)."""
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{rel(SEED)}: warning: repaired mojibake: the file's UTF-8 had been read as Mac Roman",
        "ok: no problems found (1 warning)",
    ]


def test_validate_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    """A missing file is one line and exit 1."""
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"{rel(tmp_path / 'nope.yaml')}: file not found",
                                          "1 problem found"]


def test_validate_unknown_kind(runner: CliRunner, tmp_path: Path) -> None:
    """A YAML file that is neither framework, role nor submission says so."""
    f = tmp_path / "x.yaml"
    f.write_text("hello: world\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(f)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"{rel(f)}: not a framework, role or submission file (cannot tell which it is)")


def test_frameworks_list_and_show_json(runner: CliRunner) -> None:
    """frameworks list/show --json give scripts the framework and its criterion ids."""
    result = runner.invoke(app, ["frameworks", "list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert [(r["id"], r["levels"], r["criteria"]) for r in rows] == [("backend", 6, 135)]
    result = runner.invoke(app, ["frameworks", "show", "backend", "--json"])
    data = json.loads(result.output)
    assert data["sub_levels"] == ["A", "B", "C", "D", "E"]
    assert data["topics"][2]["title"] == "👩‍💼 Leadership"


def test_frameworks_show_text(runner: CliRunner) -> None:
    """frameworks show prints each topic with its criteria and ids."""
    result = runner.invoke(app, ["frameworks", "show", "backend"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "🛠️ Backend Engineering Framework" in result.output
    assert "impact.l4.solves-ambiguous-problems" in result.output


def test_frameworks_export_is_native_yaml(runner: CliRunner, tmp_path: Path) -> None:
    """frameworks export writes the native format, which validates on its own."""
    result = runner.invoke(app, ["frameworks", "export", "backend"])
    assert result.exit_code == 0
    out = tmp_path / "frameworks" / "backend.yaml"
    out.parent.mkdir()
    out.write_text(result.output, encoding="utf-8")
    assert runner.invoke(app, ["validate", str(out)]).output == "ok: no problems found\n"


def test_unknown_framework_and_role(runner: CliRunner) -> None:
    """Asking for an id that does not exist names what does."""
    result = runner.invoke(app, ["frameworks", "show", "nope"])
    assert result.exit_code == 1
    assert result.output.startswith("error: framework 'nope' not found in ")
    assert result.output.rstrip().endswith("(known: backend)")
    result = runner.invoke(app, ["roles", "show", "nope"])
    assert result.exit_code == 1
    assert result.output.rstrip().endswith(f"(known: {ROLE_ID})")


def test_roles_list_json(runner: CliRunner) -> None:
    """roles list --json lists the bundled role with its band."""
    rows = json.loads(runner.invoke(app, ["roles", "list", "--json"]).output)
    assert [(r["id"], r["framework"], r["target_level"], r["band"]) for r in rows] == [
        (ROLE_ID, "backend", 5, [4, 6])
    ]


def test_roles_show_coverage(runner: CliRunner) -> None:
    """roles show --json has the coverage matrix: no gaps, key criteria assessed twice."""
    result = runner.invoke(app, ["roles", "show", ROLE_ID, "--json"])
    assert result.exit_code == 0
    cov = json.loads(result.output)["coverage"]
    assert cov["gaps"] == []
    assert cov["key_under_covered"] == []
    assert all(c["stages"] for c in cov["criteria"])
    assert {c["id"] for c in cov["criteria"] if c["key"]} <= set(cov["assessed_twice"])


@pytest.mark.parametrize("width", [80, 120])
def test_roles_show_fits_the_terminal(runner: CliRunner, width: int) -> None:
    """roles show fits an 80- and a 120-column terminal: no line wider, no ★ alone on a line,
    every row of the matrix as wide as its header (emoji in topic titles do not push the
    columns out), and the loop's durations as people say them."""
    from rich.cells import cell_len

    result = runner.invoke(app, ["roles", "show", ROLE_ID], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert all(line.strip() != "★" for line in lines)
    assert "7 stages, 5 hours" in lines[1]
    start = lines.index(next(x for x in lines if x.startswith("   topic / criterion")))
    matrix = lines[start:lines.index(next(x for x in lines if x.startswith("✓ assessed")))]
    assert len(matrix) == 1 + 7 + 24  # header, topics, criteria: one line each
    assert {cell_len(line) for line in matrix} == {cell_len(matrix[0])}
    assert any(x.startswith("★") and "l5.designs-for-small-blast-radius" in x for x in matrix)
    assert any(x.startswith("S2 ") and "1 hour " in x for x in lines)
    assert "every role criterion is assessed by at least one stage" in result.output


@pytest.mark.parametrize("kind", ["framework", "role", "submission"])
def test_schema(runner: CliRunner, kind: str) -> None:
    """schema prints a JSON Schema for each file format."""
    result = runner.invoke(app, ["schema", kind])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False


def test_schema_unknown(runner: CliRunner) -> None:
    """An unknown schema name is a usage error (exit 2)."""
    result = runner.invoke(app, ["schema", "pizza"])
    assert result.exit_code == 2
    assert result.output == "error: unknown schema 'pizza' (choose from framework, role, " \
        "submission)\n"


def test_init_creates_a_workspace_and_never_overwrites(runner: CliRunner,
                                                       tmp_path: Path) -> None:
    """init copies the bundled frameworks and roles (templates stay built in, with a note on
    overriding them); a second init into the same folder is refused."""
    target = tmp_path / "acme"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "roles" / f"{ROLE_ID}.yaml").is_file()
    assert (target / "frameworks" / "backend.md").read_bytes() == SEED.read_bytes()
    assert [p.name for p in (target / "templates").iterdir()] == ["README.md"]
    assert "scorecard.html.j2" in (target / "templates" / "README.md").read_text("utf-8")
    assert runner.invoke(app, ["validate", "-w", str(target)]).exit_code == 0
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 1
    assert result.output == f"error: {target}: folder exists and is not empty; choose a new " \
        "folder\n"


def test_workspace_option_and_env(runner: CliRunner, tmp_path: Path) -> None:
    """--workspace must be a workspace folder; RUBRICS_WORKSPACE works too."""
    result = runner.invoke(app, ["roles", "list", "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == f"error: {tmp_path}: not a workspace (no frameworks/ or roles/ " \
        "folder)\n"
    ws = ROOT / "tests" / "fixtures" / "ws"
    result = runner.invoke(app, ["roles", "list", "--json"], env={"RUBRICS_WORKSPACE": str(ws)})
    assert [r["id"] for r in json.loads(result.output)] == ["tiny-engineer"]


@pytest.mark.slow
def test_installed_package_finds_bundled_workspace(tmp_path: Path) -> None:
    """A wheel install (not a checkout) carries frameworks, roles and templates and uses them."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("rubrics-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert f"rubrics/_bundled/roles/{ROLE_ID}.yaml" in names
    assert "rubrics/_bundled/frameworks/backend.md" in names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-m", "rubrics", "roles", "list", "--json"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    rows = json.loads(out.stdout)
    assert rows[0]["path"].startswith(str(target))


FIXTURE_WS = ROOT / "tests" / "fixtures" / "ws"


@pytest.mark.parametrize("args", [
    ["--workspace", str(FIXTURE_WS), "roles", "list", "--json"],
    ["-w", str(FIXTURE_WS), "roles", "list", "--json"],
    ["roles", "list", "--json", "--workspace", str(FIXTURE_WS)],
])
def test_workspace_before_or_after_the_subcommand(runner: CliRunner, args: list[str]) -> None:
    """--workspace works before the subcommand (as git -C) and after it."""
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.output)] == ["tiny-engineer"]


def test_workspace_before_a_group_reaches_its_commands(runner: CliRunner) -> None:
    """`rubrics --workspace WS frameworks list` and `roles show` read WS."""
    result = runner.invoke(app, ["--workspace", str(FIXTURE_WS), "frameworks", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.output)] == ["tiny"]
    result = runner.invoke(app, ["--workspace", str(FIXTURE_WS), "roles", "show", "tiny-engineer",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["role"]["id"] == "tiny-engineer"


def test_workspace_before_the_subcommand_is_checked(runner: CliRunner, tmp_path: Path) -> None:
    """`rubrics --workspace NOT_A_WS validate` names the folder and exits 1."""
    result = runner.invoke(app, ["--workspace", str(tmp_path), "validate"])
    assert result.exit_code == 1
    assert result.output == f"error: {tmp_path}: not a workspace (no frameworks/ or roles/ " \
        "folder)\n"


def test_subcommand_workspace_wins(runner: CliRunner, tmp_path: Path) -> None:
    """A subcommand's own --workspace wins over one given before it and over the variable."""
    args = ["--workspace", str(tmp_path), "roles", "list", "--json", "-w", str(FIXTURE_WS)]
    result = runner.invoke(app, args, env={"RUBRICS_WORKSPACE": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.output)] == ["tiny-engineer"]
    result = runner.invoke(app, ["roles", "list", "--json"])  # nothing carried over a run
    assert "tiny-engineer" not in result.output


def test_a_file_in_rubrics_workspace_is_checked_only_when_used(runner: CliRunner,
                                                               tmp_path: Path) -> None:
    """With RUBRICS_WORKSPACE naming a file, a command's own -w runs as if it were unset;
    a command that would use the file is a usage error (exit 2) naming it."""
    afile = tmp_path / "afile"
    afile.write_text("not a workspace\n", encoding="utf-8")
    env = {"RUBRICS_WORKSPACE": str(afile)}
    result = runner.invoke(app, ["roles", "list", "--json", "-w", str(FIXTURE_WS)], env=env)
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.output)] == ["tiny-engineer"]
    result = runner.invoke(app, ["roles", "list"], env=env)
    assert (result.exit_code, result.output) == (
        2, f"error: --workspace (or RUBRICS_WORKSPACE): '{afile}' is a file, not a workspace "
        "folder\n")


def test_init_refuses_a_workspace_given_before_it(runner: CliRunner, tmp_path: Path) -> None:
    """`rubrics --workspace WS init NEW` is a usage error (init reads no workspace) and
    writes nothing; RUBRICS_WORKSPACE set for other commands does not stop init."""
    result = runner.invoke(app, ["--workspace", str(FIXTURE_WS), "init", str(tmp_path / "new")])
    assert (result.exit_code, result.output) == (
        2, "error: init makes a new workspace from the bundled one and reads none: give only "
        "the new folder (rubrics init DIR)\n")
    assert not (tmp_path / "new").exists()
    result = runner.invoke(app, ["init", str(tmp_path / "new")],
                           env={"RUBRICS_WORKSPACE": str(FIXTURE_WS)})
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("formats", ["pdf,docx", "HTML,Word", ","])
def test_pack_with_an_unknown_format_is_a_usage_error(runner: CliRunner, tmp_path: Path,
                                                      formats: str) -> None:
    """`pack --format pdf,docx` exits 2 naming the unknown format and the allowed ones,
    before reading anything."""
    result = runner.invoke(app, ["pack", "tiny-engineer", "-w", str(FIXTURE_WS), "--candidate",
                                 "Ada", "--out", str(tmp_path / "out"), "--format", formats])
    unknown = {"pdf,docx": "docx", "HTML,Word": "word", ",": ","}[formats]
    assert (result.exit_code, result.output) == (
        2, f"error: --format: unknown format '{unknown}' (choose from html, pdf)\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("minutes", "said"), [
    (1, "1 minute"), (45, "45 minutes"), (60, "1 hour"), (61, "1 hour 1 minute"),
    (270, "4 hours 30 minutes"), (300, "5 hours"), (0, "0 minutes")])
def test_durations_as_people_say_them(minutes: int, said: str) -> None:
    """Durations (packet, plan, scorecards, roles show) read as people say them, exactly."""
    from rubrics.render import duration

    assert duration(minutes) == said


def test_packet_and_plan_say_durations_as_people_do() -> None:
    """The candidate packet says '5 hours in all', not 'about 5.0 hours'; the plan the same."""
    golden = ROOT / "tests" / "golden" / ROLE_ID
    packet = (golden / "candidate-packet.html").read_text(encoding="utf-8")
    plan = (golden / "interview-plan.html").read_text(encoding="utf-8")
    assert "7 conversations, 5 hours in all" in packet
    assert '<p class="minutes">1 hour · System design</p>' in packet
    assert "<dd>5 hours</dd>" in plan and "<td>45 minutes</td>" in plan


LADDER = """\
id: ladder
title: Ladder
levels:
  - number: 1
    name: Junior
  - number: 2
  - number: 3
    name: Senior
topics:
  - id: craft
    title: Craft
    criteria:
      - {id: craft.tests, level: 1, text: Writes tests}
      - {id: craft.review, level: 1, text: Reviews code}
      - {id: craft.systems, level: 3, text: Designs systems, examples: [A payment ledger]}
  - id: people
    title: People
    criteria:
      - {id: people.helps, level: 1, text: Helps teammates}
      - {id: people.mentors, level: 2, text: Mentors others}
"""


@pytest.fixture
def ladder_ws(tmp_path: Path) -> Path:
    """A workspace whose one framework has a topic with nothing new at a level."""
    (tmp_path / "frameworks").mkdir()
    (tmp_path / "frameworks" / "ladder.yaml").write_text(LADDER, encoding="utf-8")
    return tmp_path


def test_frameworks_show_says_what_each_level_adds(runner: CliRunner, ladder_ws: Path) -> None:
    """frameworks show prints, per level, each topic's new criteria or 'nothing new'."""
    result = runner.invoke(app, ["-w", str(ladder_ws), "frameworks", "show", "ladder"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert result.output == """\
Ladder  (ladder: 3 levels)

Level 1 (Junior)
  Craft
    - Writes tests (craft.tests)
    - Reviews code (craft.review)
  People
    - Helps teammates (people.helps)

Level 2 · new since level 1
  Craft: nothing new
  People
    - Mentors others (people.mentors)

Level 3 (Senior) · new since level 2
  Craft
    - Designs systems (craft.systems)
      e.g. A payment ledger
  People: nothing new
"""


def test_frameworks_show_fits_80_columns(runner: CliRunner) -> None:
    """The bundled framework shown at 80 columns: no line wider, no parenthesis alone on a
    line, and the lowest level names only topics that start there."""
    from rich.cells import cell_len

    result = runner.invoke(app, ["frameworks", "show", "backend"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert not [line for line in lines if line.strip() in ("(", ")")]
    lowest = result.output.split("\nLevel 2", 1)[0]
    assert "nothing new" not in lowest


def test_roles_list_fits_80_columns(runner: CliRunner) -> None:
    """roles list at 80 columns keeps every header whole and no line wider."""
    from rich.cells import cell_len

    result = runner.invoke(app, ["roles", "list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert lines[1].split() == ["id", "title", "framework", "target", "band", "stages"]


def test_frameworks_show_json_has_the_level_changes(runner: CliRunner, ladder_ws: Path) -> None:
    """frameworks show --json adds level_changes: per level and topic, the new criterion ids."""
    result = runner.invoke(app, ["-w", str(ladder_ws), "frameworks", "show", "ladder", "--json"])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)["level_changes"]
    assert [(c["level"], c["since"]) for c in changes] == [(1, None), (2, 1), (3, 2)]
    assert [[t["new"] for t in c["topics"]] for c in changes] == [
        [["craft.tests", "craft.review"], ["people.helps"]],
        [[], ["people.mentors"]],
        [["craft.systems"], []]]
    assert changes[2]["label"] == "Level 3 (Senior)"


def test_the_readme_journey_fills_the_resolutions_before_deciding() -> None:
    """The journey's `decide --resolutions FILE` exits 1 on a file left as written, so the
    journey fills FILE (as scripts/demo does) between writing it and deciding with it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    journey = readme.split("## The journey", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in journey.replace("\\\n", " ").splitlines()]
    written = next(n for n, line in enumerate(lines) if "--format resolutions --out" in line)
    used = next(n for n, line in enumerate(lines) if "--resolutions " in line)
    name = lines[written].rsplit(" ", 1)[1]
    assert any(line.startswith("sed -i ") and line.endswith(name)
               for line in lines[written + 1:used])
