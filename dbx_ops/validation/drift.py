"""Distribution distances computed from binned counts, in plain Python.

Both sides of a comparison are counted over the same bins (numeric bins whose
edges come from the baseline, or the baseline's top categories plus an
"other" bucket), so each statistic needs only two lists of counts:

* :func:`psi` — Population Stability Index, ``sum((a - e) * ln(a / e))`` over
  bin proportions; zero proportions are replaced by ``epsilon`` first. Rule of
  thumb: below 0.1 stable, 0.1-0.25 moderate shift, above 0.25 significant.
* :func:`js_distance` — Jensen-Shannon distance (the square root of the
  divergence), base 2 by default so it lies in ``[0, 1]``; equals
  ``scipy.spatial.distance.jensenshannon``.
* :func:`ks_statistic` — the two-sample Kolmogorov-Smirnov statistic from
  binned data: the largest gap between the two cumulative distributions at the
  bin boundaries; equals ``scipy.stats.ks_2samp`` on samples placed at the bins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dbx_ops.errors import InvalidInputError

#: Replaces a zero bin proportion in PSI so an empty bin does not make it infinite.
PSI_EPSILON = 1e-4

METRICS = ("psi", "js", "ks")


def _proportions(counts: Sequence[float]) -> list[float]:
    values = [float(c) for c in counts]
    if any(v < 0 or math.isnan(v) for v in values):
        raise InvalidInputError(f"Bin counts must be non-negative numbers, got {list(counts)!r}.")
    total = sum(values)
    if total <= 0:
        raise InvalidInputError("Bin counts add up to zero: there is no distribution to compare.")
    return [v / total for v in values]


def _pair(expected: Sequence[float], actual: Sequence[float]) -> tuple[list[float], list[float]]:
    if len(expected) != len(actual):
        raise InvalidInputError(
            f"The two distributions have {len(expected)} and {len(actual)} bins; they must use the same bins."
        )
    if not expected:
        raise InvalidInputError("There are no bins to compare.")
    return _proportions(expected), _proportions(actual)


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = PSI_EPSILON) -> float:
    """Population Stability Index of ``actual`` against ``expected`` over the same bins.

    Args:
        expected: baseline counts (or proportions) per bin.
        actual: current counts per bin, same bins in the same order.
        epsilon: proportion used in place of an empty bin on either side.

    Returns:
        The PSI, 0 for identical distributions.
    """
    e, a = _pair(expected, actual)
    e = [max(x, epsilon) for x in e]
    a = [max(x, epsilon) for x in a]
    return float(sum((ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True)))


def js_distance(expected: Sequence[float], actual: Sequence[float], base: float = 2.0) -> float:
    """Jensen-Shannon distance between two binned distributions.

    Args:
        expected: baseline counts per bin.
        actual: current counts per bin.
        base: logarithm base; 2 keeps the distance within ``[0, 1]``.

    Returns:
        ``sqrt((KL(p||m) + KL(q||m)) / 2)`` with ``m`` the mean distribution.
    """
    p, q = _pair(expected, actual)
    m = [(pi + qi) / 2 for pi, qi in zip(p, q, strict=True)]

    def kl(x: list[float]) -> float:
        return sum(xi * math.log(xi / mi) for xi, mi in zip(x, m, strict=True) if xi > 0)

    divergence = (kl(p) + kl(q)) / 2 / math.log(base)
    return math.sqrt(max(divergence, 0.0))


def ks_statistic(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic from counts over ordered bins.

    Args:
        expected: baseline counts per bin, bins in ascending order.
        actual: current counts per bin, same bins.

    Returns:
        The largest absolute difference of the two empirical CDFs, in ``[0, 1]``.
    """
    p, q = _pair(expected, actual)
    cp = cq = worst = 0.0
    for pi, qi in zip(p, q, strict=True):
        cp += pi
        cq += qi
        worst = max(worst, abs(cp - cq))
    return min(worst, 1.0)


def distance(metric: str, expected: Sequence[float], actual: Sequence[float]) -> float:
    """The named distance (``psi``, ``js`` or ``ks``) between two binned distributions."""
    if metric == "psi":
        return psi(expected, actual)
    if metric == "js":
        return js_distance(expected, actual)
    if metric == "ks":
        return ks_statistic(expected, actual)
    raise InvalidInputError(f"Unknown distance {metric!r}; use one of {', '.join(METRICS)}.")
