"""rubrics serve for recruiters and panel members on SQLite: the JSON API with API tokens,
and the pages with sign-in sessions, CSRF and rate limits (issue 12)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from rubrics.cli import app as cli_app
from rubrics.errors import InvalidInput
from rubrics.packs import Candidate
from rubrics.samples import fill_yaml, sample_email
from rubrics.server import accounts, db, service
from rubrics.server.app import create_app
from rubrics.server.store import export_pack
from tests.conftest import ROLE_ID
from tests.test_debrief import PEOPLE, STAGES

PASSWORD = "correct horse battery"
RECRUITER, PANEL = "rita@example.com", "paul@example.com"
HOSTILE = "<script>alert(1)</script> Ann"


class Server:
    """One application on a fresh migrated SQLite database, with a recruiter and a panel
    member (passwords and API tokens)."""

    def __init__(self, root: Path) -> None:
        self.url = f"sqlite:///{root / 'team.sqlite3'}"
        db.upgrade(self.url)
        self.engine = db.connect(self.url)
        accounts.add_user(self.engine, RECRUITER, "recruiter", PASSWORD)
        accounts.add_user(self.engine, PANEL, "panel", PASSWORD)
        self.tokens = {who: accounts.new_token(self.engine, who) for who in (RECRUITER, PANEL)}
        self.app = create_app(self.url, None, secret="test-secret", mirrors=root / "mirrors",
                              page_formats=("html",))

    def client(self, base_url: str = "http://localhost") -> TestClient:
        return TestClient(self.app, base_url=base_url)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def new_pack(self, client: TestClient, name: str = "Ada Lovelace", cid: str | None = None
                 ) -> str:
        answer = client.post("/api/packs", headers=self.auth(RECRUITER), json={
            "role": ROLE_ID, "candidate": name, "candidate_id": cid, "formats": ["html"]})
        assert answer.status_code == 201, answer.text
        pack_id: str = answer.json()["pack_id"]
        return pack_id

    @property
    def team(self) -> service.Team:
        team: service.Team = self.app.state.team
        return team

    def submit_all(self, pack_id: str, stages: list[str] | None = None) -> None:
        """Return a filled scorecard for each stage (or those given), as interviewers would."""
        for n, stage in enumerate(STAGES):
            if stages is not None and stage not in stages:
                continue
            with self.team.store.reading(pack_id) as pack:
                blank = (pack.path / "scorecards" / f"{stage}.yaml").read_text(encoding="utf-8")
            criteria = re.findall(r"^  ([a-z0-9.-]+): null$", blank, flags=re.M)
            answers: dict[str, Any] = {
                "interviewer": PEOPLE[n], "interviewer_email": sample_email(PEOPLE[n]),
                "interviewed_on": "2026-11-20", "ratings": dict.fromkeys(criteria, 3),
                "evidence": dict.fromkeys(criteria, "Walked through it in detail."),
                "notes": "", "recommendation": "yes"}
            service.submit_scorecard(self.team, pack_id, fill_yaml(blank, answers).encode())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    return Server(tmp_path_factory.mktemp("server"))


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[TestClient]:
    with server.client() as found:
        yield found


@pytest.fixture(scope="module")
def pack_id(server: Server, client: TestClient) -> str:
    """A pack with three stages returned."""
    made = server.new_pack(client, HOSTILE, "ann-1")
    server.submit_all(made, STAGES[:3])
    return made


def audit_actions(server: Server) -> list[tuple[str, str]]:
    with Session(server.engine) as session:
        return [(row.actor, row.action) for row in session.scalars(
            select(db.AuditEventRow).order_by(db.AuditEventRow.id))]


# --------------------------------------------------------------------------- the API

ROUTES = [("post", "/api/packs", RECRUITER, {"role": ROLE_ID, "candidate": "X"}),
          ("post", "/api/packs/{pack}/interviewers", RECRUITER,
           {"stage": STAGES[0], "name": "Priya Raman", "email": "priya@example.com"}),
          ("get", "/api/packs/{pack}", None, None),
          ("get", "/api/packs/{pack}/aggregate", None, None),
          ("post", "/api/packs/{pack}/decision", PANEL,
           {"decision": "hire", "reason": "r", "by": "b"})]


@pytest.mark.parametrize(("method", "path", "only", "body"), ROUTES)
def test_every_route_answers_401_without_a_token(client: TestClient, pack_id: str, method: str,
                                                 path: str, only: str | None,
                                                 body: dict[str, Any] | None) -> None:
    """No token, a wrong token or another scheme is 401 with the bearer challenge."""
    for headers in ({}, {"Authorization": "Bearer rbk_nope"}, {"Authorization": "Basic eDp5"}):
        answer = client.request(method, path.format(pack=pack_id), json=body, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"detail": "sign in: a valid API token as the bearer token"}
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "only", "body"),
                         [r for r in ROUTES if r[2] is not None])
def test_a_route_for_one_role_answers_403_to_the_other(server: Server, client: TestClient,
                                                       pack_id: str, method: str, path: str,
                                                       only: str, body: dict[str, Any]) -> None:
    """Packs and links are the recruiter's, the decision the panel's: the other role is 403."""
    other = PANEL if only == RECRUITER else RECRUITER
    answer = client.request(method, path.format(pack=pack_id), json=body,
                            headers=server.auth(other))
    assert answer.status_code == 403
    role, theirs = ("recruiter", "panel") if only == RECRUITER else ("panel", "recruiter")
    assert answer.json() == {"detail": f"only a {role} may do this (you are signed in as a "
                                       f"{theirs})"}


@pytest.mark.parametrize(("method", "path", "only", "body"), ROUTES[1:])
def test_an_unknown_pack_is_404(server: Server, client: TestClient, method: str, path: str,
                                only: str | None, body: dict[str, Any]) -> None:
    """Every pack route answers 404 naming the pack it does not have."""
    answer = client.request(method, path.format(pack="nope"), json=body,
                            headers=server.auth(only or PANEL))
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no pack 'nope'"}


def test_create_pack_refuses_bad_fields_one_problem_each(server: Server, client: TestClient
                                                         ) -> None:
    """An unknown role and an empty name are 422, one problem per field; a role given as a
    path is not read from the server's disk."""
    answer = client.post("/api/packs", headers=server.auth(RECRUITER),
                         json={"role": "/etc/passwd.yaml", "candidate": "  "})
    assert answer.status_code == 422
    assert answer.json() == {"problems": [
        {"field": "candidate", "message": "candidate name is empty"}]}
    answer = client.post("/api/packs", headers=server.auth(RECRUITER),
                         json={"role": "/etc/passwd.yaml", "candidate": "Bo"})
    assert answer.status_code == 422
    (found,) = answer.json()["problems"]
    assert found["field"] == "role"
    assert found["message"].startswith("no role '/etc/passwd.yaml' (known: ")
    missing = client.post("/api/packs", headers=server.auth(RECRUITER), json={"role": ROLE_ID})
    assert missing.status_code == 422
    assert missing.json() == {"problems": [{"field": "candidate", "message": "Field required"}]}


