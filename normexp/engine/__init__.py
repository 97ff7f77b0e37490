"""Engine: trains one run, ``trainer.train_run(spec) -> RunResult``; never writes files.

``backend.current()`` is the module that holds everything backend-specific (compiled
epochs, threads, devices): ``tensorflow_backend`` or ``jax_backend``, as
``normexp.backends`` selects. ``probes`` measures inside the network each epoch
(TensorFlow only). Imports models, data, config.
"""
