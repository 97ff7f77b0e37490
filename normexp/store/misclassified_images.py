"""``<out>/<study>/misclassified_images.npz``: the pixels of what a study's runs got wrong.

The report is rebuilt from the store alone and never loads a dataset, yet it shows the
validation images that runs misclassify. So the process that stores the runs, which has
the data loaded, keeps this file: for each validation set (``run_store.validation_key``)
the uint8 28×28 images and true labels of the validation indices that stored runs of the
study got wrong: all of them up to ``MAX_IMAGES`` per validation set, else the
``MAX_IMAGES`` that the most runs got wrong (ties: the lower index). A study with runs
that collapse (thousands of errors each) thus stays under a megabyte; the report skips an
image the file lacks, and its counts come from ``predictions.json``, never from this file.

Arrays per validation key ``<key>``: ``<key>__index`` (validation positions, ascending),
``<key>__images`` (uint8, n × 28 × 28) and ``<key>__labels`` (true labels, same order).
The store never imports the data package: the caller passes ``validation_set(spec)``,
which returns the run's validation ``(images, labels)``.
"""

import collections
import io
import zipfile
from pathlib import Path

import numpy as np

from normexp.store import atomic, run_store

FILE_NAME = "misclassified_images.npz"
PARTS = ("index", "images", "labels")
MAX_IMAGES = 1000   # per validation set: about 250 kB compressed


def read(study_folder):
    """``{key: {"index", "images", "labels"}}``; {} when the file is absent or unreadable
    (the report then leaves the images out)."""
    try:
        with np.load(Path(study_folder) / FILE_NAME) as arrays:  # allow_pickle stays False
            loaded = {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return {}
    sets = {}
    for name, array in loaded.items():
        key, _, part = name.rpartition("__")
        sets.setdefault(key, {})[part] = array
    return {key: parts for key, parts in sets.items() if consistent(parts)}


def consistent(parts):
    if set(parts) != set(PARTS):
        return False
    count = len(parts["index"])
    return (parts["index"].ndim == 1 and len(parts["images"]) == len(parts["labels"]) == count
            and bool(np.all(np.diff(parts["index"]) > 0)))


def spec_key(spec):
    data = spec.settings.data
    return run_store.validation_key(data.dataset, data.validation)


class Writer:
    """``on_stored(spec, result)``: keeps the file's images in step with the stored runs.

    Only the driver runs one, under the study lock. ``backfill`` counts, for every stored
    run of the study, which indices it got wrong; each newly stored run adds its count;
    the file is rewritten only when the chosen indices change, and the dataset is loaded
    only when an index the file lacks is chosen. (A run retrained with ``--force`` counts
    twice until the next session: the choice is a ranking, not a statistic.)"""

    def __init__(self, out, study_name, validation_set):
        self.out = out
        self.path = run_store.study_dir(out, study_name) / FILE_NAME
        self.validation_set = validation_set
        self.arrays = read(self.path.parent)
        self.wrong_runs = {}     # validation key → Counter: index → runs that got it wrong
        self.changed = False

    def __call__(self, spec, result):
        wrong = getattr(result, "misclassified", None)
        if wrong is not None:
            self.wrong_runs.setdefault(spec_key(spec), collections.Counter()).update(wrong.index)
            self.choose(spec, wrong.count)
            self.flush()

    def backfill(self, specs):
        """Count what every stored run in ``specs`` (all of the study's) got wrong and bring
        the file in step; returns the number of validation sets whose images changed."""
        sample = {}
        for spec in specs:
            predictions = run_store.read_predictions(
                run_store.run_dir(self.out, spec.study, spec.condition, spec.seed))
            if predictions is not None and predictions["images"] == spec_key(spec):
                counter = self.wrong_runs.setdefault(spec_key(spec), collections.Counter())
                counter.update(predictions["wrong_index"])
                sample[spec_key(spec)] = (spec, predictions["count"])
        changed = sum(self.choose(spec, count) for spec, count in sample.values())
        self.flush()
        return changed

    def choose(self, spec, count):
        """Hold the chosen indices of ``spec``'s validation set (of ``count`` examples);
        True when they changed."""
        key, counter = spec_key(spec), self.wrong_runs.get(spec_key(spec), {})
        held = self.arrays.get(key) or {"index": np.zeros(0, np.int64),
                                        "images": np.zeros((0, 28, 28), np.uint8),
                                        "labels": np.zeros(0, np.int32)}
        chosen = np.array(sorted(sorted(counter, key=lambda index: (-counter[index], index))
                                 [:MAX_IMAGES]), dtype=np.int64)
        if key in self.arrays and np.array_equal(chosen, held["index"]):
            return False
        if set(chosen.tolist()) <= set(held["index"].tolist()):
            positions = np.searchsorted(held["index"], chosen)
            images, labels = held["images"][positions], held["labels"][positions]
        else:
            images, labels = self.validation_set(spec)
            if len(images) != count:  # not the validation set the run saw: pixels unknown
                return False
            images, labels = images[chosen], labels[chosen]
        self.arrays[key] = {"index": chosen, "images": np.asarray(images, np.uint8),
                            "labels": np.asarray(labels)}
        self.changed = True
        return True

    def flush(self):
        if not self.changed:
            return
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{f"{key}__{part}": array
                                       for key, parts in self.arrays.items()
                                       for part, array in parts.items()})
        atomic.write(self.path, buffer.getvalue(), advice="the runs themselves are stored")
        self.changed = False
