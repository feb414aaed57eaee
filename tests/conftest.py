from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

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
