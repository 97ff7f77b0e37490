"""Tables from ``condition_data.Condition`` objects: rows of strings, plus CSV rows."""

import math

import numpy as np

from normexp.report import stats
from normexp.metrics import CURVE_METRICS

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


def few_seeds_note(conditions):
    """A sentence when some condition has too few seeds for an interval, else ""."""
    few = [condition.label for condition in conditions
           if 0 < len(condition.seeds) < stats.MIN_INTERVAL_SEEDS]
    if not few:
        return ""
    shown = ", ".join(few[:4]) + (f" and {len(few) - 4} more" if len(few) > 4 else "")
    return (f"Intervals are uninformative below {stats.MIN_INTERVAL_SEEDS} seeds (with 2, a 95% "
            f"t-interval is ±12.7 standard errors): {shown} "
            f"{'has' if len(few) == 1 else 'have'} fewer, so only means are shown "
            f"and differences are not judged. Add seeds, e.g. --seeds 0,1,2,3,4.")


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
        rows.append((condition.label, f"{params.get('trainable', 0) + params.get('non_trainable', 0):,}"
                     if params else "–", seeds_cell(condition), percent(values["accuracy"]),
                     percent(values["val_accuracy"]), plain(values["loss"]),
                     plain(values["val_loss"]), percent(values["best_val_accuracy"]),
                     percent(values["epoch1_val_accuracy"]),
                     epochs_to_target(values["epochs_to_target"]),
                     f"{np.median(values['seconds_per_epoch']):.2f}"
                     if values["seconds_per_epoch"] else "–"))
    return rows


def partner_finder(conditions):
    """``partner(variant, condition)``: the condition of ``variant`` at ``condition``'s sweep
    point, or None."""
    def key(variant, point):
        return variant, tuple(sorted((name, str(value)) for name, value in point.items()))

    by_key = {key(condition.variant, condition.point): condition for condition in conditions}
    return lambda variant, condition: by_key.get(key(variant, condition.point))


DIFFERENCE_COLUMNS = ("condition", "Δ final val acc (pp)", "95% CI (pp)", "verdict",
                      "Δ best val acc (pp)", "95% CI (pp)")


def difference_rows(conditions, baseline):
    """Each condition against the baseline variant at the same sweep point."""
    if baseline is None:
        return []
    partner = partner_finder(conditions)
    rows = []
    for condition in conditions:
        base = partner(baseline, condition)
        if base is None or base is condition:
            continue
        cells = [condition.label]
        for metric in ("val_accuracy", "best_val_accuracy"):
            difference, low, high = stats.difference_interval(
                condition.per_seed[metric], base.per_seed[metric])
            cells += [signed(difference), interval(low, high)]
            if metric == "val_accuracy":
                cells.append(stats.verdict(low, high))
        rows.append(tuple(cells))
    return rows


COMPARISON_COLUMNS = ("comparison", "final metric", "difference", "95% CI", "verdict")
COMPARED_METRICS = (("accuracy", "train acc (pp)", 100), ("val_accuracy", "val acc (pp)", 100),
                    ("loss", "train loss", 1), ("val_loss", "val loss", 1))


def comparison_rows(conditions, comparisons):
    """``variant − against`` at each sweep point, on every final metric, Welch 95% CI."""
    partner = partner_finder(conditions)
    rows = []
    for comparison in comparisons:
        for condition in conditions:
            if condition.variant != comparison["variant"]:
                continue
            other = partner(comparison["against"], condition)
            if other is None:
                continue
            label = f"{condition.label} − {other.label}"
            for metric, title, factor in COMPARED_METRICS:
                difference, low, high = stats.difference_interval(
                    condition.per_seed[metric], other.per_seed[metric])
                rows.append((label, title, scaled(difference, factor),
                             "–" if math.isnan(low) else
                             f"[{scaled(low, factor)}, {scaled(high, factor)}]",
                             stats.verdict(low, high)))
    return rows


def scaled(value, factor):
    if math.isnan(value):
        return "–"
    text = f"{factor * value:+.2f}" if factor != 1 else f"{value:+.4f}"
    return text.replace("-", "+") if float(text) == 0 else text  # no "-0.00"


def signed(value):
    return "–" if math.isnan(value) else f"{100 * value:+.2f}"


def span(low, high):
    return f"{100 * low:.2f}–{100 * high:.2f}"


def interval(low, high):
    return "–" if math.isnan(low) else f"[{100 * low:+.2f}, {100 * high:+.2f}]"


REFERENCE_COLUMNS = ("variant", "metric", "epoch", "reference", "ours: mean ± 95% CI",
                     "ours: seed min–max", "ours: 95% range of one run",
                     "reference consistent with one run of ours?")


def reference_rows(conditions, reference):
    """One row per reference number, in the study's variant order."""
    rows = []
    for condition in conditions:
        metrics = reference.get(condition.name, {})
        for metric in sorted(metrics, key=CURVE_METRICS.index):
            for epoch, value in sorted(metrics[metric].items(), key=lambda item: int(item[0])):
                rows.append(reference_row(condition, metric, int(epoch), value))
    return rows


def reference_row(condition, metric, epoch, value):
    curve = condition.curves.get(metric)
    cells = (condition.label, metric, str(epoch), f"{100 * value:.2f}")
    if curve is None or curve.shape[1] < epoch:
        return cells + ("–", "–", "–", "no run")
    ours = curve[:, epoch - 1]
    low, high = stats.prediction_interval(ours)
    if math.isnan(low):
        verdict = "too few seeds to tell"
    else:
        verdict = "yes" if low <= value <= high else (
            "no, higher than ours" if value > high else "no, lower than ours")
    return cells + (percent(ours), span(ours.min(), ours.max()), span(low, high), verdict)


def markdown(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    # A "|" inside a cell (e.g. "max |Δ output|") would end the cell: escape it.
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def console(columns, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows)]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths))
                     for row in (columns, *rows))
