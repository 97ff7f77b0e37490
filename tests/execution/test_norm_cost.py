"""The interleaved timing benchmark: every arm once per repeat, shuffled; one stored JSON."""

import json

import pytest

from normexp.config.timing import ARMS, TRAINED_ARMS, TimingBenchmark, TimingConfig, TimingClaim
from normexp.execution import norm_cost
from normexp.report import timing_claims

TINY = TimingBenchmark(repeats=4, train_steps=2, batch_size=8, inference_examples=64,
                       hidden=(8,), seed=3)


@pytest.fixture(scope="module")
def measured():
    return norm_cost.measure(TINY)


def test_every_repeat_times_every_arm_once_in_a_shuffled_order(measured):
    repeats, _ = measured
    assert len(repeats) == TINY.repeats
    for repeat in repeats:
        assert sorted(repeat["order"]) == sorted(ARMS)
        assert sorted(repeat["train_seconds"]) == sorted(TRAINED_ARMS)
        assert sorted(repeat["inference_seconds_per_example"]) == sorted(ARMS)
        assert all(value > 0 for value in repeat["train_seconds"].values())
    assert len({tuple(repeat["order"]) for repeat in repeats}) > 1


def test_the_folded_arm_computes_the_trained_bn_models_inference(measured):
    _, folding = measured
    assert folding["largest_difference"] < 1e-5 and folding["examples"] == TINY.inference_examples


def test_the_record_round_trips_through_its_json(measured, tmp_path):
    repeats, folding = measured
    claim = TimingClaim(id="5a", claim="slower", arm="bn", against="ln")
    timing = TimingConfig(name="timing", benchmark=TINY, claims=(claim,))
    machine = norm_cost.machine_info(TINY, "python bench", "none", (0.0, 0.0, 0.0))
    record = norm_cost.build_record(timing, repeats, folding, machine)
    path = norm_cost.write_record(tmp_path, record)
    assert path == tmp_path / "timing" / "timing.json"
    assert timing_claims.read_record(path) == json.loads(json.dumps(record))
    assert timing_claims.read_record(path)["repeats"] == repeats
    assert machine["cores"] >= 1 and machine["versions"]["keras"]
    [entry] = timing_claims.judge_record(timing_claims.read_record(path), path.parent)
    assert entry.test.sizes == (TINY.repeats,)
