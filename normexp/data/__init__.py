"""Data: MNIST and Fashion-MNIST from a local folder (npz or IDX) or Keras, checked.

``datasets.load(dataset, validation, data_dir)`` returns uint8 ``Splits``. Imports config.
"""
