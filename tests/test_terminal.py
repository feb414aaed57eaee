"""What reaches the terminal: a name, key, title or file name from a file can hold terminal
escapes or direction overrides, and the CLI shows each as a visible escape, never obeys it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from rubrics import terminal
from rubrics.log import read_log
from rubrics.samples import fill_yaml
from tests.conftest import FIXTURES, rel
from tests.test_debrief import STAGES, blank_pack, cli, returns

__all__ = ["blank_pack"]  # the module fixture, shared

ESC_TITLE = "\x1b]0;PWNED\x07\x1b[2J"
"""Retitles the terminal window, rings the bell and clears the screen, if obeyed."""
SHOWN_TITLE = r"\x1b]0;PWNED\x07\x1b[2J"
BIDI = ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
        "\u2066", "\u2067", "\u2068", "\u2069"]
FRIENDLY = "Tomás Álvarez, café 👩‍💼 🚀"
"""Accents, a joined emoji and a plain one: they must pass unchanged."""


def assert_safe(*outputs: str) -> None:
    """No output holds a raw terminal control or direction control."""
    for out in outputs:
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out, out
        assert not any(ch in out for ch in BIDI), out


def both(result: Result) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def pack(blank_pack: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(blank_pack, tmp_path / "ada"))


@pytest.fixture
def hostile_ws(tmp_path: Path) -> Path:
    """The tiny workspace with escapes in a topic title, a criterion, the role's title,
    summary and a stage title, and friendly accents and emoji in the framework's title."""
    ws = Path(shutil.copytree(FIXTURES / "ws", tmp_path / "ws"))
    fw = ws / "frameworks" / "tiny.yaml"
    fw.write_text(fw.read_text(encoding="utf-8")
                  .replace("title: Tiny framework", f'title: "{FRIENDLY}"')
                  .replace("    title: Craft\n", '    title: "Craft\\e]0;PWNED\\a\\e[2J\\u202e"\n')
                  .replace("text: Writes tests", 'text: "Writes tests\\e[31m"'), encoding="utf-8")
    role = ws / "roles" / "tiny-engineer.yaml"
    role.write_text(role.read_text(encoding="utf-8")
                    .replace("title: Tiny engineer", 'title: "Tiny\\e]0;PWNED\\a engineer\\u202e"')
                    .replace("summary: Builds tiny things.", 'summary: "Builds\\e[2J tiny things."')
                    .replace("title: System design", 'title: "System\\e[2J design"'),
                    encoding="utf-8")
    return ws


# --------------------------------------------------------------------------- the filter


def test_one_line_shows_controls_line_breaks_and_direction_controls_as_escapes() -> None:
    """A one-line message shows every control (a line break too, so it cannot start a forged
    line), DEL, an 8-bit CSI and every direction control as the escape Python writes."""
    assert terminal.line(f"{ESC_TITLE}Mei\u202eChen\nerror: forged\r\x7f\x9b") == (
        rf"{SHOWN_TITLE}Mei\u202eChen\nerror: forged\r\x7f\x9b")
    assert terminal.line("".join(BIDI)) == "".join(f"\\u{ord(ch):04x}" for ch in BIDI)
    assert terminal.line("a\u2028b\u2029c\tend") == "a\\u2028b\\u2029c\tend"


def test_several_lines_keep_line_breaks_and_tabs() -> None:
    """Text of several lines keeps its line breaks and tabs, and shows the rest as escapes."""
    assert terminal.lines(f"one\n\ttwo{ESC_TITLE}\u2066") == f"one\n\ttwo{SHOWN_TITLE}\\u2066"


@pytest.mark.parametrize("text", [FRIENDLY, "plain ASCII", "Zoë Ñúñez", "李小龙", "שלום עולם",
                                  "👨‍👩‍👧‍👦 family", "❤️ heart", "C:\\Users\\ada", ""])
def test_friendly_text_passes_unchanged(text: str) -> None:
    """Accents, other scripts, emoji with their joiners and variation selectors, and
    backslashes pass unchanged, on one line or several."""
    assert terminal.line(text) == text
    assert terminal.lines(text) == text
    assert terminal.json_text(json.dumps(text, ensure_ascii=False)) == json.dumps(text, ensure_ascii=False)


def test_json_escapes_mean_the_same_data() -> None:
    """JSON for a terminal writes direction controls, DEL and C1 controls as \\u escapes,
    which parse back to the very same data."""
    data = {f"key\u202e{ESC_TITLE}": [f"{FRIENDLY}\u2067\x7f\x85\x9b\u2028", 1, None]}
    shown = terminal.json_dumps(data, indent=2, ensure_ascii=False)
    assert_safe(shown)
    assert "\x7f" not in shown and "\x85" not in shown and "\u2028" not in shown
    assert json.loads(shown) == data
    assert FRIENDLY in shown and "\\u202e" in shown


