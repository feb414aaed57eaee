"""Panel reports: one pack's level recommendation, or a pipeline of many packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rubrics.aggregate import Rated, aggregate
from rubrics.render import Templates, html_to_pdf
from rubrics.store import Pack, load_effective
from rubrics.workspace import bundled_root

FORMATS = ("text", "json", "html", "pdf")


def aggregate_pack(pack_dir: Path) -> dict[str, Any]:
    """The level recommendation for the pack in ``pack_dir``."""
    pack = Pack.open(pack_dir)
    rated = [Rated(f"{entry.seq:04d}", sub) for entry, sub in load_effective(pack)]
    candidate = dict(pack.manifest.get("candidate", {}))
    return aggregate(pack.loop, rated, pack_id=pack.pack_id, candidate=candidate)


def aggregate_packs(pack_dirs: list[Path]) -> list[dict[str, Any]]:
    """Results for many packs, in the order given.

    Serial on purpose: measured on 1,000 packs, two worker processes were slower than
    one (each loads the role again, and pickling the results back costs more than the
    work), see BENCHMARKS.md.
    """
    return [aggregate_pack(p) for p in pack_dirs]


def aggregate_many(pack_dirs: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Results for the packs that aggregate, and one line for each pack that does not
    (a pipeline report should not stop at the first damaged pack)."""
    from rubrics.errors import RubricsError

    results, failures = [], []
    for path in pack_dirs:
        try:
            results.append(aggregate_pack(path))
        except RubricsError as exc:
            failures.append(f"{path}: " + " ".join(str(exc).split()))
    return results, failures


def pipeline_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"candidate": r["candidate"].get("name") or r["candidate"].get("id"),
         "candidate_id": r["candidate"].get("id"), "pack_id": r["pack_id"],
         "role": r["role"]["id"], "level": r["recommended_level"], "sub_level": r["sub_level"],
         "decision": r["decision"], "confidence": r["confidence"]["level"],
         "missing": r["missing_stages"]}
        for r in results
    ]


def to_json(results: list[dict[str, Any]], *, pipeline: bool | None = None) -> str:
    """One pack's result, indented; many packs as one compact document (fast to write)."""
    if not (len(results) > 1 if pipeline is None else pipeline):
        return json.dumps(results[0], indent=2, ensure_ascii=False) + "\n"
    data = {"pipeline": pipeline_rows(results), "packs": results}
    return json.dumps(data, ensure_ascii=False) + "\n"


def _level(r: dict[str, Any]) -> str:
    if r["recommended_level"] is None:
        return "-"
    provisional = " (provisional)" if r["missing_stages"] else ""
    return f"{r['recommended_level']}{r['sub_level'] or ''}{provisional}"


def _cut(text: str, width: int) -> str:
    from rubrics.render import plain

    text = plain(text)  # emoji are two columns wide in a terminal and break alignment
    return text if len(text) <= width else text[: width - 1] + "…"


def to_text(results: list[dict[str, Any]], *, pipeline: bool | None = None) -> str:
    if len(results) > 1 if pipeline is None else pipeline:
        lines = [f"{'candidate':<28} {'role':<32} {'level':<6} {'decision':<18} "
                 f"{'confidence':<10} missing"]
        for row, r in zip(pipeline_rows(results), results, strict=True):
            lines.append(f"{_cut(str(row['candidate']), 28):<28} {_cut(row['role'], 32):<32} "
                         f"{_level(r):<6} {row['decision']:<18} {row['confidence']:<10} "
                         f"{', '.join(row['missing']) or '-'}")
        return "\n".join(lines) + "\n"
    r = results[0]
    who = r["candidate"].get("name") or r["candidate"].get("id")
    out = [
        f"{who} — {r['role']['title']} (pack {r['pack_id']})",
        f"decision: {r['decision']}   level: {_level(r)}   confidence: {r['confidence']['level']}",
        f"target level {r['role']['target_level']}, band {r['role']['band'][0]}-"
        f"{r['role']['band'][1]}; weighted mean of topic levels {r['weighted_mean_level']}",
    ]
    out += [f"  because: {reason}" for reason in r["decision_reasons"]]
    out.append("")
    out.append(f"{'topic':<34} {'level':>5} {'weight':>6} {'raters':>6} {'spread':>6}  confidence")
    for t in r["topics"]:
        out.append(f"{_cut(t['title'], 34):<34} {t['level']:>5} {t['weight']:>6g} {t['raters']:>6} "
                   f"{t['max_spread']:>6g}  {t['confidence']}")
    if r["flags"]:
        out.append("")
        out.append("flags:")
        out += [f"  - [{f['kind']}] {f['message']}" for f in r["flags"]]
    out.append("")
    out.append("recommendations:")
    for x in r["recommendations"]:
        out.append(f"  - {x['stage']}: {x['interviewer']}: {x['recommendation']}")
        if x.get("notes"):
            out.append(f"      notes: {' '.join(x['notes'].split())}")
    if not r["recommendations"]:
        out.append("  (none yet)")
    out.append("")
    out.append(r["disclaimer"])
    return "\n".join(out) + "\n"


def to_html(results: list[dict[str, Any]], templates: Templates, *, for_pdf: bool = False,
            pipeline: bool | None = None) -> str:
    if len(results) > 1 if pipeline is None else pipeline:
        return templates.render_page("pipeline.html.j2", css="document.css", for_pdf=for_pdf,
                                     rows=pipeline_rows(results), results=results)
    return templates.render_page("panel-report.html.j2", css="document.css", for_pdf=for_pdf,
                                 r=results[0], chart=topic_chart(results[0]))


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
        bars.append({"y": 30 + i * row_h, "label": label, "plain_label": plain(label),
                     "level": t["level"],
                     "w": t["level"] * scale, "confidence": t["confidence"]})
    target = r["role"]["target_level"]
    return {"width": width, "height": 40 + len(bars) * row_h, "label_w": label_w,
            "scale": scale, "bars": bars, "ticks": list(range(1, levels + 1)),
            "target_x": label_w + target * scale, "target": target}
