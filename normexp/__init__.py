"""normexp: controlled experiments on where normalization belongs in a network.

Flow, one way only, visible in the subpackages::

    config → data, models → engine → execution → store → report

``config`` validates a YAML study into frozen dataclasses; ``data`` and ``models``
load MNIST and build Keras models from them; ``engine`` trains one run
(``train_run(spec) -> RunResult``); ``execution`` schedules runs on local workers or
a Ray cluster and hands results to ``store``; ``report`` reads only the store. The
modules at this level (``errors``, ``registry``, ``metrics``, ``naming``,
``native_stderr``) are shared by all of them and import none of them.
"""

__version__ = "0.2.0"
