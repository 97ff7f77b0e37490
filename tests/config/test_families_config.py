"""Model families in configs: the right class per family; every family misuse is one line."""

import copy

import pytest

from normexp import cli
from normexp.config.study import load_study
from normexp.errors import ConfigError
from tests.conftest import TINY_STUDY, fingerprint_before, write_config


def with_model(model, variants=None):
    data = copy.deepcopy(TINY_STUDY)
    data["model"] = model
    data["report"] = {}
    data["variants"] = variants or [{"name": "only"}]
    return data


def model_of(tmp_path, model):
    return load_study(write_config(tmp_path, with_model(model))).runs[0].settings.model


def test_family_picks_the_config_class_with_its_defaults(tmp_path):
    assert type(model_of(tmp_path, {})).__name__ == "MlpConfig"
    cnn = model_of(tmp_path, {"family": "cnn", "filters": [4, 8], "kernel_size": [5, 3]})
    assert (cnn.filters, cnn.per_block("kernel_size"), cnn.per_block("pooling")) == (
        (4, 8), (5, 3), ("max", "max"))
    rnn = model_of(tmp_path, {"family": "rnn", "cell": "gru", "norm": "layer",
                              "placement": "cell"})
    assert (rnn.cell, rnn.units, rnn.activation) == ("gru", (64,), "tanh")


def test_variants_can_switch_family(tmp_path):
    data = with_model({"hidden": [16]}, [
        {"name": "mlp"}, {"name": "cnn", "model": {"family": "cnn", "hidden": None}}])
    data["model"] = {}
    study = load_study(write_config(tmp_path, data))
    families = [run.settings.model.family for run in study.runs]
    assert families.count("mlp") == families.count("cnn") == 2


def test_mlp_fingerprint_does_not_change_with_families(tmp_path):
    # Published stores hold MLP runs fingerprinted before model.family existed.
    plain = load_study(write_config(tmp_path, with_model({"hidden": [16]}), "a.yaml"))
    explicit = load_study(write_config(tmp_path, with_model({"hidden": [16], "family": "mlp"}),
                                       "b.yaml"))
    assert plain.runs[0].fingerprint() == explicit.runs[0].fingerprint()
    assert "family" not in str(sorted(plain.runs[0].settings.__dict__))


@pytest.mark.parametrize("model, field, words", [
    ({"filters": [8]}, "model.filters", "does not apply to family 'mlp' (it is a field of: cnn)"),
    ({"family": "rnn", "hidden": [8]}, "model.hidden", "does not apply to family 'rnn'"),
    ({"family": "cnnn"}, "model.family", "did you mean 'cnn'?); valid: cnn, mlp, rnn"),
    ({"family": ["cnn"]}, "model.family", "valid: cnn, mlp, rnn"),
    ({"family": "cnn", "filtres": [8]}, "model.filtres", "did you mean 'filters'"),
    ({"family": "cnn", "filters": [8, 12], "norm": "group", "norm_args": {"groups": 8}},
     "model.norm_args.groups", "8 does not divide the 12 channels of filters[1]"),
    ({"hidden": [30], "norm": "group"}, "model.norm_args.groups",
     "32 does not divide the 30 channels of hidden[0]"),
    ({"family": "cnn", "filters": [8, 8, 8], "kernel_size": [3, 3, 9]},
     "model.kernel_size[2]", "kernel 9 is larger than the 7x7 image block 3 receives"),
    ({"family": "cnn", "filters": [8], "kernel_size": 29, "pooling": "none"},
     "model.kernel_size[0]", "larger than the 28x28 image"),
    ({"family": "cnn", "filters": [8, 8], "kernel_size": [3, 3, 3]}, "model.kernel_size",
     "has 3 entries but filters has 2 blocks"),
    ({"family": "cnn", "pooling": ["max", "min"]}, "model.pooling[1]",
     "must be one of: max, average, none"),
    ({"family": "cnn", "kernel_size": "3"}, "model.kernel_size", "must be an integer or a list"),
    ({"norm": "instance"}, "model.norm", "'instance' does not apply to family 'mlp'"),
    ({"family": "rnn", "norm": "group"}, "model.norm", "does not apply to family 'rnn'"),
    ({"family": "cnn", "norm": "batch", "placement": "cell"}, "model.placement",
     "must be one of: after, before for family 'cnn'"),
    ({"family": "rnn", "norm": "rms", "placement": "cell"}, "model.norm",
     "'rms' cannot sit inside the recurrent cell (placement: cell allows: batch, layer)"),
    ({"family": "rnn", "cell": "gru", "norm": "batch", "placement": "cell"}, "model.cell",
     "'batch' inside the cell is written for: lstm; got 'gru'"),
    ({"family": "rnn", "norm": "batch", "placement": "cell", "norm_args": {"center": False}},
     "model.norm_args.center", "'batch' in the cell takes: epsilon, momentum, initial_gain"),
    ({"family": "rnn", "norm": "batch", "placement": "cell", "norm_args": {"momentum": 1.5}},
     "model.norm_args.momentum", "must be in [0, 1), got 1.5"),
    ({"family": "rnn", "norm": "batch", "placement": "cell", "norm_args": {"epsilon": "x"}},
     "model.norm_args.epsilon", "must be a number, got 'x'"),
    ({"family": "rnn", "steps": 49}, "model.steps",
     "must be one of 1, 2, 4, 7, 14, 28, 56, 112, 196, 392, 784"),
    ({"family": "rnn", "steps": 0}, "model.steps", "784 / steps pixels"),
    ({"family": "rnn", "pixels": "centred"}, "model.pixels", "must be one of: unit, centered"),
    ({"family": "rnn", "norm": "layer", "placement": "after", "units": [16]},
     "model.placement", "between stacked recurrent layers, but units has one layer"),
    ({"family": "rnn", "norm": "layer", "placement": "cell", "norm_args": {"momentum": 0.9}},
     "model.norm_args.momentum", "'layer' in the cell takes: epsilon"),
    ({"family": "rnn", "cell": "lstn"}, "model.cell", "must be one of: simple, gru, lstm"),
])
def test_family_misuse_names_the_field(tmp_path, model, field, words):
    with pytest.raises(ConfigError) as error:
        model_of(tmp_path, model)
    assert error.value.field == field, str(error.value)
    assert words in str(error.value)


