"""Fillable PDF scorecards filled for real and read back.

Filled by pypdf (a script) and by PDFium (Chromium's PDF engine, driven through its
form-fill API the way a viewer feeds it mouse clicks and keystrokes), edited the way
Acrobat stores a choice, left empty, and printed.
"""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from rubrics.errors import InvalidInput
from rubrics.model import Recommendation, Submission
from rubrics.pdfforms import read_form
from rubrics.roles import read_role
from rubrics.submissions import StageFields, read_submission
from tests.conftest import make_pack

pytestmark = pytest.mark.slow  # building the PDF pack takes several seconds

CANDIDATE = "Zoë Ångström"
STAGE = "system-design-money-movement"
MAX_FONT_PROGRAM = 100 * 1024


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PDF-only pack for the whole module; returns the pack folder."""
    return make_pack(tmp_path_factory.mktemp("packs"), CANDIDATE, "pdf")


@pytest.fixture(scope="module")
def manifest(pack: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def stage_fields(pack: Path, manifest: dict[str, Any]) -> StageFields:
    """Each stage's criteria (manifest order) and red flags (role order), as read_submission wants."""
    role, _ = read_role(pack / "source" / "role.yaml")
    flags = {s.id: list(s.red_flags) for s in role.stages}
    return {s["id"]: {"criteria": list(s["criteria"]), "red_flags": flags[s["id"]]}
            for s in manifest["stages"]}


@pytest.fixture(scope="module")
def criteria(stage_fields: StageFields) -> list[str]:
    found = stage_fields[STAGE]["criteria"]
    assert len(found) >= 4
    return found


@pytest.fixture(scope="module")
def red_flags(stage_fields: StageFields) -> list[str]:
    found = stage_fields[STAGE]["red_flags"]
    assert len(found) >= 3
    return found


@pytest.fixture(scope="module")
def blank(pack: Path) -> Path:
    """The stage's scorecard PDF exactly as the pack wrote it."""
    return pack / "scorecards" / f"{STAGE}.pdf"


@pytest.fixture
def scorecard(blank: Path, tmp_path: Path) -> Path:
    """A private copy of the blank scorecard, safe to fill."""
    copy = tmp_path / blank.name
    shutil.copyfile(blank, copy)
    return copy


# --------------------------------------------------------------------------- helpers


def field(writer: PdfWriter, name: str) -> DictionaryObject:
    """The top-level AcroForm field called ``name``."""
    for ref in writer._root_object["/AcroForm"]["/Fields"]:
        obj = ref.get_object()
        if obj.get("/T") == name:
            return obj
    raise AssertionError(f"no field {name!r}")


def on_states(widget: DictionaryObject) -> list[str]:
    """The 'on' appearance state names of a button widget."""
    return [s for s in widget["/AP"]["/N"] if s != "/Off"]


