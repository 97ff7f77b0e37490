"""Recurrent batch normalization: an LSTM with BatchNorm inside the recurrence.

Cooijmans, Ballas, Laurent, Gülçehre & Courville, "Recurrent Batch
Normalization" (arXiv 1603.09025, 2016; ICLR 2017). BatchNorm between stacked
layers pools its statistics over the batch and every time step; here each time
step has its own statistics, in training and at inference, as the paper asks.

How it runs: ``BatchNormLSTM`` projects and normalizes the whole input sequence
at once (``BN_x(W x_t)`` needs nothing from earlier steps), then runs
``BatchNormLSTMCell`` through ``keras.layers.RNN``, the backend's own loop
(TensorFlow's ``while_loop`` with its iteration bound, which XLA needs; JAX's
``lax.scan``). A cell may not assign variables inside that loop (JAX traces it)
and does not know its time step, so the cell carries its step number in its
state, to read that step's moving averages at inference, and emits its cell
state beside its output. After the loop the layer recomputes each step's batch
statistics of ``U h_{t-1}`` and ``c_t`` from those sequences (the same values the
loop normalized with, batched) and updates the moving averages once, as Keras'
BatchNorm does after its forward pass. Emitting the statistics from the loop
instead (10 × units values a step, copied to every example) measured 8× slower
under XLA on a CPU: the loop's stacked outputs grow with their width faster
than linearly.
"""

import keras
from keras import ops

from normexp.models.layers import normalize

GAIN_START = 0.1    # Cooijmans et al.'s recommended start for every γ


def batch_moments(values):
    """Mean and biased variance over the batch (axis 0), per remaining index."""
    mean = ops.mean(values, axis=0)
    return mean, ops.mean(ops.square(values - mean), axis=0)


def moving_weights(layer, name, steps, width):
    """A moving mean (start 0) and variance (start 1), one row per time step."""
    return tuple(layer.add_weight(shape=(steps, width), name=f"moving_{name}_{statistic}",
                                  initializer=start, trainable=False)
                 for statistic, start in (("mean", "zeros"), ("variance", "ones")))


def update_moving(variables, moments, momentum):
    for variable, value in zip(variables, moments):
        variable.assign(momentum * variable + (1.0 - momentum) * value)


class BatchNormLSTM(keras.layers.Layer):
    """An LSTM whose input term, recurrent term and cell state are batch-normalized per time step.

    With input ``x_t``, previous output ``h_{t-1}`` and cell state ``c_{t-1}``,
    kernels ``W`` (input) and ``U`` (recurrent), bias ``b``::

        [i, f, o, g] = BN_x(W x_t; γ_x) + BN_h(U h_{t-1}; γ_h) + b
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * act(g)
        h_t = sigmoid(o) * act(BN_c(c_t; γ_c, β_c))

    where, per feature ``k`` at time step ``t``,
    ``BN(v; γ, β)[:, k] = γ_k * (v[:, k] - mean_t,k) / sqrt(var_t,k + epsilon) + β_k``.

    Training (``training=True``): ``mean_t`` and ``var_t`` are the batch's at step
    ``t`` alone (biased variance: divide by the batch size); gradients flow
    through them. After the sequence, for every step ``t`` and each of the three terms::

        moving_mean[t]     <- momentum * moving_mean[t]     + (1 - momentum) * mean_t
        moving_variance[t] <- momentum * moving_variance[t] + (1 - momentum) * var_t

    so each moving statistic has shape ``(steps, features)``.

    Inference (``training=False``): step ``t`` uses ``moving_mean[t]`` and
    ``moving_variance[t]``, so an example's output no longer depends on its batch.
    (The paper estimates these population statistics by averaging over the
    training set after training; the moving averages are Keras' BatchNorm's way,
    so a run must be long enough for them to forget their start: 0.99^N after N updates.)
    The cell state carried to the next step is ``c_t`` itself; only the output
    sees ``BN_c(c_t)``, so the normalization does not block the gradient along ``c``.

    As in the paper: ``BN_x`` and ``BN_h`` have no shift (``b`` provides it);
    every γ starts at ``initial_gain`` = 0.1, the paper's recommendation (its
    Section 4: with γ = 1 the normalized pre-activations have unit variance and
    saturate the tanh, so the gradient through time vanishes); ``β_c`` starts
    at 0; the initial state is zero, so ``U h_0 = 0`` and ``BN_h`` gives 0 at the
    first step. The forget-gate bias starts at 1, as Keras' LSTM's;
    ``momentum=0.99`` and ``epsilon=1e-3`` are Keras' BatchNorm defaults. Gate
    order ``[i, f, o, g]``, as ``LayerNormRecurrentCell``'s.
    """

    def __init__(self, units, steps, activation="tanh", return_sequences=False, momentum=0.99,
                 epsilon=1e-3, initial_gain=GAIN_START, **kwargs):
        super().__init__(**kwargs)
        self.units, self.steps, self.return_sequences = int(units), int(steps), return_sequences
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.initial_gain, self.activation_name = float(initial_gain), activation
        self.cell = BatchNormLSTMCell(self.units, self.steps, activation, self.epsilon,
                                      self.initial_gain, name="cell")
        self.recurrence = keras.layers.RNN(self.cell, return_sequences=True, name="recurrence")

    def build(self, input_shape):
        if input_shape[1] != self.steps:
            raise ValueError(f"BatchNormLSTM keeps statistics for {self.steps} time steps; "
                             f"got sequences of {input_shape[1]}")
        width = 4 * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], width), name="kernel",
                                      initializer="glorot_uniform")
        self.input_gain = self.add_weight(shape=(width,), name="input_gain",
                                          initializer=keras.initializers.Constant(
                                              self.initial_gain))
        self.moving_input = moving_weights(self, "input", self.steps, width)
        self.recurrence.build((input_shape[0], self.steps, width))

    def call(self, inputs, training=False):
        training = bool(training)
        projected = ops.matmul(inputs, self.kernel)                  # (batch, steps, 4·units)
        input_moments = batch_moments(projected) if training else self.moving_input
        from_input = normalize(projected, *input_moments, self.epsilon, self.input_gain)
        emitted = self.recurrence(from_input, training=training)    # (batch, steps, [h, c])
        outputs = emitted[..., :self.units]
        if training:
            self.update_moving_averages(input_moments, ops.stop_gradient(emitted))
        return outputs if self.return_sequences else outputs[:, -1]

    def update_moving_averages(self, input_moments, emitted):
        """Each step's batch statistics of the three terms into their moving averages."""
        outputs, cells = emitted[..., :self.units], emitted[..., self.units:]
        previous = ops.concatenate([ops.zeros_like(outputs[:, :1]), outputs[:, :-1]], axis=1)
        recurrent_moments = batch_moments(ops.matmul(previous, self.cell.recurrent_kernel))
        update_moving(self.moving_input, input_moments, self.momentum)
        update_moving(self.cell.moving_recurrent, recurrent_moments, self.momentum)
        update_moving(self.cell.moving_cell, batch_moments(cells), self.momentum)

    def moving_statistics(self):
        """``{"input_mean": variable, ...}``: every term's moving mean and variance."""
        pairs = {"input": self.moving_input, "recurrent": self.cell.moving_recurrent,
                 "cell": self.cell.moving_cell}
        return {f"{term}_{statistic}": variable for term, variables in pairs.items()
                for statistic, variable in zip(("mean", "variance"), variables)}

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "steps": self.steps,
                "activation": self.activation_name, "return_sequences": self.return_sequences,
                "momentum": self.momentum, "epsilon": self.epsilon,
                "initial_gain": self.initial_gain}


