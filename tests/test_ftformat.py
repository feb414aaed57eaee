"""Financial Times job families: tracks, UUID criterion ids, level names, bad input, and a
role on one track from validate to aggregate."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from rubrics.cli import app
from rubrics.frameworks import load_framework
from rubrics.ftformat import readable
from rubrics.model import ID_PATTERN
from tests.conftest import FIXTURES, rel

FT = FIXTURES / "ft"
FAMILY = FT / "frameworks" / "product-engineering.yml"
ROLE = FT / "roles" / "staff-platform-engineer.yaml"
IC, PM = "individual-contributor", "people-manager"
UUIDS = re.findall(r"^  - id: ([0-9a-f-]{36})\n    level: ([a-z-]+)$",
                   FAMILY.read_text(encoding="utf-8"), flags=re.MULTILINE)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A throwaway copy of the FT fixture workspace."""
    shutil.copytree(FT, tmp_path / "ws")
    return tmp_path / "ws"


def validate(ws: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["validate", "--workspace", str(ws)])
    return result.exit_code, result.output.splitlines()


def test_each_track_numbers_shared_and_own_levels_in_file_order() -> None:
    """Shared levels come first in both tracks, then the track's own, then the shared top,
    numbered 1..6, with the FT level names (the name rule catches 'team-lead')."""
    ic, _ = load_framework(FAMILY, track=IC)
    pm, _ = load_framework(FAMILY, track=PM)
    assert [(lv.number, lv.name) for lv in ic.levels] == [
        (1, "Associate Engineer"), (2, "Engineer"), (3, "Senior Engineer"),
        (4, "Staff Engineer (Individual Contributor)"),
        (5, "Principal Engineer (Individual Contributor)"), (6, "Engineering Director")]
    assert [(lv.number, lv.name) for lv in pm.levels] == [
        (1, "Associate Engineer"), (2, "Engineer"), (3, "Senior Engineer"),
        (4, "Team Lead (People Manager)"), (5, "Engineering Manager (People Manager)"),
        (6, "Engineering Director")]
    assert (ic.track, pm.track, ic.tracks, pm.tracks) == (IC, PM, [IC, PM], [IC, PM])


def test_criteria_keep_their_uuids_and_drop_the_other_tracks() -> None:
    """Every competency of a track's levels is a criterion under its own UUID, at its level's
    number in that track; the other track's competencies are not in it."""
    levels = {IC: ["associate", "engineer", "senior", "staff-ic", "principal-ic", "director"],
              PM: ["associate", "engineer", "senior", "team-lead", "principal-pm", "director"]}
    for track, order in levels.items():
        fw, _ = load_framework(FAMILY, track=track)
        got = {cid: c.level for cid, (_, c) in fw.criteria().items()}
        assert got == {uid: order.index(lv) + 1 for uid, lv in UUIDS if lv in order}
        assert all(re.fullmatch(ID_PATTERN, cid) for cid in got)
    ic, _ = load_framework(FAMILY, track=IC)
    assert "c1edef96-4b13-44d2-a331-452b92e51551" not in ic.criteria()  # team-lead's


def test_themes_become_topics_and_the_family_the_framework() -> None:
    """Theme id, name and summary are the topic's id, title and description; the family's
    name and summary the framework's title and description; FT-only keys are quiet."""
    fw, warnings = load_framework(FAMILY, track=IC)
    assert (fw.id, fw.title) == ("product-engineering", "Product Engineering")
    assert fw.description == "What we expect of engineers who build our products, level by level."
    assert [(t.id, t.title) for t in fw.topics] == [
        ("delivery", "Delivery"), ("collaboration", "Collaboration"), ("technical", "Technical")]
    assert fw.topics[0].description == ("Gets the right things shipped, at a pace the team "
                                        "can keep up.")
    assert warnings == []


def test_numbered_summary_is_one_criterion_with_one_item_a_line() -> None:
    """A summary of numbered items stays one criterion (its UUID is what is stable); each item
    starts a line, blank lines between items go, and a wrapped item is joined."""
    fw, _ = load_framework(FAMILY, track=IC)
    criteria = fw.criteria()
    assert criteria["3d9d4c29-1411-4092-a0ed-522018ff170e"][1].text == (
        "1. Writes code with tests that reviewers can follow.\n"
        "2. Uses version control and the team's build pipeline day to day.")
    assert criteria["cfb8f968-8060-4c3e-ae13-2c949a188f20"][1].text == (
        "1. Thinks about performance, security and accessibility without being asked.\n"
        "2. Debugs production problems in their own area with logs and metrics.\n"
        "3. Leaves code clearer than they found it.")