def test_a_rich_console_shows_escapes_in_markup_and_tables() -> None:
    """A table cell, a table title and printed markup from the safe console show a terminal
    escape as text, and rich markup around it still works."""
    from rich.table import Table

    console = terminal.console(record=True, width=100, color_system=None)
    table = Table(title=f"title{ESC_TITLE}")
    table.add_column("cell")
    table.add_row(f"cell\u202e{ESC_TITLE}")
    console.print(f"[bold]{ESC_TITLE}[/bold] {FRIENDLY}")
    console.print(table)
    out = console.export_text()
    assert_safe(out)
    assert f"{SHOWN_TITLE} {FRIENDLY}" in out
    assert f"title{SHOWN_TITLE}" in out and rf"cell\u202e{SHOWN_TITLE}" in out


# --------------------------------------------------------------------------- submit


def test_submit_shows_a_hostile_file_name_and_yaml_key_as_escapes(pack: Path, tmp_path: Path) -> None:
    """A returned file whose name holds a terminal escape and whose YAML has an unknown key
    with one is refused with both shown as escapes, in the exact usual message."""
    (filled,) = returns(pack, tmp_path / "r", lambda c: 3, stages=[STAGES[4]])
    hostile = filled.with_name(f"mei{ESC_TITLE}\u202e.yaml")
    text = filled.read_text(encoding="utf-8")
    hostile.write_text(text.replace("\nnotes:", '\n"bad\\e]0;PWNED\\a\\e[2Jkey": 1\nnotes:', 1),
                       encoding="utf-8")
    filled.unlink()
    line = next(n for n, x in enumerate(hostile.read_text(encoding="utf-8").splitlines(), 1)
                if x.startswith('"bad'))
    result = cli("submit", pack, hostile)
    assert result.exit_code == 1
    assert_safe(both(result))
    shown_name = terminal.line(rel(hostile))
    assert shown_name.endswith(rf"mei{SHOWN_TITLE}\u202e.yaml")
    assert result.stderr.splitlines()[0] == (
        rf"{shown_name}:{line}:1: bad{SHOWN_TITLE}key: unknown field 'bad{SHOWN_TITLE}key'")
    assert [e.data["kind"] for e in read_log(pack / "submissions")] == ["genesis"]


def test_submit_shows_a_hostile_file_name_that_cannot_be_read(pack: Path, tmp_path: Path) -> None:
    """A file name with an escape and a forged second line is named on one line, escaped."""
    hostile = tmp_path / f"x{ESC_TITLE}\nerror: all good.txt"
    hostile.write_text("not a scorecard", encoding="utf-8")
    result = cli("submit", pack, hostile)
    assert result.exit_code == 1
    assert_safe(both(result))
    first = result.stderr.splitlines()[0]
    assert first.startswith(terminal.line(rel(hostile)))
    assert rf"x{SHOWN_TITLE}\nerror: all good.txt" in first
    assert not any(x.startswith("error: all good") for x in result.stderr.splitlines())


def test_submit_success_lines_keep_accents(pack: Path, tmp_path: Path) -> None:
    """An accepted scorecard's line names its interviewer with accents as they are."""
    files = returns(pack, tmp_path / "r", lambda c: 3, stages=[STAGES[1]])
    result = cli("submit", pack, *files)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"accepted 0001: {STAGES[1]} by Tomás Álvarez\n"


# --------------------------------------------------------------------------- pack


def test_pack_batch_refuses_a_candidate_name_with_a_direction_control_on_its_line(
        tmp_path: Path) -> None:
    """A CSV row whose name holds a direction override is refused on its line with the
    override named, never printed raw; the other rows are written as they are."""
    csv = tmp_path / "candidates.csv"
    csv.write_text(f'name,id\nAda\u202eecalevoL,ada\n"{FRIENDLY}",tomas\n', encoding="utf-8")
    result = cli("pack", "senior-backend-money-movement", "--candidates", csv, "--out",
                 tmp_path / "packs", "--format", "html")
    assert result.exit_code == 1, result.output
    assert_safe(both(result))
    assert result.stderr == (f"{rel(csv)}:2:1: candidate name contains the invisible character "
                             "U+202E; remove it\n")
    assert result.stdout == (f"wrote {rel(tmp_path / 'packs' / 'tomas')}/ ({FRIENDLY})\n"
                             "1 pack written, 0 unchanged, 0 kept with differences, 1 failed\n")
    assert not (tmp_path / "packs" / "ada").exists()


