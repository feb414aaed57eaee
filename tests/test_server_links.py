"""Interviewer links of rubrics serve (issue 12): the token kept as a hash only, a link bound
to its pack and stage, revocation and expiry, submissions and drafts over HTTP, escaping,
and no peeking at other interviewers' scorecards before one's own (SQLite, TestClient)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from rubrics.cli import app as cli_app
from rubrics.packs import Candidate
from rubrics.samples import html_export, sample_answers
from rubrics.server import db, links
from rubrics.server.app import create_app
from rubrics.server.service import Team, create_pack
from rubrics.workspace import Workspace

from .conftest import ROLE_ID

MARKER = "zq-marker-7731-evidence"
SCRIPT = "<script>alert(1)</script>"


@dataclass
class Built:
    folder: Path
    pack_a: str
    pack_b: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Two packs of the bundled role in a migrated SQLite database, made once."""
    folder = tmp_path_factory.mktemp("links")
    url = f"sqlite:///{folder / 'team.sqlite3'}"
    db.upgrade(url)
    engine = db.connect(url)
    team = Team.open(engine, Workspace.open(None), folder / "mirrors")
    pack_a = create_pack(team, ROLE_ID, Candidate("Ada Lovelace"), formats=("html",))
    pack_b = create_pack(team, ROLE_ID, Candidate("Grace Hopper"), formats=("html",))
    with engine.connect() as conn:  # outside any transaction: on the driver's connection
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    engine.dispose()
    return Built(folder, pack_a, pack_b)


@dataclass
class Server:
    client: TestClient
    team: Team
    url: str
    pack_a: str
    pack_b: str
    stages: list[str]

    def link(self, pack_id: str, stage: str, name: str = "Mei Chen",
             email: str = "mei.chen@example.com") -> str:
        token, _ = links.create_link(self.team, pack_id, stage, name, email, "ana@example.com")
        return token

    def body(self, pack_id: str, stage: str, email: str = "mei.chen@example.com",
             name: str = "Mei Chen", **change: Any) -> bytes:
        with self.team.store.reading(pack_id) as pack:
            manifest = pack.manifest
        stage_fields = next(s for s in manifest["stages"] if s["id"] == stage)
        answers = {**sample_answers(stage_fields, 0, 7), "interviewer": name,
                   "interviewer_email": email, **change}
        return html_export(manifest, stage, answers).encode("utf-8")

    def submit(self, token: str, body: bytes, query: str = "") -> Any:
        return self.client.post(f"/api/submissions{query}", content=body,
                                headers={"Authorization": f"Bearer {token}"})

    def every_route(self, token: str) -> list[Any]:
        """Every interviewer route, as the token's holder can call it."""
        auth = {"Authorization": f"Bearer {token}"}
        return [self.client.get(f"/i/{token}"), self.client.get(f"/i/{token}/others"),
                self.client.get("/api/link", headers=auth),
                self.client.get("/api/drafts", headers=auth)]


@pytest.fixture
def server(built: Built, tmp_path: Path) -> Iterator[Server]:
    """A server on a fresh copy of the module's database."""
    shutil.copy(built.folder / "team.sqlite3", tmp_path / "team.sqlite3")
    url = f"sqlite:///{tmp_path / 'team.sqlite3'}"
    application = create_app(url, None, mirrors=tmp_path / "mirrors")
    team: Team = application.state.team
    with team.store.reading(built.pack_a) as pack:
        stages = [s.id for s in pack.loop.role.stages]
    with TestClient(application) as client:
        yield Server(client, team, url, built.pack_a, built.pack_b, stages)
    team.engine.dispose()


def _entries(server: Server) -> int:
    with Session(server.team.engine) as session:
        return len(session.scalars(select(db.LogEntryRow)).all())


def _set_show_others(server: Server, value: str) -> None:
    links.set_setting(server.team.engine, links.SHOW_OTHERS, value, "test")


def test_a_link_token_is_stored_only_as_its_hash(server: Server) -> None:
    """The database keeps the token's SHA-256 and never the token; the audit log has no token."""
    token = server.link(server.pack_a, server.stages[0])
    with Session(server.team.engine) as session:
        (row,) = session.scalars(select(db.InterviewerLinkRow)).all()
        events = session.scalars(select(db.AuditEventRow)).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43
    dump = (Path(server.url.removeprefix("sqlite:///"))).read_bytes()
    assert token.encode() not in dump
    assert [e.action for e in events] == ["link.create"]
    assert token not in json.dumps(events[0].detail)


