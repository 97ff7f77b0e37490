#!/usr/bin/env python3
"""The vectorized engine's setup: N seeds' initial weights from N built models (the
baseline) against one built model whose initializers are replayed per seed
(``engine/initial_states.py``), in one process, interleaved.

    KERAS_BACKEND=jax python benchmarks/bench_initial_states.py --seeds 32   # about 1 minute

For each model of bench_families.py: the baseline builds ``--seeds`` models and optimizers
(``trainer.build_for_run`` + ``optimizer.build``, as the engine did before); the replay builds
one and calls ``InitialStates.values`` per seed. The median of ``--repeats`` rounds of each,
alternating; the ratio is baseline over replay (above 1: the replay is faster).
"""

import argparse
import statistics
import time

from bench_families import MODELS  # importing it puts the repository on sys.path


def specs_for(model, seeds):
    from normexp.config.study import RunSpec, validate_settings

    settings = validate_settings({"model": model}, "benchmark", "")
    return [RunSpec("bench", "bench", (), seed, settings) for seed in range(seeds)]


def built(specs):
    from normexp.engine import trainer

    started = time.perf_counter()
    for spec in specs:
        model, optimizer = trainer.build_for_run(spec, 60000)
        optimizer.build(model.trainable_variables)
    return time.perf_counter() - started


def replayed(specs):
    from normexp.engine.initial_states import InitialStates

    started = time.perf_counter()
    template = InitialStates(specs[0], 60000)
    assert template.replayable
    for spec in specs:
        template.values(spec.seed)
    return time.perf_counter() - started


def main():
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--seeds", type=int, default=32)
    parse.add_argument("--repeats", type=int, default=3)
    args = parse.parse_args()
    print(f"| model | build {args.seeds} models, s | one model + {args.seeds} replays, s "
          "| build / replay |\n|---|---|---|---|")
    for name, model in MODELS.items():
        specs = specs_for(model, args.seeds)
        replayed(specs[:2])   # first calls compile the initializers' random kernels
        times = {"built": [], "replayed": []}
        for _ in range(args.repeats):
            times["built"].append(built(specs))
            times["replayed"].append(replayed(specs))
        build, replay = (statistics.median(times[key]) for key in ("built", "replayed"))
        print(f"| {name} | {build:.2f} | {replay:.2f} | **{build / replay:.1f}** |", flush=True)


if __name__ == "__main__":
    main()
