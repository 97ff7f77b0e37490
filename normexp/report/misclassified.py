"""Misclassified validation images: ``misclassified.png``, ``disagreements.png`` and a table
of counts, for the report's section "Misclassified validation images".

Built from the store alone: each run's ``predictions.json`` (the validation indices it got
wrong and its predicted labels there, as ``Condition.predictions``) and the study's
``misclassified_images.npz`` (the pixels and true labels of those indices, kept by the
process that stored the runs). A study without either gets no section.

"Wrong in a condition" counts seeds: an image is *mostly wrong* when at least half of the
condition's seeds with predictions got it wrong, and *right* only when every seed got it
right, so one unlucky seed neither makes nor hides a difference from the baseline.
"""

import collections
import dataclasses

import numpy as np

from normexp.report import tables
from normexp.report.plots import plt
from normexp.store import misclassified_images

EXAMPLES = 12  # images per row
COLUMNS = ("condition", "seeds with predictions", "mean errors per seed",
           "wrong here, right in baseline", "right here, wrong in baseline")


@dataclasses.dataclass
class Errors:
    """One condition's errors over its seeds with predictions."""

    condition: object            # condition_data.Condition
    key: str                     # its validation set (run_store.validation_key)
    count: int                   # examples in that set
    seeds: int                   # seeds with predictions
    wrong_seeds: collections.Counter    # index → seeds that got it wrong
    labels: dict                 # index → Counter of the labels those seeds predicted

    def mostly_wrong(self, index):
        return 2 * self.wrong_seeds[index] >= self.seeds

    def predicted(self, index):
        """The label most of the seeds that got ``index`` wrong predicted (smallest on a tie)."""
        counts = self.labels[index]
        return min(counts, key=lambda label: (-counts[label], label))

    def mean_errors(self):
        return sum(self.wrong_seeds.values()) / self.seeds


def errors_of(condition):
    """The condition's ``Errors``, or None when no seed has predictions. Seeds validated
    on another set than the first one's (a changed config) are left out."""
    if not condition.predictions:
        return None
    first = condition.predictions[0]
    runs = [run for run in condition.predictions
            if (run["images"], run["count"]) == (first["images"], first["count"])]
    wrong_seeds, labels = collections.Counter(), collections.defaultdict(collections.Counter)
    for run in runs:
        wrong_seeds.update(run["wrong_index"])
        for index, label in zip(run["wrong_index"], run["wrong_predicted"]):
            labels[index][label] += 1
    return Errors(condition, first["images"], first["count"], len(runs), wrong_seeds, labels)


def wrong_here_right_there(here, there):
    """Indices ``here`` gets mostly wrong and ``there`` gets right in every seed, the most
    often wrong first."""
    return sorted((index for index in here.wrong_seeds
                   if here.mostly_wrong(index) and index not in there.wrong_seeds),
                  key=lambda index: (-here.wrong_seeds[index], index))


@dataclasses.dataclass
class StudyErrors:
    rows: list          # Errors of each condition with predictions, in the study's order
    baselines: dict     # condition name → Errors of the baseline at its sweep point
    images: dict        # validation key → {"index", "images", "labels"}
    baseline: str | None
    runs: int           # runs that did not diverge, with predictions or without


def collect(folder, conditions, baseline):
    """The study's ``StudyErrors``; None when no run has predictions or the images file is
    absent or unreadable (the report then has no such section)."""
    rows = [errors for errors in map(errors_of, conditions) if errors is not None]
    images = misclassified_images.read(folder) if rows else {}
    if not images:
        return None
    by_name = {errors.condition.name: errors for errors in rows}
    partner = tables.partner_finder(conditions)  # "same sweep point" as the differences table
    baselines = {}
    for errors in rows:
        base = partner(baseline, errors.condition) if baseline else None
        base = by_name.get(base.name) if base is not None else None
        # Only the same validation set can be compared image by image.
        if base is not None and base is not errors and (base.key, base.count) == (
                errors.key, errors.count):
            baselines[errors.condition.name] = base
    return StudyErrors(rows, baselines, images, baseline,
                       sum(len(condition.seeds) for condition in conditions))


def example(images, key, index):
    """``(pixels, true label)`` of validation example ``index``; None when the file lacks it
    (a run stored just before an interruption, until the next training session adds it)."""
    held = images.get(key)
    if held is None:
        return None
    position = int(np.searchsorted(held["index"], index))
    if position == len(held["index"]) or held["index"][position] != index:
        return None
    return held["images"][position], int(held["labels"][position])


def cells(errors, indices, images):
    """Up to ``EXAMPLES`` ``(pixels, title)`` for ``indices``, in order, skipping any the
    images file lacks."""
    shown = []
    for index in indices:
        found = example(images, errors.key, index)
        if found is None:
            continue
        pixels, true = found
        shown.append((pixels, f"{true}→{errors.predicted(index)}\n"
                              f"{errors.wrong_seeds[index]}/{errors.seeds} seeds"))
        if len(shown) == EXAMPLES:
            break
    return shown


