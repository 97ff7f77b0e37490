#!/usr/bin/env python3
"""Probe overhead: seconds the probes take per epoch, as a share of the epoch's own time.

    python benchmarks/bench_probes.py            # about 3 minutes; run under the CPU lock

Trains the article MLP with BatchNorm before the activation (so every probe has work to do)
with the fast engine on real MNIST, 1 TensorFlow thread (as each study worker), 4 epochs,
once per probe setting: each probe alone and all together, at batch 32 (the article's) and
256 (short epochs: the hardest case for a fixed per-epoch cost). Both times come from the
same run: ``probe_seconds`` and ``seconds`` of each epoch after the first (the first
includes compilation). Prints the median ratio per setting.
"""

import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = {"pre_activation": {"pre_activation": 2}, "bn_statistics": {"bn_statistics": True},
            "gradient_norms": {"gradient_norms": True},
            "batch_dependence": {"batch_dependence": True},
            "all four": {"pre_activation": 2, "bn_statistics": True, "gradient_norms": True,
                         "batch_dependence": True}}


def spec_for(batch_size, probes, folder):
    import yaml

    from normexp.config.study import load_study

    config = {"name": "probe_bench", "seeds": [0],
              "train": {"epochs": 4, "batch_size": batch_size, "probes": probes},
              "model": {"norm": "batch", "placement": "before"}, "variants": [{"name": "bn"}]}
    path = Path(folder) / "probe_bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_study(path).runs[0]


def main():
    from normexp.engine import tensorflow_backend

    tensorflow_backend.configure_threads(1)
    from normexp.engine.trainer import train_run

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for batch_size in (32, 256):
            for name, probes in SETTINGS.items():
                history = train_run(spec_for(batch_size, probes, folder)).history
                epoch = statistics.median(history["seconds"][1:])
                probe = statistics.median(history["probe_seconds"][1:])
                rows.append({"batch": batch_size, "probes": name, "epoch_s": round(epoch, 3),
                             "probe_s": round(probe, 4), "share": round(probe / epoch, 3)})
                print(f"batch {batch_size:>3}  {name:<17} epoch {epoch:.3f} s  probes "
                      f"{probe:.4f} s  = {100 * probe / epoch:.1f}% of the epoch", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
