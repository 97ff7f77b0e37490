"""The probes figure (``probes.png``): what the probes recorded, one colour per variant.

Panels appear only for probes that some condition recorded: the activation input's
percentiles per epoch (Ioffe & Szegedy's Fig. 1), BN validation accuracy three ways at the
final epoch, per-layer gradient norms per epoch, and the batch-dependence of outputs.
Lines are means over seeds; error bars are 95% CIs of the mean (t-interval).
"""

import math

import numpy as np

from normexp.report import stats
from normexp.report.plots import epoch_axis, plt

LAYER_STYLES = ("-", "--", ":", "-.", (0, (1, 3)), (0, (5, 1)))
BN_MODES = (("probe_val_accuracy_batch", "batch statistics", "v"),
            ("probe_val_accuracy_moving", "moving averages", "o"),
            ("probe_val_accuracy_precise", "PreciseBN", "s"))


def panels_for(conditions):
    available = {key for condition in conditions for key in condition.probes}
    # (panel, the history key a condition needs to appear in it)
    return [(panel, key) for panel, key in ((plot_pre_activation, "pre_activation"),
                                            (plot_bn_modes, "probe_val_accuracy_batch"),
                                            (plot_gradient_norms, "gradient_norms"),
                                            (plot_batch_dependence, "between_batches_difference"))
            if key in available]


def probes_figure(conditions, colors):
    """The figure, or None when no condition recorded a probe."""
    panels = panels_for(conditions)
    if not panels:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5.4), squeeze=False)
    for ax, (panel, key) in zip(axes.flat, panels):
        panel([c for c in conditions if c.probes.get(key)], colors, ax=ax)
    figure.suptitle("Means over seeds; error bars: 95% CI of the mean", fontsize=10)
    figure.tight_layout()
    return figure


def plot_pre_activation(conditions, colors, ax=None):
    """Percentiles of the activation's input per epoch; the median solid, the others dashed."""
    ax = ax or plt.gca()
    for condition in conditions:
        series = condition.probes.get("pre_activation")
        if not series:
            continue
        values = np.array([[row if row is not None else [math.nan] * len(series[0][0])
                            for row in seed] for seed in series], dtype=float).mean(axis=0)
        epochs = np.arange(1, values.shape[0] + 1)
        middle = values.shape[1] // 2
        for column in range(values.shape[1]):
            ax.plot(epochs, values[:, column], "-" if column == middle else "--",
                    color=colors[condition.variant],
                    label=condition.label if column == middle else None)
    ax.set_title("Activation input: percentiles on the probe batch\n(solid: median; dashed: "
                 "outer percentiles)")
    ax.legend(fontsize=8)
    return epoch_axis(ax)


def final_values(condition, key):
    """Each seed's last recorded value of probe ``key`` (seeds without one left out)."""
    return [seed[-1] for seed in condition.probes.get(key, []) if seed[-1] is not None]


def plot_bn_modes(conditions, colors, ax=None):
    """Final validation accuracy with batch statistics, moving averages and PreciseBN."""
    ax = ax or plt.gca()
    for position, condition in enumerate(conditions):
        for offset, (key, name, marker) in zip((-0.2, 0.0, 0.2), BN_MODES):
            mean, half = stats.mean_interval(final_values(condition, key))
            if not math.isnan(mean):
                ax.errorbar(position + offset, mean, yerr=0 if math.isnan(half) else half,
                            marker=marker, color=colors[condition.variant], capsize=3,
                            label=name if position == 0 else None, linestyle="none")
    ax.set_title("Validation accuracy (probe subset), final epoch:\n▼ batch statistics, "
                 "● moving averages, ■ PreciseBN")
    return condition_axis(ax, conditions)


def plot_gradient_norms(conditions, colors, ax=None):
    """Mean over seeds of each layer's gradient norm per epoch (log scale)."""
    ax = ax or plt.gca()
    for condition in conditions:
        series = condition.probes.get("gradient_norms")
        if not series:
            continue
        # Dense layers only, so that a line style means the same layer in every variant.
        layers = [name for name in series[0][0] if name.startswith(("dense", "output"))]
        for index, layer in enumerate(layers):
            values = np.array([[epoch.get(layer, math.nan) for epoch in seed] for seed in series],
                              dtype=float).mean(axis=0)
            ax.plot(np.arange(1, len(values) + 1), values, color=colors[condition.variant],
                    linestyle=LAYER_STYLES[index % len(LAYER_STYLES)],
                    label=f"{condition.label}: {layer}")
    ax.set_yscale("log")
    ax.set_title("Gradient norm of each Dense layer on the probe batch")
    ax.legend(fontsize=6, ncol=2)
    return epoch_axis(ax)


def plot_batch_dependence(conditions, colors, ax=None):
    """Largest output change of an example: in two random batches of 32 (training mode, then
    inference mode), and between training and inference mode."""
    ax = ax or plt.gca()
    bars = ((-0.27, "between_batches_difference", ""),
            (0.0, "between_batches_inference_difference", ".."),
            (0.27, "train_inference_difference", "//"))
    for position, condition in enumerate(conditions):
        for offset, key, hatch in bars:
            finals = final_values(condition, key)
            if finals:
                ax.bar(position + offset, np.mean(finals), width=0.25, hatch=hatch,
                       color=colors[condition.variant], edgecolor="black")
    ax.set_title("Max |Δ output probability|, final epoch\nplain: two random batches of 32, "
                 "training mode; dotted: the same, inference mode;\nhatched: training vs "
                 "inference mode")
    return condition_axis(ax, conditions)


def condition_axis(ax, conditions):
    """One x position per condition, labelled, with a horizontal grid."""
    ax.set_xticks(range(len(conditions)), [c.label for c in conditions], rotation=30,
                  ha="right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return ax
