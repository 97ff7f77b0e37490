"""Everything TensorFlow-specific lives here (threads, determinism, devices, XLA).

The fast engine compiles one whole epoch — every full batch, forward,
backward and optimizer update — into a single XLA program, so the per-step
Python and dispatch overhead of ``model.fit`` disappears while the updates stay
exactly those of minibatch training: same model, batch size, optimizer and
number of updates per epoch.
"""

import os

from normexp import backends, native_stderr

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
backends.selected()  # before Keras is imported: KERAS_BACKEND decides its backend


# TensorFlow's C++ start-up lines bypass its log level; NORMEXP_TF_LOGS=1 shows them.
with native_stderr.silenced(not os.environ.get("NORMEXP_TF_LOGS")):
    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.list_physical_devices("GPU")  # the CUDA probe logs here, once

from normexp.engine import program_cache  # noqa: E402
from normexp.models import lowering  # noqa: E402  (after TensorFlow: imports keras)

if not os.environ.get("NORMEXP_TF_LOGS"):
    # Each architecture and batch size is its own compiled program, traced once per process;
    # TensorFlow counts those as "retracing" and prints a WARNING block per sweep point.
    # They are expected here, not a problem to fix, so only errors reach the console.
    tf.get_logger().setLevel("ERROR")


def configure_threads(threads):
    """Pin TensorFlow's thread pools; must run before the first op executes."""
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def enable_determinism():
    tf.config.experimental.enable_op_determinism()


def device_name():
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({gpus[0].name})" if gpus else "CPU"


