"""``--plan-seeds``: seeds per side for 80% power from the stored runs, nothing trained."""

import copy
import re

import numpy as np
from scipy import stats as scipy_stats

from normexp import cli
from tests.conftest import TINY_STUDY, store_fake_study, write_config

BASE = [0.90, 0.91, 0.92, 0.93, 0.94]


def pilot(tmp_path, claims):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0, 1, 2, 3, 4])
    data["report"]["claims"] = claims
    final = {"no_norm": BASE, "bn_after": [0.3, 0.95, 0.2, 0.96, 0.95]}
    store_fake_study(tmp_path, data, lambda spec: [0.5, final[spec.variant][spec.seed]])
    return data


def seeds_for(output, identifier):
    return int(re.search(rf"^  {identifier} .*?: (\d+) seeds per side", output, re.M).group(1))


def welch_reach(spread_a, spread_b, seeds, alpha):
    """(t_{1-alpha/2} + t_{0.8}) · SE with Welch's freedom, from scipy, for n per side."""
    parts = [spread_a ** 2 / seeds, spread_b ** 2 / seeds]
    freedom = sum(parts) ** 2 / sum(part ** 2 / (seeds - 1) for part in parts)
    return (scipy_stats.t.ppf(1 - alpha / 2, freedom) + scipy_stats.t.ppf(0.8, freedom)) * \
        np.sqrt(sum(parts))


def fisher_power(seeds, rate, other_rate, alpha):
    """Power of a 'higher' Fisher test by brute force over outcomes with scipy."""
    total = 0.0
    for k in range(seeds + 1):
        for j in range(k):
            if scipy_stats.fisher_exact([[k, seeds - k], [j, seeds - j]]).pvalue <= alpha:
                total += (scipy_stats.binom.pmf(k, seeds, rate)
                          * scipy_stats.binom.pmf(j, seeds, other_rate))
    return total


def test_plan_seeds_sizes_each_claim_and_trains_nothing(tmp_path, capsys):
    claims = [{"id": "1", "claim": "c", "variant": "bn_after", "against": "no_norm",
               "metric": "val_accuracy", "direction": "lower", "min_effect": 0.3},
              {"id": "2", "claim": "f", "variant": "bn_after", "against": "no_norm",
               "metric": "failed", "direction": "higher", "min_effect": 0.6},
              {"id": "3", "claim": "e", "variant": "no_norm", "against": "no_norm",
               "metric": "val_accuracy", "against_metric": "accuracy", "direction": "equal",
               "test": "exact", "tolerance": 1.0}]
    pilot(tmp_path, claims)
    runs = sorted((tmp_path / "out").rglob("meta.json"))
    config = tmp_path / "study.yaml"
    assert cli.main(["--config", str(config), "--out", str(tmp_path / "out"),
                     "--plan-seeds"]) == 0
    output = capsys.readouterr().out
    assert sorted((tmp_path / "out").rglob("meta.json")) == runs
    assert not (tmp_path / "out" / "tiny" / "REPORT.md").exists()
    alpha = 0.05 / 2  # two confirmatory claims, no claims page over this store
    assert "0.05/2 = 0.025" in output and "this study's own family" in output
    n = seeds_for(output, "1")
    spreads = np.std([0.3, 0.95, 0.2, 0.96, 0.95], ddof=1), np.std(BASE, ddof=1)
    assert welch_reach(*spreads, n, alpha) <= 0.3 < welch_reach(*spreads, n - 1, alpha)
    n = seeds_for(output, "2")  # no_norm's pilot rate is 0, bn_after's claimed 0.6 higher
    assert fisher_power(n, 0.6, 0.0, alpha) >= 0.8 > fisher_power(n - 1, 0.6, 0.0, alpha)
    assert re.search(r"^  3 +exact check: deterministic, 1 seed per side", output, re.M)
    assert f"{n * 2 * 3.0 / 60:.1f} min of runs" in output  # 3 s per stored run, 2 conditions
    assert "Whole study:" in output
    assert cli.main(["run", str(config), "--out", str(tmp_path / "out"), "--plan-seeds"]) == 0
    assert capsys.readouterr().out == output  # normexp run X --plan-seeds: the same plan


def test_plan_seeds_without_a_pilot_is_one_line(tmp_path, capsys):
    data = copy.deepcopy(TINY_STUDY)
    data["report"]["claims"] = [{"id": "1", "claim": "c", "variant": "bn_after",
                                 "against": "no_norm", "direction": "higher"}]
    config = write_config(tmp_path, data)
    assert cli.main(["--config", str(config), "--out", str(tmp_path / "out"),
                     "--plan-seeds"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "no stored runs" in error
