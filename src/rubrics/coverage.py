"""The coverage matrix: which stage assesses which area and criterion, and what no stage covers."""

from __future__ import annotations

from typing import Any

from rubrics.roles import InterviewLoop


def coverage_summary(loop: InterviewLoop) -> dict[str, Any]:
    """Coverage as plain data (used by ``roles show --json``, the interview plan and tests)."""
    role = loop.role
    rows = loop.coverage()
    stage_ids = [s.id for s in role.stages]
    areas: dict[str, dict[str, int]] = {}
    for row in rows:
        per_stage = areas.setdefault(row.area.id, dict.fromkeys(stage_ids, 0))
        for sid in row.stages:
            per_stage[sid] += 1
    return {
        "stages": [
            {"id": s.id, "title": s.title, "kind": s.kind.value,
             "duration_minutes": s.duration_minutes, "criteria": len(s.assesses)}
            for s in role.stages
        ],
        "criteria": [
            {
                "id": row.criterion.id,
                "area": row.area.id,
                "level": row.criterion.level,
                "text": row.criterion.text,
                "key": row.key,
                "stages": list(row.stages),
            }
            for row in rows
        ],
        "areas": [
            {"id": aid, "title": loop.areas[aid].title, "kind": loop.areas[aid].kind,
             "weight": role.topic_weights.get(aid, 0), "per_stage": per_stage}
            for aid, per_stage in areas.items()
        ],
        "assessed_twice": [row.criterion.id for row in rows if len(row.stages) >= 2],
        "gaps": [row.criterion.id for row in rows if row.gap],
        "key_under_covered": [row.criterion.id for row in rows if row.key
                              and len(row.stages) < 2],
        "unweighted_areas": sorted({row.area.id for row in rows
                                    if role.topic_weights.get(row.area.id, 0) <= 0}),
        "total_minutes": sum(s.duration_minutes for s in role.stages),
    }


def framework_levels(loop: InterviewLoop) -> list[dict[str, Any]]:
    """For each area the loop assesses, its behaviours from one level below the lowest
    assessed level to one above the highest, assessed ones marked: the framework anchors
    the interview plan shows once, instead of every scorecard repeating them."""
    assessed = {cid for stage in loop.role.stages for cid in stage.assesses}
    out = []
    for area in loop.areas.values():
        levels = sorted({c.level for c in area.criteria if c.id in assessed})
        if not levels:
            continue
        shown = range(max(levels[0] - 1, loop.framework.min_level),
                      min(levels[-1] + 1, loop.framework.max_level) + 1)
        out.append({"id": area.id, "title": area.title, "levels": [
            {"level": n, "label": loop.framework.level(n).label,
             "behaviours": [{"id": c.id, "text": c.text, "assessed": c.id in assessed}
                            for c in area.at_level(n)]}
            for n in shown if area.at_level(n)]})
    return out


def print_role(console: Any, loop: InterviewLoop, summary: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    role = loop.role
    fw = loop.framework
    console.print(f"[bold]{escape(role.title)}[/bold]  ({role.id})")
    track = f" (track {fw.track})" if fw.track else ""
    console.print(
        f"framework {fw.id}{track} · target level {role.target_level} · band "
        f"{role.band.min}–{role.band.max} · {len(role.stages)} stages, "
        f"{summary['total_minutes']} minutes"
    )
    console.print(escape(role.summary))
    console.print()

    stages = Table(title="Interview loop", title_justify="left")
    for col in ("#", "stage", "kind", "minutes", "criteria"):
        stages.add_column(col)
    for i, s in enumerate(role.stages, 1):
        stages.add_row(f"S{i}", f"{escape(s.title)}\n[dim]{s.id}[/dim]", s.kind.value,
                       str(s.duration_minutes), str(len(s.assesses)))
    console.print(stages)

    ids = [s.id for s in role.stages]
    areas = Table(title="Coverage by topic (criteria assessed per stage)", title_justify="left")
    areas.add_column("topic / competency")
    areas.add_column("weight", justify="right")
    for n in range(len(ids)):
        areas.add_column(f"S{n + 1}", justify="center")
    for a in summary["areas"]:
        cells = [str(a["per_stage"][sid]) if a["per_stage"][sid] else "·" for sid in ids]
        areas.add_row(escape(a["title"]), f"{a['weight']:g}", *cells)
    console.print(areas)

    matrix = Table(title="Coverage matrix (★ key criterion, ✓ assessed)", title_justify="left")
    matrix.add_column("criterion", overflow="fold")
    matrix.add_column("L", justify="right")
    for n in range(len(ids)):
        matrix.add_column(f"S{n + 1}", justify="center")
    for c in summary["criteria"]:
        mark = "★ " if c["key"] else ""
        cells = ["✓" if sid in c["stages"] else "" for sid in ids]
        style = "red" if not c["stages"] else None
        matrix.add_row(f"{mark}{c['id']}", str(c["level"]), *cells, style=style)
    console.print(matrix)
    legend = "  ".join(f"S{n + 1}={sid}" for n, sid in enumerate(ids))
    console.print(f"[dim]{legend}[/dim]")
    console.print(f"assessed by two or more stages: {len(summary['assessed_twice'])} "
                  f"of {len(summary['criteria'])} criteria")
    if summary["gaps"]:
        console.print(f"[red]not assessed by any stage: {', '.join(summary['gaps'])}[/red]")
    else:
        console.print("every role criterion is assessed by at least one stage")
    if summary["key_under_covered"]:
        console.print("[yellow]key criteria assessed only once: "
                      f"{', '.join(summary['key_under_covered'])}[/yellow]")
