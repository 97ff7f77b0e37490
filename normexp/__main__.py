"""``python -m normexp``: the same command line as the ``normexp`` console command."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from normexp.cli import main  # noqa: E402  (after the environment TensorFlow reads)

sys.exit(main())
