"""Real training on the full real MNIST: the article's MLP, one epoch."""

from normexp.config import load_study
from normexp.trainer import train_run


def test_article_mlp_one_epoch_on_full_mnist(real_data_dir):
    study = load_study("article_ln", {"seeds": [0], "epochs": 1})
    for spec in study.runs:
        result = train_run(spec, data_dir=real_data_dir)
        assert result.updates == 60000 // 32
        assert result.history["val_accuracy"][0] > 0.95, (spec.variant, result.history)
        assert result.history["accuracy"][0] > 0.90
