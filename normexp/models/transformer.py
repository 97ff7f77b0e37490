"""The ``transformer`` family: a small vision transformer, from a ``TransformerConfig``.

Shape: the (batch, 28, 28) image is cut into ``patch_size`` × ``patch_size``
patches, row by row (7 → 16 tokens, 4 → 49)::

    tokens = Dense(width)(patches) + position        # learned, one vector per token
    [block] × depth
    Pre-LN only: tokens = norm(tokens)               # the last residual sum is unnormalized
    Dense(10, softmax)(mean over tokens)

Mean pooling rather than a class token: every token is treated alike, there is no
extra learned vector whose start value matters, and at this scale it trains at
least as well (Beyer et al. 2022, "Better plain ViT baselines").

Each block (``TransformerBlock``) holds the norm where ``placement`` puts it; the
norms act on (batch, tokens, features): LayerNorm and RMSNorm per token over its
features, BatchNorm per feature over the batch and all tokens.
"""

import keras

from normexp.models.norms import build_norm


def build(model_config, input_shape=(28, 28), classes=10):
    size = model_config.patch_size
    side = input_shape[0] // size
    layers = [keras.Input(shape=input_shape),
              keras.layers.Reshape((side, size, side, size), name="cut_patches"),
              keras.layers.Permute((1, 3, 2, 4), name="order_patches"),
              keras.layers.Reshape((side * side, size * size), name="patches"),
              keras.layers.Dense(model_config.width, name="patch_embedding"),
              PositionEmbedding(name="position_embedding")]
    for index in range(1, model_config.depth + 1):
        layers.append(TransformerBlock(model_config, name=f"block_{index}"))
    final = build_norm(model_config.norm, dict(model_config.norm_args),
                       f"{model_config.norm}_norm_final", "tokens")
    if final is not None and model_config.placement == "pre":
        layers.append(final)
    layers.extend([keras.layers.GlobalAveragePooling1D(name="mean_over_tokens"),
                   keras.layers.Dense(classes, activation="softmax", name="output")])
    return keras.Sequential(layers, name=f"transformer_{model_config.norm}_"
                                         f"{model_config.placement}")


class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per token position: ``y[b, t, :] = x[b, t, :] + p[t, :]``.

    ``p`` starts from ``N(0, 0.02²)``, as in BERT and ViT."""

    def build(self, input_shape):
        self.position = self.add_weight(
            shape=tuple(input_shape[1:]), name="position", trainable=True,
            initializer=keras.initializers.RandomNormal(stddev=0.02))

    def call(self, inputs):
        return inputs + self.position


class TransformerBlock(keras.layers.Layer):
    """Self-attention and an MLP, each on a residual path, with the norm at ``placement``.

    With ``attend(x) = MultiHeadAttention(x, x)`` and
    ``mlp(x) = Dense(width)(activation(Dense(width · mlp_ratio)(x)))``::

        pre:   x = x + attend(norm_1(x));   x = x + mlp(norm_2(x))
        post:  x = norm_1(x + attend(x));   x = norm_2(x + mlp(x))

    Post-LN (the original Transformer's order) normalizes the residual stream
    itself; Pre-LN leaves an unnormalized path from input to output, which is why
    its gradients stay small near the output at initialization (Xiong et al. 2020).
    With ``norm: none`` both orders are the same block without norms. Dropout, when
    set, drops each branch's output before it is added.
    """

    def __init__(self, model_config, **kwargs):
        super().__init__(**kwargs)
        self.pre = model_config.placement == "pre"
        width, heads = model_config.width, model_config.heads
        self.attention = keras.layers.MultiHeadAttention(heads, width // heads,
                                                         name="attention")
        self.expand = keras.layers.Dense(width * model_config.mlp_ratio,
                                         activation=model_config.activation, name="mlp_expand")
        self.contract = keras.layers.Dense(width, name="mlp_contract")
        self.norms = [build_norm(model_config.norm, dict(model_config.norm_args),
                                 f"{model_config.norm}_norm_{index}", "tokens")
                      for index in (1, 2)]
        rate = model_config.dropout
        self.dropouts = [keras.layers.Dropout(rate, name=f"dropout_{index}") if rate else None
                         for index in (1, 2)]

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.attention.build(shape, shape)
        self.expand.build(shape)
        self.contract.build((*shape[:-1], self.expand.units))
        for norm in self.norms:
            if norm is not None:
                norm.build(shape)

    def call(self, inputs, training=False):
        outputs = inputs
        branches = (lambda x: self.attention(x, x, training=training),
                    lambda x: self.contract(self.expand(x)))
        for branch, norm, dropout in zip(branches, self.norms, self.dropouts):
            normalize = (lambda x: x) if norm is None else (
                lambda x, norm=norm: norm(x, training=training))
            branch_input = normalize(outputs) if self.pre else outputs
            update = branch(branch_input)
            if dropout is not None:
                update = dropout(update, training=training)
            outputs = outputs + update if self.pre else normalize(outputs + update)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

