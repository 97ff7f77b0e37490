import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from normexp.report.stats import difference_interval, mean_interval, verdict


def test_mean_interval_matches_the_t_formula():
    mean, half = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)


def test_single_seed_has_no_interval():
    mean, half = mean_interval([0.97])
    assert mean == 0.97 and math.isnan(half)


def test_difference_matches_scipy_welch():
    a, b = [0.975, 0.978, 0.974, 0.980], [0.970, 0.972, 0.969]
    difference, low, high = difference_interval(a, b)
    expected = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert difference == pytest.approx(np.mean(a) - np.mean(b))
    assert (low, high) == pytest.approx((expected.low, expected.high))


def test_verdicts():
    assert verdict(0.1, 0.3) == "higher"
    assert verdict(-0.3, -0.1) == "lower"
    assert verdict(-0.1, 0.2) == "no clear difference"
    assert verdict(math.nan, math.nan) == "too few seeds to tell"


def test_prediction_interval_is_wider_than_the_mean_interval():
    from normexp.report.stats import prediction_interval

    values = [0.970, 0.975, 0.972, 0.978, 0.974]
    mean, half = mean_interval(values)
    low, high = prediction_interval(values)
    assert low < mean - half and high > mean + half
    assert (high - low) / 2 == pytest.approx(half * math.sqrt(len(values) + 1))
    assert all(math.isnan(bound) for bound in prediction_interval([0.97]))