def plot_example(pixels, title, ax=None):
    """One 28×28 image, dark ink on white, titled."""
    ax = ax or plt.gca()
    ax.imshow(pixels, cmap="gray_r", vmin=0, vmax=255)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_row(shown, label, axes):
    """A row of ``plot_example`` with its condition's ``label`` on the left; unused slots
    stay blank."""
    for position, ax in enumerate(axes):
        if position < len(shown):
            plot_example(*shown[position], ax=ax)
            continue
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():  # blank, yet keeps the row's label visible
            spine.set_visible(False)
    if not shown:
        axes[0].text(0.5, 0.5, "none", ha="center", va="center", fontsize=8,
                     transform=axes[0].transAxes)
    axes[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    return axes


def image_grid(rows, title):
    """A figure with one ``plot_row`` per ``(label, shown)``."""
    height = 1.45 * len(rows) + 0.8
    figure, axes = plt.subplots(len(rows), EXAMPLES, squeeze=False,
                                figsize=(1.05 * EXAMPLES + 2.6, height))
    for row_axes, (label, shown) in zip(axes, rows):
        plot_row(shown, label, row_axes)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height))  # the title keeps its own strip
    return figure


def misclassified_figure(study):
    """Per condition, the images most often misclassified across its seeds."""
    rows = []
    for errors in study.rows:
        ranked = sorted(errors.wrong_seeds, key=lambda index: (-errors.wrong_seeds[index], index))
        rows.append((errors.condition.label, cells(errors, ranked, study.images)))
    return image_grid(rows, "Most often misclassified validation images "
                            "(title: true→predicted label, seeds that got it wrong)")


def disagreements_figure(study):
    """Per condition with a baseline, images it mostly gets wrong and the baseline gets
    right in every seed; None when no condition has a baseline to compare with."""
    rows = []
    for errors in study.rows:
        base = study.baselines.get(errors.condition.name)
        if base is not None:
            indices = wrong_here_right_there(errors, base)
            reverse = wrong_here_right_there(base, errors)
            rows.append((f"{errors.condition.label}\n{len(indices)} wrong here\n"
                         f"{len(reverse)} right here", cells(errors, indices, study.images)))
    if not rows:
        return None
    return image_grid(rows, f"Wrong in at least half of the seeds and right in every seed of "
                            f"{study.baseline} at the same point (title: true→predicted label "
                            f"here, seeds).\nLeft: how many images are so, and how many the "
                            f"other way round (right here, wrong in {study.baseline})")


def count_rows(study):
    """The counts table: one row per condition with predictions."""
    rows = []
    for errors in study.rows:
        usable = len(errors.condition.seeds)
        row = [errors.condition.label,
               str(errors.seeds) if errors.seeds == usable else f"{errors.seeds} of {usable}",
               f"{errors.mean_errors():.1f}"]
        base = study.baselines.get(errors.condition.name)
        if base is None:  # the baseline itself, or no baseline with predictions there
            row += ["–", "–"]
        else:
            row += [str(len(wrong_here_right_there(errors, base))),
                    str(len(wrong_here_right_there(base, errors)))]
        rows.append(tuple(row))
    return rows


def section(study, figures):
    """The report's Markdown lines; ``figures`` maps "misclassified" and "disagreements"
    to their file names."""
    counts = sorted({errors.count for errors in study.rows})
    examples = f"{counts[0]:,} validation examples" if len(counts) == 1 else "validation examples"
    held = sum(len(parts["index"]) for parts in study.images.values())
    lines = ["## Misclassified validation images", "",
             f"{sum(errors.seeds for errors in study.rows)} of the {study.runs} runs that did "
             f"not diverge recorded which of their {examples} they got wrong "
             f"(`predictions.json`); the {held:,} images that the most of them got wrong "
             f"(all, up to {misclassified_images.MAX_IMAGES:,} per validation set) are in "
             "`misclassified_images.npz`. Each image is titled true→predicted label (the "
             "label most of the seeds that got it wrong predicted) and how many seeds got it "
             "wrong.", "", f"![misclassified validation images]({figures['misclassified']})",
             ""]
    if study.baselines:
        lines += [f"Up to {EXAMPLES} images each condition gets wrong in at least half of its "
                  f"seeds while `{study.baseline}` at the same sweep point gets them right in "
                  "every seed. The table counts all of them, and the other way round (– : "
                  "the baseline itself, or no baseline with predictions at that point).", "",
                  f"![wrong here, right in the baseline]({figures['disagreements']})", ""]
    width = len(COLUMNS) if study.baselines else 3  # no baseline: nothing to compare with
    return lines + [tables.markdown(COLUMNS[:width], [row[:width] for row in count_rows(study)]),
                    ""]
