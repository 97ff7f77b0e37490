"""The one trainer: ``train_run(spec) -> RunResult``. Every variation comes from config.

Two engines train the same model the same way (minibatch steps of
``batch_size``, one pass over the shuffled training set per epoch):

* ``fast`` (default): each epoch is one compiled XLA program (``tensorflow_backend``
  or ``jax_backend``, whichever Keras runs on: ``normexp.backends``);
* ``fit``: plain ``model.fit`` on float32 arrays, the reference path.

Both draw each epoch's order from ``epoch_orders(seed)``: for one seed they see
the same batches in the same order.

History contract (``RunResult.history``): lists indexed by epoch, keys
``epoch`` (1-based), ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and
``seconds`` (wall time of that epoch, evaluation included), and ``learning_rate``
(the optimizer's rate at the epoch's end; runs stored before it existed lack
it). A run that ends complete also carries ``misclassified``: which validation examples the trained
model gets wrong, and what it predicts there. Training never plots and never
writes files; the runner stores the result.
"""

import dataclasses
import math
import time

from normexp.engine import backend

ENGINE_BACKEND = backend.current()  # first: it picks Keras' backend and imports it quietly

from normexp.data import datasets  # noqa: E402
from normexp.engine.optimizers import build_optimizer  # noqa: E402
from normexp.metrics import HISTORY_KEYS, TRAINING_METRICS  # noqa: E402
from normexp.models import build_model, parameter_counts  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Misclassified:
    """The validation examples a trained model gets wrong: plain ints, so it pickles small
    (through worker queues and Ray) and is stored as JSON as it is."""

    count: int          # validation examples predicted
    index: list         # positions in the validation set, ascending
    predicted: list     # the model's label at each of those positions


@dataclasses.dataclass
class RunResult:
    history: dict
    status: str                 # "complete" or "diverged"
    diverged_epoch: int | None
    test: dict | None           # {"loss", "accuracy"} when the test set is held out
    parameters: dict
    updates: int                # optimizer steps taken over the whole run
    device: str
    seconds: float
    misclassified: Misclassified | None = None  # None when diverged (or an older result)


def build_for_run(spec, training_examples=None, seeded=True):
    """Seeded model and optimizer for ``spec``; also how configs are dry-checked.

    ``training_examples`` (what was loaded; by default what the dataset registry says)
    sets the run's length, where a learning-rate schedule ends. ``seeded=False`` leaves
    the random generators as the caller set them (``initial_states`` records the build)."""
    if seeded:
        keras.utils.set_random_seed(spec.seed)
    model = build_model(spec.settings.model)
    optimizer = build_optimizer(dict(spec.settings.train.optimizer),
                                spec.settings.updates(training_examples))
    return model, optimizer


def train_run(spec, data_dir=None, on_epoch=None):
    """Train one run; ``on_epoch(spec, epoch, metrics)`` is called after each epoch."""
    settings = spec.settings
    if settings.train.deterministic:
        ENGINE_BACKEND.enable_determinism()
    # --data-dir (passed in) beats data.dir in the config; both beat $NORMEXP_DATA_DIR.
    splits = datasets.load(settings.data.dataset, settings.data.validation,
                           data_dir or settings.data.dir, settings.data.train_examples)
    started = time.perf_counter()
    model, optimizer = build_for_run(spec, len(splits.x_train))
    engine = (FastEngine if settings.train.engine == "fast" else FitEngine)(
        model, optimizer, spec, splits)
    history, diverged_epoch = engine.train(on_epoch)
    test = None
    if splits.x_test is not None and diverged_epoch is None:
        loss, accuracy = engine.evaluate(splits.x_test, splits.y_test)
        test = {"loss": loss, "accuracy": accuracy}
    wrong = None
    if diverged_epoch is None:
        wrong = misclassified(engine.predict_classes(splits.x_val), splits.y_val)
    trainable, frozen = parameter_counts(engine.model)
    return RunResult(history, "diverged" if diverged_epoch else "complete", diverged_epoch, test,
                     {"trainable": trainable, "non_trainable": frozen},
                     int(engine.optimizer.iterations.numpy()), ENGINE_BACKEND.device_name(),
                     time.perf_counter() - started, wrong)


def misclassified(predicted, labels):
    """``Misclassified`` from every validation example's predicted class and true label."""
    predicted = np.asarray(predicted)
    wrong = np.flatnonzero(predicted != np.asarray(labels))
    return Misclassified(len(labels), wrong.tolist(), predicted[wrong].tolist())


def epoch_orders(seed, size):
    """Endless training-set permutations: new every epoch, different per seed."""
    generator = np.random.default_rng(seed)
    while True:
        yield generator.permutation(size).astype(np.int32)


