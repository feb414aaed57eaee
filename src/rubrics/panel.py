"""Panel reports: one pack's level recommendation, or a pipeline of many packs."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubrics.errors import InvalidInput, Problem, RubricsError, problem
from rubrics.recommend import map_packs, recommend_pack
from rubrics.render import Templates, html_to_pdf
from rubrics.workspace import bundled_root

FORMATS = ("text", "json", "html", "pdf", "resolutions")
"""Pipelines of at least this many packs are aggregated by worker processes."""


def check_out(out: Path) -> None:
    """Refuse to write a report over a pack's own files (its manifest, a file it lists, or
    anything in its submissions folder): a report must never overwrite the record."""
    if out.exists() and not out.is_file():
        raise InvalidInput([problem(out, "is not a regular file: leave --out out to print the "
                                    "report, or name a file")])
    target = out.resolve()
    for folder in target.parents:
        manifest = folder / "manifest.json"
        if not manifest.is_file():
            continue
        try:
            listed = {str((folder / f["path"]).resolve())
                      for f in json.loads(manifest.read_text(encoding="utf-8"))["files"]}
        except (OSError, ValueError, KeyError, TypeError):
            continue
        inside = folder / "submissions" in target.parents or target == folder / "submissions"
        if inside or target == manifest or str(target) in listed:
            raise InvalidInput([problem(out, "is a file of the pack in "
                                        f"{folder}: write the report elsewhere")])


def report(pack_dirs: list[Path], fmt: str, templates: Callable[[], Templates],
           jobs: int | None = None) -> tuple[bytes, list[Problem]]:
    """One pack's report, or the pipeline of several, in ``fmt``; and one line per pack that
    could not be aggregated (a pipeline goes on past it; a single pack raises)."""
    if fmt == "resolutions" and len(pack_dirs) != 1:
        raise InvalidInput([problem("--format", "resolutions is a format for one pack: the "
                                    "debrief of one candidate")])
    if len(pack_dirs) == 1:
        r = recommend_pack(pack_dirs[0])
        if fmt == "resolutions":
            from rubrics.debrief import resolutions_template

            return resolutions_template(r).encode("utf-8"), []
        if fmt == "json":
            return (json.dumps(r, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), []
        if fmt == "text":
            return to_text(r).encode("utf-8"), []
        if fmt == "html":
            return to_html(r, templates()).encode("utf-8"), []
        return to_pdf(r, templates()), []
    pipe = build_pipeline(pack_dirs, with_json=fmt == "json", jobs=jobs)
    if not pipe.rows:
        raise InvalidInput(pipe.failures)
    if fmt == "json":
        return pipeline_json(pipe), pipe.failures
    if fmt == "text":
        return pipeline_text(pipe.rows).encode("utf-8"), pipe.failures
    if fmt == "html":
        return pipeline_html(pipe.rows, templates()).encode("utf-8"), pipe.failures
    return pipeline_pdf(pipe.rows, templates()), pipe.failures


# --------------------------------------------------------------------------- pipelines


@dataclass
class Pipeline:
    rows: list[dict[str, Any]] = field(default_factory=list)
    packs_json: list[bytes] = field(default_factory=list)
    """Each pack's full result as UTF-8 JSON (when asked for): bytes, as a str holding an
    emoji takes four bytes a character in memory."""
    failures: list[Problem] = field(default_factory=list)


def build_pipeline(pack_dirs: list[Path], *, with_json: bool = False,
                   jobs: int | None = None) -> Pipeline:
    """A row per pack (and its full JSON when ``with_json``), in the order given.

    Large pipelines run in worker processes that send back only a row and JSON text
    (pickling whole results back cost more than the work, see BENCHMARKS.md); the
    cycle collector is paused meanwhile, as the results are large and acyclic.
    """
    done = map_packs(_pipeline_entry, [(path, with_json) for path in pack_dirs], jobs)
    pipe = Pipeline()
    for row, text, failure in done:
        if failure is not None:
            pipe.failures.append(failure)
        else:
            pipe.rows.append(row)
            if text is not None:
                pipe.packs_json.append(text)
    return pipe


def _pipeline_entry(task: tuple[Path, bool]
                    ) -> tuple[dict[str, Any], bytes | None, Problem | None]:
    path, with_json = task
    try:
        r = recommend_pack(path)
    except RubricsError as exc:
        return {}, None, problem(path, " ".join(str(exc).split()))
    except OSError as exc:  # a folder or unreadable file where a pack file should be
        where = f": {exc.filename}" if exc.filename else ""
        return {}, None, problem(path, f"{exc.strerror or exc}{where}")
    text = json.dumps(r, ensure_ascii=False).encode("utf-8") if with_json else None
    return pipeline_row(r), text, None


def pipeline_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"candidate": r["candidate"].get("name") or r["candidate"].get("id"),
            "candidate_id": r["candidate"].get("id"), "pack_id": r["pack_id"],
            "role": r["role"]["id"], "level": r["recommended_level"],
            "sub_level": r["sub_level"], "level_label": level_label(r),
            "decision": r["decision"], "confidence": r["confidence"]["level"],
            "missing": r["missing_stages"], "panel": panel_label(r)}


def pipeline_json(pipe: Pipeline) -> bytes:
    """The pipeline as one compact JSON document (UTF-8): ``pipeline`` rows, then every pack."""
    rows = json.dumps(pipe.rows, ensure_ascii=False).encode("utf-8")
    return b'{"pipeline": ' + rows + b', "packs": [' + b", ".join(pipe.packs_json) + b"]}\n"


def level_label(r: dict[str, Any]) -> str:
    """The recommended level as a panel reads it: 5C, below 4, 5C (provisional), -."""
    if r["recommended_level"] is None:
        return "-"
    if r["recommended_below"]:
        text = f"below {r['recommended_level']}"
    else:
        text = f"{r['recommended_level']}{r['sub_level'] or ''}"
    return f"{text} (provisional)" if r["evidence_outcome"] is None else text


def mean_label(r: dict[str, Any]) -> str:
    """The weighted mean of topic levels, or what stands in for it before any topic has one."""
    mean = r["weighted_mean_level"]
    return "no topic level yet" if mean is None else f"{mean:g}"


def topic_level_label(t: dict[str, Any]) -> str:
    return f"<{t['level']}" if t["below"] else str(t["level"])


def panel_label(r: dict[str, Any]) -> str:
    d = r.get("panel_decision")
    if not d:
        return "-"
    at = f" at level {d['level']}" if d.get("level") is not None else ""
    return f"{d['decision'].replace('_', ' ')}{at}" + (" (override)" if d.get("override") else "")


def when(stamp: str | None) -> str:
    """A log time stamp as people read it: 2026-11-22 18:01 UTC."""
    if not stamp:
        return "-"
    day, _, clock = stamp.partition("T")
    return f"{day} {clock[:5]} UTC" if clock.endswith("+00:00") else stamp


def resolved_ids(r: dict[str, Any]) -> set[str]:
    """Ids of the report's flags that the panel's recorded decision resolved (as they read
    now: a flag that new evidence changed is open again)."""
    d = r.get("panel_decision")
    return {f["id"] for f in r["flags"]} - set(d["unresolved_now"]) if d else set()


def flag_status(r: dict[str, Any], flag: dict[str, Any]) -> str:
    """How the panel's recorded decision dealt with a flag: its resolution, left open, or -."""
    d = r.get("panel_decision")
    if not d:
        return ""
    for res in d["resolutions"]:
        if res["flag"] == flag["id"]:
            if res["message"] != flag["message"]:
                return (f"not resolved now: the panel resolved it when it read \"{res['message']}\" "
                        f"({res['resolution']}); new evidence changed it since")
            return f"resolved: {res['resolution']}"
    if any(o["flag"] == flag["id"] for o in d["left_open"]):
        return "left open by the panel"
    return "raised after the panel decided"


