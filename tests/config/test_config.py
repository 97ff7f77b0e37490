"""A valid config resolves as documented; every invalid one fails with file + field."""

import copy
import re

import pytest

from normexp.config.study import load_study, select_runs
from normexp.errors import ConfigError
from tests.conftest import TINY_STUDY, fingerprint_before, write_config


def study_from(tmp_path, **changes):
    data = copy.deepcopy(TINY_STUDY)
    data.update(changes)
    return load_study(write_config(tmp_path, data))


def config_error(tmp_path, data):
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError) as error:
        load_study(path)
    assert str(path) in str(error.value)
    return error.value


def with_changes(**changes):
    data = copy.deepcopy(TINY_STUDY)
    data.update(changes)
    return data


def test_shipped_configs_resolve():
    study = load_study("bn_vs_ln.yaml")
    assert study.name == "bn_vs_ln" and study.seeds == (0, 1, 2)
    assert study.conditions == ("no_norm", "bn_after", "bn_before", "ln_after", "ln_before")
    assert len(study.runs) == 15
    bn_before = next(run for run in study.runs if run.variant == "bn_before")
    assert (bn_before.settings.model.norm, bn_before.settings.model.placement) == ("batch", "before")
    assert bn_before.settings.train.optimizer == {"name": "adam", "learning_rate": 0.001}
    for name in ("article_bn", "article_ln", "quick"):
        assert load_study(name).runs


def test_claim_configs_meet_the_issue_rules():
    """Every claim study: >= 5 seeds, opens with its run command and runtime; the batch
    sweep spans 2..256; the learning-rate sweep spans 0.1 (where both variants train) to 10
    (where both fail) with plain SGD, and judges failure by final accuracy, not NaN alone."""
    from normexp.config.files import resolve_path

    # timing.yaml is the timing benchmark's config, not a study (tests/config/test_timing_config.py)
    paths = sorted(path for path in (resolve_path("bn_vs_ln").parent / "claims").glob("*.yaml")
                   if path.name != "timing.yaml")
    assert len(paths) >= 5
    for path in paths:
        study = load_study(path)
        head = path.read_text().splitlines()[:4]
        assert len(study.seeds) >= 5 and study.report.claims, path
        assert any(line.startswith("# Run: python run.py --config configs/claims/") for line in head)
        assert any(line.startswith("# Runtime:") for line in head), path
    sizes = {run.settings.train.batch_size for run in load_study(paths[0].with_name(
        "batch_size.yaml")).runs}
    assert min(sizes) == 2 and max(sizes) >= 256
    learning_rate = load_study(paths[0].with_name("learning_rate.yaml"))
    rates = {run.settings.train.optimizer["learning_rate"] for run in learning_rate.runs}
    assert min(rates) <= 0.1 and max(rates) >= 10
    assert {run.settings.train.optimizer["name"] for run in learning_rate.runs} == {"sgd"}
    assert any(claim.metric == "failed" for claim in learning_rate.report.claims)


def test_variant_deep_merges_over_base(tmp_path):
    study = study_from(tmp_path, report={}, variants=[
        {"name": "fast_lr", "train": {"optimizer": {"learning_rate": 0.1}},
         "model": {"norm_args": {"momentum": 0.9}}}])
    settings = study.runs[0].settings
    assert settings.train.optimizer == {"name": "adam", "learning_rate": 0.1}
    assert settings.train.epochs == 2 and settings.model.hidden == (16,)
    assert settings.model.norm_args == {"momentum": 0.9}


def test_bare_optimizer_string_means_its_defaults(tmp_path):
    study = study_from(tmp_path, report={}, variants=[{"name": "sgd", "train": {"optimizer": "sgd"}}])
    assert study.runs[0].settings.train.optimizer == {"name": "sgd"}


def test_sweep_expands_every_combination(tmp_path):
    study = study_from(tmp_path, sweep={"train.batch_size": [32, 128],
                                        "model.activation": ["relu", "tanh"]})
    assert len(study.runs) == 2 * 2 * 2 * 2  # variants × batch sizes × activations × seeds
    assert "bn_after__train.batch_size=128__model.activation=tanh" in study.conditions
    run = next(r for r in study.runs if r.condition.endswith("batch_size=128__model.activation=tanh"))
    assert (run.settings.train.batch_size, run.settings.model.activation) == (128, "tanh")


def test_name_defaults_to_file_stem(tmp_path):
    data = with_changes()
    del data["name"]
    assert load_study(write_config(tmp_path, data, "my_study.yaml")).name == "my_study"


def test_overrides_and_only(tmp_path):
    path = write_config(tmp_path, TINY_STUDY)
    study = load_study(path, {"seeds": [5], "epochs": 1})
    assert study.seeds == (5,) and all(run.settings.train.epochs == 1 for run in study.runs)
    assert [run.variant for run in select_runs(study, ["bn_after"])] == ["bn_after"]
    with pytest.raises(ConfigError, match="names no variant"):
        select_runs(study, ["nope"])


