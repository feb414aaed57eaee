"""Panel reports: one pack's level recommendation, or a pipeline of many packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rubrics.recommend import recommend_many, recommend_pack
from rubrics.render import Templates, html_to_pdf
from rubrics.workspace import bundled_root

FORMATS = ("text", "json", "html", "pdf")


def aggregate_pack(pack_dir: Path) -> dict[str, Any]:
    """The level recommendation for the pack in ``pack_dir``."""
    return recommend_pack(pack_dir)


def aggregate_packs(pack_dirs: list[Path]) -> list[dict[str, Any]]:
    """Results for many packs, in the order given."""
    return [recommend_pack(p) for p in pack_dirs]


def aggregate_many(pack_dirs: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Results for the packs that aggregate, and one line for each pack that does not."""
    return recommend_many(pack_dirs)


def pipeline_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"candidate": r["candidate"].get("name") or r["candidate"].get("id"),
         "candidate_id": r["candidate"].get("id"), "pack_id": r["pack_id"],
         "role": r["role"]["id"], "level": r["recommended_level"], "sub_level": r["sub_level"],
         "level_label": level_label(r), "decision": r["decision"],
         "confidence": r["confidence"]["level"], "missing": r["missing_stages"],
         "panel": panel_label(r)}
        for r in results
    ]


def to_json(results: list[dict[str, Any]], *, pipeline: bool | None = None) -> str:
    """One pack's result, indented; many packs as one compact document (fast to write)."""
    if not (len(results) > 1 if pipeline is None else pipeline):
        return json.dumps(results[0], indent=2, ensure_ascii=False) + "\n"
    data = {"pipeline": pipeline_rows(results), "packs": results}
    return json.dumps(data, ensure_ascii=False) + "\n"


def level_label(r: dict[str, Any]) -> str:
    """The recommended level as a panel reads it: 5C, below 4, 5C (provisional), -."""
    if r["recommended_level"] is None:
        return "-"
    if r["recommended_below"]:
        text = f"below {r['recommended_level']}"
    else:
        text = f"{r['recommended_level']}{r['sub_level'] or ''}"
    return f"{text} (provisional)" if r["evidence_outcome"] is None else text


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


def flag_status(r: dict[str, Any], flag: dict[str, Any]) -> str:
    """How the panel's recorded decision dealt with a flag: its resolution, left open, or -."""
    d = r.get("panel_decision")
    if not d:
        return ""
    for res in d["resolutions"]:
        if res["flag"] == flag["id"]:
            return f"resolved: {res['resolution']}"
    if any(o["flag"] == flag["id"] for o in d["left_open"]):
        return "left open by the panel"
    return "raised after the panel decided"


def _cut(text: str, width: int) -> str:
    from rubrics.render import plain

    text = plain(text)  # emoji are two columns wide in a terminal and break alignment
    return text if len(text) <= width else text[: width - 1] + "…"


def _pipeline_text(results: list[dict[str, Any]]) -> str:
    lines = [f"{'candidate':<28} {'role':<32} {'level':<16} {'decision':<22} "
             f"{'confidence':<10} {'panel':<18} missing"]
    for row in pipeline_rows(results):
        lines.append(f"{_cut(str(row['candidate']), 28):<28} {_cut(row['role'], 32):<32} "
                     f"{row['level_label']:<16} {row['decision']:<22} {row['confidence']:<10} "
                     f"{_cut(row['panel'], 18):<18} {', '.join(row['missing']) or '-'}")
    return "\n".join(lines) + "\n"


