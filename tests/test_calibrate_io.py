"""What `rubrics calibrate` reads and writes (docs/calibration.md, "What is read", "--out",
"Adverse impact"): every folder accounted for, each pack once, the groups file matched to
the packs read, group figures compared exactly and shown only where they protect people,
and a report never written over an input or into a pack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rubrics.calibration.collect import PackData, Scorecard
from tests.conftest import make_pack, rel
from tests.test_calibrate import by_name, candidate_pack, card, cli, groups_of, pack, run


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three candidates' packs of the bundled role, every stage returned."""
    root = tmp_path_factory.mktemp("calio")
    seed = make_pack(root / "seed", "Seed", "html", "--candidate-id", "seed")
    folder = root / "packs"
    folder.mkdir()
    for n in range(3):
        candidate_pack(seed, folder / f"c{n}", f"c{n}", lambda c, n=n: 2 + n % 3)
    return folder


@pytest.fixture
def folder(packs: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(packs, tmp_path / "packs"))


def as_json(*args: str | Path) -> tuple[int, dict[str, Any], str]:
    result = cli("calibrate", *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}, result.stderr


# --------------------------------------------------------------------------- --out


def test_out_never_replaces_the_groups_file_or_a_pack_argument(folder: Path,
                                                               tmp_path: Path) -> None:
    """--out naming the groups file, or a file given as a pack, is refused; both stay."""
    groups = tmp_path / "g.csv"
    groups.write_text("candidate_id,group\nc0,A\n", encoding="utf-8")
    result = cli("calibrate", folder, "--groups", groups, "--out", groups)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"{rel(groups)}: is one of the inputs (a pack or the groups "
                             "file): write the report elsewhere\n1 problem found\n")
    assert groups.read_text(encoding="utf-8") == "candidate_id,group\nc0,A\n"
    stray = tmp_path / "notes.txt"
    stray.write_text("mine", encoding="utf-8")
    again = cli("calibrate", folder, stray, "--out", stray)
    assert again.exit_code == 1 and "is one of the inputs" in again.stderr
    assert stray.read_text(encoding="utf-8") == "mine"


def test_out_is_never_written_into_a_pack_folder(folder: Path) -> None:
    """A new file inside a pack read (not only a file the pack lists) is refused."""
    target = folder / "c1" / "new.json"
    result = cli("calibrate", folder, "--out", target)
    assert result.exit_code == 1 and not target.exists()
    assert result.stderr == (f"{rel(target)}: is inside the pack {folder / 'c1'}: calibration "
                             "writes nothing into packs; write the report elsewhere\n"
                             "1 problem found\n")


def test_out_in_a_missing_folder_is_refused_not_created(folder: Path, tmp_path: Path) -> None:
    """--out in a folder that does not exist: exit 1, and the folder is not made."""
    target = tmp_path / "nowhere" / "deeper" / "x.json"
    result = cli("calibrate", folder, "--out", target)
    assert result.exit_code == 1 and not (tmp_path / "nowhere").exists()
    assert result.stderr == (f"{rel(target)}: the folder {target.parent} does not exist: "
                             "create it first, or write the report elsewhere\n1 problem found\n")
    fine = cli("calibrate", folder, "--out", tmp_path / "report.txt")
    assert fine.exit_code == 0 and (tmp_path / "report.txt").is_file()


# --------------------------------------------------------------------------- what is read


def test_a_child_folder_without_a_manifest_is_skipped_with_its_reason(folder: Path) -> None:
    """A pack whose manifest.json is gone is not silently dropped: it is skipped (exit 1),
    listed once with its path, and the header counts what was read."""
    (folder / "c2" / "manifest.json").unlink()
    code, data, stderr = as_json(folder)
    assert code == 1 and data["packs"]["read"] == 2
    assert data["packs"]["skipped"] == [{"path": str(folder / "c2"),
                                         "reason": "not a pack (no manifest.json)"}]
    assert (f"error: {rel(folder / 'c2')}: not a pack (no manifest.json) (skipped: not used "
            "in the calibration)") in stderr
    text = cli("calibrate", folder)
    assert "2 packs read" in text.stdout
    assert f"skipped {folder / 'c2'}: not a pack (no manifest.json)" in text.stdout