def test_fingerprint_tracks_what_defines_a_run(tmp_path):
    first = study_from(tmp_path).runs[0]
    again = study_from(tmp_path).runs[0]
    other_dir = study_from(tmp_path, data={"dir": "/elsewhere"}).runs[0]
    other_lr = study_from(tmp_path, train={"optimizer": {"name": "adam", "learning_rate": 0.5}}).runs[0]
    assert first.fingerprint() == again.fingerprint() == other_dir.fingerprint()
    assert first.fingerprint() != other_lr.fingerprint()


def test_fields_added_later_keep_old_fingerprints_at_their_defaults(tmp_path):
    """Stores published before family, train_examples, kernel_initializer, dropout_position,
    probes and train.backend existed stay valid:
    the fingerprint of a default run is the hash of the old field set."""
    run = study_from(tmp_path).runs[0]
    assert run.fingerprint() == fingerprint_before(run, (
        "kernel_initializer", "output_kernel_initializer", "dropout_position", "family"))
    explicit = study_from(tmp_path, model={"hidden": [16], "kernel_initializer": "glorot_uniform",
                                           "dropout_position": "end"}).runs[0]
    scaled = study_from(tmp_path, model={"hidden": [16], "kernel_initializer": {
        "name": "random_normal", "stddev": 0.5}}).runs[0]
    assert explicit.fingerprint() == run.fingerprint() != scaled.fingerprint()


def test_sweep_of_a_mapping_argument_keeps_the_other_arguments(tmp_path):
    study = study_from(tmp_path, train={"optimizer": "sgd"}, model={
        "hidden": [16], "kernel_initializer": {"name": "random_normal", "mean": 0.0}},
        sweep={"train.optimizer.learning_rate": [0.01, 1.0],
               "model.kernel_initializer.stddev": [0.1]})
    settings = [run.settings for run in study.runs if run.seed == 0 and run.variant == "no_norm"]
    assert [s.train.optimizer for s in settings] == [
        {"name": "sgd", "learning_rate": 0.01}, {"name": "sgd", "learning_rate": 1.0}]
    assert settings[0].model.kernel_initializer == {"name": "random_normal", "mean": 0.0,
                                                    "stddev": 0.1}


