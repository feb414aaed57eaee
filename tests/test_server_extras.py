"""rubrics serve's extras (issue 12): calibration for the panel (page and API) and sending
an interviewer's link by email through a real SMTP server started by the test."""

from __future__ import annotations

import email
import email.policy
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rubrics.cli import app as cli_app
from rubrics.errors import InvalidInput
from rubrics.server import links
from rubrics.server.mail import SmtpSettings
from rubrics.server.store import export_packs
from tests.conftest import ROLE_ID
from tests.test_debrief import STAGES
from tests.test_server_api import PANEL, RECRUITER, Server, audit_actions, signed_in

# --------------------------------------------------------------------------- calibration


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, TestClient]]:
    """A server with two candidates' packs, every stage returned."""
    server = Server(tmp_path_factory.mktemp("calibration"))
    with server.client() as client:
        for name, cid in (("Ada Lovelace", "ada"), ("Alan Turing", "alan")):
            server.submit_all(server.new_pack(client, name, cid))
        yield server, client


def test_the_calibration_api_is_what_rubrics_calibrate_prints_for_the_exported_packs(
        calibrated: tuple[Server, TestClient], tmp_path: Path) -> None:
    """GET /api/calibration gives, byte for byte, `rubrics calibrate --format json` over
    the packs `serve export` writes, with and without --role/--since; both roles may read it."""
    server, client = calibrated
    export_packs(server.engine, tmp_path / "out")
    for query, options in (("", []), (f"?role={ROLE_ID}&since=2026-11-01",
                                      ["--role", ROLE_ID, "--since", "2026-11-01"])):
        printed = CliRunner().invoke(cli_app, ["calibrate", str(tmp_path / "out"),
                                               "--format", "json", *options])
        assert printed.exit_code == 0, printed.output
        for who in (PANEL, RECRUITER):
            answer = client.get(f"/api/calibration{query}", headers=server.auth(who))
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/json"
            assert answer.content == printed.stdout_bytes


def test_calibration_options_are_checked_one_problem_each(
        calibrated: tuple[Server, TestClient]) -> None:
    """A since that is not a date, an unknown role, or a since after every interview is
    422 naming the query field, with the CLI's message."""
    server, client = calibrated
    answer = client.get("/api/calibration?since=last-week", headers=server.auth(PANEL))
    assert answer.status_code == 422
    assert answer.json() == {"problems": [
        {"field": "since", "message": "'last-week' is not a date (YYYY-MM-DD)"}]}
    answer = client.get("/api/calibration?role=nope", headers=server.auth(PANEL))
    assert answer.status_code == 422
    assert answer.json() == {"problems": [{"field": "role", "message": (
        f"no pack read is of role 'nope' (roles read: {ROLE_ID} (2 packs))")}]}
    answer = client.get("/api/calibration?since=2030-01-01", headers=server.auth(PANEL))
    assert answer.status_code == 422
    assert answer.json() == {"problems": [{"field": "since", "message": (
        "no scorecard on or after 2030-01-01 (the latest interview read is on 2026-11-20)")}]}