def _cut(text: str, width: int) -> str:
    from rubrics.render import plain

    text = plain(text)  # emoji are two columns wide in a terminal and break alignment
    return text if len(text) <= width else text[: width - 1] + "…"


PIPELINE_WIDTH = 80
"""The pipeline table's text fits a terminal 80 columns wide, whatever its rows hold."""


def pipeline_text(rows: list[dict[str, Any]]) -> str:
    """The pipeline as text at most 80 columns wide: a line a candidate (missing stages
    counted), then under it, wrapped, each one's role, panel decision and missing stages."""
    lines = [f"{'candidate':<20} {'level':<16} {'decision':<21} {'confidence':<10} missing"]
    for row in rows:
        missing = len(row["missing"])
        lines.append(f"{_cut(str(row['candidate']), 20):<20} {_cut(row['level_label'], 16):<16} "
                     f"{row['decision'].replace('_', ' '):<21} {row['confidence']:<10} "
                     f"{missing or '-'}")
    lines.append("")
    for row in rows:
        said = [f"role {row['role']}"]
        if row["panel"] != "-":
            said.append(f"panel decided {row['panel']}")
        if row["missing"]:
            said.append(f"missing {', '.join(row['missing'])}")
        lines += textwrap.wrap(f"{_line(str(row['candidate']))}: {'; '.join(said)}",
                               PIPELINE_WIDTH, subsequent_indent="    ",
                               break_long_words=True, break_on_hyphens=False)
    return "\n".join(lines) + "\n"