@pytest.mark.parametrize("changes, field, words", [
    ({"modle": {}}, "modle", "did you mean 'model'"),
    ({"model": {"hiden": [3]}}, "model.hiden", "did you mean 'hidden'"),
    ({"train": {"epochs": "five"}}, "train.epochs", "must be an integer"),
    ({"train": {"epochs": 2.5}}, "train.epochs", "must be an integer"),
    ({"train": {"epochs": 0}}, "train.epochs", "must be > 0"),
    ({"train": {"batch_size": -1}}, "train.batch_size", "must be > 0"),
    ({"train": {"batch_size": True}}, "train.batch_size", "got boolean true"),
    ({"train": {"batch_size": None}}, "train.batch_size", "got null"),
    ({"train": {"batch_size": 70000}}, "train.batch_size", "60000 training examples"),
    ({"train": {"backend": "jaxx"}}, "train.backend", "did you mean 'jax'"),
    ({"train": {"optimizer": {"name": "adamm"}}}, "train.optimizer", "unknown optimizer"),
    ({"train": {"optimizer": {"name": "adam", "learning_rate": 0}}}, "train.optimizer",
     "learning_rate must be a finite number > 0"),
    ({"model": {"hidden": 128}}, "model.hidden", "must be a list"),
    ({"model": {"hidden": [128, 0]}}, "model.hidden", "every entry must be > 0"),
    ({"model": {"hidden": [128, "x"]}}, "model.hidden[1]", "must be an integer"),
    ({"model": {"norm": "btach"}}, "model.norm", "valid: batch, batch_scratch, group, instance, layer"),
    ({"model": {"placement": "middle"}}, "model.placement", "after, before"),
    ({"model": {"activation": "relux"}}, "model.activation", "unknown activation"),
    ({"model": {"dropout": 1.0}}, "model.dropout", "[0, 1)"),
    ({"model": {"dropout": -0.1}}, "model.dropout", "[0, 1)"),
    ({"data": {"dataset": "cifar"}}, "data.dataset", "valid: fashion_mnist, mnist"),
    ({"data": {"validation": 1.5}}, "data.validation", "fraction in (0, 1)"),
    ({"data": {"validation": 0}}, "data.validation", "fraction in (0, 1)"),
    ({"data": {"validation": "train"}}, "data.validation", "'test' or a fraction"),
    ({"seeds": [0, -1]}, "seeds", "integers in [0, 2^32)"),
    ({"seeds": [2 ** 32]}, "seeds", "integers in [0, 2^32)"),
    ({"seeds": []}, "seeds", "non-empty"),
    ({"train": {"optimizer": {"name": "sgd", "learning_rate": float("nan")}}},
     "train.optimizer", "finite number > 0"),
    ({"train": {"optimizer": {"name": "sgd", "learning_rate": float("inf")}}},
     "train.optimizer", "finite number > 0"),
    ({"model": {"hidden": [10 ** 12]}}, "model.hidden",
     "about 795,000,000,000,010 parameters and needs about 13.5 PB of memory"),
    ({"variants": [{"name": "a", "model": {"hidden": [64, 10 ** 9]}}]}, "variants[0](a).model.hidden",
     "parameters and needs about"),
    ({"report": {"comparisons": [{"variant": "no_norm", "against": "bn"}]}},
     "report.comparisons[0].against", "names no variant"),
    ({"seeds": 3}, "seeds", "must be a list"),
    ({"seeds": [0, 0]}, "seeds", "distinct"),
    ({"variants": []}, "variants", "at least one"),
    ({"variants": [{"model": {}}]}, "variants[0].name", "needs a name"),
    ({"variants": [{"name": "a"}, {"name": "a"}]}, "variants[1].name", "duplicate"),
    ({"variants": [{"name": "../x"}]}, "variants[0].name", "letters, digits"),
    ({"variants": [{"name": "a/b"}]}, "variants[0].name", "letters, digits"),
    ({"variants": [{"name": ""}]}, "variants[0].name", "letters, digits"),
    ({"variants": [{"name": "x" * 65}]}, "variants[0].name", "1-64 characters"),
    ({"variants": [{"name": "a__b"}]}, "variants[0].name", "without '__'"),
    ({"variants": [{"name": "a", "modle": {}}]}, "variants[0].modle", "did you mean 'model'"),
    ({"variants": [{"name": "a", "model": {"norm": "bn"}}]}, "variants[0](a).model.norm",
     "unknown norm"),
    ({"variants": ["no_norm"]}, "variants[0]", "must be a mapping"),
    ({"sweep": {"train.batchsize": [1]}}, "sweep.train.batchsize", "did you mean 'batch_size'"),
    ({"sweep": {"optimizer.lr": [1]}}, "sweep.optimizer.lr", "starting with one of"),
    ({"sweep": {"train.batch_size": 32}}, "sweep.train.batch_size", "non-empty list"),
    ({"sweep": {"train.batch_size": [32, "big"]}}, "sweep.train.batch_size[1]",
     "must be an integer"),
    ({"report": {"baseline": "nothing"}}, "report.baseline", "names no variant"),
    ({"report": {"target_accuracy": 2}}, "report.target_accuracy", "(0, 1]"),
    ({"report": {"reference": {"no_norm": {"acc": {1: 0.9}}}}}, "report.reference.no_norm.acc",
     "did you mean 'accuracy'"),
    ({"report": {"panels": [{"variant": "ghost", "title": "t"}]}}, "report.panels[0].variant",
     "names no variant"),
    ({"name": "../escape"}, "name", "letters, digits"),
    ({"jobs": 0}, "jobs", "must be > 0"),
    ({"model": {"kernel_initializer": "he_nromal"}}, "model.kernel_initializer",
     "one of: glorot_uniform"),
    ({"model": {"kernel_initializer": {"stddev": 0.1}}}, "model.kernel_initializer",
     "needs a 'name'"),
    ({"model": {"kernel_initializer": 3}}, "model.kernel_initializer", "must be a mapping"),
    ({"model": {"dropout_position": "after"}}, "model.dropout_position", "end, before_norm"),
    ({"sweep": {"train.epochs.x": [1]}}, "sweep.train.epochs.x", "is not a mapping"),
])
def test_invalid_values_name_the_field(tmp_path, changes, field, words):
    error = config_error(tmp_path, with_changes(**changes))
    assert error.field == field, str(error)
    assert words in str(error)


def test_missing_file_lists_shipped_configs(tmp_path):
    with pytest.raises(ConfigError, match="file not found.*bn_vs_ln"):
        load_study(tmp_path / "nope.yaml")


@pytest.mark.parametrize("text, words", [
    ("name: [unclosed\n", "line 2, column 1: not valid YAML"),
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("- a\n- b\n", "top level must be a mapping"),
    ("just a string\n", "top level must be a mapping"),
])
def test_unreadable_files(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        load_study(path)


def test_yaml_is_never_executed(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_study(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("text, words", [
    ("a: &a [*a]\n", "nesting deeper than 50 levels"),
    ("l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
     + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
     + "variants: [{name: a, model: {norm_args: {x: *l8}}}]\n", "more than 100,000 values"),
    ("model: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
])
def test_pathological_yaml_is_refused(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(words)):
        load_study(path)
