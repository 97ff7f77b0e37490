"""Figures from ``condition_data.Condition`` objects; matplotlib only, no training.

Every plot function takes data and an optional ``ax`` and returns the ``ax``.
Colours come from ``variant_colors`` so a variant has one colour everywhere;
sweep points of the same variant share it and differ in line style.
"""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats as scipy_stats  # noqa: E402

from normexp.naming import point_label  # noqa: E402
from normexp.report.stats import MIN_INTERVAL_SEEDS  # noqa: E402
from normexp.store import atomic  # noqa: E402

LINE_STYLES = ("-", "--", ":", "-.")
TITLES = {"accuracy": "Training accuracy", "val_accuracy": "Validation accuracy",
          "loss": "Training loss", "val_loss": "Validation loss"}


def variant_colors(variants):
    palette = plt.get_cmap("tab10").colors
    return {variant: palette[index % len(palette)] for index, variant in enumerate(variants)}


def line_styles(conditions):
    seen, styles = {}, {}
    for condition in conditions:
        count = seen.get(condition.variant, 0)
        styles[condition.name] = LINE_STYLES[count % len(LINE_STYLES)]
        seen[condition.variant] = count + 1
    return styles


BAND = "shaded band: 95% CI of the mean over seeds (t-interval)"


def mean_band(values):
    """Per-epoch mean and the 95% t-interval of the mean over seeds (rows)."""
    mean = values.mean(axis=0)
    half = (scipy_stats.t.ppf(0.975, len(values) - 1) * values.std(axis=0, ddof=1)
            / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def plot_metric(conditions, metric, colors, ax=None):
    """Mean over seeds per epoch, with the 95% CI of the mean as a band."""
    ax = ax or plt.gca()
    styles = line_styles(conditions)
    for condition in conditions:
        plot_mean_curve(ax, condition, metric, colors[condition.variant],
                        styles[condition.name], condition.label)
    ax.set_title(TITLES[metric])
    ax.set_ylabel("Loss" if "loss" in metric else "Accuracy")
    return epoch_axis(ax)


def plot_mean_curve(ax, condition, metric, color, style, label):
    """One condition's mean over seeds per epoch, and its 95% band from 3 seeds on."""
    values = condition.curves.get(metric)
    if values is None or not len(values):
        return
    epochs = np.arange(1, values.shape[1] + 1)
    ax.plot(epochs, values.mean(axis=0), style, color=color, marker="o", markersize=3,
            label=f"{label} (n={len(values)})")
    if len(values) >= MIN_INTERVAL_SEEDS:
        _, low, high = mean_band(values)
        ax.fill_between(epochs, low, high, color=color, alpha=0.18, linewidth=0)


def epoch_axis(ax, label="Epoch"):
    """An x-axis of whole epochs, with a light grid."""
    ax.set_xlabel(label)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    return ax


def legend_below(figure, handles, labels, width, panels_height, top_inches, max_columns):
    """Size ``figure`` to ``width`` × (panels + legend) inches and give the legend its own
    strip below the panels, as tall as its rows need. About 10 characters of legend text
    fit per inch of width. Call it after the suptitle: it lays the figure out."""
    columns = max(1, min(len(labels), int(10 * width) // (max(map(len, labels), default=1) + 8),
                         max_columns))
    rows = -(-len(labels) // columns)
    legend_inches = 0.2 + 0.24 * rows
    height = panels_height + legend_inches
    figure.set_size_inches(width, height)
    figure.legend(handles, labels, loc="lower center", ncol=columns, frameon=False)
    figure.tight_layout(rect=(0, legend_inches / height, 1, 1 - top_inches / height))


def curves_figure(conditions, colors):
    figure, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    for ax, metric in zip(axes.flat, ("accuracy", "val_accuracy", "loss", "val_loss")):
        plot_metric(conditions, metric, colors, ax=ax)
    figure.suptitle(f"Mean over seeds; {BAND}")
    legend_below(figure, *axes[0, 0].get_legend_handles_labels(), width=12, panels_height=8.5,
                 top_inches=0.26, max_columns=5)
    return figure


def sweep_curves_figure(conditions, colors, metrics=("val_accuracy", "loss"), columns=4):
    """Small multiples for a sweep: a panel per sweep point and metric, a line per variant.

    Rows are metrics (wrapped every ``columns`` points); panels of one metric share the
    y-axis so that points compare by eye. One colour per variant, as in every figure.
    """
    points = {}
    for condition in conditions:
        points.setdefault(point_label(condition.point), []).append(condition)
    wrapped = -(-len(points) // columns)
    width = min(columns, len(points))
    figure, axes = plt.subplots(len(metrics) * wrapped, width, squeeze=False,
                                figsize=(3.6 * width, 3.0 * len(metrics) * wrapped))
    for row, metric in enumerate(metrics):
        panel_axes = axes[row * wrapped:(row + 1) * wrapped].flat
        for ax, (label, at_point) in zip(panel_axes, points.items()):
            plot_variants(at_point, metric, colors, ax=ax)
            ax.set_title(f"{TITLES[metric]} · {label}", fontsize=9)
        for ax in list(axes[row * wrapped:(row + 1) * wrapped].flat)[len(points):]:
            ax.set_visible(False)
        share_y_axis([ax for ax in axes[row * wrapped:(row + 1) * wrapped].flat if ax.lines])
    figure.suptitle(f"One panel per sweep point; mean over seeds; {BAND}", fontsize=10)
    handles = [plt.Line2D([], [], color=colors[variant], marker="o", markersize=3)
               for variant in dict.fromkeys(condition.variant for condition in conditions)]
    legend_below(figure, handles, list(dict.fromkeys(c.variant for c in conditions)),
                 width=3.6 * width, panels_height=3.0 * len(metrics) * wrapped,
                 top_inches=0.3, max_columns=6)
    return figure


def share_y_axis(axes):
    """One y-range for panels that compare by eye; a log axis when the values span more
    than three orders of magnitude (a loss that exploded at a high learning rate)."""
    values = np.concatenate([line.get_ydata() for ax in axes for line in ax.lines] or [[]])
    values = values[np.isfinite(values)]
    if not len(values):
        return
    logarithmic = values.min() > 0 and values.max() / values.min() > 1e3
    for ax in axes:
        if logarithmic:
            ax.set_yscale("log")
        ax.set_ylim(*(values.min() / 2, values.max() * 2) if logarithmic else
                    (min(a.get_ylim()[0] for a in axes), max(a.get_ylim()[1] for a in axes)))


def plot_variants(conditions, metric, colors, ax=None):
    """One line per condition (one sweep point's variants): mean over seeds and its band."""
    ax = ax or plt.gca()
    for condition in conditions:
        plot_mean_curve(ax, condition, metric, colors[condition.variant], "-",
                        condition.variant)
    ax.set_ylabel("Loss" if "loss" in metric else "Accuracy", fontsize=8)
    ax.tick_params(labelsize=8)
    epoch_axis(ax)
    if ax.lines and len(ax.lines[0].get_xdata()) == 1:  # one epoch: a tick, not a float range
        ax.set_xticks([1])
        ax.set_xlim(0.5, 1.5)
    return ax


def plot_article_panel(condition, title, ax=None):
    """The article's panel: training and validation accuracy of one variant per epoch."""
    ax = ax or plt.gca()
    for metric, label, color in (("accuracy", "Training Accuracy", "tab:blue"),
                                 ("val_accuracy", "Validation Accuracy", "tab:orange")):
        values = condition.curves.get(metric)
        if values is None or not len(values):
            continue
        epochs = np.arange(1, values.shape[1] + 1)
        ax.plot(epochs, values.mean(axis=0), color=color, marker="o", label=label)
        if len(values) >= MIN_INTERVAL_SEEDS:
            _, low, high = mean_band(values)
            ax.fill_between(epochs, low, high, color=color, alpha=0.2, linewidth=0)
    ax.set_title(title)
    ax.set_ylabel("Accuracy")
    ax.legend(loc="lower right")
    return epoch_axis(ax, "Epochs")


def article_figure(conditions, panels):
    by_name = {condition.name: condition for condition in conditions}
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        plot_article_panel(by_name[panel["variant"]], panel["title"], ax=ax)
    low = min(ax.get_ylim()[0] for ax in axes.flat)
    high = max(ax.get_ylim()[1] for ax in axes.flat)
    for ax in axes.flat:  # a shared y-range keeps the panels comparable by eye
        ax.set_ylim(low, high)
    n_seeds = max((len(by_name[p["variant"]].seeds) for p in panels), default=0)
    figure.suptitle(f"Mean of {n_seeds} seeds; {BAND}", fontsize=10)
    figure.tight_layout()
    return figure


def plot_final_accuracy(conditions, colors, ax=None):
    """Each seed's final validation accuracy as a dot, with the mean as a bar."""
    ax = ax or plt.gca()
    for position, condition in enumerate(conditions):
        values = condition.per_seed.get("val_accuracy") or []
        color = colors[condition.variant]
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
        ax.scatter(position + np.asarray(jitter[:len(values)]), values, color=color, zorder=3)
        if values:
            ax.hlines(np.mean(values), position - 0.25, position + 0.25, color=color, linewidth=2)
    ax.set_xticks(range(len(conditions)), [condition.label for condition in conditions],
                  rotation=20, ha="right")
    ax.set_ylabel("Final validation accuracy")
    ax.set_title("Final validation accuracy per seed (bar: mean)")
    ax.grid(axis="y", alpha=0.3)
    return ax


def save(figure, path):
    """Render to memory, then write atomically: a full disk is one ``StoreError`` line and
    leaves the previous figure in place."""
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, dpi=110, format="png")
    finally:
        plt.close(figure)
    atomic.write(path, buffer.getvalue(), advice="the run records are untouched; free some "
                 "space and rebuild the report with --report-only")
