"""Real training on the full real MNIST: the article's MLP, one epoch."""

import pytest
import os
import subprocess
import sys
from pathlib import Path

from normexp.config.study import load_study
from normexp.engine.trainer import train_run
from tests.conftest import ROOT


@pytest.mark.slow
@pytest.mark.real_data
def test_article_mlp_one_epoch_on_full_mnist(real_data_dir):
    study = load_study("article_ln", {"seeds": [0], "epochs": 1})
    for spec in study.runs:
        result = train_run(spec, data_dir=real_data_dir)
        assert result.updates == 60000 // 32
        assert result.history["val_accuracy"][0] > 0.95, (spec.variant, result.history)
        assert result.history["accuracy"][0] > 0.90


@pytest.mark.slow
def test_ci_fails_rather_than_skips_without_real_data(tmp_path):
    # The real-data tests must not pass silently on CI by skipping.
    environment = dict(os.environ, CI="true", NORMEXP_DATA_DIR=str(tmp_path / "absent"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(Path(__file__)), "-k", "full_mnist"], cwd=ROOT,
                            env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout and "CI=true but real MNIST absent" in result.stdout