def test_the_aggregate_is_what_rubrics_aggregate_prints_for_the_exported_pack(
        server: Server, client: TestClient, pack_id: str, tmp_path: Path) -> None:
    """GET .../aggregate gives, byte for byte, `rubrics aggregate --format json` of the
    pack that `serve export` writes; both roles may read it."""
    folder = export_pack(server.engine, pack_id, tmp_path / "out")
    printed = CliRunner().invoke(cli_app, ["aggregate", str(folder), "--format", "json"])
    assert printed.exit_code == 0, printed.output
    for who in (PANEL, RECRUITER):
        answer = client.get(f"/api/packs/{pack_id}/aggregate", headers=server.auth(who))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.content == printed.stdout_bytes


def test_an_interviewer_link_is_made_and_shown_waiting_in_the_status(
        server: Server, client: TestClient, pack_id: str) -> None:
    """POST .../interviewers answers 201 with the absolute link and token; the status lists
    the interviewer as missing since then, and the stages returned."""
    stage = STAGES[4]
    made = client.post(f"/api/packs/{pack_id}/interviewers", headers=server.auth(RECRUITER),
                       json={"stage": stage, "name": "Mei Chen", "email": "mei@example.com"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["link"] == f"http://localhost/i/{body['token']}"
    assert (body["stage"], body["name"], body["created_by"]) == (stage, "Mei Chen", RECRUITER)
    status = client.get(f"/api/packs/{pack_id}", headers=server.auth(PANEL)).json()
    assert status["missing"] == STAGES[3:]
    assert [s["id"] for s in status["stages"] if s["returned"]] == STAGES[:3]
    (mei,) = [i for i in status["interviewers"] if i["name"] == "Mei Chen"]
    assert mei["usable"] and not mei["returned"] and 0 <= mei["missing_seconds"] < 60
    assert "token" not in mei
    bad = client.post(f"/api/packs/{pack_id}/interviewers", headers=server.auth(RECRUITER),
                      json={"stage": "nope", "name": "Mei Chen", "email": "mei@example.com"})
    assert bad.status_code == 422
    assert [p["field"] for p in bad.json()["problems"]] == ["stage"]


def test_a_decision_is_recorded_and_then_in_the_aggregate(server: Server, client: TestClient
                                                          ) -> None:
    """The panel's decision (resolutions as ID=TEXT or objects) is 201 with the record,
    and the aggregate then carries it; a bad one is 422 naming the fields."""
    made = server.new_pack(client, "Grace Hopper", "grace")
    server.submit_all(made)
    flags = client.get(f"/api/packs/{made}/aggregate", headers=server.auth(PANEL)).json()["flags"]
    wrong = client.post(f"/api/packs/{made}/decision", headers=server.auth(PANEL), json={
        "decision": "maybe", "reason": " ", "by": "Panel", "resolve": ["no-equals"]})
    assert wrong.status_code == 422
    assert wrong.json() == {"problems": [
        {"field": "resolve", "message": "'no-equals': write FLAG_ID=TEXT"}]}
    wrong = client.post(f"/api/packs/{made}/decision", headers=server.auth(PANEL), json={
        "decision": "maybe", "reason": " ", "by": "Panel"})
    assert wrong.status_code == 422
    fields = [p["field"] for p in wrong.json()["problems"]]
    assert fields[:2] == ["decision", "reason"]
    resolve: list[Any] = [f"{f['id']}=Discussed" for f in flags[:1]]
    resolve += [{"flag": f["id"], "text": "Discussed too"} for f in flags[1:]]
    answer = client.post(f"/api/packs/{made}/decision", headers=server.auth(PANEL), json={
        "decision": "no_hire", "reason": "Not this time.", "by": "The panel",
        "resolve": resolve})
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert record["decision"] == "no_hire" and record["left_open"] == []
    shown = client.get(f"/api/packs/{made}/aggregate", headers=server.auth(RECRUITER)).json()
    assert shown["panel_decision"]["decision"] == "no_hire"
    assert shown["panel_decision"]["reason"] == "Not this time."
    assert (PANEL, "decision") in audit_actions(server)


def test_the_openapi_schema_documents_the_routes(client: TestClient) -> None:
    """/openapi.json lists every API route with its request model; no page is in it."""
    schema = client.get("/openapi.json").json()
    assert {"/api/packs", "/api/packs/{pack_id}", "/api/packs/{pack_id}/aggregate",
            "/api/packs/{pack_id}/interviewers", "/api/packs/{pack_id}/decision"} <= set(
        schema["paths"])
    assert "/pipeline" not in schema["paths"]
    assert {"NewPack", "NewInterviewer", "DecisionIn", "PackStatus"} <= set(
        schema["components"]["schemas"])


# --------------------------------------------------------------------------- pages


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def signed_in(client: TestClient, who: str) -> str:
    """Sign ``who`` in through the form; return the session's CSRF token."""
    token = csrf_of(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"csrf": token, "email": who, "password": PASSWORD},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/pipeline").text)


def test_pages_need_a_session_and_sign_in_sets_a_strict_cookie(server: Server) -> None:
    """Without a session a page sends the browser to sign in; signing in sets an
    HttpOnly, SameSite=Lax cookie (Secure but for plain http to localhost) and a new
    CSRF token; every page has the strict policy."""
    with server.client() as local:
        assert local.get("/pipeline", follow_redirects=False).headers["location"] == "/sign-in"
        before = csrf_of(local.get("/sign-in").text)
        after = signed_in(local, RECRUITER)
        assert after != before
        page = local.get("/pipeline")
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert "script-src" not in page.headers["content-security-policy"]
    with server.client("https://rubrics.example.com") as remote:
        token = csrf_of(remote.get("/sign-in").text)
        answer = remote.post("/sign-in", follow_redirects=False,
                             data={"csrf": token, "email": PANEL, "password": PASSWORD})
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    with server.client("http://rubrics.example.com") as plain:
        assert "Secure" in plain.get("/sign-in").headers["set-cookie"]
    with server.client() as local:
        assert "Secure" not in local.get("/sign-in").headers["set-cookie"]


def test_a_form_post_without_the_csrf_token_is_refused(server: Server, pack_id: str) -> None:
    """Each state-changing form, posted by a signed-in recruiter or panel member without
    the session's CSRF token (or with another's), is 403 and changes nothing."""
    with server.client() as browser:
        signed_in(browser, RECRUITER)
        before = audit_actions(server)
        for path, data in (("/packs/new", {"role": ROLE_ID, "candidate": "Eve"}),
                           (f"/packs/{pack_id}/interviewers",
                            {"stage": STAGES[5], "name": "Sam Taylor", "email": "s@example.com"}),
                           ("/sign-out", {})):
            for token in (None, "forged"):
                sent = data if token is None else {**data, "csrf": token}
                answer = browser.post(path, data=sent)
                assert answer.status_code == 403
                assert "the form&#39;s CSRF token is missing or wrong" in answer.text
        assert audit_actions(server) == before
    with server.client() as browser:
        signed_in(browser, PANEL)
        answer = browser.post(f"/packs/{pack_id}/decide",
                              data={"decision": "hire", "reason": "r", "by": "b"})
        assert answer.status_code == 403


def test_sign_in_is_limited_to_five_tries_a_minute(server: Server) -> None:
    """The sixth sign-in for one email from one address within a minute is 429 with
    Retry-After, even with the right password; another email is not held up."""
    with server.client() as browser:
        token = csrf_of(browser.get("/sign-in").text)
        for _ in range(5):
            answer = browser.post("/sign-in", data={"csrf": token, "email": "x@example.com",
                                                    "password": "wrong password!"})
            assert answer.status_code == 401
            assert "the email or the password is wrong" in answer.text
        held = browser.post("/sign-in", data={"csrf": token, "email": "x@example.com",
                                              "password": "wrong password!"})
        assert held.status_code == 429
        assert 0 < int(held.headers["retry-after"]) <= 60
    assert ("x@example.com", "sign-in.failed") in audit_actions(server)


def test_an_unknown_email_costs_an_argon2_verification(server: Server,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing in as nobody runs argon2 once, as a wrong password does (no timing signal)."""
    from argon2 import PasswordHasher

    calls: list[str] = []
    real = PasswordHasher.verify

    def counted(self: PasswordHasher, stored: str | bytes, given: str | bytes) -> bool:
        calls.append("verify")
        return real(self, stored, given)

    accounts.dummy_hash()  # made once, before counting
    monkeypatch.setattr(PasswordHasher, "verify", counted)
    assert accounts.sign_in(server.engine, "nobody@example.com", "some password") is None
    assert calls == ["verify"]
    assert accounts.sign_in(server.engine, RECRUITER, "wrong password") is None
    assert calls == ["verify", "verify"]


def test_a_recruiter_makes_a_candidate_assigns_and_revokes_a_link(server: Server) -> None:
    """Through the pages: a new candidate, an interviewer assigned (the link shown once),
    revoked; the packet downloads; each step audited."""
    with server.client() as browser:
        token = signed_in(browser, RECRUITER)
        made = browser.post("/packs/new", follow_redirects=False, data={
            "csrf": token, "role": ROLE_ID, "candidate": "Alan Turing", "candidate_id": "alan"})
        assert made.status_code == 303, made.text
        where = made.headers["location"]
        pid = where.rsplit("/", 1)[1]
        page = browser.post(f"{where}/interviewers", data={
            "csrf": token, "stage": STAGES[0], "name": "Priya Raman",
            "email": "priya@example.com"})
        assert page.status_code == 201
        link = re.search(r'value="(http://localhost/i/[^"]+)"', page.text)
        assert link, page.text
        assert link.group(1) not in browser.get(where).text  # shown once
        (info,) = [i for i in browser.app.state.team.store.pack_ids() if i == pid]
        assert info == pid
        revoke = re.search(r'action="(/packs/[^"]+/revoke)"', page.text)
        assert revoke
        assert browser.post(revoke.group(1), data={"csrf": token},
                            follow_redirects=False).status_code == 303
        assert "(revoked)" in browser.get(where).text
        packet = browser.get(f"{where}/packet")
        assert packet.status_code == 200
        assert packet.headers["content-disposition"] == (
            'attachment; filename="alan-candidate-packet.html"')
    actions = [a for who, a in audit_actions(server) if who == RECRUITER]
    assert {"sign-in", "pack.create", "link.create", "link.revoke",
            "packet.download"} <= set(actions)


def test_candidates_from_a_csv_upload(server: Server, tmp_path: Path) -> None:
    """The CSV `rubrics pack --candidates` takes makes one pack a row; a bad row makes none
    and is named by its line."""
    with server.client() as browser:
        token = signed_in(browser, RECRUITER)
        before = len(server.team.store.pack_ids())
        bad = browser.post("/packs/upload", data={"csrf": token, "role": ROLE_ID},
                           files={"candidates": ("c.csv", b"name,id\nOk One,ok-1\n,x\n")})
        assert bad.status_code == 422
        assert "candidates line 3" in bad.text
        assert len(server.team.store.pack_ids()) == before
        good = browser.post("/packs/upload", data={"csrf": token, "role": ROLE_ID},
                            files={"candidates": ("c.csv", b"name,id\nOk One,ok-1\nOk Two,ok-2\n")})
        assert good.status_code == 201, good.text
        assert "Made 2 packs" in good.text
        assert len(server.team.store.pack_ids()) == before + 2


def test_the_panel_reads_the_report_and_decides_from_the_page(server: Server,
                                                              client: TestClient) -> None:
    """The report page is `rubrics aggregate --format html`, byte for byte, under its own
    policy; the decide form records the decision, which the pipeline then shows."""
    made = server.new_pack(client, "Katherine Johnson", "kj")
    server.submit_all(made)
    with server.client() as browser:
        token = signed_in(browser, PANEL)
        report = browser.get(f"/packs/{made}/report")
        assert report.content == service.report(server.team, made, "html")
        assert "frame-ancestors 'none'" in report.headers["content-security-policy"]
        form = browser.get(f"/packs/{made}/decide").text
        flags = re.findall(r'name="(resolve-[^"]+)"', form)
        answer = browser.post(f"/packs/{made}/decide", follow_redirects=False, data={
            "csrf": token, "decision": "no_hire", "reason": "Not now.", "by": "Panel",
            **dict.fromkeys(flags, "Discussed.")})
        assert answer.status_code == 303, answer.text
        aggregate = json.loads(service.report(server.team, made, "json"))
        assert aggregate["panel_decision"]["decision"] == "no_hire"
        bad = browser.post(f"/packs/{made}/decide", data={
            "csrf": token, "decision": "maybe", "reason": "x", "by": "Panel"})
        assert bad.status_code == 422
        assert "decision: must be hire or no_hire" in bad.text
        assert browser.get(f"/packs/{made}/interviewers").status_code == 405
    with server.client() as browser:
        signed_in(browser, RECRUITER)
        assert browser.get(f"/packs/{made}/decide").status_code == 403


def test_service_create_pack_takes_a_role_id_never_a_path(server: Server) -> None:
    """Any caller of service.create_pack, not only the API, is refused a role given as a
    path to a file on the server's disk (the role field's problem); no pack is made."""
    path = sorted(server.team.workspace.role_files())[0].resolve()
    before = len(server.team.store.pack_ids())
    with pytest.raises(InvalidInput) as caught:
        service.create_pack(server.team, str(path), Candidate("Path Role", "pr-1", None))
    assert [p.path for p in caught.value.problems] == ["role"]
    assert caught.value.problems[0].message.startswith("no role '")
    assert f"(known: {ROLE_ID}" in caught.value.problems[0].message
    assert len(server.team.store.pack_ids()) == before


def test_the_decide_page_and_the_api_read_level_and_resolutions_alike(
        server: Server, client: TestClient) -> None:
    """The page's level is a whole number or blank (422 naming the field otherwise); a
    resolution given as (flag, text), as the page gives them, has its flag id stripped."""
    made = server.new_pack(client, "Dorothy Vaughan", "dv")
    server.submit_all(made)
    with server.client() as browser:
        token = signed_in(browser, PANEL)
        fields = {"csrf": token, "decision": "no_hire", "reason": "Not now.", "by": "Panel"}
        bad = browser.post(f"/packs/{made}/decide", data={**fields, "level": "three"})
        assert bad.status_code == 422
        assert "level: a whole number, or empty" in bad.text
        answer = browser.post(f"/packs/{made}/decide", follow_redirects=False, data={
            **fields, "level": " "})
        assert answer.status_code == 303, answer.text
    aggregate = json.loads(service.report(server.team, made, "json"))
    assert aggregate["panel_decision"]["decision"] == "no_hire"
    said = service.panel_decision("hire", "r", "Panel", "3", [(" f-1 ", "Discussed."),
                                                             "f-2=Agreed."], None)
    assert said.level == 3
    assert [(r.flag, r.text) for r in said.resolutions] == [("f-2", "Agreed."),
                                                            ("f-1", "Discussed.")]


def test_a_page_for_the_other_role_says_who_may_use_it(tmp_path: Path) -> None:
    """The pages refuse the wrong role (403) with the API's words: who may, and who you are."""
    server = Server(tmp_path)  # its own sign-in limits
    with server.client() as browser:
        made = server.new_pack(browser, "Mary Jackson", "mj")
        signed_in(browser, RECRUITER)
        refused = browser.get(f"/packs/{made}/decide")
        assert refused.status_code == 403
        assert "only a panel may do this (you are signed in as a recruiter)" in refused.text
    with server.client() as browser:
        signed_in(browser, PANEL)
        refused = browser.get("/packs/new")
        assert refused.status_code == 403
        assert "only a recruiter may do this (you are signed in as a panel)" in refused.text


def test_script_in_a_candidate_name_is_escaped_on_every_page(server: Server, pack_id: str
                                                             ) -> None:
    """A candidate named with a <script> tag shows as text on the pipeline, candidate,
    decide and report pages; no page holds the tag."""
    with server.client() as browser:
        signed_in(browser, PANEL)
        for path in ("/pipeline", f"/packs/{pack_id}", f"/packs/{pack_id}/decide",
                     f"/packs/{pack_id}/report"):
            page = browser.get(path)
            assert page.status_code == 200, path
            assert "<script" not in page.text.lower(), path
            assert "&lt;script&gt;alert(1)&lt;/script&gt; Ann" in page.text, path


def test_the_mirrors_folder_the_app_made_is_removed_when_it_stops(tmp_path: Path) -> None:
    """Given no mirrors folder, the app makes a temporary one (copies of packs: candidates'
    names, emails, scorecards) and removes it when the server stops."""
    server = Server(tmp_path)
    app = create_app(server.url, None, secret="test-secret", page_formats=("html",))
    mirrors = app.state.team.store.mirrors
    assert tmp_path not in mirrors.parents
    with TestClient(app) as client:
        made = server.new_pack(client, "Grace Hopper", "gh")
        assert client.get(f"/api/packs/{made}", headers=server.auth(RECRUITER)).status_code == 200
        assert [p.name for p in mirrors.iterdir()] != []
    assert not mirrors.exists()
