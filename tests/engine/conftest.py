"""Real-MNIST slices shared by the engine tests."""

import numpy as np
import pytest

from normexp.data import idx_files
from tests.conftest import require_real_data


@pytest.fixture(scope="session")
def mnist_slice_dir(tmp_path_factory):
    """The first 6,000 training and 1,000 test images of the real MNIST."""
    source = require_real_data()
    x_train, y_train, x_test, y_test = idx_files.read(idx_files.find_local(source, "mnist"))
    folder = tmp_path_factory.mktemp("mnist_slice")
    np.savez(folder / "mnist.npz", x_train=x_train[:6000], y_train=y_train[:6000],
             x_test=x_test[:1000], y_test=y_test[:1000])
    return folder


@pytest.fixture(scope="session")
def mnist_2000_dir(mnist_slice_dir, tmp_path_factory):
    """The first 2,000 training images of the real MNIST (and 1,000 test images)."""
    with np.load(mnist_slice_dir / "mnist.npz") as arrays:
        folder = tmp_path_factory.mktemp("mnist_2000")
        np.savez(folder / "mnist.npz", x_train=arrays["x_train"][:2000],
                 y_train=arrays["y_train"][:2000], x_test=arrays["x_test"],
                 y_test=arrays["y_test"])
    return folder
