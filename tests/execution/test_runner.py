"""Planning the work: how many workers, and which runs each worker pulls next."""

import copy

import pytest

from normexp.config import model_size
from normexp.execution import runner
from normexp.engine import tensorflow_backend
from normexp.config.study import load_study
from tests.conftest import TINY_STUDY, write_config


def study_runs(tmp_path, variants, seeds=4):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=list(range(seeds)), variants=variants, report={})
    return list(load_study(write_config(tmp_path, data)).runs)


def test_chunks_cover_every_run_once_costliest_first(tmp_path):
    runs = study_runs(tmp_path, [{"name": "fast_a"}, {"name": "fit_b", "train": {"engine": "fit"}},
                                 {"name": "fast_c", "model": {"norm": "layer"}}])
    chunks = runner.scheduled_chunks(runs, jobs=2)
    flat = [(spec.condition, spec.seed) for chunk in chunks for spec in chunk]
    assert sorted(flat) == sorted((spec.condition, spec.seed) for spec in runs)
    costs = [sum(runner.run_costs(chunk)) for chunk in chunks]
    assert costs == sorted(costs, reverse=True)
    assert {spec.variant for spec in chunks[0]} == {"fit_b"}
    # fit runs cost ten fast ones: fit_b is split so both workers share it ...
    assert sum(any(spec.variant == "fit_b" for spec in chunk) for chunk in chunks) >= 2
    # ... while the cheap conditions keep their seeds together (one compiled program)
    for variant in ("fast_a", "fast_c"):
        assert sum(any(spec.variant == variant for spec in chunk) for chunk in chunks) == 1


def test_chunks_are_balanced_and_cut_few_conditions(tmp_path):
    runs = study_runs(tmp_path, [{"name": "fit", "train": {"engine": "fit"}}, {"name": "fast"},
                                 {"name": "fast_ln", "model": {"norm": "layer"}}], seeds=10)
    chunks = runner.scheduled_chunks(runs, jobs=2)
    assert len(chunks) == 4
    costs = [sum(map(runner.estimated_cost, chunk)) for chunk in chunks]
    fair = sum(costs) / 4
    largest_run = max(map(runner.estimated_cost, runs))
    assert all(abs(cost - fair) <= largest_run for cost in costs)
    cut = [condition for condition in {spec.condition for spec in runs}
           if sum(any(spec.condition == condition for spec in chunk) for chunk in chunks) > 1]
    assert len(cut) <= 3  # the wrap-around rule cuts at most 2 * jobs - 1 conditions
    for chunk in chunks:  # each chunk keeps the study's order
        positions = [runs.index(spec) for spec in chunk]
        assert positions == list(range(positions[0], positions[0] + len(chunk)))


@pytest.mark.parametrize("cores, memory, pending, expected", [
    (8, 64e9, 100, 8),      # one worker per core
    (8, 4e9, 100, 2),       # fewer when memory is short (1.5 GB each)
    (8, 1e9, 100, 1),       # never zero
    (8, None, 100, 8),      # the platform does not report memory
    (8, 64e9, 3, 3),        # no more workers than runs
])
def test_default_jobs_is_one_per_core_within_memory(monkeypatch, cores, memory, pending,
                                                    expected):
    monkeypatch.setattr(runner.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(model_size, "physical_memory", lambda: memory)
    monkeypatch.setattr(tensorflow_backend, "device_name", lambda: "CPU")
    assert runner.choose_jobs(None, pending) == expected
    assert runner.choose_jobs(5, pending) == min(5, pending)


def test_cost_model_follows_the_measured_constants(tmp_path):
    runs = study_runs(tmp_path, [{"name": "b4", "train": {"batch_size": 4}},
                                 {"name": "b256", "train": {"batch_size": 256}},
                                 {"name": "cnn", "model": {"family": "cnn", "hidden": None}},
                                 {"name": "fast"}, {"name": "fit", "train": {"engine": "fit"}}],
                      seeds=2)
    cost = {spec.variant: runner.estimated_cost(spec) for spec in runs}
    # Measured (bench_cost_model.py): a batch-4 MLP epoch costs ~3x a batch-256 one, not
    # the 60x its step count alone would say; a CNN example costs ~25 MLP examples.
    assert 1.5 < cost["b4"] / cost["b256"] < 6
    assert cost["cnn"] > 5 * cost["b256"]
    assert cost["fit"] == pytest.approx(runner.FAMILY_COSTS["mlp"]["fit"] * cost["fast"])
    with_compile = runner.run_costs(runs)
    for spec, total in zip(runs, with_compile):  # the first seed of a condition compiles
        compile_seconds = runner.FAMILY_COSTS[spec.settings.model.family]["compile"]
        assert total == pytest.approx(runner.estimated_cost(spec)
                                      + (compile_seconds if spec.seed == 0 else 0.0))
