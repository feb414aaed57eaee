"""What a personal link may not do (red-team findings on issue 12): replace or learn of
another interviewer's scorecard, submit under another name, open the others with a blank
scorecard, amend after seeing the others, crash the server with odd bodies, hammer it
without limit, or leave its token in the access log. SQLite, TestClient."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from rubrics.server import db, interviewers, links
from rubrics.server.app import RedactLinks
from rubrics.server.security import RateLimiter
from rubrics.verify import load_record

from . import test_server_links as served
from .test_server_links import Server

built = served.built  # the fixtures of the links' tests
server = served.server

ALICE = ("Alice Ng", "alice@example.com")
BOB = ("Bob Park", "bob@example.com")


def _events(server: Server, action: str) -> list[db.AuditEventRow]:
    with Session(server.team.engine) as session:
        return list(session.scalars(select(db.AuditEventRow)
                                    .where(db.AuditEventRow.action == action)))


def _two(server: Server) -> tuple[str, str, str]:
    """Alice's and Bob's links for the first stage, and Alice's scorecard accepted."""
    stage = server.stages[0]
    alice = server.link(server.pack_a, stage, *ALICE)
    bob = server.link(server.pack_a, stage, *BOB)
    first = server.submit(alice, server.body(server.pack_a, stage, email=ALICE[1], name=ALICE[0]))
    assert first.status_code == 201
    return stage, alice, bob


def _same_as_alice(server: Server, stage: str, **change: Any) -> bytes:
    """Bob's scorecard: Alice's ratings and evidence (case and spacing changed), his name."""
    return server.body(server.pack_a, stage, email=BOB[1], name=BOB[0], **change)


def test_a_link_cannot_amend_another_interviewers_scorecard(server: Server) -> None:
    """Bob's amendment with Alice's ratings and evidence is refused; her 0001 still counts."""
    stage, _, bob = _two(server)
    body = _same_as_alice(server, stage, recommendation="strong_no")
    answer = server.submit(bob, body, "?amend=true&reason=fix")
    assert answer.status_code == 422
    assert answer.json() == {"problems": [{"field": None, "message": (
        f"there is no earlier submission of yours for stage '{stage}' to amend")}]}
    with server.team.store.reading(server.pack_a) as pack:
        record = load_record(pack)
    assert [(e.ref, e.interviewer) for e in record.effective] == [("0001", ALICE[0])]


def test_a_link_is_never_told_of_another_interviewers_submission(server: Server) -> None:
    """A guess of Alice's scorecard through Bob's link is not confirmed: it is Bob's own."""
    stage, _, bob = _two(server)
    answer = server.submit(bob, _same_as_alice(server, stage))
    assert answer.status_code == 201, answer.text
    assert ALICE[0] not in answer.text and "0001" not in answer.text
    assert answer.json()["interviewer"] == BOB[0]


def test_a_link_submits_only_under_its_own_name(server: Server) -> None:
    """Another name is 422 on interviewer; the link's name in other case and spacing is fine;
    the kit's name and email fields are read-only."""
    stage = server.stages[0]
    bob = server.link(server.pack_a, stage, *BOB)
    wrong = server.submit(bob, server.body(server.pack_a, stage, email=BOB[1], name="Alice Ng"))
    assert wrong.status_code == 422
    assert wrong.json() == {"problems": [{"field": "interviewer", "message":
                                          "this link is for Bob Park: submit under that name"}]}
    fine = server.submit(bob, server.body(server.pack_a, stage, email=BOB[1], name=" bob  PARK"))
    assert fine.status_code == 201
    page = server.client.get(f"/i/{bob}").text
    assert 'id="interviewer" name="interviewer"' in page
    assert 'value="Bob Park" readonly>' in page and 'value="bob@example.com" readonly>' in page


def test_a_blank_scorecard_does_not_open_the_others(server: Server) -> None:
    """A scorecard rating nothing counts as not returned, so /others stays closed."""
    stage, _, bob = _two(server)
    with server.team.store.reading(server.pack_a) as pack:
        criteria = next(s for s in pack.manifest["stages"] if s["id"] == stage)["criteria"]
    blank = server.body(server.pack_a, stage, email=BOB[1], name=BOB[0],
                        ratings=dict.fromkeys(criteria), evidence={}, notes="")
    assert server.submit(bob, blank).status_code == 201
    assert server.client.get(f"/i/{bob}/others").status_code == 403
    assert _events(server, "others.view") == []


def test_viewing_the_others_is_audited_and_ends_amending(server: Server) -> None:
    """/others writes others.view; an amendment through that link is then 409."""
    stage, _, bob = _two(server)
    assert server.submit(bob, server.body(server.pack_a, stage, email=BOB[1], name=BOB[0],
                                          notes="My own view.")).status_code == 201
    assert server.client.get(f"/i/{bob}/others").status_code == 200
    (seen,) = _events(server, "others.view")
    assert seen.actor.startswith("link:") and seen.detail["shown"] == ["0001"]
    again = server.submit(bob, server.body(server.pack_a, stage, email=BOB[1], name=BOB[0],
                                           notes="Changed my mind."), "?amend=true&reason=x")
    assert again.status_code == 409
    assert again.json() == {"detail": interviewers.AMEND_AFTER_OTHERS}


def test_an_accepted_submission_has_its_audit_event(server: Server) -> None:
    """The submission's audit event names its seq (written in the submission's transaction)."""
    stage, _, _ = _two(server)
    (event,) = _events(server, "submission")
    assert event.detail["seq"] == 1 and event.detail["stage"] == stage
    assert event.pack is not None


