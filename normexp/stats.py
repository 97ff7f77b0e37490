"""Small statistics over seeds: t-intervals for a mean and for a difference of means.

Contract: inputs are 1-D sequences of per-seed values (NaN-free); outputs are
plain floats. With one seed an interval is undefined and reported as NaN, never
as zero width.
"""

import math

import numpy as np
from scipy import stats as scipy_stats


def mean_interval(values, level=0.95):
    """``(mean, half_width)`` of the two-sided t-interval for the mean."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return math.nan, math.nan
    if values.size == 1:
        return float(values[0]), math.nan
    critical = scipy_stats.t.ppf(0.5 + level / 2, values.size - 1)
    return float(values.mean()), float(critical * values.std(ddof=1) / math.sqrt(values.size))


def prediction_interval(values, level=0.95):
    """``(low, high)`` expected to hold one new run's value: mean ± t·s·sqrt(1 + 1/n).

    The right yardstick for a single published number: could one run from our
    distribution of seeds plausibly have produced it?
    """
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return math.nan, math.nan
    critical = scipy_stats.t.ppf(0.5 + level / 2, values.size - 1)
    half = critical * values.std(ddof=1) * math.sqrt(1 + 1 / values.size)
    return float(values.mean() - half), float(values.mean() + half)


def difference_interval(values, baseline, level=0.95):
    """``(difference, low, high)`` of mean(values) - mean(baseline), Welch's t-interval.

    Seeds of different variants train different models, so the samples are
    treated as independent (no pairing by seed).
    """
    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    if a.size < 2 or b.size < 2:
        difference = float(a.mean() - b.mean()) if a.size and b.size else math.nan
        return difference, math.nan, math.nan
    variance_a, variance_b = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    difference = float(a.mean() - b.mean())
    standard_error = math.sqrt(variance_a + variance_b)
    if standard_error == 0:
        return difference, difference, difference
    freedom = (variance_a + variance_b) ** 2 / (
        variance_a ** 2 / (a.size - 1) + variance_b ** 2 / (b.size - 1))
    critical = scipy_stats.t.ppf(0.5 + level / 2, freedom)
    return difference, difference - critical * standard_error, difference + critical * standard_error


def verdict(low, high):
    """Plain words for a difference interval."""
    if math.isnan(low):
        return "too few seeds to tell"
    if low > 0:
        return "higher"
    if high < 0:
        return "lower"
    return "no clear difference"
