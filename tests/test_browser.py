"""The HTML scorecard in a real browser (Debian's Chromium driven by Playwright).

An interviewer fills the form with mouse and keyboard, presses "Save submission" and
gets a JSON file that ``rubrics`` reads back; the page stays offline and accessible
under its strict Content-Security-Policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import ValidationError
from typer.testing import CliRunner

from rubrics.model import Submission
from rubrics.roles import read_role
from rubrics.submissions import read_submission
from tests.browsers import CSP_PROBE, Recorded, chromium
from tests.conftest import make_pack

pytestmark = pytest.mark.browser

CANDIDATE = "Zoë Ångström"
STAGE = "system-design-money-movement"
INTERVIEWER = "Ana Peña-Núñez"
EMAIL = "ana.pena-nunez@example.com"
EVIDENCE_1 = ("Proposed an idempotency key per transfer (“transfer_id”).",
              "Retries reuse it: «exactly once» is a myth, said Zoë – 🙂")
NOTES = "Strong on ledgers; ask the coding panel about concurrency."

@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One HTML-only pack for the whole module; returns the pack folder."""
    return make_pack(tmp_path_factory.mktemp("packs"), CANDIDATE, "html")


@pytest.fixture(scope="module")
def manifest(pack: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def stage_criteria(manifest: dict[str, Any]) -> list[str]:
    (stage,) = [s for s in manifest["stages"] if s["id"] == STAGE]
    criteria: list[str] = stage["criteria"]
    assert len(criteria) == 5, "the fill below uses five criteria (a stage rates at most 5)"
    return criteria


@pytest.fixture(scope="module")
def red_flags(pack: Path) -> list[str]:
    role, _ = read_role(pack / "source" / "role.yaml")
    (stage,) = [s for s in role.stages if s.id == STAGE]
    assert len(stage.red_flags) >= 2
    return list(stage.red_flags)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@dataclass
class Scorecard:
    page: Page
    recorded: Recorded


@pytest.fixture
def scorecard(browser: Browser, pack: Path) -> Iterator[Scorecard]:
    """The stage's HTML scorecard freshly opened in its own browser context, with recorders attached."""
    context = browser.new_context(accept_downloads=True, locale="en-GB",
                                  viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_PROBE)
    page = context.new_page()
    opened = Scorecard(page, Recorded(page))
    page.goto((pack / "scorecards" / f"{STAGE}.html").as_uri())
    try:
        yield opened
    finally:
        context.close()


def rating_label(page: Page, n: int, value: str) -> Any:
    return page.locator(f'#criterion-{n} .rating label:has(input[value="{value}"])')


def fill_like_an_interviewer(page: Page) -> None:
    """Fill the scorecard with mouse and keyboard the way an interviewer would."""
    page.get_by_label("Interviewer (your name)").click()
    page.keyboard.type(INTERVIEWER)
    page.keyboard.press("Tab")  # to the email field, right after the name
    assert page.evaluate("document.activeElement.name") == "interviewer_email"
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")  # to the date field: a native date picker in the browser
    page.get_by_label("Date of interview").fill("2026-11-20")

    rating_label(page, 1, "3").click()
    page.locator("#evidence-1").click()
    page.keyboard.type(EVIDENCE_1[0])
    page.keyboard.press("Enter")
    page.keyboard.type(EVIDENCE_1[1] + "  ")  # trailing blanks are trimmed on save

    # Criterion 2 by keyboard only: Tab from the evidence box past the framework levels
    # (a disclosure) into its radio group; Space picks the first rating, the arrow key
    # moves the choice to "2".
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "rating-2"
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")

    rating_label(page, 3, "na").click()  # "Not assessed"
    rating_label(page, 4, "4").click()
    rating_label(page, 4, "1").click()  # changed their mind: the last choice counts
    # criterion 5 is left untouched

    page.locator('.flags label:has(input[name="red-flag-2"])').click()
    page.locator('fieldset.recommend label:has(input[value="strong_yes"])').click()
    page.get_by_label("Notes", exact=True).click()
    page.keyboard.type(NOTES)


def test_filled_scorecard_downloads_the_submission(scorecard: Scorecard, manifest: dict[str, Any],
                                                   stage_criteria: list[str], red_flags: list[str],
                                                   tmp_path: Path) -> None:
    """Saving a form filled by mouse and keyboard downloads exactly the submission rubrics reads back."""
    page = scorecard.page
    fill_like_an_interviewer(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Save submission").click()
    download = info.value
    assert download.suggested_filename == f"{STAGE}--ana-pena-nunez.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    c = stage_criteria
    expected_ratings: dict[str, int | None] = dict.fromkeys(c)
    expected_ratings.update({c[0]: 3, c[1]: 2, c[3]: 1})
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data == {
        "format": "rubrics-submission/1",
        "pack_id": manifest["pack_id"],
        "stage": STAGE,
        "candidate_id": manifest["candidate"]["id"],
        "interviewer": INTERVIEWER,
        "interviewer_email": EMAIL,
        "interviewed_on": "2026-11-20",
        "ratings": expected_ratings,
        "evidence": {c[0]: "\n".join(EVIDENCE_1)},
        "red_flags": [red_flags[1]],
        "notes": NOTES,
        "recommendation": "strong_yes",
    }
    assert list(data["ratings"]) == c, "ratings follow the scorecard's criterion order"
    assert page.get_by_role("status").inner_text() == (
        f"Saved {download.suggested_filename}. Send this file to your recruiter.")
    assert scorecard.recorded.downloads == [download.suggested_filename]

    submission, _ = read_submission(saved)
    assert submission.model_dump(mode="json") == data


def _save(page: Page, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("button", name="Save submission").click()
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / info.value.suggested_filename
    info.value.save_as(saved)
    return saved


def test_a_draft_survives_closing_the_tab_until_the_form_is_cleared(
        scorecard: Scorecard, pack: Path, tmp_path: Path) -> None:
    """Answers typed and then the tab closed come back when the scorecard is opened again
    (and save the same file); another stage's scorecard starts empty; "Clear form" empties
    the form and forgets the draft."""
    page = scorecard.page
    fill_like_an_interviewer(page)
    first = _save(page, tmp_path / "first")
    url = page.url
    page.close()

    again = page.context.new_page()
    again.goto(url)
    assert again.get_by_role("status").inner_text().startswith("Restored your draft of ")
    assert again.locator("#interviewer").input_value() == INTERVIEWER
    assert again.locator("#notes").input_value() == NOTES
    assert _save(again, tmp_path / "again").read_bytes() == first.read_bytes()

    other = again.context.new_page()
    other.goto((pack / "scorecards" / "coding-correctness-concurrency.html").as_uri())
    assert other.locator("#interviewer").input_value() == ""
    assert other.get_by_role("status").inner_text() == ""

    again.once("dialog", lambda dialog: dialog.accept())
    again.get_by_role("button", name="Clear form").click()
    assert again.locator("#interviewer").input_value() == ""
    assert again.locator("#evidence-1").input_value() == ""
    again.reload()
    assert again.locator("#interviewer").input_value() == ""
    assert again.get_by_role("status").inner_text() == ""


def test_a_saved_submission_reopens_to_be_amended(browser: Browser, scorecard: Scorecard,
                                                  pack: Path, tmp_path: Path) -> None:
    """A saved file opened in a fresh browser (no draft) fills the form as it was; one
    change saved again changes only that answer; a file from another stage is refused."""
    fill_like_an_interviewer(scorecard.page)
    saved = _save(scorecard.page, tmp_path / "saved")

    context = browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.goto((pack / "scorecards" / f"{STAGE}.html").as_uri())
        page.locator("#open").set_input_files(saved)  # (read asynchronously: wait for it)
        expect(page.get_by_role("status")).to_have_text(
            f"Opened {saved.name}: change what you need, then save it again.")
        rating_label(page, 2, "3").click()
        amended = json.loads(_save(page, tmp_path / "amended").read_text(encoding="utf-8"))
        original = json.loads(saved.read_text(encoding="utf-8"))
        changed = {k for k in original["ratings"] if original["ratings"][k] != amended["ratings"][k]}
        assert changed == {list(original["ratings"])[1]}
        assert {**amended, "ratings": original["ratings"]} == original

        foreign = tmp_path / "foreign.json"
        foreign.write_text(json.dumps({**original, "stage": "coding-correctness-concurrency"}),
                           encoding="utf-8")
        page.locator("#open").set_input_files(foreign)
        expect(page.get_by_role("status")).to_have_text(
            "foreign.json was saved from another candidate's or stage's scorecard; open it "
            "from that scorecard.")
    finally:
        context.close()


@pytest.mark.parametrize(("missing", "message"), [
    ("interviewer", "Please enter your name as the interviewer before saving."),
    ("recommendation", "Please choose an overall recommendation before saving."),
], ids=["no-interviewer", "no-recommendation"])
def test_save_refuses_an_incomplete_form(scorecard: Scorecard, missing: str, message: str) -> None:
    """Saving without a name (or a recommendation) explains why in the status line, focuses that field and downloads nothing."""
    page = scorecard.page
    page.get_by_label("Interviewer (your name)").click()
    if missing == "interviewer":
        page.keyboard.type("   ")  # only blanks: still no name
        page.locator('fieldset.recommend label:has(input[value="no"])').click()
    else:
        page.keyboard.type(INTERVIEWER)
    rating_label(page, 1, "2").click()
    page.get_by_role("button", name="Save submission").click()

    status = page.get_by_role("status")
    assert status.inner_text() == message
    assert status.get_attribute("class") == "error"
    assert page.evaluate("document.activeElement.name") == missing
    page.wait_for_timeout(500)  # a download would have started by now
    assert scorecard.recorded.downloads == []
    assert scorecard.recorded.console == []


@pytest.mark.parametrize("typed", ["ana.pena", "ana@example", "ana pena@example.com",
                                   "ana@pena@example.com"],
                         ids=["no-at", "no-dot-in-domain", "space", "two-ats"])
def test_save_refuses_an_invalid_email(scorecard: Scorecard, typed: str) -> None:
    """An email that rubrics would refuse is reported in the visible status line before saving, with the field focused and nothing downloaded."""
    with pytest.raises(ValidationError, match="interviewer_email"):
        Submission.model_validate({"pack_id": "p", "stage": "s", "interviewer": INTERVIEWER,
                                   "interviewer_email": typed, "ratings": {},
                                   "recommendation": "yes"})
    page = scorecard.page
    page.get_by_label("Interviewer (your name)").fill(INTERVIEWER)
    page.get_by_label("Email (identifies you across interviews)").click()
    page.keyboard.type(typed)
    page.locator('fieldset.recommend label:has(input[value="yes"])').click()
    page.get_by_role("button", name="Save submission").click()

    status = page.get_by_role("status")
    assert status.is_visible()
    assert status.inner_text() == (
        "Please enter your email as name@example.com (or leave it empty) before saving.")
    assert status.get_attribute("class") == "error"
    assert page.evaluate("document.activeElement.name") == "interviewer_email"
    page.wait_for_timeout(500)  # a download would have started by now
    assert scorecard.recorded.downloads == []
    assert scorecard.recorded.console == []


def test_blank_email_is_left_out_of_the_saved_file(scorecard: Scorecard, tmp_path: Path) -> None:
    """An email field left blank (or only blanks) is left out of the saved file, which rubrics reads as no email."""
    page = scorecard.page
    page.get_by_label("Interviewer (your name)").fill(INTERVIEWER)
    page.get_by_label("Email (identifies you across interviews)").click()
    page.keyboard.type("   ")
    page.locator('fieldset.recommend label:has(input[value="no"])').click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Save submission").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)

    data = json.loads(saved.read_text(encoding="utf-8"))
    assert "interviewer_email" not in data
    assert (data["interviewer"], data["recommendation"]) == (INTERVIEWER, "no")
    submission, _ = read_submission(saved)
    assert submission.interviewer_email is None


def test_page_is_offline_clean_and_labelled(scorecard: Scorecard) -> None:
    """The scorecard makes no network request, logs no error or CSP violation, and every control has an accessible name."""
    page, rec = scorecard.page, scorecard.recorded
    fill_like_an_interviewer(page)
    with page.expect_download():
        page.get_by_role("button", name="Save submission").click()

    assert rec.requests == [(page.url, "document")]
    assert rec.console == []
    assert rec.errors == []
    assert page.evaluate("window.__cspViolations") == []

    unlabelled = page.evaluate("""() => Array.from(
        document.querySelectorAll("input, textarea, select, button")).filter((el) => {
          const labels = Array.from(el.labels || []).map((l) => l.textContent.trim());
          const named = labels.some(Boolean) || (el.title || "").trim()
            || (el.getAttribute("aria-label") || "").trim() || el.hasAttribute("aria-labelledby")
            || (el.tagName === "BUTTON" && el.textContent.trim());
          return !named;
        }).map((el) => el.outerHTML)""")
    assert unlabelled == []

    # Chromium's own accessible names agree: no nameless form control in the accessibility tree.
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    controls = [n for n in nodes if n.get("role", {}).get("value") in
                ("textbox", "radio", "checkbox", "button", "combobox")]
    assert len(controls) > 40
    assert [n for n in controls if not n.get("name", {}).get("value", "").strip()] == []
    groups = {n["name"]["value"] for n in nodes if n.get("role", {}).get("value") == "radiogroup"}
    legends = page.eval_on_selector_all("fieldset.criterion legend",
                                        "els => els.map(e => e.textContent.trim())")
    behaviours = {text.split(" ", 1)[1] for text in legends}  # (the number is aria-hidden)
    assert {g.strip() for g in groups} >= behaviours and len(behaviours) >= 5
    evidence = [n["name"]["value"] for n in controls if n["role"]["value"] == "textbox"
                and n["name"]["value"].startswith("Evidence")]
    assert evidence[0] == "Evidence for: " + legends[0].split(" ", 1)[1].split(" ★")[0]

    # Negative control: the listeners above do see a violation when one happens.
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.injected = true";
                             document.body.appendChild(s); }""")
    assert page.evaluate("window.injected === true") is False
    assert page.evaluate("window.__cspViolations.length") == 1
    assert any(t == "error" and "Content Security Policy" in m for t, m in rec.console)


def test_screenshot_of_filled_form(scorecard: Scorecard, tmp_path: Path) -> None:
    """A full-page screenshot of a filled scorecard is written (for eyeballing the layout)."""
    fill_like_an_interviewer(scorecard.page)
    shot = tmp_path / "scorecard-filled.png"
    scorecard.page.screenshot(path=shot, full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


# --------------------------------------------------------------------------- accessibility


def test_axe_finds_no_violation_on_any_page(browser: Browser, pack: Path,
                                           tmp_path: Path) -> None:
    """axe-core (the engine of the browsers' accessibility audits) finds no violation of any
    rule, best practices included, on every page of a pack and on the panel report."""
    from axe_playwright_python.sync_playwright import Axe

    from rubrics.cli import app

    report = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["aggregate", str(pack), "--format", "html", "--out",
                                      str(report)])
    assert result.exit_code == 0, result.output
    pages = [*sorted(pack.glob("**/*.html")), report]
    assert len(pages) >= 9
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        for path in pages:
            page.goto(path.as_uri())
            results = Axe().run(page)
            assert results.response["violations"] == [], (path.name, results.generate_report())
            assert len(results.response["passes"]) > 15  # it did run its rules
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080), (390, 844)])
def test_the_save_bar_never_hides_the_focused_control(browser: Browser, pack: Path,
                                                      width: int, height: int) -> None:
    """Tabbing through the whole form, every focused control is fully visible above the
    sticky Save bar (WCAG 2.2 SC 2.4.11, focus not obscured)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto((pack / "scorecards" / f"{STAGE}.html").as_uri())
        page.locator("#interviewer").focus()
        hidden, seen = [], 0
        while True:
            state = page.evaluate("""() => {
                const el = document.activeElement, bar = document.querySelector(".actions");
                const r = el.getBoundingClientRect(), b = bar.getBoundingClientRect();
                return {id: el.id || el.name || el.tagName, inBar: bar.contains(el),
                        bottom: r.bottom, top: r.top, barTop: b.top, view: innerHeight};
            }""")
            if state["inBar"]:
                break
            seen += 1
            if state["bottom"] > state["barTop"] + 1 or state["top"] < 0:
                hidden.append(state)
            page.keyboard.press("Tab")
            assert seen < 400
        assert seen > 20 and hidden == []
    finally:
        context.close()