def test_nested_folders_of_packs_are_read_and_hidden_folders_passed_over(folder: Path,
                                                                        tmp_path: Path) -> None:
    """NEST/october/<packs> and NEST/november/<pack> are all read; NEST/.git is ignored, and
    a stray folder of notes beside the packs is skipped with why."""
    nest = tmp_path / "NEST"
    (nest / "october").mkdir(parents=True)
    (nest / "november").mkdir()
    for name in ("c0", "c1"):
        shutil.move(folder / name, nest / "october" / name)
    shutil.move(folder / "c2", nest / "november" / "c2")
    (nest / ".git" / "objects").mkdir(parents=True)
    (nest / "groups.csv").write_text("candidate_id,group\n", encoding="utf-8")
    code, data, _ = as_json(nest)
    assert (code, data["packs"]["read"], data["packs"]["skipped"]) == (0, 3, [])
    (nest / "notes").mkdir()
    (nest / "notes" / "todo.txt").write_text("x", encoding="utf-8")
    code, data, _ = as_json(nest)
    assert code == 1 and data["packs"]["read"] == 3
    assert data["packs"]["skipped"] == [{"path": str(nest / "notes"),
                                         "reason": "not a pack (no manifest.json)"}]


def test_arguments_that_are_no_packs_are_named_once(tmp_path: Path) -> None:
    """An empty folder, a missing path and a file: each named once, without its path again."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    result = cli("calibrate", tmp_path / "empty", tmp_path / "missing", tmp_path / "f.txt")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{rel(tmp_path / 'empty')}: not a pack (no manifest.json), nor a folder of packs\n"
        f"{rel(tmp_path / 'f.txt')}: not a pack folder (it is a file)\n"
        f"{rel(tmp_path / 'missing')}: not found\n3 problems found\n")


def test_a_damaged_manifest_is_named_once(folder: Path) -> None:
    """The reason for a pack whose manifest is not JSON names the file inside the pack, not
    the pack's path a second time (relative or absolute)."""
    (folder / "c1" / "manifest.json").write_text("{", encoding="utf-8")
    for given_ in (folder, folder.resolve()):
        code, data, _ = as_json(given_)
        [skipped] = data["packs"]["skipped"]
        assert code == 1 and skipped["reason"].startswith(
            "manifest.json: manifest is not valid JSON"), skipped


def test_a_copied_pack_is_read_once_with_a_warning(folder: Path, tmp_path: Path) -> None:
    """The same pack twice (same pack id, same submissions) counts once: figures as without
    the copy, a warning on stderr, exit 0."""
    _, alone, _ = as_json(folder)
    shutil.copytree(folder / "c0", folder / "c0-copy")
    code, data, stderr = as_json(folder)
    assert code == 0 and data["packs"]["read"] == 3
    assert stderr == (f"warning: {folder / 'c0-copy'}: the same pack as {folder / 'c0'} "
                      "(pack id cal-c0): read once\n")
    assert data["interviewers"] == alone["interviewers"] and data["criteria"] == alone["criteria"]


def test_copies_of_a_pack_that_differ_are_both_skipped() -> None:
    """Two packs with one pack id and different submissions: which is the record is not
    guessed; both are skipped (and so the command exits 1)."""
    from rubrics.calibration.collect import one_copy_each

    newer = pack(0, [card("s1", "Ann", {"a.x": 3})])
    older = PackData("old/p0", "p0", "c0", "r", ("x", "y"), "hire", "hire", 5.0, None, ())
    kept, skipped, warnings = one_copy_each([newer, pack(1, []), older])
    assert ([p.path for p in kept], warnings) == (["p1"], [])
    assert [(s.path, s.reason) for s in skipped] == [
        (path, "pack id p0 is also that of another pack read, with different submissions "
         "(p0, old/p0): give one copy") for path in ("p0", "old/p0")]


def test_two_packs_of_one_candidate_id_are_kept_with_a_warning() -> None:
    """Two pack ids for candidate c1: both counted, and a warning says so."""
    from rubrics.calibration.collect import one_copy_each

    packs = [pack(0, []), pack(1, []), PackData("p1b", "p1b", "c1", "r", ("x", "y"), "hire",
                                                "hire", 5.0, None, ())]
    kept, skipped, warnings = one_copy_each(packs)
    assert (len(kept), skipped) == (3, [])
    assert warnings == ["candidate id c1: 2 packs (p1, p1b): counted as that many candidates"]