def test_writing_keeps_audit_events_only_with_the_write(server: Server) -> None:
    """Events given to writing() are committed with the block, and dropped when it fails."""
    failed = [db.AuditEventRow(actor="t", action="probe.fail", detail={})]
    with pytest.raises(RuntimeError), server.team.store.writing(server.pack_a, audit=failed):
        raise RuntimeError("stop")
    kept: list[db.AuditEventRow] = []
    with server.team.store.writing(server.pack_a, audit=kept):
        kept.append(db.AuditEventRow(actor="t", action="probe.ok", detail={}))
    assert _events(server, "probe.fail") == []
    (ok,) = _events(server, "probe.ok")
    assert ok.pack is not None


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_odd_bodies_are_422_naming_the_field_never_500(server: Server) -> None:
    """Deep nesting and lone surrogates in submissions and drafts are 422; drafts read back."""
    stage = server.stages[0]
    bob = server.link(server.pack_a, stage, *BOB)
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/api/submissions", "/api/drafts"):
        send = server.client.post if path == "/api/submissions" else server.client.put
        nested = send(path, content=deep, headers=_auth(bob))
        assert nested.status_code == 422
        assert nested.json()["problems"][0]["message"] == "nested too deeply"
    body = json.loads(server.body(server.pack_a, stage, email=BOB[1], name=BOB[0]))
    body["notes"] = "ok \ud800"
    lone = server.submit(bob, json.dumps(body).encode("ascii"))
    assert lone.status_code == 422
    assert lone.json() == {"problems": [{"field": "notes", "message":
                                         "contains a lone surrogate U+D800; remove it"}]}
    draft = server.client.put("/api/drafts", content='{"a": "\\ud800"}', headers=_auth(bob))
    assert draft.status_code == 422
    assert draft.json() == {"problems": [{"field": "draft.a", "message":
                                          "contains a lone surrogate U+D800; remove it"}]}
    latin = server.client.put("/api/drafts", content=b'{"a": "\xff"}', headers=_auth(bob))
    assert latin.status_code == 422
    link = links.link_for_token(server.team, bob)
    assert link is not None
    with Session(server.team.engine) as session, session.begin():  # one kept before the checks
        session.add(db.DraftRow(link=link.id, data='{"a": "\\ud800"}', saved_at=db.utcnow()))
    assert server.client.get("/api/drafts", headers=_auth(bob)).json() == {
        "data": None, "saved_at": None}


def test_bodies_over_the_limit_are_413_before_and_while_reading(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Content-Length over MAX_BODY is refused at once; a chunked body when it passes it."""
    monkeypatch.setattr(interviewers, "MAX_BODY", 100)
    bob = server.link(server.pack_a, server.stages[0], *BOB)
    declared = server.client.put("/api/drafts", content=b"{" + b" " * 200 + b"}",
                                 headers=_auth(bob))
    assert declared.status_code == 413
    assert declared.json() == {"detail": "a draft is at most 100 bytes"}

    def chunks() -> Any:
        yield b"{"
        for _ in range(20):
            yield b" " * 10
        yield b"}"

    streamed = server.client.post("/api/submissions", content=chunks(), headers=_auth(bob))
    assert streamed.status_code == 413
    assert streamed.json() == {"detail": "a submission is at most 100 bytes"}


def test_read_body_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """read_body reads nothing past a Content-Length over the limit, and stops a stream at it."""
    monkeypatch.setattr(interviewers, "MAX_BODY", 100)
    received: list[int] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": b"x" * 30, "more_body": len(received) < 1000}

    def request(length: str | None) -> Request:
        headers = [(b"content-length", length.encode())] if length else []
        return Request({"type": "http", "method": "POST", "path": "/api/drafts",
                        "headers": headers}, receive)

    for length, reads in (("5000", 0), (None, 4)):
        received.clear()
        with pytest.raises(HTTPException) as refused:
            asyncio.run(interviewers.read_body(request(length), "a draft"))
        assert refused.value.status_code == 413 and len(received) == reads


def test_link_routes_are_rate_limited_per_link_and_per_address(server: Server) -> None:
    """Past the limit a link's routes are 429 with Retry-After; unknown tokens count per address."""
    app: Any = server.client.app
    app.state.link_limiter = RateLimiter(limit=3, seconds=60)
    bob = server.link(server.pack_a, server.stages[0], *BOB)
    alice = server.link(server.pack_a, server.stages[0], *ALICE)
    answers = [server.client.get(f"/i/{bob}"),
               server.client.get("/api/link", headers=_auth(bob)),
               server.client.get("/api/drafts", headers=_auth(bob)),
               server.client.put("/api/drafts", content="{}", headers=_auth(bob))]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert server.client.get(f"/i/{alice}").status_code == 200  # another link: its own count
    unknown = [server.client.get(f"/i/not-a-token-{n}").status_code for n in range(4)]
    assert unknown == [401, 401, 401, 429]


def test_the_access_log_never_shows_a_link_token(server: Server) -> None:
    """create_app puts a filter on uvicorn.access that writes /i/… in place of a token."""
    logger = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, RedactLinks) for f in logger.filters)
    record = logger.makeRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/i/SeCrEt-tok_en/others?x=1", "1.1", 200),
                               None)
    for found in logger.filters:
        assert not isinstance(found, logging.Filter) or found.filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /i/…/others?x=1 HTTP/1.1" 200'
