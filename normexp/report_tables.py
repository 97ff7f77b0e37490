"""Tables from ``report_data.Condition`` objects: rows of strings, plus CSV rows."""

import math

import numpy as np

from normexp import stats

SUMMARY_COLUMNS = ("condition", "params", "seeds", "train acc", "val acc", "train loss",
                   "val loss", "best val acc", "epoch-1 val acc", "epochs to target",
                   "s/epoch")


def percent(values):
    mean, half = stats.mean_interval(values)
    if math.isnan(mean):
        return "–"
    return f"{100 * mean:.2f} ± {100 * half:.2f}" if not math.isnan(half) else f"{100 * mean:.2f}"


def plain(values, digits=4):
    mean, half = stats.mean_interval(values)
    if math.isnan(mean):
        return "–"
    return f"{mean:.{digits}f} ± {half:.{digits}f}" if not math.isnan(half) else f"{mean:.{digits}f}"


def epochs_to_target(values):
    reached = [value for value in values if not math.isnan(value)]
    if not values:
        return "–"
    if not reached:
        return f"not reached (0/{len(values)})"
    text = f"{np.median(reached):g}"
    return text if len(reached) == len(values) else f"{text} ({len(reached)}/{len(values)} reached)"


def seeds_cell(condition):
    total = len(condition.seeds) + len(condition.diverged)
    if not condition.diverged:
        return str(total)
    epochs = ", ".join(f"seed {seed} at epoch {epoch}" for seed, epoch in condition.diverged)
    return f"{len(condition.seeds)}/{total} ({len(condition.diverged)} diverged: {epochs})"


def summary_rows(conditions):
    rows = []
    for condition in conditions:
        values = condition.per_seed
        params = condition.parameters or {}
        rows.append((condition.name, f"{params.get('trainable', 0) + params.get('non_trainable', 0):,}"
                     if params else "–", seeds_cell(condition), percent(values["accuracy"]),
                     percent(values["val_accuracy"]), plain(values["loss"]),
                     plain(values["val_loss"]), percent(values["best_val_accuracy"]),
                     percent(values["epoch1_val_accuracy"]),
                     epochs_to_target(values["epochs_to_target"]),
                     f"{np.median(values['seconds_per_epoch']):.2f}"
                     if values["seconds_per_epoch"] else "–"))
    return rows


DIFFERENCE_COLUMNS = ("condition", "Δ final val acc (pp)", "95% CI (pp)", "verdict",
                      "Δ best val acc (pp)", "95% CI (pp)")


def difference_rows(conditions, baseline):
    base = next((c for c in conditions if c.name == baseline), None)
    if base is None:
        return []
    rows = []
    for condition in conditions:
        if condition is base:
            continue
        cells = [condition.name]
        for metric in ("val_accuracy", "best_val_accuracy"):
            difference, low, high = stats.difference_interval(
                condition.per_seed[metric], base.per_seed[metric])
            cells += [signed(difference), interval(low, high)]
            if metric == "val_accuracy":
                cells.append(stats.verdict(low, high))
        rows.append(tuple(cells))
    return rows


def signed(value):
    return "–" if math.isnan(value) else f"{100 * value:+.2f}"


def interval(low, high):
    return "–" if math.isnan(low) else f"[{100 * low:+.2f}, {100 * high:+.2f}]"


REFERENCE_COLUMNS = ("variant", "metric", "epoch", "reference", "ours: mean ± 95% CI",
                     "ours: seed range", "reference inside seed range?")


def reference_rows(conditions, reference):
    by_name = {condition.name: condition for condition in conditions}
    rows = []
    for variant, metrics in reference.items():
        condition = by_name.get(variant)
        for metric, by_epoch in metrics.items():
            for epoch, value in sorted(by_epoch.items(), key=lambda item: int(item[0])):
                rows.append(reference_row(variant, metric, int(epoch), value, condition))
    return rows


def reference_row(variant, metric, epoch, value, condition):
    curve = condition.curves.get(metric) if condition else None
    if curve is None or curve.shape[1] < epoch:
        return (variant, metric, str(epoch), f"{100 * value:.2f}", "–", "–", "no run")
    ours = curve[:, epoch - 1]
    low, high = ours.min(), ours.max()
    inside = "yes" if low <= value <= high else ("above" if value > high else "below")
    return (variant, metric, str(epoch), f"{100 * value:.2f}", percent(ours),
            f"{100 * low:.2f}–{100 * high:.2f}", inside)


def markdown(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def console(columns, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows)]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths))
                     for row in (columns, *rows))
