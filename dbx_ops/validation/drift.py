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
* :func:`tv_distance` — total variation distance, half the L1 distance between
  the two bin proportions, in ``[0, 1]`` (Lakehouse Monitoring's categorical drift).
* :func:`chi2_test` — Pearson's chi-square test of homogeneity of the two count
  vectors (a 2 x k contingency table, no continuity correction); the p-value is
  the chi-square survival function, computed here from the regularised
  incomplete gamma function (no scipy at run time). Equals
  ``scipy.stats.chi2_contingency(..., correction=False)``. It reads counts, not
  proportions: on millions of rows even a tiny shift has a p-value near 0.
* :func:`wasserstein` — the first Wasserstein (earth mover's) distance between
  the two binned distributions with each bin's mass at a representative point
  (see :func:`bin_points`), in the column's own units; equals
  ``scipy.stats.wasserstein_distance(points, points, expected, actual)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from dbx_ops.errors import InvalidInputError

#: Replaces a zero bin proportion in PSI so an empty bin does not make it infinite.
PSI_EPSILON = 1e-4

#: Every statistic a ``distribution`` rule may use. ``chi2`` is a p-value (small = drifted);
#: the others are distances (large = drifted).
METRICS = ("psi", "js", "ks", "tvd", "chi2", "wasserstein")
#: Statistics that need numeric bins with edges (not categories).
NUMERIC_ONLY = ("wasserstein",)


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


def tv_distance(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Total variation distance between two binned distributions: ``sum(|p - q|) / 2``, in ``[0, 1]``."""
    p, q = _pair(expected, actual)
    return min(sum(abs(pi - qi) for pi, qi in zip(p, q, strict=True)) / 2, 1.0)


def chi2_test(expected: Sequence[float], actual: Sequence[float]) -> tuple[float, float, int]:
    """Pearson's chi-square test that two count vectors come from the same distribution.

    The two vectors are the rows of a 2 x k contingency table; bins empty on both sides are
    dropped. Counts must be counts (not proportions): the test's power grows with them.

    Args:
        expected: baseline counts per bin.
        actual: current counts per bin, same bins.

    Returns:
        ``(statistic, p_value, degrees_of_freedom)``; the p-value is 1 when fewer than two bins
        hold values.
    """
    _pair(expected, actual)  # same length, non-negative, neither side empty
    cells = [(float(e), float(a)) for e, a in zip(expected, actual, strict=True) if e > 0 or a > 0]
    dof = len(cells) - 1
    if dof < 1:
        return 0.0, 1.0, 0
    total_e = sum(e for e, _ in cells)
    total_a = sum(a for _, a in cells)
    grand = total_e + total_a
    stat = 0.0
    for e, a in cells:
        column = e + a
        for observed, row in ((e, total_e), (a, total_a)):
            want = row * column / grand
            stat += (observed - want) ** 2 / want
    return stat, chi2_sf(stat, dof), dof


def chi2_sf(x: float, dof: int) -> float:
    """The chi-square survival function ``P(X >= x)`` for ``dof`` degrees of freedom."""
    if dof < 1:
        raise InvalidInputError(f"Degrees of freedom must be at least 1, got {dof!r}.")
    if x <= 0:
        return 1.0
    return _upper_gamma_q(dof / 2.0, x / 2.0)


def _upper_gamma_q(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function ``Q(a, x) = Gamma(a, x) / Gamma(a)``.

    A power series of the lower function where it converges fast (``x < a + 1``), else a
    continued fraction of the upper one evaluated by the modified Lentz method.
    """
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1.0
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return min(1.0, math.exp(log_prefix) * h)


def bin_points(edges: Sequence[float], low: float | None = None, high: float | None = None) -> list[float]:
    """Where each histogram bin's mass sits for :func:`wasserstein`.

    The bins are ``(-inf, e0)``, ``[e0, e1)``, ..., ``[ek, +inf)``: an inner bin at its
    midpoint, the open outer bins halfway between the data's ``low`` / ``high`` (the columns'
    min and max, when known) and the nearest edge, or at that edge.
    """
    if not edges:
        return [0.0 if low is None else float(low)]
    e = [float(v) for v in edges]
    first = e[0] if low is None or low >= e[0] else (float(low) + e[0]) / 2
    last = e[-1] if high is None or high <= e[-1] else (float(high) + e[-1]) / 2
    return [first, *[(a + b) / 2 for a, b in itertools.pairwise(e)], last]


def wasserstein(expected: Sequence[float], actual: Sequence[float], points: Sequence[float]) -> float:
    """First Wasserstein distance of two binned distributions whose bins sit at ``points``.

    Args:
        expected: baseline counts per bin.
        actual: current counts per bin.
        points: the value each bin stands for, ascending (see :func:`bin_points`).

    Returns:
        ``sum(|CDF_p - CDF_q| * gap)`` over the gaps between consecutive points: the mass to move
        times how far, in the column's units.
    """
    p, q = _pair(expected, actual)
    if len(points) != len(p):
        raise InvalidInputError(f"Wasserstein needs one point per bin: {len(p)} bins, {len(points)} points.")
    xs = [float(x) for x in points]
    if any(b < a for a, b in itertools.pairwise(xs)):
        raise InvalidInputError("The bin points of a Wasserstein distance must be in ascending order.")
    cp = cq = total = 0.0
    for i in range(len(xs) - 1):
        cp += p[i]
        cq += q[i]
        total += abs(cp - cq) * (xs[i + 1] - xs[i])
    return total


def distance(
    metric: str,
    expected: Sequence[float],
    actual: Sequence[float],
    points: Sequence[float] | None = None,
) -> float:
    """The named statistic between two binned distributions (see :data:`METRICS`).

    ``chi2`` gives the test's p-value; ``wasserstein`` needs ``points`` (one per bin).
    """
    if metric == "tvd":
        return tv_distance(expected, actual)
    if metric == "chi2":
        return chi2_test(expected, actual)[1]
    if metric == "wasserstein":
        if points is None:
            raise InvalidInputError("The Wasserstein distance needs numeric bins with edges, not categories.")
        return wasserstein(expected, actual, points)
    if metric == "psi":
        return psi(expected, actual)
    if metric == "js":
        return js_distance(expected, actual)
    if metric == "ks":
        return ks_statistic(expected, actual)
    raise InvalidInputError(f"Unknown distance {metric!r}; use one of {', '.join(METRICS)}.")
