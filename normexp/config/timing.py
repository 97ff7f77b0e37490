"""The timing benchmark's config (``configs/claims/timing.yaml``), checked at load.

A timing claim compares two arms of the interleaved benchmark (``ARMS``) on a timing
metric (``metrics.TIMING_METRICS``) as the ratio of their times, repeat by repeat:
"higher" means ``arm`` takes longer than ``against``; "equal" needs ``margin``, a fraction
(0.05: each time within a factor of 1.05 of the other). Seeds are no timing replicates, so
these claims live here, not in a study: the benchmark (``normexp.execution.norm_cost``)
stores its repeats and the claims in one JSON, which the claims page judges
(``normexp.report.timing_claims``). Like a study config, any problem is one
``ConfigError`` line naming the file and field (exit 2), before anything is timed.
"""

import dataclasses

from normexp.config import files, schema
from normexp.config.schema import field, one_of, positive
from normexp.errors import ConfigError
from normexp.metrics import TIMING_METRICS
from normexp.registry import unknown_name_message

# The arms, each timed in every repeat; "bn_folded" is the BN model with each BatchNorm
# folded into the adjacent Dense layer, so it is only ever run for inference.
ARMS = {
    "no_norm": "no norm",
    "bn": "BatchNorm",
    "ln": "LayerNorm",
    "bn_folded": "BatchNorm folded into the adjacent Dense layer (inference only)",
}
TRAINED_ARMS = ("no_norm", "bn", "ln")
MIN_REPEATS = 30   # issue 16: timing claims rest on at least 30 interleaved repeats


@dataclasses.dataclass(frozen=True)
class TimingBenchmark:
    """What one repeat times per arm: ``train_steps`` Adam steps of ``batch_size`` in one
    compiled program, and ``inference_passes`` inference passes over one batch of
    ``inference_examples`` images (several passes, so that each timing is long enough for
    the clock and short stalls to matter little)."""

    repeats: int = field(30, lambda value: None if value >= MIN_REPEATS else
                         f"must be >= {MIN_REPEATS} (issue 16: interleaved repeats, not seeds)")
    train_steps: int = field(300, positive)
    batch_size: int = field(32, positive)
    inference_examples: int = field(10000, positive)
    inference_passes: int = field(5, positive)
    hidden: tuple[int, ...] = field((128, 64), lambda values: None if values and all(
        value > 0 for value in values) else "must be a non-empty list of integers > 0")
    placement: str = field("after", one_of("after", "before"))
    learning_rate: float = field(0.001, positive)
    threads: int = field(1, positive)
    seed: int = field(0, lambda value: None if value >= 0 else "must be >= 0")


@dataclasses.dataclass(frozen=True)
class TimingClaim:
    """``metric`` of ``arm`` against ``against``, as the per-repeat ratio of their times."""

    id: str = field("")
    claim: str = field("")
    arm: str = field("")
    against: str = field("")
    metric: str = field("train_seconds")
    direction: str = field("higher", one_of("higher", "lower", "equal"))
    margin: float | None = field(None, positive)
    exploratory: bool = field(False)


@dataclasses.dataclass(frozen=True)
class TimingConfig:
    name: str = field("timing")
    description: str = field("")
    benchmark: TimingBenchmark = field(TimingBenchmark())
    claims: tuple[TimingClaim, ...] = field(())


def load_timing(config):
    """A ``TimingConfig`` from a YAML path (or a bare name under configs/), checked."""
    path = files.resolve_path(config)
    timing = schema.build(TimingConfig, files.read_yaml(path), files.display_path(path), "")
    check_claims(timing.claims, files.display_path(path))
    return timing


def check_claims(claims, path):
    """Refuse a claim naming an unknown arm or metric, timing training of the folded arm,
    comparing an arm with itself, or with a margin that does not fit its direction."""
    seen = set()
    for index, claim in enumerate(claims):
        field_path = f"claims[{index}]"
        if not claim.id or claim.id in seen:
            raise ConfigError(path, f"{field_path}.id", f"every claim needs a distinct id, got "
                              f"{claim.id!r}")
        seen.add(claim.id)
        for key in ("arm", "against"):
            if getattr(claim, key) not in ARMS:
                raise ConfigError(path, f"{field_path}.{key}", unknown_name_message(
                    "arm", getattr(claim, key), list(ARMS)))
        if claim.metric not in TIMING_METRICS:
            raise ConfigError(path, f"{field_path}.metric", unknown_name_message(
                "timing metric", claim.metric, list(TIMING_METRICS)))
        check_pairing(claim, path, field_path)


def check_pairing(claim, path, field_path):
    if claim.arm == claim.against:
        raise ConfigError(path, f"{field_path}.against", f"compares {claim.arm!r} with "
                          "itself; name another arm")
    untrained = [name for name in (claim.arm, claim.against) if name not in TRAINED_ARMS]
    if claim.metric == "train_seconds" and untrained:
        raise ConfigError(path, f"{field_path}.metric", f"{untrained[0]!r} is only run for "
                          "inference (folding needs a trained BN model); compare "
                          "inference_seconds_per_example")
    if claim.direction == "equal" and claim.margin is None:
        raise ConfigError(path, f"{field_path}.margin", "an 'equal' claim needs a margin (a "
                          "fraction: 0.05 means within a factor of 1.05)")
    if claim.direction != "equal" and claim.margin is not None:
        raise ConfigError(path, f"{field_path}.margin", f"only an 'equal' claim has a margin; "
                          f"this one is {claim.direction!r}")
