"""The paper's Table 1 row for one architecture and dataset (configs/paper.py):
L members -> ensemble -> joint sum -> KD student -> SD student, each student beside a plain
model of its own seed (experiments/scratch.py; SD's is member seed + 1), then results.json,
report.md (the paper's layout, with its own numbers beside ours for a paper row) and
report.png. Finished stages are skipped on rerun; a stage in progress resumes.
"""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.experiments import summary
from ens_kd_tf.experiments.distill import kd_rows, kd_stage
from ens_kd_tf.experiments.distill_stage import check_feature_layers
from ens_kd_tf.experiments.ensemble import ensemble_stage
from ens_kd_tf.experiments.joint_sum import joint_sum_row, joint_sum_stage
from ens_kd_tf.experiments.members import member_seeds, train_members
from ens_kd_tf.experiments.predictions import predictions_for
from ens_kd_tf.experiments.saliency import write_saliency
from ens_kd_tf.experiments.self_distill import sd_rows, sd_stage
from ens_kd_tf.experiments.stages import load_data
from ens_kd_tf.strategy import Runtime


def run_row(config, workdir: str, runtime: Runtime, data: ArrayDataset) -> dict:
    """Runs (or resumes) every stage of one Table 1 row in `workdir`.

    Returns {"ensemble": ensemble-stage results, "rows": the table rows (single, ensemble,
    sum, KD, KD's same-seed scratch, SD, SD's same-seed scratch)}.
    """
    seeds = member_seeds(config)
    train_members(config, workdir, runtime, data, seeds)
    ens = ensemble_stage(config, workdir, io_utils.join(workdir, "ensemble"), runtime, data,
                         seeds)
    joint = joint_sum_stage(config, workdir, runtime, data)
    kd = kd_stage(config, workdir, workdir, seeds, runtime, data)
    sd = sd_stage(config, workdir, runtime, data)
    rows = [summary.members_row(ens, len(seeds)), summary.ensemble_row(ens, len(seeds)),
            joint_sum_row(joint, config), *kd_rows(config, workdir, runtime, data, kd),
            *sd_rows(config, workdir, runtime, data, sd)]
    return {"ensemble": ens, "rows": rows}


def run(config, workdir: str, runtime: Runtime) -> dict:
    done = summary.load_summary(workdir)
    if done:
        return done
    data = load_data(config)
    check_feature_layers(config, data)
    row = run_row(config, workdir, runtime, data)
    write_saliency(config, workdir, runtime, data, workdir, member_seeds(config),
                   io_utils.join(workdir, "kd"))
    return summary.finish(config, workdir, runtime, data, row["rows"],
                          extra={"disagreement": row["ensemble"]["disagreement"],
                                 "predictions": predictions_for(config.model.name,
                                                               row["rows"])})