def test_calibration_needs_a_token(calibrated: tuple[Server, TestClient]) -> None:
    """Without a valid bearer token the API is 401; without a session the page sends the
    browser to sign in."""
    server, client = calibrated
    assert client.get("/api/calibration").status_code == 401
    with server.client() as browser:
        answer = browser.get("/calibration", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in")


def test_the_calibration_page_is_the_html_report_under_its_own_policy(
        calibrated: tuple[Server, TestClient], tmp_path: Path) -> None:
    """/calibration serves `rubrics calibrate --format html` byte for byte, with the policy
    of its own <meta> as the header; the pipeline's navigation links to it."""
    server, _ = calibrated
    export_packs(server.engine, tmp_path / "out")
    printed = CliRunner().invoke(cli_app, ["calibrate", str(tmp_path / "out"),
                                           "--format", "html"])
    assert printed.exit_code == 0, printed.output
    for who in (PANEL, RECRUITER):
        with server.client() as browser:
            signed_in(browser, who)
            assert '<a href="/calibration">Calibration</a>' in browser.get("/pipeline").text
            answer = browser.get("/calibration")
        assert answer.status_code == 200
        assert answer.content == printed.stdout_bytes
        csp = answer.headers["content-security-policy"]
        assert csp.startswith("default-src 'none'; ") and " style-src 'sha256-" in csp
        assert "&#39;" not in csp and "form-action 'none'" in csp
        assert csp.endswith("; frame-ancestors 'none'") and "script-src" not in csp


def test_the_calibration_page_shows_a_bad_option_beside_the_form(
        calibrated: tuple[Server, TestClient]) -> None:
    """A since that is not a date is answered 422 with the problem and the form to choose
    again, under the pages' policy."""
    server, _ = calibrated
    with server.client() as browser:
        signed_in(browser, PANEL)
        answer = browser.get("/calibration?since=<b>x</b>")
    assert answer.status_code == 422
    assert "since: &#39;&lt;b&gt;x&lt;/b&gt;&#39; is not a date (YYYY-MM-DD)" in answer.text
    assert f'<option value="{ROLE_ID}">{ROLE_ID} (2 packs)</option>' in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'none'; style-src 'self'")


def test_calibration_with_too_little_data_says_so(tmp_path: Path) -> None:
    """One candidate with scorecards: the report is made and says its figures have too
    little data; with no pack at all the API is 404 and the page says there is none yet."""
    server = Server(tmp_path)
    with server.client() as client:
        empty = client.get("/api/calibration", headers=server.auth(PANEL))
        assert empty.status_code == 404
        assert empty.json() == {"detail": "the server holds no pack yet: calibration reads "
                                          "its packs"}
        with server.client() as browser:
            signed_in(browser, PANEL)
            page = browser.get("/calibration")
            assert page.status_code == 200
            assert "No packs yet" in page.text
            server.submit_all(server.new_pack(client, "Ada Lovelace", "ada"), STAGES[:2])
            html = browser.get("/calibration")
        assert html.status_code == 200
        assert "too little data" in html.text
        data = client.get("/api/calibration", headers=server.auth(PANEL)).json()
        assert data["packs"] == {"read": 1, "with_scorecards": 1, "skipped": [],
                                 "other_roles": 0}
        assert all(row["leniency"] is None for row in data["interviewers"])


# --------------------------------------------------------------------------- SMTP


@dataclass
class Catcher:
    """A small real SMTP server on 127.0.0.1 (a thread): it takes messages, or refuses
    every recipient with 550 when ``refuse``."""

    refuse: bool = False
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    port: int = 0


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        catcher: Catcher = self.server.catcher  # type: ignore[attr-defined]
        say = self.wfile.write
        say(b"220 catcher ESMTP\r\n")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say(b"250-catcher\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
            elif verb == "AUTH":
                catcher.auth.append(command)
                say(b"235 2.7.0 accepted\r\n")
            elif verb == "MAIL":
                sender, recipients = command, []
                say(b"250 ok\r\n")
            elif verb == "RCPT":
                if catcher.refuse:
                    say(b"550 5.1.1 no such mailbox\r\n")
                else:
                    recipients.append(command)
                    say(b"250 ok\r\n")
            elif verb == "DATA":
                say(b"354 go ahead\r\n")
                body = []
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(part[1:] if part.startswith(b"..") else part)
                catcher.messages.append(email.message_from_bytes(  # type: ignore[arg-type]
                    b"".join(body), policy=email.policy.default))
                catcher.envelopes.append((sender, recipients))
                say(b"250 queued\r\n")
            elif verb == "QUIT":
                say(b"221 bye\r\n")
                return
            else:
                say(b"250 ok\r\n" if verb in ("RSET", "NOOP") else b"502 not here\r\n")


@pytest.fixture
def catcher() -> Iterator[Catcher]:
    found = Catcher()
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler) as tcp:
        tcp.daemon_threads = True
        tcp.catcher = found  # type: ignore[attr-defined]
        found.port = tcp.server_address[1]
        thread = threading.Thread(target=tcp.serve_forever, daemon=True)
        thread.start()
        yield found
        tcp.shutdown()
        thread.join(5)


def smtp_env(monkeypatch: pytest.MonkeyPatch, port: int, **more: str) -> None:
    for key, value in {"RUBRICS_SMTP_HOST": "127.0.0.1", "RUBRICS_SMTP_PORT": str(port),
                       "RUBRICS_SMTP_FROM": "Hiring <hiring@example.com>",
                       "RUBRICS_SMTP_STARTTLS": "off", **more}.items():
        monkeypatch.setenv(key, value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_smtp_settings_come_from_the_environment() -> None:
    """No host means no mail; port 587 and STARTTLS by default, off on port 25 unless
    asked; every wrong variable is one problem naming it."""
    assert SmtpSettings.from_env({}) is None
    assert SmtpSettings.from_env({"RUBRICS_SMTP_HOST": "mx", "RUBRICS_SMTP_FROM": "a@b.c"}) \
        == SmtpSettings("mx", 587, "a@b.c", None, None, True)
    assert SmtpSettings.from_env({"RUBRICS_SMTP_HOST": "mx", "RUBRICS_SMTP_FROM": "a@b.c",
                                  "RUBRICS_SMTP_PORT": "25"}).starttls is False  # type: ignore[union-attr]
    assert SmtpSettings.from_env({"RUBRICS_SMTP_HOST": "mx", "RUBRICS_SMTP_FROM": "a@b.c",
                                  "RUBRICS_SMTP_PORT": "25", "RUBRICS_SMTP_STARTTLS": "on"}
                                 ).starttls is True  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as wrong:
        SmtpSettings.from_env({"RUBRICS_SMTP_HOST": "mx", "RUBRICS_SMTP_PORT": "smtp",
                               "RUBRICS_SMTP_STARTTLS": "maybe", "RUBRICS_SMTP_USER": "u"})
    assert [(p.path, p.message) for p in wrong.value.problems] == [
        ("RUBRICS_SMTP_FROM", "required with RUBRICS_SMTP_HOST: the address messages are "
                              "sent from"),
        ("RUBRICS_SMTP_PASSWORD", "RUBRICS_SMTP_USER and RUBRICS_SMTP_PASSWORD go together"),
        ("RUBRICS_SMTP_PORT", "'smtp' is not a port (1 to 65535)"),
        ("RUBRICS_SMTP_STARTTLS", "'maybe' is not on or off")]


def test_serve_refuses_to_start_with_wrong_smtp_settings(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`rubrics serve` with a wrong SMTP variable says which, and does not start."""
    server = Server(tmp_path)
    monkeypatch.setenv("RUBRICS_SMTP_HOST", "mx.example.com")
    result = CliRunner().invoke(cli_app, ["serve", "--database-url", server.url])
    assert result.exit_code != 0
    assert "RUBRICS_SMTP_FROM: required with RUBRICS_SMTP_HOST" in result.output


def test_the_api_sends_the_link_by_email_and_nothing_of_other_interviewers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, catcher: Catcher) -> None:
    """`"send": true` emails the interviewer their link, the candidate, the stage and the
    expiry (signing in with the given user), answers sent: true, and audits link.send; the
    message holds nothing of the stage's other interviewer."""
    smtp_env(monkeypatch, catcher.port, RUBRICS_SMTP_USER="mailer",
             RUBRICS_SMTP_PASSWORD="s3cret")
    server = Server(tmp_path)
    with server.client() as client:
        pack_id = server.new_pack(client, "Ada Lovelace", "ada")
        other = client.post(f"/api/packs/{pack_id}/interviewers", headers=server.auth(RECRUITER),
                            json={"stage": STAGES[0], "name": "Omar Other",
                                  "email": "omar@example.com"})
        assert other.status_code == 201 and other.json()["sent"] is None
        answer = client.post(f"/api/packs/{pack_id}/interviewers",
                             headers=server.auth(RECRUITER),
                             json={"stage": STAGES[0], "name": "Priya Raman",
                                   "email": "priya@example.com", "days": 7, "send": True})
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert (made["sent"], made["send_problem"]) == (True, None)
    (message,) = catcher.messages
    assert catcher.envelopes[0][1] == ["rcpt TO:<priya@example.com>"]
    assert len(catcher.auth) == 1 and catcher.auth[0].startswith("AUTH PLAIN ")
    assert message["To"] == "Priya Raman <priya@example.com>"
    assert message["From"] == "Hiring <hiring@example.com>"
    with server.team.store.reading(pack_id) as pack:
        stage_title = pack.loop.role.stages[0].title
    assert message["Subject"].strip() == f"Your scorecard link: Ada Lovelace, {stage_title}"
    body = message.get_content()
    assert made["link"] in body and made["token"] in body
    assert made["expires_at"][:10] in body
    assert "Omar" not in body and "omar@" not in body and other.json()["token"] not in body
    assert (RECRUITER, "link.send") in audit_actions(server)


def test_an_anonymous_pack_is_named_by_its_id_in_the_message(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, catcher: Catcher) -> None:
    """The message of an anonymous pack names the candidate by id, never by name."""
    smtp_env(monkeypatch, catcher.port)
    server = Server(tmp_path)
    with server.client() as client:
        made = client.post("/api/packs", headers=server.auth(RECRUITER), json={
            "role": ROLE_ID, "candidate": "Grace Hopper", "candidate_id": "c-42",
            "anonymous": True, "formats": ["html"]})
        assert made.status_code == 201, made.text
        answer = client.post(f"/api/packs/{made.json()['pack_id']}/interviewers",
                             headers=server.auth(RECRUITER),
                             json={"stage": STAGES[1], "name": "Mei Chen",
                                   "email": "mei@example.com", "send": True})
    assert answer.json()["sent"] is True
    (message,) = catcher.messages
    assert "Candidate c-42" in message["Subject"]
    assert "Grace" not in message.as_string() and "Hopper" not in message.as_string()


def test_send_without_smtp_settings_is_422_and_makes_no_link(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without RUBRICS_SMTP_HOST `"send": true` is refused before any link is made, and the
    page offers no sending."""
    monkeypatch.delenv("RUBRICS_SMTP_HOST", raising=False)
    server = Server(tmp_path)
    with server.client() as client:
        pack_id = server.new_pack(client)
        answer = client.post(f"/api/packs/{pack_id}/interviewers",
                             headers=server.auth(RECRUITER),
                             json={"stage": STAGES[0], "name": "Priya Raman",
                                   "email": "priya@example.com", "send": True})
        assert answer.status_code == 422
        assert answer.json() == {"problems": [{"field": "send", "message": (
            "the server has no SMTP settings (RUBRICS_SMTP_HOST): copy the link and send it "
            "yourself")}]}
        assert links.links_of(server.team, pack_id) == []
        with server.client() as browser:
            signed_in(browser, RECRUITER)
            assert 'name="send"' not in browser.get(f"/packs/{pack_id}").text


@pytest.mark.parametrize("refuse", [False, True])
def test_a_failed_send_still_makes_the_link_and_says_why(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, catcher: Catcher, refuse: bool) -> None:
    """A mail server that cannot be reached, or refuses the address: the link is made and
    usable, the answer says sent: false and why, and link.send.failed is audited."""
    catcher.refuse = refuse
    port = catcher.port if refuse else closed_port()
    smtp_env(monkeypatch, port)
    server = Server(tmp_path)
    with server.client() as client:
        pack_id = server.new_pack(client)
        answer = client.post(f"/api/packs/{pack_id}/interviewers",
                             headers=server.auth(RECRUITER),
                             json={"stage": STAGES[0], "name": "Priya Raman",
                                   "email": "priya@example.com", "send": True})
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert made["sent"] is False
        if refuse:
            assert made["send_problem"] == ("the mail server refused the address "
                                            "(550 5.1.1 no such mailbox)")
        else:
            assert made["send_problem"].startswith(
                f"the mail server at 127.0.0.1:{port} could not be reached or used (")
        assert client.get("/api/link", headers={"Authorization": f"Bearer {made['token']}"}
                          ).status_code == 200
    assert catcher.messages == []
    assert (RECRUITER, "link.send.failed") in audit_actions(server)


def test_the_assign_form_sends_the_link_when_ticked(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, catcher: Catcher) -> None:
    """With SMTP settings the assign form has the checkbox; ticked, the page shows the
    link and that it was sent; when sending fails it shows the link and why not."""
    smtp_env(monkeypatch, catcher.port)
    server = Server(tmp_path)
    with server.client() as client:
        pack_id = server.new_pack(client)
    with server.client() as browser:
        token = signed_in(browser, RECRUITER)
        assert 'name="send" value="on"' in browser.get(f"/packs/{pack_id}").text
        sent = browser.post(f"/packs/{pack_id}/interviewers", data={
            "csrf": token, "stage": STAGES[0], "name": "Priya Raman",
            "email": "priya@example.com", "send": "on"})
        assert sent.status_code == 201
        assert "Sent by email to priya@example.com." in sent.text
        assert catcher.messages[0]["To"] == "Priya Raman <priya@example.com>"
        (link,) = links.links_of(server.team, pack_id)
        assert 'class="link" value="http://localhost/i/' in sent.text
        catcher.refuse = True
        failed = browser.post(f"/packs/{pack_id}/interviewers", data={
            "csrf": token, "stage": STAGES[1], "name": "Mei Chen",
            "email": "mei@example.com", "send": "on"})
        assert failed.status_code == 201
        assert ("Not sent by email: the mail server refused the address (550 5.1.1 no such "
                "mailbox). Copy the link and send it yourself.") in failed.text
        assert 'class="link" value="http://localhost/i/' in failed.text
        plain = browser.post(f"/packs/{pack_id}/interviewers", data={
            "csrf": token, "stage": STAGES[2], "name": "Sam Lee", "email": "sam@example.com"})
        assert plain.status_code == 201, plain.text
        assert "by email" not in plain.text.split("<h2>")[0]
    assert len(catcher.messages) == 1 and link.email == "priya@example.com"
