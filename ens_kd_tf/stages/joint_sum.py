"""The joint-sum stage (<workdir>/joint_sum/): L fresh members whose summed (or averaged)
logits train end to end as one model; member i starts from seed + i. PAPER.md's "train sum
of f_l": it does not match the ensemble of separately trained members."""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.ensemble import JOINT_REDUCTIONS, build_joint_sum
from ens_kd_tf.errors import check_choice, check_positive
from ens_kd_tf.stages.classifier import new_classifier, train_classifier, with_seed
from ens_kd_tf.stages.results import row, views_of
from ens_kd_tf.strategy import Runtime


def validate_joint_sum(joint_sum) -> None:
    """Checks config section `joint_sum`."""
    check_positive("joint_sum.num_members", joint_sum.num_members, allow_zero=True)
    check_choice("joint_sum.reduction", joint_sum.reduction, JOINT_REDUCTIONS)


def joint_sum_members(config) -> int:
    """joint_sum.num_members, or (0) the config's ensemble.num_members."""
    if config.joint_sum.num_members:
        return config.joint_sum.num_members
    return config.ensemble.num_members


def joint_sum_stage(config, workdir: str, runtime: Runtime, data: ArrayDataset) -> dict:
    """Trains the joint sum in <workdir>/joint_sum/ (member i starts from seed + i)."""
    count = joint_sum_members(config)

    def build(cfg, data):
        return build_joint_sum(
            lambda i: new_classifier(with_seed(cfg, cfg.seed + i), data, name=f"member_{i}"),
            count, cfg.joint_sum.reduction)

    results = train_classifier(config, io_utils.join(workdir, "joint_sum"), runtime, data,
                               build)
    return dict(results, members=count, reduction=config.joint_sum.reduction)


def joint_sum_row(results: dict) -> dict:
    count, reduction = results["members"], results["reduction"]
    return row(f"joint {reduction} of {count}", results["test"], kind="sum",
               seeds=[results["seed"] + i for i in range(count)], reduction=reduction,
               **views_of(results))
