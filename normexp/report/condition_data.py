"""Turn stored records into per-condition numbers: per-seed finals and curves.

Data contract: ``collect(records, study_record)`` returns a list of
``Condition`` in the study's order. Each keeps its per-seed values (dict of
metric → list over usable seeds) and per-epoch curves (metric → array
seeds × epochs). Diverged runs are counted, listed, and kept out of both.
"""

import dataclasses
import math

import numpy as np

from normexp.metrics import CURVE_METRICS, PROBE_SCALARS
from normexp.naming import condition_label



@dataclasses.dataclass
class Condition:
    name: str
    variant: str
    seeds: list = dataclasses.field(default_factory=list)
    per_seed: dict = dataclasses.field(default_factory=dict)
    curves: dict = dataclasses.field(default_factory=dict)
    probes: dict = dataclasses.field(default_factory=dict)     # history key → per-seed lists
    diverged: list = dataclasses.field(default_factory=list)   # [(seed, epoch)]
    parameters: dict | None = None
    point: dict = dataclasses.field(default_factory=dict)      # sweep key → value
    # Each usable seed's predictions.json (with its "seed"), for seeds that have one.
    predictions: list = dataclasses.field(default_factory=list)

    @property
    def label(self):
        """What people read (``bn · batch 2``); ``name`` stays the folder name."""
        return condition_label(self.variant, self.point)


def collect(records, study_record, target_accuracy):
    by_condition = {name: [] for name in study_record["conditions"]}
    variant_of = {run["condition"]: run["variant"] for run in study_record["runs"]}
    point_of = {run["condition"]: run.get("point") for run in study_record["runs"]}
    for record in records:
        by_condition.setdefault(record["meta"]["condition"], []).append(record)
        point_of[record["meta"]["condition"]] = record["config"].get("point") or {}
    conditions = []
    for name, group in by_condition.items():
        condition = summarize(name, variant_of.get(name, name), sorted(
            group, key=lambda record: record["meta"]["seed"]), target_accuracy)
        condition.point = point_of.get(name) or point_from_name(name, condition.variant)
        conditions.append(condition)
    return conditions


def point_from_name(name, variant):
    """The sweep point of a condition without records or stored point (older stores)."""
    pairs = [part.partition("=") for part in name[len(variant):].split("__") if part]
    return {key: value for key, _, value in pairs}


def summarize(name, variant, records, target_accuracy):
    condition = Condition(name, variant)
    usable = []
    for record in records:
        meta = record["meta"]
        condition.parameters = meta.get("parameters")
        if meta["status"] == "diverged":
            condition.diverged.append((meta["seed"], meta.get("diverged_epoch")))
        else:
            usable.append(record)
    condition.seeds = [record["meta"]["seed"] for record in usable]
    condition.per_seed = per_seed_values(usable, target_accuracy)
    condition.curves = curves(usable)
    condition.predictions = [dict(record["predictions"], seed=record["meta"]["seed"])
                             for record in usable if "predictions" in record]
    condition.probes = {key: [record["history"][key] for record in usable]
                        for key in ("pre_activation", "gradient_norms", *PROBE_SCALARS)
                        if usable and all(key in record["history"] for record in usable)}
    return condition


def per_seed_values(records, target_accuracy):
    values = {key: [] for key in ("accuracy", "val_accuracy", "loss", "val_loss",
                                  "best_val_accuracy", "epoch1_val_accuracy",
                                  "epochs_to_target", "seconds_per_epoch", "test_accuracy",
                                  "bn_mode_gap", *PROBE_SCALARS)}
    for record in records:
        history, meta = record["history"], record["meta"]
        for key in CURVE_METRICS:
            values[key].append(history[key][-1])
        values["best_val_accuracy"].append(max(history["val_accuracy"]))
        values["epoch1_val_accuracy"].append(history["val_accuracy"][0])
        values["epochs_to_target"].append(next(
            (epoch for epoch, accuracy in zip(history["epoch"], history["val_accuracy"])
             if accuracy >= target_accuracy), math.nan))
        # Epoch 1 includes compilation; steady state is what users pay per epoch.
        seconds = history["seconds"][1:] or history["seconds"]
        values["seconds_per_epoch"].append(float(np.median(seconds)))
        test = meta.get("test") or {}
        values["test_accuracy"].append(test.get("accuracy", math.nan))
        for key in PROBE_SCALARS:
            values[key].append(final(history.get(key)))
        if history.get("inference_seconds_per_example"):  # steady state, as seconds_per_epoch
            series = history["inference_seconds_per_example"]
            values["inference_seconds_per_example"][-1] = float(np.median(series[1:] or series))
        values["bn_mode_gap"].append(abs(final(history.get("probe_val_accuracy_batch"))
                                         - final(history.get("probe_val_accuracy_moving"))))
    return values


def final(series):
    return series[-1] if series and series[-1] is not None else math.nan


def curves(records):
    if not records:
        return {}
    length = min(len(record["history"]["epoch"]) for record in records)
    return {key: np.array([record["history"][key][:length] for record in records], dtype=float)
            for key in CURVE_METRICS}
