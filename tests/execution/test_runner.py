"""Planning the work: how many workers, and which runs each worker pulls next."""

import copy
import json
import statistics

import pytest

from normexp.config import model_size
from normexp.execution import costs, runner
from normexp.engine import tensorflow_backend
from normexp.config.study import RunSpec, load_study, validate_settings
from tests.conftest import ROOT, TINY_STUDY, write_config


def study_runs(tmp_path, variants, seeds=4):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=list(range(seeds)), variants=variants, report={})
    return list(load_study(write_config(tmp_path, data)).runs)


def test_chunks_cover_every_run_once_costliest_first(tmp_path):
    runs = study_runs(tmp_path, [{"name": "fast_a"}, {"name": "fit_b", "train": {"engine": "fit"}},
                                 {"name": "fast_c", "model": {"norm": "layer"}}])
    chunks = costs.scheduled_chunks(runs, jobs=2)
    flat = [(spec.condition, spec.seed) for chunk in chunks for spec in chunk]
    assert sorted(flat) == sorted((spec.condition, spec.seed) for spec in runs)
    chunk_costs = [sum(costs.run_costs(chunk)) for chunk in chunks]
    assert chunk_costs == sorted(chunk_costs, reverse=True)
    assert {spec.variant for spec in chunks[0]} == {"fit_b"}
    # fit runs cost ten fast ones: fit_b is split so both workers share it ...
    assert sum(any(spec.variant == "fit_b" for spec in chunk) for chunk in chunks) >= 2
    # ... while the cheap conditions keep their seeds together (one compiled program)
    for variant in ("fast_a", "fast_c"):
        assert sum(any(spec.variant == variant for spec in chunk) for chunk in chunks) == 1


def test_chunks_are_balanced_and_cut_few_conditions(tmp_path):
    runs = study_runs(tmp_path, [{"name": "fit", "train": {"engine": "fit"}}, {"name": "fast"},
                                 {"name": "fast_ln", "model": {"norm": "layer"}}], seeds=10)
    chunks = costs.scheduled_chunks(runs, jobs=2)
    assert len(chunks) == 4
    chunk_costs = [sum(map(costs.estimated_cost, chunk)) for chunk in chunks]
    fair = sum(chunk_costs) / 4
    largest_run = max(map(costs.estimated_cost, runs))
    assert all(abs(cost - fair) <= largest_run for cost in chunk_costs)
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


def test_costlier_settings_are_estimated_costlier(tmp_path):
    runs = study_runs(tmp_path, [
        {"name": "base"}, {"name": "epochs_6", "train": {"epochs": 6}},
        {"name": "subset", "data": {"train_examples": 6000}},
        {"name": "b4", "train": {"batch_size": 4}}, {"name": "b256", "train": {"batch_size": 256}},
        {"name": "fit", "train": {"engine": "fit"}},
        {"name": "cnn", "model": {"family": "cnn", "hidden": None}},
        {"name": "cnn_fit", "model": {"family": "cnn", "hidden": None},
         "train": {"engine": "fit"}},
        {"name": "rnn", "model": {"family": "rnn", "hidden": None}},
        {"name": "rnn_fit", "model": {"family": "rnn", "hidden": None},
         "train": {"engine": "fit"}}], seeds=1)
    cost = {spec.variant: costs.estimated_cost(spec) for spec in runs}
    assert cost["epochs_6"] == pytest.approx(3 * cost["base"])  # every epoch is the same work
    assert cost["subset"] < cost["base"]
    assert cost["b4"] > cost["base"] > cost["b256"]  # more, smaller steps per epoch
    # Measured (benchmarks/bench_cost_model.py): a batch-4 MLP epoch costs ~3x a batch-256
    # one, not the 64x its step count alone would say; a CNN example costs ~25 MLP examples.
    assert 1.5 < cost["b4"] / cost["b256"] < 6
    assert cost["cnn"] > 5 * cost["base"] and cost["rnn"] > cost["base"]
    for fast, fit in (("base", "fit"), ("cnn", "cnn_fit"), ("rnn", "rnn_fit")):
        assert cost[fit] > cost[fast]  # plain model.fit: slower in each family (bench_families.py)
    # The scheduler hands the costliest stretch out first: here the CNN trained with fit.
    first = costs.scheduled_chunks(runs, jobs=2)[0]
    assert "cnn_fit" in {spec.variant for spec in first}


