"""`rubrics serve` end to end in a real browser (Debian's Chromium driven by Playwright).

One real server for the module: `rubrics init`, `rubrics db upgrade` and `rubrics users add`
make a SQLite workspace, and `rubrics serve` runs it under uvicorn in its own process. The
tests are one hiring journey and run in file order, each continuing from the last: the
recruiter makes a candidate and six interviewer links; interviewer #1 submits; interviewer
#2's link is tried on every route of the application before #2 submits; the other five
submit; the panel reads the report and decides. The candidate's name and #1's notes carry
script, which must never run on any page.
"""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, StorageState, ViewportSize, expect

from tests.browsers import CSP_PROBE, Recorded, chromium
from tests.conftest import ROLE_ID, ROOT

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
RECRUITER = "rita.recruiter@example.com"
PANEL = "pat.panel@example.com"
MARKER = "qz-peek-marker-5519"
"""Only interviewer #1's notes and evidence hold this text."""
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
CANDIDATE = f"Zoë Ångström {SCRIPT}{IMG}"
INTERVIEWERS = [  # one per stage, in the role's stage order (the role has seven stages)
    ("Mei Chen", "mei.chen@example.com"),
    ("Bo Li", "bo.li@example.com"),
    ("Ana Peña-Núñez", "ana.pena@example.com"),
    ("Kwame Mensah", "kwame.mensah@example.com"),
    ("Sofia Rossi", "sofia.rossi@example.com"),
    ("Olu Adeyemi", "olu.adeyemi@example.com"),
]
NOTES_1 = f"Strong on ledgers {MARKER}. {SCRIPT} {IMG}"
EVIDENCE_1 = f"Proposed an idempotency key per transfer ({MARKER})."
SHOTS = Path("/tmp/scr-serve")
WIDTHS: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 900},
                                   "phone": {"width": 390, "height": 844}}

# A script that ran would have set this; the check below reads it after each page loads.
PWNED = "typeof window.__pwned === 'undefined' ? null : window.__pwned"


