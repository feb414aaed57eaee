"""A pack survives any crash: a kill at each rename, link and unlink of submit, decide and
pack leaves the old state or the new one, and the next run recovers; many processes at
once never see a false tamper alarm. Kills are real (strace's fault injection sends
SIGKILL at the N-th file-system call), not simulated in Python."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROLE_ID, run_at_once
from tests.test_debrief import STAGES, blank_pack, cli, returns

__all__ = ["blank_pack"]

STRACE = shutil.which("strace")
CALLS = "rename,renameat,renameat2,link,linkat,unlink,unlinkat"
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc renames in the count


@pytest.fixture(scope="module", autouse=True)
def _needs_strace() -> None:
    assert STRACE, "these tests kill real processes with strace: scripts/setup installs it"


def rubrics(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "rubrics", *map(str, args)]


Point = tuple[str, int]  # the n-th call of one system call


def kill_points(cmd: list[str], tmp_path: Path) -> list[Point]:
    """Every rename, link and unlink the command makes when it is not killed, as (system
    call, its n-th call): strace counts each system call on its own."""
    out = tmp_path / "trace.txt"
    subprocess.run([STRACE, "-f", "-qq", "-e", f"trace={CALLS}", "-o", str(out), *cmd],
                   env=ENV, check=True, capture_output=True)
    seen: dict[str, int] = {}
    points = []
    for line in out.read_text().splitlines():
        name = line.split(None, 1)[1].split("(", 1)[0]
        seen[name] = seen.get(name, 0) + 1
        if line.rstrip().endswith("= 0"):
            points.append((name, seen[name]))
    return points


def killed_at(point: Point, cmd: list[str]) -> int:
    """Run ``cmd``, killed by SIGKILL at one rename, link or unlink; its exit code."""
    name, n = point
    done = subprocess.run([STRACE, "-f", "-qq", "-o", os.devnull, "-e", f"trace={CALLS}",
                           "-e", f"inject={name}:signal=KILL:when={n}", *cmd],
                          env=ENV, capture_output=True, text=True, timeout=120)
    return done.returncode


def entries(pack: Path) -> list[dict[str, object]]:
    text = (pack / "submissions" / "log.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def verified(pack: Path) -> None:
    result = cli("verify", pack)
    assert result.exit_code == 0, result.output


def each_kill(tmp_path: Path, setup: Callable[[Path], list[str]], check: Callable[[Path], None],
              blank: Path) -> int:
    """Kill the command ``setup`` returns at each of its file-system calls, on a fresh copy
    of the pack each time, then run ``check``; the number of kill points."""
    probe = Path(shutil.copytree(blank, tmp_path / "probe"))
    points = kill_points(setup(probe), tmp_path)
    assert len(points) >= 2
    for name, n in points:
        pack = Path(shutil.copytree(blank, tmp_path / f"kill-{name}-{n}"))
        cmd = setup(pack)
        assert killed_at((name, n), cmd) != 0, f"the command was not killed at {name} {n}"
        check(pack)
    return len(points)


@pytest.mark.parametrize("first", [True, False], ids=["first submit", "later submit"])
def test_a_submit_killed_at_any_step_leaves_the_old_or_the_new_state(
        blank_pack: Path, tmp_path: Path, first: bool) -> None:
    """Killed at each rename/link/unlink of a submit (the pack's first or a later one),
    verify still passes, the scorecard is logged once or not at all, and submitting it
    again lands it exactly once."""
    base = Path(shutil.copytree(blank_pack, tmp_path / "base"))
    files = returns(base, tmp_path / "r", lambda c: 3)
    if not first:
        assert cli("submit", base, files[0]).exit_code == 0
    before = len(entries(base))

    def check(pack: Path) -> None:
        verified(pack)
        logged = [e for e in entries(pack) if e.get("stage") == STAGES[1]]
        assert len(entries(pack)) in (before, before + 1) and len(logged) <= 1
        again = cli("submit", pack, files[1])
        assert (again.exit_code == 0) is (not logged), again.output
        verified(pack)
        assert len([e for e in entries(pack) if e.get("stage") == STAGES[1]]) == 1
        assert cli("aggregate", pack, "--format", "json").exit_code == 0

    points = each_kill(tmp_path, lambda p: rubrics("submit", p, files[1]), check, base)
    assert points == 6  # two files linked in and their temporaries removed, log, head


def test_a_decision_killed_at_any_step_leaves_the_old_or_the_new_state(
        blank_pack: Path, tmp_path: Path) -> None:
    """Killed at each step of `rubrics decide`, verify passes and the decision is recorded
    once or not at all; deciding again then records it."""
    base = Path(shutil.copytree(blank_pack, tmp_path / "base"))
    assert cli("submit", base, *returns(base, tmp_path / "r", lambda c: 4)).exit_code == 0
    args = ("--decision", "hire", "--reason", "strong", "--by", "Panel")

    def check(pack: Path) -> None:
        verified(pack)
        decided = [e for e in entries(pack) if e.get("kind") == "decision"]
        assert len(decided) <= 1
        if not decided:
            assert cli("decide", pack, *args).exit_code == 0
        verified(pack)
        assert cli("aggregate", pack, "--format", "json").exit_code == 0

    each_kill(tmp_path, lambda p: rubrics("decide", p, *args), check, base)


@pytest.mark.parametrize("force", [False, True], ids=["new pack", "--force over a pack"])
def test_a_pack_killed_at_any_step_is_recovered_by_the_next_run(tmp_path: Path,
                                                                 force: bool) -> None:
    """Killed at each step of `rubrics pack` (with --force: between setting the old pack
    aside and putting the new one in place too), the target holds a whole pack or none,
    and the next run leaves one valid pack and no leftovers."""
    out = tmp_path / "packs"
    plain = rubrics("pack", ROLE_ID, "--candidate", "Ada", "--candidate-id", "ada", "--out",
                    out, "--format", "html")
    cmd = [*plain, "--force"] if force else plain

    def fresh() -> None:
        shutil.rmtree(out, ignore_errors=True)
        if force:
            subprocess.run(plain, env=ENV, check=True, capture_output=True)

    fresh()
    points = kill_points(cmd, tmp_path)
    assert len(points) >= 3
    for n in points:
        fresh()
        assert killed_at(n, cmd) != 0
        target = out / "ada"
        if target.exists():
            verified(target)
        elif force:
            raise AssertionError(f"killed at {n}: the old pack is gone")
        for leftover in out.iterdir():  # what a run that is over left behind
            os.utime(leftover, (time.time() - 3600, time.time() - 3600))
        done = subprocess.run([*plain, *(["--force"] if target.exists() else [])], env=ENV,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        verified(target)
        assert sorted(p.name for p in out.iterdir()) == ["ada"], n


def test_fourteen_submits_and_readers_at_once_see_no_false_alarm(blank_pack: Path,
                                                                tmp_path: Path) -> None:
    """Fourteen submits (two interviewers a stage) and six readers (verify, aggregate)
    started together: every submit lands, no reader reports a removed or missing entry, and
    the log is whole."""
    pack = Path(shutil.copytree(blank_pack, tmp_path / "race"))
    files = returns(pack, tmp_path / "a", lambda c: 3)
    others = []
    for f in returns(pack, tmp_path / "b", lambda c: 4):
        text = f.read_text(encoding="utf-8")
        name = text.split('interviewer: "')[1].split('"')[0]
        email = text.split("interviewer_email: ")[1].split("\n")[0]
        other = tmp_path / "b" / f"second-{f.name}"
        other.write_text(text.replace(name, f"{name} Second").replace(email, f"x.{email}"),
                         encoding="utf-8")
        others.append(other)
    go = tmp_path / "go"
    commands = [["submit", str(pack), str(f)] for f in [*files, *others]]
    commands += [["verify", str(pack)], ["aggregate", str(pack), "--format", "json"]] * 3
    outs = run_at_once(go, commands, timeout=300)
    submits = len(files) + len(others)
    assert submits == 14
    assert [rc for rc, _, _ in outs[:submits]] == [0] * submits, outs
    for rc, _, err in outs[submits:]:
        assert rc == 0 and "removed" not in err and "missing" not in err, err
    assert [e["seq"] for e in entries(pack)] == list(range(submits + 1))
    verified(pack)
