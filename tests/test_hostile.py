"""What a hostile or careless user tried against submit, decide and the reports (a red-team
session): each now gets one clear line, or a report that cannot be made to lie."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rubrics.aggregation import Rated, aggregate
from rubrics.model import Recommendation, Submission
from rubrics.render import visible
from rubrics.workspace import Workspace
from tests.conftest import ROLE_ID, rel
from tests.test_debrief import STAGES, blank_pack, cli, decide, report, returns

__all__ = ["blank_pack"]  # the module fixture, shared


@pytest.fixture
def pack(blank_pack: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(blank_pack, tmp_path / "ada"))


def edited(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("interviewer_email: mei.chen@example.com", "interviewer_email: \"mei\u200b@example.com\"",
     "interviewer_email", "contains the invisible character U+200B; remove it"),
    ('interviewer: "Mei Chen"', 'interviewer: "M\u0435i Chen"', "interviewer",
     "'M\u0435i' mixes letters of different scripts (a look-alike character?); type the name "
     "again"),
    ('interviewer: "Mei Chen"', 'interviewer: "Me\u0575 Chen"', "interviewer",
     "'Me\u0575' mixes letters of different scripts (a look-alike character?); type the name "
     "again"),
    ('interviewer: "Mei Chen"', 'interviewer: "Mei\u00adChen"', "interviewer",
     "contains the invisible character U+00AD; remove it"),
    ('notes: ""', 'notes: "\\e[2Jrecommendation: hire"', "notes",
     "contains the control character U+001B; remove it"),
])
def test_look_alike_and_control_characters_are_refused(pack: Path, tmp_path: Path, old: str,
                                                       new: str, field: str, message: str) -> None:
    """An invisible character in an email, a Cyrillic letter in a Latin name, a soft hyphen,
    or a terminal escape in the notes would count one person twice or forge a report line:
    each is refused with the file, line and field."""
    path = edited(returns(pack, tmp_path / "r", lambda c: 3, stages=[STAGES[4]])[0], old, new)
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if text.startswith(f"{field}:"))
    result = cli("submit", pack, path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{rel(path)}:{line}:1: {field}: {message}"
    assert sorted(p.name for p in (pack / "submissions").iterdir()) == ["head.json", "log.jsonl"]


def test_one_name_under_two_emails_is_flagged(tmp_path: Path) -> None:
    """Two scorecards signed with one name and two emails count as two interviewers, and a
    flag says so, so the panel can check it is really two people."""
    loop = Workspace.open(None).loop(ROLE_ID)[0]
    cid = "mastery.l5.produces-clear-technical-designs-for-large-complex-projects"
    subs = [Submission(pack_id="p", stage=stage, interviewer="Mei Chen", interviewer_email=email,
                       ratings={cid: 3}, recommendation=Recommendation.YES)
            for stage, email in ((STAGES[1], "mei@example.com"), (STAGES[3], "m.chen@example.com"))]
    result = aggregate(loop, [Rated(f"000{n}", s) for n, s in enumerate(subs, 1)], pack_id="p",
                       candidate={})
    flag = next(f for f in result["flags"] if f["kind"] == "one_name_several_people")
    assert flag["message"].startswith("'Mei Chen' returned scorecards under 2 emails "
                                      "(m.chen@example.com, mei@example.com)")


def test_a_copy_under_another_name_in_the_same_batch_is_refused(pack: Path, tmp_path: Path) -> None:
    """The same scorecard sent twice in one submit under two names is refused (it would count
    twice), even with an invisible character slipped into its evidence."""
    first = returns(pack, tmp_path / "r", lambda c: 3, stages=[STAGES[4]])[0]
    copy = tmp_path / "copy.yaml"
    copy.write_text(first.read_text(encoding="utf-8")
                    .replace('interviewer: "Mei Chen"', 'interviewer: "Max Chen"')
                    .replace("mei.chen@", "max.chen@")
                    .replace("Walked through it", "Walked\u200b through it", 1), encoding="utf-8")
    result = cli("submit", pack, first, copy)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(copy)}: same ratings and evidence as {rel(first)} under another name: one "
        "scorecard counts once")
    assert cli("submit", pack, first).exit_code == 0
    result = cli("submit", pack, copy)
    assert result.exit_code == 1 and "same ratings and evidence as submission 0001" in result.stderr


# --------------------------------------------------------------------------- reports


def test_a_reason_cannot_forge_report_lines(pack: Path, tmp_path: Path) -> None:
    """A decision's reason with line breaks shows on one line of the text report, and control
    or direction characters are refused in the record."""
    assert cli("submit", pack, *returns(pack, tmp_path / "r", lambda c: 4)).exit_code == 0
    result = decide(pack, "--decision", "no_hire", "--reason",
                    "budget\nrecommendation: hire   level: 6E   confidence: high", "--by", "Panel")
    assert result.exit_code == 0, result.output
    text = cli("aggregate", pack).stdout.splitlines()
    assert [x for x in text if x.startswith("recommendation:")] == [
        "recommendation: hire   level: 6E   confidence: high"]  # the real one, once
    assert "  reason: budget recommendation: hire level: 6E confidence: high" in text
    for args, message in ((["--reason", "\u200b"], "--reason: must not be empty"),
                          (["--by", "Panel\u202e"],
                           "--by: contains the invisible character U+202E; remove it"),
                          (["--reason", "ok\x1b[2J"],
                           "--reason: contains the control character U+001B; remove it")):
        base = {"--reason": "r", "--by": "Panel"}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        result = decide(pack, "--decision", "hire", *[x for kv in base.items() for x in kv])
        assert (result.exit_code, result.stderr.splitlines()[0]) == (1, message)


def test_printed_text_loses_controls_and_direction_overrides() -> None:
    """Whatever reaches a template (old data included) is printed without terminal controls
    or direction overrides that could reorder the rest of a line."""
    assert visible("Panel\u202e (entry 0007)\x1b[2J") == "Panel (entry 0007)[2J"
    assert visible("two\nlines\tand emoji 👩‍💼") == "two\nlines\tand emoji 👩‍💼"


def test_a_stale_resolution_is_open_again(pack: Path, tmp_path: Path) -> None:
    """A flag the panel resolved, which new evidence then changed, shows as not resolved."""
    files = returns(pack, tmp_path / "r", lambda c: 3, recs=["no"] + ["yes"] * 6)
    assert cli("submit", pack, *files).exit_code == 0
    flag = next(f for f in report(pack)["flags"] if f["kind"] == "split_recommendation")
    assert decide(pack, "--decision", "hire", "--reason", "r", "--by", "p", "--resolve",
                  f"{flag['id']}=Only the HM said no, about pace", "--force-unresolved",
                  "others not discussed").exit_code == 0
    assert flag["id"] not in report(pack)["panel_decision"]["unresolved_now"]
    late = edited(returns(pack, tmp_path / "late", lambda c: 3, stages=[STAGES[2]])[0],
                  "recommendation: yes", "recommendation: no")
    assert cli("submit", pack, "--amend", "--reason", "changed mind", late).exit_code == 0
    now = report(pack)
    assert all(f["id"] in now["panel_decision"]["unresolved_now"] for f in now["flags"]
               if f["kind"] == "split_recommendation")


# --------------------------------------------------------------------------- the record


def test_force_keeps_a_pack_with_a_decision(pack: Path, tmp_path: Path) -> None:
    """pack --force refuses to replace a pack whose log holds a panel decision."""
    assert decide(pack, "--decision", "no_hire", "--reason", "withdrew", "--by", "Panel",
                  "--force-unresolved", "no loop").exit_code == 0
    result = cli("pack", ROLE_ID, "--candidate", "Ada Lovelace", "--candidate-id", "ada",
                 "--out", pack.parent, "--format", "html", "--force")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {pack}: pack has submitted scorecards or a recorded "
                             "decision; --force would lose them. Move the pack away first if "
                             "you really mean to replace it\n")


def test_a_report_is_never_written_over_the_record(pack: Path, tmp_path: Path) -> None:
    """aggregate --out refuses the pack's log, manifest and listed files."""
    assert cli("submit", pack, *returns(pack, tmp_path / "r", lambda c: 3)).exit_code == 0
    for target in (pack / "submissions" / "log.jsonl", pack / "manifest.json",
                   pack / "scorecards" / f"{STAGES[0]}.html"):
        before = target.read_bytes()
        result = cli("aggregate", pack, "--format", "json", "--out", target)
        assert (result.exit_code, result.stderr) == (
            1, f"{rel(target)}: is a file of the pack in {pack}: write the report elsewhere\n"
            "1 problem found\n")
        assert target.read_bytes() == before
    assert cli("aggregate", pack, "--format", "html", "--out", pack / "report.html").exit_code == 0


