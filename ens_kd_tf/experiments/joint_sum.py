"""Joint sum: L fresh members trained end to end as one model (configs/joint_sum.py).

PAPER.md's "train sum of f_l": it does not match the ensemble of separately trained members.
"""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.ensemble import build_joint_sum
from ens_kd_tf.experiments import summary
from ens_kd_tf.experiments.stages import load_data, new_classifier, train_classifier, with_seed
from ens_kd_tf.strategy import Runtime


def joint_sum_members(config) -> int:
    return config.joint_sum.num_members or config.ensemble.num_members


def joint_sum_stage(config, workdir: str, runtime: Runtime, data: ArrayDataset) -> dict:
    """Trains the joint sum in <workdir>/joint_sum/ (member i starts from seed + i)."""
    count = joint_sum_members(config)

    def build(cfg, data):
        return build_joint_sum(
            lambda i: new_classifier(with_seed(cfg, cfg.seed + i), data, name=f"member_{i}"),
            count, cfg.joint_sum.reduction)

    return train_classifier(config, io_utils.join(workdir, "joint_sum"), runtime, data, build)


def joint_sum_row(results: dict, config) -> dict:
    count = joint_sum_members(config)
    return summary.row(f"joint {config.joint_sum.reduction} of {count}", results["test"],
                       kind="sum", seeds=[results["seed"] + i for i in range(count)],
                       **summary.views_of(results))


def run(config, workdir: str, runtime: Runtime) -> dict:
    done = summary.load_summary(workdir)
    if done:
        return done
    data = load_data(config)
    results = joint_sum_stage(config, workdir, runtime, data)
    return summary.finish(config, workdir, runtime, data, [joint_sum_row(results, config)])
