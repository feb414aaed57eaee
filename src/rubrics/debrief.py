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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrics.aggregation.decision import HIRE_SIDE
from rubrics.errors import InvalidInput, Problem, problem
from rubrics.fsutil import sha256_file
from rubrics.log import DECISION, SUBMISSION, LogEntry, append, next_seq, now, read_log
from rubrics.packdir import Pack
from rubrics.verify import PackRecord, load_record

DECISIONS = ("hire", "no_hire")
MAX_TEXT = 5_000


@dataclass(frozen=True)
class PanelDecision:
    """What the panel says: the arguments of ``rubrics decide``."""

    decision: str
    reason: str
    by: str
    level: int | None = None
    resolutions: tuple[tuple[str, str], ...] = ()
    """(flag id, how the panel resolved it), in the order given."""
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


def decide(pack_dir: Path, said: PanelDecision) -> Recorded:
    """Record the panel's decision on a pack, after checking it against the pack's report."""
    from rubrics.submit import check_writable, locked

    _check_arguments(said)
    pack = Pack.open(pack_dir)
    with locked(pack):
        entries = read_log(pack.submissions_dir)
        check_writable(pack, entries)
        return _record(pack, entries, said)


def _check_arguments(said: PanelDecision) -> None:
    problems: list[Problem] = []
    if said.decision not in DECISIONS:
        problems.append(problem("--decision", f"must be hire or no_hire (got {said.decision!r})"))
    for name, text in (("--reason", said.reason), ("--by", said.by)):
        if not text.strip():
            problems.append(problem(name, "must not be empty"))
        elif len(text) > MAX_TEXT:
            problems.append(problem(name, f"is longer than {MAX_TEXT:,} characters"))
    if said.decision == "no_hire" and said.level is not None:
        problems.append(problem("--level", "a no_hire decision has no level; leave --level out"))
    seen: set[str] = set()
    for flag_id, text in said.resolutions:
        if flag_id in seen:
            problems.append(problem("--resolve", f"{flag_id}: resolved twice"))
        seen.add(flag_id)
        if not text.strip():
            problems.append(problem("--resolve", f"{flag_id}: say how the panel resolved it"))
    if said.force_unresolved is not None and not said.force_unresolved.strip():
        problems.append(problem("--force-unresolved", "say why the flags are left open"))
    if problems:
        raise InvalidInput(problems)


def gather_resolutions(args: list[str], path: Path | None) -> list[tuple[str, str]]:
    """(flag id, text) pairs from ``--resolve FLAG_ID=TEXT`` arguments and a resolutions file."""
    pairs, bad = [], []
    for item in args:
        flag_id, sep, text = item.partition("=")
        if not sep or not flag_id.strip():
            bad.append(problem("--resolve", f"{item!r}: write FLAG_ID=TEXT"))
        pairs.append((flag_id.strip(), text))
    if bad:
        raise InvalidInput(bad)
    return pairs + (read_resolutions(path) if path is not None else [])


def read_resolutions(path: Path) -> list[tuple[str, str]]:
    """Flag resolutions from a YAML (or JSON) file: ``flag-id: how it was resolved``."""
    from rubrics.yamlio import read_document

    doc = read_document(path)
    if not isinstance(doc.data, dict):
        raise InvalidInput([doc.problem((), "a resolutions file maps flag ids to text, "
                                        "e.g. 'disagreement-3fa2c1: discussed; the 4 stands'")])
    problems, pairs = [], []
    for key, value in doc.data.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(doc.problem((key,), f"{key}: say how the panel resolved it (text)"))
        else:
            pairs.append((str(key), value))
    if problems:
        raise InvalidInput(problems)
    return pairs