def test_rnn_steps_default_to_rows_and_keep_published_fingerprints(tmp_path):
    """Stores published before model.steps and model.pixels existed (rnn_norms) stay
    complete: at their defaults (28 rows, pixels in [0, 1]) the fields are left out of the
    fingerprint; other values change it."""
    rows = load_study(write_config(tmp_path, with_model({"family": "rnn"}), "a.yaml")).runs[0]
    explicit = load_study(write_config(tmp_path, with_model({"family": "rnn", "steps": 28}),
                                       "b.yaml")).runs[0]
    pieces = load_study(write_config(tmp_path, with_model({"family": "rnn", "steps": 196}),
                                     "c.yaml")).runs[0]
    centered = load_study(write_config(tmp_path, with_model({"family": "rnn",
                                                             "pixels": "centered"}),
                                       "d.yaml")).runs[0]
    assert rows.settings.model.steps == 28 and pieces.settings.model.steps == 196
    assert rows.fingerprint() == fingerprint_before(rows, ("steps", "pixels"))
    assert explicit.fingerprint() == rows.fingerprint() != pieces.fingerprint()
    assert centered.fingerprint() not in (rows.fingerprint(), pieces.fingerprint())


def test_misuse_inside_a_variant_names_the_variant(tmp_path):
    data = with_model({}, [{"name": "conv", "model": {"family": "cnn", "filters": [6],
                                                       "norm": "group"}}])
    with pytest.raises(ConfigError) as error:
        load_study(write_config(tmp_path, data))
    assert error.value.field == "variants[0](conv).model.norm_args.groups"


def test_sweep_accepts_family_fields(tmp_path):
    data = with_model({"family": "cnn"})
    data["sweep"] = {"model.filters": [[4], [8]]}
    assert len(load_study(write_config(tmp_path, data)).conditions) == 2


def test_cli_reports_a_family_field_on_an_mlp_in_one_line(tmp_path, capsys):
    path = write_config(tmp_path, with_model({"filters": [8]}))
    code = cli.main(["--config", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert err.startswith(f"normexp: error: {path}: model.filters: does not apply")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("family", ["rnn", "transformer"])
def test_probes_on_a_family_without_their_layers_are_one_line(tmp_path, family):
    data = with_model({"family": family})
    data["train"]["probes"] = {"bn_statistics": True}
    with pytest.raises(ConfigError) as error:
        load_study(write_config(tmp_path, data))
    assert error.value.field == "train.probes" and "\n" not in str(error.value)
    assert f"family '{family}' has none of them" in str(error.value)


def test_a_cnn_takes_the_bn_statistics_probe(tmp_path):
    data = with_model({"family": "cnn", "norm": "batch"})
    data["train"]["probes"] = {"bn_statistics": True}
    run = load_study(write_config(tmp_path, data)).runs[0]
    assert run.settings.train.probes.bn_statistics


@pytest.mark.parametrize("probe, value", [("gradient_norms", True), ("batch_dependence", True),
                                          ("pre_activation", 1)])
def test_mlp_only_probes_on_a_cnn_name_their_field(tmp_path, probe, value):
    data = with_model({"family": "cnn", "norm": "batch"})
    data["train"]["probes"] = {"bn_statistics": True, probe: value}
    with pytest.raises(ConfigError) as error:
        load_study(write_config(tmp_path, data))
    assert error.value.field == f"train.probes.{probe}" and "\n" not in str(error.value)
    assert "not available for family 'cnn', which has only bn_statistics" in str(error.value)


def test_a_probe_batch_larger_than_the_training_subset_names_its_field(tmp_path):
    data = with_model({"family": "cnn", "norm": "batch"})
    data["data"] = {"train_examples": 500}
    data["train"]["probes"] = {"bn_statistics": True, "examples": 501}
    with pytest.raises(ConfigError) as error:
        load_study(write_config(tmp_path, data))
    assert error.value.field == "train.probes.examples"
    assert "must be <= the 500 training examples, got 501" in str(error.value)
