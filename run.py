#!/usr/bin/env python3
"""Entry point: ``python run.py --config bn_vs_ln.yaml``; see ``--help``."""

import os
import sys

# Quiet TensorFlow's C++ start-up chatter; set before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if __name__ == "__main__":
    try:
        from normexp.cli import main
    except KeyboardInterrupt:  # Ctrl-C while Python is still importing: nothing started
        print("\nInterrupted before training started; nothing was lost.", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
