"""rubrics serve under the red team's findings: SQLite under concurrency, input that cannot
be echoed, blank scorecards, CSV uploads, proxies, disabled users and ended sessions."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from rubrics.cli import app as cli_app
from rubrics.samples import fill_yaml, sample_email
from rubrics.server import accounts, db, service
from tests.conftest import ROLE_ID
from tests.test_debrief import PEOPLE, STAGES
from tests.test_server_api import PANEL, PASSWORD, RECRUITER, Server, csrf_of, signed_in


@pytest.fixture
def fresh(tmp_path: Path) -> Server:
    return Server(tmp_path)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Server:
    return Server(tmp_path_factory.mktemp("shared"))


@pytest.fixture(scope="module")
def returned(shared: Server) -> str:
    """A pack with every stage returned."""
    with shared.client() as client:
        made = shared.new_pack(client)
    shared.submit_all(made)
    return made


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


SURROGATE = "\\ud800"  # as a JSON body spells it


@pytest.mark.parametrize(("route", "who", "body", "field"), [
    ("/api/packs", RECRUITER, {"role": "S", "candidate": "A"}, "role"),
    ("/api/packs", RECRUITER, {"role": ROLE_ID, "candidate": "A S"}, "candidate"),
    ("/api/packs", RECRUITER, {"role": ROLE_ID, "candidate": "A", "candidate_id": "S"},
     "candidate_id"),
    ("/api/packs/{pack}/interviewers", RECRUITER,
     {"stage": "S", "name": "A", "email": "a@example.com"}, "stage"),
    ("/api/packs/{pack}/decision", PANEL, {"decision": "S", "reason": "r", "by": "b"},
     "decision"),
    ("/api/packs/{pack}/decision", PANEL, {"decision": "hire", "reason": "r S", "by": "b"},
     "reason"),
    ("/api/packs/{pack}/decision", PANEL,
     {"decision": "hire", "reason": "r", "by": "b", "resolve": ["S=y"]}, "resolve"),
])
def test_a_lone_surrogate_in_a_body_is_a_422_never_a_500(
        shared: Server, returned: str, route: str, who: str, body: dict[str, Any],
        field: str) -> None:
    """A lone surrogate in any field of the API's bodies is answered 422 naming the field
    (quoted input shown with U+FFFD), never a 500; nothing is recorded."""
    fresh, pack_id = shared, returned
    with fresh.client() as client:
        raw = json.dumps(body).replace("S", SURROGATE)
        answer = client.post(route.format(pack=pack_id), content=raw.encode(),
                             headers={**fresh.auth(who), "content-type": "application/json"})
        assert answer.status_code == 422, answer.text
        assert field in {p["field"] for p in answer.json()["problems"]}
        assert fresh.team.store.pack_ids() == [pack_id]
        assert not client.get(f"/api/packs/{pack_id}", headers=fresh.auth(PANEL)).json()[
            "decided"]


def test_a_blank_scorecard_leaves_its_stage_missing_in_status_and_pipeline(
        shared: Server) -> None:
    """A scorecard that rates none of its stage's criteria is listed as the stage's blank
    one, the stage stays missing, and its interviewer is still shown as awaited."""
    with shared.client() as client:
        pack_id = shared.new_pack(client, "Blanche Blank", "blank-1")
        stage = STAGES[0]
        made = client.post(f"/api/packs/{pack_id}/interviewers", headers=shared.auth(RECRUITER),
                           json={"stage": stage, "name": PEOPLE[0],
                                 "email": sample_email(PEOPLE[0])})
        assert made.status_code == 201, made.text
        with shared.team.store.reading(pack_id) as pack:
            blank = (pack.path / "scorecards" / f"{stage}.yaml").read_text(encoding="utf-8")
        filled = fill_yaml(blank, {"interviewer": PEOPLE[0],
                                   "interviewer_email": sample_email(PEOPLE[0]),
                                   "interviewed_on": "2026-11-20", "notes": "", "ratings": {}, "evidence": {},
                                   "recommendation": "yes"})
        got = service.submit_scorecard(shared.team, pack_id, filled.encode())
        assert "rates none of the stage's criteria" in " ".join(got.notes)
        status = client.get(f"/api/packs/{pack_id}", headers=shared.auth(PANEL)).json()
        first = status["stages"][0]
        assert (first["id"], first["returned"]) == (stage, [])
        assert [(b["submission"], b["interviewer"]) for b in first["blank"]] == [
            (got.entry.ref, PEOPLE[0])]
        assert stage in status["missing"]
        (link,) = status["interviewers"]
        assert link["returned"] is False and link["missing_seconds"] is not None
        signed_in(client, RECRUITER)
        pipeline = client.get("/pipeline").text
        assert f"{PEOPLE[0]} (" in pipeline.split("Blanche Blank", 1)[1].split("</tr>", 1)[0]
        assert "blank, rates nothing" in client.get(f"/packs/{pack_id}").text


def test_a_second_pack_for_a_candidate_id_is_a_conflict_naming_the_id(shared: Server) -> None:
    """POST /api/packs for a candidate id that has a pack is 409 naming the id, not a
    folder on the server's disk."""
    with shared.client() as client:
        shared.new_pack(client, "Xavier One", "x1")
        again = client.post("/api/packs", headers=shared.auth(RECRUITER), json={
            "role": ROLE_ID, "candidate": "Xavier Again", "candidate_id": "x1",
            "formats": ["html"]})
        assert again.status_code == 409
        assert again.json() == {"detail": "a pack for candidate id 'x1' already exists"}