class FastEngine:
    def __init__(self, model, optimizer, spec, splits):
        self.spec, self.splits = spec, splits
        train = spec.settings.train
        # A schedule's decay ends at the run's last update, so its length shapes the program.
        length = (spec.settings.updates(len(splits.x_train)) if "schedule" in train.optimizer
                  else None)
        program = repr((spec.settings.model, train.optimizer, train.batch_size, length))
        self.compiled = ENGINE_BACKEND.compiled_epochs(
            program, model, optimizer, train.batch_size, splits.x_train, splits.y_train)
        self.model, self.optimizer = self.compiled.model, self.compiled.optimizer
        self.evaluate = self.compiled.evaluate
        self.predict_classes = self.compiled.predict_classes
        # Probes compile once per architecture too, so they live beside the cached program.
        cache = self.compiled.__dict__.setdefault("probes", {})
        self.probes = probe_set(self.model, spec, splits, cache)

    def train(self, on_epoch):
        orders = epoch_orders(self.spec.seed, len(self.splits.x_train))
        history = empty_history()
        for epoch in range(1, self.spec.settings.train.epochs + 1):
            started = time.perf_counter()
            loss, accuracy = self.compiled.train_epoch(next(orders))
            evaluated = time.perf_counter()
            val_loss, val_accuracy = self.compiled.evaluate(self.splits.x_val, self.splits.y_val)
            # Inference cost per example (inference mode, chunks of 10,000), a claim metric.
            history.setdefault("inference_seconds_per_example", []).append(
                (time.perf_counter() - evaluated) / len(self.splits.x_val))
            metrics = dict(zip(TRAINING_METRICS, (loss, accuracy, val_loss, val_accuracy)))
            record(history, epoch, metrics, time.perf_counter() - started, self.spec, on_epoch)
            record_rate(history, self.optimizer)
            record_probes(history, self.probes)
            if not math.isfinite(loss):
                return history, epoch
        return history, None


class FitEngine:
    """Plain ``model.fit``, one call per epoch on that epoch's order, unshuffled.

    ``fit(shuffle=True)`` is not used on purpose: with Keras 3.15 / TF 2.21, after
    ``keras.utils.set_random_seed`` it feeds the same order every epoch, which trains a
    different (less randomized) thing than the fast engine. Both engines take their
    orders from ``epoch_orders(seed)``, so for one seed they see the same batches.
    """

    def __init__(self, model, optimizer, spec, splits):
        self.model, self.optimizer, self.spec, self.splits = model, optimizer, spec, splits
        self.probes = probe_set(model, spec, splits, {})
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])

    def evaluate(self, x, y):
        loss, accuracy = self.model.evaluate(datasets.scale(x), y, batch_size=10000, verbose=0)
        return float(loss), float(accuracy)

    def predict_classes(self, x, chunk=10000):
        """Each example's predicted class, inference mode. Eager calls in evaluate's chunks:
        ``model.predict`` would trace a new function for every run."""
        return np.concatenate([
            np.argmax(np.asarray(self.model(datasets.scale(x[start:start + chunk]),
                                            training=False)), axis=-1)
            for start in range(0, len(x), chunk)])

    def train(self, on_epoch):
        history = empty_history()
        x_train, y_train = datasets.scale(self.splits.x_train), self.splits.y_train
        validation = (datasets.scale(self.splits.x_val), self.splits.y_val)
        orders = epoch_orders(self.spec.seed, len(x_train))
        recorder = EpochRecorder(history, self.spec, on_epoch)
        for epoch in range(self.spec.settings.train.epochs):
            order = next(orders)
            self.model.fit(x_train[order], y_train[order], shuffle=False, verbose=0,
                           batch_size=self.spec.settings.train.batch_size,
                           initial_epoch=epoch, epochs=epoch + 1, validation_data=validation,
                           callbacks=[keras.callbacks.TerminateOnNaN(), recorder])
            if len(history["epoch"]) <= epoch:
                return history, epoch + 1  # TerminateOnNaN stopped it mid-epoch
            record_rate(history, self.optimizer)
            record_probes(history, self.probes)
            if not math.isfinite(history["loss"][-1]):
                return history, epoch + 1
        return history, None


class EpochRecorder(keras.callbacks.Callback):
    def __init__(self, history, spec, on_epoch):
        super().__init__()
        self.history_lists, self.spec, self.on_epoch = history, spec, on_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        metrics = {key: float(logs.get(key, float("nan"))) for key in TRAINING_METRICS}
        record(self.history_lists, epoch + 1, metrics, time.perf_counter() - self.started,
               self.spec, self.on_epoch)


def probe_set(model, spec, splits, cache):
    """The run's ``probes.Probes`` (None when none is on), cached per probe config."""
    config = spec.settings.train.probes
    if not config.enabled():
        return None
    key = (repr(config), id(splits.x_val))
    if key not in cache:
        from normexp.engine import probes  # TensorFlow's (probes are refused on JAX at load)

        cache[key] = probes.Probes(model, config, spec.settings.train.batch_size, splits)
    return cache[key]


def record_probes(history, probe_set_):
    """Probe values go into the history beside the metrics, one entry per epoch; their
    time is ``probe_seconds``, not part of the epoch's ``seconds``."""
    if probe_set_ is None:
        return
    for key, value in probe_set_.measure().items():
        history.setdefault(key, []).append(value)


def record_rate(history, optimizer):
    """``learning_rate``: the rate the optimizer would use next, at the epoch's end (a
    schedule's value at that step; the constant rate otherwise)."""
    history.setdefault("learning_rate", []).append(float(optimizer.learning_rate))


def empty_history():
    return {key: [] for key in HISTORY_KEYS}


def record(history, epoch, metrics, seconds, spec, on_epoch):
    history["epoch"].append(epoch)
    for key in TRAINING_METRICS:
        history[key].append(metrics[key])
    history["seconds"].append(seconds)
    if on_epoch is not None:
        on_epoch(spec, epoch, metrics)