class PdfiumForm:
    """A PDF opened in PDFium with its form-fill environment, operated by mouse and keyboard."""

    def __init__(self, path: Path) -> None:
        self.pdf = pdfium.PdfDocument(path)
        self.pdf.init_forms()  # must come before get_page, which announces the page to the form
        self.env = self.pdf.formenv.raw
        self.pages = [self.pdf.get_page(i) for i in range(len(self.pdf))]
        # (field name, export value) -> (page, rect as left, top, right, bottom)
        self.widgets: dict[tuple[str, str], tuple[Any, tuple[float, float, float, float]]] = {}
        for page in self.pages:
            for i in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
                annot = pdfium_c.FPDFPage_GetAnnot(page.raw, i)
                try:
                    if pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_WIDGET:
                        continue
                    rect = pdfium_c.FS_RECTF()
                    assert pdfium_c.FPDFAnnot_GetRect(annot, rect)
                    key = (self._annot_text(pdfium_c.FPDFAnnot_GetFormFieldName, annot),
                           self._annot_text(pdfium_c.FPDFAnnot_GetFormFieldExportValue, annot))
                    assert key not in self.widgets, f"two widgets for {key}"
                    self.widgets[key] = (page, (rect.left, rect.top, rect.right, rect.bottom))
                finally:
                    pdfium_c.FPDFPage_CloseAnnot(annot)

    def _annot_text(self, fn: Any, annot: Any) -> str:
        size = fn(self.env, annot, None, 0)  # bytes of UTF-16LE, NUL included
        buf = ctypes.create_string_buffer(size)
        fn(self.env, annot, ctypes.cast(buf, ctypes.POINTER(pdfium_c.FPDF_WCHAR)), size)
        return buf.raw[:max(size - 2, 0)].decode("utf-16-le")

    def click(self, name: str, export: str = "") -> None:
        """Move the mouse to the middle of a widget and click it."""
        page, (left, top, right, bottom) = self.widgets[(name, export)]
        x, y = (left + right) / 2, (top + bottom) / 2
        pdfium_c.FORM_OnMouseMove(self.env, page.raw, 0, x, y)
        pdfium_c.FORM_OnLButtonDown(self.env, page.raw, 0, x, y)
        pdfium_c.FORM_OnLButtonUp(self.env, page.raw, 0, x, y)

    def type(self, name: str, text: str) -> None:
        """Click into a text field and type, one keystroke per UTF-16 code unit (Enter for a newline)."""
        self.click(name)
        page = self.widgets[(name, "")][0]
        for line_no, line in enumerate(text.split("\n")):
            if line_no:
                pdfium_c.FORM_OnChar(self.env, page.raw, 13, 0)  # Enter: a new line
            data = line.encode("utf-16-le")
            for i in range(0, len(data), 2):
                pdfium_c.FORM_OnChar(self.env, page.raw, int.from_bytes(data[i:i + 2], "little"), 0)

    def save(self, dest: Path) -> None:
        pdfium_c.FORM_ForceToKillFocus(self.env)  # commit the field being edited
        self.pdf.save(dest)

    def close(self) -> None:
        for page in self.pages:
            page.close()
        self.pdf.close()


@pytest.fixture
def pdfium_form(scorecard: Path) -> Iterator[PdfiumForm]:
    form = PdfiumForm(scorecard)
    try:
        yield form
    finally:
        form.close()


def all_objects(reader: PdfReader) -> Iterator[DictionaryObject]:
    """Every dictionary (and stream) reachable from the document catalog, each once."""
    seen: set[int] = set()
    stack: list[Any] = [reader.trailer["/Root"]]
    while stack:
        item = stack.pop()
        if hasattr(item, "idnum"):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            yield item
            stack.extend(v for k, v in item.items() if k != "/Parent")
        elif isinstance(item, list):
            stack.extend(item)


# --------------------------------------------------------------------------- tests


