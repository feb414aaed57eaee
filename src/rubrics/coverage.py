"""The coverage matrix: which stage assesses which area and criterion, and what no stage covers."""

from __future__ import annotations

from typing import Any

from rubrics.model import Framework
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


WIDE = 110
"""From this terminal width on, ``roles show`` also names each stage's id."""


def level_changes(fw: Framework) -> list[dict[str, Any]]:
    """Per level of the framework, what changes from the level below: for each topic, the
    criteria first expected at that level (an empty list: nothing new in that topic there).
    The lowest level's "changes" are everything expected at it."""
    return [
        {"level": lv.number, "name": lv.name, "label": lv.label,
         "since": fw.levels[n - 1].number if n else None,
         "topics": [{"id": t.id, "title": t.title, "new": [c.id for c in t.at_level(lv.number)]}
                    for t in fw.topics]}
        for n, lv in enumerate(fw.levels)
    ]


def print_level_changes(console: Any, fw: Framework) -> None:
    """The framework level by level, each level saying what is new since the one below:
    per topic its new criteria (text, then id, each wrapping under itself), or that the
    topic has nothing new there (the lowest level lists only topics that start there)."""
    from rubrics.terminal import markup

    criteria = {cid: c for cid, (_, c) in fw.criteria().items()}
    for change in level_changes(fw):
        lowest = change["since"] is None
        since = "" if lowest else f" · new since level {change['since']}"
        console.print()
        console.print(f"[bold]{markup(change['label'])}[/bold]{since}")
        for topic in change["topics"]:
            if not topic["new"]:
                if not lowest:
                    console.print(f"  {markup(topic['title'])}: [dim]nothing new[/dim]")
                continue
            console.print(f"  {markup(topic['title'])}")
            for cid in topic["new"]:
                c = criteria[cid]
                _hanging(console, "-", markup(c.text), markup(cid))
                for example in c.examples:
                    _hanging(console, "", f"e.g. {markup(example)}")


def _hanging(console: Any, mark: str, text: str, tail: str = "") -> None:
    """One item under a topic: ``mark`` at column 5 and ``text`` wrapping under itself;
    ``tail`` (an id, dim) follows in parentheses on the same line if it fits whole, else on
    lines of its own without them, so a long id never leaves a parenthesis alone on a line."""
    from rich.text import Text

    width = max(20, console.width - 6)
    body = Text.from_markup(text)
    lines = list(body.wrap(console, width))
    if tail:
        end = Text.from_markup(tail, style="dim")
        if lines[-1].cell_len + 3 + end.cell_len <= width:
            lines[-1] = Text.assemble(lines[-1], " ", ("(", "dim"), end, (")", "dim"))
        else:
            lines += list(end.wrap(console, width, overflow="fold"))
    for n, line in enumerate(lines):
        line.rstrip()
        console.print(Text.assemble(f"{mark:>5} " if n == 0 else " " * 6, line), soft_wrap=True)


def print_role(console: Any, loop: InterviewLoop, summary: dict[str, Any]) -> None:
    """The role for a terminal at a glance: the loop (stages with their time, kind and focus
    count), then one matrix of topics and criteria by stage, whose columns stay aligned at
    any width (long names are cut with an ellipsis, never wrapped)."""
    from rich.markup import escape

    from rubrics.render import duration

    role = loop.role
    fw = loop.framework
    console.print(f"[bold]{escape(role.title)}[/bold]  ({escape(role.id)})")
    track = f" (track {escape(fw.track)})" if fw.track else ""
    console.print(
        f"framework {escape(fw.id)}{track} · target level {role.target_level} · band "
        f"{role.band.min}–{role.band.max} · {len(role.stages)} stages, "
        f"{duration(summary['total_minutes'])}"
    )
    console.print(escape(role.summary), style="dim")
    console.print()
    console.print(_loop_table(loop, width=console.width))
    console.print()
    console.print(_matrix(loop, summary, width=console.width))
    _print_findings(console, summary)


def _table(title: str) -> Any:
    from rich.table import Table

    return Table(title=title, title_justify="left", title_style="bold", box=None,
                 padding=(0, 1), header_style="bold", pad_edge=False)


