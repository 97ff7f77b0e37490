"""Command line: ``normexp run CONFIG``, ``normexp claims FOLDER...``, ``normexp schema``.

``python run.py --config CONFIG [options]`` is the same as ``normexp run CONFIG [options]``
(and ``python run.py --schema`` as ``normexp schema``). Exit codes: 0 done; 2 bad input
or unusable data/results folder (one line, no traceback unless ``--debug``); 130
interrupted (finished runs are kept); 1 an unexpected failure.
"""

import contextlib
import json
import os
import shlex
import signal
import sys
import traceback
from pathlib import Path

from normexp import backends
from normexp.arguments import USAGE, parser

backends.selected()  # before anything imports Keras: it reads KERAS_BACKEND once

from normexp.config.study import load_study, select_runs, study_record  # noqa: E402
from normexp.data import datasets  # noqa: E402
from normexp.errors import BackendError, DataError, NormexpError, StudyBusyError  # noqa: E402
from normexp.execution import interrupts, ray_cluster, runner  # noqa: E402
from normexp.report import claims_page, seed_planner, study_report  # noqa: E402
from normexp.store import misclassified_images, run_store, tensorboard_log  # noqa: E402

def main(argv=None):
    """``normexp COMMAND ...`` or the classic ``run.py --config CONFIG ...``; the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") and Path(sys.argv[0]).name != "run.py":
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "run":
        rest = argv[1:]
        return run_command(["--config", *rest] if rest and not rest[0].startswith("-") else rest,
                           "normexp run")
    if argv[0] == "claims":
        return claims_page.main(argv[1:])
    if argv[0] == "schema":
        return print_schema()
    return run_command(argv, "python run.py")


def print_schema():
    from normexp.config.json_schema import config_schema

    print(json.dumps(config_schema(), indent=2))
    return 0


def run_command(argv, program):
    parse = parser()
    args = parse.parse_args(argv)
    if args.schema:
        return print_schema()
    if not args.config:
        parse.error("the following arguments are required: --config")
    interrupts.install()
    try:
        return run(args)
    except runner.Interrupted as stop:
        print(f"\nInterrupted: {stop.finished} runs finished and stored in this session, "
              f"{stop.remaining} left. Resume with:\n  {program} {shlex.join(argv)}",
              file=sys.stderr)
        return 130
    except ReportInterrupted:
        again = argv if "--report-only" in argv else [*argv, "--report-only"]
        print("\nInterrupted while writing the report; every finished run is stored. Write "
              f"the report with:\n  {program} {shlex.join(again)}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nInterrupted before training started; nothing was lost.", file=sys.stderr)
        return 130
    except NormexpError as error:
        if args.debug:
            traceback.print_exc()
        print(f"normexp: error: {one_line(str(error))}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        return reader_went_away()


def one_line(text):
    """Control characters from the input (a key with a newline in it) are shown escaped,
    so an error is always exactly one line."""
    return "".join(character if character.isprintable() else
                   character.encode("unicode_escape").decode("ascii") for character in text)


def reader_went_away():
    """The output was piped into a program that stopped reading (``| head``). Finished
    runs are already stored; point both streams at /dev/null so that Python's final
    flush does not print a traceback, and exit as a SIGPIPE'd program would."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    return 128 + signal.SIGPIPE


def run(args):
    overrides = {key: value for key, value in (("seeds", args.seeds), ("epochs", args.epochs))
                 if value is not None}
    study = load_study(args.config, overrides)
    runs = select_runs(study, args.only)
    if args.report_only:
        refresh_study_record(study, args.out)
        print(write_report(args.out, study.name))
        return 0
    if args.plan_seeds:
        print(seed_planner.plan_text(args.out, study_record(study)))
        return 0
    problem = backends.problem() or (args.vectorize and backends.vectorize_problem())
    if problem:   # which runs are done depends on the backend too, so before --dry-run
        raise BackendError(problem)
    if args.dry_run:
        print(dry_run_listing(study, runner.plan(study, runs, args.out, args.force), args.out))
        return 0
    ray_cluster.check_executor(args.executor, args.address)
    run_store.prepare(args.out, study.name)
    if study.report.tensorboard:
        tensorboard_log.prepare(args.out, study.name)
    with run_store.lock_study(args.out, study.name):
        run_store.write_study(args.out, study_record(study))
        train(study, runs, args)
    summary = write_report(args.out, study.name)
    if not args.quiet:
        print(summary)
    return 0


class ReportInterrupted(Exception):
    """Ctrl-C while the report was written: unlike before training, runs may be new."""


