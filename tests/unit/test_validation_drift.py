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