def _record(pack: Pack, entries: list[LogEntry], said: PanelDecision) -> Recorded:
    from rubrics.recommend import recommend

    record = load_record(pack)
    report = recommend(record)
    level = _level(pack, report, said)
    flags = {f["id"]: f for f in report["flags"]}
    _check_flags(flags, said)
    resolved = dict(said.resolutions)
    left_open = [f for fid, f in flags.items() if fid not in resolved]
    override = override_of(report, said.decision, level)
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
                             "message": flags[fid]["message"], "resolution": text.strip()}
                            for fid, text in said.resolutions],
            "left_open": [{"flag": f["id"], "kind": f["kind"], "message": f["message"]}
                          for f in left_open],
            "left_open_reason": said.force_unresolved.strip() if left_open and
            said.force_unresolved else None,
            "recommendation": _snapshot(report),
            "counted_submissions": [r["submission"] for r in report["recommendations"]],
            "supersedes": previous[-1].seq if previous else None,
        },
    }
    append(pack.submissions_dir, entries, [data])
    return Recorded(seq, said.decision, level, override, [f["id"] for f in left_open],
                    previous[-1].seq if previous else None)


def _level(pack: Pack, report: dict[str, Any], said: PanelDecision) -> int | None:
    if said.decision != "hire":
        return None
    fw = pack.loop.framework
    if said.level is None:
        level = report["recommended_level"]
        if level is None or report["recommended_below"] or report["evidence_outcome"] is None:
            raise InvalidInput([problem("--level", "the rule recommends no level to hire at "
                                        f"({report['decision'].replace('_', ' ')}); give "
                                        "--level N")])
        return int(level)
    if not fw.min_level <= said.level <= fw.max_level:
        raise InvalidInput([problem("--level", f"level {said.level} is not a level of framework "
                                    f"'{fw.id}' ({fw.min_level}-{fw.max_level})")])
    return said.level


def _check_flags(flags: dict[str, dict[str, Any]], said: PanelDecision) -> None:
    problems = []
    for flag_id, _ in said.resolutions:
        if flag_id not in flags:
            close = difflib.get_close_matches(flag_id, list(flags), n=1, cutoff=0.6)
            known = (f" (did you mean {close[0]}?)" if close else
                     f" (its flags: {', '.join(flags) or 'none'})")
            problems.append(problem("--resolve", f"{flag_id}: no such flag in this pack's "
                                    f"report{known}"))
    resolved = {fid for fid, _ in said.resolutions}
    open_flags = [f for fid, f in flags.items() if fid not in resolved]
    hint: str | None = None
    if open_flags and said.force_unresolved is None:
        problems += [problem("--resolve", f"{f['id']}: not resolved: {f['message']}")
                     for f in open_flags]
        hint = ("resolve each flag with --resolve ID=TEXT (or --resolutions FILE), or decide "
                "with them open using --force-unresolved \"why\"")
    if problems:
        raise InvalidInput(problems, hint)


def override_of(report: dict[str, Any], decision: str, level: int | None) -> str | None:
    """How the panel's decision departs from the mechanical recommendation, if it does."""
    rec = report["decision"]
    if rec in ("incomplete", "insufficient_evidence"):
        return f"decided although the rule could not recommend ({rec.replace('_', ' ')})"
    outcome = report["evidence_outcome"] if rec == "needs_discussion" else rec
    if (decision == "hire") != (outcome in HIRE_SIDE):
        return (f"decision: the panel decided {decision.replace('_', ' ')}; the ratings say "
                f"{outcome.replace('_', ' ')}")
    if decision == "hire" and level != report["recommended_level"]:
        return (f"level: the panel hires at level {level}; the recommendation is level "
                f"{report['recommended_level']}")
    return None


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
    resolved = {r["flag"] for r in d.get("resolutions", [])}
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
        "unresolved_now": [f["id"] for f in report["flags"] if f["id"] not in resolved],
        "after_decision": [{"submission": e.ref, "stage": e.stage, "interviewer": e.interviewer,
                            "accepted_at": e.data.get("accepted_at"),
                            "amends": None if e.amends is None else f"{e.amends:04d}"}
                           for e in later],
        "earlier": [{"entry": e.ref, "recorded_at": e.data.get("recorded_at"),
                     "by": e.data["decision"].get("by"),
                     "decision": e.data["decision"]["decision"],
                     "level": e.data["decision"].get("level")} for e in decisions[:-1]],
    }
