"""The config sections as frozen dataclasses; defaults are the article's setup.

``RunSettings`` (data + train + model) is everything that defines one run
besides its seed. Field checks run at load time, before anything trains.
"""

import dataclasses
import math

from normexp.backends import SUPPORTED
from normexp.config.datasets import DATASETS, train_size
from normexp.config.families import FAMILIES, MlpConfig, ModelSection
from normexp.config.optimizers import OPTIMIZERS, schedule_problem
from normexp.config.schema import field, in_registry, join, one_of, positive, unknown_key_problem
from normexp.errors import ConfigError
from normexp.metrics import CLAIM_TESTS, CURVE_METRICS
from normexp.registry import unknown_name_message


def validation_check(value):
    if isinstance(value, str):
        return None if value == "test" else "must be 'test' or a fraction in (0, 1)"
    return None if 0 < value < 1 else "must be 'test' or a fraction in (0, 1)"


def optimizer_check(value):
    name = value.get("name")
    if not isinstance(name, str):
        return "needs a 'name' (one of: " + ", ".join(OPTIMIZERS.names()) + ")"
    if name not in OPTIMIZERS:
        return unknown_name_message("optimizer", name, OPTIMIZERS.names())
    rate = value.get("learning_rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf:
        return "learning_rate must be a finite number > 0"
    if "schedule" in value:
        return schedule_problem(value["schedule"])
    return None


@dataclasses.dataclass(frozen=True)
class DataConfig:
    dataset: str = field("mnist", in_registry(DATASETS))
    validation: str | float = field("test", validation_check)
    dir: str | None = field(None)
    # Train on a fixed subset of this many examples (null: all); keeps small-batch studies short.
    train_examples: int | None = field(None, lambda value: None if value is None or value > 0
                                       else "must be > 0 or null")


@dataclasses.dataclass(frozen=True)
class ProbeConfig:
    """What ``probes.Probes`` records each epoch (all off by default)."""

    pre_activation: int | None = field(None, positive)   # hidden block, 1-based
    percentiles: tuple[float, ...] = field((15.0, 50.0, 85.0), lambda values: None if values
                                           and all(0 <= v <= 100 for v in values)
                                           else "must be a non-empty list of numbers in [0, 100]")
    bn_statistics: bool = field(False)
    gradient_norms: bool = field(False)
    batch_dependence: bool = field(False)
    examples: int = field(2048, positive)    # fixed probe batch and validation subset

    NAMES = ("pre_activation", "bn_statistics", "gradient_norms", "batch_dependence")

    def enabled(self):
        return any(getattr(self, name) for name in self.NAMES)

    def switched_on(self):
        """The names of the probes this config records, in ``NAMES`` order."""
        return tuple(name for name in self.NAMES if getattr(self, name))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = field(5, positive)
    batch_size: int = field(32, positive)
    optimizer: dict = field({"name": "adam", "learning_rate": 0.001}, optimizer_check)
    engine: str = field("fast", one_of("fast", "fit"))
    # "any": whichever KERAS_BACKEND the process runs; a named one pins the run to it (a
    # study can compare backends: each half trains in a process on its backend).
    backend: str = field("any", one_of("any", *SUPPORTED))
    deterministic: bool = field(False)
    probes: ProbeConfig = dataclasses.field(default_factory=ProbeConfig)


# The MLP's model section (the default family); each family's class is in
# normexp/models/configs.py and ``model.family`` picks one.
ModelConfig = MlpConfig


@dataclasses.dataclass(frozen=True)
class RunSettings:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    model: ModelSection = dataclasses.field(default_factory=MlpConfig)

    def training_examples(self):
        return self.data.train_examples or train_size(self.data.dataset, self.data.validation)

    def updates(self, training_examples=None):
        """Optimizer steps over the whole run: every batch of every epoch, the last
        partial batch of an epoch included (as both engines train it). By default from
        the dataset registry's size; the trainer passes what it loaded."""
        examples = training_examples or self.training_examples()
        return math.ceil(examples / self.train.batch_size) * self.train.epochs


@dataclasses.dataclass(frozen=True)
class Panel:
    """One panel of the article-style figure: train and val accuracy of a variant."""

    variant: str = field("")
    title: str = field("")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Two variants compared on every final metric: ``variant`` minus ``against``."""

    variant: str = field("")
    against: str = field("")


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim checked on this study's runs: ``metric`` of ``variant`` at sweep point ``at``
    minus ``against_metric`` of ``against`` at ``against_at`` is ``direction`` (each
    ``against*`` defaults to its own side). ``equal`` needs a ``margin`` in the metric's
    units. ``minus`` (keys ``variant``, ``against``, ``at``, ``against_at``) subtracts a
    second such comparison on the same metric: a difference of differences, e.g. "BN's gain
    is larger in the deeper network". ``test`` (names in ``metrics.CLAIM_TESTS``; unset:
    "fisher" for a binary metric, else "t") picks how it is judged; "exact" needs a
    ``tolerance``. ``exploratory`` claims are judged outside the page's Holm family.
    ``min_effect`` is the effect the seed planner sizes the study for. ``by`` turns a
    "higher" / "lower" claim into "higher / lower by at least ``by``": the difference is
    tested against +by / −by instead of 0 (a published effect size). Checked in
    ``claim_checks.check_claims``; verdicts come from ``report.claims.verdicts``."""

    id: str = field("")
    claim: str = field("")
    variant: str = field("")
    at: dict = field({})
    metric: str = field("val_accuracy")
    against: str | None = field(None)
    against_at: dict | None = field(None)
    against_metric: str | None = field(None)
    minus: dict | None = field(None)
    direction: str = field("higher", one_of("higher", "lower", "equal"))
    margin: float | None = field(None, lambda value: None if value is None or value > 0
                                 else "must be > 0")
    figure: str | None = field(None)
    exploratory: bool = field(False)
    test: str | None = field(None, one_of(*CLAIM_TESTS))
    tolerance: float | None = field(None, lambda value: None if value >= 0 else "must be >= 0")
    min_effect: float | None = field(None, positive)
    by: float | None = field(None, positive)
    failure_threshold: float = field(0.5, lambda value: None if 0 < value <= 1
                                     else "must be in (0, 1]")


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    baseline: str | None = field(None)
    target_accuracy: float = field(0.97, lambda value: None if 0 < value <= 1
                                   else "must be in (0, 1]")
    panels: tuple[Panel, ...] = field(())
    comparisons: tuple[Comparison, ...] = field(())
    claims: tuple[Claim, ...] = field(())
    reference: dict = field({})
    reference_source: str = field("")
    tensorboard: bool = field(True)   # event files per run under <out>/<study>/tensorboard/


def check_report(report, names, path):
    if report.baseline is not None and report.baseline not in names:
        raise ConfigError(path, "report.baseline", f"names no variant; variants: "
                          f"{', '.join(names)}; got {report.baseline!r}")
    for index, panel in enumerate(report.panels):
        if panel.variant not in names:
            raise ConfigError(path, f"report.panels[{index}].variant",
                              f"names no variant; variants: {', '.join(names)}")
    for index, comparison in enumerate(report.comparisons):
        for key in ("variant", "against"):
            if getattr(comparison, key) not in names:
                raise ConfigError(path, f"report.comparisons[{index}].{key}",
                                  f"names no variant; variants: {', '.join(names)}; "
                                  f"got {getattr(comparison, key)!r}")
    for variant, metrics in report.reference.items():
        check_reference(variant, metrics, names, path)




def check_reference(variant, metrics, names, path):
    field_path = f"report.reference.{variant}"
    if variant not in names:
        raise ConfigError(path, field_path, f"names no variant; variants: {', '.join(names)}")
    if not isinstance(metrics, dict):
        raise ConfigError(path, field_path, "must map a metric to {epoch: value}")
    for metric, by_epoch in metrics.items():
        if metric not in CURVE_METRICS:
            raise ConfigError(path, join(field_path, metric), unknown_key_problem(
                metric, CURVE_METRICS))
        valid = isinstance(by_epoch, dict) and all(
            isinstance(epoch, int) and epoch > 0 and isinstance(value, (int, float))
            and not isinstance(value, bool) for epoch, value in by_epoch.items())
        if not valid:
            raise ConfigError(path, f"{field_path}.{metric}",
                              "must map epoch numbers (1, 2, ...) to numbers")


# Fields added after runs were published. While at their default they are left out of a
# run's fingerprint, so that stores written before the field existed keep their fingerprints
# and stay complete. LATER_FIELDS are compared with the default run's (an MLP's) values;
# LATER_FAMILY_FIELDS, added to one family's model section, with that family's defaults.
LATER_FIELDS = {"model": ("family", "dropout_position", "kernel_initializer",
                          "output_kernel_initializer"),
                "train": ("probes", "backend"), "data": ("train_examples",)}
LATER_FAMILY_FIELDS = {"rnn": ("steps", "pixels")}


def fingerprint_view(settings_dict):
    """``settings_to_dict`` output without later-added fields that are at their default."""
    defaults = settings_to_dict(RunSettings())
    view = {section: dict(values) for section, values in settings_dict.items()}
    for section, names in LATER_FIELDS.items():
        for name in names:
            if view[section].get(name) == defaults[section][name]:
                view[section].pop(name, None)
    family = view["model"].get("family", "mlp")
    if family in LATER_FAMILY_FIELDS:
        family_defaults = json_ready(dataclasses.asdict(FAMILIES.get(family).config_class()))
        for name in LATER_FAMILY_FIELDS[family]:
            if view["model"].get(name) == family_defaults[name]:
                view["model"].pop(name, None)
    return view


def settings_to_dict(settings):
    """Plain-JSON form of a dataclass tree (tuples become lists)."""
    return json_ready(dataclasses.asdict(settings))


def json_ready(value):
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value
