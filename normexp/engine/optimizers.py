"""Build a Keras optimizer from the config's ``optimizer`` mapping."""

from normexp.config.optimizers import OPTIMIZERS


def build_optimizer(optimizer_config):
    """A fresh Keras optimizer from ``{"name": ..., **constructor_kwargs}``."""
    import keras

    class_name = OPTIMIZERS.get(optimizer_config["name"])
    kwargs = {key: value for key, value in optimizer_config.items() if key != "name"}
    return getattr(keras.optimizers, class_name)(**kwargs)