def test_link_creation_names_every_wrong_field(server: Server) -> None:
    """A stage outside the pack's loop, a blank name and a bad email are each one problem."""
    with pytest.raises(links.InvalidInput) as refused:
        links.create_link(server.team, server.pack_a, "nope", " ", "mei@", "ana@example.com")
    assert [(p.path, p.message) for p in refused.value.problems] == [
        ("email", "not an email address: 'mei@' (e.g. mei.chen@example.com)"),
        ("name", "the interviewer's name is required"),
        ("stage", f"no stage 'nope' in this pack's loop (its stages: "
                  f"{', '.join(server.stages)})"),
    ]


def test_a_link_cannot_submit_to_another_pack_or_stage(server: Server) -> None:
    """A token for pack A, stage X is refused (403) for pack B or stage Y; nothing is logged."""
    x, y = server.stages[:2]
    token = server.link(server.pack_a, x)
    before = _entries(server)
    assert server.submit(token, server.body(server.pack_b, x)).status_code == 403
    other_stage = server.submit(token, server.body(server.pack_a, y))
    assert other_stage.status_code == 403
    assert other_stage.json() == {
        "detail": "this link is for another candidate's or stage's scorecard"}
    assert _entries(server) == before


def test_an_accepted_submission_is_201_and_its_retry_200_with_the_same_entry(
        server: Server) -> None:
    """The first post is logged (201); the same bytes again answer 200 with that entry."""
    stage = server.stages[0]
    token = server.link(server.pack_a, stage)
    body = server.body(server.pack_a, stage)
    before = _entries(server)
    first = server.submit(token, body)
    assert first.status_code == 201, first.text
    assert first.json()["submission"] == "0001" and first.json()["stage"] == stage
    again = server.submit(token, body)
    assert again.status_code == 200
    assert {k: again.json()[k] for k in ("submission", "seq", "stage")} == {
        "submission": "0001", "seq": 1, "stage": stage}
    assert again.json()["again"] is True
    assert _entries(server) == before + 1
    with Session(server.team.engine) as session:
        actions = [e.action for e in session.scalars(select(db.AuditEventRow))]
    assert actions == ["link.create", "submission"]


def test_an_amendment_needs_a_reason_and_replaces_the_first(server: Server) -> None:
    """A second scorecard for the stage is refused without amend, accepted with a reason."""
    stage = server.stages[0]
    token = server.link(server.pack_a, stage)
    assert server.submit(token, server.body(server.pack_a, stage)).status_code == 201
    changed = server.body(server.pack_a, stage, notes="Second thoughts after the debrief.")
    plain = server.submit(token, changed)
    assert plain.status_code == 422
    assert plain.json()["problems"] == [{"field": None, "message": (
        f"you already submitted a scorecard for stage '{stage}' (0001); to replace it, "
            "amend it with a reason")}]
    no_reason = server.submit(token, changed, "?amend=true")
    assert no_reason.json() == {"problems": [{"field": "reason",
                                              "message": "--amend needs --reason saying why"}]}
    amended = server.submit(token, changed, "?amend=true&reason=typo")
    assert amended.status_code == 201
    assert amended.json()["amends"] == 1


def test_a_refused_submission_has_one_problem_per_field(server: Server) -> None:
    """422 lists each wrong field with its exact message, as rubrics submit words it."""
    stage = server.stages[0]
    token = server.link(server.pack_a, stage)
    body = json.loads(server.body(server.pack_a, stage))
    first = next(iter(body["ratings"]))
    body["ratings"][first] = 7
    body["recommendation"] = "maybe"
    body["interviewed_on"] = "03/04/2026"
    answer = server.submit(token, json.dumps(body).encode())
    assert answer.status_code == 422
    assert answer.json() == {"problems": [
        {"field": "interviewed_on", "message": "03/04/2026 could be 3 April or 4 March: "
                                               "write the date as YYYY-MM-DD, e.g. 2026-11-20"},
        {"field": f"ratings.{first}", "message": "must be 1, 2, 3 or 4 (no or contrary "
                                                 "evidence, partial, demonstrated, strong), "
                                                 "or null if not assessed (got 7)"},
        {"field": "recommendation", "message": "must be one of strong_no, no, yes, "
                                               "strong_yes (got 'maybe')"},
    ]}


