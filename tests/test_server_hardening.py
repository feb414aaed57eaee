"""rubrics serve under the red team's findings: SQLite under concurrency, input that cannot
be echoed, blank scorecards, CSV uploads, proxies, disabled users and ended sessions."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rubrics.server import accounts, service
from tests.test_server_api import PANEL, RECRUITER, Server


@pytest.fixture
def fresh(tmp_path: Path) -> Server:
    return Server(tmp_path)


def test_token_checks_audits_and_status_run_side_by_side_on_sqlite(fresh: Server) -> None:
    """Threads checking API tokens (which write their last use), auditing and reading a
    pack's status at once on one SQLite file all succeed: no "database is locked"."""
    with fresh.client() as client:
        pack_id = fresh.new_pack(client)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                assert accounts.user_for_token(fresh.engine, fresh.tokens[RECRUITER]) is not None
                accounts.audit(fresh.engine, PANEL, "test.event", pack_id, n=n, i=i)
                assert service.status(fresh.team, pack_id)["pack_id"] == pack_id
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