def test_a_control_character_in_a_candidate_name_is_refused_safely(tmp_path: Path) -> None:
    """A candidate name with an escape is refused, and the refusal prints no escape."""
    result = cli("pack", "senior-backend-money-movement", "--candidate", f"Ada{ESC_TITLE}",
                 "--out", tmp_path / "packs", "--format", "html")
    assert result.exit_code == 2
    assert_safe(both(result))
    assert result.stderr == ("error: --candidate: candidate name contains the control character "
                             "U+001B; remove it\n")


# --------------------------------------------------------------------------- validate


def test_validate_shows_a_hostile_key_and_file_name_as_escapes(hostile_ws: Path) -> None:
    """validate echoes an unknown key with an escape, in a file whose name has one, escaped."""
    fw = hostile_ws / "frameworks" / "tiny.yaml"
    hostile = fw.with_name(f"tiny{ESC_TITLE}.yaml")
    hostile.write_text(fw.read_text(encoding="utf-8").replace(
        "topics:\n", '"bad\\e[2J\\u202ekey": 1\ntopics:\n', 1), encoding="utf-8")
    fw.unlink()
    result = cli("validate", hostile)
    assert result.exit_code == 1
    assert_safe(both(result))
    key = r"bad\x1b[2J\u202ekey"
    assert result.stderr == (f"{terminal.line(rel(hostile))}:11:1: {key}: unknown field '{key}'\n"
                             "1 problem found\n")


def test_validate_passes_a_hostile_workspace_quietly(hostile_ws: Path) -> None:
    """Escapes in titles are not invalid in themselves: validate says ok, and prints none."""
    result = cli("validate", "--workspace", hostile_ws)
    assert (result.exit_code, result.stdout) == (0, "ok: no problems found\n")


# --------------------------------------------------------------------------- frameworks, roles


def test_frameworks_show_and_list_show_escapes_and_keep_emoji(hostile_ws: Path) -> None:
    """frameworks show and list print a topic title and a criterion with escapes as text,
    and a title with accents and emoji as it is."""
    shown = cli("frameworks", "show", "tiny", "--workspace", hostile_ws)
    listed = cli("frameworks", "list", "--workspace", hostile_ws)
    assert (shown.exit_code, listed.exit_code) == (0, 0)
    assert_safe(both(shown), both(listed))
    assert shown.stdout.splitlines()[0] == f"{FRIENDLY}  (tiny: 3 levels, sub-levels A–C)"
    assert f"\n  Craft{SHOWN_TITLE}\\u202e\n" in shown.stdout
    assert r"Writes tests\x1b[31m" in shown.stdout
    assert FRIENDLY in listed.stdout


def test_frameworks_json_and_export_keep_the_data(hostile_ws: Path) -> None:
    """frameworks show --json and export print no raw escape, and both still read back as
    the very same framework."""
    from rubrics.workspace import Workspace

    fw = Workspace.open(hostile_ws).framework("tiny")
    as_json = cli("frameworks", "show", "tiny", "--workspace", hostile_ws, "--json")
    exported = cli("frameworks", "export", "tiny", "--workspace", hostile_ws)
    assert (as_json.exit_code, exported.exit_code) == (0, 0)
    assert_safe(both(as_json), both(exported))
    shown = json.loads(as_json.stdout)
    assert shown.pop("level_changes")[0]["topics"][0]["new"] == ["craft.tests"]
    assert shown == fw.model_dump(mode="json")
    assert yaml.safe_load(exported.stdout) == fw.model_dump(mode="json", exclude_none=True)
    assert "\x1b" in fw.topics[0].title  # (the data itself keeps it)


def test_export_escapes_only_the_unsafe_characters(hostile_ws: Path) -> None:
    """A direction control in one text does not turn every accent and emoji of the export
    into \\u escapes: only the unsafe characters are escaped."""
    exported = cli("frameworks", "export", "tiny", "--workspace", hostile_ws)
    assert exported.exit_code == 0
    assert f"title: {FRIENDLY}\n" in exported.stdout
    assert 'title: "Craft\\e]0;PWNED\\a\\e[2J\\u202E"' in exported.stdout


def test_frameworks_export_of_a_friendly_framework_is_unchanged(workspace: Path) -> None:
    """Export keeps accents and emoji as they are when nothing in the framework is hostile."""
    from rubrics.frameworks import framework_to_yaml
    from rubrics.workspace import Workspace

    result = cli("frameworks", "export", "backend", "--workspace", workspace)
    assert result.exit_code == 0
    assert result.stdout == framework_to_yaml(Workspace.open(workspace).framework("backend"))
    assert "👩‍💼" in result.stdout


