"""The calibration figures as a compact summary for a terminal: a table per section."""

from __future__ import annotations

from typing import Any

from rubrics.calibration.impact import MIN_GROUP_SHOWN

LITTLE = "too little data"


def _cut(text: str, width: int) -> str:
    from rubrics.render import plain

    text = " ".join(plain(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _num(x: float | None, signed: bool = False) -> str:
    if x is None:
        return LITTLE
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def to_text(data: dict[str, Any]) -> str:
    out = _heading(data)
    out += ["", "Interviewers (leniency: mean difference from the other interviewers' ratings "
            "of the same criterion of the same candidates, + = more lenient; "
            "(n) = observations; halo: within-scorecard sd, theirs / others' at their stages)",
            f"  {'interviewer':<24} {'cards':>5} {'on time (n)':>13} {'unassessed (n)':>15}  "
            f"{'leniency (candidates, 95% interval)':<38} {'vs rule (n)':>11} "
            f"{'halo sd (n) / others':>22}"]
    out += [_interviewer(i) for i in data["interviewers"]] or ["  (no scorecards)"]
    if any(i["on_time"]["undated"] or i["on_time"].get("inconsistent")
           for i in data["interviewers"]):
        out.append("  (on time: +N? = N scorecards without an interview date; N! = N accepted "
                   "before the interview date they give; neither is counted in n)")
    out += ["", "Criteria (alpha: Krippendorff's ordinal alpha; r: Spearman with overall level)",
            f"  {'criterion':<44} {'alpha':>15} {'units':>5} {'unassessed':>10} {'sd':>5} "
            f"{'r (n)':>20}"]
    out += [_agreement(c["id"], c, c["sd"]) for c in data["criteria"]]
    out += ["", "Topics", f"  {'topic':<44} {'alpha':>15} {'units':>5} {'unassessed':>10} "
            f"{'':>5} {'r (n)':>20}"]
    out += [_agreement(t["title"], t, None, with_sd=False) for t in data["topics"]]
    out += ["", "Stages", f"  {'stage':<35} {'cards':>5} {'pass-through':>12}  "
            "strong no / no / yes / strong yes"]
    out += [_stage(n, s) for n, s in enumerate(data["stages"], 1)]
    out += _months(data.get("months", []), [s["id"] for s in data["stages"]])
    if "groups" in data:
        out += _groups(data["groups"])
    return "\n".join(out) + "\n"


def _heading(data: dict[str, Any]) -> list[str]:
    packs = data["packs"]
    since = f", interviews since {data['since']}" if data["since"] else ""
    out = [f"Calibration: {_cut(data.get('role_title') or '', 60)} ({data['role']}): "
           f"{packs['read']} pack{'s' if packs['read'] != 1 else ''} read{since}"]
    if packs["other_roles"]:
        out.append(f"  {packs['other_roles']} pack{'s' if packs['other_roles'] != 1 else ''} "
                   "of other roles left out (--role)")
    for s in packs["skipped"]:
        out.append(f"  skipped {s['path']}: {_cut(s['reason'], 200)}")
    out += [f"  warning: {_cut(w, 300)}" for w in data.get("warnings", [])]
    return out


def _interviewer(i: dict[str, Any]) -> str:
    on_time = i["on_time"]
    timely = _with_n(on_time["share"], on_time["n"]) + (
        f" +{on_time['undated']}?" if on_time["undated"] else "") + (
        f" {on_time.get('inconsistent')}!" if on_time.get("inconsistent") else "")
    against = i["disagrees_with_decision"]
    halo = i["halo"]
    own = "-" if halo["sd"] is None else f"{halo['sd']:.2f} ({halo['n']})"
    others = "-" if halo.get("reference") is None else f"{halo['reference']:.2f}"
    return (f"  {_cut(i['name'], 24):<24} {i['scorecards']:>5} {timely:>13} "
            f"{_with_n(i['unassessed_share'], i['unassessed_n']):>15}  {_leniency(i):<38} "
            f"{_with_n(against['share'], against['n']):>11} {own + ' / ' + others:>22}")


def _with_n(value: float | None, n: int) -> str:
    """A share with the number of observations it rests on."""
    return f"{_pct(value)} ({n})"


def _leniency(i: dict[str, Any]) -> str:
    if i["leniency"] is not None:
        lo, hi = i["leniency_interval"]
        return f"{i['leniency']:+.2f} ({i['leniency_n']}, {lo:+.2f} to {hi:+.2f})"
    if not i.get("leniency_pairs", i["leniency_n"]):
        return "no shared criteria"
    n = i["leniency_n"]
    return f"{LITTLE} ({n} candidate{'' if n == 1 else 's'})"


def _agreement(name: str, x: dict[str, Any], spread: float | None, *, with_sd: bool = True
               ) -> str:
    r = (LITTLE if x["level_correlation"] is None else f"{x['level_correlation']:+.2f}")
    sd = "" if not with_sd else "-" if spread is None else f"{spread:.2f}"
    return (f"  {_cut(name, 44):<44} {_num(x['alpha']):>15} {x['units']:>5} "
            f"{_pct(x['unassessed_share']):>10} {sd:>5} "
            f"{r + ' (' + str(x['level_correlation_n']) + ')':>20}")


def _stage(n: int, s: dict[str, Any]) -> str:
    mix = " / ".join(str(n) for n in s["decisions"].values())
    return (f"  S{n:<2} {_cut(s['title'], 32):<32} {s['scorecards']:>5} "
            f"{_pct(s['pass_through']):>12}  {mix}")


def _months(months: list[dict[str, Any]], stage_ids: list[str]) -> list[str]:
    if not months:
        return []
    number = {sid: f"S{n}" for n, sid in enumerate(stage_ids, 1)}
    out = ["", "By month (scorecards; pass-through per stage, S as in Stages; who stands apart)"]
    for m in months:
        cards = sum(s["scorecards"] for s in m["stages"])
        stages = ", ".join(f"{number.get(s['id'], s['id'])} {_pct(s['pass_through'])}"
                           for s in m["stages"] if s["scorecards"])
        out += [f"  {m['month']}: {cards} scorecards; {stages}",
                f"    lenient or severe (95% interval excludes 0): {_apart(m['interviewers'])}"]
    return out


def _apart(interviewers: list[dict[str, Any]]) -> str:
    """Who stands apart in a month, or that nobody could be measured (never "none" then)."""
    measured = [i for i in interviewers if i["leniency_interval"] is not None]
    if not measured:
        n = len(interviewers)
        return f"{LITTLE} ({n} of {n} interviewer{'' if n == 1 else 's'})"
    apart = ", ".join(f"{_cut(i['name'], 20)} {i['leniency']:+.2f}" for i in measured
                      if i["leniency_interval"][0] > 0 or i["leniency_interval"][1] < 0)
    unmeasured = len(interviewers) - len(measured)
    rest = f"; {LITTLE} for {unmeasured} more" if unmeasured else ""
    return (apart or f"none of {len(measured)} measured") + rest


def _groups(groups: dict[str, Any]) -> list[str]:
    out = ["", "Selection rates by group (impact ratio vs the highest rate; flagged below 0.8, "
           "the four-fifths rule)"]
    decision = groups["decision"]
    sources = (f"decision (the panel's recorded decision, else the rule's: "
               f"{decision.get('from_panel', 0)} from the panel, {decision.get('from_rule', 0)} "
               f"from the rule, {decision.get('undecided', 0)} undecided)")
    scopes = [(f"stage {s['id']}", s["rates"]) for s in groups["stages"]]
    for name, rates in [*scopes, (sources, decision["rates"])]:
        out.append(f"  {name}:")
        out += [f"    {_cut(r['group'], 24):<24} {_group_rate(r)}" for r in rates] or [
            "    (no candidate of a listed group here)"]
    out += [f"  warning: {w}" for w in groups["warnings"]]
    return out


def _group_rate(r: dict[str, Any]) -> str:
    """One group's row: its rate and ratio, or only its count when too few to compare."""
    undecided = r.get("undecided", "absent")
    left = "" if undecided == "absent" else (
        f", {undecided} undecided" if undecided is not None else ", undecided not shown")
    if not r.get("comparable", True):
        count = r["total"] if r["total"] is not None else f"fewer than {MIN_GROUP_SHOWN}"
        return f"too few to compare ({count} candidates{left})"
    ratio = "-" if r["impact_ratio"] is None else f"{r['impact_ratio']:.2f}"
    flag = "  BELOW 4/5" if r["flag"] else ""
    return (f"{r['selected']:>5}/{r['total']:<5} {_pct(r['rate']):>5}  ratio {ratio}{flag}"
            f"{left.replace(', ', '  ', 1)}")
