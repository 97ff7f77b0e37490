"""The optimizer and activation registries: config name → Keras object.

An optimizer entry names a ``keras.optimizers`` class; every other key of the
config's ``optimizer`` mapping is passed to its constructor unchanged.
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


def build_optimizer(optimizer_config):
    """A fresh Keras optimizer from ``{"name": ..., **constructor_kwargs}``."""
    import keras

    class_name = OPTIMIZERS.get(optimizer_config["name"])
    kwargs = {key: value for key, value in optimizer_config.items() if key != "name"}
    return getattr(keras.optimizers, class_name)(**kwargs)
