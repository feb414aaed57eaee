"""The calibration report as HTML or PDF: tables, inline SVG charts and how to read each.

It renders the dict ``rubrics.calibration.calibrate`` returns (``rubrics-calibration/1``,
see docs/calibration.md) and computes nothing about the interviewers itself: only chart
geometry and labels. A figure that is null (too little data) is shown as "too little
data", never as 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rubrics.render import Templates, html_to_pdf, plain

PAGE = "calibration.html.j2"
FORMATS = ("text", "json", "html", "pdf")
RATINGS = ("1", "2", "3", "4")
RATING_COLOURS = {"1": "#b42318", "2": "#f4a582", "3": "#92c5de", "4": "#0b5cad"}
"""A diverging palette (red for 1 to blue for 4) that stays apart in grey and for the
common colour-vision deficiencies; every bar also has its counts in a table."""
ALPHA_RELIABLE = 0.8
ALPHA_TENTATIVE = 0.667
TOO_LITTLE = "too little data"


def to_html(data: dict[str, Any], templates: Templates, *, for_pdf: bool = False) -> str:
    return templates.render_page(
        PAGE, css="calibration.css", for_pdf=for_pdf, d=data, summary=summary(data),
        stands_out=stands_out(data),
        distribution=distribution_chart(data["interviewers"]),
        leniency=leniency_chart(data["interviewers"]), drift=drift(data),
        other_roles=other_roles(data["packs"].get("other_roles")),
        group_tables=group_tables(data.get("groups"), data["stages"]),
        group_warnings=(data.get("groups") or {}).get("warnings") or [],
        share=share, number=number, signed=signed, interval=interval, alpha_label=alpha_label,
        person=person, colours=RATING_COLOURS, ratings=RATINGS, TOO_LITTLE=TOO_LITTLE)


def to_pdf(data: dict[str, Any], templates: Templates) -> bytes:
    html = to_html(data, templates, for_pdf=True)
    return html_to_pdf(html, base=templates.folder_of(PAGE), allowed=templates.folders)


def report_bytes(data: dict[str, Any], fmt: str, templates: Callable[[], Templates]) -> bytes:
    """The calibration in one of ``FORMATS`` (templates are made only for html and pdf),
    as ``rubrics.panel.report`` gives a pack's report."""
    if fmt == "json":
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "html":
        return to_html(data, templates()).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(data, templates())
    from rubrics.calibration.text import to_text

    return to_text(data).encode("utf-8")


# --------------------------------------------------------------------------- labels


def share(value: float | None) -> str:
    """A share as a whole percentage, or "too little data" when there is none."""
    return TOO_LITTLE if value is None else f"{100 * value:.0f}%"


def number(value: float | None, digits: int = 2) -> str:
    return TOO_LITTLE if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 2) -> str:
    """A difference with its sign (a true minus sign), or "too little data"."""
    if value is None:
        return TOO_LITTLE
    text = f"{value:+.{digits}f}"
    return text.replace("-", "\u2212")


def interval(pair: list[float] | None, digits: int = 2) -> str:
    if not pair:
        return "–"
    lo, hi = pair
    return f"{signed(lo, digits)} to {signed(hi, digits)}"


def alpha_label(alpha: float | None, units: int | None = None,
                minimum: int | None = None) -> str:
    """Krippendorff's conventions for alpha: reliable from .8, tentative from .667; no label
    ("too little data") under the minimum of units."""
    if alpha is None or (units is not None and minimum is not None and units < minimum):
        return TOO_LITTLE
    if alpha >= ALPHA_RELIABLE:
        return "reliable"
    if alpha >= ALPHA_TENTATIVE:
        return "tentative"
    return "low agreement"


def person(who: dict[str, Any]) -> str:
    """An interviewer as the report names them: name, else email, else id."""
    return str(who.get("name") or who.get("email") or who["id"])


