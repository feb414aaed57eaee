"""What the browser tests share: Debian's Chromium launched headless by Playwright, and a
recorder of what a page did besides rendering (requests, console, page errors, downloads)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Records Content-Security-Policy violations in the page (init scripts run outside the CSP).
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; the test fails (saying how to install it) without it."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: the browser tests need Debian's chromium package "
                    "(run RUBRICS_SETUP_BROWSER=1 scripts/setup as root, or apt-get install "
                    "chromium)", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Recorded:
    """What a page did besides rendering: requests (and the refused ones), console messages,
    page errors, downloads."""

    def __init__(self, page: Page) -> None:
        self.requests: list[tuple[str, str]] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.downloads: list[str] = []
        self.refused: list[tuple[int, str]] = []  # answers of 400 and above
        page.on("request", self._request)
        page.on("response", lambda r: self.refused.append((r.status, r.url)) if r.status >= 400
                else None)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("download", lambda d: self.downloads.append(d.suggested_filename))

    def _request(self, request: Request) -> None:
        self.requests.append((request.url, request.resource_type))

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append((message.type, message.text))