def test_pypdf_fill_reads_back(scorecard: Path, pack: Path, manifest: dict[str, Any],
                               stage_fields: StageFields, criteria: list[str],
                               red_flags: list[str]) -> None:
    """A scorecard filled by pypdf with the documented state names reads back as exactly that submission."""
    writer = PdfWriter(clone_from=scorecard)
    checkbox_states = on_states(field(writer, "red-flag-2"))
    assert checkbox_states == ["/on"], "red-flag checkboxes are ticked with the state /on"
    assert [on_states(k.get_object()) for k in field(writer, "rating-1")["/Kids"]] == [
        ["/1"], ["/2"], ["/3"], ["/4"], ["/na"]]
    values = {
        "interviewer": "  Ingrid Ødegård  ",
        "interviewer_email": "  ingrid.odegard@example.com  ",
        "interviewed_on": "2026-11-20",
        "rating-1": "/3",
        "evidence-1": "Idempotency key per transfer – “transfer_id”.\nReuses it on retry.",
        "rating-2": "/na",
        "evidence-2": "   ",
        "rating-4": "/1",
        "red-flag-2": checkbox_states[0],
        "red-flag-3": checkbox_states[0],
        "recommendation": "/strong_yes",
        "notes": "Ask the coding panel about concurrency.",
    }
    # pypdf reports its complaints here through logging, not the warnings module (pages
    # without widgets: "No fields to update"; “ ” – outside its appearance-stream font
    # encoding), so nothing trips filterwarnings=error and no catch_warnings is needed.
    for page in writer.pages:
        if "/Annots" in page:
            writer.update_page_form_field_values(page, values, auto_regenerate=False)
    filled = scorecard.with_name("pypdf-filled.pdf")
    writer.write(filled)

    submission, _ = read_submission(filled, stage_fields=stage_fields)
    ratings: dict[str, int | None] = dict.fromkeys(criteria)
    ratings[criteria[0]] = 3
    ratings[criteria[3]] = 1
    assert submission == Submission(
        pack_id=manifest["pack_id"], stage=STAGE, interviewer="Ingrid Ødegård",
        interviewer_email="ingrid.odegard@example.com", interviewed_on="2026-11-20", ratings=ratings,
        evidence={criteria[0]: "Idempotency key per transfer – “transfer_id”.\nReuses it on retry."},
        red_flags=[red_flags[1], red_flags[2]],
        notes="Ask the coding panel about concurrency.",
        recommendation=Recommendation.STRONG_YES,
    )
    assert list(submission.ratings) == criteria


def test_pdfium_fill_reads_back(pdfium_form: PdfiumForm, scorecard: Path, manifest: dict[str, Any],
                                stage_fields: StageFields, criteria: list[str],
                                red_flags: list[str]) -> None:
    """A scorecard filled through PDFium's form-fill API (clicks and keystrokes) reads back exactly, CRLF turned into LF and the date typed as 20/11/2026 read as 2026-11-20."""
    form = pdfium_form
    n = len(criteria)
    assert {name for name, _ in form.widgets} == {
        "interviewer", "interviewer_email", "interviewed_on", "notes", "recommendation",
        *(f"rating-{i}" for i in range(1, n + 1)), *(f"evidence-{i}" for i in range(1, n + 1)),
        *(f"red-flag-{i}" for i in range(1, len(red_flags) + 1))}
    assert {export for name, export in form.widgets if name == "rating-1"} == {"1", "2", "3", "4", "na"}
    assert {export for name, export in form.widgets if name == "red-flag-1"} == {"on"}

    evidence = "Idempotency key per transfer – “transfer_id”.\nRetries reuse it; Zoë: «exactly once» 🙂"
    form.type("interviewer", "Ingrid Ødegård")
    form.type("interviewer_email", "ingrid.odegard@example.com")
    form.type("interviewed_on", "20/11/2026")
    form.click("rating-1", "3")
    form.type("evidence-1", evidence)
    form.click("rating-2", "na")
    form.click("rating-3", "4")
    form.click("rating-3", "2")  # changed their mind: radios in a group are exclusive
    form.click(f"rating-{n}", "1")  # the last criterion, pages later
    form.click("red-flag-1", "on")
    form.click("red-flag-3", "on")
    form.click("red-flag-3", "on")  # ticked and unticked again
    form.click("red-flag-2", "on")
    form.click("recommendation", "yes")
    form.type("notes", "Line one.\n\nLine three, after a blank line.")
    filled = scorecard.with_name("pdfium-filled.pdf")
    form.save(filled)

    raw_values, _ = read_form(filled.read_bytes())
    assert "\r\n" not in raw_values["evidence-1"]  # PDFium stores CRLF; reading gives LF
    writer = PdfWriter(clone_from=filled)
    assert str(field(writer, "evidence-1")["/V"]).count("\r\n") == 1, "PDFium wrote CRLF as expected"
    assert [k.get_object()["/AS"] for k in field(writer, "rating-3")["/Kids"]] == [
        "/Off", "/2", "/Off", "/Off", "/Off"]

    submission, _ = read_submission(filled, stage_fields=stage_fields)
    ratings: dict[str, int | None] = dict.fromkeys(criteria)
    ratings.update({criteria[0]: 3, criteria[2]: 2, criteria[n - 1]: 1})
    assert submission == Submission(
        pack_id=manifest["pack_id"], stage=STAGE, interviewer="Ingrid Ødegård",
        interviewer_email="ingrid.odegard@example.com", interviewed_on="2026-11-20", ratings=ratings,
        evidence={criteria[0]: evidence},
        red_flags=[red_flags[0], red_flags[1]],
        notes="Line one.\n\nLine three, after a blank line.",
        recommendation=Recommendation.YES,
    )


