"""The dataset loaders: local npz / IDX files first, then Keras.

The registry of dataset names and sizes is ``normexp.config.datasets``.

Data contract: ``load(dataset, validation, data_dir)`` returns a ``Splits``
whose images are the stored uint8 pixels, shape (n, 28, 28), and whose labels
are int32 in 0..9. Models see ``scale(images)``: float32 in [0, 1]. Keeping
uint8 until the last moment quarters the memory of every training process;
the fast engine scales inside its compiled program.
``validation: test`` validates on the official test set (as the article does);
a fraction ``f`` holds out that share of the training set, chosen by a fixed
permutation (seed 0, independent of the run's seed) so every run sees the same
split, and keeps the test set for one evaluation at the end.
``train_examples: n`` then trains on a fixed subset of n of the training
examples (also a seed-0 permutation, the same for every run); validation and
test sets stay whole.
"""

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np

from normexp.config.datasets import DATASETS, held_out_count
from normexp.data import idx_files
from normexp.errors import DataError

DATA_DIR_VARIABLE = "NORMEXP_DATA_DIR"


@dataclasses.dataclass(frozen=True)
class Splits:
    """Training, validation and (when held out separately) test arrays."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    source: str


def load(dataset, validation, data_dir=None, train_examples=None):
    """The uint8 splits of ``dataset``; cached, so each process loads once.

    ``$NORMEXP_DATA_DIR`` is read here, before the cache, so a changed variable is seen.
    A Ray worker's data was ``provide``d instead, from the object store."""
    provided = _provided.get((dataset, validation))
    if provided is not None:
        return provided
    folder = data_dir or os.environ.get(DATA_DIR_VARIABLE)
    splits = _load_cached(dataset, validation, str(folder) if folder else None)
    if train_examples is None or train_examples >= len(splits.x_train):
        return splits
    key = (id(splits), train_examples)
    if key not in _subsets:  # one copy per process, so the device copy is shared too
        kept = np.sort(np.random.default_rng(0).permutation(len(splits.x_train))[:train_examples])
        _subsets[key] = dataclasses.replace(splits, x_train=splits.x_train[kept],
                                            y_train=splits.y_train[kept])
    return _subsets[key]


_subsets = {}


_provided = {}


def provide(dataset, validation, splits):
    """Make ``load`` return ``splits`` in this process: a Ray worker's data comes from
    the object store, not from a folder (see ray_backend)."""
    _provided[(dataset, validation)] = splits


@functools.lru_cache(maxsize=4)
def _load_cached(dataset, validation, data_dir):
    raw, source = load_raw(dataset, data_dir)
    x_train, y_train, x_test, y_test = (raw[0], raw[1].astype(np.int32),
                                        raw[2], raw[3].astype(np.int32))
    if validation == "test":
        return Splits(x_train, y_train, x_test, y_test, None, None, source)
    order = np.random.default_rng(0).permutation(len(x_train))
    held = order[:held_out_count(len(x_train), validation)]
    kept = order[len(held):]
    return Splits(x_train[kept], y_train[kept], x_train[held], y_train[held],
                  x_test, y_test, source)


def scale(images):
    """uint8 pixels → float32 in [0, 1]."""
    return images.astype(np.float32) / np.float32(255.0)


def load_raw(dataset, data_dir=None):
    """uint8 ``(x_train, y_train, x_test, y_test)`` and a description of the source."""
    info = DATASETS.get(dataset)
    folder = data_dir or os.environ.get(DATA_DIR_VARIABLE)
    if folder:
        if not Path(folder).is_dir():
            raise DataError(f"data folder {folder} does not exist; {how_to_provide(dataset)}")
        found = idx_files.find_local(Path(folder), dataset)
        if found is None:
            raise DataError(f"no {dataset}.npz or {dataset} IDX .gz files in {folder}; "
                            f"{how_to_provide(dataset)}")
        return idx_files.read(found), str(found)
    for system_dir in info.system_dirs:
        found = idx_files.find_local(Path(system_dir), dataset)
        if found is not None:
            return idx_files.read(found), str(found)
    return load_with_keras(dataset, info)


def load_with_keras(dataset, info):
    import keras

    loader = getattr(keras.datasets, info.keras_name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # Keras raises several types for a failed download.
        raise DataError(f"{dataset} not found locally and Keras could not download it "
                        f"({type(error).__name__}); {how_to_provide(dataset)}") from error
    arrays = (x_train, y_train, x_test, y_test)
    idx_files.check_arrays(arrays, f"Keras' {dataset}")
    return arrays, f"keras.datasets.{info.keras_name}"


def how_to_provide(dataset):
    return (f"either put {dataset}.npz (keys x_train, y_train, x_test, y_test) or the four "
            f"official IDX .gz files in a folder and set {DATA_DIR_VARIABLE} (or --data-dir, "
            f"or data.dir) to it, or unset it and let Keras download {dataset} (needs internet)")
