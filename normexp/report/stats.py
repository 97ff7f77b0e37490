"""Small statistics over seeds: t-intervals for a mean and for a difference of means.

Contract: inputs are 1-D sequences of per-seed values (NaN-free); outputs are
plain floats. With fewer than ``MIN_INTERVAL_SEEDS`` seeds an interval is reported
as NaN (shown as the mean alone, with a note), never as zero width: with one seed it
is undefined, and with two the 95% t-quantile is 12.7, so the interval is wider than
the metric's whole range and says nothing.
"""

import math

import numpy as np
from scipy import stats as scipy_stats

MIN_INTERVAL_SEEDS = 3


def mean_interval(values, level=0.95):
    """``(mean, half_width)`` of the two-sided t-interval for the mean."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return math.nan, math.nan
    if values.size < MIN_INTERVAL_SEEDS:
        return float(values.mean()), math.nan
    critical = scipy_stats.t.ppf(0.5 + level / 2, values.size - 1)
    return float(values.mean()), float(critical * values.std(ddof=1) / math.sqrt(values.size))


def prediction_interval(values, level=0.95):
    """``(low, high)`` expected to hold one new run's value: mean ± t·s·sqrt(1 + 1/n).

    The right yardstick for a single published number: could one run from our
    distribution of seeds plausibly have produced it?
    """
    values = np.asarray(values, dtype=float)
    if values.size < MIN_INTERVAL_SEEDS:
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
    if a.size < MIN_INTERVAL_SEEDS or b.size < MIN_INTERVAL_SEEDS:
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


class Difference:
    """A difference of means with its standard error and t degrees of freedom.

    ``welch_difference`` (independent samples) and ``paired_difference`` (two metrics of
    the same seeds) build it. With zero spread on every side (``varies`` is False) a
    t-test has nothing to work with: the p-values are NaN and no interval is given; a
    claim about such a metric is an exact check or a binary (Fisher) test instead.
    """

    def __init__(self, estimate, standard_error, freedom, sizes):
        self.estimate, self.standard_error = estimate, standard_error
        self.freedom, self.sizes = freedom, sizes
        self.usable = min(sizes) >= 2

    @property
    def varies(self):
        return bool(self.standard_error > 0)   # False for 0 and for NaN

    def critical(self, alpha):
        return scipy_stats.t.ppf(1 - alpha / 2, self.freedom)

    def interval(self, alpha):
        """Two-sided ``1 - alpha`` t-interval; NaN without variation."""
        if not self.varies:
            return math.nan, math.nan
        half = self.critical(alpha) * self.standard_error
        return self.estimate - half, self.estimate + half

    def one_sided_above(self, null):
        """p of a difference this large or larger if the truth were ``null``."""
        if not self.varies:
            return math.nan
        return float(scipy_stats.t.sf((self.estimate - null) / self.standard_error,
                                      self.freedom))

    def p_value(self, null):
        """Two-sided p against a true difference of ``null``."""
        above = self.one_sided_above(null)
        return min(1.0, 2 * min(above, 1 - above)) if self.varies else math.nan

    def p_equivalent(self, margin):
        """Two one-sided tests (TOST), each at half the level, so that the test and the
        "outside" test below together keep the level: small when the difference lies
        within ``±margin``; it rejects at ``alpha`` exactly when the two-sided
        ``1 - alpha`` interval lies inside ``±margin``."""
        if not self.varies:
            return math.nan
        return min(1.0, 2 * max(self.one_sided_above(-margin),
                                1 - self.one_sided_above(margin)))

    def p_outside(self, margin):
        """Small when the difference lies beyond ``margin`` on the estimate's side (half
        the level, as ``p_equivalent``)."""
        if not self.varies:
            return math.nan
        if self.estimate >= 0:
            return min(1.0, 2 * self.one_sided_above(margin))
        return min(1.0, 2 * (1 - self.one_sided_above(-margin)))

    def detectable(self, alpha, power):
        """Smallest true difference found with probability ``power`` by a two-sided test at
        ``alpha``, given the observed spread: (t_{1-alpha/2} + t_{power}) · SE."""
        if not self.varies:
            return math.nan
        return float((self.critical(alpha) + scipy_stats.t.ppf(power, self.freedom))
                     * self.standard_error)

    def equivalence_detectable(self, alpha, power):
        """Smallest margin within which equality is shown with probability ``power`` by
        ``p_equivalent`` at ``alpha`` when the true difference is 0: the interval's
        half-width must fall inside it, (t_{1-alpha/2} + t_{(1+power)/2}) · SE (both
        one-sided tests must succeed, so the miss probability is split over two tails)."""
        if not self.varies:
            return math.nan
        return float((self.critical(alpha) + scipy_stats.t.ppf((1 + power) / 2, self.freedom))
                     * self.standard_error)


def welch_difference(values, other):
    """mean(values) − mean(other), independent samples, Welch–Satterthwaite freedom."""
    return contrast((values, other), (1, -1))


def contrast(samples, weights):
    """Σ weight · mean(sample) over independent samples: its standard error is
    sqrt(Σ weight² · s²/n) and its freedom Welch–Satterthwaite's, (Σ v)² / Σ v²/(n − 1)
    with v = weight² · s²/n. Two samples with weights (1, −1) are Welch's difference;
    four with (1, −1, −1, 1) a difference of differences (an interaction)."""
    arrays = [np.asarray(sample, dtype=float) for sample in samples]
    sizes = tuple(array.size for array in arrays)
    if min(sizes) < 2:
        estimate = (float(sum(weight * array.mean() for weight, array in zip(weights, arrays)))
                    if min(sizes) else math.nan)
        return Difference(estimate, math.nan, math.nan, sizes)
    parts = [weight ** 2 * array.var(ddof=1) / array.size
             for weight, array in zip(weights, arrays)]
    error = math.sqrt(sum(parts))
    freedom = (sum(parts) ** 2 / sum(part ** 2 / (array.size - 1)
                                     for part, array in zip(parts, arrays))
               if error else sum(sizes) - len(sizes))
    estimate = float(sum(weight * array.mean() for weight, array in zip(weights, arrays)))
    return Difference(estimate, error, freedom, sizes)


def paired_difference(values, other, seeds, other_seeds):
    """mean(values − other) over the seeds both sides have (two metrics of the same runs)."""
    by_seed = dict(zip(other_seeds, other))
    pairs = [value - by_seed[seed] for seed, value in zip(seeds, values) if seed in by_seed]
    differences = np.asarray(pairs, dtype=float)
    if differences.size < 2:
        estimate = float(differences.mean()) if differences.size else math.nan
        return Difference(estimate, math.nan, math.nan, (differences.size,))
    error = float(differences.std(ddof=1) / math.sqrt(differences.size))
    return Difference(float(differences.mean()), error, differences.size - 1,
                      (differences.size,))
