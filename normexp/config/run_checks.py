"""Checks across a run's sections, after each field passed its own (``study.validate_settings``).

Each raises ``ConfigError`` naming the field to change: a training subset or batch
larger than the data, a warmup as long as the run, probes where they cannot run,
and a model too big for this machine (``model_size``).
"""

from normexp import backends
from normexp.config import datasets, model_size, schema
from normexp.config.optimizers import warmup_problem
from normexp.config.sections import ProbeConfig
from normexp.errors import ConfigError


def check_run(settings, path, prefix):
    check_run_length(settings, path, prefix)
    check_probes(settings, path, prefix)
    too_big = model_size.size_problem(settings.model, settings.train.batch_size)
    if too_big:
        raise ConfigError(path, schema.join(prefix, f"model.{settings.model.width_field()}"),
                          too_big)


def check_run_length(settings, path, prefix):
    """The training subset, the batch and a warmup must fit in the data and the run."""
    available = datasets.train_size(settings.data.dataset, settings.data.validation)
    if (settings.data.train_examples or 0) > available:
        raise ConfigError(path, schema.join(prefix, "data.train_examples"),
                          f"must be <= the {available} training examples, got "
                          f"{settings.data.train_examples}")
    if settings.train.batch_size > settings.training_examples():
        raise ConfigError(path, schema.join(prefix, "train.batch_size"),
                          f"must be <= the {settings.training_examples()} training examples, "
                          f"got {settings.train.batch_size}")
    schedule = settings.train.optimizer.get("schedule")
    problem = schedule and warmup_problem(schedule, settings.updates())
    if problem:
        raise ConfigError(path, schema.join(prefix, "train.optimizer.schedule.warmup_steps"),
                          problem)


# Probes each family's layers can run: a CNN's BatchNorm is read like an MLP's (per channel
# over examples and pixels); the other probes read an MLP's hidden blocks or are untested on
# images, so they stay MLP-only.
FAMILY_PROBES = {"mlp": ProbeConfig.NAMES, "cnn": ("bn_statistics",)}


def check_probes(settings, path, prefix):
    """Probes read a feed-forward model's layers with TensorFlow's gradient tape."""
    probes = settings.train.probes
    if not probes.enabled():
        return
    field = schema.join(prefix, "train.probes")
    if backends.selected() != "tensorflow":
        raise ConfigError(path, field, f"probes need the TensorFlow backend (KERAS_BACKEND "
                          f"is {backends.selected()!r}); turn them off or unset KERAS_BACKEND")
    family = settings.model.family
    if family not in FAMILY_PROBES:
        raise ConfigError(path, field, f"probes read the layers of an MLP or a CNN; family "
                          f"{family!r} has none of them (use family mlp or cnn, or turn the "
                          f"probes off)")
    for name in probes.switched_on():
        if name not in FAMILY_PROBES[family]:
            raise ConfigError(path, schema.join(field, name),
                              f"is not available for family {family!r}, which has only "
                              f"{', '.join(FAMILY_PROBES[family])}; turn it off")
    # The probe batch is drawn from the training set without repeats.
    if probes.examples > settings.training_examples():
        raise ConfigError(path, schema.join(field, "examples"),
                          f"must be <= the {settings.training_examples()} training examples, "
                          f"got {probes.examples}")
    block = probes.pre_activation
    if block and block > len(settings.model.hidden):
        raise ConfigError(path, schema.join(field, "pre_activation"),
                          f"names hidden block {block}, but the model has "
                          f"{len(settings.model.hidden)} (blocks are numbered from 1)")
