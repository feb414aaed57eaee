"""Fillable PDF scorecards: tidy WeasyPrint's form fields, read filled ones back.

WeasyPrint writes each radio group as one field whose on-states are indexes
(``/0``, ``/1``...) into ``/Opt``, with kids that also carry names. We rename the
states to the HTML values (``/1`` ... ``/4``, ``/na``) and make the kids plain
widgets, so that every viewer (PDFium/Chromium, pdf.js, Acrobat) records the
choice the same way. Reading back accepts all the ways viewers store a choice:
the parent's ``/V``, or only the kid widget's ``/AS`` (Acrobat style).
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from pypdf import PdfReader

# pypdf logs damage it works around ("EOF marker not found"); our callers turn real
# failures into one clear line, so keep its chatter off the terminal.
logging.getLogger("pypdf").addHandler(logging.NullHandler())
logging.getLogger("pypdf").propagate = False

RADIO_FLAG = 1 << 15
_STATE_OK = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _text(value: Any) -> str:
    raw = getattr(value, "string", value)
    return raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)


def form_finisher(keywords: str | None = None) -> Any:
    """A WeasyPrint ``finisher`` that tidies the form fields before the PDF is written.

    Working on WeasyPrint's in-memory PDF avoids reading the file back and rewriting
    it (which took a tenth of a pack's time and doubled the PDFs' size).
    """

    def finish(document: Any, pdf: Any) -> None:
        import pydyf

        def deref(ref: Any) -> Any:
            return pdf.objects[int(bytes(ref).split()[0])]

        acro = pdf.catalog.get("AcroForm")
        if acro is not None:
            kid_refs: set[bytes] = set()
            for ref in acro["Fields"]:
                field = deref(ref)
                if "DA" in field:
                    field["DA"] = pydyf.String(_appearance(field))
                if (field.get("FT") == "/Btn" and int(field.get("Ff", 0)) & RADIO_FLAG
                        and "Kids" in field):
                    _tidy_radio(field, deref, kid_refs)
            acro["Fields"] = pydyf.Array(r for r in acro["Fields"] if bytes(r) not in kid_refs)
        if keywords:
            pdf.info["Keywords"] = pydyf.String(keywords)

    return finish


MULTILINE_FLAG = 1 << 12


def _appearance(field: Any) -> str:
    """A field's default appearance: without WeasyPrint's graphics state (which readers
    do not carry over), and, in a box of several lines (evidence, notes), with font size 0
    so that readers shrink what was typed to fit: printed, no evidence is cut off."""
    appearance = re.sub(r"/\S+ gs\s*", "", _text(field["DA"]))
    if field.get("FT") == "/Tx" and int(field.get("Ff", 0)) & MULTILINE_FLAG:
        appearance = re.sub(r"[\d.]+ Tf", "0 Tf", appearance)
    return appearance


def _tidy_radio(field: Any, deref: Any, kid_refs: set[bytes]) -> None:
    """Kids become plain widgets of one field; states are named by their HTML values."""
    options = [_text(o) for o in field.get("Opt", [])]
    rename = (bool(options) and all(_STATE_OK.match(o) for o in options)
              and len(set(options)) == len(options))
    for kid_ref in field["Kids"]:
        kid_refs.add(bytes(kid_ref))
        kid = deref(kid_ref)
        for key in ("T", "TU", "FT"):
            kid.pop(key, None)
        if rename:
            normal = kid["AP"]["N"]
            for state in [s for s in list(normal) if str(s) != "Off"]:
                new = options[int(state)]
                normal[new] = normal.pop(state)
                if kid.get("AS") == f"/{state}":
                    kid["AS"] = f"/{new}"
    if rename:
        value = str(field.get("V", "/Off"))
        if value != "/Off" and value[1:].isdigit():
            field["V"] = "/" + options[int(value[1:])]
        field.pop("Opt", None)


def _button_state(field: Any) -> str | None:
    value = field.get("/V")
    kids = [k.get_object() for k in field.get("/Kids", [])]
    if (value is None or value == "/Off") and kids:
        on = [k["/AS"] for k in kids if k.get("/AS", "/Off") != "/Off"]
        value = on[0] if on else "/Off"
    if (value is None or value == "/Off") and field.get("/AS", "/Off") != "/Off":
        value = field["/AS"]
    if value is None or value == "/Off":
        return None
    state = str(value)[1:] if str(value).startswith("/") else str(value)
    options = field.get("/Opt")
    if options is not None and state.isdigit() and int(state) < len(options):
        state = str(options[int(state)])
    return state


def read_form(pdf: bytes) -> tuple[dict[str, str | None], dict[str, str]]:
    """The filled values of a PDF form by field name, and the document info."""
    reader = PdfReader(io.BytesIO(pdf))
    values: dict[str, str | None] = {}

    def walk(ref: Any, prefix: str) -> None:
        field = ref.get_object()
        name = prefix + str(field["/T"]) if "/T" in field else None
        kind = field.get("/FT")
        if kind is None and "/Parent" in field:
            kind = field["/Parent"].get_object().get("/FT")
        if kind == "/Btn" and name:
            values[name] = _button_state(field)
        elif kind in ("/Tx", "/Ch") and name:
            value = field.get("/V")
            values[name] = (None if value is None else
                            str(value).replace("\r\n", "\n").replace("\r", "\n"))
        else:
            for kid in field.get("/Kids", []):
                if "/T" in kid.get_object():
                    walk(kid, f"{name}." if name else "")

    root: Any = reader.trailer["/Root"]
    acro = root.get("/AcroForm")
    if acro is not None:
        for ref in acro.get_object().get("/Fields", []):
            if "/Parent" in ref.get_object():
                continue
            walk(ref, "")
    info = {str(k): str(v) for k, v in (reader.metadata or {}).items()}
    return values, info
