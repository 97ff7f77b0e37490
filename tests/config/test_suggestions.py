"""A near-miss value gets "did you mean", as a near-miss key does: one line, exit 2."""

import copy

import pytest

from normexp import cli
from normexp.config.study import load_study
from normexp.errors import ConfigError
from normexp.registry import closest, edit_distance
from tests.conftest import TINY_STUDY, write_config

BASE = {"variants": [{"name": "a"}]}


@pytest.mark.parametrize("section, field, suggested", [
    ({"model": {"family": "cnn", "pooling": "avg"}}, "model.pooling", "average"),
    ({"model": {"family": "cnn", "pooling": ["max", "avg"]}}, "model.pooling[1]", "average"),
    ({"model": {"norm": "btach"}}, "model.norm", "batch"),
    ({"model": {"placement": "befre"}}, "model.placement", "before"),
    ({"model": {"activation": "rleu"}}, "model.activation", "relu"),
    ({"model": {"family": "rnn", "cell": "lstn"}}, "model.cell", "lstm"),
    ({"data": {"dataset": "fashion"}}, "data.dataset", "fashion_mnist"),
    ({"train": {"optimizer": "adma"}}, "train.optimizer", "adam"),
    ({"train": {"engine": "fits"}}, "train.engine", "fit"),
])
def test_enumerated_values_suggest_the_nearest_valid_one(tmp_path, capsys, section, field,
                                                        suggested):
    path = write_config(tmp_path, {**BASE, **section})
    assert cli.main(["--config", str(path), "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f": {field}: " in error
    assert f"did you mean {suggested!r}?" in error


def test_a_value_far_from_every_choice_gets_no_guess(tmp_path, capsys):
    path = write_config(tmp_path, {**BASE, "model": {"norm": "whitening"}})
    assert cli.main(["--config", str(path), "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert "did you mean" not in error and "valid: batch" in error


@pytest.mark.parametrize("first, second, distance", [
    ("adma", "adam", 1), ("btach", "batch", 1), ("relu", "relu", 0), ("", "abc", 3),
    ("avg", "average", 4), ("kitten", "sitting", 3),
])
def test_edit_distance_counts_a_swap_as_one_edit(first, second, distance):
    assert edit_distance(first, second) == distance == edit_distance(second, first)


def test_a_single_typo_beats_a_longer_similar_name():
    # difflib alone prefers 'adamax' for 'adma'; one swapped pair away is 'adam'.
    assert closest("adma", ["adam", "adamax", "sgd"]) == "adam"
    assert closest("avg", ["max", "average", "none"]) == "average"


@pytest.mark.parametrize("where, field", [
    ("variant", "variants[0].' '"),
    ("claim minus", "report.claims[0].minus.' '"),
    ("reference curve", "report.reference.no_norm.' '")])
def test_an_unknown_key_of_spaces_is_shown_quoted_wherever_it_is(tmp_path, where, field):
    data = copy.deepcopy(TINY_STUDY)
    if where == "variant":
        data["variants"][0][" "] = 3
    elif where == "claim minus":
        data["report"]["claims"] = [{"id": "x", "claim": "t", "variant": "bn_after",
                                     "against": "no_norm", "minus": {" ": 1}}]
    else:
        data["report"]["reference"] = {"no_norm": {" ": {1: 0.5}}}
    with pytest.raises(ConfigError) as raised:
        load_study(write_config(tmp_path, data))
    assert raised.value.field == field, str(raised.value)