def test_a_submission_under_another_email_is_refused(server: Server) -> None:
    """A personal link submits only its own interviewer's scorecard."""
    stage = server.stages[0]
    token = server.link(server.pack_a, stage)
    answer = server.submit(token, server.body(server.pack_a, stage, email="bo@example.com"))
    assert answer.status_code == 422
    assert answer.json() == {"problems": [{
        "field": "interviewer_email",
        "message": "this link is for mei.chen@example.com: submit with that email"}]}


def test_revoked_and_expired_links_are_refused(server: Server) -> None:
    """Every route answers 401 to a revoked or expired link, and to none or an unknown one."""
    stage = server.stages[0]
    revoked = server.link(server.pack_a, stage)
    link_id = links.link_for_token(server.team, revoked).id  # type: ignore[union-attr]
    links.revoke_link(server.team, link_id, "ana@example.com")
    expired = server.link(server.pack_a, stage, "Bo Li", "bo@example.com")
    with Session(server.team.engine) as session, session.begin():
        session.execute(update(db.InterviewerLinkRow)
                        .where(db.InterviewerLinkRow.email == "bo@example.com")
                        .values(expires_at=db.utcnow() - timedelta(seconds=1)))
    for token in (revoked, expired, "not-a-token"):
        assert [r.status_code for r in server.every_route(token)] == [401] * 4
        assert server.submit(token, server.body(server.pack_a, stage)).status_code == 401
    assert server.client.post("/api/submissions", content=b"{}").status_code == 401


def test_drafts_are_kept_per_link_on_the_server(server: Server) -> None:
    """A draft PUT through one link comes back through it, and not through another."""
    stage = server.stages[0]
    mine = server.link(server.pack_a, stage)
    theirs = server.link(server.pack_a, server.stages[1], "Bo Li", "bo@example.com")
    put = server.client.put("/api/drafts", content=json.dumps({"notes": MARKER}),
                            headers={"Authorization": f"Bearer {mine}"})
    assert put.status_code == 200
    got = server.client.get("/api/drafts", headers={"Authorization": f"Bearer {mine}"}).json()
    assert got["data"] == {"notes": MARKER}
    other = server.client.get("/api/drafts", headers={"Authorization": f"Bearer {theirs}"})
    assert other.json() == {"data": None, "saved_at": None}
    bad = server.client.put("/api/drafts", content="[1]",
                            headers={"Authorization": f"Bearer {mine}"})
    assert bad.status_code == 422
    assert bad.json() == {"problems": [{"field": "draft", "message": "must be a JSON object"}]}


def test_no_route_shows_another_interviewers_scorecard_before_ones_own(server: Server) -> None:
    """With another scorecard (and draft) holding a marker, no route of a link that has not
    submitted returns it, whatever show_others says (except always, on /others)."""
    first, second = server.stages[:2]
    bo = server.link(server.pack_a, first, "Bo Li", "bo@example.com")
    body = server.body(server.pack_a, first, email="bo@example.com", name="Bo Li",
                       notes=f"notes {MARKER}")
    assert server.submit(bo, body).status_code == 201
    server.client.put("/api/drafts", content=json.dumps({"notes": MARKER}),
                      headers={"Authorization": f"Bearer {bo}"})
    mei = server.link(server.pack_a, second)
    for setting in ("never", "after_own"):
        _set_show_others(server, setting)
        answers = server.every_route(mei)
        assert [r.status_code for r in answers] == [200, 403, 200, 200]
        for answer in answers:
            assert MARKER not in answer.text
            assert "Bo Li" not in answer.text


def test_show_others_decides_who_sees_the_other_scorecards(server: Server) -> None:
    """never: 403 even after one's own; after_own: only after; always: at once; the page
    (from the template stack) has no account navigation and allows no script or style."""
    first, second = server.stages[:2]
    bo = server.link(server.pack_a, first, "Bo Li", "bo@example.com")
    assert server.submit(bo, server.body(server.pack_a, first, email="bo@example.com",
                                         name="Bo Li", notes=MARKER)).status_code == 201
    mei = server.link(server.pack_a, second)
    _set_show_others(server, "always")
    assert MARKER in server.client.get(f"/i/{mei}/others").text
    _set_show_others(server, "after_own")
    assert server.client.get(f"/i/{mei}/others").status_code == 403
    assert server.submit(mei, server.body(server.pack_a, second)).status_code == 201
    seen = server.client.get(f"/i/{mei}/others")
    assert seen.status_code == 200 and MARKER in seen.text
    assert "<h1>Other interviewers' scorecards</h1>" in seen.text
    assert "Sign out" not in seen.text and 'href="/pipeline"' not in seen.text
    assert seen.headers["content-security-policy"] == \
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    assert seen.headers["referrer-policy"] == "no-referrer"
    assert seen.headers["cache-control"] == "no-store"
    _set_show_others(server, "never")
    refused = server.client.get(f"/i/{mei}/others")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "this team does not show interviewers each other&#39;s scorecards" in refused.text


