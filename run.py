#!/usr/bin/env python3
"""Entry point: ``python run.py --config bn_vs_ln.yaml``; see ``--help``."""

import os
import sys

# Quiet TensorFlow's C++ start-up chatter; set before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from normexp.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
