#!/usr/bin/env python3
"""BatchNorm's cost (claims 5a–5c): BN, LN, no norm and folded BN, timed interleaved.

    python benchmarks/bench_norm_cost.py --config configs/claims/timing.yaml \
        --out experiments/claims [--other-work "none"]

Times every arm once per repeat, in a shuffled order (``normexp.execution.norm_cost``),
stores the raw per-repeat times with the machine's description as
``<out>/<name>/timing.json`` and prints each claim's ratio with its 95% interval (a
preview; the claims page judges them in its Holm family). Run it on idle cores: it times.
Exit codes: 0 done, 2 bad config or unwritable folder (one line).
"""

import argparse
import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs/claims/timing.yaml"))
    parser.add_argument("--out", default=str(ROOT / "experiments/claims"))
    parser.add_argument("--other-work", default="none known",
                        help="what else ran on the machine meanwhile (stored with the times)")
    return parser.parse_args(argv)


def preview(path):
    """Each claim's geometric-mean ratio and 95% interval, from the stored record."""
    from normexp.report import timing_claims

    record = timing_claims.read_record(path)
    for entry in timing_claims.judge_record(record, path.parent):
        low, high = entry.test.interval(0.05)
        print(f"{entry.claim['id']}: {entry.claim['arm']}/{entry.claim['against']} "
              f"{entry.claim['metric']} {timing_claims.ratio(entry.test.estimate)} "
              f"[{timing_claims.ratio(low)}, {timing_claims.ratio(high)}] (95%), "
              f"n={entry.test.sizes[0]}")


def main(argv=None):
    raw = sys.argv[1:] if argv is None else list(argv)
    args = parse(raw)
    from normexp.config.timing import load_timing
    from normexp.errors import NormexpError

    try:
        timing = load_timing(args.config)
        from normexp.engine import backend

        backend.current().configure_threads(timing.benchmark.threads)  # before any op runs
        from normexp.execution import norm_cost

        def progress(done, repeat):
            print(f"repeat {done}/{timing.benchmark.repeats}: order {' '.join(repeat['order'])}",
                  file=sys.stderr, flush=True)

        command = "python " + shlex.join([os.path.relpath(__file__, ROOT), *raw])
        path = norm_cost.run(timing, args.out, args.other_work, command, progress)
        print(f"stored {path}")
        preview(path)
    except NormexpError as error:
        print(f"bench_norm_cost: error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