def test_script_in_text_fields_is_escaped_in_every_page(server: Server) -> None:
    """A script in notes, evidence or a link's name is shown as text on every page."""
    first, second = server.stages[:2]
    bo = server.link(server.pack_a, first, "Bo Li", "bo@example.com")
    with server.team.store.reading(server.pack_a) as pack:
        criterion = next(s for s in pack.manifest["stages"] if s["id"] == first)["criteria"][0]
    body = server.body(server.pack_a, first, email="bo@example.com", name="Bo Li",
                       notes=SCRIPT, evidence={criterion: SCRIPT})
    assert server.submit(bo, body).status_code == 201
    mei = server.link(server.pack_a, second, name=f"Mei {SCRIPT}")
    _set_show_others(server, "always")
    pages = [server.client.get(f"/i/{mei}"), server.client.get(f"/i/{mei}/others"),
             server.client.get(f"/i/{bo}")]
    assert [p.status_code for p in pages] == [200, 200, 200]
    for page in pages:
        assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1].text


def test_the_kit_page_keeps_the_strict_csp_and_sends_no_referrer(server: Server) -> None:
    """The scorecard page pins its one script by hash, may fetch only its own origin, and
    tells the browser to send no Referer (the token is in the URL)."""
    token = server.link(server.pack_a, server.stages[0])
    page = server.client.get(f"/i/{token}")
    csp = page.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'; img-src data:; base-uri 'none'; "
                          "form-action 'none'; style-src 'sha256-")
    assert "script-src 'sha256-" in csp and "connect-src 'self'" in csp
    assert csp.endswith("frame-ancestors 'none'")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert 'value="mei.chen@example.com" readonly' in page.text
    assert "Submit scorecard" in page.text and 'id="open"' not in page.text


def test_every_link_answer_is_not_stored_and_carries_the_app_wide_headers(
        server: Server) -> None:
    """Every answer to a link's routes (JSON, refusals too) says no-store, no-referrer,
    nosniff and the pages' policy, or a page's own stricter one."""
    first = server.stages[0]
    token = server.link(server.pack_a, first)
    auth = {"Authorization": f"Bearer {token}"}
    answers = [*server.every_route(token),
               server.client.put("/api/drafts", content="{}", headers=auth),
               server.submit(token, b"not json"),
               server.submit(token, server.body(server.pack_a, first)),
               server.client.get("/api/link", headers={"Authorization": "Bearer nope"})]
    assert [a.status_code for a in answers] == [200, 403, 200, 200, 200, 422, 201, 401]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-security-policy"].startswith("default-src 'none'; ")
        assert answer.headers["content-security-policy"].endswith("frame-ancestors 'none'")


def test_db_setting_prints_and_sets_show_others(server: Server) -> None:
    """`rubrics db setting show_others` prints the default; a value sets it for every process."""
    runner = CliRunner()
    env = {"RUBRICS_WORKSPACE": None, "RUBRICS_DATABASE_URL": None}
    shown = runner.invoke(cli_app, ["db", "setting", "show_others", "--database-url",
                                    server.url], env=env)
    assert shown.stdout == "show_others = after_own\n"
    changed = runner.invoke(cli_app, ["db", "setting", "show_others", "never",
                                      "--database-url", server.url], env=env)
    assert changed.stdout == "show_others = never\n"
    assert links.get_setting(server.team.engine, links.SHOW_OTHERS) == "never"
    wrong = runner.invoke(cli_app, ["db", "setting", "show_others", "sometimes",
                                    "--database-url", server.url], env=env)
    assert wrong.exit_code == 1
    assert "show_others: must be never, after_own or always (got 'sometimes')" in wrong.stderr
