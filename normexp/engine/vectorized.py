"""All seeds of one condition in one compiled program (JAX): ``train_seeds(specs) -> [RunResult]``.

The fast engine's epoch (``jax_backend.CompiledEpochs``: a ``lax.scan`` over the
epoch's batches) is a pure function of one run's state; ``jax.vmap`` maps it over a
leading seed axis, so each seed keeps everything a single run has:

* its initial weights, drawn by the same Keras seeding rule as a single run: one model
  is built, and each seed's weights are its initializers replayed with that seed's
  draws (``initial_states``), not a model built per seed;
* its epoch orders, from the same ``epoch_orders(seed)``;
* its BN moving statistics, dropout seed state, optimizer state and step count.

A seed whose loss turns NaN or infinite is recorded as diverged at that epoch; the
lanes of a ``vmap`` never mix, so it cannot change the other seeds' numbers. Each
seed's result is a ``RunResult`` like ``trainer.train_run``'s, stored as usual.
``seconds`` per epoch is the wall time of the whole vectorized epoch, which every
seed in it shared.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

from normexp.data import datasets
from normexp.engine import jax_backend, trainer
from normexp.engine.initial_states import InitialStates
from normexp.metrics import TRAINING_METRICS
from normexp.models import lowering


EVALUATED_AT_ONCE = 10000
# Fewer for a CPU program with im2col convolutions: there a call whose patches outgrow the
# caches ran about 3 times slower per image than calls of a few hundred (docs/performance.md,
# "The vectorized CNN"); models of matmuls only are faster in large calls, so keep 10,000.
CACHED_AT_ONCE = 256


def stacked(trees):
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def lane(tree, index):
    return jax.tree.map(lambda leaf: leaf[index], tree)


class VectorizedEpochs:
    """``CompiledEpochs`` mapped over seeds: ``train_epoch`` takes one permutation per
    seed and returns per-seed mean loss and accuracy arrays."""

    def __init__(self, specs, splits):
        template = InitialStates(specs[0], len(splits.x_train))
        batch_size = specs[0].settings.train.batch_size
        # Under vmap Keras' convolutions become slow grouped ones, so this program computes
        # them as im2col on every device, a GPU included (jax_backend.lowers).
        self.single = jax_backend.CompiledEpochs(template.model, template.optimizer, batch_size,
                                                 splits.x_train, splits.y_train,
                                                 vectorized=True)
        # Only a program with im2col convolutions validates in small calls on a CPU.
        self.im2col = self.single.lowered and lowering.lowers_any(template.model)
        self.state = stacked(initial_values(template, specs, len(splits.x_train)))
        self._epoch = jax.jit(jax.vmap(self.single._full_batches, in_axes=(0, None, None, 0)))
        self._step = jax.jit(jax.vmap(self.single._one_step, in_axes=(0, 0, 0)))
        self._predict = jax.jit(jax.vmap(self.single._probabilities, in_axes=(0, 0, None)))

    def train_epoch(self, permutations):
        single = self.single
        used = single.full_steps * single.batch_size
        batches = jnp.asarray(permutations[:, :used].reshape(
            len(permutations), single.full_steps, single.batch_size))
        state, loss_sum, correct_sum = self._epoch(self.state, single.x_train, single.y_train,
                                                   batches)
        if used < permutations.shape[1]:
            rest = jnp.asarray(permutations[:, used:])
            state, loss, correct = self._step(state, single.x_train[rest], single.y_train[rest])
            loss_sum, correct_sum = loss_sum + loss, correct_sum + correct
        self.state = state
        count = permutations.shape[1]
        return np.asarray(loss_sum) / count, np.asarray(correct_sum) / count

    def probabilities(self, x):
        """Every seed's output probabilities for ``x``: (seeds, examples, classes)."""
        trainable, non_trainable, _ = self.state
        chunk = self.chunk_examples()
        return np.concatenate([
            np.asarray(self._predict(trainable, non_trainable, jnp.asarray(x[start:start + chunk])))
            for start in range(0, len(x), chunk)], axis=1)

    def chunk_examples(self):
        """Examples per inference call: EVALUATED_AT_ONCE in all, shared by the seeds, so a
        call's activations take the memory of one seed's 10,000 whatever the seed count;
        CACHED_AT_ONCE for the im2col forms on a CPU."""
        seeds = len(jax.tree.leaves(self.state[0])[0])
        at_once = EVALUATED_AT_ONCE
        if self.im2col and not jax_backend.on_gpu():
            at_once = min(at_once, CACHED_AT_ONCE)
        return max(1, at_once // seeds)

    def evaluate(self, x, y):
        """Per-seed mean loss and accuracy in inference mode, with the single engine's loss,
        and the probabilities they came from (seeds, examples, classes)."""
        probabilities, labels = self.probabilities(x), np.asarray(y)
        losses = np.array([float(self.single.loss(labels, seed)) for seed in probabilities])
        accuracies = (probabilities.argmax(axis=-1) == labels).mean(axis=1)
        return losses, accuracies, probabilities

    def seed_state(self, index):
        """Seed ``index``'s weights and optimizer state, written into the template model."""
        self.single.set_state(lane(self.state, index))
        return self.single.model, self.single.optimizer


def initial_values(template, specs, training_examples):
    """Each seed's starting state: replayed from the template's build, or, if it cannot
    be replayed, from a model built for that seed."""
    optimizer_values = [variable.value for variable in template.optimizer.variables]
    if template.replayable:
        return [(*template.values(spec.seed), optimizer_values) for spec in specs]
    states = []
    for spec in specs:
        model, optimizer = trainer.build_for_run(spec, training_examples)
        optimizer.build(model.trainable_variables)
        states.append(jax_backend.variable_values(model, optimizer))
    return states


def train_seeds(specs, data_dir=None, on_epoch=None):
    """Train every spec (one condition, different seeds) at once; one ``RunResult`` each."""
    settings = specs[0].settings
    if any(spec.settings != settings for spec in specs):
        raise ValueError("train_seeds trains the seeds of one condition only")
    splits = datasets.load(settings.data.dataset, settings.data.validation,
                           data_dir or settings.data.dir, settings.data.train_examples)
    started = time.perf_counter()
    program = VectorizedEpochs(specs, splits)
    histories = [trainer.empty_history() for _ in specs]
    diverged = [None] * len(specs)
    orders = [trainer.epoch_orders(spec.seed, len(splits.x_train)) for spec in specs]
    for epoch in range(1, settings.train.epochs + 1):
        epoch_started = time.perf_counter()
        losses, accuracies = program.train_epoch(np.stack([next(order) for order in orders]))
        val_losses, val_accuracies, val_probabilities = program.evaluate(splits.x_val,
                                                                         splits.y_val)
        seconds = time.perf_counter() - epoch_started
        optimizer = program.seed_state(0)[1]   # every lane has taken the same steps
        for index, spec in enumerate(specs):
            if diverged[index] is not None:
                continue
            values = (losses[index], accuracies[index], val_losses[index],
                      val_accuracies[index])
            metrics = dict(zip(TRAINING_METRICS, map(float, values)))
            trainer.record(histories[index], epoch, metrics, seconds, spec, on_epoch)
            trainer.record_rate(histories[index], optimizer)
            if not np.isfinite(losses[index]):
                diverged[index] = epoch
    predicted = val_probabilities.argmax(axis=-1)   # the last epoch's pass, every seed
    return [result(program, index, spec, histories[index], diverged[index], predicted[index],
                   splits, started) for index, spec in enumerate(specs)]


def result(program, index, spec, history, diverged_epoch, predicted, splits, started):
    model, optimizer = program.seed_state(index)
    wrong = None
    if diverged_epoch is None:
        wrong = trainer.misclassified(predicted, splits.y_val)
    test = None
    if splits.x_test is not None and diverged_epoch is None:
        loss, accuracy = program.single.evaluate(splits.x_test, splits.y_test)
        test = {"loss": loss, "accuracy": accuracy}
    trainable, frozen = trainer.parameter_counts(model)
    return trainer.RunResult(history, "diverged" if diverged_epoch else "complete",
                             diverged_epoch, test,
                             {"trainable": trainable, "non_trainable": frozen},
                             int(optimizer.iterations.numpy()), jax_backend.device_name(),
                             time.perf_counter() - started, wrong)
