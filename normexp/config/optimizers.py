"""The optimizer and activation registries: config name → Keras class or function name.

An optimizer entry names a ``keras.optimizers`` class; every other key of the
config's ``optimizer`` mapping is passed to its constructor unchanged
(``normexp.engine.optimizers.build_optimizer``). No TensorFlow here.
"""

from normexp.registry import Registry

OPTIMIZERS = Registry("optimizer")
for _name, _class_name in {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD",
                           "rmsprop": "RMSprop", "adagrad": "Adagrad", "adamax": "Adamax",
                           "nadam": "Nadam", "lion": "Lion"}.items():
    OPTIMIZERS.register(_name, _class_name)

ACTIVATIONS = Registry("activation")
for _name in ("relu", "gelu", "tanh", "sigmoid", "elu", "selu", "silu", "swish",
              "softplus", "leaky_relu", "mish", "linear"):
    ACTIVATIONS.register(_name, _name)