# --------------------------------------------------------------------------- identity, --since


def test_a_name_only_card_joining_two_emails_lists_both_and_warns() -> None:
    """Three cards from one email, three from another and one name-only "Dmitri Berg" are one
    interviewer (rubrics.identity's rule): both emails listed, and a warning."""
    def by(email: str | None, n: int) -> Scorecard:
        return Scorecard("s1", "Dmitri Berg", email, "2026-11-02", "2026-11-03", "yes",
                         {"a.x": 3}, ())

    cards = [by("d.berg@example.com", n) for n in range(3)] + [
        by("dmitri@example.com", n) for n in range(3)] + [by(None, 0)]
    data = run([pack(n, [c]) for n, c in enumerate(cards)])
    dmitri = by_name(data, "Dmitri Berg")
    assert dmitri["emails"] == ["d.berg@example.com", "dmitri@example.com"]
    assert dmitri["scorecards"] == 7
    assert data["warnings"] == [
        "interviewer Dmitri Berg: scorecards under 2 emails (d.berg@example.com, "
        "dmitri@example.com) are counted as one interviewer, joined by scorecards that give "
        "this name without an email"]


def test_since_takes_only_a_full_date(folder: Path) -> None:
    """--since 20260901 (no dashes) and 2026-9-1 are refused with exit 2."""
    for given_ in ("20260901", "2026-9-1"):
        result = cli("calibrate", folder, "--since", given_)
        assert (result.exit_code, result.stderr) == (
            2, f"error: --since: '{given_}' is not a date (YYYY-MM-DD)\n")
    assert cli("calibrate", folder, "--since", "2026-09-01").exit_code == 0


# --------------------------------------------------------------------------- the groups file


def test_groups_file_header_only_or_with_two_group_columns_is_refused(folder: Path,
                                                                     tmp_path: Path) -> None:
    """A header and no rows, and a header with two group columns, are refused (exit 1)."""
    groups = tmp_path / "groups.csv"
    groups.write_text("candidate_id,group\n", encoding="utf-8")
    empty = cli("calibrate", folder, "--groups", groups)
    assert (empty.exit_code, empty.stderr) == (
        1, f"{rel(groups)}: no candidates: the file has a header and no rows\n1 problem found\n")
    groups.write_text("group,candidate_id,group\nA,c0,B\n", encoding="utf-8")
    twice = cli("calibrate", folder, "--groups", groups)
    assert (twice.exit_code, twice.stderr) == (
        1, f"{rel(groups)}:1: header: 2 columns are read as the group column ('group', "
        "'group'): keep one\n1 problem found\n")


def test_ids_of_the_groups_file_not_in_the_packs_are_ignored_and_counted(
        folder: Path, tmp_path: Path) -> None:
    """An HR export naming more people than these packs: the others are ignored, in one
    line; the candidates read are grouped."""
    groups = tmp_path / "hr.csv"
    groups.write_text("candidate_id,group\nc0,A\nc1,B\nc2,B\n"
                      + "".join(f"x{n},A\n" for n in range(12)), encoding="utf-8")
    code, data, _ = as_json(folder, "--groups", groups)
    assert code == 0
    assert data["groups"]["warnings"][0] == ("12 candidates in hr.csv are not in these packs; "
                                             "ignored")
    assert len(data["groups"]["warnings"]) == 3  # and a line each for small groups, no ratio


# --------------------------------------------------------------------------- group figures


