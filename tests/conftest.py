from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

if TYPE_CHECKING:
    from tests.pg import Cluster

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = ROOT / "frameworks" / "backend.md"
ROLE_ID = "senior-backend-money-movement"
ROLE_FILE = ROOT / "roles" / f"{ROLE_ID}.yaml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A throwaway copy of the bundled workspace."""
    import shutil

    ws = tmp_path / "ws"
    for sub in ("frameworks", "roles", "templates"):
        if (ROOT / sub).is_dir():
            shutil.copytree(ROOT / sub, ws / sub)
    return ws


def rel(path: Path) -> str:
    """A path as rubrics prints it (relative to the current folder when inside it)."""
    from rubrics.errors import display_path

    return display_path(path)


def make_pack(out: Path, candidate: str, formats: str, *extra: str) -> Path:
    """Run `rubrics pack` for the bundled role into ``out``; return the pack folder."""
    from rubrics.cli import app

    result = CliRunner().invoke(app, ["pack", ROLE_ID, "--candidate", candidate, "--out",
                                      str(out), "--format", formats, *extra])
    assert result.exit_code == 0, result.output
    (folder,) = [m.parent for m in out.glob("*/manifest.json")]
    return folder


def pytest_configure(config: pytest.Config) -> None:
    """No test reads or fills the user's cache of PDF renders (a test that needs one sets
    RUBRICS_CACHE_DIR to a folder of its own); processes the tests start inherit this."""
    import os

    os.environ["RUBRICS_CACHE_DIR"] = ""


# Runs `python -m rubrics ARGS...` once the go file appears: imports are warmed first, so
# that the processes reach the pack at the same moment instead of whenever each loaded.
STARTER = """
import runpy, sys, time
from pathlib import Path
import rubrics.cli, rubrics.submit, rubrics.submissions, rubrics.recommend
print("ready", flush=True)
go, deadline = Path(sys.argv[1]), time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.0005)
sys.argv = ["rubrics", *sys.argv[2:]]
runpy.run_module("rubrics", run_name="__main__", alter_sys=True)
"""


def run_at_once(go: Path, commands: list[list[str]], timeout: float
                ) -> list[tuple[int, str, str]]:
    """Start one `rubrics` process per command, let them all go at the same moment, and
    return each one's (exit code, stdout, stderr); none is left running."""
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", STARTER, str(go), *c],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline() == "ready\n"
        go.touch()
        return [(p.wait(timeout=timeout), *p.communicate()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the whole session (tests/pg.py); without
    PostgreSQL installed the tests that need it fail, saying to run scripts/setup."""
    from tests.pg import SETUP, Cluster, binaries

    if binaries() is None:
        pytest.fail(SETUP, pytrace=False)
    cluster = Cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest migration: a SQLite file, or a new database on the
    session's PostgreSQL cluster."""
    from rubrics.server import db

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'team.sqlite3'}"
        db.upgrade(url)
        yield url
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database()
    url = cluster.url(name)
    try:
        db.upgrade(url)
        yield url
    finally:
        cluster.drop_database(name)
