"""Model families: build the Keras model a ``model`` config section describes.

This package is TensorFlow-free at import; a family's builder module imports
Keras when first used. The family registry (config class and builder module
per ``model.family``) lives in ``normexp.config.families``.

* ``mlp`` (``mlp.py``): the article's fully connected network;
* ``cnn`` (``cnn.py``): Conv2D blocks then a dense head;
* ``rnn`` (``rnn.py``): the image read row by row as ``steps`` steps (28 rows by default);
* ``layers.py``: from-scratch BatchNormalization and LayerNormalization;
  ``recurrent_cell.py``: the LayerNorm-inside-the-cell recurrent cell;
  ``recurrent_batch_norm.py``: recurrent BatchNorm in an LSTM, statistics per time step;
* ``norms.py``: norm layers from the norm registry (``normexp.config.norms``);
* ``lowering.py``: convolutions and poolings as matmuls and reshapes, for XLA.

Adding a family is one ``FAMILIES.register`` line, a config class and a module
with ``build(model_config, input_shape, classes)``.
"""

import importlib

from normexp.config.families import FAMILIES


def build_model(model_config, input_shape=(28, 28), classes=10):
    """A ``keras.Sequential`` for ``model_config``; layer names are stable per index."""
    module = importlib.import_module(FAMILIES.get(model_config.family).module)
    return module.build(model_config, input_shape, classes)


def parameter_counts(model):
    """``(trainable, non_trainable)`` scalar counts."""
    trainable = sum(int(weight.numpy().size) for weight in model.trainable_weights)
    frozen = sum(int(weight.numpy().size) for weight in model.non_trainable_weights)
    return trainable, frozen