def _column(table: Any, header: str, cells: list[str], **kwargs: Any) -> None:
    """A column exactly as wide as its widest cell or header, in terminal cells (rich counts
    an emoji or a CJK character as two), that never wraps: if it is later narrowed (see
    ``_fit``), a longer cell is cut with an ellipsis."""
    from rich.cells import cell_len
    from rich.text import Text

    widest = max([cell_len(header), *(Text.from_markup(c).cell_len for c in cells)])
    table.add_column(header, no_wrap=True, overflow="ellipsis", width=widest, **kwargs)


def _fit(table: Any, width: int, flexible: list[int]) -> None:
    """Narrow the ``flexible`` columns (indexes), widest first, until the table fits."""
    over = sum(c.width for c in table.columns) + 2 * (len(table.columns) - 1) - width
    while over > 0:
        col = max((table.columns[n] for n in flexible), key=lambda c: c.width)
        if col.width <= 8:
            return
        col.width -= 1
        over -= 1


def _loop_table(loop: InterviewLoop, *, width: int) -> Any:
    from rubrics.render import duration, kind_label
    from rubrics.terminal import markup as escape

    rows = [{"#": f"S{n}", "stage": escape(s.title), "id": escape(s.id),
             "time": duration(s.duration_minutes), "kind": kind_label(s.kind),
             "focus": str(len(s.assesses))} for n, s in enumerate(loop.role.stages, 1)]
    headers = ["#", "stage", "id", "time", "kind", "focus"] if width >= WIDE else \
        ["#", "stage", "time", "kind", "focus"]
    table = _table("Interview loop")
    for h in headers:
        _column(table, h, [r[h] for r in rows], justify="right" if h == "focus" else "left",
                style="dim" if h == "id" else None)
    _fit(table, width, [headers.index("stage")] + ([2] if width >= WIDE else []))
    for r in rows:
        table.add_row(*(r[h] for h in headers))
    return table


def _matrix(loop: InterviewLoop, summary: dict[str, Any], *, width: int) -> Any:
    """Topics (criteria assessed per stage) with their criteria (✓ where assessed) below;
    the ★ of a key criterion has a column of its own, so it never wraps onto a line alone."""
    from rubrics.terminal import markup as escape

    ids = [s.id for s in loop.role.stages]
    rows: list[list[str]] = []
    styles: list[str | None] = []
    for area in summary["areas"]:
        rows.append(["", f"[bold]{escape(area['title'])}[/bold]", f"{area['weight']:g}", "",
                     *(str(area["per_stage"][sid] or "·") for sid in ids)])
        styles.append(None)
        for c in (c for c in summary["criteria"] if c["area"] == area["id"]):
            name = escape(c["id"].removeprefix(f"{area['id']}."))
            rows.append(["★" if c["key"] else "", f"  {name}", "", str(c["level"]),
                         *("✓" if sid in c["stages"] else "" for sid in ids)])
            styles.append("red" if not c["stages"] else None)
    headers = ["", "topic / criterion", "wt", "L", *(f"S{n}" for n in range(1, len(ids) + 1))]
    table = _table("Coverage by topic and criterion")
    for n, h in enumerate(headers):
        _column(table, h, [r[n] for r in rows],
                justify="center" if n > 3 else "right" if n > 1 else "left")
    _fit(table, width, [1])
    for row, style in zip(rows, styles, strict=True):
        table.add_row(*row, style=style)
    return table


def _print_findings(console: Any, summary: dict[str, Any]) -> None:
    console.print("[dim]✓ assessed · ★ key criterion · wt topic weight · L level[/dim]")
    console.print(f"assessed by two or more stages: {len(summary['assessed_twice'])} "
                  f"of {len(summary['criteria'])} criteria")
    if summary["gaps"]:
        console.print(f"[red]not assessed by any stage: {', '.join(summary['gaps'])}[/red]")
    else:
        console.print("every role criterion is assessed by at least one stage")
    if summary["key_under_covered"]:
        console.print("[yellow]key criteria assessed only once: "
                      f"{', '.join(summary['key_under_covered'])}[/yellow]")
