"""The statistics calibration reports: agreement (Krippendorff's alpha), rank correlation,
an interval for a mean, spread. Each returns None where the figure would mean nothing.

docs/calibration.md says what each figure means and where it stops meaning it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SCALE = (1, 2, 3, 4)
MIN_ALPHA_UNITS = 10
"""Alpha needs at least this many units (candidates rated by two or more interviewers):
under it alpha swings too widely to be read (Krippendorff asks for more still)."""
MIN_CORRELATION_N = 10
"""A correlation needs at least this many candidates."""

# Two-sided 95% quantiles of Student's t for 1-30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def r3(x: float | None) -> float | None:
    """A figure as reported: three decimals (None stays None)."""
    return None if x is None else round(x, 3) + 0.0  # (+ 0.0: never -0.0)


def share(part: int, whole: int) -> float | None:
    return r3(part / whole) if whole else None


def alpha(units: Sequence[Sequence[int]], domain: Sequence[int] = SCALE) -> float | None:
    """Krippendorff's ordinal alpha over ``units`` (each: the values its raters gave, from
    ``domain``); None with fewer than ``MIN_ALPHA_UNITS`` pairable units, or when every
    value is the same (agreement is then undefined: there was no variation to agree on)."""
    pairable = [u for u in units if len(u) >= 2]
    if len(pairable) < MIN_ALPHA_UNITS or len({v for u in pairable for v in u}) < 2:
        return None
    import numpy as np
    from krippendorff import alpha as k_alpha

    column = {v: i for i, v in enumerate(domain)}
    counts = np.zeros((len(pairable), len(domain)))
    for row, unit in enumerate(pairable):
        for value in unit:
            counts[row, column[value]] += 1
    found = float(k_alpha(value_counts=counts, value_domain=list(domain),
                          level_of_measurement="ordinal"))
    return None if math.isnan(found) else r3(found)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i, n = 0, len(order)
    while i < n:
        j, value = i, values[order[i]]
        while j + 1 < n and values[order[j + 1]] == value:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            out[order[k]] = rank
        i = j + 1
    return out


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return None if sxx == 0 or syy == 0 else sxy / math.sqrt(sxx * syy)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation (Pearson's on mid-ranks); None under
    ``MIN_CORRELATION_N`` pairs or when either side never varies."""
    if len(xs) < MIN_CORRELATION_N:
        return None
    return r3(pearson(ranks(xs), ranks(ys)))


def sd(values: Sequence[float]) -> float | None:
    """Population standard deviation (None without values)."""
    if not values:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (a table to 30,
    then the Cornish-Fisher expansion, within 0.001)."""
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def mean_interval(diffs: Sequence[float]) -> tuple[float, float]:
    """The mean of ``diffs`` with its 95% t interval (at least two values)."""
    n = len(diffs)
    m = sum(diffs) / n
    s = math.sqrt(sum((d - m) ** 2 for d in diffs) / (n - 1))
    half = t975(n - 1) * s / math.sqrt(n)
    return m - half, m + half
