"""The debrief record: what the hiring panel decided, why, and how it resolved each flag.

``rubrics decide`` appends a ``decision`` entry to the pack's hash-chained log, so
``verify`` covers it and nothing can quietly rewrite it. A later decision supersedes an
earlier one; both stay in the log. The record keeps the mechanical recommendation the
panel saw, so an override (a decision or level that differs from it) is visible with
its reason, and every flag of that report is either resolved (with the panel's words)
or explicitly left open (with the reason it was).
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrics.aggregation.decision import HIRE_SIDE
from rubrics.errors import InvalidInput, Problem, problem
from rubrics.fsutil import sha256_file
from rubrics.log import DECISION, SUBMISSION, LogEntry, next_seq, now
from rubrics.model import LevelBand, unsafe_text
from rubrics.packdir import Pack
from rubrics.store import Hold, PackWrite, folder_hold
from rubrics.verify import PackRecord, read_record

DECISIONS = ("hire", "no_hire")
MAX_TEXT = 5_000


@dataclass(frozen=True)
class Resolution:
    """How the panel resolved one flag, and where it said so (for error messages)."""

    flag: str
    text: str
    path: str = "--resolve"
    line: int | None = None
    column: int | None = None

    def problem(self, message: str) -> Problem:
        return problem(self.path, f"{self.flag}: {message}", self.line, self.column)


@dataclass(frozen=True)
class PanelDecision:
    """What the panel says: the arguments of ``rubrics decide``."""

    decision: str
    reason: str
    by: str
    level: int | None = None
    resolutions: tuple[Resolution, ...] = ()
    force_unresolved: str | None = None
    """Why flags are left open, when the panel decides without resolving them all."""


@dataclass(frozen=True)
class Recorded:
    seq: int
    decision: str
    level: int | None
    override: str | None
    left_open: list[str]
    supersedes: int | None


HINT = ("resolve each flag with --resolve ID=TEXT or a --resolutions FILE (rubrics aggregate "
        "PACK --format resolutions writes one to fill in), or decide with them open using "
        "--force-unresolved \"why\"")


def decide(pack_dir: Path, said: PanelDecision, *, hold: Hold = folder_hold) -> Recorded:
    """Record the panel's decision on a pack, after checking it against the pack's report.

    Every problem (arguments, levels, flags) is reported at once, and nothing is written
    unless there are none."""
    from rubrics.recommend import recommend
    from rubrics.submit import check_writable

    problems = _argument_problems(said)
    pack = Pack.open(pack_dir)
    with hold(pack) as writer:
        inspected = check_writable(pack)
        entries = inspected.entries
        report = recommend(read_record(inspected))
        level, level_problems = _level(pack, report, said)
        flag_problems, unresolved = _flag_problems(report, said)
        problems += level_problems + flag_problems
        if problems:
            raise InvalidInput(problems, HINT if unresolved else None)
        return _record(pack, writer(entries), entries, report, said, level)


def _text_problem(text: str, *, single_line: bool) -> str | None:
    """Why a text of the record cannot be kept: empty (or only invisible characters), too
    long, or holding characters that would let a report show what the record does not."""
    if not "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip():
        return "must not be empty"
    if len(text) > MAX_TEXT:
        return f"is longer than {MAX_TEXT:,} characters"
    return unsafe_text(text, single_line=single_line)


def _argument_problems(said: PanelDecision) -> list[Problem]:
    problems: list[Problem] = []
    if said.decision not in DECISIONS:
        problems.append(problem("--decision", f"must be hire or no_hire (got {said.decision!r})"))
    for name, text, single in (("--reason", said.reason, False), ("--by", said.by, True)):
        why = _text_problem(text, single_line=single)
        if why:
            problems.append(problem(name, why))
    if said.decision == "no_hire" and said.level is not None:
        problems.append(problem("--level", "a no_hire decision has no level; leave --level out"))
    seen: set[str] = set()
    for res in said.resolutions:
        if res.flag in seen:
            problems.append(res.problem("resolved twice"))
        seen.add(res.flag)
        why = _text_problem(res.text, single_line=False)
        if why == "must not be empty":
            problems.append(res.problem("say how the panel resolved it (text)"))
        elif why:
            problems.append(res.problem(why))
    if said.force_unresolved is not None:
        why = _text_problem(said.force_unresolved, single_line=False)
        if why:
            problems.append(problem("--force-unresolved", "say why the flags are left open"
                                    if why == "must not be empty" else why))
    return problems


def gather_resolutions(args: list[str], path: Path | None) -> list[Resolution]:
    """Resolutions from ``--resolve FLAG_ID=TEXT`` arguments and a resolutions file."""
    found, bad = [], []
    for item in args:
        flag_id, sep, text = item.partition("=")
        if not sep or not flag_id.strip():
            bad.append(problem("--resolve", f"{item!r}: write FLAG_ID=TEXT"))
        found.append(Resolution(flag_id.strip(), text))
    if bad:
        raise InvalidInput(bad)
    return found + (read_resolutions(path) if path is not None else [])


def read_resolutions(path: Path) -> list[Resolution]:
    """Flag resolutions from a YAML (or JSON) file: ``flag-id: how it was resolved``."""
    from rubrics.yamlio import read_document

    doc = read_document(path)
    if not isinstance(doc.data, dict):
        raise InvalidInput([doc.problem((), "a resolutions file maps flag ids to text, "
                                        "e.g. 'disagreement-3fa2c1: discussed; the 4 stands'")])
    found = []
    for key, value in doc.data.items():
        where = doc.problem((key,), "")
        text = value if isinstance(value, str) else ""
        found.append(Resolution(str(key), text, where.path, where.line, where.column))
    return found


def _level(pack: Pack, report: dict[str, Any], said: PanelDecision
           ) -> tuple[int | None, list[Problem]]:
    if said.decision != "hire":
        return None, []
    fw = pack.loop.framework
    if said.level is None:
        level = report["recommended_level"]
        if level is None or report["recommended_below"] or report["evidence_outcome"] is None:
            return None, [problem("--level", "the rule recommends no level to hire at "
                                  f"({report['decision'].replace('_', ' ')}); give --level N")]
        return int(level), []
    if not fw.min_level <= said.level <= fw.max_level:
        return None, [problem("--level", f"level {said.level} is not a level of framework "
                              f"'{fw.id}' ({fw.min_level}-{fw.max_level})")]
    return said.level, []


def _flag_problems(report: dict[str, Any], said: PanelDecision) -> tuple[list[Problem], bool]:
    """Resolutions of flags the report does not have, and flags left unresolved (unless
    the panel leaves them open on purpose); and whether any is unresolved."""
    flags = {f["id"]: f for f in report["flags"]}
    problems = []
    for res in said.resolutions:
        if res.flag not in flags:
            close = difflib.get_close_matches(res.flag, list(flags), n=1, cutoff=0.6)
            known = (f" (did you mean {close[0]}?)" if close else
                     f" (its flags: {', '.join(flags) or 'none'})")
            problems.append(res.problem(f"no such flag in this pack's report{known}"))
    resolved = {res.flag for res in said.resolutions}
    open_flags = [f for fid, f in flags.items() if fid not in resolved]
    if open_flags and said.force_unresolved is None:
        problems += [problem("--resolve", f"{f['id']}: not resolved: {f['message']}")
                     for f in open_flags]
        return problems, True
    return problems, False


def _record(pack: Pack, write: PackWrite, entries: list[LogEntry], report: dict[str, Any],
            said: PanelDecision, level: int | None) -> Recorded:
    flags = {f["id"]: f for f in report["flags"]}
    texts = {res.flag: res.text.strip() for res in said.resolutions}
    left_open = [f for fid, f in flags.items() if fid not in texts]
    override = override_of(report, said.decision, level, pack.loop.role.band)
    previous = [e for e in entries if e.kind == DECISION]
    seq = next_seq(entries)
    data = {
        "seq": seq,
        "kind": DECISION,
        "recorded_at": now(),
        "pack_id": pack.pack_id,
        "manifest_sha256": sha256_file(pack.path / "manifest.json"),
        "decision": {
            "decision": said.decision,
            "level": level,
            "reason": said.reason.strip(),
            "by": said.by.strip(),
            "override": override,
            "resolutions": [{"flag": fid, "kind": flags[fid]["kind"],
                             "message": flags[fid]["message"], "resolution": text}
                            for fid, text in texts.items()],
            "left_open": [{"flag": f["id"], "kind": f["kind"], "message": f["message"]}
                          for f in left_open],
            "left_open_reason": said.force_unresolved.strip() if left_open and
            said.force_unresolved else None,
            "recommendation": _snapshot(report),
            "counted_submissions": [r["submission"] for r in report["recommendations"]
                                    if r["counted"]],
            "supersedes": previous[-1].seq if previous else None,
        },
    }
    write.append([data])
    return Recorded(seq, said.decision, level, override, [f["id"] for f in left_open],
                    previous[-1].seq if previous else None)


def override_of(report: dict[str, Any], decision: str, level: int | None, band: LevelBand
                ) -> str | None:
    """How the panel's decision departs from the mechanical recommendation, if it does."""
    parts = []
    rec = report["decision"]
    outcome = report["evidence_outcome"] if rec == "needs_discussion" else rec
    if rec in ("incomplete", "insufficient_evidence"):
        parts.append(f"decided although the rule could not recommend ({rec.replace('_', ' ')})")
    elif (decision == "hire") != (outcome in HIRE_SIDE):
        parts.append(f"decision: the panel decided {decision.replace('_', ' ')}; the ratings "
                     f"say {outcome.replace('_', ' ')}")
    elif decision == "hire" and level != report["recommended_level"]:
        parts.append(f"level: the panel hires at level {level}; the recommendation is level "
                     f"{report['recommended_level']}")
    if decision == "hire" and level is not None and not band.min <= level <= band.max:
        parts.append(f"level {level} is outside the role's band {band.min}-{band.max}")
    return "; ".join(parts) or None


