"""PSI, Jensen-Shannon and KS from bins agree with scipy on the same bins."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy, ks_2samp

from dbx_ops.errors import InvalidInputError
from dbx_ops.validation import drift

CASES = [
    ([100, 200, 300, 400], [110, 190, 310, 390]),
    ([500, 300, 150, 50], [50, 150, 300, 500]),
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [3, 1, 2, 1, 1, 1, 1, 1, 1, 8]),
    ([10, 0, 5], [0, 10, 5]),
]


def _scipy_psi(e, a, eps=drift.PSI_EPSILON):
    p = np.maximum(np.asarray(e, float) / sum(e), eps)
    q = np.maximum(np.asarray(a, float) / sum(a), eps)
    # PSI is the symmetric KL divergence: KL(q||p) + KL(p||q) (on unnormalised smoothed proportions).
    return float(np.sum((q - p) * np.log(q / p)))


@pytest.mark.parametrize(("expected", "actual"), CASES)
def test_psi_matches_scipy_symmetric_kl(expected, actual):
    ours = drift.psi(expected, actual)
    assert ours == pytest.approx(_scipy_psi(expected, actual), rel=1e-12)
    if 0 not in expected and 0 not in actual:
        p = np.asarray(expected, float) / sum(expected)
        q = np.asarray(actual, float) / sum(actual)
        assert ours == pytest.approx(entropy(q, p) + entropy(p, q), rel=1e-9)


@pytest.mark.parametrize(("expected", "actual"), CASES)
def test_js_distance_matches_scipy(expected, actual):
    assert drift.js_distance(expected, actual) == pytest.approx(
        float(jensenshannon(expected, actual, base=2)), abs=1e-12
    )
    assert drift.js_distance(expected, actual, base=math.e) == pytest.approx(
        float(jensenshannon(expected, actual)), abs=1e-12
    )


@pytest.mark.parametrize(("expected", "actual"), CASES)
def test_ks_from_bins_matches_scipy_on_samples_at_the_bins(expected, actual):
    a = np.repeat(np.arange(len(expected)), expected)
    b = np.repeat(np.arange(len(actual)), actual)
    assert drift.ks_statistic(expected, actual) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)


def test_identical_distributions_have_zero_distance():
    counts = [5, 10, 20, 5]
    assert drift.psi(counts, counts) == 0.0
    assert drift.js_distance(counts, [2 * c for c in counts]) == pytest.approx(0.0, abs=1e-7)
    assert drift.ks_statistic(counts, counts) == 0.0


def test_a_big_shift_is_above_the_usual_psi_threshold():
    assert drift.psi([25, 25, 25, 25], [70, 10, 10, 10]) > 0.25
    assert drift.psi([25, 25, 25, 25], [26, 24, 25, 25]) < 0.01


def test_distance_dispatch_and_errors():
    assert drift.distance("ks", [1, 1], [2, 0]) == pytest.approx(0.5)
    with pytest.raises(InvalidInputError, match="Unknown distance 'kl'"):
        drift.distance("kl", [1], [1])
    with pytest.raises(InvalidInputError, match="same bins"):
        drift.psi([1, 2], [1, 2, 3])
    with pytest.raises(InvalidInputError, match="zero"):
        drift.js_distance([0, 0], [1, 1])
    with pytest.raises(InvalidInputError, match="non-negative"):
        drift.ks_statistic([1, -1], [1, 1])


# -- the Lakehouse Monitoring statistics: total variation, chi-square, Wasserstein ---------------


@pytest.mark.parametrize(("expected", "actual"), CASES)
def test_total_variation_is_half_the_l1_distance_of_the_proportions(expected, actual):
    p = np.asarray(expected, float) / sum(expected)
    q = np.asarray(actual, float) / sum(actual)
    assert drift.tv_distance(expected, actual) == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-12)
    assert drift.distance("tvd", expected, actual) == drift.tv_distance(expected, actual)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        *CASES,
        ([5000, 3000, 2000], [5050, 2980, 1970]),
        ([3, 4], [4, 3]),
        ([10**6, 10**6], [10**6 + 900, 10**6]),
    ],
)
def test_chi_square_statistic_and_p_value_match_scipy(expected, actual):
    from scipy.stats import chi2_contingency

    table = np.array([expected, actual], dtype=float)
    table = table[:, table.sum(axis=0) > 0]  # bins empty on both sides carry no information
    want = chi2_contingency(table, correction=False)
    stat, p, dof = drift.chi2_test(expected, actual)
    assert dof == want.dof
    assert stat == pytest.approx(want.statistic, rel=1e-10)
    assert p == pytest.approx(want.pvalue, rel=1e-8, abs=1e-300)


@pytest.mark.parametrize("dof", [1, 2, 5, 9, 30, 99])
@pytest.mark.parametrize("x", [0.01, 0.5, 1.0, 3.7, 10.0, 42.0, 150.0, 400.0])
def test_chi_square_survival_function_matches_scipy_over_a_wide_range(dof, x):
    from scipy.stats import chi2

    assert drift.chi2_sf(x, dof) == pytest.approx(chi2.sf(x, dof), rel=1e-9, abs=1e-300)


def test_chi_square_of_one_bin_or_identical_counts_says_no_drift():
    assert drift.chi2_test([10, 0], [20, 0]) == (0.0, 1.0, 0)
    stat, p, _ = drift.chi2_test([100, 200, 300], [100, 200, 300])
    assert stat == pytest.approx(0.0) and p == pytest.approx(1.0)
    assert drift.chi2_test([5000, 5000], [6000, 4000])[1] < 1e-6  # a real shift at this size


@pytest.mark.parametrize(("expected", "actual"), CASES)
def test_wasserstein_from_bins_matches_scipy_on_the_bin_points(expected, actual):
    from scipy.stats import wasserstein_distance

    edges = [float(10 * (i + 1)) for i in range(len(expected) - 1)]
    points = drift.bin_points(edges, low=0.0, high=10.0 * len(expected) + 5)
    want = wasserstein_distance(points, points, expected, actual)
    assert drift.wasserstein(expected, actual, points) == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert drift.distance("wasserstein", expected, actual, points) == pytest.approx(want, rel=1e-12)


def test_bin_points_sit_mid_bin_and_between_the_outer_edge_and_the_data():
    assert drift.bin_points([10.0, 20.0, 30.0], low=0.0, high=50.0) == [5.0, 15.0, 25.0, 40.0]
    assert drift.bin_points([10.0, 20.0]) == [10.0, 15.0, 20.0]  # no min / max known: at the edges


def test_new_statistics_refuse_what_they_cannot_measure():
    with pytest.raises(InvalidInputError, match="numeric bins"):
        drift.distance("wasserstein", [1, 2], [2, 1])
    with pytest.raises(InvalidInputError, match="one point per bin"):
        drift.wasserstein([1, 2], [2, 1], [0.0])
    with pytest.raises(InvalidInputError, match="same bins"):
        drift.chi2_test([1, 2], [1, 2, 3])
    with pytest.raises(InvalidInputError, match="Degrees of freedom"):
        drift.chi2_sf(1.0, 0)