def test_roles_show_and_list_show_escapes(hostile_ws: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """roles show and list print a role's title, summary, stage and topic titles with
    escapes as text (in a terminal wide enough not to cut the long escaped titles)."""
    monkeypatch.setenv("COLUMNS", "200")
    shown = cli("roles", "show", "tiny-engineer", "--workspace", hostile_ws)
    listed = cli("roles", "list", "--workspace", hostile_ws)
    assert (shown.exit_code, listed.exit_code) == (0, 0)
    assert_safe(both(shown), both(listed))
    assert shown.stdout.splitlines()[0] == r"Tiny\x1b]0;PWNED\x07 engineer\u202e  (tiny-engineer)"
    assert r"Builds\x1b[2J tiny things." in shown.stdout
    assert r"System\x1b[2J design" in shown.stdout
    assert rf"Craft{SHOWN_TITLE}\u202e" in shown.stdout
    assert r"Tiny\x1b]0;PWNED\x07" in listed.stdout


# --------------------------------------------------------------------------- aggregate


@pytest.fixture
def hostile_pack(hostile_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pack of the hostile role for a candidate whose name holds a direction override (as a
    version before such names were refused could write), with one scorecard returned by an
    interviewer whose name has accents."""
    with monkeypatch.context() as older_version:
        older_version.setattr("rubrics.packs.candidate_problems", lambda *args: [])
        result = cli("pack", "tiny-engineer", "--candidate", "Ada\u202eecalevoL",
                     "--candidate-id", "ada", "--out", tmp_path / "packs", "--format", "html",
                     "--workspace", hostile_ws)
    assert result.exit_code == 0, result.output
    pack = tmp_path / "packs" / "ada"
    blank = (pack / "scorecards" / "design.yaml").read_text(encoding="utf-8")
    ratings = {cid: 3 for cid in re.findall(r"^  ([a-z0-9.-]+): null$", blank, flags=re.M)}
    filled = tmp_path / "design.yaml"
    filled.write_text(fill_yaml(blank, {
        "interviewer": "Tomás Álvarez", "interviewer_email": "tomas@example.com",
        "interviewed_on": "2026-11-20", "ratings": ratings, "notes": "",
        "evidence": dict.fromkeys(ratings, "Walked through it."), "recommendation": "yes"}),
        encoding="utf-8")
    result = cli("submit", pack, filled)
    assert (result.exit_code, result.stdout) == (0, "accepted 0001: design by Tomás Álvarez\n")
    return pack


def test_aggregate_text_to_stdout_shows_escapes(hostile_pack: Path, tmp_path: Path) -> None:
    """The text report printed to the terminal shows the role's and a topic's escapes as
    text; written with --out it keeps the data, and only the 'wrote' line is printed."""
    result = cli("aggregate", hostile_pack)
    assert result.exit_code == 0, result.output
    assert_safe(both(result))
    assert result.stdout.splitlines()[0].startswith(  # (the report drops it from names)
        r"AdaecalevoL — Tiny\x1b]0;PWNED\x07 engineer\u202e (pack ")
    assert rf"Craft{SHOWN_TITLE}\u202e" in result.stdout
    assert "  - design: Tomás Álvarez: yes" in result.stdout.splitlines()
    out = tmp_path / f"report{ESC_TITLE}.txt"
    written = cli("aggregate", hostile_pack, "--out", out)
    assert written.exit_code == 0, written.output
    assert written.stdout == f"wrote {terminal.line(str(out))}\n"
    assert "\x1b]0;PWNED\x07 engineer" in out.read_text(encoding="utf-8")


def test_aggregate_json_to_stdout_is_safe_and_the_same_data(hostile_pack: Path,
                                                             tmp_path: Path) -> None:
    """The JSON report printed to the terminal has no raw escape or override and parses to
    exactly the data written with --out."""
    result = cli("aggregate", hostile_pack, "--format", "json")
    assert result.exit_code == 0, result.output
    assert_safe(both(result))
    assert cli("aggregate", hostile_pack, "--format", "json", "--out",
               tmp_path / "r.json").exit_code == 0
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert "\u202e" in data["candidate"]["name"] and "\x1b" in data["role"]["title"]
    assert json.loads(result.stdout) == data


def test_aggregate_resolutions_and_pipeline_to_stdout_are_safe(hostile_pack: Path,
                                                                tmp_path: Path) -> None:
    """The resolutions file and the pipeline table printed to the terminal show a candidate
    name's direction override as an escape."""
    resolutions = cli("aggregate", hostile_pack, "--format", "resolutions")
    other = Path(shutil.copytree(hostile_pack, tmp_path / "other"))
    pipeline = cli("aggregate", hostile_pack, other)
    assert (resolutions.exit_code, pipeline.exit_code) == (0, 0), both(pipeline)
    assert_safe(both(resolutions), both(pipeline))
    assert r"for Ada\u202eecalevoL (pack " in resolutions.stdout
    assert [x.split()[0] for x in pipeline.stdout.splitlines()[1:3]] == [r"Ada\u202eecalevoL"] * 2