@pytest.mark.parametrize(("typed", "problem"), [
    ("   ", None),
    ("ingrid@example", "interviewer_email: not an email address: 'ingrid@example' "
                       "(e.g. mei.chen@example.com)"),
], ids=["only-blanks", "not-an-email"])
def test_pdf_email_blank_reads_as_none_and_invalid_is_refused(
        pdfium_form: PdfiumForm, scorecard: Path, stage_fields: StageFields, typed: str,
        problem: str | None) -> None:
    """An email field typed in PDFium with only blanks reads back as no email; one that is not an email is refused, naming interviewer_email."""
    form = pdfium_form
    form.type("interviewer", "Ingrid Ødegård")
    form.type("interviewer_email", typed)
    form.click("recommendation", "no")
    filled = scorecard.with_name("email-filled.pdf")
    form.save(filled)

    raw_values, _ = read_form(filled.read_bytes())
    assert raw_values["interviewer_email"] == typed
    if problem is None:
        submission, _ = read_submission(filled, stage_fields=stage_fields)
        assert (submission.interviewer, submission.interviewer_email) == ("Ingrid Ødegård", None)
    else:
        with pytest.raises(InvalidInput) as caught:
            read_submission(filled, stage_fields=stage_fields)
        assert [p.message for p in caught.value.problems] == [problem]


@pytest.mark.parametrize(("name", "how", "state", "expected"), [
    ("rating-1", "kid-as", "/2", "2"),
    ("rating-1", "parent-v", "/na", "na"),
    ("recommendation", "kid-as", "/strong_no", "strong_no"),
    ("recommendation", "parent-v", "/no", "no"),
    ("red-flag-1", "kid-as", "/on", "on"),
    ("red-flag-1", "parent-v", "/on", "on"),
], ids=lambda v: str(v).lstrip("/"))
def test_read_form_accepts_each_way_viewers_store_a_choice(scorecard: Path, name: str, how: str,
                                                           state: str, expected: str) -> None:
    """A choice stored only on the widget's /AS (Acrobat style, no parent /V) or only on the field's /V reads back."""
    writer = PdfWriter(clone_from=scorecard)
    target = field(writer, name)
    widgets = [k.get_object() for k in target.get("/Kids", [])] or [target]
    target.pop("/V", None)
    for widget in widgets:
        widget[NameObject("/AS")] = NameObject("/Off")
    if how == "kid-as":
        (chosen,) = [w for w in widgets if on_states(w) == [state]]
        chosen[NameObject("/AS")] = NameObject(state)
    else:
        target[NameObject("/V")] = NameObject(state)
    edited = scorecard.with_name("edited.pdf")
    writer.write(edited)

    values, _ = read_form(edited.read_bytes())
    assert values[name] == expected
    assert [k for k, v in values.items() if v] == [name], "no other field reads as filled"


