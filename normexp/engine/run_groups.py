"""Which runs train together: ``train_runs(specs) -> (spec, RunResult), ...``.

One at a time (``trainer.train_run``), or, with ``vectorize`` (JAX), the consecutive
specs that differ only in their seed as one program (``vectorized.train_seeds``).
The runner's workers and its sequential path both train through here.
"""

import itertools

from normexp.engine.trainer import train_run

MAX_SEEDS_AT_ONCE = 128


def train_runs(specs, data_dir=None, on_epoch=None, vectorize=False):
    """``(spec, RunResult)`` for each spec, in order. With ``vectorize`` (JAX only), each
    stretch of consecutive specs that differ only in their seed trains as one program
    (``vectorized.train_seeds``), at most ``MAX_SEEDS_AT_ONCE`` seeds at a time."""
    if not vectorize:
        for spec in specs:
            yield spec, train_run(spec, data_dir, on_epoch)
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
    of memory (XLA's RESOURCE_EXHAUSTED); one seed that does not fit fails as it would."""
    from normexp.engine import vectorized

    try:
        return vectorized.train_seeds(specs, data_dir, on_epoch)
    except Exception as error:  # jax's XlaRuntimeError; its class moves between versions
        if "RESOURCE_EXHAUSTED" not in str(error) or len(specs) == 1:
            raise
    half = len(specs) // 2
    return (train_together(specs[:half], data_dir, on_epoch)
            + train_together(specs[half:], data_dir, on_epoch))