def to_text(r: dict[str, Any]) -> str:
    """One pack's report for a terminal: what the panel must read first, then the detail."""
    who = _line(str(r["candidate"].get("name") or r["candidate"].get("id")))
    out = [f"{who} — {r['role']['title']} (pack {r['pack_id']})", ""]
    out += _text_summary(r)
    out += ["", f"confidence: {r['confidence']['meaning']}"]
    if r["sub_level_meaning"]:
        out.append(f"sub-level: {r['sub_level_meaning']}"
                   + (f" Here: {r['sub_level_basis']}." if r["sub_level_basis"] else ""))
    out += ["", f"target level {r['role']['target_level']}, band {r['role']['band'][0]}-"
            f"{r['role']['band'][1]}; weighted mean of topic levels {mean_label(r)}",
            "", f"{'topic':<34} {'level':>5} {'weight':>6} {'observations':>12} {'spread':>6}  "
            "confidence"]
    for t in r["topics"]:
        out.append(f"{_cut(t['title'], 34):<34} {topic_level_label(t):>5} {t['weight']:>6g} "
                   f"{t['independent_observations']:>12} {t['max_spread']:>6g}  {t['confidence']}")
    out += _text_amendments(r)
    out += ["", "recommendations:"]
    for x in r["recommendations"]:
        counted = "" if x["counted"] else " (rates nothing: not counted)"
        said = x["recommendation"].replace("_", " ")
        out.append(f"  - {x['stage']}: {_line(x['interviewer'])}: {said}{counted}")
        if x.get("notes"):
            out.append(f"      notes: {_line(x['notes'])}")
    if not r["recommendations"]:
        out.append("  (none yet)")
    out += ["", r["disclaimer"]]
    return "\n".join(out) + "\n"


def _line(text: str) -> str:
    """User text on one line of a terminal: no controls, no line breaks to forge lines."""
    from rubrics.render import visible

    return " ".join(visible(text).split())


def _text_summary(r: dict[str, Any]) -> list[str]:
    """What a panel must read first: recommendation, its reasons, dissent, the panel's own
    recorded decision, and the flags with how the panel resolved them."""
    out = [f"recommendation: {r['decision'].replace('_', ' ')}   level: {level_label(r)}   "
           f"confidence: {r['confidence']['level']}"]
    out += [f"  because: {_line(reason)}" for reason in r["decision_reasons"]]
    if r["dissent"]:
        said = "; ".join(f"{_line(d['interviewer'])} ({d['stage']}): "
                         f"{d['recommendation'].replace('_', ' ')}" for d in r["dissent"])
        out.append(f"  against what the ratings say ({r['evidence_outcome'].replace('_', ' ')}): "
                   f"{said}")
    if r["confidence"]["not_high_because"]:
        out.append(f"  not high confidence: {'; '.join(r['confidence']['not_high_because'])}")
    d = r["panel_decision"]
    if d:
        out.append(f"panel decision: {panel_label(r)}, by {_line(d['by'])} on "
                   f"{when(d['recorded_at'])} (entry {d['entry']})")
        out.append(f"  reason: {_line(d['reason'])}")
        if d["override"]:
            out.append(f"  override: {_line(d['override'])}")
        if d["left_open"]:
            out.append(f"  left open: {_line(d['left_open_reason'] or '')}")
        out += [f"  after the decision: {a['submission']} {a['stage']} by {_line(a['interviewer'])}"
                + (f" (amends {a['amends']})" if a["amends"] else "") for a in d["after_decision"]]
    if r["flags"]:
        open_flags = [f for f in r["flags"] if f["id"] not in resolved_ids(r)]
        status = ("" if not d else "; all resolved by the panel" if not open_flags
                  else f"; {len(open_flags)} not resolved by the panel")
        out.append(f"flags ({len(r['flags'])}{status}):")
        for f in r["flags"]:
            said = flag_status(r, f)
            mark = " [holds up the outcome]" if f["blocking"] else ""
            out.append(f"  - {f['id']}{mark}: {_line(f['message'])}"
                       + (f" — {_line(said)}" if said else ""))
    return out


