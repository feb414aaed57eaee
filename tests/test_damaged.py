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
        f"{rel(odd)}: warning: not in the submission log: left by a submit that was "
        "interrupted or is still writing (never accepted), unless entries were cut from the "
        "end of the log"])


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


# --------------------------------------------------------------------------- red team, issue 8


def _rechain(pack: Path, edit: object) -> None:
    """Rewrite the log as a forger who knows the (keyless) chain would: apply ``edit`` to
    the entries, recompute every hash and the head record."""
    from rubrics.log import GENESIS, entry_hash

    log = pack / "submissions" / "log.jsonl"
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    edit(entries)  # type: ignore[operator]
    prev = GENESIS
    for data in entries:
        data["prev"] = prev
        data["hash"] = prev = entry_hash(data)
    log.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    (pack / "submissions" / "head.json").write_text(
        json.dumps({"entries": len(entries), "hash": prev}), encoding="utf-8")


def test_an_amendment_of_a_submission_that_is_not_there_is_an_error(pack: Path) -> None:
    """A forged entry that amends a missing, a later or its own submission is named by
    verify, and aggregate and decide refuse the pack in one line (no KeyError)."""
    for amends in (99, 2, "x"):
        def forge(entries: list[dict[str, object]], amends: object = amends) -> None:
            entries[2]["amends"] = amends
        _rechain(pack, forge)
        log = pack / "submissions" / "log.jsonl"
        message = (f"{rel(log)}:3: entry 3: amends {amends!r}, which is not an earlier "
                   "submission of the same stage")
        assert [code for code, _ in outcome(pack)] == [1, 1, 1]
        assert cli("verify", pack).stderr.splitlines()[0] == message


def test_huge_log_and_head_files_are_named_not_read(pack: Path) -> None:
    """A 6 GB head record or a 300 MB log (sparse files) is one line at once, not a read
    of the whole file."""
    head = pack / "submissions" / "head.json"
    os.truncate(head, 6 * 2**30)
    assert outcome(pack)[0] == (1, f"{rel(head)}: altered: the log's head record is not valid")
    os.truncate(head, 0)
    log = pack / "submissions" / "log.jsonl"
    os.truncate(log, 300 * 2**20)
    assert outcome(pack)[0] == (1, f"{rel(log)}:1: the log is larger than 256 MiB: no pack's "
                                   "log grows that big")


def test_a_huge_file_in_place_of_a_pack_file_is_not_hashed(pack: Path) -> None:
    """A pack file replaced by a 20 GB sparse file is 'altered' from its size alone."""
    page = pack / "interview-plan.html"
    os.truncate(page, 20 * 2**30)
    assert outcome(pack)[0] == (1, f"{rel(page)}: altered: does not match the SHA-256 in "
                                   "manifest.json")


def test_a_pack_without_its_log_key_always_warns(blank_pack: Path, tmp_path: Path) -> None:
    """A manifest without the "log" key (an older pack, or one edited to look older) is
    accepted with a warning on every verify, submissions or not, never silently."""
    pack = Path(shutil.copytree(blank_pack, tmp_path / "older"))
    manifest = pack / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    del data["log"]
    manifest.write_text(json.dumps(data), encoding="utf-8")
    shutil.rmtree(pack / "submissions")
    result = cli("verify", pack)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"{rel(manifest)}: warning: names no log made with the pack (packs made before rubrics "
        "anchored them, or a manifest edited to look so): a removed log, or a manifest or role "
        "edited before the first submission, would go unnoticed"]


def test_pack_force_waits_for_a_submit_in_flight(blank_pack: Path, tmp_path: Path) -> None:
    """pack --force takes the pack's writer lock: while a submit holds it the old pack stays
    (so the submit lands in it, and then --force refuses); a submit that waited while
    --force replaced the pack stores nothing and says why."""
    import subprocess
    import sys
    import time

    from rubrics.errors import Conflict
    from rubrics.packdir import Pack, writer_lock
    from rubrics.store import locked

    out = tmp_path / "packs"
    shutil.copytree(blank_pack, out / "ada")
    pack = out / "ada"
    before = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))["pack_id"]
    command = [sys.executable, "-m", "rubrics", "pack", ROLE_ID, "--candidate", "Ada Lovelace",
               "--candidate-id", "ada", "--out", str(out), "--format", "html", "--force"]
    stale = Pack.open(pack)
    with writer_lock(pack):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(8)  # long enough to render an HTML pack and reach the lock
        assert proc.poll() is None, "pack --force did not wait for the lock"
        assert json.loads((pack / "manifest.json").read_text(encoding="utf-8"))["pack_id"] == before
    _, stderr = proc.communicate(timeout=120)  # (reads and closes the pipes)
    assert proc.returncode == 0, stderr
    remade = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    assert remade["pack_id"] == before and remade != stale.manifest  # the same id, remade
    with pytest.raises(Conflict) as info, locked(stale):
        pass
    assert str(info.value) == (f"{pack}: the pack was replaced while this waited for it "
                               "(pack --force); nothing was stored: run the command again")