def resolutions_template(report: dict[str, Any]) -> str:
    """A resolutions file for a pack's report, for the debrief to fill in: every flag id
    with its message above it, and an empty resolution (``rubrics decide --resolutions``)."""
    who = report["candidate"].get("name") or report["candidate"].get("id") or "the candidate"
    lines = [f"# How the panel resolved each flag of the report for {who} "
             f"(pack {report['pack_id']}).",
             "# Write what the panel concluded after each id, then:",
             "#   rubrics decide PACK_DIR --decision hire|no_hire --reason \"...\" --by \"...\" "
             "--resolutions THIS_FILE",
             "# An id left empty or removed is an unresolved flag (see --force-unresolved)."]
    for f in report["flags"]:
        held = ", holds up the outcome" if f["blocking"] else ""
        lines += ["", f"# {f['kind'].replace('_', ' ')}{held}: {' '.join(f['message'].split())}",
                  f'{f["id"]}: ""']
    if not report["flags"]:
        lines += ["", "# The report has no flags: nothing to resolve."]
    return "\n".join(lines) + "\n"


def _snapshot(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("decision", "evidence_outcome", "recommended_level",
                                   "recommended_below", "sub_level", "fragile")} | {
        "confidence": report["confidence"]["level"], "rule_version": report["rule"]["version"]}