def to_text(results: list[dict[str, Any]], *, pipeline: bool | None = None) -> str:
    if len(results) > 1 if pipeline is None else pipeline:
        return _pipeline_text(results)
    r = results[0]
    who = r["candidate"].get("name") or r["candidate"].get("id")
    out = [f"{who} — {r['role']['title']} (pack {r['pack_id']})", ""]
    out += _text_summary(r)
    out += ["", f"confidence: {r['confidence']['meaning']}"]
    if r["sub_level_meaning"]:
        out.append(f"sub-level: {r['sub_level_meaning']}"
                   + (f" Here: {r['sub_level_basis']}." if r["sub_level_basis"] else ""))
    out += ["", f"target level {r['role']['target_level']}, band {r['role']['band'][0]}-"
            f"{r['role']['band'][1]}; weighted mean of topic levels {r['weighted_mean_level']}",
            "", f"{'topic':<34} {'level':>5} {'weight':>6} {'observations':>12} {'spread':>6}  "
            "confidence"]
    for t in r["topics"]:
        out.append(f"{_cut(t['title'], 34):<34} {topic_level_label(t):>5} {t['weight']:>6g} "
                   f"{t['independent_observations']:>12} {t['max_spread']:>6g}  {t['confidence']}")
    out += _text_amendments(r)
    out += ["", "recommendations:"]
    for x in r["recommendations"]:
        counted = "" if x["counted"] else " (rates nothing: not counted)"
        out.append(f"  - {x['stage']}: {x['interviewer']}: {x['recommendation']}{counted}")
        if x.get("notes"):
            out.append(f"      notes: {' '.join(x['notes'].split())}")
    if not r["recommendations"]:
        out.append("  (none yet)")
    out += ["", r["disclaimer"]]
    return "\n".join(out) + "\n"


def _text_summary(r: dict[str, Any]) -> list[str]:
    """What a panel must read first: recommendation, its reasons, dissent, open flags, and
    the panel's own recorded decision."""
    out = [f"recommendation: {r['decision'].replace('_', ' ')}   level: {level_label(r)}   "
           f"confidence: {r['confidence']['level']}"]
    out += [f"  because: {reason}" for reason in r["decision_reasons"]]
    out += [f"  dissent: {d['interviewer']} ({d['stage']}) recommends "
            f"{d['recommendation'].replace('_', ' ')}" for d in r["dissent"]]
    if r["confidence"]["not_high_because"] and r["confidence"]["level"] != "low":
        out.append(f"  not high confidence: {'; '.join(r['confidence']['not_high_because'])}")
    d = r["panel_decision"]
    if d:
        out.append(f"panel decision: {panel_label(r)}, by {d['by']} on {when(d['recorded_at'])} "
                   f"(entry {d['entry']})")
        out.append(f"  reason: {d['reason']}")
        if d["override"]:
            out.append(f"  override: {d['override']}")
        if d["left_open"]:
            out.append(f"  left open: {d['left_open_reason']}")
        out += [f"  after the decision: {a['submission']} {a['stage']} by {a['interviewer']}"
                + (f" (amends {a['amends']})" if a["amends"] else "") for a in d["after_decision"]]
    if r["flags"]:
        out.append(f"flags ({len(r['flags'])}):")
        for f in r["flags"]:
            status = flag_status(r, f)
            mark = " [blocking]" if f["blocking"] else ""
            out.append(f"  - {f['id']}{mark}: {f['message']}" + (f" — {status}" if status else ""))
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
                   f"{a['interviewer']}, {when(a['accepted_at'])}): reason: {a['reason']}; {changes}")
    before = r.get("before_amendments")
    if before:
        out.append(f"  as first returned: {before['decision'].replace('_', ' ')}, level "
                   f"{level_label({**before, 'evidence_outcome': 1})}")
    return out


def to_html(results: list[dict[str, Any]], templates: Templates, *, for_pdf: bool = False,
            pipeline: bool | None = None) -> str:
    if len(results) > 1 if pipeline is None else pipeline:
        return templates.render_page("pipeline.html.j2", css="document.css", for_pdf=for_pdf,
                                     rows=pipeline_rows(results), results=results)
    return templates.render_page("panel-report.html.j2", css="document.css", for_pdf=for_pdf,
                                 r=results[0], chart=topic_chart(results[0]),
                                 level_label=level_label, panel_label=panel_label,
                                 flag_status=flag_status, when=when)


def to_pdf(results: list[dict[str, Any]], templates: Templates, *,
           pipeline: bool | None = None) -> bytes:
    many = len(results) > 1 if pipeline is None else pipeline
    html = to_html(results, templates, for_pdf=True, pipeline=many)
    page = "pipeline.html.j2" if many else "panel-report.html.j2"
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
