"""Local MNIST readers: npz and IDX agree on the real files; bad files fail clearly."""

import gzip
import shutil
import struct

import numpy as np
import pytest

from normexp.data import datasets
from normexp.data import idx_files
from normexp.errors import DataError
from tests.conftest import write_tiny_mnist


def test_npz_and_idx_readers_agree_on_real_mnist(real_data_dir):
    from_npz = idx_files.read(real_data_dir / "mnist.npz")
    from_idx = idx_files.read(real_data_dir / "mnist")
    for npz_array, idx_array in zip(from_npz, from_idx):
        np.testing.assert_array_equal(npz_array, idx_array)
    assert from_idx[0].shape == (60000, 28, 28) and from_idx[3].shape == (10000,)
    assert np.bincount(from_idx[1]).tolist()[:3] == [5923, 6742, 5958]  # SOURCES.md counts


def write_idx_folder(folder, images=None, labels=None, image_magic=2051, label_magic=2049):
    images = np.zeros((20, 28, 28), np.uint8) if images is None else images
    labels = np.arange(20, dtype=np.uint8) % 10 if labels is None else labels
    folder.mkdir(parents=True, exist_ok=True)
    for prefix in ("train", "t10k"):
        header = struct.pack(">IIII", image_magic, len(images), 28, 28)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as handle:
            handle.write(header + images.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as handle:
            handle.write(struct.pack(">II", label_magic, len(labels)) + labels.tobytes())
    return folder


def test_idx_folder_roundtrip(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (20, 28, 28), dtype=np.uint8)
    x_train, y_train, _, _ = idx_files.read(write_idx_folder(tmp_path / "mnist", images))
    np.testing.assert_array_equal(x_train, images)
    assert y_train.tolist() == list(range(10)) * 2


@pytest.mark.parametrize("kwargs, words", [
    ({"image_magic": 2049}, "wrong magic number 2049 (expected 2051)"),
    ({"label_magic": 7}, "wrong magic number 7 (expected 2049)"),
    ({"labels": np.full(20, 11, np.uint8)}, "labels outside 0-9"),
    ({"labels": np.zeros(5, np.uint8)}, "20 train images but labels of shape (5,)"),
])
def test_bad_idx_contents_are_named(tmp_path, kwargs, words):
    folder = write_idx_folder(tmp_path / "mnist", **kwargs)
    with pytest.raises(DataError) as error:
        idx_files.read(folder)
    assert words in str(error.value) and str(folder) in str(error.value)


def test_truncated_gzip_is_named(tmp_path):
    folder = write_idx_folder(tmp_path / "mnist")
    target = folder / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:40])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: truncated or corrupt gzip"):
        idx_files.read(folder)


def test_idx_with_missing_bytes_is_named(tmp_path):
    folder = write_idx_folder(tmp_path / "mnist")
    target = folder / "t10k-images-idx3-ubyte.gz"
    payload = gzip.decompress(target.read_bytes())[:-100]
    target.write_bytes(gzip.compress(payload))
    with pytest.raises(DataError, match="truncated or padded"):
        idx_files.read(folder)


def test_corrupt_npz_is_named(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataError, match="mnist.npz: not a readable npz"):
        datasets.load_raw("mnist", str(tmp_path))


def test_npz_missing_keys_is_named(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"missing arrays \['y_train', 'x_test', 'y_test'\]"):
        datasets.load_raw("mnist", str(tmp_path))


def test_missing_folder_says_how_to_provide_data(tmp_path):
    with pytest.raises(DataError) as error:
        datasets.load_raw("mnist", str(tmp_path / "nowhere"))
    assert "does not exist" in str(error.value)
    assert "NORMEXP_DATA_DIR" in str(error.value) and "let Keras download" in str(error.value)


def test_folder_without_files_says_how_to_provide_data(tmp_path):
    with pytest.raises(DataError, match="no mnist.npz or mnist IDX .gz files"):
        datasets.load_raw("mnist", str(tmp_path))


def test_layouts_found(tmp_path, real_data_dir):
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in idx_files.IDX_NAMES:
        shutil.copy(real_data_dir / "mnist" / name, flat / name)
    assert idx_files.find_local(flat, "mnist") == flat
    assert idx_files.find_local(real_data_dir, "mnist") == real_data_dir / "mnist.npz"


def test_uint8_splits_scale_to_unit_float32_and_the_split_is_fixed(tmp_path):
    folder = write_tiny_mnist(tmp_path / "data", train=200, test=50)
    splits = datasets.load("mnist", 0.25, str(folder))
    assert splits.x_train.dtype == np.uint8 and splits.y_train.dtype == np.int32
    scaled = datasets.scale(splits.x_train)
    assert scaled.dtype == np.float32 and 0 <= scaled.min() and scaled.max() <= 1
    assert scaled.max() == np.float32(splits.x_train.max()) / np.float32(255)
    assert (len(splits.x_train), len(splits.x_val), len(splits.x_test)) == (150, 50, 50)
    again = datasets._load_cached.__wrapped__("mnist", 0.25, str(folder))
    np.testing.assert_array_equal(splits.y_val, again.y_val)  # same split every time
    test_split = datasets.load("mnist", "test", str(folder))
    assert test_split.x_test is None and len(test_split.x_val) == 50
