"""The published JSON Schema: current, and it accepts what the validator accepts."""

import json

import jsonschema
import pytest
import yaml

from normexp import cli
from normexp.config.files import CONFIG_DIR


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((CONFIG_DIR / "normexp.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_option_prints_the_committed_schema(capsys):
    assert cli.main(["--schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    committed = json.loads((CONFIG_DIR / "normexp.schema.json").read_text())
    assert printed == committed, "regenerate: python run.py --schema > configs/normexp.schema.json"


BASE = {"variants": [{"name": "a"}]}
# The study configs; configs/claims/timing.yaml configures the timing benchmark instead and is
# checked by its own loader (tests/config/test_timing_config.py).
SHIPPED = sorted(path for path in CONFIG_DIR.rglob("*.yaml") if path.name != "timing.yaml")


def test_every_shipped_config_folder_is_covered():
    assert {path.parent.name for path in SHIPPED} >= {"configs", "claims"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(CONFIG_DIR)))
def test_every_shipped_config_is_valid(validator, path):
    errors = [error.message for error in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert not errors


@pytest.mark.parametrize("key, valid", [
    ("train.batch_size", True), ("train.optimizer.learning_rate", True),
    ("model.kernel_initializer.stddev", True), ("model.norm_args.momentum", True),
    ("optimizer.learning_rate", False), ("train", False), ("train.batch size", False),
])
def test_sweep_keys_the_loader_accepts_are_valid_in_the_schema(validator, key, valid):
    assert validator.is_valid({**BASE, "sweep": {key: [1, 2]}}) is valid


@pytest.mark.parametrize("model, valid", [
    ({}, True),
    ({"family": "cnn", "filters": [8, 16], "kernel_size": 3, "norm": "instance"}, True),
    ({"family": "cnn", "kernel_size": [5, 3], "pooling": ["max", "none"]}, True),
    ({"family": "rnn", "cell": "gru", "norm": "layer", "placement": "cell"}, True),
    ({"filters": [8]}, False),                          # a cnn field on the default mlp
    ({"family": "mlp", "cell": "gru"}, False),
    ({"family": "rnn", "hidden": [8]}, False),
    ({"family": "resnet"}, False),
    ({"family": "transformer", "placement": "post", "patch_size": 4}, True),
    ({"family": "transformer", "hidden": [8]}, False),
    ({"family": "cnn", "norm": "btach"}, False),
    ({"family": "cnn", "pooling": "min"}, False),
])
def test_model_section_by_family(validator, model, valid):
    assert validator.is_valid({**BASE, "model": model}) is valid


def test_variants_and_sections_reject_unknown_keys(validator):
    assert not validator.is_valid({"variants": [{"name": "a", "modle": {}}]})
    assert not validator.is_valid({"variants": [{"name": "a", "model": {"filtres": [3]}}]})
    assert not validator.is_valid({**BASE, "train": {"epochz": 3}})
    assert validator.is_valid({"variants": [{"name": "a", "model": {"family": "cnn",
                                                                   "filters": [4]}}]})
