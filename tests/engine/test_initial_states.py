"""One built model replays any seed's initial weights exactly as building that seed's model
would (``engine/initial_states``), for every family and the norms that add variables or
randomness; and a build it cannot replay is reported, not guessed."""

import copy
import random

import keras
import numpy as np
import pytest

from normexp.config.study import load_study
from normexp.engine import initial_states
from normexp.models import build_model
from tests.conftest import TINY_STUDY, write_config

MODELS = {
    "mlp_dropout_bn": {"hidden": [16, 8], "norm": "batch", "dropout": 0.2},
    "mlp_ln_scratch": {"hidden": [16], "norm": "layer_scratch"},
    "cnn_group": {"family": "cnn", "hidden": None, "filters": [4, 8], "dense": [8],
                  "norm": "group", "norm_args": {"groups": 2}},
    "cnn_batch_scratch": {"family": "cnn", "hidden": None, "filters": [4], "dense": [8],
                          "norm": "batch_scratch"},
    "lstm_ln_cell": {"family": "rnn", "hidden": None, "units": [8], "norm": "layer",
                     "placement": "cell"},
    "gru_bn_between": {"family": "rnn", "hidden": None, "cell": "gru", "units": [8, 8],
                       "norm": "batch", "placement": "after"},
    "transformer_post_ln": {"family": "transformer", "hidden": None, "width": 8, "depth": 2,
                            "heads": 2, "placement": "post", "norm": "layer"},
    "transformer_pre_bn": {"family": "transformer", "hidden": None, "width": 8, "depth": 1,
                           "heads": 2, "placement": "pre", "norm": "batch"},
}


def spec_for(tmp_path, model):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[5], report={}, variants=[{"name": "variant", "model": model}])
    return load_study(write_config(tmp_path, data)).runs[0]


def built_values(spec, seed):
    keras.utils.set_random_seed(seed)
    model = build_model(spec.settings.model)
    return [np.asarray(variable.value) for variable in
            model.trainable_variables + model.non_trainable_variables]


@pytest.mark.parametrize("name", MODELS)
def test_replayed_initial_weights_equal_a_model_built_for_that_seed(tmp_path, name):
    spec = spec_for(tmp_path, MODELS[name])
    states = initial_states.InitialStates(spec, 512)
    assert states.replayable
    for seed in (0, 7):
        trainable, frozen = states.values(seed)
        replayed = [np.asarray(value) for value in trainable + frozen]
        built = built_values(spec, seed)
        assert len(replayed) == len(built)
        for mine, theirs in zip(replayed, built):
            np.testing.assert_array_equal(mine, theirs)
    # Different seeds start differently: the replay is not the template's weights again.
    first, second = (states.values(seed)[0][0] for seed in (0, 7))
    assert not np.array_equal(np.asarray(first), np.asarray(second))


def test_a_build_that_reseeds_pythons_random_is_not_replayed(tmp_path, monkeypatch):
    spec = spec_for(tmp_path, MODELS["mlp_dropout_bn"])
    build = initial_states.trainer.build_model

    def reseeding_build(model_config):
        random.seed(12345)   # the draws no longer follow from the run's seed
        return build(model_config)

    monkeypatch.setattr(initial_states.trainer, "build_model", reseeding_build)
    assert not initial_states.InitialStates(spec, 512).replayable


def test_an_initializer_with_its_own_seed_is_not_replayed(tmp_path, monkeypatch):
    spec = spec_for(tmp_path, MODELS["mlp_ln_scratch"])
    build = initial_states.trainer.build_model

    def explicitly_seeded_build(model_config):
        model = build(model_config)
        layer = keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(7))
        layer.build((None, 4))   # a variable whose seed no draw explains
        model.extra = layer
        return model

    monkeypatch.setattr(initial_states.trainer, "build_model", explicitly_seeded_build)
    states = initial_states.InitialStates(spec, 512)
    assert not states.replayable
