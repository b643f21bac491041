"""Experiments: each module has `run(config, workdir, runtime) -> results dict`.

Names (config.experiment) map to modules here; configs/<name>.py sets the name.
"""

EXPERIMENTS = {
    "single": "ens_kd_tf.experiments.single",
    "ensemble": "ens_kd_tf.experiments.ensemble",
    "joint_sum": "ens_kd_tf.experiments.joint_sum",
    "distill": "ens_kd_tf.experiments.distill",
    "self_distill": "ens_kd_tf.experiments.self_distill",
    "paper": "ens_kd_tf.experiments.paper",
    "gaussian": "ens_kd_tf.experiments.gaussian",
    "multiview": "ens_kd_tf.experiments.multiview",
    "views": "ens_kd_tf.experiments.views",
}