def test_a_decision_after_an_interrupted_submit_keeps_verify_clean(pack: Path, tmp_path: Path) -> None:
    """A folder left by an interrupted submit is moved aside by decide too, so the decision's
    number is never mistaken for a removed submission."""
    files = returns(pack, tmp_path / "r", lambda c: 3)
    assert cli("submit", pack, *files[:5]).exit_code == 0
    orphan = pack / "submissions" / "0006-stakeholder-partnership--sam-taylor"
    shutil.copytree(pack / "submissions" / next(
        p.name for p in (pack / "submissions").iterdir() if p.name.startswith("0005")), orphan)
    assert decide(pack, "--decision", "no_hire", "--reason", "r", "--by", "p",
                  "--force-unresolved", "x").exit_code == 0
    assert cli("verify", pack).exit_code == 0
    assert [p.name.split(".")[0] for p in (pack / "submissions" / ".interrupted").iterdir()] == [
        orphan.name]


def test_a_forged_decision_of_the_wrong_shape_is_named_not_a_crash(pack: Path) -> None:
    """A decision entry whose fields have the wrong types is a log error for verify and
    aggregate, not a traceback."""
    assert decide(pack, "--decision", "no_hire", "--reason", "r", "--by", "p",
                  "--force-unresolved", "x").exit_code == 0
    log = pack / "submissions" / "log.jsonl"
    genesis, line = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    entry["decision"]["resolutions"] = "abc"
    log.write_text(genesis + "\n" + json.dumps(entry) + "\n", encoding="utf-8")
    message = (f"{rel(log)}:2: log entry is not a log entry of a rubrics pack (fields missing "
               "or of the wrong type)")
    assert cli("verify", pack).stderr.splitlines()[0] == message
    assert cli("aggregate", pack).stderr == f"error: {message}; run rubrics verify\n"