def test_empty_scorecard_reads_as_unfilled(blank: Path, stage_fields: StageFields,
                                           criteria: list[str], red_flags: list[str]) -> None:
    """An unfilled scorecard has every rating empty, and reading it as a submission names the missing interviewer and recommendation."""
    values, info = read_form(blank.read_bytes())
    n, f = len(criteria), len(red_flags)
    assert sorted(values) == sorted(
        ["interviewer", "interviewer_email", "interviewed_on", "notes", "recommendation",
         *(f"rating-{i}" for i in range(1, n + 1)), *(f"evidence-{i}" for i in range(1, n + 1)),
         *(f"red-flag-{i}" for i in range(1, f + 1))])
    assert [values[f"rating-{i}"] for i in range(1, n + 1)] == [None] * n
    assert [values[f"red-flag-{i}"] for i in range(1, f + 1)] == [None] * f
    assert values["recommendation"] is None
    assert not any(values[k] for k in ("interviewer", "interviewer_email", "interviewed_on", "notes"))
    assert re.fullmatch(rf"rubrics-pack=\S+; rubrics-stage={STAGE}", info["/Keywords"])

    with pytest.raises(InvalidInput) as caught:
        read_submission(blank, stage_fields=stage_fields)
    assert sorted(p.message.split(":")[0] for p in caught.value.problems) == [
        "interviewer", "recommendation"]


def test_empty_scorecard_prints_and_is_tagged_with_small_fonts(blank: Path, tmp_path: Path) -> None:
    """The unfilled scorecard renders with poppler without complaint, is a tagged PDF, and embeds no font program over 100 KB."""
    for tool in ("pdftoppm", "pdfinfo"):
        assert shutil.which(tool), f"{tool} not found: install poppler-utils (scripts/setup does)"
    png = tmp_path / "page-1"
    run = subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
                          str(blank), str(png)], capture_output=True, text=True, check=False)
    assert (run.returncode, run.stderr) == (0, "")
    assert png.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    info = subprocess.run(["pdfinfo", str(blank)], capture_output=True, text=True, check=True)
    assert re.search(r"^Tagged:\s+yes$", info.stdout, re.MULTILINE), info.stdout
    assert re.search(r"^Form:\s+AcroForm$", info.stdout, re.MULTILINE), info.stdout

    reader = PdfReader(blank)
    programs = {}
    for obj in all_objects(reader):
        if obj.get("/Type") == "/FontDescriptor":
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                if key in obj:
                    stream = obj[key].get_object()
                    assert isinstance(stream, StreamObject)
                    programs[str(obj["/FontName"])] = len(stream.get_data())
    field_fonts = {str(f.get_object()["/BaseFont"])
                   for f in reader.trailer["/Root"]["/AcroForm"]["/DR"]["/Font"].values()}
    form_font = [name for name in field_fonts if name.endswith("+RubricsForm")]
    assert form_font and form_font[0] in programs, "the field font is embedded"
    assert {name: size for name, size in programs.items() if size > MAX_FONT_PROGRAM} == {}


def test_long_evidence_shrinks_to_fit_its_box(pdfium_form: PdfiumForm, scorecard: Path) -> None:
    """Evidence longer than its box is drawn smaller so that all of it shows (and prints):
    the boxes of several lines ask readers for auto-sized text (font size 0), and PDFium
    draws 40 sentences at less than the 9 pt a short answer gets."""
    import re

    widgets = [a.get_object() for page in PdfReader(scorecard).pages
               for a in page.get("/Annots", [])]
    multiline = {str(w["/T"]): str(w["/DA"]) for w in widgets
                 if w.get("/FT") == "/Tx" and int(w.get("/Ff", 0)) & (1 << 12)}
    assert multiline and all(da.endswith(" 0 Tf") for da in multiline.values()), multiline
    assert "notes" in multiline and "evidence-1" in multiline

    long = " ".join(f"Sentence {i} about idempotency keys and retries." for i in range(40))
    pdfium_form.type("evidence-1", long + " The end.")
    pdfium_form.type("evidence-2", "Short.")
    filled = scorecard.with_name("long-evidence.pdf")
    pdfium_form.save(filled)

    def drawn_size(name: str) -> float:
        for page in PdfReader(filled).pages:
            for annot in page.get("/Annots", []):
                annot = annot.get_object()
                if annot.get("/T") == name:
                    stream = annot["/AP"]["/N"].get_object().get_data()
                    return float(re.findall(rb"([\d.]+) Tf", stream)[0])
        raise AssertionError(name)

    assert drawn_size("evidence-1") < 6 < drawn_size("evidence-2")
