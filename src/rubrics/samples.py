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

MM = "money-movement-correctness"
OPS = "operational-excellence"
DESIGNS = "mastery.l5.produces-clear-technical-designs-for-large-complex-projects"
OWNS_DECISIONS = "leadership.l5.owns-technical-decisions-with-high-risk-and-low"
ENGINEERS_AROUND = "influence.l6.engineers-around-them-get-better-and-have-a"
NON_TECHNICAL = "communication.l5.talks-to-non-technical-stakeholders-on-appropriate-level"
IDEMPOTENT_ORCHESTRATION = f"{MM}.l5.designs-idempotent-transfer-orchestration"
UNKNOWN_OUTCOMES = f"{MM}.l5.resolves-unknown-outcomes-safely"
BLAST_RADIUS = f"{OPS}.l5.designs-for-small-blast-radius"

# What each interviewer of the bundled role wrote about Ada: a strong senior candidate (level
# 5 on money-movement correctness, design and incident leadership) with one real weakness
# (alerting and on-call signals: she thinks in dashboards, not in what pages), little yet at
# level 6, and one mild disagreement (blast radius: 3 in system design, where she needed the
# prompt, 4 in the design review, where she found it alone). Stage id -> interviewer,
# recommendation, notes, and per focus criterion its rating and the evidence for it.
STORY: dict[str, dict[str, Any]] = {
    "hiring-manager-conversation": {
        "interviewer": "Priya Raman", "recommendation": "yes",
        "notes": "Clear, concrete and honest about what was hers and what was her director's. "
                 "Strongest on framing ambiguous work. Less evidence that her influence outlasts "
                 "her involvement: worth probing in the leadership interview.",
        "ratings": {
            "impact.l6.accountable-for-delivery-of-large-mission-critical": (
                2, "Owned the ledger and reconciliation services inside the payouts programme "
                   "and answered for their incidents; delivery of the programme as a whole sat "
                   "with her director. Clear about which calls were hers."),
            "impact.l5.solves-larger-ambiguous-problems": (
                4, "Was handed 'make payouts work in six new corridors' with no spec. Framed it "
                   "as a partner-capability problem, dropped building per corridor with numbers, "
                   "shipped two corridors first, and re-sequenced when a partner's sandbox "
                   "slipped by a quarter."),
            ENGINEERS_AROUND: (
                2, "Good examples of advice in reviews. Asked what others now decide well "
                   "without her, she named one engineer and could not say what had stuck."),
            NON_TECHNICAL: (
                4, "Two-minute executive version was excellent: 'if the reconciler stops, we "
                   "cannot tell customers whether their money arrived, and Operations start "
                   "paying out twice by hand.' Checked I had understood and said which decision "
                   "I would need to make."),
        },
    },
    "system-design-money-movement": {
        "interviewer": "Tomás Álvarez", "recommendation": "yes",
        "notes": "Correctness thinking is where we need it: the state machine and the key "
                 "carried to the partner were there before I probed. Observability is the gap: "
                 "she thinks in dashboards, not in the signals that page someone. I would want "
                 "that covered in her first months.",
        "ratings": {
            IDEMPOTENT_ORCHESTRATION: (
                4, "Persisted state machine (created, funds reserved, submitted, unknown, "
                   "settled, failed, reversed), each transition written before the partner call, "
                   "the idempotency key carried to the partner, an outbox for events. Said "
                   "unprompted that releasing the hold is the only compensation, and that the "
                   "design guarantees one submission per key, not exactly-once delivery."),
            UNKNOWN_OUTCOMES: (
                3, "A timeout moves the transfer to unknown, resolved by a status inquiry with "
                   "the same key; funds stay held until the outcome is known. Duplicate callbacks "
                   "handled by the state machine; the out-of-order callback needed a prompt."),
            BLAST_RADIUS: (
                3, "Once I introduced partner A failing 30% of requests, she moved to "
                   "per-partner queues and worker pools and a circuit breaker, and named what "
                   "still fails (payouts already sent to A wait). Did not raise isolation "
                   "before I asked."),
            f"{OPS}.l4.instruments-services-with-actionable-alerts": (
                2, "Error-rate and latency dashboards per service. Asked what pages the on-call "
                   "engineer at 3am, she said the error-rate alert. Age of unknown transfers and "
                   "reconciliation breaks came only when prompted, and then as dashboards."),
            DESIGNS: (
                3, "Spent the first eight minutes on requirements (volumes, currencies, the "
                   "payout promise), kept the diagram coherent, and stated the main trade-offs: "
                   "asynchronous submission, one ledger database rather than one per currency."),
        },
    },
    "coding-correctness-concurrency": {
        "interviewer": "Grace Okafor", "recommendation": "strong_yes",
        "notes": "Best session I have had on this exercise in a while: test first for the "
                 "duplicate key, and she caught her own rounding bug. Rushed on extension 2, "
                 "but the reasoning was right.",
        "ratings": {
            f"{MM}.l4.implements-idempotent-money-operations": (
                4, "Stored the key in the same transaction as the ledger entries, under a unique "
                   "constraint; a repeat returns the stored result, a reused key with a "
                   "different amount is rejected. Her concurrent test (two threads, a barrier) "
                   "failed before she added the constraint."),
            f"{MM}.l4.models-money-with-double-entry": (
                4, "Integer minor units with the currency on every entry; the fee booked as its "
                   "own entry to the fee account; a test checks the books balance after every "
                   "transfer."),
            f"{MM}.l5.prices-transfers-reproducibly": (
                3, "Price version stored with the transfer and honoured on retry; rounding "
                   "explicit (half-even, remainder to the fee account). No test for a price "
                   "change between attempts: she described the one she would write."),
            UNKNOWN_OUTCOMES: (
                3, "Reached extension 2 with twelve minutes left: intent persisted before the "
                   "stub call, a timeout marked unknown and resolved by a status call with the "
                   "same key. Did not get to measuring the age of unknown transfers."),
            "mastery.l4.writes-code-that-serves-as-a-definitive-example": (
                3, "Small functions named after what the money does (reserve_funds, book_fee), "
                   "tests for the duplicate and failure paths, and a concurrent test that really "
                   "races. Some copied setup between tests."),
        },
    },
    "deep-dive-ownership-incidents": {
        "interviewer": "Jonas Weber", "recommendation": "yes",
        "notes": "Calm, precise incident leader who owns what went wrong without drama. Less "
                 "strong on turning the lessons into practice other teams keep up.",
        "ratings": {
            DESIGNS: (
                4, "Presented her reconciliation pipeline: partner files to matching to a queue "
                   "of breaks, the consistency boundary at the ledger, and why matching is batch "
                   "rather than streaming. Would now reverse sharing one Postgres between the "
                   "matcher and the ledger, and said what the split would cost."),
            "mastery.l5.implements-performance-improvements-that-impact-multiple": (
                3, "Traced payout p99 latency to the connection pool of the shared ledger "
                   "client, fixed it, and measured p99 from 2.1 s to 600 ms across payouts, "
                   "refunds and FX."),
            "mastery.l6.makes-improvements-to-the-stability-performance-or-security": (
                2, "The client fix reached the three services that used that client; she did "
                   "not take it to the rest of the platform."),
            "impact.l5.leads-incident-resolutions": (
                4, "Led the duplicate-payout incident (about 1,400 payouts sent twice after a "
                   "partner retry storm): named an incident lead and a comms lead, paused the "
                   "retry job, had the money at risk quantified within the hour, and ran the "
                   "review that found the missing partner-side key."),
            f"{OPS}.l6.sets-reliability-practice-others-follow": (
                2, "After the incident she wrote a runbook and added a check to her service. "
                   "Asked how she knows other teams follow it, she did not know."),
        },
    },
    "design-review-exercise": {
        "interviewer": "Mei Chen", "recommendation": "strong_yes",
        "notes": "This is the review I want on our riskiest changes: firm on what can lose "
                 "money, relaxed about the rest, and the author left knowing how to find the "
                 "next one.",
        "ratings": {
            OWNS_DECISIONS: (
                4, "Blocked on exactly two things, the partner call inside the database "
                   "transaction and the retry job resending on timeout, saying how each loses "
                   "money; left table names and the queue library to the author, explicitly."),
            IDEMPOTENT_ORCHESTRATION: (
                4, "Found the double payout in the retry job within six minutes, unprompted, and "
                   "asked for an unknown state, the same key to the partner, and a status "
                   "inquiry before any resend."),
            BLAST_RADIUS: (
                4, "Found both planted issues (the partner call holding a connection, retries "
                   "unbounded across partners) and asked for a retry budget per partner, a kill "
                   "switch on the job and a staged rollout."),
            f"{MM}.l5.owns-ledger-invariants-and-reconciliation": (
                3, "Asked how retried payouts and their fees are matched against the partner's "
                   "settlement report, and for an alert on unmatched entries. Did not get to "
                   "reversing the fee of a failed payout."),
            "communication.l5.helps-other-people-develop-themselves-and-regularly-gives": (
                3, "Separated must-fix from suggestions, drew the timeout case as a sequence "
                   "so the author could find the next one, and when the author pushed back "
                   "conceded the batching point and held on the double payout."),
        },
    },
    "leadership-mentoring": {
        "interviewer": "Sam Taylor", "recommendation": "yes",
        "notes": "A concrete mentoring story with a real outcome. Her standards live mostly in "
                 "her own reviews so far: a good level-5 profile, not yet level 6.",
        "ratings": {
            ENGINEERS_AROUND: (
                3, "Mentored a senior engineer towards leading reconciliation: handed her the "
                   "incident reviews to run, with feedback after each. That engineer now runs "
                   "them and has trained two others."),
            "leadership.l5.works-with-relevant-engineering-managers-to-help-other": (
                3, "Agreed the growth goal with the engineer's manager, met monthly, and "
                   "changed the plan together when the engineer was pulled onto a migration."),
            OWNS_DECISIONS: (
                3, "Blocked a move to eventually consistent balances, with the money at risk "
                   "and an alternative; left the choice of message broker to the team lead."),
            f"{MM}.l6.sets-money-correctness-standards-others-adopt": (
                2, "Introduced an idempotency checklist in her team's reviews; outside the team "
                   "it spread by word of mouth, and she could not point to anything that keeps "
                   "it followed."),
        },
    },
    "stakeholder-partnership": {
        "interviewer": "Kwame Mensah", "recommendation": "yes",
        "notes": "Easy to work with and never hid behind jargon. A little quick to offer a "
                 "technical fix before hearing Operations out, but she caught herself.",
        "ratings": {
            NON_TECHNICAL: (
                3, "Explained holding payouts in an unknown state instead of refunding, in our "
                   "terms: a day's delay for about 0.3% of customers against the risk of paying "
                   "twice. Gave us two options and said which she would pick."),
            "impact.l5.helps-prioritise-and-balance-short-term-and-long": (
                3, "Product wanted same-day payouts with a new partner within a month; she "
                   "proposed launching with a volume cap and manual reconciliation for two weeks "
                   "while matching was automated, and changed the cap when Risk showed fraud "
                   "numbers."),
            "influence.l4.asks-why-does-not-take-truths-for-granted": (
                4, "Before pushing back on a Risk rule she asked where it came from (a "
                   "regulator's finding) and reshaped her design around it instead of arguing."),
        },
    },
}

