"""One model: train, evaluate on the full test set, export (configs/single.py). The workdir
is the model's stage directory."""

from __future__ import annotations

from ens_kd_tf.experiments.driver import Context
from ens_kd_tf.stages.classifier import train_classifier


def compose(ctx: Context) -> dict:
    results = train_classifier(ctx.config, ctx.workdir, ctx.runtime, ctx.data)
    return {"experiment": "single", "rows": [{"name": "single", **results["test"]}],
            "stage": results}
