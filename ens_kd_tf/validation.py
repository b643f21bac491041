"""Validates a config once, before any work: each section by the module that reads it, with
errors that name the field, the bad value and the valid choices."""

from __future__ import annotations

from ens_kd_tf.data import validate_data
from ens_kd_tf.errors import UsageError, check_choice
from ens_kd_tf.experiments import EXPERIMENTS
from ens_kd_tf.experiments.ensemble import validate_member
from ens_kd_tf.experiments.gaussian import validate_sweep
from ens_kd_tf.experiments.multiview import validate_study
from ens_kd_tf.experiments.views import validate_views
from ens_kd_tf.models import validate_model
from ens_kd_tf.optim import validate_train
from ens_kd_tf.stages.distill import validate_distill
from ens_kd_tf.stages.ensemble import validate_ensemble
from ens_kd_tf.stages.joint_sum import validate_joint_sum
from ens_kd_tf.strategy import validate_runtime

# config section -> its validator; a config has the sections its experiment reads
SECTIONS = {
    "model": validate_model,
    "data": validate_data,
    "train": validate_train,
    "runtime": validate_runtime,
    "ensemble": validate_ensemble,
    "joint_sum": validate_joint_sum,
    "distill": validate_distill,
    "gaussian_sweep": validate_sweep,
    "study": validate_study,
    "views": validate_views,
}


def validate_config(config) -> None:
    """Checks every section the config has; raises UsageError on the first bad field."""
    check_choice("experiment", config.experiment, sorted(EXPERIMENTS))
    for section, validate in SECTIONS.items():
        if section in config:
            validate(config[section])
    if "member" in config:
        validate_member(config)
    if "joint_sum" in config and not config.joint_sum.num_members and "ensemble" not in config:
        raise UsageError("joint_sum.num_members=0 is not valid here (0 means "
                         "ensemble.num_members, and this config has no ensemble); give a "
                         "number >= 1")
