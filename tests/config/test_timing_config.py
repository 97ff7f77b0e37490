"""The timing benchmark's config: checked at load, each problem one line naming the field."""

import copy
import importlib.util

import pytest
import yaml

from normexp import cli
from normexp.config.timing import load_timing
from normexp.errors import ConfigError
from tests.conftest import ROOT

SHIPPED = ROOT / "configs" / "claims" / "timing.yaml"


def shipped():
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def written(tmp_path, data):
    path = tmp_path / "timing.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_shipped_config_loads_with_claims_5a_to_5c():
    timing = load_timing(SHIPPED)
    assert [claim.id for claim in timing.claims] == ["5a", "5b", "5c"]
    assert timing.benchmark.repeats >= 30


def claim_edit(index, **fields):
    def edit(data):
        data["claims"][index].update(fields)
    return edit


@pytest.mark.parametrize("edit, field, words", [
    (lambda data: data.update(benchmrk=data.pop("benchmark")), "benchmrk",
     "did you mean 'benchmark'"),
    (lambda data: data["benchmark"].update(repeats=10), "benchmark.repeats", ">= 30"),
    (claim_edit(0, metirc="train_seconds"), "claims[0].metirc", "did you mean 'metric'"),
    (claim_edit(0, arm="bn_fold"), "claims[0].arm", "did you mean 'bn_folded'"),
    (claim_edit(1, metric="inference_seconds"), "claims[1].metric",
     "did you mean 'inference_seconds_per_example'"),
    (claim_edit(0, arm="bn_folded"), "claims[0].metric", "only run for inference"),
    (claim_edit(0, against="bn"), "claims[0].against", "with itself"),
    (claim_edit(2, margin=None), "claims[2].margin", "needs a margin"),
    (claim_edit(0, margin=0.05), "claims[0].margin", "only an 'equal' claim"),
    (claim_edit(1, id="5a"), "claims[1].id", "distinct id"),
])
def test_a_bad_timing_config_is_one_line_naming_the_field(tmp_path, edit, field, words):
    data = copy.deepcopy(shipped())
    edit(data)
    with pytest.raises(ConfigError) as raised:
        load_timing(written(tmp_path, data))
    assert raised.value.field == field
    assert words in raised.value.problem
    assert "\n" not in str(raised.value)


def test_the_benchmark_refuses_a_bad_config_with_exit_2_before_timing(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "bench_norm_cost", ROOT / "benchmarks" / "bench_norm_cost.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = copy.deepcopy(shipped())
    claim_edit(0, arm="bn_fold")(data)
    code = bench.main(["--config", str(written(tmp_path, data)), "--out", str(tmp_path)])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert len(error.splitlines()) == 1 and "claims[0].arm" in error
    assert not (tmp_path / "timing").exists()


def test_running_the_benchmark_config_as_a_study_points_to_the_benchmark(capsys):
    """``python run.py --config configs/claims/timing.yaml`` is a natural mistake."""
    assert cli.main(["--config", str(ROOT / "configs/claims/timing.yaml"), "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1
    assert "timing benchmark's config, not a study" in error and "bench_norm_cost.py" in error