def rubrics(*args: str, stdin: str | None = None, timeout: float = 120) -> str:
    """Run `python -m rubrics ARGS` (this checkout's code); its standard output."""
    done = subprocess.run([sys.executable, "-m", "rubrics", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=_env(),
                          check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _env() -> dict[str, str]:
    src = str(ROOT / "src")
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{path}" if path else src}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    workspace: Path
    root: Path


@dataclass
class Journey:
    """What one test leaves for the next."""

    pack_id: str = ""
    stages: list[tuple[str, str]] = field(default_factory=list)  # (id, title)
    links: list[str] = field(default_factory=list)  # interviewer i's personal link
    recruiter: StorageState | None = None  # the signed-in browser state
    panel: StorageState | None = None
    submitted: int = 0
    decided: bool = False

    def token(self, i: int) -> str:
        return self.links[i].rsplit("/", 1)[1]

    def need(self, what: str, ready: bool) -> None:
        assert ready, f"run the module in file order: this test needs {what} first"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A workspace with a recruiter and a panel member, served by `rubrics serve`."""
    root = tmp_path_factory.mktemp("serve")
    ws = root / "ws"
    rubrics("init", str(ws))
    rubrics("db", "upgrade", "--workspace", str(ws))
    for email, role in ((RECRUITER, "recruiter"), (PANEL, "panel")):
        rubrics("users", "add", email, "--role", role, "--password-stdin", "--workspace",
                str(ws), stdin=PASSWORD + "\n")
    port = free_port()
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "rubrics", "serve", "--workspace", str(ws), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**_env(), "RUBRICS_SECRET_KEY": "x" * 40})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (root / "serve.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "rubrics serve did not answer in 30 s"
            time.sleep(0.1)
        yield Served(url, ws, root)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert "Traceback" not in (root / "serve.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def journey() -> Journey:
    return Journey()


def new_context(browser: Browser, served: Served, state: StorageState | None = None,
                width: str = "desktop") -> BrowserContext:
    context = browser.new_context(base_url=served.url, viewport=WIDTHS[width],
                                  storage_state=state, locale="en-GB")
    context.add_init_script(CSP_PROBE)
    return context


def clean(page: Page, recorded: Recorded, refused: tuple[str, ...] = ()) -> None:
    """No script of a text field ran, and the page logged no error or policy violation
    (but the browser's note of each request refused on purpose, whose paths are given)."""
    assert page.evaluate(PWNED) is None, page.url
    assert page.evaluate("window.__cspViolations") == [], page.url
    assert recorded.errors == [], page.url
    assert [url.split("/", 3)[3] for _, url in recorded.refused] == [p.lstrip("/") for p in refused]
    errors = [m for t, m in recorded.console if t == "error"]
    assert [m for m in errors if not m.startswith("Failed to load resource")] == [], page.url
    assert len(errors) == len(refused), (page.url, errors)


def sign_in(page: Page, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").click()
    page.keyboard.type(email)
    page.get_by_label("Password").click()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/pipeline$"))


# --------------------------------------------------------------------------- the recruiter


def test_recruiter_makes_a_candidate_and_copies_six_personal_links(
        browser: Browser, served: Served, journey: Journey) -> None:
    """A recruiter signs in, makes a candidate from the page, assigns one interviewer to each
    of six stages and copies each personal link, shown once on the page."""
    context = new_context(browser, served)
    page = context.new_page()
    recorded = Recorded(page)
    sign_in(page, RECRUITER)
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline: 0 candidates")
    page.get_by_role("link", name="New candidate").click()
    page.get_by_label("Role").first.select_option(ROLE_ID)
    page.get_by_label("Name", exact=True).click()
    page.keyboard.type(CANDIDATE)
    page.get_by_label("Email (optional)").fill("zoe@example.com")
    page.set_default_timeout(180_000)  # the kit's PDFs are made too: slow on a busy machine
    page.get_by_role("button", name="Make the pack", exact=True).click()
    expect(page).to_have_url(re.compile(r"/packs/[^/]+$"))
    page.set_default_timeout(30_000)
    journey.pack_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(CANDIDATE)
    clean(page, recorded)

    rows = page.locator("tbody tr")
    assert rows.count() == 7
    for i, (name, email) in enumerate(INTERVIEWERS):
        row = page.locator("tbody tr").nth(i)
        title = row.locator("td").first.inner_text()
        stage = row.locator('input[name="stage"]').get_attribute("value")
        assert stage
        journey.stages.append((stage, title))
        row.get_by_label("Interviewer's name").click()
        page.keyboard.type(name)
        page.keyboard.press("Tab")
        page.keyboard.type(email)
        row.get_by_role("button", name="Assign").click()
        shown = page.get_by_role("status")
        expect(shown).to_contain_text(f"Personal link for {name} ({stage}).")
        copied = page.get_by_label("Personal link").input_value()
        assert re.fullmatch(rf"{re.escape(served.url)}/i/[A-Za-z0-9_-]{{43}}", copied), copied
        journey.links.append(copied)
        clean(page, recorded)
    assert len(set(journey.links)) == 6

    page.goto(f"/packs/{journey.pack_id}")
    expect(page.get_by_label("Personal link")).to_have_count(0)  # shown once only
    for i, (name, email) in enumerate(INTERVIEWERS):
        expect(page.locator("tbody tr").nth(i)).to_contain_text(
            f"{name} <{email}> (waiting under a minute)")
    expect(page.locator("tbody tr").nth(6)).to_contain_text("missing")
    journey.recruiter = context.storage_state()
    context.close()


# --------------------------------------------------------------------------- interviewers


def rate_everything(page: Page, ratings: list[str]) -> int:
    """Pick a rating for every criterion, cycling through ``ratings``; how many there are."""
    n = page.locator("fieldset.criterion").count()
    assert n >= 2
    for k in range(1, n + 1):
        page.locator(f'#criterion-{k} .rating label:has(input[value="{ratings[k % len(ratings)]}"])'
                     ).click()
    return n


def saved_draft(page: Page) -> Any:
    """Wait for the draft the form saves on the server a moment after typing stops."""
    return page.expect_response(lambda r: r.url.endswith("/api/drafts")
                                and r.request.method == "PUT")


def fill_and_submit(browser: Browser, served: Served, journey: Journey, i: int,
                    notes: str, evidence: str, recommendation: str,
                    invalid_first: bool = False) -> None:
    """Interviewer ``i`` opens their link in a fresh browser, fills the scorecard by mouse
    and keyboard, sees the draft survive a reload, and submits."""
    name, email = INTERVIEWERS[i]
    context = new_context(browser, served)
    page = context.new_page()
    recorded = Recorded(page)
    page.goto(journey.links[i])
    title = journey.stages[i][1]
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    assert page.get_by_label("Interviewer (your name)").input_value() == name
    mail = page.get_by_label("Email (identifies you across interviews)")
    assert (mail.input_value(), mail.get_attribute("readonly")) == (email, "")
    page.get_by_label("Date of interview").fill("2026-11-20")
    rate_everything(page, ["3", "4", "2", "na"] if i % 2 else ["2", "3", "3", "1"])
    page.locator("#evidence-1").click()
    page.keyboard.type(evidence)
    if invalid_first:  # no recommendation yet: refused by the server, said beside the field
        page.get_by_role("button", name="Submit scorecard").click()
        problem = page.locator("fieldset.recommend p.problem")
        expect(problem).to_have_text(re.compile(r"^recommendation|must be one of|required",
                                                re.IGNORECASE))
        expect(page.get_by_role("status")).to_have_text(
            "1 problem to fix before it can be submitted.")
    page.locator(f'fieldset.recommend label:has(input[value="{recommendation}"])').click()
    page.get_by_label("Notes", exact=True).click()
    with saved_draft(page) as info:
        page.keyboard.type(notes)
    assert info.value.status == 200

    page.reload()  # the draft is on the server: the typed text comes back
    expect(page.get_by_role("status")).to_contain_text("Restored your draft of ")
    assert page.get_by_label("Notes", exact=True).input_value() == notes
    assert page.locator("#evidence-1").input_value() == evidence
    assert page.get_by_label("Interviewer (your name)").input_value() == name
    assert page.locator(f'fieldset.recommend input[value="{recommendation}"]').is_checked()

    page.get_by_role("button", name="Submit scorecard").click()
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"^Submitted: scorecard \S+ for this stage\. Thank you\.$"))
    expect(page.locator("p.problem")).to_have_count(0)
    clean(page, recorded, ("/api/submissions",) if invalid_first else ())
    context.close()
    journey.submitted = i + 1


def test_interviewer_one_is_refused_beside_the_field_then_submits(
        browser: Browser, served: Served, journey: Journey) -> None:
    """Interviewer #1 submits without a recommendation and sees why beside that field, then
    completes the form, sees their draft kept on the server across a reload, and submits."""
    journey.need("the recruiter's links", len(journey.links) == 6)
    fill_and_submit(browser, served, journey, 0, NOTES_1, EVIDENCE_1, "strong_yes",
                    invalid_first=True)


def app_routes(served: Served) -> list[tuple[str, str]]:
    """Every (method, path) the application answers, read from the application itself
    (routers it includes are walked into, with their prefix)."""
    from rubrics.server.app import create_app

    def walk(routes: list[Any], prefix: str) -> list[tuple[str, str]]:
        found = []
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:  # FastAPI >= 0.165 keeps an included router whole
                found += walk(included.routes, prefix + route.include_context.prefix)
                continue
            path = getattr(route, "path", None)
            assert path, f"a route of an unknown kind: {route!r}; teach this test to walk it"
            methods = getattr(route, "methods", None) or {"GET"}
            found += [(m, prefix + path) for m in sorted(methods) if m != "HEAD"]
        return found

    url = f"sqlite:///{served.workspace / 'rubrics.sqlite3'}"
    app = create_app(url, served.workspace, mirrors=served.root / "route-mirrors")
    try:
        return walk(app.routes, "")
    finally:
        app.state.team.engine.dispose()


def test_interviewer_two_reaches_nothing_of_interviewer_one_on_any_route(
        browser: Browser, served: Served, journey: Journey) -> None:
    """Before #2 submits, #2's link (as a bearer token and in the path, with #2's browser
    cookies) is tried on every route of the application, and no answer holds #1's notes,
    evidence, name or email."""
    journey.need("interviewer #1's submission", journey.submitted == 1)
    token, mine = journey.token(1), journey.token(0)
    values = {"token": token, "pack_id": journey.pack_id, "link_id": "1"}
    context = new_context(browser, served)
    page = context.new_page()
    page.goto(journey.links[1])  # #2's browser, as it is when they open their kit
    routes = app_routes(served)
    seen: dict[tuple[str, str], int] = {}
    for method, path in routes:
        names = re.findall(r"\{(\w+)(?::[^}]*)?\}", path)
        unknown = [n for n in names if n not in values]
        assert not unknown, (f"{method} {path}: a new path parameter; tell this test what "
                             f"to put in {unknown}")
        concrete = re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: values[m.group(1)], path)
        for headers in ({"Authorization": f"Bearer {token}"}, {}):
            answer = context.request.fetch(concrete, method=method, headers=headers,
                                           data=b"" if method != "GET" else None)
            body = answer.text()
            assert answer.status < 500, (method, concrete, answer.status, body[:500])
            for secret in (MARKER, mine, INTERVIEWERS[0][0], INTERVIEWERS[0][1]):
                assert secret not in body, (method, concrete, secret)
            if headers:
                seen[(method, path)] = answer.status
    assert len(seen) == len(routes) >= 20
    assert seen[("GET", "/i/{token}")] == 200
    assert seen[("GET", "/api/link")] == 200
    assert seen[("GET", "/api/drafts")] == 200
    assert seen[("GET", "/i/{token}/others")] == 403
    context.close()


def test_the_other_five_interviewers_submit_and_then_may_see_the_others(
        browser: Browser, served: Served, journey: Journey) -> None:
    """Interviewers #2 to #6 fill and submit through their own links; afterwards #2 reaches
    the others' scorecards (the default after_own), where #1's marker is shown as text."""
    journey.need("interviewer #1's submission", journey.submitted == 1)
    for i in range(1, 6):
        fill_and_submit(browser, served, journey, i, f"Notes of interviewer {i + 1}.",
                        f"Evidence from interviewer {i + 1}.", ["yes", "strong_yes", "no"][i % 3])
    context = new_context(browser, served)
    page = context.new_page()
    recorded = Recorded(page)
    page.goto(journey.links[1])
    page.get_by_role("link", name="Other interviewers’ scorecards").click()
    expect(page.locator("body")).to_contain_text(MARKER)
    expect(page.locator("body")).to_contain_text(SCRIPT)  # shown as text, never run
    clean(page, recorded)
    context.close()


# --------------------------------------------------------------------------- the panel


def test_the_panel_reads_the_report_and_records_a_decision(
        browser: Browser, served: Served, journey: Journey, tmp_path: Path) -> None:
    """A panel member sees the pipeline, opens the candidate's report (byte for byte
    `rubrics aggregate --format html` of the exported pack), decides from the page, and the
    pipeline then shows the candidate decided."""
    journey.need("six submissions", journey.submitted == 6)
    context = new_context(browser, served)
    page = context.new_page()
    recorded = Recorded(page)
    sign_in(page, PANEL)
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(4)).to_have_text("no")
    expect(row.locator("td").nth(3)).to_contain_text("nobody assigned")
    row.get_by_role("link", name=CANDIDATE).click()
    expect(page).to_have_url(re.compile(rf"/packs/{re.escape(journey.pack_id)}$"))
    with page.expect_response(re.compile(r"/report$")) as info:
        page.get_by_role("link", name="Panel report").click()
    shown = info.value.body()
    meta = re.search(rb'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', shown)
    assert meta and b"&#39;" in meta.group(1)  # the header is the policy, not its HTML text
    assert info.value.headers["content-security-policy"] == html.unescape(
        meta.group(1).decode()) + "; frame-ancestors 'none'"
    expect(page.locator("body")).not_to_have_css("font-family", re.compile(r"^Times|serif$"))
    clean(page, recorded)  # no policy violation: the report's style applies

    rubrics("serve", "export", str(tmp_path / "out"), "--workspace", str(served.workspace))
    (folder,) = [m.parent for m in (tmp_path / "out").glob("*/manifest.json")]
    rubrics("aggregate", str(folder), "--format", "html", "--out", str(tmp_path / "r.html"))
    assert shown == (tmp_path / "r.html").read_bytes()

    page.go_back()
    page.get_by_role("link", name="Decide").click()
    page.get_by_label("Hire", exact=True).check()
    page.get_by_label("Level (empty: the recommended level)").fill("5")
    page.get_by_label("Reason").click()
    page.keyboard.type("Strong evidence across the stages; the missing stage is covered "
                       "by the deep dive.")
    for box in page.locator('textarea[name^="resolve-"]').all():
        box.fill("Discussed at the debrief.")
    page.get_by_role("button", name="Record the decision").click()
    assert page.locator("p.problem, p.hint").all_inner_texts() == []
    expect(page).to_have_url(re.compile(rf"/packs/{re.escape(journey.pack_id)}$"))
    expect(page.locator("p.meta")).to_contain_text("· decided")
    page.get_by_role("link", name="Pipeline").click()
    expect(page.locator("tbody tr td").nth(4)).to_have_text("yes")
    clean(page, recorded)
    journey.panel = context.storage_state()
    journey.decided = True
    context.close()


