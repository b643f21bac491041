"""Run as a script: trains the same steps on 1 device and under MirroredStrategy over N
logical CPU devices and prints the largest weight difference as JSON.

    python tests/mirrored_check.py <num_devices> <model_name> [classifier|distill]
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))


def main(num_devices: int, model_name: str, mode: str) -> None:
    from conftest import tiny_config
    from ens_kd_tf.data import load_dataset
    from ens_kd_tf.data.pipeline import train_batches
    from ens_kd_tf.stages.classifier import new_classifier
    from ens_kd_tf.strategy import Runtime, configure_cpu_devices
    from ens_kd_tf.distiller import Distiller
    from ens_kd_tf.stages.classifier import with_seed
    from ens_kd_tf.optim import make_optimizer
    from ens_kd_tf.train import compile_classifier, make_plan

    configure_cpu_devices(num_devices)
    config = tiny_config()
    config.model.name = model_name
    config.train.batch_size = 32
    data = load_dataset(config.data)
    weights = {}
    for label, strategy in (("one", tf.distribute.OneDeviceStrategy("/cpu:0")),
                            ("mirrored", tf.distribute.MirroredStrategy(
                                [d.name for d in tf.config.list_logical_devices("CPU")]))):
        runtime = Runtime(strategy, jit_compile=False)
        plan = make_plan(config.train, data.num_train, runtime)
        with strategy.scope():
            model = new_classifier(config, data)
            if mode == "distill":
                teacher = new_classifier(with_seed(config, 99), data)
                trained = Distiller(model, teacher, temperature=4.0, alpha=0.1)
                trained.compile(optimizer=make_optimizer(config.train, plan.per_epoch),
                                jit_compile=False)
            else:
                compile_classifier(model, config.train, plan, runtime)
                trained = model
        trained.fit(train_batches(data, 32, seed=0, crop_padding=2, flip=True), epochs=1,
                  steps_per_epoch=5, verbose=0)
        weights[label] = [v.numpy() for v in model.variables]
    diffs = [float(np.max(np.abs(a - b))) for a, b in zip(weights["one"], weights["mirrored"])]
    moved = [float(np.max(np.abs(a))) for a in weights["one"]]
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "max_diff": max(diffs),
                      "max_weight": max(moved), "num_vars": len(diffs)}))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "classifier")