GENERIC_EVIDENCE = "Discussed it with a worked example from their own work; see my notes."
GENERIC_NOTES = "Ratings follow the anchors on the scorecard; evidence noted per criterion."


def sample_email(name: str) -> str:
    """A sample interviewer's work email, ASCII, from their name: ``tomas.alvarez@example.com``."""
    return slugify(name).replace("-", ".") + "@example.com"


def sample_answers(stage: dict[str, Any], n: int, seed: int, target: int = 5,
                   on: str = "2026-11-20") -> dict[str, Any]:
    """One interviewer's return for one stage, interviewed ``on`` (an ISO date): for the
    bundled role, what its interviewer wrote (``STORY``); for a criterion or stage it does
    not know, plausible ratings (stronger at or below the target level, weaker above) with
    a short generic note."""
    told = STORY.get(stage["id"], {})
    rnd = random.Random(f"{seed}:{stage['id']}")  # noqa: S311 - sample data, not secrets
    ratings: dict[str, int | None] = {}
    evidence: dict[str, str] = {}
    for cid in stage["criteria"]:
        if cid in told.get("ratings", {}):
            ratings[cid], evidence[cid] = told["ratings"][cid]
            continue
        match = re.search(r"\.l(\d+)\.", cid)
        level = int(match.group(1)) if match else target
        ratings[cid] = max(1, min(4, (3 if level <= target else 2) + rnd.choice([0, 0, 1, -1])))
        evidence[cid] = GENERIC_EVIDENCE
    who = told.get("interviewer", INTERVIEWERS[n % len(INTERVIEWERS)])
    return {
        "interviewer": who,
        "interviewer_email": sample_email(who),
        "interviewed_on": on,
        "ratings": ratings,
        "evidence": evidence,
        "red_flags": [],
        "notes": told.get("notes", GENERIC_NOTES),
        "recommendation": told.get("recommendation", "yes"),
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
    """One sample return per stage of the pack, cycling through ``kinds`` (the blank YAML
    where the pack has no scorecard of the kind), each interviewed on the day the pack was
    made; the files written."""
    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    made_on = manifest["created_at"][:10]  # an ISO timestamp: its date
    written = []
    for n, stage in enumerate(manifest["stages"]):
        answers = sample_answers(stage, n, seed, on=made_on)
        sid = stage["id"]
        kind = _kind_in_pack(pack_dir / "scorecards", sid, kinds[n % len(kinds)])
        if kind == "yaml":
            blank = (pack_dir / "scorecards" / f"{sid}.yaml").read_text(encoding="utf-8")
            data = fill_yaml(blank, answers).encode("utf-8")
            path = out_dir / f"{sid}.yaml"
        elif kind == "json":
            data = html_export(manifest, sid, answers).encode("utf-8")
            path = out_dir / f"{sid}--{answers['interviewer'].split()[0].lower()}.json"
        else:
            pdf = (pack_dir / "scorecards" / f"{sid}.pdf").read_bytes()
            data = fill_pdf(pdf, stage, answers)
            path = out_dir / f"{sid}-filled.pdf"
        atomic_write(path, data)
        written.append(path)
    return written


def _kind_in_pack(scorecards: Path, stage_id: str, kind: str) -> str:
    """``kind`` if the pack has the scorecard it is filled from (the HTML form saves the
    JSON, the PDF is filled in), else the blank YAML every pack has."""
    source = {"json": f"{stage_id}.html", "pdf": f"{stage_id}.pdf"}.get(kind)
    return kind if source is None or (scorecards / source).is_file() else "yaml"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m rubrics.samples PACK_DIR OUT_DIR", file=sys.stderr)
        return 2
    for path in write_samples(Path(argv[0]), Path(argv[1])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