def versions():
    import sys

    return {"python": sys.version.split()[0], "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "backend": "tensorflow"}


_device_arrays = {}


def compiled_epochs(key, model, optimizer, batch_size, x_train, y_train):
    """A ``CompiledEpochs`` for this architecture, reused across runs in this process
    (``program_cache.reuse``: ``key`` must capture everything that shapes the program)."""
    return program_cache.reuse(key, lambda: CompiledEpochs(model, optimizer, batch_size,
                                                           x_train, y_train),
                               model, optimizer, x_train, y_train)


def try_one_step(model, optimizer, batch_size=2):
    """One eager training step on blank images: surfaces Keras arguments (norm or
    optimizer options) that are accepted at construction but fail when used."""
    images = tf.zeros((batch_size, *model.input_shape[1:]))
    labels = tf.zeros((batch_size,), tf.int32)
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(labels, model(images, training=True))
    optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    model(images, training=False)


def compile_function(function):
    """A graph-compiled ``function``; Python arguments (modes, counts) are compile-time.

    Not XLA: for the probes' few large-batch passes per epoch it runs no faster but takes
    several times longer to compile (docs/performance.md)."""
    return tf.function(function)


def gradient_norm_function(model, loss):
    """Compiled ``(x, y, groups) -> ([L2 norm of d loss / d variable], extra)``: ``loss``
    returns ``(value, extra)``, and ``extra`` (more results of the same forward pass) is
    passed through."""
    variables = model.trainable_variables

    def norms(x, y, groups):
        with tf.GradientTape() as tape:
            value, extra = loss(x, y, groups)
        return [tf.norm(gradient) for gradient in tape.gradient(value, variables)], extra

    return tf.function(norms)


def clear_compiled_cache():
    program_cache.clear()
    _device_arrays.clear()


def device_array(array):
    """One device copy per host array (the training set is shared by all runs)."""
    key = (id(array), array.shape)
    if key not in _device_arrays:
        _device_arrays[key] = (array, tf.constant(array))  # keep the host array alive
    return _device_arrays[key][1]


class CompiledEpochs:
    """Train ``model`` one epoch per call, all full batches inside one XLA program.

    Images stay uint8 on the device (a quarter of float32's memory) and are
    scaled to [0, 1] batch by batch inside the program.

    A final partial batch (when the batch size does not divide the training
    set) is one more compiled step, so every example is used once per epoch.
    ``train_epoch`` returns the epoch's mean training loss and accuracy, the
    same running averages ``model.fit`` reports.
    """

    def __init__(self, model, optimizer, batch_size, x_train, y_train):
        self.model, self.optimizer, self.batch_size = model, optimizer, batch_size
        self.loss = keras.losses.SparseCategoricalCrossentropy()
        self.x_train, self.y_train = device_array(x_train), device_array(y_train)
        self.full_steps = len(x_train) // batch_size
        optimizer.build(model.trainable_variables)
        jit = use_xla(model)
        # Lowered for training only: XLA's own forward convolutions are not the slow part
        # (10,000 test images, 1 thread: 1.1 s with Keras' layers, 2.1 s lowered).
        self.forward = lowered_forward(model) if jit and not on_gpu() else model
        self._epoch = tf.function(self._full_batches, jit_compile=jit)
        self._step = tf.function(self._one_step, jit_compile=jit)
        self._predict = tf.function(lambda x: model(to_unit_float(x), training=False),
                                    jit_compile=jit)

    def _one_step(self, x_batch, y_batch):
        with tf.GradientTape() as tape:
            probabilities = self.forward(x_batch, training=True)
            loss = self.loss(y_batch, probabilities)
            total = loss + tf.add_n(self.model.losses) if self.model.losses else loss
        gradients = tape.gradient(total, self.model.trainable_variables)
        self.optimizer.apply(gradients, self.model.trainable_variables)
        count = tf.cast(tf.shape(y_batch)[0], tf.float32)
        return loss * count, correct_count(y_batch, probabilities)

    def _full_batches(self, x, y, batches):
        def body(step, loss_sum, correct_sum):
            indices = batches[step]
            loss, correct = self._one_step(to_unit_float(tf.gather(x, indices)),
                                           tf.gather(y, indices))
            return step + 1, loss_sum + loss, correct_sum + correct

        _, loss_sum, correct_sum = tf.while_loop(
            lambda step, *_: step < self.full_steps, body, (0, 0.0, 0.0))
        return loss_sum, correct_sum

    def train_epoch(self, permutation):
        used = self.full_steps * self.batch_size
        batches = tf.constant(permutation[:used].reshape(self.full_steps, self.batch_size))
        loss_sum, correct_sum = self._epoch(self.x_train, self.y_train, batches)
        if used < len(permutation):
            rest = tf.constant(permutation[used:])
            loss, correct = self._step(to_unit_float(tf.gather(self.x_train, rest)),
                                       tf.gather(self.y_train, rest))
            loss_sum, correct_sum = loss_sum + loss, correct_sum + correct
        count = len(permutation)
        return float(loss_sum) / count, float(correct_sum) / count

    def evaluate(self, x, y, chunk=10000):
        """Mean loss and accuracy in inference mode, in large chunks."""
        loss_sum = correct_sum = 0.0
        for start in range(0, len(x), chunk):
            x_chunk, y_chunk = x[start:start + chunk], y[start:start + chunk]
            probabilities = self._predict(tf.constant(x_chunk))
            loss_sum += float(self.loss(y_chunk, probabilities)) * len(x_chunk)
            correct_sum += float(correct_count(tf.constant(y_chunk), probabilities))
        return loss_sum / len(x), correct_sum / len(x)

    def predict_classes(self, x, chunk=10000):
        """Each example's predicted class, inference mode. In ``evaluate``'s chunks, so the
        program validation compiled is reused (another chunk size would compile anew)."""
        return np.concatenate([
            np.argmax(self._predict(tf.constant(x[start:start + chunk])).numpy(), axis=-1)
            for start in range(0, len(x), chunk)])


def use_xla(model):
    """XLA for the epoch program, except on a CPU for dropout and unlowered convolutions.

    Both measured slower under XLA on this CPU (1 thread), so such a model runs its
    epoch as the same ``tf.while_loop`` in a plain TensorFlow graph: still one call per
    epoch, without per-step Python.
    - Convolutions: XLA's own are several times slower than TensorFlow's (oneDNN)
      kernels; the forms of ``normexp.models.lowering`` (im2col matmuls, reshaped
      pooling) are faster than both, so a model whose every conv and pooling layer has
      one uses XLA.
    - Dropout: Keras draws its masks with ``tf.random.stateless_*`` and the default
      ``auto_select`` algorithm, which XLA compiles to code far slower than a graph's.
    Measurements: docs/performance.md.
    """
    if on_gpu():
        return True
    if any("Dropout" in type(layer).__name__ for layer in model.layers):
        return False
    return lowering.covers(model)


def on_gpu():
    return bool(tf.config.list_physical_devices("GPU"))


def lowered_forward(model):
    """``model``'s forward pass with its conv and pooling layers in their lowered form
    (``model`` itself when it has none: the same program, bit for bit)."""
    if not isinstance(model, keras.Sequential) or not lowering.lowers_any(model):
        return model
    return lambda inputs, training: lowering.forward(model, inputs, training)


def to_unit_float(pixels):
    """uint8 pixels → float32 in [0, 1], inside the compiled program."""
    return tf.cast(pixels, tf.float32) / 255.0


def correct_count(labels, probabilities):
    predicted = tf.cast(tf.argmax(probabilities, axis=-1), labels.dtype)
    return tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.float32))
