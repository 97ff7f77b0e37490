"""BatchNormalization and LayerNormalization written from scratch as Keras layers.

They exist to show, in a few lines each, which axes each norm averages over,
and they are checked against Keras' own layers (``tests/test_scratch_norms.py``):
forward outputs in training and inference, moving statistics after several
steps, and gradients with respect to the inputs, gamma and beta.
Registered as the norms ``batch_scratch`` and ``layer_scratch``.
"""


import keras
from keras import ops


def normalize(inputs, mean, variance, epsilon, gamma=None, beta=None):
    """``gamma * (inputs - mean) / sqrt(variance + epsilon) + beta``."""
    outputs = (inputs - mean) * ops.rsqrt(variance + epsilon)
    if gamma is not None:
        outputs = outputs * gamma
    return outputs + beta if beta is not None else outputs


class BatchNormalization(keras.layers.Layer):
    """Batch normalization (Ioffe & Szegedy, 2015), per feature of the last axis.

    Let ``c`` index the last axis (a Dense unit, a conv channel) and let the
    averages run over every other axis: the examples of the batch and, for
    images or sequences, the pixels or time steps too.

    Training (``training=True``)::

        mean_c = average(x[..., c])
        var_c  = average((x[..., c] - mean_c) ** 2)         # biased: divide by n
        y[..., c] = gamma_c * (x[..., c] - mean_c) / sqrt(var_c + epsilon) + beta_c
        moving_mean_c     <- momentum * moving_mean_c     + (1 - momentum) * mean_c
        moving_variance_c <- momentum * moving_variance_c + (1 - momentum) * var_c

    Gradients flow through ``mean_c`` and ``var_c``, so each example's
    gradient depends on the rest of its batch.

    Inference (``training=False``): the moving averages replace the batch
    statistics, ``y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta``,
    so an example's output no longer depends on its batch.

    Starts at ``gamma = 1, beta = 0, moving_mean = 0, moving_variance = 1``; the
    defaults (``momentum=0.99, epsilon=1e-3``) are Keras'.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = center, scale

    def build(self, input_shape):
        shape = (input_shape[-1],)
        self.gamma, self.beta = scale_and_shift(self, shape)
        self.moving_mean = self.add_weight(shape=shape, initializer="zeros",
                                           name="moving_mean", trainable=False)
        self.moving_variance = self.add_weight(shape=shape, initializer="ones",
                                               name="moving_variance", trainable=False)

    def call(self, inputs, training=False):
        if not training:
            return normalize(inputs, self.moving_mean, self.moving_variance, self.epsilon,
                             self.gamma, self.beta)
        axes = tuple(range(len(inputs.shape) - 1))
        mean = ops.mean(inputs, axis=axes)
        variance = ops.mean(ops.square(inputs - mean), axis=axes)
        keep = self.momentum
        self.moving_mean.assign(keep * self.moving_mean + (1.0 - keep) * mean)
        self.moving_variance.assign(keep * self.moving_variance + (1.0 - keep) * variance)
        return normalize(inputs, mean, variance, self.epsilon, self.gamma, self.beta)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


def scale_and_shift(layer, shape):
    """``(gamma, beta)`` weights of ``layer``, each None when switched off (``scale``/``center``)."""
    gamma = layer.add_weight(shape=shape, initializer="ones", name="gamma",
                             trainable=True) if layer.scale else None
    beta = layer.add_weight(shape=shape, initializer="zeros", name="beta",
                            trainable=True) if layer.center else None
    return gamma, beta


class LayerNormalization(keras.layers.Layer):
    """Layer normalization (Ba, Kiros & Hinton, 2016), per example.

    For each example, the statistics run over the axes in ``axis`` (default the
    last: a Dense layer's units, or each time step's features); on images use
    ``axis=(1, 2, 3)``: height, width and channels, all the layer's hidden
    units::

        mean = average over axis of x
        var  = average over axis of (x - mean) ** 2
        y = gamma * (x - mean) / sqrt(var + epsilon) + beta

    ``gamma`` and ``beta`` have one entry per feature of the last axis (per
    channel on images, as in GroupNorm with one group). Nothing depends on the
    batch, so training and inference compute the same thing and there are no
    moving statistics. Defaults (``epsilon=1e-3``) are Keras'.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
        self.epsilon, self.center, self.scale = float(epsilon), center, scale

    def build(self, input_shape):
        shape = (input_shape[-1],)
        self.gamma, self.beta = scale_and_shift(self, shape)

    def call(self, inputs):
        mean = ops.mean(inputs, axis=self.axis, keepdims=True)
        variance = ops.mean(ops.square(inputs - mean), axis=self.axis, keepdims=True)
        return normalize(inputs, mean, variance, self.epsilon, self.gamma, self.beta)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
