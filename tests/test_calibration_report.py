"""The calibration report (HTML and PDF) rendered from a hand-built ``rubrics-calibration/1`` dict.

``tests/fixtures/calibration-report.json`` follows the JSON contract of ``rubrics calibrate``
with nulls, a lenient and a severe interviewer, a criterion nobody assesses, two months, and
groups with a flag and a small-group warning. Golden HTML in ``tests/golden/calibration/``:

    RUBRICS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_calibration_report.py -k golden
"""

from __future__ import annotations

import copy
import difflib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from rubrics.calibration.report import TOO_LITTLE, leniency_chart, stands_out, to_html, to_pdf
from rubrics.panel import default_templates
from rubrics.render import Templates

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "calibration-report.json"
GOLDEN = Path(__file__).resolve().parent / "golden" / "calibration" / "report.html"
UPDATE_GOLDEN = os.environ.get("RUBRICS_UPDATE_GOLDEN") == "1"


@pytest.fixture
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def templates() -> Templates:
    return default_templates()


def test_golden_html(data: dict[str, Any], templates: Templates) -> None:
    """The report of the fixture renders byte for byte as its golden file."""
    html = to_html(data, templates)
    if UPDATE_GOLDEN:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(html, encoding="utf-8")
    assert GOLDEN.is_file(), "no golden file: run with RUBRICS_UPDATE_GOLDEN=1"
    have = GOLDEN.read_text(encoding="utf-8")
    if have != html:
        diff = "".join(list(difflib.unified_diff(have.splitlines(keepends=True),
                                                 html.splitlines(keepends=True),
                                                 "golden", "rendered"))[:60])
        pytest.fail(f"the report differs from its golden file (RUBRICS_UPDATE_GOLDEN=1 to "
                    f"accept):\n{diff}")


def test_first_screen_says_what_was_read_and_what_the_figures_are_not(
        data: dict[str, Any], templates: Templates) -> None:
    """Before any figure: packs read and skipped (with why), role, period, that these are not
    verdicts on people, and how many figures are too thin to read."""
    html = to_html(data, templates)
    first = html[:html.index('id="interviewers-h"')]
    text = " ".join(re.sub(r"<[^>]+>", " ", first).split())
    assert "Packs read 20" in text and "Packs skipped 1" in text
    assert "Senior Backend Engineer, Money Movement" in text and "since 2026-10-01" in text
    assert "not verdicts on people" in text
    assert ("leniency for 1 of 5 interviewers (no shared criteria, or shared on fewer than 8 "
            "candidates)") in text
    assert "agreement for 2 of 5 criteria and 1 of 3 topics" in text
    assert "entry 3 does not chain to entry 2" in text


def _glance(html: str) -> str:
    block = html[html.index('<h2 id="glance-h"'):]
    return " ".join(re.sub(r"<[^>]+>", " ", block[:block.index("</section>")]).split())


def test_what_stands_out_lists_each_signal_with_its_n_and_section(
        data: dict[str, Any], templates: Templates) -> None:
    """The fixture's lenient and severe interviewers, low-alpha criterion and topic, widest
    pass-through gap and flagged groups are listed, each linking to its section."""
    lines = [(i["href"], i["text"]) for i in stands_out(data)["items"]]
    assert lines == [
        ("#interviewers-h", "Tomás Álvarez rates more leniently than colleagues: +0.81 "
         "(interval +0.55 to +1.07; n=16 candidates)"),
        ("#interviewers-h", "Grace Okafor rates more severely than colleagues: \u22120.42 "
         "(interval \u22120.66 to \u22120.18; n=13 candidates)"),
        ("#criteria-h", "Low agreement on criterion \u201cLeads incident resolutions\u201d: "
         "alpha 0.31 (n=12 candidates)"),
        ("#topics-h", "Low agreement on topic \u201cMastery\u201d: alpha 0.58 (n=17 candidates)"),
        ("#stages-h", "Pass-through differs most between Hiring manager conversation, 75% "
         "(n=20) and System design: money movement, 58% (n=19)"),
        ("#groups-h", "group B at System design: money movement: impact ratio 0.78, below "
         "four-fifths (3 of 6 candidates selected)"),
        ("#groups-h", "group B at the decision: impact ratio 0.63, below four-fifths (2 of 7 "
         "candidates selected)")]
    html = to_html(data, templates)
    assert html.index("not verdicts on people") < html.index('id="glance-h"') \
        < html.index('id="interviewers-h"')
    assert '<a href="#stages-h">Pass-through differs most' in html
    assert "Not listed: 5 of 16 figures were too little data to read" in _glance(html)


