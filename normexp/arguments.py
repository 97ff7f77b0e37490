"""The options of ``python run.py`` / ``normexp run``, and the top-level usage text.

Parsing only: what each option does is in ``normexp/cli.py``.
"""

import argparse

EPILOG = """examples:
  python run.py --config bn_vs_ln.yaml            train what is missing, then report
  python run.py --config quick --dry-run          list runs and which are done
  python run.py --config bn_vs_ln --report-only   rebuild the report from the store
  python run.py --config claims/init_scale --plan-seeds
                                                  seeds each claim needs, from the store
  normexp run bn_vs_ln                            the same as python run.py --config bn_vs_ln
  normexp claims experiments                      judge every claim stored under experiments/"""
USAGE = """usage: normexp run CONFIG [options]      train every variant over seeds, then report
       normexp claims FOLDER... [--page FILE] [--readme FILE]...
                                         judge every stored claim into one page
       normexp schema                    print the config language as a JSON Schema
run 'normexp run --help' for the options
('python run.py --config CONFIG' is the same as 'normexp run CONFIG')"""


def parser():
    parse = argparse.ArgumentParser(
        prog="run.py", description="Train normalization variants over seeds and report.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("--config", help="a YAML file, or a bare name resolved under configs/ "
                       "(required unless --schema)")
    parse.add_argument("--schema", action="store_true",
                       help="print the config's JSON Schema (for editors) and exit")
    parse.add_argument("--out", default="results", help="results folder (default: results)")
    parse.add_argument("--seeds", type=seed_list, help="override the seeds, e.g. 0,1,2 or 0-99")
    parse.add_argument("--epochs", type=positive_int, help="override the epochs of every run")
    parse.add_argument("--only", action="append", default=[], metavar="NAME",
                       help="train only this variant (repeatable)")
    parse.add_argument("--jobs", type=positive_int,
                       help="parallel training processes (default: one per core, 1 on a GPU)")
    parse.add_argument("--data-dir", help="folder with mnist.npz or the IDX .gz files "
                       "(default: data.dir, then $NORMEXP_DATA_DIR, then Keras)")
    parse.add_argument("--executor", "--backend", dest="executor", default="local",
                       help="where runs execute: local (default: worker processes here) or ray "
                       "(one Ray task per run); --backend is an older name for it")
    parse.add_argument("--address", help="with --executor ray: HOST:PORT of a running Ray head "
                       "node (default: start a Ray runtime on this machine)")
    parse.add_argument("--vectorize", action="store_true", help="train all seeds of a "
                       "condition in one program (KERAS_BACKEND=jax; the default on a GPU)")
    parse.add_argument("--dry-run", action="store_true", help="list the runs; train nothing")
    parse.add_argument("--force", action="store_true", help="retrain runs already stored")
    parse.add_argument("--report-only", action="store_true",
                       help="rebuild the report from the store without training")
    parse.add_argument("--plan-seeds", action="store_true", help="print the seeds each claim "
                       "needs for 80%% power, from the stored runs as a pilot; train nothing")
    parse.add_argument("--quiet", action="store_true", help="no progress output")
    parse.add_argument("--debug", action="store_true", help="show tracebacks")
    return parse


def seed_list(text):
    """``0,1,2`` or ranges, ``0-99`` (both ends included), or both: ``0-4,10``."""
    try:
        seeds = [seed for part in text.split(",") if part.strip()
                 for seed in seed_range(part.strip())]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers or ranges "
                                         f"(0-99), got {text!r}")
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"must be distinct integers >= 0, got {text!r}")
    return seeds


def seed_range(part):
    first, dash, last = part.partition("-")
    if not dash:
        return [int(part)]
    if int(last) < int(first):
        raise ValueError(part)
    return range(int(first), int(last) + 1)


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be an integer > 0, got {text!r}")
    return value
