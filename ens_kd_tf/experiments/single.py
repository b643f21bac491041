"""One model: train, evaluate on the full test set, export (configs/single.py)."""

from __future__ import annotations

from ens_kd_tf.experiments.stages import load_data, train_classifier
from ens_kd_tf.strategy import Runtime


def run(config, workdir: str, runtime: Runtime) -> dict:
    data = load_data(config)
    results = train_classifier(config, workdir, runtime, data)
    return {"experiment": "single", "rows": [{"name": "single", **results["test"]}],
            "stage": results}