# --------------------------------------------------------------------------- every page


def pages_of(journey: Journey) -> list[tuple[str, StorageState | None, str]]:
    """(name, browser state, path) of every page a person sees in this journey."""
    pid = journey.pack_id
    return [("sign-in", None, "/sign-in"),
            ("pipeline", journey.recruiter, "/pipeline"),
            ("candidate", journey.recruiter, f"/packs/{pid}"),
            ("new-candidate", journey.recruiter, "/packs/new"),
            ("decide", journey.panel, f"/packs/{pid}/decide"),
            ("report", journey.panel, f"/packs/{pid}/report"),
            ("kit", None, f"/i/{journey.token(0)}"),
            ("others", None, f"/i/{journey.token(1)}/others")]


def test_script_typed_into_text_fields_never_runs_on_any_page(
        browser: Browser, served: Served, journey: Journey) -> None:
    """With script in the candidate's name and in #1's notes, no page of the journey runs
    it, logs an error or a policy violation, and each shows the text as typed."""
    journey.need("the decision", journey.decided)
    context_for: dict[int, BrowserContext] = {}
    try:
        for name, state, path in pages_of(journey):
            context = context_for.get(id(state))
            if context is None:
                context = context_for[id(state)] = new_context(browser, served, state)
            page = context.new_page()
            recorded = Recorded(page)
            assert page.goto(path).status == 200, name  # type: ignore[union-attr]
            page.wait_for_load_state("networkidle")
            clean(page, recorded)
            if name not in ("sign-in", "new-candidate"):
                assert SCRIPT in page.locator("body").inner_text(), name
            page.close()
    finally:
        for context in context_for.values():
            context.close()


def test_screenshots_of_every_page_at_desktop_and_phone_width(
        browser: Browser, served: Served, journey: Journey) -> None:
    """Full-page screenshots of the sign-in, pipeline, candidate, kit and report pages at
    1280 and 390 pixels wide are written to /tmp/scr-serve/, and no page of the server's own
    is wider than the screen."""
    journey.need("the decision", journey.decided)
    SHOTS.mkdir(parents=True, exist_ok=True)
    wanted = {"sign-in", "pipeline", "candidate", "kit", "report"}
    overflows = {}
    for width in WIDTHS:
        for name, state, path in pages_of(journey):
            if name not in wanted:
                continue
            context = new_context(browser, served, state, width)
            page = context.new_page()
            page.goto(path)
            page.wait_for_load_state("networkidle")
            shot = SHOTS / f"{name}-{WIDTHS[width]['width']}.png"
            page.screenshot(path=shot, full_page=True)
            assert shot.stat().st_size > 5_000
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            if overflow > 0 and name != "report":  # (the CLI's report: not the server's page)
                overflows[shot.name] = overflow
            context.close()
    assert overflows == {}, "pages wider than the screen (pixels too wide)"
