"""Sweeps in the report: readable condition labels and the final-metric-vs-swept-value figure.

A condition is a variant at one sweep point. Folder names stay ``bn__train.batch_size=2``
(the store layout); people read ``bn · batch 2``. The sweep figure puts the swept value
on the x-axis, one line per variant (its colour everywhere; a line style per value of the
other sweep keys), the mean over seeds with a 95% t-interval as error bars, and, when any
seed diverged, the fraction of seeds that diverged at each point.
"""

import math

from normexp.naming import condition_label, point_value, short_key, sweep_figure_name
from normexp.report import stats
from normexp.report.plots import legend_below, plt

# Keys whose values span orders of magnitude: a log axis shows them evenly.
LOG_KEYS = ("train.batch_size", "train.optimizer.learning_rate", "model.kernel_initializer.stddev")
SWEEP_METRICS = (("val_accuracy", "Final validation accuracy"),
                 ("accuracy", "Final training accuracy"))


def sweep_keys(conditions):
    keys = {}
    for condition in conditions:
        keys.update(dict.fromkeys(condition.point))
    return list(keys)


def is_numeric(values):
    return all(isinstance(value, (int, float)) and not isinstance(value, bool)
               for value in values)


def sweep_figure(conditions, colors, key):
    """Final metrics against the swept ``key``, one line per variant and other sweep point,
    plus the fraction of seeds that diverged when any did."""
    diverged = any(condition.diverged for condition in conditions)
    panels = len(SWEEP_METRICS) + diverged
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.6), squeeze=False)
    axes = axes[0]
    for ax, (metric, title) in zip(axes, SWEEP_METRICS):
        plot_sweep_metric(conditions, colors, key, metric, ax=ax)
        ax.set_title(title)
    if diverged:
        plot_diverged_fraction(conditions, colors, key, ax=axes[-1])
    figure.suptitle(f"Against {key}: mean over non-diverged seeds; error bars: 95% CI of "
                    f"the mean (t-interval){'' if diverged else '; no seed diverged'}",
                    fontsize=10)
    legend_below(figure, *axes[0].get_legend_handles_labels(), width=5 * panels,
                 panels_height=4.6, top_inches=0.3, max_columns=6)
    return figure


LINE_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))


def line_styles(conditions, key):
    """``{rest of point: (line style, marker)}``: a variant's lines at different other sweep
    values share its colour and differ in style."""
    rests = dict.fromkeys(rest for _, rest in lines(conditions, key))
    return {rest: LINE_STYLES[index % len(LINE_STYLES)] for index, rest in enumerate(rests)}


def lines(conditions, key):
    """``{(variant, rest of point): [(x, condition), ...]}`` sorted by x."""
    grouped = {}
    for condition in conditions:
        if key not in condition.point:
            continue
        rest = tuple((name, point_value(value)) for name, value in condition.point.items()
                     if name != key)
        grouped.setdefault((condition.variant, rest), []).append((condition.point[key], condition))
    return {group: sorted(members, key=lambda item: sort_value(item[0]))
            for group, members in grouped.items()}


def sort_value(value):
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def line_label(variant, rest):
    return condition_label(variant, dict(rest))


def plot_sweep_metric(conditions, colors, key, metric, ax=None):
    ax = ax or plt.gca()
    styles = line_styles(conditions, key)
    for (variant, rest), members in lines(conditions, key).items():
        xs, means, halves = [], [], []
        for value, condition in members:
            mean, half = stats.mean_interval(condition.per_seed.get(metric) or [])
            if not math.isnan(mean):
                xs.append(value)
                means.append(mean)
                halves.append(0.0 if math.isnan(half) else half)
        if xs:
            line, marker = styles[rest]
            ax.errorbar(positions(xs, conditions, key), means, yerr=halves, color=colors[variant],
                        linestyle=line, marker=marker, capsize=3, label=line_label(variant, rest))
    style_axis(ax, conditions, key)
    ax.set_ylabel("Accuracy")
    return ax


def plot_diverged_fraction(conditions, colors, key, ax=None):
    ax = ax or plt.gca()
    styles = line_styles(conditions, key)
    for (variant, rest), members in lines(conditions, key).items():
        xs = [value for value, _ in members]
        fractions = [diverged_fraction(condition) for _, condition in members]
        line, marker = styles[rest]
        ax.plot(positions(xs, conditions, key), fractions, color=colors[variant],
                linestyle=line, marker=marker, label=line_label(variant, rest))
    style_axis(ax, conditions, key)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Fraction of seeds diverged (NaN/inf loss)")
    ax.set_ylabel("Diverged fraction")
    return ax


def diverged_fraction(condition):
    total = len(condition.seeds) + len(condition.diverged)
    return len(condition.diverged) / total if total else math.nan


def axis_values(conditions, key):
    values = {str(c.point[key]): c.point[key] for c in conditions if key in c.point}
    return sorted(values.values(), key=sort_value)


def positions(xs, conditions, key):
    """x positions: the values themselves, or (lists, names) their index among all values."""
    values = axis_values(conditions, key)
    if is_numeric(values):
        return xs
    index = {str(value): position for position, value in enumerate(values)}
    return [index[str(x)] for x in xs]


def style_axis(ax, conditions, key):
    values = axis_values(conditions, key)
    if is_numeric(values):
        positive = all(value > 0 for value in values)
        if positive and (key in LOG_KEYS or max(values) / min(values) >= 100):
            ax.set_xscale("log")
        ax.set_xticks(values, [point_value(value) for value in values])
        ax.minorticks_off()
    else:
        ax.set_xticks(range(len(values)), [point_value(value) for value in values])
    ax.set_xlabel(f"{short_key(key)} ({key})")
    ax.grid(alpha=0.3)
    return ax


def sweep_figures(conditions, colors):
    """``{file name: figure}``, one figure per sweep key (none without a sweep)."""
    return {sweep_figure_name(key): sweep_figure(conditions, colors, key)
            for key in sweep_keys(conditions)}