def test_what_stands_out_leaves_out_groups_when_there_are_none(data: dict[str, Any]) -> None:
    """Without groups no group line is listed, even though the stages have group flags
    elsewhere; an alpha under .667 below the minimum of units is not listed either."""
    del data["groups"]
    data["criteria"][2]["units"] = 9
    hrefs = [i["href"] for i in stands_out(data)["items"]]
    assert "#groups-h" not in hrefs and "#criteria-h" not in hrefs


def test_nothing_stands_out_says_so_and_counts_the_thin_figures(
        data: dict[str, Any], templates: Templates) -> None:
    """When no interval excludes 0, no alpha with enough units is under .667, stages pass
    the same share and no group is flagged, the block says so and how many figures were too
    little data, without calling the figures fine."""
    for who in data["interviewers"]:
        if who["leniency_interval"]:
            who["leniency_interval"] = [-0.3, 0.3]
    for row in data["criteria"] + data["topics"]:
        if row["alpha"] is not None:
            row["alpha"] = 0.9
    for stage in data["stages"]:
        if stage["pass_through"] is not None:
            stage["pass_through"] = 0.6
    del data["groups"]
    text = _glance(to_html(data, templates))
    assert text == ("What stands out Nothing stands out: no leniency interval excludes 0, no "
                    "criterion or topic with enough units has alpha below .667, and every stage "
                    "passes the same share. That does not mean all is well: 5 of 16 figures "
                    "were too little data to read (see the box above).")


def test_each_leniency_dot_and_label_sits_inside_its_own_row(data: dict[str, Any],
                                                            templates: Templates) -> None:
    """In the drawn chart every row's name, note, dot and interval lie within that row's
    band, the gridlines start right of the label column, and a null has no dot."""
    html = to_html(data, templates)
    svg = html[html.index('<svg class="chart chart-rows"'):]
    svg = svg[:svg.index("</svg>")]
    chart = leniency_chart(data["interviewers"])
    groups = re.findall(r'<g class="lrow" data-top="(\d+)" data-bottom="(\d+)">(.*?)</g>', svg,
                        re.S)
    assert len(groups) == len(data["interviewers"])
    dots = 0
    for top, bottom, body in groups:
        ys = [float(y) for y in re.findall(r'<text [^>]*y="([\d.]+)"', body)]
        ys += [float(y) for y in re.findall(r'(?:cy|y1|y2)="([\d.]+)"', body)]
        assert ys and all(int(top) < y < int(bottom) for y in ys), (top, bottom, ys)
        dots += body.count("<circle")
        if TOO_LITTLE in body:
            assert "<circle" not in body
    assert dots == len(data["interviewers"]) - 1
    grid = [float(x) for x in re.findall(r'<line x1="([\d.]+)" y1="\d+" x2="\1"', svg)]
    assert grid and min(grid) >= chart["plot_x"]
    for _top, _bottom, body in groups:
        labels = re.findall(r'<text [^>]*x="([\d.]+)"', body)
        assert all(float(x) < chart["plot_x"] for x in labels)


def test_alpha_under_its_minimum_of_units_gets_no_reliability_label(
        data: dict[str, Any], templates: Templates) -> None:
    """A criterion alpha of .95 over 4 units (a JSON from an older minimum) is shown without
    "reliable": the labels start at the minimum of units."""
    data["criteria"][0].update(alpha=0.95, units=4)
    html = to_html(data, templates)
    row = html[html.index(data["criteria"][0]["id"]):]
    cell = row[:row.index("</tr>")]
    assert "0.95<br>too little data" in cell and "reliable" not in cell


def test_interviewer_rows_show_shared_criteria_inconsistent_dates_and_the_halo_reference(
        data: dict[str, Any], templates: Templates) -> None:
    """No pairs at all reads "no shared criteria"; a return before the interview is counted
    as inconsistent; halo stands beside the others' at the same stages."""
    sam = data["interviewers"][3]
    sam.update(leniency_pairs=0, leniency_n=0)
    html = to_html(data, templates)
    assert "no shared criteria" in html
    assert "1 inconsistent" in html
    assert "others: 0.66 (n=38)" in html


