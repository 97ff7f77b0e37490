"""The vectorized CNN (JAX): its convolutions run as im2col in training and validation on
every device, where a single run on a GPU keeps Keras' convolutions (that seed k is still
the single run of seed k on a GPU's choice: tests/engine/test_vectorized.py); on a CPU it
validates in calls small enough for the caches."""

import copy

import pytest

from tests.conftest import TINY_STUDY, write_config
from tests.engine.test_jax_backend import needs_jax, script_result


# A GPU's choice on this CPU (on_gpu patched to True): a single run keeps Keras' convolutions,
# and vmap turns them into grouped ones (feature_group_count = seeds), the slow form; the
# vectorized program computes them as im2col instead, in training and in validation.
CONVOLUTIONS_ON_A_GPU = r"""
import json, re, sys
import jax
import numpy as np
from normexp.config.study import load_study
from normexp.data import datasets
from normexp.engine import jax_backend, vectorized

jax_backend.on_gpu = lambda: True
specs = load_study(sys.argv[1]).runs
splits = datasets.load("mnist", "test", sys.argv[2])
program = vectorized.VectorizedEpochs(specs, splits)
alone = jax_backend.CompiledEpochs(program.single.model, program.single.optimizer, 64,
                                   splits.x_train, splits.y_train)
trainable, non_trainable, _ = program.state
batches = np.arange(512).reshape(1, 8, 64).repeat(len(specs), axis=0)


def groups(function, *arguments):
    text = str(jax.make_jaxpr(function)(*arguments))
    return [int(count) for count in re.findall(
        r"conv_general_dilated\[[^\]]*?feature_group_count=(\d+)", text, re.DOTALL)]


def programs(engine):
    return {"train": groups(jax.vmap(engine._full_batches, in_axes=(0, None, None, 0)),
                            program.state, engine.x_train, engine.y_train, batches),
            "validate": groups(jax.vmap(engine._probabilities, in_axes=(0, 0, None)),
                               trainable, non_trainable, splits.x_val[:16])}


print(json.dumps({"lowered": [program.single.lowered, alone.lowered],
                  "vectorized": programs(program.single), "keras": programs(alone)}))
"""


@needs_jax
@pytest.mark.slow
def test_the_vectorized_program_lowers_convolutions_where_a_single_run_would_not(
        tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0, 1, 2], report={}, variants=[{"name": "cnn", "model": {
        "family": "cnn", "hidden": None, "filters": [4, 4], "dense": [8], "norm": "batch"}}])
    result = script_result(CONVOLUTIONS_ON_A_GPU, write_config(tmp_path, data), tiny_data_dir)
    assert result["lowered"] == [True, False]
    assert result["vectorized"] == {"train": [], "validate": []}
    for groups in result["keras"].values():   # the pattern finds the grouped form
        assert 3 in groups, result["keras"]


# The CNN's inference calls on a CPU: CACHED_AT_ONCE examples shared by the seeds (im2col's
# patches stay in the caches), 10,000 on a GPU; both give what one call gives.
CNN_CALLS = """
import json, sys
from normexp.config.study import load_study
from normexp.data import datasets
from normexp.engine import jax_backend, vectorized

runs = load_study(sys.argv[1]).runs
splits = datasets.load("mnist", "test", sys.argv[2])
mlp = vectorized.VectorizedEpochs([spec for spec in runs if spec.variant == "mlp"], splits)
program = vectorized.VectorizedEpochs([spec for spec in runs if spec.variant == "cnn"], splits)
on_a_cpu = program.chunk_examples(), program.evaluate(splits.x_val, splits.y_val)
mlp_on_a_cpu = mlp.chunk_examples()
jax_backend.on_gpu = lambda: True
on_a_gpu = program.chunk_examples(), program.evaluate(splits.x_val, splits.y_val)
print(json.dumps({"chunks": [on_a_cpu[0], on_a_gpu[0]], "mlp_chunk": mlp_on_a_cpu,
                  "validation": [[list(map(float, side)) for side in result[1][:2]]
                                 for result in (on_a_cpu, on_a_gpu)]}))
"""


@needs_jax
def test_a_cnn_validates_in_small_calls_on_a_cpu_with_the_same_numbers(tmp_path, tiny_data_dir):
    data = copy.deepcopy(TINY_STUDY)
    data.update(seeds=[0, 1, 2, 3], report={}, variants=[{"name": "cnn", "model": {
        "family": "cnn", "hidden": None, "filters": [4], "dense": [8], "norm": "batch"}},
        {"name": "mlp", "model": {"norm": "layer"}}])
    result = script_result(CNN_CALLS, write_config(tmp_path, data), tiny_data_dir)
    assert result["chunks"] == [64, 2500]   # 128 validation images: 2 calls, then 1
    # Matmuls only: large calls on a CPU too (calls of 256 made 128 MLP seeds 25x slower).
    assert result["mlp_chunk"] == 2500
    for small_calls, one_call in zip(*result["validation"]):
        assert small_calls == pytest.approx(one_call, rel=1e-5)