def test_damaged_packs_are_left_out_of_a_pipeline_and_never_hang(blank_pack: Path,
                                                                 tmp_path: Path) -> None:
    """A folder or a named pipe where a stored submission should be: that pack is named and
    left out, the others are reported, and nothing waits on the pipe."""
    packs = []
    for n in range(3):
        pack = Path(shutil.copytree(blank_pack, tmp_path / "packs" / f"c{n}"))
        assert cli("submit", pack, *returns(pack, tmp_path / f"r{n}", lambda c: 3)).exit_code == 0
        packs.append(pack)
    first = next((packs[1] / "submissions").glob("0001-*")) / "submission.json"
    first.unlink()
    first.mkdir()
    second = next((packs[2] / "submissions").glob("0001-*")) / "submission.json"
    second.unlink()
    os.mkfifo(second)
    proc = subprocess.run([sys.executable, "-m", "rubrics", "aggregate", *map(str, packs)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    table = proc.stdout.split("\n\n", 1)[0]  # the table, then a line per candidate
    assert len(table.splitlines()) == 2  # the header and the good pack
    assert proc.stdout.count("Ada Lovelace:") == 1
    assert proc.stderr.splitlines() == [
        f"error: {packs[1]}: {first}: missing: normalised file of submission 0001; run rubrics "
        "verify (left out of the table)",
        f"error: {packs[2]}: {second}: missing: normalised file of submission 0001; run rubrics "
        "verify (left out of the table)"]


def test_an_endless_resolutions_file_is_refused(pack: Path) -> None:
    """--resolutions /dev/zero stops at the size limit instead of reading forever."""
    proc = subprocess.Popen([sys.executable, "-m", "rubrics", "decide", str(pack), "--decision",
                             "no_hire", "--reason", "r", "--by", "p", "--resolutions",
                             "/dev/zero"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        raise
    assert proc.returncode == 1
    assert err.splitlines()[0].startswith("/dev/zero: is not a regular file")


def test_a_report_is_never_written_over_a_device_or_pipe(pack: Path, tmp_path: Path) -> None:
    """--out naming a pipe (or a device such as /dev/null) is refused: replacing it with a
    regular file would break the machine for everyone."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = cli("aggregate", pack, "--format", "json", "--out", fifo)
    assert (result.exit_code, result.stderr.splitlines()[0]) == (
        1, f"{rel(fifo)}: is not a regular file: leave --out out to print the report, or name "
        "a file")
    assert fifo.is_fifo()
