"""Compiled epoch programs, reused across runs in one process (either backend).

A program is traced and compiled once per architecture; a later run of the same
architecture hands it its fresh model's initial weights and its fresh optimizer's
zero state (``take_state``), so the run is computed exactly as if compiled anew.
Nothing here imports TensorFlow or JAX: the backends pass their ``CompiledEpochs``.
"""

_programs = {}


def reuse(key, build, model, optimizer, x_train, y_train):
    """The cached program for ``key`` (everything that shapes it: model config, optimizer
    config, batch size) and these training arrays, or ``build()``'s, cached.

    The program closes over the training arrays, so they are part of its identity; the
    cache keeps them alive, so their ids cannot be reused meanwhile."""
    key = (key, id(x_train), id(y_train))
    program = _programs.get(key)
    if program is None:
        program = _programs[key] = build()
        program.arrays = (x_train, y_train)
    else:
        take_state(program, model, optimizer)
    return program


def take_state(program, model, optimizer):
    """Copy ``model``'s and ``optimizer``'s variables into the program's own."""
    optimizer.build(model.trainable_variables)
    for owner, source in ((program.model, model), (program.optimizer, optimizer)):
        targets, sources = owner.variables, source.variables
        if [v.shape for v in targets] != [v.shape for v in sources]:
            raise ValueError("cached program does not match the new run's variables")
        for target, value in zip(targets, sources):
            target.assign(value)


def clear():
    _programs.clear()
