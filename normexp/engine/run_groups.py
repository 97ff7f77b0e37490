"""Which runs train together: ``train_runs(specs) -> (spec, RunResult), ...``.

One at a time (``trainer.train_run``), or, with ``vectorize`` (JAX), the consecutive
specs that differ only in their seed as one program (``vectorized.train_seeds``).
The runner's workers and its sequential path both train through here.
"""

import itertools

from normexp.engine.trainer import train_run
from normexp.errors import DeviceMemoryError, one_line_summary, out_of_memory

MAX_SEEDS_AT_ONCE = 128


def train_runs(specs, data_dir=None, on_epoch=None, vectorize=False):
    """``(spec, RunResult)`` for each spec, in order. With ``vectorize`` (JAX only), each
    stretch of consecutive specs that differ only in their seed trains as one program
    (``vectorized.train_seeds``), at most ``MAX_SEEDS_AT_ONCE`` seeds at a time."""
    if not vectorize:
        for spec in specs:
            try:
                result = train_run(spec, data_dir, on_epoch)
            except Exception as error:
                raise_if_out_of_memory(error, spec)
                raise
            yield spec, result
        return
    for chunk in seed_groups(specs):
        yield from zip(chunk, train_together(chunk, data_dir, on_epoch))


def seed_groups(specs):
    """The stretches of consecutive specs that differ only in their seed, each cut into
    lists of at most ``MAX_SEEDS_AT_ONCE``: what one vectorized program trains."""
    for _, group in itertools.groupby(specs, key=lambda spec: spec.settings):
        group = list(group)
        for start in range(0, len(group), MAX_SEEDS_AT_ONCE):
            yield group[start:start + MAX_SEEDS_AT_ONCE]


def train_together(specs, data_dir, on_epoch):
    """``vectorized.train_seeds``, halving the seeds per program while the device runs out
    of memory; a seed that does not fit alone ends the study with one line."""
    from normexp.engine import vectorized

    try:
        return vectorized.train_seeds(specs, data_dir, on_epoch)
    except Exception as error:
        if len(specs) == 1:
            raise_if_out_of_memory(error, specs[0])
        if not out_of_memory(error):
            raise
    half = len(specs) // 2
    return (train_together(specs[:half], data_dir, on_epoch)
            + train_together(specs[half:], data_dir, on_epoch))


def raise_if_out_of_memory(error, spec):
    if out_of_memory(error):
        raise DeviceMemoryError(
            f"{spec.condition} seed {spec.seed} does not fit the device's memory even trained "
            f"alone ({one_line_summary(error, 160)}); the runs stored so far are kept; a "
            "smaller model or batch_size would fit") from None
