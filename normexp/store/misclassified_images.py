"""``<out>/<study>/misclassified_images.npz``: the pixels of what a study's runs got wrong.

The report is rebuilt from the store alone and never loads a dataset, yet it shows the
validation images that runs misclassify. So the process that stores the runs, which has
the data loaded, keeps this file: for each validation set (``run_store.validation_key``)
the uint8 28×28 images and true labels of every validation index that some stored run of
the study got wrong, and nothing more (a union, merged as runs are stored), so it stays
small: a few hundred images for a study of good MNIST models.

Arrays per validation key ``<key>``: ``<key>__index`` (validation positions, ascending),
``<key>__images`` (uint8, n × 28 × 28) and ``<key>__labels`` (true labels, same order).
The store never imports the data package: the caller passes ``validation_set(spec)``,
which returns the run's validation ``(images, labels)``.
"""

import io
import zipfile
from pathlib import Path

import numpy as np

from normexp.store import atomic, run_store

FILE_NAME = "misclassified_images.npz"
PARTS = ("index", "images", "labels")


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
    """``on_stored(spec, result)``: merges a stored run's wrong examples into the file.

    Only the driver runs one, under the study lock, so it may keep the file's arrays in
    memory and rewrite the file only when the union grows."""

    def __init__(self, out, study_name, validation_set):
        self.out = out
        self.path = run_store.study_dir(out, study_name) / FILE_NAME
        self.validation_set = validation_set
        self.arrays = read(self.path.parent)
        self.changed = False

    def __call__(self, spec, result):
        wrong = getattr(result, "misclassified", None)
        if wrong is not None:
            self.add(spec, wrong.count, wrong.index)
            self.flush()

    def backfill(self, specs):
        """Add what stored runs got wrong and the file lacks (a run stored just before an
        interruption, or a deleted file); returns the number of runs that added some."""
        added = 0
        for spec in specs:
            predictions = run_store.read_predictions(
                run_store.run_dir(self.out, spec.study, spec.condition, spec.seed))
            if predictions is not None and predictions["images"] == spec_key(spec):
                added += self.add(spec, predictions["count"], predictions["wrong_index"])
        self.flush()
        return added

    def add(self, spec, count, index):
        """Merge ``index`` (positions in the run's validation set of ``count``); True when
        the union grew."""
        key = spec_key(spec)
        if key not in self.arrays:  # on record even if no run got anything wrong yet
            self.arrays[key] = {"index": np.zeros(0, np.int64),
                                "images": np.zeros((0, 28, 28), np.uint8),
                                "labels": np.zeros(0, np.int32)}
            self.changed = True
        known = set(self.arrays[key]["index"].tolist())
        if set(index) <= known:
            return False
        images, labels = self.validation_set(spec)
        if len(images) != count:  # not the validation set the run saw: its pixels are unknown
            return False
        union = np.array(sorted(known.union(index)), dtype=np.int64)
        self.arrays[key] = {"index": union, "images": np.asarray(images[union], np.uint8),
                            "labels": np.asarray(labels[union])}
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
