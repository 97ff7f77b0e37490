"""Real data: Fashion-MNIST from $NORMEXP_DATA_DIR exactly as MNIST, and the new families on it."""

import pytest
import copy
import gzip
import hashlib

import numpy as np

from normexp.data import datasets
from normexp.config.study import load_study
from normexp.engine.trainer import train_run
from tests.conftest import TINY_STUDY, write_config

# MD5 of each uncompressed IDX file, as published with Fashion-MNIST
# (the .gz files were re-compressed by Debian; see ../shared/datasets/SOURCES.md).
FASHION_MD5 = {"train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
               "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
               "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
               "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965"}


@pytest.mark.real_data
def test_fashion_mnist_loads_from_the_data_folder_like_mnist(real_data_dir):
    for name, md5 in FASHION_MD5.items():
        with gzip.open(real_data_dir / "fashion_mnist" / name) as handle:
            assert hashlib.md5(handle.read()).hexdigest() == md5
    fashion = datasets.load("fashion_mnist", "test", real_data_dir)
    mnist = datasets.load("mnist", "test", real_data_dir)
    assert fashion.source.endswith("fashion_mnist")
    assert fashion.x_train.shape == (60000, 28, 28) and fashion.x_train.dtype == np.uint8
    assert fashion.x_val.shape == (10000, 28, 28)
    assert np.bincount(fashion.y_train).tolist() == [6000] * 10
    assert np.bincount(fashion.y_val).tolist() == [1000] * 10
    # Clothes cover more of the frame than digits do.
    assert (fashion.x_train[:1000] > 0).mean() > 1.5 * (mnist.x_train[:1000] > 0).mean()


def run_on_real_data(folder, real_data_dir, dataset, model, epochs):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0], report={}, model=model, variants=[{"name": "real"}],
                data={"dataset": dataset, "train_examples": 6000})
    data["train"] = {"epochs": epochs, "batch_size": 32}
    spec = load_study(write_config(folder, data)).runs[0]
    return train_run(spec, data_dir=real_data_dir)


@pytest.mark.slow
@pytest.mark.real_data
def test_cnn_learns_real_mnist_and_fashion_mnist_from_a_subset(tmp_path, real_data_dir):
    model = {"family": "cnn", "filters": [8, 16], "dense": [32], "norm": "layer",
             "placement": "before"}
    mnist = run_on_real_data(tmp_path, real_data_dir, "mnist", model, 2)
    fashion = run_on_real_data(tmp_path, real_data_dir, "fashion_mnist", model, 2)
    for result in (mnist, fashion):
        assert result.updates == 2 * (6000 // 32 + 1)    # 187 full batches + 1 partial
    assert mnist.history["val_accuracy"][-1] > 0.93, mnist.history
    assert 0.65 < fashion.history["val_accuracy"][-1] < mnist.history["val_accuracy"][-1]


@pytest.mark.slow
@pytest.mark.real_data
def test_rnn_with_layer_norm_in_the_cell_learns_real_mnist_rows(tmp_path, real_data_dir):
    model = {"family": "rnn", "cell": "gru", "units": [32], "norm": "layer", "placement": "cell"}
    result = run_on_real_data(tmp_path, real_data_dir, "mnist", model, 2)
    assert result.history["val_accuracy"][-1] > 0.75, result.history