@given(st.text(alphabet=st.sampled_from("ab 1.\n"), max_size=40))
def test_readable_keeps_every_word_in_order(summary: str) -> None:
    """Making a summary readable only moves line breaks and spaces: no word is lost."""
    assert readable(summary).split() == summary.split()


def test_a_family_without_tracks_has_one_framework_of_all_levels(tmp_path: Path) -> None:
    """Levels that name no track are all shared: one untracked framework, numbered 1..N."""
    text = FAMILY.read_text(encoding="utf-8")
    text = re.sub(r"-(ic|pm)\b", r"-\1x", text).replace(" (Individual Contributor)", "")
    path = tmp_path / "plain.yaml"
    path.write_text(text.replace(" (People Manager)", ""), encoding="utf-8")
    fw, _ = load_framework(path, track=IC)
    assert (fw.track, fw.tracks, len(fw.levels), len(fw.criteria())) == (None, None, 8, 20)


def test_upper_case_uuids_are_lower_cased(tmp_path: Path) -> None:
    """A UUID written in capitals (UUIDs are case-insensitive) becomes a lower-case id."""
    path = tmp_path / "upper.yml"
    path.write_text(FAMILY.read_text(encoding="utf-8").replace(
        "643f887c-ff3e-43a0-9add-ffc773e26c0f", "643F887C-FF3E-43A0-9ADD-FFC773E26C0F"),
        encoding="utf-8")
    fw, _ = load_framework(path, track=IC)
    assert "643f887c-ff3e-43a0-9add-ffc773e26c0f" in fw.criteria()


def test_the_fixture_workspace_validates(ws: Path) -> None:
    """The job family and a role on its individual-contributor track validate clean."""
    assert validate(ws) == (0, ["ok: no problems found"])


BROKEN = {
    "    level: senior\n    theme: delivery\n": "    level: senior-3\n    theme: delivery\n",
    "    level: senior\n    theme: collaboration\n": "    level: senior\n    theme: teamwork\n",
    "  - id: 393d8dbd-b234-401e-8f80-7398c6597d5e": "  - id: 4c1270f9-ddf9-46a5-9d50-f6921fb1eaf7",
    "    summary: |\n      Sets the technology": "    summarry: |\n      Sets the technology",
    "googleSheetId:": "sheet:",
}


def broken(ws: Path, edits: dict[str, str]) -> Path:
    """The workspace's job family with each ``old`` (found exactly once) made ``new``."""
    family = ws / "frameworks" / "product-engineering.yml"
    text = family.read_text(encoding="utf-8")
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    family.write_text(text, encoding="utf-8")
    return family


def test_every_problem_of_a_job_family_is_one_located_line(ws: Path) -> None:
    """An unknown level and theme, a duplicate id and a missing summary are each one line
    with file, line and field, and an unknown key warns, all at once; nothing loads."""
    f = rel(broken(ws, BROKEN))
    assert validate(ws) == (1, [
        f"{f}:8:1: warning: sheet: unknown key ignored",
        f"{f}:97:5: competencies[5].level: unknown level 'senior-3' (known: associate, "
        "director, engineer, principal-ic, principal-pm, senior, staff-ic, team-lead)",
        f"{f}:105:5: competencies[6].theme: unknown theme 'teamwork' (known: collaboration, "
        "delivery, technical)",
        f"{f}:110:5: competencies[7].id: duplicate id '4c1270f9-ddf9-46a5-9d50-f6921fb1eaf7' "
        "(first at line 96)",
        f"{f}:188:5: competencies[18].summary: required field is missing",
        f"{f}:191:5: warning: competencies[18].summarry: unknown key ignored",
        "4 problems found",
    ])


def test_levels_without_ids_are_each_reported_once(ws: Path) -> None:
    """A level list without ids is one line per level; the competencies' levels, which
    cannot then be checked, add no noise."""
    text = (ws / "frameworks" / "product-engineering.yml").read_text(encoding="utf-8")
    text = text[text.index("levels:"):text.index("themes:")]
    ids = re.findall(r"^  - id: ([a-z-]+)\n    name:", text, flags=re.MULTILINE)
    f = rel(broken(ws, {f"  - id: {lid}\n    name:": "  - name:" for lid in ids}))
    code, lines = validate(ws)
    assert code == 1 and len(ids) == 8
    assert lines == [f"{f}:{12 + 2 * i}:5: levels[{i}].id: required field is missing"
                     for i in range(8)] + ["8 problems found"]


