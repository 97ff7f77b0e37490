"""Names of conditions, the one home for formatting a sweep value.

A condition is a variant at one sweep point. It has two names:

* a folder name, ``bn__train.batch_size=2`` (``condition_folder``): the store's
  layout, stable across versions, so only letters, digits, ``._-`` and ``=``;
* a label people read, ``bn · batch 2`` (``condition_label``), in tables and figures.

``point_value`` formats one swept value for people (floats as ``%g``, lists joined by
``-``); ``folder_value`` is that text made safe for a folder name, except that floats
keep Python's ``str`` there, as published stores were named with it.
"""

import re

SHORT_KEYS = {"train.batch_size": "batch", "train.optimizer.learning_rate": "lr",
              "train.epochs": "epochs", "model.dropout": "dropout",
              "model.kernel_initializer.stddev": "init std", "model.hidden": "hidden",
              "data.dataset": "dataset"}
# Keys whose values name themselves in a label: "bn · mnist", not "bn · dataset mnist".
VALUE_ONLY_KEYS = ("data.dataset",)


def condition_folder(variant, point):
    """``bn__train.batch_size=2`` for a variant at ``point`` (pairs of key and value)."""
    parts = [variant] + [f"{key}={folder_value(value)}" for key, value in point]
    return "__".join(parts)


def folder_value(value):
    text = "-".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


def condition_label(variant, point):
    """``bn · batch 2 · lr 0.1`` for a variant at a sweep point (a dict key → value)."""
    parts = [variant] + [point_value(value) if key in VALUE_ONLY_KEYS
                         else f"{short_key(key)} {point_value(value)}"
                         for key, value in point.items()]
    return " · ".join(parts)


def point_label(point):
    """``batch 2 · mnist`` for a sweep point alone (a dict key → value); "" for none."""
    return condition_label("", point).removeprefix(" · ")


def short_key(key):
    return SHORT_KEYS.get(key, key.rsplit(".", 1)[-1])


def sweep_figure_name(key):
    """The report's figure of a swept key: ``sweep_batch.png``."""
    return f"sweep_{short_key(key).replace(' ', '_')}.png"


def point_value(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "-".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def csv_value(value):
    """A swept value in a CSV cell: as the config wrote it (floats unrounded)."""
    if value is None:
        return ""
    return "-".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
