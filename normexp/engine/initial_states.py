"""Every seed's initial weights from one built model: ``InitialStates(spec).values(seed)``.

A Keras model's random initial state is fixed while it is built. Each ``RandomInitializer``
and ``SeedGenerator`` made without a seed draws an integer from Python's ``random`` when it
is constructed (``keras.random.make_default_seed``: ``randint(1, 10**9)``), and
``keras.utils.set_random_seed(seed)`` seeds that generator. So the template model is built
once, for its spec's seed, recording each variable's initializer and how many integers the
build drew. For seed *k*: reseed Python's generator with *k*, draw as many integers, give
each initializer the integer at its position in the template's draws, and call it again.
Initializers that draw nothing (zeros, ones) give every seed the same value, as a build
would.

When the template's draws cannot be replayed (something reseeded Python's ``random``, a
seed was given explicitly or drawn twice, an initializer hides a random one inside a
closure),
``InitialStates.replayable`` is False and callers build a model per seed instead. A test
checks the replay against real builds for every family.
"""

import contextlib
import copy
import random

import keras
import numpy as np
from keras.src.initializers.random_initializers import RandomInitializer

from normexp.engine import trainer

SEED_GENERATOR_STATE = "seed_generator_state"
MAX_DRAWS = 100_000


@contextlib.contextmanager
def recorded_initializers(record):
    """Append ``(variable, initializer)`` for each variable initialized inside."""
    variable_class = keras.Variable
    original = variable_class._initialize_with_initializer

    def initialize(variable, initializer):
        record.append((variable, initializer))
        return original(variable, initializer)

    variable_class._initialize_with_initializer = initialize
    try:
        yield record
    finally:
        variable_class._initialize_with_initializer = original


def replayed_draws(start_state, end_state):
    """The integers ``make_default_seed`` drew between two states of Python's ``random``,
    or None if ``randint(1, 10**9)`` draws alone do not lead from one to the other."""
    generator = random.Random()
    generator.setstate(start_state)
    draws = []
    while generator.getstate() != end_state:
        if len(draws) == MAX_DRAWS:
            return None
        draws.append(generator.randint(1, int(1e9)))
    return draws


def seed_draws(seed, count):
    generator = random.Random(seed)
    return [generator.randint(1, int(1e9)) for _ in range(count)]


def hides_a_random_initializer(initializer):
    """A plain function (LSTM's forget-gate bias) may call a random initializer it closes
    over; its seed would then be invisible here."""
    cells = getattr(initializer, "__closure__", None) or ()
    return any(isinstance(cell.cell_contents, RandomInitializer) for cell in cells)


class InitialStates:
    """The template model and optimizer for ``spec`` and the recipe for any seed's state."""

    def __init__(self, spec, training_examples):
        keras.utils.set_random_seed(spec.seed)
        start = random.getstate()
        with recorded_initializers([]) as record:
            self.model, self.optimizer = trainer.build_for_run(spec, training_examples,
                                                               seeded=False)
        draws = replayed_draws(start, random.getstate())
        self.optimizer.build(self.model.trainable_variables)
        self.record = record
        self.position = {value: index for index, value in enumerate(draws or [])}
        self.replayable = draws is not None and self.can_replay(draws)

    def can_replay(self, draws):
        """Every variable was recorded, and every random one took its seed from a draw."""
        recorded = {id(variable) for variable, _ in self.record}
        seeds = [self.seed_of(variable, initializer) for variable, initializer in self.record]
        return (len(self.position) == len(draws)
                and all(id(variable) in recorded for variable in self.model.variables)
                and all(seed in self.position for seed in seeds if seed is not None))

    @staticmethod
    def seed_of(variable, initializer):
        """The drawn seed ``initializer`` uses (-1 when hidden or not an integer); None
        for an initializer that draws nothing."""
        if variable.name == SEED_GENERATOR_STATE:
            return int(np.asarray(variable.value)[0])
        if isinstance(initializer, RandomInitializer):
            return initializer.seed if isinstance(initializer.seed, int) else -1
        return -1 if hides_a_random_initializer(initializer) else None

    def values(self, seed):
        """``(trainable, non-trainable)`` lists of seed ``seed``'s initial values, in the
        template model's variable order."""
        draws = seed_draws(seed, len(self.position))
        fresh = {id(variable): self.initial_value(variable, initializer, draws)
                 for variable, initializer in self.record}
        return ([fresh[id(variable)] for variable in self.model.trainable_variables],
                [fresh[id(variable)] for variable in self.model.non_trainable_variables])

    def initial_value(self, variable, initializer, draws):
        seed = self.seed_of(variable, initializer)
        if variable.name == SEED_GENERATOR_STATE:
            return keras.ops.convert_to_tensor([draws[self.position[seed]], 0],
                                               dtype=variable.dtype)
        if seed is not None:
            initializer = copy.copy(initializer)
            initializer.seed = draws[self.position[seed]]
        return keras.ops.convert_to_tensor(initializer(variable.shape, dtype=variable.dtype),
                                           dtype=variable.dtype)
