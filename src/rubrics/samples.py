"""Sample returned scorecards for a pack: for the demo, tests and benchmarks.

Fills each stage of a pack the way an interviewer would, cycling through the
three return formats: the blank YAML edited in place, the HTML form's saved
JSON file, and the fillable PDF filled in (with pypdf). Run it as
``python -m rubrics.samples PACK_DIR OUT_DIR``.
"""

from __future__ import annotations

import io
import json
import random
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from rubrics.fsutil import atomic_write
from rubrics.ids import slugify

# One interviewer a stage of the bundled role (seven stages), so that no two of its sample
# returns come from the same person.
INTERVIEWERS = ["Priya Raman", "Tomás Álvarez", "Grace Okafor", "Jonas Weber", "Mei Chen",
                "Sam Taylor", "Kwame Mensah"]
EVIDENCE = [
    "Described an idempotency key per transfer, stored with the ledger write in one "
    "transaction; explained the retry path when the partner times out.",
    "Walked through a reconciliation break they owned end to end, including the runbook "
    "they wrote afterwards.",
    "Explained the trade-off between a saga and a two-phase commit clearly to a "
    "non-technical listener.",
    "Only partial: named the failure mode but could not say how it would be detected.",
]


NOTES = [
    "Clear on ownership; less depth on reconciliation than I hoped.",
    "Strong on failure handling; design went straight to the happy path at first.",
    "Careful coder, wrote the idempotency test first; slow on the concurrency extension.",
    "Led two real incidents; the reviews she described had follow-ups that stuck.",
    "Found the double payout unprompted; explained it to the author without talking down.",
    "Mentoring examples were concrete; delegation story was thinner.",
    "Explained trade-offs to me in plain words; conceded a point gracefully.",
]


def sample_email(name: str) -> str:
    """A sample interviewer's work email, ASCII, from their name: ``tomas.alvarez@example.com``."""
    return slugify(name).replace("-", ".") + "@example.com"


def sample_answers(stage: dict[str, Any], n: int, seed: int, target: int = 5
                   ) -> dict[str, Any]:
    """Plausible ratings for one stage: stronger below the target level, weaker above."""
    rnd = random.Random(f"{seed}:{stage['id']}")  # noqa: S311 - sample data, not secrets
    ratings: dict[str, int | None] = {}
    evidence: dict[str, str] = {}
    for i, cid in enumerate(stage["criteria"]):
        match = re.search(r"\.l(\d+)\.", cid)
        level = int(match.group(1)) if match else target
        if i == len(stage["criteria"]) - 1 and n % 3 == 0:
            ratings[cid] = None  # one criterion not assessed, as happens
            continue
        base = 3 if level <= target else 2
        ratings[cid] = max(1, min(4, base + rnd.choice([0, 0, 0, 1, -1])))
        evidence[cid] = rnd.choice(EVIDENCE)
    return {
        "interviewer": INTERVIEWERS[n % len(INTERVIEWERS)],
        "interviewer_email": sample_email(INTERVIEWERS[n % len(INTERVIEWERS)]),
        "interviewed_on": "2026-11-20",
        "ratings": ratings,
        "evidence": evidence,
        "red_flags": [],
        "notes": NOTES[n % len(NOTES)],
        "recommendation": "yes" if rnd.random() < 0.8 else "strong_yes",
    }


def fill_yaml(blank: str, answers: dict[str, Any]) -> str:
    """Edit the blank YAML scorecard the way a person would in an editor."""
    text = blank.replace('interviewer: ""', f"interviewer: {json.dumps(answers['interviewer'])}", 1)
    text = text.replace('interviewer_email: ""', f"interviewer_email: {answers['interviewer_email']}", 1)
    text = text.replace('interviewed_on: ""', f"interviewed_on: \"{answers['interviewed_on']}\"", 1)
    for cid, value in answers["ratings"].items():
        text = text.replace(f"  {cid}: null", f"  {cid}: {'null' if value is None else value}", 1)
    for cid, value in answers["evidence"].items():
        text = text.replace(f'  {cid}: ""', f"  {cid}: {json.dumps(value, ensure_ascii=False)}", 1)
    text = text.replace('notes: ""', f"notes: {json.dumps(answers['notes'])}", 1)
    return text.replace("recommendation: null", f"recommendation: {answers['recommendation']}", 1)


def html_export(manifest: dict[str, Any], stage_id: str, answers: dict[str, Any]) -> str:
    """The file the HTML scorecard's "Save submission" button downloads."""
    data = {"format": "rubrics-submission/1", "pack_id": manifest["pack_id"], "stage": stage_id,
            "candidate_id": manifest["candidate"]["id"], **answers}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def fill_pdf(pdf: bytes, stage: dict[str, Any], answers: dict[str, Any]) -> bytes:
    """Fill the scorecard's PDF form fields with pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import BooleanObject, NameObject

    values: dict[str, Any] = {
        "interviewer": answers["interviewer"],
        "interviewer_email": answers["interviewer_email"],
        "interviewed_on": answers["interviewed_on"],
        "notes": answers["notes"],
        "recommendation": "/" + answers["recommendation"],
    }
    for n, cid in enumerate(stage["criteria"], 1):
        rating = answers["ratings"].get(cid)
        values[f"rating-{n}"] = "/na" if rating is None else f"/{rating}"
        if cid in answers["evidence"]:
            values[f"evidence-{n}"] = answers["evidence"][cid]
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    with warnings.catch_warnings():
        # pypdf warns that the subset font lacks an encoding table for generated appearances
        warnings.simplefilter("ignore")
        writer.update_page_form_field_values(None, values, auto_regenerate=False)
    acro: Any = writer._root_object["/AcroForm"]
    acro[NameObject("/NeedAppearances")] = BooleanObject(True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_samples(pack_dir: Path, out_dir: Path, *, seed: int = 7,
                  kinds: tuple[str, ...] = ("yaml", "json", "pdf")) -> list[Path]:
    """One sample return per stage of the pack, cycling through ``kinds``; the files written."""
    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    written = []
    for n, stage in enumerate(manifest["stages"]):
        answers = sample_answers(stage, n, seed)
        kind = kinds[n % len(kinds)]
        sid = stage["id"]
        if kind == "yaml":
            blank = (pack_dir / "scorecards" / f"{sid}.yaml").read_text(encoding="utf-8")
            data = fill_yaml(blank, answers).encode("utf-8")
            path = out_dir / f"{sid}.yaml"
        elif kind == "json":
            data = html_export(manifest, sid, answers).encode("utf-8")
            path = out_dir / f"{sid}--{answers['interviewer'].split()[0].lower()}.json"
        else:
            pdf_path = pack_dir / "scorecards" / f"{sid}.pdf"
            if not pdf_path.is_file():
                continue
            data = fill_pdf(pdf_path.read_bytes(), stage, answers)
            path = out_dir / f"{sid}-filled.pdf"
        atomic_write(path, data)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m rubrics.samples PACK_DIR OUT_DIR", file=sys.stderr)
        return 2
    for path in write_samples(Path(argv[0]), Path(argv[1])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
