"""Engine: trains one run, ``trainer.train_run(spec) -> RunResult``; never writes files.

``tensorflow_backend`` holds everything TensorFlow-specific (compiled epochs, threads,
devices); ``probes`` measures inside the network each epoch. Imports models, data, config.
"""
