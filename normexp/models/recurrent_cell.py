"""A recurrent cell with LayerNorm inside the recurrence (Ba, Kiros & Hinton, 2016).

Keras' SimpleRNN, GRU and LSTM cells have no option for this, so the three
cells are written out here, one step each. ``LN(v)`` below is layer
normalization of the vector ``v`` over its features, per example and per time
step, with a learned gain: ``gain * (v - mean(v)) / sqrt(var(v) + epsilon)``.
"""

import keras
from keras import ops

from normexp.models.layers import normalize


GATES = {"simple": 1, "gru": 3, "lstm": 4}


def layer_norm(vector, gain, epsilon):
    mean = ops.mean(vector, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(vector - mean), axis=-1, keepdims=True)
    return normalize(vector, mean, variance, epsilon, gain)


class LayerNormRecurrentCell(keras.layers.Layer):
    """One time step of a layer-normalized SimpleRNN, GRU or LSTM; use with ``keras.layers.RNN``.

    With input ``x``, previous output ``h`` (and cell state ``c``), kernels
    ``W`` (input) and ``U`` (recurrent), bias ``b``:

    * ``simple``: ``h' = act(LN(W x + U h) + b)``: Ba et al.'s equation for a
      plain RNN: the summed inputs are normalized, then shifted by ``b``.
    * ``lstm``: ``[i, f, o, g] = LN_x(W x) + LN_h(U h) + b`` (4 × units,
      normalized jointly); ``c' = sigmoid(f) * c + sigmoid(i) * act(g)``;
      ``h' = sigmoid(o) * act(LN_c(c'))``, ``LN_c`` with a gain and a shift:
      Ba et al.'s layer-normalized LSTM. The forget-gate bias starts at 1, as Keras'.
    * ``gru``: ``[r_x, z_x, n_x] = LN_x(W x)``, ``[r_h, z_h, n_h] = LN_h(U h)``;
      ``r = sigmoid(r_x + r_h + b_r)``, ``z = sigmoid(z_x + z_h + b_z)``,
      ``n = act(n_x + r * n_h + b_n)``, ``h' = z * h + (1 - z) * n`` (Keras'
      ``reset_after`` form, with both projections normalized).

    Because the input and recurrent projections are each normalized, the
    step's output does not change when ``W`` or ``U`` is multiplied by a
    positive constant; the tests check that, and each cell against a NumPy
    loop of these equations.
    """

    def __init__(self, kind, units, activation="tanh", epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        if kind not in GATES:
            raise ValueError(f"cell must be one of {', '.join(GATES)}, got {kind!r}")
        self.kind, self.units, self.epsilon = kind, int(units), float(epsilon)
        self.activation = keras.activations.get(activation)
        self.activation_name = activation
        self.state_size = [self.units, self.units] if kind == "lstm" else [self.units]
        self.output_size = self.units

    def build(self, input_shape):
        width = GATES[self.kind] * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], width), name="kernel",
                                      initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(shape=(self.units, width),
                                                name="recurrent_kernel",
                                                initializer="orthogonal")
        self.bias = self.add_weight(shape=(width,), name="bias", initializer=self.bias_start)
        self.input_gain = self.add_weight(shape=(width,), name="input_gain", initializer="ones")
        if self.kind != "simple":
            self.recurrent_gain = self.add_weight(shape=(width,), name="recurrent_gain",
                                                  initializer="ones")
        if self.kind == "lstm":
            self.cell_gain = self.add_weight(shape=(self.units,), name="cell_gain",
                                             initializer="ones")
            self.cell_shift = self.add_weight(shape=(self.units,), name="cell_shift",
                                              initializer="zeros")

    def bias_start(self, shape, dtype=None):
        if self.kind != "lstm":
            return ops.zeros(shape, dtype=dtype)
        units = self.units
        return ops.concatenate([ops.zeros((units,)), ops.ones((units,)),
                                ops.zeros((2 * units,))])

    def call(self, inputs, states, training=None):
        previous = states[0]
        if self.kind == "simple":
            summed = ops.matmul(inputs, self.kernel) + ops.matmul(previous, self.recurrent_kernel)
            output = self.activation(layer_norm(summed, self.input_gain, self.epsilon) + self.bias)
            return output, [output]
        from_input = layer_norm(ops.matmul(inputs, self.kernel), self.input_gain, self.epsilon)
        from_state = layer_norm(ops.matmul(previous, self.recurrent_kernel),
                                self.recurrent_gain, self.epsilon)
        if self.kind == "lstm":
            return self.lstm_step(from_input + from_state + self.bias, states[1])
        return self.gru_step(from_input, from_state, previous)

    def lstm_step(self, gates, cell):
        input_gate, forget_gate, output_gate, candidate = ops.split(gates, 4, axis=-1)
        cell = (ops.sigmoid(forget_gate) * cell
                + ops.sigmoid(input_gate) * self.activation(candidate))
        normalized_cell = layer_norm(cell, self.cell_gain, self.epsilon) + self.cell_shift
        output = ops.sigmoid(output_gate) * self.activation(normalized_cell)
        return output, [output, cell]

    def gru_step(self, from_input, from_state, previous):
        input_reset, input_update, input_new = ops.split(from_input, 3, axis=-1)
        state_reset, state_update, state_new = ops.split(from_state, 3, axis=-1)
        bias_reset, bias_update, bias_new = ops.split(self.bias, 3, axis=-1)
        reset = ops.sigmoid(input_reset + state_reset + bias_reset)
        update = ops.sigmoid(input_update + state_update + bias_update)
        candidate = self.activation(input_new + reset * state_new + bias_new)
        output = update * previous + (1.0 - update) * candidate
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "units": self.units,
                "activation": self.activation_name, "epsilon": self.epsilon}