def test_the_first_run_of_a_condition_also_pays_for_compiling(tmp_path):
    runs = study_runs(tmp_path, [{"name": "mlp"},
                                 {"name": "cnn", "model": {"family": "cnn", "hidden": None}}],
                      seeds=3)
    by_run = dict(zip(((spec.variant, spec.seed) for spec in runs), costs.run_costs(runs)))
    for spec in runs:
        if spec.seed:  # later seeds reuse the compiled program
            assert by_run[spec.variant, spec.seed] == pytest.approx(costs.estimated_cost(spec))
        else:
            assert by_run[spec.variant, 0] > by_run[spec.variant, 1]
    # A condition whose seeds are listed apart still compiles only once.
    reordered = [runs[0], runs[3], runs[1], runs[4], runs[2], runs[5]]
    assert sorted(costs.run_costs(reordered)) == sorted(by_run.values())


def stored_conditions():
    """``{(study folder, condition): (estimated cost, measured seconds)}`` over the runs
    stored under experiments/ that completed at least 2 epochs on a CPU; measured is the
    median over the condition's seeds of the epochs after the first (which also compiles),
    scaled to the run's epochs: what the estimate is for."""
    def without_nulls(value):  # a null means the field's default
        if isinstance(value, dict):
            return {key: without_nulls(item) for key, item in value.items() if item is not None}
        return value

    found = {}
    for meta_path in sorted((ROOT / "experiments").glob("**/runs/*/seed_*/meta.json")):
        folder = meta_path.parent
        meta = json.loads(meta_path.read_text())
        seconds = json.loads((folder / "history.json").read_text())["seconds"]
        if meta["status"] != "complete" or meta["device"] != "CPU" or len(seconds) < 2:
            continue
        if meta.get("vectorized"):  # an epoch's seconds are shared by all seeds trained with it
            continue
        config = json.loads((folder / "config.json").read_text())
        settings = validate_settings(without_nulls({section: config[section] for section in
                                                    ("data", "train", "model")}), folder, "")
        spec = RunSpec(config["study"], config["variant"], tuple(config["point"].items()),
                       config["seed"], settings)
        assert spec.fingerprint() == meta["fingerprint"], folder  # rebuilt the same run
        measured = sum(seconds[1:]) / (len(seconds) - 1) * len(seconds)
        key = (str(folder.parent.parent.parent.relative_to(ROOT)), spec.condition)
        found.setdefault(key, (costs.estimated_cost(spec), []))[1].append(measured)
    return {key: (estimate, statistics.median(measured))
            for key, (estimate, measured) in found.items()}


def test_estimates_track_the_seconds_measured_in_the_stored_experiments():
    conditions = stored_conditions()
    assert len(conditions) >= 30 and len({study for study, _ in conditions}) >= 5
    # Within a factor of 4 of what was measured, on whichever machine and load each
    # study was trained (the published stores span 0.3x to 2.5x).
    for key, (estimate, measured) in conditions.items():
        assert 0.25 < measured / estimate < 4, (key, estimate, measured)
    # Within a study (one machine, one session), a condition measured three times longer
    # than another is not estimated cheaper. (Equal estimates are allowed: the model
    # leaves out what barely moves the cost, such as which norm or dropout a run has.)
    compared = 0
    for (study, condition), (estimate, measured) in conditions.items():
        for (other_study, other), (other_estimate, other_measured) in conditions.items():
            if other_study == study and other_measured > 3 * measured:
                compared += 1
                assert other_estimate >= estimate * 0.999, (study, condition, other)
    assert compared >= 10