def other_roles(value: Any) -> str:
    """The packs left out as another role's, however ``calibrate`` counted them: a number,
    a list of role ids or of ``{role, packs}``, or a mapping of role id to packs."""
    if not value:
        return ""
    if isinstance(value, int):
        return f"{value} pack{'s' if value != 1 else ''}"
    if isinstance(value, dict):
        return "; ".join(f"{role}: {n}" for role, n in value.items())
    return "; ".join(f"{v.get('role', v.get('id', '?'))}: {v.get('packs', v.get('n', '?'))}"
                     if isinstance(v, dict) else str(v) for v in value)


def group_tables(groups: dict[str, Any] | None, stages: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """One table of selection rates per stage (titled as the stage is), then one for the
    decision."""
    if not groups:
        return []
    titles = {s["id"]: s.get("title") or s["id"] for s in stages}
    tables = [{"title": str(s.get("title") or titles.get(s["id"], s["id"])),
               "rates": s.get("rates") or [], "sources": None, "undecided": False}
              for s in groups.get("stages") or []]
    decision = groups.get("decision") or {}
    sources = None
    if "from_panel" in decision:
        sources = (f"{decision['from_panel']} from the panel's recorded decision, "
                   f"{decision['from_rule']} from the rule, {decision['undecided']} undecided "
                   "(left out of the rates).")
    tables.append({"title": "Decision (the panel's decision, else the rule's)",
                   "rates": decision.get("rates") or [], "sources": sources,
                   "undecided": True})
    return tables


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """What the first screen says is too thin to read: counts of null figures per section."""
    def nulls(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
        return {"null": sum(1 for r in rows if r.get(key) is None), "of": len(rows)}

    return {"leniency": nulls(data["interviewers"], "leniency"),
            "criteria": nulls(data["criteria"], "alpha"),
            "topics": nulls(data["topics"], "alpha"),
            "stages": nulls(data["stages"], "pass_through")}


# --------------------------------------------------------------------------- stands out


def stands_out(data: dict[str, Any]) -> dict[str, Any]:
    """The first screen's short list, read off the figures already computed: leniency
    intervals that exclude 0, alpha below .667 from the minimum of units, the widest gap in
    stage pass-through, and (with groups) every flagged group; each line carries its n and
    the section it comes from. ``thin`` counts the figures too little data to read."""
    items = [*_leaning_interviewers(data["interviewers"]),
             *_low_agreement(data["criteria"], "criterion", "criteria-h", lambda c: c["text"],
                             (data.get("minimums") or {}).get("alpha_units")),
             *_low_agreement(data["topics"], "topic", "topics-h", lambda t: t["title"],
                             (data.get("minimums") or {}).get("alpha_units")),
             *_pass_through_gap(data["stages"]),
             *_flagged_groups(data.get("groups"), data["stages"])]
    counts = summary(data).values()
    return {"items": items, "thin": sum(c["null"] for c in counts),
            "figures": sum(c["of"] for c in counts)}


def _leaning_interviewers(interviewers: list[dict[str, Any]]) -> list[dict[str, str]]:
    items = []
    for who in interviewers:
        value, pair = who.get("leniency"), who.get("leniency_interval")
        if value is None or not pair or pair[0] <= 0 <= pair[1]:
            continue
        way = "more leniently" if value > 0 else "more severely"
        items.append({"href": "#interviewers-h", "text": (
            f"{person(who)} rates {way} than colleagues: {signed(value)} "
            f"(interval {interval(pair)}; n={who.get('leniency_n')} candidates)")})
    return items


def _low_agreement(rows: list[dict[str, Any]], kind: str, anchor: str, name: Any,
                   minimum: int | None, shown: int = 3) -> list[dict[str, str]]:
    """The (at most ``shown``) lowest alphas under .667 from the minimum of units, then one
    line counting the rest."""
    low = sorted((r for r in rows if r.get("alpha") is not None
                  and r["alpha"] < ALPHA_TENTATIVE
                  and (minimum is None or (r.get("units") or 0) >= minimum)),
                 key=lambda r: float(r["alpha"]))
    items = [{"href": f"#{anchor}", "text": (
                f"Low agreement on {kind} \u201c{_short(name(r))}\u201d: alpha "
                f"{number(r['alpha'])} (n={r['units']} candidates)")} for r in low[:shown]]
    if len(low) > shown:
        rest = low[shown:]
        plural = "criteria" if kind == "criterion" else f"{kind}s"
        items.append({"href": f"#{anchor}", "text": (
            f"and {len(rest)} more {plural if len(rest) > 1 else kind} with alpha below .667 "
            f"(n={min(r['units'] for r in rest)} to {max(r['units'] for r in rest)} "
            "candidates)")})
    return items


def _short(text: str, limit: int = 48) -> str:
    """A long criterion cut at a word before ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "\u2026"


def _pass_through_gap(stages: list[dict[str, Any]]) -> list[dict[str, str]]:
    known = [s for s in stages if s.get("pass_through") is not None]
    if len(known) < 2:
        return []
    high = max(known, key=lambda s: float(s["pass_through"]))
    low = min(known, key=lambda s: float(s["pass_through"]))
    if high["pass_through"] == low["pass_through"]:
        return []

    def said(s: dict[str, Any]) -> str:
        return f"{s.get('title') or s['id']}, {share(s['pass_through'])} (n={s['pass_through_n']})"
    return [{"href": "#stages-h",
             "text": f"Pass-through differs most between {said(high)} and {said(low)}"}]


def _flagged_groups(groups: dict[str, Any] | None, stages: list[dict[str, Any]]
                    ) -> list[dict[str, str]]:
    items = []
    for table in group_tables(groups, stages):
        where = "the decision" if table["undecided"] else table["title"]
        items += [{"href": "#groups-h", "text": (
            f"{g['group']} at {where}: impact ratio {number(g['impact_ratio'])}, below "
            f"four-fifths ({g['selected']} of {g['total']} candidates selected)")}
            for g in table["rates"] if g.get("flag")]
    return items


# --------------------------------------------------------------------------- charts

CHART_W = 420
LABEL_H = 18
BAR_H = 13


def _shares(counts: dict[str, int]) -> tuple[int, list[dict[str, Any]]]:
    total = sum(int(counts.get(k) or 0) for k in RATINGS)
    parts, x = [], 0.0
    for k in RATINGS:
        n = int(counts.get(k) or 0)
        w = CHART_W * n / total if total else 0.0
        parts.append({"rating": k, "n": n, "x": round(x, 1), "w": round(w, 1),
                      "colour": RATING_COLOURS[k]})
        x += w
    return total, parts


def distribution_chart(interviewers: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of the stacked bars: each interviewer's ratings 1-4 above the panel's, as
    shares of their total (an interviewer with no ratings gets a "no ratings" note)."""
    rows, y = [], 36
    for who in interviewers:
        mine_n, mine = _shares(who.get("ratings") or {})
        panel_n, panel = _shares(who.get("panel_ratings") or {})
        rows.append({"label": plain(person(who)), "y": y, "mine": mine, "mine_n": mine_n,
                     "panel": panel, "panel_n": panel_n})
        y += LABEL_H + 2 * BAR_H + 16
    return {"width": CHART_W + 60, "height": y, "bar_w": CHART_W, "bar_h": BAR_H,
            "label_h": LABEL_H, "rows": rows}


LENIENCY_W = 640
ROW_H = 56
AXIS_H = 44
NAME_EM = 13.5
NOTE_EM = 11.0
"""Generous widths per character (in chart units) of a name and of a note at the sizes the
narrow-screen CSS gives them, so the label column holds both at any width."""


def leniency_chart(interviewers: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of the dot-and-interval chart of leniency as rows: a label column (name, and
    the figure or "too little data" under it) and a plot area right of it, centred on 0 (no
    difference from the other interviewers), with each dot on its own label's row; an
    interviewer under the minimum gets text, not a dot."""
    reach = 0.5
    for who in interviewers:
        values = [who.get("leniency"), *(who.get("leniency_interval") or [])]
        reach = max([reach, *(abs(v) for v in values if v is not None)])
    reach = _nice(reach)
    names = max((len(person(w)) for w in interviewers), default=0)
    notes = max((len(f"{TOO_LITTLE} (n={w.get('leniency_n') or 0})") for w in interviewers
                 if w.get("leniency") is None), default=len("+0.00 (n=00)"))
    plot_x = round(min(max(150, NAME_EM * names, NOTE_EM * notes) + 12, 300))
    half = (LENIENCY_W - plot_x - 16) / 2
    zero = round(plot_x + half, 1)

    def x(value: float) -> float:
        return round(zero + value / reach * half, 1)

    rows = [_leniency_row(who, AXIS_H + i * ROW_H, x) for i, who in enumerate(interviewers)]
    ticks = [{"x": x(t), "text": f"{t:+g}".replace("-", "\u2212") if t else "0"}
             for t in (-reach, -reach / 2, 0.0, reach / 2, reach)]
    return {"width": LENIENCY_W, "height": AXIS_H + len(rows) * ROW_H + 4, "zero": zero,
            "plot_x": plot_x, "plot_end": round(zero + half, 1), "ticks": ticks, "rows": rows,
            "reach": reach, "row_h": ROW_H, "top": AXIS_H}


def _leniency_row(who: dict[str, Any], top: int, x: Any) -> dict[str, Any]:
    value, pair = who.get("leniency"), who.get("leniency_interval")
    row: dict[str, Any] = {"label": plain(person(who)), "top": top, "mid": top + ROW_H // 2,
                           "name_y": top + 23, "note_y": top + 46, "value": value,
                           "n": who.get("leniency_n") or 0,
                           "pairs": who.get("leniency_pairs", who.get("leniency_n"))}
    if value is not None:
        row["x"] = x(value)
        row["lo"], row["hi"] = (x(pair[0]), x(pair[1])) if pair else (row["x"], row["x"])
        row["text"] = signed(value)
    return row


def _nice(reach: float) -> float:
    """The smallest of 0.5, 1, 1.5, 2, 3 (then whole numbers) at least ``reach``."""
    for step in (0.5, 1.0, 1.5, 2.0, 3.0):
        if reach <= step:
            return step
    return float(int(reach) + 1)


# --------------------------------------------------------------------------- drift


def drift(data: dict[str, Any]) -> dict[str, Any] | None:
    """The by-month figures as three tables (interviewer leniency, criterion alpha, stage
    pass-through), one column a month; None when the period has a single month."""
    months = data.get("months") or []
    if len(months) < 2:
        return None
    return {"months": [m["month"] for m in months],
            "interviewers": _by_month(months, "interviewers", data["interviewers"], "leniency",
                                      "leniency_n", signed, person),
            "criteria": _by_month(months, "criteria", data["criteria"], "alpha", "units",
                                  number, lambda c: str(c["id"])),
            "stages": _by_month(months, "stages", data["stages"], "pass_through",
                                "pass_through_n", share, lambda s: str(s.get("title") or s["id"]))}


def _by_month(months: list[dict[str, Any]], section: str, overall: list[dict[str, Any]],
              key: str, n_key: str, fmt: Any, name: Any) -> list[dict[str, Any]]:
    rows = []
    for item in overall:
        cells = []
        for month in months:
            found = next((x for x in month.get(section) or [] if x["id"] == item["id"]), None)
            if found is None:
                cells.append("–")
            else:
                value = found.get(key)
                n = found.get(n_key)
                cells.append(fmt(value) + (f" (n={n})" if n is not None and value is not None
                                           else ""))
        rows.append({"name": name(item), "cells": cells})
    return rows