class BatchNormLSTMCell(keras.layers.Layer):
    """One step of ``BatchNormLSTM``'s recurrence, for ``keras.layers.RNN``.

    Input: ``BN_x(W x_t)`` (normalized by the layer, 4 × units). State:
    ``(h, c, t)``, ``t`` the step number (the same in every row). Output:
    ``[h_t, c_t]`` (2 × units), from which the layer computes the moving averages'
    updates. In training ``BN_h`` and ``BN_c`` use the batch's statistics; at
    inference the moving averages of step ``t``.
    """

    def __init__(self, units, steps, activation="tanh", epsilon=1e-3, initial_gain=GAIN_START,
                 **kwargs):
        super().__init__(**kwargs)
        self.units, self.steps, self.epsilon = units, steps, epsilon
        self.initial_gain = initial_gain
        self.activation = keras.activations.get(activation)
        self.state_size = [units, units, 1]
        self.output_size = 2 * units

    def build(self, input_shape):
        units, width = self.units, 4 * self.units
        gain = keras.initializers.Constant(self.initial_gain)
        self.recurrent_kernel = self.add_weight(shape=(units, width), name="recurrent_kernel",
                                                initializer="orthogonal")
        self.bias = self.add_weight(shape=(width,), name="bias", initializer=self.bias_start)
        self.recurrent_gain = self.add_weight(shape=(width,), name="recurrent_gain",
                                              initializer=gain)
        self.cell_gain = self.add_weight(shape=(units,), name="cell_gain", initializer=gain)
        self.cell_shift = self.add_weight(shape=(units,), name="cell_shift", initializer="zeros")
        self.moving_recurrent = moving_weights(self, "recurrent", self.steps, width)
        self.moving_cell = moving_weights(self, "cell", self.steps, units)

    def bias_start(self, shape, dtype=None):
        units = self.units
        return ops.concatenate([ops.zeros((units,)), ops.ones((units,)), ops.zeros((2 * units,))])

    def moving_at(self, variables, step):
        return tuple(ops.take(variable, step, axis=0) for variable in variables)

    def call(self, inputs, states, training=None):
        output, cell, step_number = states
        step = ops.cast(step_number[0, 0], "int32")
        projected = ops.matmul(output, self.recurrent_kernel)
        recurrent_moments = (batch_moments(projected) if training
                             else self.moving_at(self.moving_recurrent, step))
        gates = inputs + self.bias + normalize(projected, *recurrent_moments, self.epsilon,
                                               self.recurrent_gain)
        input_gate, forget_gate, output_gate, candidate = ops.split(gates, 4, axis=-1)
        cell = ops.sigmoid(forget_gate) * cell + ops.sigmoid(input_gate) * self.activation(
            candidate)
        cell_moments = (batch_moments(cell) if training
                        else self.moving_at(self.moving_cell, step))
        normalized_cell = normalize(cell, *cell_moments, self.epsilon, self.cell_gain,
                                    self.cell_shift)
        output = ops.sigmoid(output_gate) * self.activation(normalized_cell)
        return ops.concatenate([output, cell], axis=-1), [output, cell, step_number + 1.0]
