"""Packs damaged or rearranged by hand: every file rubrics wrote is checked before it is
used, as carefully as files users write, and no path leads out of a pack."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROLE_ID, rel
from tests.test_debrief import blank_pack, cli, returns

__all__ = ["blank_pack"]

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def pack(blank_pack: Path, tmp_path: Path) -> Path:
    pack = Path(shutil.copytree(blank_pack, tmp_path / "ada"))
    assert cli("submit", pack, *returns(pack, tmp_path / "r", lambda c: 3)[:2]).exit_code == 0
    return pack


def outcome(pack: Path) -> list[tuple[int, str]]:
    """verify, aggregate and submit: exit code and the first line of stderr, never a traceback."""
    out = []
    for args in (["verify", pack], ["aggregate", pack], ["decide", pack, "--decision",
                                                         "no_hire", "--reason", "r", "--by",
                                                         "p", "--force-unresolved", "x"]):
        result = cli(*args)
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exception
        out.append((result.exit_code, (result.stderr.splitlines() or [""])[0]))
    return out


def test_deeply_nested_json_in_the_pack_is_one_line(pack: Path) -> None:
    """100,000-deep JSON in the manifest, a log line or the head record is a clear error."""
    manifest = pack / "manifest.json"
    original = manifest.read_text(encoding="utf-8")
    manifest.write_text(DEEP, encoding="utf-8")
    assert outcome(pack)[0] == (1, f"{rel(manifest)}: manifest is not valid JSON: nested too "
                                   "deeply")
    manifest.write_text(original, encoding="utf-8")
    log = pack / "submissions" / "log.jsonl"
    with log.open("a", encoding="utf-8") as fh:
        fh.write(DEEP + "\n")
    assert outcome(pack)[0] == (1, f"{rel(log)}:4: log entry is not valid JSON")
    log.write_text("".join(log.read_text(encoding="utf-8").splitlines(keepends=True)[:3]),
                   encoding="utf-8")
    head = pack / "submissions" / "head.json"
    head.write_text(DEEP, encoding="utf-8")
    assert outcome(pack)[0] == (1, f"{rel(head)}: altered: the log's head record is not valid")


@pytest.mark.parametrize("candidate", [[], None, "abc", {"name": ["x"]}])
def test_a_candidate_of_the_wrong_type_is_a_damaged_manifest(pack: Path, candidate: object) -> None:
    """A manifest whose candidate is not a mapping of texts is damaged, not a crash."""
    manifest = pack / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["candidate"] = candidate
    manifest.write_text(json.dumps(data), encoding="utf-8")
    message = (f"{rel(manifest)}: manifest is damaged: it lacks the role, framework, pack id, "
               "candidate or file list of a rubrics pack, or one has the wrong type")
    assert [line for _, line in outcome(pack)] == [message] * 3


def test_a_folder_with_digits_of_another_script_is_no_crash(pack: Path) -> None:
    """A folder named like a submission with superscript digits is an unlogged folder."""
    odd = pack / "submissions" / "²²²²-x"
    odd.mkdir()
    result = cli("verify", pack)
    assert (result.exit_code, result.stderr.splitlines()) == (0, [
        f"{rel(odd)}: warning: not in the submission log (left by an interrupted submit; it "
        "was never accepted)"])


def test_a_submissions_link_out_of_the_pack_is_refused(pack: Path, tmp_path: Path) -> None:
    """A submissions folder that is a link elsewhere: verify fails, submit writes nothing
    there, aggregate refuses."""
    elsewhere = tmp_path / "elsewhere"
    shutil.move(pack / "submissions", elsewhere)
    (pack / "submissions").symlink_to(elsewhere, target_is_directory=True)
    before = sorted(p.name for p in elsewhere.iterdir())
    message = (f"{rel(pack / 'submissions')}: is a link or not a folder: a pack's submissions "
               "stay inside it")
    assert cli("verify", pack).stderr.splitlines()[0] == message
    late = returns(pack, tmp_path / "late", lambda c: 3)[3]
    result = cli("submit", pack, late)
    assert result.exit_code == 1 and message in result.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == before
    assert cli("aggregate", pack).exit_code == 1


@pytest.mark.parametrize("where", ["scorecards", "source/role.yaml"])
def test_links_inside_a_pack_are_refused(pack: Path, tmp_path: Path, where: str) -> None:
    """A scorecards folder or role snapshot replaced by a link to a copy outside the pack is
    named by verify and refused by aggregate."""
    target = pack / where
    outside = tmp_path / "outside" / target.name
    outside.parent.mkdir()
    shutil.move(target, outside)
    target.symlink_to(outside, target_is_directory=outside.is_dir())
    assert cli("verify", pack).exit_code == 1
    assert cli("aggregate", pack).exit_code == 1


def test_an_absolute_role_path_in_the_manifest_is_refused(pack: Path) -> None:
    """A manifest pointing its role snapshot at an absolute path loads nothing from there."""
    manifest = pack / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["role"]["file"] = str((pack / "source" / "role.yaml").resolve())
    manifest.write_text(json.dumps(data), encoding="utf-8")
    result = cli("verify", pack)
    assert (result.exit_code, result.stderr) == (
        1, f"error: {manifest}: the role or framework snapshot it names leaves the pack (a "
           "link, an absolute path or ..)\n")


def test_force_keeps_what_an_interrupted_submit_set_aside(blank_pack: Path, tmp_path: Path) -> None:
    """pack --force never deletes scorecards an interrupted submit set aside."""
    pack = Path(shutil.copytree(blank_pack, tmp_path / "packs" / "ada"))
    aside = pack / "submissions" / ".interrupted" / "0001-x.20261122"
    aside.mkdir(parents=True)
    (aside / "original.yaml").write_text("kept\n", encoding="utf-8")
    result = cli("pack", ROLE_ID, "--candidate", "Ada Lovelace", "--candidate-id", "ada",
                 "--out", pack.parent, "--format", "html", "--force")
    assert result.exit_code == 1 and "--force would lose them" in result.stderr
    assert (aside / "original.yaml").read_text(encoding="utf-8") == "kept\n"


def test_removing_the_log_or_editing_the_manifest_before_any_submission_shows(
        blank_pack: Path, tmp_path: Path) -> None:
    """A new pack carries its log: removing it, or editing the manifest before anything was
    submitted, is an error verify and aggregate name."""
    pack = Path(shutil.copytree(blank_pack, tmp_path / "fresh"))
    assert cli("verify", pack).stdout == "ok: pack files and 0 logged submissions verified\n"
    manifest = pack / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("Ada Lovelace", "Eve"),
                        encoding="utf-8")
    assert cli("verify", pack).stderr.splitlines()[0] == (
        f"{rel(manifest)}: altered: manifest.json changed after the pack was made (its SHA-256 "
        "is recorded in the pack's log)")
    assert cli("aggregate", pack).exit_code == 1
    other = Path(shutil.copytree(blank_pack, tmp_path / "gone"))
    for name in ("log.jsonl", "head.json"):
        os.remove(other / "submissions" / name)
    assert cli("verify", other).stderr.splitlines()[0] == (
        f"{rel(other / 'submissions' / 'log.jsonl')}: missing: the pack's log, made with the "
        "pack, was removed")