def test_a_missing_leniency_is_too_little_data_never_a_dot_at_zero(data: dict[str, Any]) -> None:
    """An interviewer under the minimum gets "too little data" and no dot; one with a
    leniency of exactly 0 gets a dot on the zero line."""
    chart = leniency_chart(data["interviewers"])
    rows = {r["label"]: r for r in chart["rows"]}
    assert rows["Sam Taylor <script>"]["value"] is None and "x" not in rows["Sam Taylor <script>"]
    assert rows["Jonas Weber"]["x"] == chart["zero"]
    assert rows["Tomás Álvarez"]["x"] > chart["zero"] > rows["Grace Okafor"]["x"]


def test_lenient_interviewer_sits_right_of_zero_with_its_interval(data: dict[str, Any],
                                                                  templates: Templates) -> None:
    """The lenient interviewer's dot is right of 0 inside its interval, and the table gives the
    same figure with its n and interval."""
    row = next(r for r in leniency_chart(data["interviewers"])["rows"]
               if r["label"] == "Tomás Álvarez")
    assert row["lo"] < row["x"] < row["hi"]
    html = to_html(data, templates)
    assert "+0.81 (n=16)<br>+0.55 to +1.07" in html
    assert f"{TOO_LITTLE} (n=4)" in html


def test_names_are_escaped_everywhere(data: dict[str, Any], templates: Templates) -> None:
    """A name holding markup is shown as text in tables and charts, never as an element."""
    html = to_html(data, templates)
    assert "<script" not in html
    assert html.count("Sam Taylor &lt;script&gt;") >= 4


def test_groups_and_months_appear_only_when_present(data: dict[str, Any],
                                                    templates: Templates) -> None:
    """Without ``groups`` nothing about groups is shown; with one month there is no drift
    section; with both, both are shown with the flag and the small-group warning."""
    html = to_html(data, templates)
    assert 'id="groups-h"' in html and "yes: below 0.8" in html
    assert "1 group (&#39;group C&#39;) has fewer than 5 candidates" in html
    assert 'id="drift-h"' in html
    assert "<th scope=\"row\">group C</th><td colspan=\"5\" class=\"thin\">too few to compare " \
        "(fewer than 5 candidates)</td>" in html
    assert "Decision (the panel&#39;s decision, else the rule&#39;s)" in html
    assert "4 from the panel&#39;s recorded decision, 14 from the rule, 1 undecided" in html
    assert "<h3 id=\"group-1\">Hiring manager conversation</h3>" in html
    bare = copy.deepcopy(data)
    del bare["groups"]
    bare["months"] = bare["months"][:1]
    html = to_html(bare, templates)
    assert "four-fifths" not in html and "group A" not in html and 'id="drift-h"' not in html


def test_a_criterion_nobody_assesses_is_marked(data: dict[str, Any], templates: Templates) -> None:
    """A criterion left unassessed every time is marked "never assessed" in its row."""
    html = to_html(data, templates)
    row = html[html.index("Sets reliability practice others follow"):][:400]
    assert "never assessed" in row


def test_pdf_text_carries_the_sections_and_the_caveats(data: dict[str, Any],
                                                      templates: Templates) -> None:
    """The PDF (A4) holds every section, the caveat, "too little data" and the group flag as
    text a reader can search."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(to_pdf(data, templates)))
    text = " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
    for needle in ("not verdicts on people", "Interviewers", "Rating distributions", "Criteria",
                   "Topics", "Stages", "By month", "Selection rates by group", TOO_LITTLE,
                   "yes: below 0.8", "four-fifths", "Tomás Álvarez"):
        assert needle in text, needle
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points


def test_empty_calibration_renders(templates: Templates) -> None:
    """No interviewer, criterion or stage yet: the report still renders and says so."""
    empty = {"format": "rubrics-calibration/1", "role": None, "since": None,
             "packs": {"read": 0, "skipped": [], "other_roles": 0}, "minimums": {},
             "interviewers": [], "criteria": [], "topics": [], "stages": []}
    html = to_html(empty, templates)
    assert "Calibration: every role" in html and "four-fifths" not in html and "No scorecards returned" in html


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_axe_and_narrow_screens(data: dict[str, Any], templates: Templates, tmp_path: Path,
                                width: int) -> None:
    """axe-core finds no violation (best practices included) at 1280 and 390 px, and the
    page never scrolls sideways: wide tables scroll inside their own wrapper."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    from tests.browsers import CHROMIUM, CHROMIUM_ARGS

    page_file = tmp_path / "calibration.html"
    page_file.write_text(to_html(data, templates), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(page_file.as_uri())
            results = Axe().run(page)
            assert results.response["violations"] == [], results.generate_report()
            assert len(results.response["passes"]) > 15
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.evaluate("document.scripts.length") == 0
        finally:
            browser.close()

