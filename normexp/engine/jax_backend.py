"""Everything JAX-specific: devices, versions, and the fast engine's compiled epochs.

As ``tensorflow_backend`` does for TensorFlow, one whole epoch — every full
batch, forward, backward and optimizer update — is one compiled program: a
``jax.lax.scan`` over the epoch's batches of a step built from Keras' stateless
API (the model's variables passed in and returned, ``optimizer.stateless_apply``),
so the updates are exactly those of minibatch training. Keras' own ``fit`` on
JAX is the ``fit`` engine's reference path, unchanged.
"""

import os
import sys

from normexp import backends

backends.selected()  # before Keras is imported: KERAS_BACKEND decides its backend

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from normexp.engine import program_cache  # noqa: E402
from normexp.models import lowering  # noqa: E402


def configure_threads(threads):
    """One thread: XLA's CPU client reads ``XLA_FLAGS`` when it starts, at the first
    computation, so this must run before any (workers call it first)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (f"{flags} --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1").strip()


def enable_determinism():
    """XLA on a CPU computes the same result for the same program and inputs."""


def device_name():
    device = jax.devices()[0]
    return "CPU" if device.platform == "cpu" else f"GPU ({device.device_kind})"


def on_gpu():
    return jax.devices()[0].platform == "gpu"


def versions():
    import jaxlib

    return {"python": sys.version.split()[0], "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "backend": "jax"}


def compiled_epochs(key, model, optimizer, batch_size, x_train, y_train):
    """A ``CompiledEpochs`` for this architecture, reused across runs in this process
    (``program_cache.reuse``), as on TensorFlow."""
    return program_cache.reuse(key, lambda: CompiledEpochs(model, optimizer, batch_size,
                                                           x_train, y_train),
                               model, optimizer, x_train, y_train)


def clear_compiled_cache():
    program_cache.clear()


def try_one_step(model, optimizer, batch_size=2):
    """One training step on blank images, as ``tensorflow_backend.try_one_step``."""
    program = CompiledEpochs(model, optimizer, batch_size,
                             np.zeros((batch_size, *model.input_shape[1:]), np.uint8),
                             np.zeros((batch_size,), np.int32))
    program.train_epoch(np.arange(batch_size, dtype=np.int32))
    program.predict_classes(np.zeros((batch_size, *model.input_shape[1:]), np.uint8))


def variable_values(model, optimizer):
    """A run's state as the compiled program takes it: (trainable, non-trainable,
    optimizer) lists of arrays."""
    return ([v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in optimizer.variables])


def lowers(model, vectorized):
    """Whether the compiled program computes ``model``'s convolutions and poolings in
    ``normexp.models.lowering``'s forms, in training and inference alike.

    On a CPU, always: XLA compiles a convolution's gradients to slow loops there. On a
    GPU a single run keeps Keras' convolutions, which cuDNN runs fast. A vectorized
    program lowers on every device: under ``vmap`` a convolution whose kernel has a seed
    axis becomes one grouped convolution (``feature_group_count`` = seeds), which runs
    slowly, while im2col's matmul just gains a batch axis (issue 17, on an H200: 16 CNN
    seeds at 5.9 run-epochs per second with Keras' convolutions, 29.5 with im2col).
    """
    return lowering.covers(model) and (vectorized or not on_gpu())


def to_unit_float(pixels):
    return jnp.asarray(pixels, jnp.float32) / 255.0


class CompiledEpochs:
    """Train ``model`` one epoch per call, all full batches inside one compiled program.

    The program is a pure function of ``State`` (trainable, non-trainable and
    optimizer values); after each call the values are written back into the Keras
    variables, so the model and optimizer hold the trained state between epochs, as
    on TensorFlow. Convolutions and poolings run in ``normexp.models.lowering``'s
    forms where ``lowers`` says so (``vectorized``: the program will be ``vmap``-ed
    over seeds). ``train_epoch``, ``evaluate`` and ``predict_classes`` behave as
    ``tensorflow_backend.CompiledEpochs``'.
    """

    def __init__(self, model, optimizer, batch_size, x_train, y_train, vectorized=False):
        self.model, self.optimizer, self.batch_size = model, optimizer, batch_size
        self.loss = keras.losses.SparseCategoricalCrossentropy()
        self.x_train, self.y_train = jnp.asarray(x_train), jnp.asarray(y_train)
        self.full_steps = len(x_train) // batch_size
        optimizer.build(model.trainable_variables)
        self.lowered = lowers(model, vectorized)
        self.call = ((lambda x, training: lowering.forward(model, x, training)) if self.lowered
                     else (lambda x, training: model(x, training=training)))
        self._epoch = jax.jit(self._full_batches)
        self._step = jax.jit(self._one_step)
        self._predict = jax.jit(self._probabilities)

    def state(self):
        return variable_values(self.model, self.optimizer)

    def set_state(self, state):
        owners = (self.model.trainable_variables, self.model.non_trainable_variables,
                  self.optimizer.variables)
        for variables, values in zip(owners, state):
            for variable, value in zip(variables, values):
                variable.assign(value)

    def forward(self, trainable, non_trainable, x, training):
        """``(probabilities, new non-trainable values)``, as ``Layer.stateless_call``."""
        model = self.model
        mapping = list(zip(model.trainable_variables, trainable)) + list(
            zip(model.non_trainable_variables, non_trainable))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            probabilities = self.call(x, training)
        updated = [scope.get_current_value(variable) for variable in model.non_trainable_variables]
        return probabilities, [new if new is not None else old
                               for new, old in zip(updated, non_trainable)]

    def _loss(self, trainable, non_trainable, x, y):
        probabilities, non_trainable = self.forward(trainable, non_trainable, x, True)
        return self.loss(y, probabilities), (probabilities, non_trainable)

    def _one_step(self, state, x, y):
        trainable, non_trainable, optimizer_values = state
        gradient = jax.value_and_grad(self._loss, has_aux=True)
        (loss, (probabilities, non_trainable)), gradients = gradient(
            trainable, non_trainable, to_unit_float(x), y)
        trainable, optimizer_values = self.optimizer.stateless_apply(
            optimizer_values, gradients, trainable)
        correct = jnp.sum(jnp.argmax(probabilities, axis=-1) == y)
        return (trainable, non_trainable, optimizer_values), loss * y.shape[0], correct

    def _full_batches(self, state, x, y, batches):
        def body(carry, indices):
            state, loss_sum, correct_sum = carry
            state, loss, correct = self._one_step(state, x[indices], y[indices])
            return (state, loss_sum + loss, correct_sum + correct), None

        (state, loss_sum, correct_sum), _ = jax.lax.scan(body, (state, 0.0, 0), batches)
        return state, loss_sum, correct_sum

    def train_epoch(self, permutation):
        used = self.full_steps * self.batch_size
        batches = jnp.asarray(permutation[:used].reshape(self.full_steps, self.batch_size))
        state, loss_sum, correct_sum = self._epoch(self.state(), self.x_train, self.y_train,
                                                   batches)
        if used < len(permutation):
            rest = jnp.asarray(permutation[used:])
            state, loss, correct = self._step(state, self.x_train[rest], self.y_train[rest])
            loss_sum, correct_sum = loss_sum + loss, correct_sum + correct
        self.set_state(state)
        count = len(permutation)
        return float(loss_sum) / count, float(correct_sum) / count

    def _probabilities(self, trainable, non_trainable, x):
        return self.forward(trainable, non_trainable, to_unit_float(x), False)[0]

    def probabilities(self, x):
        trainable, non_trainable, _ = self.state()
        return self._predict(trainable, non_trainable, jnp.asarray(x))

    def evaluate(self, x, y, chunk=10000):
        """Mean loss and accuracy in inference mode, in large chunks."""
        loss_sum = correct_sum = 0.0
        for start in range(0, len(x), chunk):
            probabilities = self.probabilities(x[start:start + chunk])
            labels = np.asarray(y[start:start + chunk])
            loss_sum += float(self.loss(labels, probabilities)) * len(labels)
            correct_sum += float(np.sum(np.argmax(probabilities, axis=-1) == labels))
        return loss_sum / len(x), correct_sum / len(x)

    def predict_classes(self, x, chunk=10000):
        return np.concatenate([np.argmax(np.asarray(self.probabilities(x[start:start + chunk])),
                                         axis=-1) for start in range(0, len(x), chunk)])