def scored(counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """Selection rates at stage s1 for groups of (selected, candidates)."""
    packs, labels, n = [], {}, 0
    for group, (selected, total) in counts.items():
        for k in range(total):
            packs.append(pack(n, [card("s1", "Ann", {"a.x": 3}, "yes" if k < selected
                                       else "no")]))
            labels[n] = group
            n += 1
    return run(packs, groups=groups_of(labels))["groups"]


@pytest.mark.parametrize(("low", "high"), [((18, 30), (24, 32)), ((20, 30), (25, 30)),
                                           ((32, 100), (40, 100))])
def test_a_ratio_of_exactly_four_fifths_is_never_flagged(low: tuple[int, int],
                                                         high: tuple[int, int]) -> None:
    """3/5 against 3/4, 2/3 against 5/6 and 8/25 against 10/25 are exactly 0.8: not flagged
    (in floating point the first is 0.7999...)."""
    rates = scored({"A": high, "B": low})["stages"][0]["rates"]
    assert [(r["impact_ratio"], r["flag"]) for r in rates] == [(1.0, False), (0.8, False)]


@settings(max_examples=40, deadline=None)
@given(st.integers(30, 60), st.integers(30, 60), st.data())
def test_the_flag_is_exactly_the_four_fifths_rule(n1: int, n2: int, data: st.DataObject) -> None:
    """For any two comparable groups, the lower is flagged exactly when 5 * its rate is
    under 4 * the higher rate (integer arithmetic)."""
    s1 = data.draw(st.integers(1, n1))
    s2 = data.draw(st.integers(0, n2))
    rates = {r["group"]: r for r in scored({"A": (s1, n1), "B": (s2, n2)})["stages"][0]["rates"]}
    if s1 * n2 >= s2 * n1:  # A is the highest
        assert rates["B"]["flag"] == (5 * s2 * n1 < 4 * s1 * n2)
    else:
        assert rates["A"]["flag"] == (5 * s1 * n2 < 4 * s2 * n1)


def test_small_groups_show_no_rate_ratio_or_flag_and_one_warning() -> None:
    """A group of one is shown as too few to compare, without even its count; a group of 12
    with its count only; a single summary line, however many cells are small."""
    groups = scored({"A": (20, 40), "B": (19, 40), "Hispanic": (0, 1), "C": (3, 12)})
    rates = {r["group"]: r for r in groups["stages"][0]["rates"]}
    assert rates["Hispanic"] == {"group": "Hispanic", "comparable": False, "selected": None,
                                 "total": None, "rate": None, "impact_ratio": None, "flag": None}
    assert (rates["C"]["total"], rates["C"]["selected"], rates["C"]["flag"]) == (12, None, None)
    assert rates["B"]["impact_ratio"] == 0.95 and rates["B"]["flag"] is False
    assert groups["warnings"] == [
        "2 groups ('C', 'Hispanic') have fewer than 30 candidates at one stage or more, or for "
        "the decision: there shown as too few to compare (no rate, ratio or flag; counts under "
        "5 not shown)"]


def test_text_report_shows_small_groups_as_counts_and_undecided_per_group() -> None:
    """The text shows "too few to compare" with no outcome, and each group's undecided."""
    from rubrics.calibration.text import to_text

    packs = [pack(n, [card("s1", "Ann", {"a.x": 3}, "yes")],
                  outcome=None if n % 11 == 0 else "hire") for n in range(67)]
    data = run(packs, groups=groups_of({n: "A" if n < 33 else "B" if n < 66 else "Solo"
                                        for n in range(67)}))
    text = to_text({"format": "x", "role": "r", "role_title": "R", "since": None,
                    "packs": {"read": 67, "skipped": [], "other_roles": 0}, "warnings": [],
                    **data})
    assert "decision (the panel's recorded decision, else the rule's: 0 from the panel, 60 " \
           "from the rule, 7 undecided):" in text
    decision = text[text.index("  decision ("):].splitlines()
    assert decision[1].split() == ["A", "30/30", "100%", "ratio", "1.00", "3", "undecided"]
    assert decision[3] == "    Solo                     too few to compare (fewer than 5 " \
        "candidates, undecided not shown)"
    assert "0/1" not in text and "1/1" not in text


def test_ids_of_packs_left_out_by_role_are_ignored_too(folder: Path, tmp_path: Path) -> None:
    """A candidate of another role's pack, left out by --role, is one of the ids ignored."""
    from tests.conftest import FIXTURES, ROLE_ID

    made = cli("--workspace", FIXTURES / "ws", "pack", "tiny-engineer", "--candidate", "Zed",
               "--candidate-id", "zed", "--out", tmp_path / "other", "--format", "html")
    assert made.exit_code == 0, made.output
    groups = tmp_path / "g.csv"
    groups.write_text("candidate_id,group\nc0,A\nc1,A\nc2,B\nzed,B\n", encoding="utf-8")
    code, data, _ = as_json(folder, tmp_path / "other" / "zed", "--role", ROLE_ID,
                            "--groups", groups)
    assert code == 0 and data["packs"]["other_roles"] == 1
    assert data["groups"]["warnings"][0] == "1 candidate in g.csv is not in these packs; ignored"
