"""The dataset registry: config name → what the dataset is, known before loading anything.

No TensorFlow and no files here: sizes are what the config checks need (a batch
larger than the training set, model memory, the scheduler's cost estimate);
``normexp.data.datasets`` loads the arrays.
"""

import dataclasses

from normexp.registry import Registry


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    keras_name: str
    train_size: int
    test_size: int
    system_dirs: tuple = ()


DATASETS = Registry("dataset")
DATASETS.register("mnist", DatasetInfo("mnist", 60000, 10000))
DATASETS.register("fashion_mnist", DatasetInfo(
    "fashion_mnist", 60000, 10000, ("/usr/share/datasets/fashion-mnist",)))



def train_size(dataset, validation):
    """Examples available for training, known before loading anything."""
    total = DATASETS.get(dataset).train_size
    return total if validation == "test" else total - held_out_count(total, validation)


def validation_size(dataset, validation):
    """Examples validated each epoch: the test set, or the held-out share of training."""
    info = DATASETS.get(dataset)
    return info.test_size if validation == "test" else held_out_count(info.train_size,
                                                                      validation)


def held_out_count(total, fraction):
    return max(1, int(round(total * fraction)))
