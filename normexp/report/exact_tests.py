"""Tests without an interval: Fisher's exact test on a binary metric, and the exact check.

Contract: ``fisher_test(values, other)`` takes two sequences of per-seed 0/1 values (two
independent groups) and returns a ``FisherTest``; ``exact_check(values, other, paired)``
takes two sequences of per-seed values of a deterministic property and returns an
``ExactCheck``. Rates and differences are fractions (0.4 = 40%).

Fisher's two-sided p sums the hypergeometric probabilities of every table with the same
margins that is no more probable than the observed one (the rule of
``scipy.stats.fisher_exact``). Its power is computed exactly, by summing the binomial
probabilities of every outcome the test rejects, so it also says when no outcome of so
few seeds could reach a level at all.
"""

import dataclasses
import functools
import math

import numpy as np
from scipy import stats as scipy_stats

RELATIVE_TOLERANCE = 1 + 1e-7   # ties in probability, as scipy's fisher_exact counts them
EFFECT_STEP = 0.01              # the grid on which a detectable rate difference is searched


@functools.lru_cache(maxsize=256)
def p_table(size, other_size):
    """Two-sided Fisher p for every outcome: ``table[k, j]`` with k of ``size`` and j of
    ``other_size`` seeds positive."""
    table = np.ones((size + 1, other_size + 1))
    for total in range(size + other_size + 1):
        low, high = max(0, total - other_size), min(size, total)
        support = np.arange(low, high + 1)
        probability = scipy_stats.hypergeom.pmf(support, size + other_size, total, size)
        for index, k in enumerate(support):
            table[k, total - k] = min(1.0, probability[
                probability <= probability[index] * RELATIVE_TOLERANCE].sum())
    return table


def power(size, other_size, rate, other_rate, alpha, sign):
    """Probability that Fisher's test rejects at ``alpha`` with the first group's rate above
    the second's (``sign`` +1) or below it (−1), when the true rates are as given."""
    rejects = p_table(size, other_size) <= alpha
    counts, other_counts = np.arange(size + 1), np.arange(other_size + 1)
    side = np.sign(counts[:, None] / size - other_counts[None, :] / other_size) == sign
    chance = np.outer(scipy_stats.binom.pmf(counts, size, rate),
                      scipy_stats.binom.pmf(other_counts, other_size, other_rate))
    return float(chance[rejects & side].sum())


def rates_for(effect, low_rate, sign):
    """``(rate, other_rate)``: the group claimed lower keeps ``low_rate``, the other is
    ``effect`` above it (``sign`` +1: the first group is the higher one)."""
    high_rate = low_rate + effect
    return (high_rate, low_rate) if sign > 0 else (low_rate, high_rate)


def detectable_rate_difference(size, other_size, low_rate, alpha, target_power, sign):
    """Smallest rate difference (on a grid of 0.01) that the test finds with probability
    ``target_power``, the claimed-lower group keeping ``low_rate``; NaN when not even the
    largest possible difference would be found that often."""
    for step in range(1, int(round((1 - low_rate) / EFFECT_STEP)) + 1):
        rate, other_rate = rates_for(step * EFFECT_STEP, low_rate, sign)
        if power(size, other_size, rate, other_rate, alpha, sign) >= target_power:
            return step * EFFECT_STEP
    return math.nan


@dataclasses.dataclass
class FisherTest:
    """Fisher's exact test of two groups' rates: ``counts`` positives out of ``sizes``."""

    counts: tuple
    sizes: tuple

    @property
    def usable(self):
        return min(self.sizes) >= 2

    @property
    def rates(self):
        return tuple(count / size for count, size in zip(self.counts, self.sizes))

    @property
    def estimate(self):
        """Rate difference, first group minus second."""
        return self.rates[0] - self.rates[1]

    def p_value(self):
        return float(p_table(*self.sizes)[self.counts])

    def detectable(self, alpha, target_power, sign):
        """Smallest rate difference in the claimed direction found with ``target_power``,
        the claimed-lower group at its observed rate (NaN: out of reach)."""
        low_rate = self.rates[1] if sign > 0 else self.rates[0]
        return detectable_rate_difference(*self.sizes, low_rate, alpha, target_power, sign)


def fisher_test(values, other):
    """``FisherTest`` of two samples of per-seed 0/1 values."""
    return FisherTest((int(round(sum(values))), int(round(sum(other)))),
                      (len(values), len(other)))


@dataclasses.dataclass
class ExactCheck:
    """A deterministic property checked on every seed: ``largest`` is the largest
    |difference| between the two sides, ``estimate`` the mean difference."""

    largest: float
    estimate: float
    sizes: tuple

    @property
    def usable(self):
        return min(self.sizes) >= 1


def exact_check(values, other, paired):
    """Paired (two metrics of the same runs): the largest |difference| over seeds;
    independent sides: over every pair of seeds, since no seed of one side belongs
    with a seed of the other."""
    a, b = np.asarray(values, dtype=float), np.asarray(other, dtype=float)
    if paired:  # two metrics of the same runs, in seed order
        differences = a[:min(a.size, b.size)] - b[:min(a.size, b.size)]
    else:
        differences = (a[:, None] - b[None, :]).ravel()
    if not differences.size:
        return ExactCheck(math.nan, math.nan, (a.size, b.size) if not paired else (0,))
    return ExactCheck(float(np.abs(differences).max()), float(a.mean() - b.mean()),
                      (differences.size,) if paired else (a.size, b.size))
