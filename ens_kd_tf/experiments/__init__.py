"""Experiments: each module has `run(config, workdir, runtime) -> results dict`.

Names (config.experiment) map to modules here; configs/<name>.py sets the name.
"""

EXPERIMENTS = {
    "single": "ens_kd_tf.experiments.single",
}
