"""Model families: ``model.family`` → its config class and its builder module.

This package is TensorFlow-free at import (configs are validated before
TensorFlow loads); a family's builder module imports Keras when first used.

* ``mlp`` (``mlp.py``): the article's fully connected network;
* ``cnn`` (``cnn.py``): Conv2D blocks then a dense head;
* ``rnn`` (``rnn.py``): the image read row by row, 28 steps of 28 features;
* ``layers.py``: from-scratch BatchNormalization and LayerNormalization;
  ``recurrent_cell.py``: the LayerNorm-inside-the-cell recurrent cell;
* ``norms.py``: the norm registry; ``configs.py``: each family's config fields.

Adding a family is one ``FAMILIES.register`` line, a config class and a module
with ``build(model_config, input_shape, classes)``.
"""

import dataclasses
import importlib
import typing

from normexp.models.configs import CnnConfig, MlpConfig, RnnConfig
from normexp.registry import Registry


@dataclasses.dataclass(frozen=True)
class Family:
    config_class: type
    module: str


FAMILIES = Registry("model family")
FAMILIES.register("mlp", Family(MlpConfig, "normexp.models.mlp"))
FAMILIES.register("cnn", Family(CnnConfig, "normexp.models.cnn"))
FAMILIES.register("rnn", Family(RnnConfig, "normexp.models.rnn"))

# The annotation of ``RunSettings.model``: the schema picks the member by ``family``.
ModelSection = typing.Union[tuple(FAMILIES.get(name).config_class
                                  for name in ("mlp", *sorted(set(FAMILIES.names()) - {"mlp"})))]


def build_model(model_config, input_shape=(28, 28), classes=10):
    """A ``keras.Sequential`` for ``model_config``; layer names are stable per index."""
    module = importlib.import_module(FAMILIES.get(model_config.family).module)
    return module.build(model_config, input_shape, classes)


def parameter_counts(model):
    """``(trainable, non_trainable)`` scalar counts."""
    trainable = sum(int(weight.numpy().size) for weight in model.trainable_weights)
    frozen = sum(int(weight.numpy().size) for weight in model.non_trainable_weights)
    return trainable, frozen
