"""Per stage: how many scorecards, how many recommend moving the candidate on, the mix."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rubrics.calibration.agreement import share
from rubrics.calibration.selection import RECOMMENDATIONS, YES, LoopMeta, Seen


def stage_figures(seen: list[Seen], meta: LoopMeta) -> list[dict[str, Any]]:
    """Per stage: scorecards, the share recommending yes or strong yes, the mix."""
    said: dict[str, Counter[str]] = defaultdict(Counter)
    for s in seen:
        said[s.card.stage][s.card.recommendation] += 1
    out = []
    for stage, title in meta.stages.items():
        mix = said.get(stage, Counter())
        total = sum(mix.values())
        out.append({"id": stage, "title": title, "scorecards": total,
                    "pass_through": share(sum(mix[r] for r in YES), total),
                    "pass_through_n": total,
                    "decisions": {r: mix.get(r, 0) for r in RECOMMENDATIONS}})
    return out