def test_a_level_that_names_two_tracks_is_refused(ws: Path) -> None:
    """A level whose id says one track and whose name the other is an error on its name."""
    family = ws / "frameworks" / "product-engineering.yml"
    family.write_text(family.read_text(encoding="utf-8").replace(
        "Staff Engineer (Individual Contributor)", "Staff Engineer (People Manager)"),
        encoding="utf-8")
    code, lines = validate(ws)
    assert (code, lines[0]) == (1, f"{rel(family)}:22:5: levels[3].name: says track "
                                   "'people-manager', but its id says 'individual-contributor'")


@pytest.mark.parametrize(("edit", "message"), [
    ("track: individual-contributor\n", "4:1: track: required for framework "
     "'product-engineering', which has tracks: individual-contributor, people-manager"),
    ("track: individual-contributor\n", "5:1: track: unknown track 'manager' of framework "
     "'product-engineering' (known: individual-contributor, people-manager)"),
])
def test_a_role_must_name_one_of_the_framework_tracks(ws: Path, edit: str, message: str
                                                      ) -> None:
    """Without `track`, or with one the framework lacks, validate names the known tracks."""
    role = ws / "roles" / "staff-platform-engineer.yaml"
    new = "track: manager\n" if "unknown" in message else ""
    role.write_text(role.read_text(encoding="utf-8").replace(edit, new), encoding="utf-8")
    assert validate(ws) == (1, [f"{rel(role)}:{message}", "1 problem found"])


def test_a_track_for_a_framework_without_tracks_is_an_error(tmp_path: Path) -> None:
    """A role that names a track of a framework that has none is told to remove it."""
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "ws", ws)
    role = ws / "roles" / "tiny-engineer.yaml"
    role.write_text(role.read_text(encoding="utf-8").replace(
        "framework: tiny\n", "framework: tiny\ntrack: people-manager\n"), encoding="utf-8")
    assert validate(ws) == (1, [f"{rel(role)}:4:1: track: framework 'tiny' has no tracks; "
                                "remove 'track: people-manager'", "1 problem found"])


def test_role_schema_has_track() -> None:
    """`rubrics schema role` documents the optional track."""
    result = CliRunner().invoke(app, ["schema", "role"])
    schema = json.loads(result.output)
    assert "track" in schema["properties"] and "track" not in schema["required"]


def test_frameworks_list_and_show_a_tracked_framework(ws: Path) -> None:
    """list gives the tracks; show --track shows that track's levels; an unknown track is a
    usage error (exit 2) naming the known ones."""
    runner = CliRunner()
    listed = runner.invoke(app, ["frameworks", "list", "-w", str(ws), "--json"])
    assert json.loads(listed.output)[0]["tracks"] == [IC, PM]
    shown = runner.invoke(app, ["frameworks", "show", "product-engineering", "-w", str(ws),
                                "--track", PM], env={"COLUMNS": "300"})
    assert shown.exit_code == 0
    assert ("track people-manager (tracks: individual-contributor, people-manager; choose "
            "with --track)") in shown.output
    assert "4 Team Lead (People Manager) · 5 Engineering Manager" in shown.output
    bad = runner.invoke(app, ["frameworks", "show", "product-engineering", "-w", str(ws),
                              "--track", "ic"])
    assert (bad.exit_code, bad.output) == (2, "error: --track: framework "
                                              "'product-engineering' has no track 'ic' (known: "
                                              "individual-contributor, people-manager)\n")