def panel_view(record: PackRecord, report: dict[str, Any]) -> dict[str, Any] | None:
    """The panel's latest decision as a report shows it, beside the recommendation."""
    decisions = record.decisions
    if not decisions:
        return None
    entry = decisions[-1]
    d = entry.data["decision"]
    # a resolution answers the flag as it read then: if new evidence changed it, it is open
    resolved = {(r["flag"], r["message"]) for r in d.get("resolutions", [])}
    later = [e for e in record.entries if e.kind == SUBMISSION and e.seq > entry.seq]
    return {
        "entry": entry.ref,
        "recorded_at": entry.data.get("recorded_at"),
        "by": d.get("by"),
        "decision": d["decision"],
        "level": d.get("level"),
        "reason": d.get("reason"),
        "override": d.get("override"),
        "resolutions": d.get("resolutions", []),
        "left_open": d.get("left_open", []),
        "left_open_reason": d.get("left_open_reason"),
        "recommendation_then": d.get("recommendation"),
        "unresolved_now": [f["id"] for f in report["flags"]
                           if (f["id"], f["message"]) not in resolved],
        "after_decision": [{"submission": e.ref, "stage": e.stage, "interviewer": e.interviewer,
                            "accepted_at": e.data.get("accepted_at"),
                            "amends": None if e.amends is None else f"{e.amends:04d}"}
                           for e in later],
        "earlier": [{"entry": e.ref, "recorded_at": e.data.get("recorded_at"),
                     "by": e.data["decision"].get("by"),
                     "decision": e.data["decision"]["decision"],
                     "level": e.data["decision"].get("level")} for e in decisions[:-1]],
    }
