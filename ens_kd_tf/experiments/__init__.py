"""Experiments: each module composes stages (ens_kd_tf/stages/) into one experiment;
driver.run_experiment runs the one config.experiment names (configs/<name>.py sets it).

Each module has `compose(ctx: driver.Context) -> driver.Table | driver.Report | dict`: a
Table (rows) or a Report (its own result and markdown) is written to the workdir by the
driver; a plain dict (one model's results) is returned as it is.
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