def write_report(out, name):
    try:
        return study_report.build_report(out, name)
    except KeyboardInterrupt:
        raise ReportInterrupted from None


def refresh_study_record(study, out):
    """``--report-only`` shows the config's claims and report settings as edited since the
    runs trained; while another process trains the study, that process's record stands."""
    if (Path(out) / study.name / "study.json").exists():
        with contextlib.suppress(StudyBusyError), run_store.lock_study(out, study.name):
            run_store.write_study(out, study_record(study))


def train(study, runs, args):
    plan = runner.plan(study, runs, args.out, args.force)
    for note in plan.notes:
        print(note, file=sys.stderr)
    images = images_writer(study, plan, args)
    events = tensorboard_log.writer_for(args.out) if study.report.tensorboard else None
    if events:
        tensorboard_log.backfill(args.out, plan.done)
    on_stored = chained(images, events)
    if not plan.todo:
        done = "All" if len(plan.done) == len(runs) else f"{len(plan.done)} of the"
        say(args, f"{done} {len(runs)} runs of {study.name} are already in {args.out}; "
                  "nothing to train (use --force to retrain).")
        return
    for data in {run.settings.data for run in plan.todo}:
        datasets.load(data.dataset, data.validation, args.data_dir or data.dir)  # fail now
    runner.dry_check(study, plan.todo)
    from normexp.engine import backend  # loaded by dry_check; the backend stays lazy

    jobs = runner.choose_jobs(args.jobs or study.jobs, len(plan.todo))
    if args.executor == "ray":
        return train_on_ray(study, plan, args, jobs, on_stored)
    device = backend.current().device_name()
    vectorize = args.vectorize or (backends.selected() == "jax" and device.startswith("GPU"))
    say(args, f"Training {len(plan.todo)} runs of {study.name} ({len(plan.done)} already done) "
              f"on {device} with {jobs} worker{'s' if jobs > 1 else ''}"
              f"{', the seeds of each condition in one program' if vectorize else ''}.")
    runner.execute(plan, args.out, jobs, args.data_dir, args.quiet, on_stored, vectorize)


def images_writer(study, plan, args):
    """The ``on_stored`` callback that keeps ``misclassified_images.npz`` (the report's
    images of misclassified examples), once it has added what stored runs got wrong and
    the file lacks. The validation images come from the datasets this process loads anyway
    (cached), so the store never imports the data package."""
    def validation_set(spec):
        data = spec.settings.data
        splits = datasets.load(data.dataset, data.validation, args.data_dir or data.dir)
        return splits.x_val, splits.y_val

    writer = misclassified_images.Writer(args.out, study.name, validation_set)
    try:
        writer.backfill(study.runs)  # every stored run counts, not only this session's
    except DataError as error:
        if plan.todo:
            raise  # training needs this data too: fail now, as before
        print(f"warning: the report's images of stored runs' errors are incomplete: "
              f"{one_line(str(error))}", file=sys.stderr)
    return writer


def chained(*callbacks):
    """One ``on_stored(spec, result)`` calling each given callback in turn."""
    present = [callback for callback in callbacks if callback is not None]

    def on_stored(spec, result):
        for callback in present:
            callback(spec, result)
    return on_stored


def train_on_ray(study, plan, args, jobs, on_stored):
    with ray_cluster.connected(args.address, jobs) as ray:
        where = f"the Ray cluster at {args.address}" if args.address else "a local Ray runtime"
        gpus = ray_cluster.cluster_gpus(ray)
        vectorize = args.vectorize or (backends.selected() == "jax" and gpus > 0)
        together = "; the seeds of each condition are one task" if vectorize else ""
        say(args, f"Training {len(plan.todo)} runs of {study.name} ({len(plan.done)} already "
                  f"done) as Ray tasks on {where} ({ray_cluster.cluster_cpus(ray)} CPUs, "
                  f"{gpus} GPUs){together}.")
        ray_cluster.execute(plan, args.out, ray, args.data_dir, args.quiet, on_stored, vectorize)


def say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr)


def dry_run_listing(study, plan, out):
    done = {(spec.condition, spec.seed) for spec in plan.done}
    lines = [f"{study.name}: {len(plan.todo)} to train, {len(plan.done)} done (store: {out})"]
    for spec in plan.done + plan.todo:
        state = "done" if (spec.condition, spec.seed) in done else "to train"
        lines.append(f"  {spec.condition:<40} seed {spec.seed:<4} {state}")
    return "\n".join(lines + plan.notes)


if __name__ == "__main__":
    sys.exit(main())
