"""The same convolutions and poolings, written as matmuls and reshapes, for XLA.

On a CPU, XLA compiles the gradients of ``Conv2D`` to slow generic loops (several
times slower than the form below; docs/performance.md), and TensorFlow's own oneDNN
kernels cannot run inside an XLA program. So the fast engine calls a Keras
``Sequential`` model layer by layer and computes these layers in an equal form: on
TensorFlow for its training steps (inference keeps Keras' layers: XLA's forward
convolution is fast), on JAX for training and inference on a CPU, and in the
vectorized (``vmap``-ed) program on every device, where Keras' convolutions would become
slow grouped convolutions (``jax_backend.lowers``):

* ``Conv2D`` (stride 1, no dilation, one group, ``same`` or ``valid``), as
  im2col: ``y[b, h, w, o] = Σ_{i, j, c} x_pad[b, h + i, w + j, c] · K[i, j, c, o]
  (+ bias[o])``, the k_h·k_w shifted views of the padded input side by side,
  one matmul with the kernel reshaped to ``(k_h·k_w·c_in, c_out)``, then the
  layer's activation. ``same`` pads ``(k - 1) // 2`` before and the rest
  after, as TensorFlow does.
* ``MaxPooling2D`` / ``AveragePooling2D`` with stride equal to the pool size
  and ``valid`` padding: crop to a multiple of the pool size, reshape to
  ``(b, h/p, p, w/p, p, c)`` and take the max or mean over the two ``p`` axes.
  Max pooling's gradient differs only at exact ties inside a window: the
  reduction shares it between the tied inputs, ``MaxPool`` gives it to one.
  In these models exact ties come from ReLU zeros, whose gradient the ReLU
  discards either way.

Every other layer (and any layer with options outside these) is called as
Keras calls it. Each layer computes with its own variables, so the fast
engine trains the very model ``fit`` trains; ``tests/test_lowering.py``
checks outputs and gradients against Keras' layers.
"""

import keras


def conv2d(layer, inputs):
    kernel_height, kernel_width, channels_in, channels_out = layer.kernel.shape
    if layer.padding == "same":
        inputs = keras.ops.pad(inputs, [(0, 0), same_padding(kernel_height),
                                        same_padding(kernel_width), (0, 0)])
    height = inputs.shape[1] - kernel_height + 1
    width = inputs.shape[2] - kernel_width + 1
    patches = keras.ops.concatenate(
        [inputs[:, i:i + height, j:j + width, :]
         for i in range(kernel_height) for j in range(kernel_width)], axis=-1)
    patch_size = kernel_height * kernel_width * channels_in
    outputs = keras.ops.matmul(keras.ops.reshape(patches, (-1, patch_size)),
                               keras.ops.reshape(layer.kernel, (patch_size, channels_out)))
    outputs = keras.ops.reshape(outputs, (-1, height, width, channels_out))
    if layer.use_bias:
        outputs = outputs + layer.bias
    return outputs if layer.activation is None else layer.activation(outputs)


def same_padding(kernel):
    before = (kernel - 1) // 2
    return before, kernel - 1 - before


def pool2d(layer, inputs):
    pool_height, pool_width = layer.pool_size
    _, height, width, channels = inputs.shape
    rows, columns = height // pool_height, width // pool_width
    windows = keras.ops.reshape(inputs[:, :rows * pool_height, :columns * pool_width, :],
                                (-1, rows, pool_height, columns, pool_width, channels))
    reduce = keras.ops.max if isinstance(layer, keras.layers.MaxPooling2D) else keras.ops.mean
    return reduce(windows, axis=(2, 4))


def conv2d_applies(layer):
    return (layer.data_format == "channels_last" and tuple(layer.strides) == (1, 1)
            and tuple(layer.dilation_rate) == (1, 1) and layer.groups == 1
            and layer.padding in ("same", "valid") and no_extras(layer))


def pool2d_applies(layer):
    return (layer.data_format == "channels_last" and layer.padding == "valid"
            and tuple(layer.strides) == tuple(layer.pool_size) and no_extras(layer))


def no_extras(layer):
    """Options these forms do not reproduce: activity regularizers, LoRA, non-float32."""
    return (layer.activity_regularizer is None and not getattr(layer, "lora_enabled", False)
            and layer.compute_dtype == "float32")


# Exact classes: a subclass may compute something else.
LOWERINGS = {
    keras.layers.Conv2D: (conv2d_applies, conv2d),
    keras.layers.MaxPooling2D: (pool2d_applies, pool2d),
    keras.layers.AveragePooling2D: (pool2d_applies, pool2d),
}
SPATIAL_KINDS = ("Conv", "Pooling")


def lowered(layer):
    """The equal form for ``layer``, or None when Keras must compute it."""
    applies, form = LOWERINGS.get(type(layer), (None, None))
    return form if applies is not None and applies(layer) else None


def lowers_any(model):
    """True when some layer of ``model`` (a conv or a pooling) has a lowered form."""
    return any(map(lowered, model.layers))


def covers(model):
    """True when ``model`` is a ``Sequential`` whose every conv and pooling layer is lowered."""
    if not isinstance(model, keras.Sequential):
        return False
    spatial = [layer for layer in model.layers
               if any(kind in type(layer).__name__ for kind in SPATIAL_KINDS)]
    return all(lowered(layer) is not None for layer in spatial)


def forward(model, inputs, training):
    """``model(inputs, training=training)``, with the lowered layers in their equal form."""
    outputs = inputs
    for layer in model.layers:
        form = lowered(layer)
        outputs = form(layer, outputs) if form else layer(outputs, training=training)
    return outputs

