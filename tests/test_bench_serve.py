"""The load and fault benchmark of rubrics serve (benchmarks/bench_serve.py) in its quick
mode: two real `rubrics serve` processes on the session's PostgreSQL cluster, interviewers
submitting at once, one process killed with SIGKILL mid-batch (issue 12)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.conftest import ROOT
from tests.pg import Cluster


def bench() -> ModuleType:
    """The benchmark script as a module (benchmarks/ is not a package)."""
    if "bench_serve" in sys.modules:
        return sys.modules["bench_serve"]
    spec = importlib.util.spec_from_file_location("bench_serve", ROOT / "benchmarks" / "bench_serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_serve"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_two_servers_log_every_submission_once_through_a_sigkill(pg_cluster: Cluster,
                                                                  tmp_path: Path) -> None:
    """Six interviewers one by one, twelve at once over two server processes, then twelve more while one process is SIGKILLed: each scorecard is logged exactly once, retries answer 200 with the same entry, and every exported pack verifies."""
    module = bench()
    figures = module.run(module.Config(interviewers=12, kill_interviewers=12, sequential=6,
                                       work=tmp_path),
                         pg_cluster)
    assert figures.problems == []
    assert figures.round1["count"] == 12
    assert figures.round2["count"] == 12
    assert figures.round2["retried"] >= 1  # the kill caught requests in flight
    assert figures.round2["verified"] == 5  # one pack for round 0, two a round after
