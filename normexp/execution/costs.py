"""The scheduler's cost model: ``scheduled_chunks(runs, jobs)`` splits a study's runs into
chunks of about equal estimated seconds for the runner's workers.

The estimates only balance the workers; no result depends on them.
"""

from normexp.config import model_size

# Seconds per training step, per example (trained or validated) and per compiled program,
# fast engine, one thread per worker: measured by benchmarks/bench_cost_model.py. ``fit`` is
# how many times slower plain model.fit trains an epoch (benchmarks/bench_families.py).
FAMILY_COSTS = {
    "mlp": {"step": 99e-6, "example": 6.0e-6, "compile": 1.6, "fit": 13.8},
    "cnn": {"step": 432e-6, "example": 107e-6, "compile": 4.9, "fit": 3.8},
    "rnn": {"step": 461e-6, "example": 73e-6, "compile": 7.9, "fit": 2.3},
    "transformer": {"step": 1801e-6, "example": 118.6e-6, "compile": 7.2, "fit": 1.6},
}
# Weights of the measured models (bench_cost_model.py). For the dense families a step's work
# grows with the weights, so a bigger MLP or transformer costs proportionally more.
MEASURED_WEIGHTS = {"mlp": 110154, "transformer": 54602}
MEASURED_STEPS = 28     # the measured RNN reads the image as 28 rows


def estimated_cost(spec):
    """Estimated seconds to train ``spec`` once its program is compiled."""
    from normexp.config import datasets

    data, train = spec.settings.data, spec.settings.train
    costs = FAMILY_COSTS[spec.settings.model.family]
    examples = spec.settings.training_examples()
    validated = datasets.validation_size(data.dataset, data.validation)
    steps = -(-examples // train.batch_size)
    epoch = steps * costs["step"] + (examples + validated) * costs["example"]
    return (train.epochs * epoch * (costs["fit"] if train.engine == "fit" else 1.0)
            * size_factor(spec.settings.model))


def size_factor(model_config):
    """How many times the measured model's weights this dense model has (at least 1); for
    the RNN, how many times the measured 28 steps its sequence has (a step is sequential)."""
    if model_config.family == "rnn":
        return model_config.steps / MEASURED_STEPS
    measured = MEASURED_WEIGHTS.get(model_config.family)
    if measured is None:
        return 1.0
    return max(1.0, model_size.parameter_count(model_config) / measured)


def run_costs(runs):
    """Each run's estimated cost, the first run of each condition also paying the compile
    (the others reuse its program when they land in the same worker)."""
    seen, costs = set(), []
    for spec in runs:
        first = spec.condition not in seen
        seen.add(spec.condition)
        compile_seconds = FAMILY_COSTS[spec.settings.model.family]["compile"]
        costs.append(estimated_cost(spec) + (compile_seconds if first else 0.0))
    return costs


def scheduled_chunks(runs, jobs):
    """Split ``runs`` into ``2 * jobs`` chunks of about equal estimated cost, costliest first.

    Each chunk is a contiguous stretch of the study's runs (condition-major), so the seeds
    of a condition mostly land in one worker and share its compiled program: at most
    ``2 * jobs - 1`` conditions are cut (the wrap-around rule). Two chunks per worker let
    the pool correct a wrong cost estimate: the worker that finishes first pulls the next.
    """
    costs = run_costs(runs)
    target = sum(costs) / (2 * jobs)
    chunks, current, filled = [], [], 0.0
    for spec, cost in zip(runs, costs):
        current.append((spec, cost))
        filled += cost
        if filled >= target * (len(chunks) + 1) and len(chunks) < 2 * jobs - 1:
            chunks.append(current)
            current = []
    chunks = sorted((chunk for chunk in chunks + [current] if chunk),
                    key=lambda chunk: -sum(cost for _, cost in chunk))
    return [[spec for spec, _ in chunk] for chunk in chunks]