def _text_amendments(r: dict[str, Any]) -> list[str]:
    if not r["amendments"]:
        return []
    out = ["", "amendments:"]
    for a in r["amendments"]:
        changes = ", ".join(f"{c['criterion']} {c['from'] if c['from'] is not None else '-'}→"
                            f"{c['to'] if c['to'] is not None else '-'}"
                            for c in a["rating_changes"]) or "no rating changed"
        out.append(f"  - {a['submission']} amends {a['amends']} ({a['stage']}, "
                   f"{_line(a['interviewer'])}, {when(a['accepted_at'])}): reason: "
                   f"{_line(a['reason'] or '')}; {changes}")
    before = r.get("before_amendments")
    if before:
        out.append(f"  as first returned: {before['decision'].replace('_', ' ')}, level "
                   f"{level_label({**before, 'evidence_outcome': 1})}")
    return out


def to_html(r: dict[str, Any], templates: Templates, *, for_pdf: bool = False) -> str:
    return templates.render_page("panel-report.html.j2", css="document.css", for_pdf=for_pdf,
                                 r=r, chart=topic_chart(r), level_label=level_label,
                                 panel_label=panel_label, flag_status=flag_status, when=when,
                                 resolved_ids=resolved_ids)


def to_pdf(r: dict[str, Any], templates: Templates) -> bytes:
    html = to_html(r, templates, for_pdf=True)
    page = "panel-report.html.j2"
    return html_to_pdf(html, base=templates.folder_of(page), allowed=templates.folders)


def pipeline_html(rows: list[dict[str, Any]], templates: Templates, *, for_pdf: bool = False
                  ) -> str:
    return templates.render_page("pipeline.html.j2", css="document.css", for_pdf=for_pdf,
                                 rows=rows)


def pipeline_pdf(rows: list[dict[str, Any]], templates: Templates) -> bytes:
    html = pipeline_html(rows, templates, for_pdf=True)
    page = "pipeline.html.j2"
    return html_to_pdf(html, base=templates.folder_of(page), allowed=templates.folders)


def default_templates(override: Path | None = None, workspace_templates: Path | None = None
                      ) -> Templates:
    return Templates.for_workspace(workspace_templates, override, bundled_root() / "templates")


def topic_chart(r: dict[str, Any]) -> dict[str, Any]:
    """Geometry for the inline SVG bar chart of topic levels (no JavaScript needed)."""
    from rubrics.render import plain

    levels = 6 if not r["topics"] else max(6, *(t["level"] for t in r["topics"]))
    width, label_w, row_h = 700, 290, 28
    scale = (width - label_w - 80) / levels
    bars = []
    for i, t in enumerate(r["topics"]):
        label = t["title"] if len(t["title"]) <= 40 else t["title"][:39] + "…"
        value = max(t["counted_as"], 0)
        bars.append({"y": 30 + i * row_h, "label": label, "plain_label": plain(label),
                     "level": t["level"], "below": t["below"],
                     "text": f"below {t['level']}" if t["below"] else str(t["level"]),
                     "w": value * scale, "confidence": t["confidence"]})
    target = r["role"]["target_level"]
    return {"width": width, "height": 40 + len(bars) * row_h, "label_w": label_w,
            "scale": scale, "bars": bars, "ticks": list(range(1, levels + 1)),
            "target_x": label_w + target * scale, "target": target}