def test_a_csv_upload_checks_every_row_against_the_database_before_making_any(
        shared: Server) -> None:
    """A CSV whose second row's candidate id already has a pack makes no pack at all, and
    says so on that row's line, without a server path."""
    with shared.client() as client:
        shared.new_pack(client, "Existing Person", "dup-1")
        token = signed_in(client, RECRUITER)
        before = shared.team.store.pack_ids()
        answer = client.post("/packs/upload", data={"csrf": token, "role": ROLE_ID}, files={
            "candidates": ("c.csv", b"name,id\nNew Person,new-1\nExisting Again,dup-1\n"
                                    b"Twin A,tw\nTwin B,tw\n")})
        assert answer.status_code == 422
        assert "candidates line 3: a pack for candidate id &#39;dup-1&#39; already exists" \
            in answer.text
        assert "candidates line 5: the same candidate as line 4" in answer.text
        assert "/tmp" not in answer.text and "rubrics-new-pack" not in answer.text
        assert shared.team.store.pack_ids() == before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _failed_sign_in_ip(url: str, *args: str) -> str:
    """Run `rubrics serve` with ``args``, fail a sign-in through it with an
    X-Forwarded-For header, and return the address the audit log kept."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "FORWARDED_ALLOW_IPS"}
    proc = subprocess.Popen([sys.executable, "-c", "from rubrics.cli import app; app()",
                             "serve", "--database-url", url, "--port", str(port), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(200):
                try:
                    client.get("/api/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/sign-in").text)
            assert token is not None
            answer = client.post("/sign-in", headers={"X-Forwarded-For": "203.0.113.7"},
                                 data={"csrf": token.group(1), "email": RECRUITER,
                                       "password": "not the password"})
            assert answer.status_code == 401
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    engine = db.connect(url)
    try:
        with Session(engine) as session:
            row = session.scalars(select(db.AuditEventRow).where(
                db.AuditEventRow.action == "sign-in.failed").order_by(
                db.AuditEventRow.id.desc())).first()
            assert row is not None
            ip: str = row.detail["ip"]
            return ip
    finally:
        engine.dispose()


def test_serve_believes_forwarded_headers_only_from_the_proxies_given(fresh: Server) -> None:
    """By default a proxy on this machine is believed; with --forwarded-allow-ips naming
    another proxy, a request from this machine is taken as its own address."""
    assert _failed_sign_in_ip(fresh.url) == "203.0.113.7"
    assert _failed_sign_in_ip(fresh.url, "--forwarded-allow-ips", "10.9.9.9") == "127.0.0.1"


def test_a_session_cookie_copied_before_sign_out_no_longer_works(fresh: Server) -> None:
    """Signing out ends the session for real: the cookie as it was before sign-out, sent
    again, is sent to sign in; signing in again then works."""
    with fresh.client() as browser:
        token = signed_in(browser, RECRUITER)
        captured = browser.cookies["rubrics_session"]
        out = browser.post("/sign-out", data={"csrf": token}, follow_redirects=False)
        assert (out.status_code, out.headers["location"]) == (303, "/sign-in")
    with fresh.client() as thief:
        thief.cookies.set("rubrics_session", captured)
        answer = thief.get("/pipeline", follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in")
    with fresh.client() as browser:
        signed_in(browser, RECRUITER)
        assert browser.get("/pipeline", follow_redirects=False).status_code == 200


def users(*args: str) -> Result:
    return CliRunner().invoke(cli_app, ["users", *args])


def test_users_disable_revokes_tokens_and_ends_sessions_and_list_shows_it(
        fresh: Server) -> None:
    """`rubrics users disable` stops the user's API token, their open session and their
    sign-in; `rubrics users list` shows each user's role, state and usable tokens."""
    url = ["--database-url", fresh.url]
    with fresh.client() as browser:
        signed_in(browser, PANEL)
        assert browser.get("/api/me", headers=fresh.auth(PANEL)).status_code == 200
        listed = users("list", *url)
        assert listed.exit_code == 0, listed.output
        assert listed.stdout.splitlines() == [
            "EMAIL             ROLE       DISABLED  TOKENS",
            "paul@example.com  panel      no        1",
            "rita@example.com  recruiter  no        1"]
        done = users("disable", PANEL, *url)
        assert (done.exit_code, done.stdout) == (
            0, "disabled paul@example.com: 1 API token revoked, its sessions ended\n")
        assert browser.get("/api/me", headers=fresh.auth(PANEL)).status_code == 401
        answer = browser.get("/pipeline", follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in")
    with fresh.client() as browser:
        token = csrf_of(browser.get("/sign-in").text)
        refused = browser.post("/sign-in", data={"csrf": token, "email": PANEL,
                                                 "password": PASSWORD})
        assert refused.status_code == 401
    assert users("list", *url).stdout.splitlines()[1] == "paul@example.com  panel      yes       0"
    again = users("disable", PANEL, *url)
    assert again.exit_code != 0 and "is disabled already" in again.output
    assert users("token", PANEL, *url).exit_code != 0
    assert "no user nobody@example.com" in users("disable", "nobody@example.com", *url).output


def test_users_token_revoke_all_stops_every_token_of_the_user(fresh: Server) -> None:
    """`rubrics users token EMAIL --revoke-all` revokes every token (401 after), and a new
    token can be made afterwards."""
    url = ["--database-url", fresh.url]
    second = accounts.new_token(fresh.engine, RECRUITER)
    with fresh.client() as client:
        revoked = users("token", RECRUITER, "--revoke-all", *url)
        assert (revoked.exit_code, revoked.stdout) == (
            0, "revoked 2 API tokens of rita@example.com\n")
        for token in (fresh.tokens[RECRUITER], second):
            answer = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401
        made = users("token", RECRUITER, *url)
        assert made.exit_code == 0
        new = made.stdout.strip()
        assert client.get("/api/me", headers={"Authorization": f"Bearer {new}"}).json() == {
            "email": RECRUITER, "role": "recruiter"}
