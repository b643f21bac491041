"""Run as a script: one worker of a multi-worker run (TF_CONFIG in the environment), or a
single-process reference run. Trains the tiny classifier through the package's own
experiment entry point and saves this process's final weights.

    python tests/multiworker_check.py <strategy> <workdir> <weights_out.npz>
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(__file__))


def main(strategy: str, workdir: str, out: str) -> None:
    import numpy as np


    from conftest import tiny_config
    from ens_kd_tf.stages import classifier as stages
    from ens_kd_tf.main import run_experiment

    finish = stages.finish_classifier

    def keep_weights(model, *args, **kwargs):  # every worker records what it trained
        np.savez(out, *[v.numpy() for v in model.variables])
        return finish(model, *args, **kwargs)

    stages.finish_classifier = keep_weights
    config = tiny_config()
    config.runtime.strategy = strategy
    config.runtime.num_cpu_devices = 1
    config.train.epochs = 1
    config.train.checkpoint_every_steps = 3
    config.data.augment.flip = True
    run_experiment(config, workdir)


if __name__ == "__main__":
    main(*sys.argv[1:4])
