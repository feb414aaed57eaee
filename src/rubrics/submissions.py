"""Reading what interviewers return: YAML/JSON, the HTML form's export, the filled PDF.

Every kind becomes one :class:`~rubrics.model.Submission`. Checking it against
its pack (right pack, a stage of the loop, only that stage's criteria) is
separate, so ``rubrics validate`` can check a file's shape without a pack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rubrics.errors import InvalidInput, Problem, problem, shorten
from rubrics.model import Submission
from rubrics.validation import validate_model
from rubrics.yamlio import Document, parse_yaml, read_bytes, read_document

MAX_SUBMISSION_BYTES = 2 * 1024 * 1024
MAX_CANDIDATE_ID = 100
"""The longest candidate id a pack can have (``rubrics pack`` refuses longer ones)."""
StageFields = dict[str, dict[str, list[str]]]
PDF_KEYWORDS = re.compile(r"rubrics-pack=(?P<pack>[^;\s]+);\s*rubrics-stage=(?P<stage>[^;\s]+)")


def read_submission_bytes(path: Path) -> bytes:
    """A returned file's bytes: a regular file of at most MAX_SUBMISSION_BYTES, read
    no further (never a device, a pipe or a folder; raises InvalidInput)."""
    return read_bytes(path, max_bytes=MAX_SUBMISSION_BYTES, what="a submission is at most")


def read_submission(path: Path, *, stage_fields: StageFields | None = None,
                    raw: bytes | None = None) -> tuple[Submission, Document]:
    """Parse one returned file into a Submission (raises InvalidInput with every problem).

    ``stage_fields`` (stage id -> criterion ids and red flags in scorecard order) is
    needed to read a PDF, whose fields are numbered in the order the scorecard shows.
    ``raw`` is the file's bytes when they were read already.
    """
    if raw is None:
        raw = read_submission_bytes(path)
    if raw.startswith(b"%PDF-"):
        doc = _pdf_document(path, raw, stage_fields)
    else:
        if path.suffix.lower() == ".pdf":
            raise InvalidInput([problem(path, "not a PDF file (no %PDF- header)")])
        doc = read_document(path, max_bytes=MAX_SUBMISSION_BYTES, raw=raw)
    doc.raw = raw
    if not isinstance(doc.data, dict):
        raise InvalidInput([doc.problem((), "a submission must be a mapping of keys to values")])
    problems = _overlong_candidate_id(doc)
    try:
        submission = validate_model(Submission, doc)
    except InvalidInput as exc:
        raise InvalidInput(problems + exc.problems) from None
    if problems:
        raise InvalidInput(problems)
    return submission, doc


def _overlong_candidate_id(doc: Document) -> list[Problem]:
    """A candidate id longer than any pack's (MAX_CANDIDATE_ID characters) is refused here,
    shortened in the message: it can match no candidate, and echoed in full a 2 MB id would
    flood the terminal."""
    value = doc.data.get("candidate_id")
    if not isinstance(value, str) or len(value) <= MAX_CANDIDATE_ID:
        return []
    return [doc.problem(("candidate_id",), f"candidate_id: '{shorten(value)}' is longer than "
                        f"a candidate id can be ({len(value):,} characters; at most "
                        f"{MAX_CANDIDATE_ID})")]


def _pdf_document(path: Path, raw: bytes, stage_fields: StageFields | None
                  ) -> Document:
    from rubrics.pdfforms import read_form

    name = str(path)
    try:
        values, info = read_form(raw)
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise InvalidInput([problem(name, f"cannot read the PDF form ({type(exc).__name__}: "
                                    f"{exc})")]) from None
    match = PDF_KEYWORDS.search(info.get("/Keywords", ""))
    if not match or not values:
        raise InvalidInput([problem(name, "not a rubrics scorecard PDF (no scorecard fields)")])
    stage = match["stage"]
    if stage_fields is None or stage not in stage_fields:
        raise InvalidInput([problem(name, f"the PDF is for stage '{stage}', which this pack's "
                                    "loop does not have")])
    fields = stage_fields[stage]
    return Document(path=name, data=pdf_values_to_submission(
        match["pack"], stage, values, fields["criteria"], fields["red_flags"]))


def pdf_values_to_submission(pack_id: str, stage: str, values: dict[str, str | None],
                             criteria: list[str], red_flags: list[str]) -> dict[str, Any]:
    """Map the scorecard PDF's field names back onto the submission format."""

    def text(key: str) -> str:
        return (values.get(key) or "").strip()

    ratings: dict[str, Any] = {}
    evidence: dict[str, str] = {}
    for n, cid in enumerate(criteria, 1):
        value = values.get(f"rating-{n}")
        ratings[cid] = int(value) if value in ("1", "2", "3", "4") else None
        if text(f"evidence-{n}"):
            evidence[cid] = text(f"evidence-{n}")
    flags = [flag for n, flag in enumerate(red_flags, 1) if values.get(f"red-flag-{n}")]
    recommendation = values.get("recommendation")
    return {
        "pack_id": pack_id,
        "stage": stage,
        "interviewer": text("interviewer"),
        "interviewer_email": text("interviewer_email") or None,
        "interviewed_on": text("interviewed_on") or None,
        "ratings": ratings,
        "evidence": evidence,
        "red_flags": flags,
        "notes": text("notes"),
        "recommendation": recommendation if recommendation not in (None, "Off") else None,
    }


def parse_submission_text(name: str, text: str) -> Submission:
    """Parse submission text (YAML or JSON) already in memory."""
    doc = parse_yaml(name, text)
    return validate_model(Submission, doc)


def validate_submission_file(path: Path) -> list[Problem]:
    """Shape-only check of a submission file (no pack): the problems found, if any.

    A filled PDF can only be read against its pack (its fields are numbered in the
    stage's order), so here it is only checked to be a rubrics scorecard.
    """
    try:
        raw = read_submission_bytes(path)
        if raw.startswith(b"%PDF-"):
            from rubrics.pdfforms import read_form

            _, info = read_form(raw)
            if not PDF_KEYWORDS.search(info.get("/Keywords", "")):
                return [problem(path, "not a rubrics scorecard PDF (no scorecard fields)")]
            return []
        read_submission(path, raw=raw)
    except InvalidInput as exc:
        return exc.problems
    except Exception as exc:  # pypdf raises many kinds on damaged files
        return [problem(path, f"cannot read the PDF form ({type(exc).__name__}: {exc})")]
    return []
