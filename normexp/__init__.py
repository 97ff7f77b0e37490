"""normexp: controlled experiments on where normalization belongs in a network.

Flow, one way only: config (``config``) → runs (``runner``/``trainer``) → store
(``store``) → report (``report``). The report reads only the store.
"""

__version__ = "0.1.0"
