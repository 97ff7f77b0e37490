"""Readers for a local MNIST-style folder: one ``.npz`` or four IDX ``.gz`` files.

Layouts found in a folder ``D`` for dataset ``name`` (first match wins):
``D/name.npz``, ``D/name/*.gz``, ``D/*.gz``. The IDX format is a big-endian
header (magic 2051 for images, 2049 for labels; then the dimensions) followed
by uint8 data; every file is checked before it is trusted.
"""

import gzip
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from normexp.errors import DataError

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
REPAIR_HINT = "replace it with a good copy (the official MNIST files, or Keras' mnist.npz)"


def find_local(folder, dataset):
    """The npz path or the folder holding all four IDX files, else None."""
    npz = folder / f"{dataset}.npz"
    if npz.is_file():
        return npz
    for candidate in (folder / dataset, folder):
        if all((candidate / name).is_file() for name in IDX_NAMES):
            return candidate
    return None


def read(path):
    arrays = read_npz(path) if path.suffix == ".npz" else read_idx_folder(path)
    check_arrays(arrays, str(path))
    return arrays


def read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing}; expected keys "
                                f"{', '.join(NPZ_KEYS)}")
            return tuple(archive[key] for key in NPZ_KEYS)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path}: not a readable npz file ({error}); {REPAIR_HINT}") from error


def read_idx_folder(folder):
    images_train, labels_train, images_test, labels_test = (
        read_idx(folder / name) for name in IDX_NAMES)
    return images_train, labels_train, images_test, labels_test


def read_idx(path):
    try:
        with gzip.open(path, "rb") as handle:
            payload = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: truncated or corrupt gzip ({error}); {REPAIR_HINT}") from error
    return parse_idx(payload, path)


def parse_idx(payload, path):
    expected_magic = IMAGE_MAGIC if "images" in Path(path).name else LABEL_MAGIC
    if len(payload) < 8:
        raise DataError(f"{path}: only {len(payload)} bytes, too short for an IDX header")
    magic, count = struct.unpack(">II", payload[:8])
    if magic != expected_magic:
        raise DataError(f"{path}: wrong magic number {magic} (expected {expected_magic}); "
                        f"{REPAIR_HINT}")
    dims = (count,) + struct.unpack(">II", payload[8:16]) if magic == IMAGE_MAGIC else (count,)
    offset = 8 + 4 * (len(dims) - 1)
    expected_size = offset + int(np.prod(dims))
    if len(payload) != expected_size:
        raise DataError(f"{path}: {len(payload)} bytes, expected {expected_size} for shape "
                        f"{dims}; the file is truncated or padded; {REPAIR_HINT}")
    return np.frombuffer(payload, dtype=np.uint8, offset=offset).reshape(dims)


def check_arrays(arrays, source):
    """Shapes, dtypes and label range of ``(x_train, y_train, x_test, y_test)``."""
    x_train, y_train, x_test, y_test = arrays
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataError(f"{source}: {name} images have shape {images.shape}, "
                            f"expected (n, 28, 28); {REPAIR_HINT}")
        if labels.shape != (len(images),):
            raise DataError(f"{source}: {len(images)} {name} images but labels of shape "
                            f"{labels.shape}; {REPAIR_HINT}")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise DataError(f"{source}: {name} labels outside 0-9 (found {labels.min()}.."
                            f"{labels.max()}); {REPAIR_HINT}")