def test_a_role_on_a_track_from_validate_to_aggregate(ws: Path, tmp_path: Path) -> None:
    """The whole journey on the individual-contributor track: validate, roles show, an HTML
    and PDF pack whose snapshot keeps the track, a YAML scorecard submitted, aggregated."""
    runner = CliRunner()
    assert validate(ws) == (0, ["ok: no problems found"])
    shown = runner.invoke(app, ["roles", "show", "staff-platform-engineer", "-w", str(ws)],
                          env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "framework product-engineering (track individual-contributor)" in shown.output
    made = runner.invoke(app, ["pack", "staff-platform-engineer", "-w", str(ws), "--candidate",
                               "Ada Lovelace", "--candidate-id", "ada", "--out",
                               str(tmp_path / "packs"), "--format", "html,pdf"])
    assert made.exit_code == 0, made.output
    pack = tmp_path / "packs" / "ada"
    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["framework"]["track"] == IC
    assert "\ntrack: individual-contributor\n" in (pack / "source" / "framework.yaml"
                                                   ).read_text(encoding="utf-8")
    assert (pack / "scorecards" / "design.pdf").read_bytes().startswith(b"%PDF")
    returned = [fill(pack, stage, who) for stage, who in
                (("design", "Priya Raman"), ("pairing", "Mei Chen"), ("influence", "Tom Okafor"))]
    submitted = runner.invoke(app, ["submit", str(pack), *map(str, returned)])
    assert submitted.exit_code == 0, submitted.output
    report = runner.invoke(app, ["aggregate", str(pack), "--format", "json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.output)
    assert (data["decision"], data["recommended_level"]) == ("hire", 4)
    assert data["decision_reasons"] == ["recommended level 4 meets the target level 4"]


def fill(pack: Path, stage: str, interviewer: str) -> Path:
    """The pack's blank YAML scorecard for ``stage``, every criterion rated 3 with evidence."""
    card = (pack / "scorecards" / f"{stage}.yaml").read_text(encoding="utf-8")
    card = card.replace('interviewer: ""', f'interviewer: "{interviewer}"').replace(
        "recommendation: null", "recommendation: yes").replace(": null", ": 3")
    card = re.sub(r'^(  [0-9a-f-]{36}): ""$', r'\1: "Showed it with an example."', card,
                  flags=re.MULTILINE)
    out = pack.parent / f"{stage}-returned.yaml"
    out.write_text(card, encoding="utf-8")
    return out


def test_export_of_a_track_is_native_yaml_that_keeps_the_track(ws: Path, tmp_path: Path
                                                               ) -> None:
    """`frameworks export --track` prints the track's framework, which loads back as itself."""
    result = CliRunner().invoke(app, ["frameworks", "export", "product-engineering", "-w",
                                      str(ws), "--track", PM])
    assert result.exit_code == 0
    out = tmp_path / "exported.yaml"
    out.write_text(result.output, encoding="utf-8")
    assert load_framework(out)[0] == load_framework(FAMILY, track=PM)[0]


@pytest.mark.parametrize(("edit", "message"), [
    ({"competencies:\n": "competencies:\n\ncompetenciez:\n"},
     "competencies: must be a non-empty list"),
    ({"themes:\n": "themes: {}\nthemez:\n"}, "themes: must be a non-empty list"),
])
def test_a_malformed_job_family_gets_the_ft_loaders_messages(ws: Path, edit: dict[str, str],
                                                             message: str) -> None:
    """An empty `competencies:` or `themes:` as a mapping is still read as a job family, so
    the message names what is wrong with it, not the native format's fields."""
    f = rel(broken(ws, edit))
    code, lines = validate(ws)
    assert code == 1
    assert any(line.startswith(f"{f}:") and line.endswith(f": {message}") for line in lines)
    assert not any("required field is missing" in line or "unknown field" in line
                   for line in lines)


@pytest.mark.parametrize("name", ["Lead (People Manager) (Individual Contributor)",
                                  "Manager (People Manager) and (Individual Contributor)"])
def test_a_level_name_naming_both_tracks_is_refused(ws: Path, name: str) -> None:
    """A level name that says both tracks is an error on its name, whatever its id says."""
    f = rel(broken(ws, {"name: Team Lead (People Manager)": f"name: {name}"}))
    code, lines = validate(ws)
    assert (code, lines[0]) == (1, f"{f}:25:5: levels[4].name: names both tracks ((individual "
                                   "contributor) and (people manager)); a level is on one "
                                   "track or shared")


def test_an_upper_case_track_suffix_counts(ws: Path) -> None:
    """`Staff-IC` is on the individual-contributor track, as ADR 12 says case is ignored."""
    family = broken(ws, {"id: staff-ic\n    name: Staff Engineer (Individual Contributor)":
                         "id: Staff-IC\n    name: Staff Engineer"})
    family.write_text(family.read_text(encoding="utf-8").replace(
        "level: staff-ic", "level: Staff-IC"), encoding="utf-8")
    ic, _ = load_framework(family, track=IC)
    pm, _ = load_framework(family, track=PM)
    assert "Staff Engineer" in [lv.name for lv in ic.levels]
    assert "Staff Engineer" not in [lv.name for lv in pm.levels]


def test_a_criterion_of_the_other_track_is_named_as_such(ws: Path) -> None:
    """A role on the people-manager track that names individual-contributor competencies is
    told, one line per reference, which track each is on."""
    role = ws / "roles" / "staff-platform-engineer.yaml"
    role.write_text(role.read_text(encoding="utf-8").replace(
        "track: individual-contributor", "track: people-manager"), encoding="utf-8")
    code, lines = validate(ws)
    assert (code, lines[0], lines[-1]) == (1, (
        f"{rel(role)}:13:20: responsibilities[0].evidenced_by[0]: criterion "
        "'5164d8e2-7097-4a14-a09e-c8943043ffca' is on the individual-contributor track, not "
        "people-manager"), "10 problems found")
    assert not any("unknown criterion" in line for line in lines)
