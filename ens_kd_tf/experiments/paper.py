"""The paper's Table 1 row for one architecture and dataset (configs/paper.py):
L members -> ensemble -> joint sum -> KD student -> SD student, each student beside a plain
model of its own seed (stages/scratch.py; SD's is member seed + 1), then results.json,
report.md (the paper's layout, with its own numbers beside ours for a paper row) and
report.png. Finished stages are skipped on rerun; a stage in progress resumes.
"""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.experiments.driver import Context, Table
from ens_kd_tf.experiments.predictions import predictions_for
from ens_kd_tf.stages.distill import check_feature_layers, kd_stage, sd_stage, student_rows
from ens_kd_tf.stages.ensemble import ensemble_row, members_and_ensemble, members_row
from ens_kd_tf.stages.joint_sum import joint_sum_row, joint_sum_stage
from ens_kd_tf.stages.members import member_seeds
from ens_kd_tf.stages.saliency import write_saliency
from ens_kd_tf.strategy import Runtime


def run_row(config, workdir: str, runtime: Runtime, data: ArrayDataset) -> dict:
    """Runs (or resumes) every stage of one Table 1 row in `workdir`.

    Returns {"ensemble": ensemble-stage results, "rows": the table rows (single, ensemble,
    sum, KD, KD's same-seed scratch, SD, SD's same-seed scratch)}.
    """
    seeds = member_seeds(config)
    ens = members_and_ensemble(config, workdir, runtime, data, seeds)
    joint = joint_sum_stage(config, workdir, runtime, data)
    kd = kd_stage(config, workdir, workdir, seeds, runtime, data)
    sd = sd_stage(config, workdir, runtime, data)
    rows = [members_row(ens), ensemble_row(ens), joint_sum_row(joint),
            *student_rows(config, workdir, runtime, data, "kd", kd),
            *student_rows(config, workdir, runtime, data, "sd", sd)]
    return {"ensemble": ens, "rows": rows}


def compose(ctx: Context) -> Table:
    config, workdir, runtime, data = ctx.config, ctx.workdir, ctx.runtime, ctx.data
    check_feature_layers(config, data)
    row = run_row(config, workdir, runtime, data)
    write_saliency(config, workdir, runtime, data, workdir, member_seeds(config),
                   io_utils.join(workdir, "kd"))
    return Table(row["rows"], {"disagreement": row["ensemble"]["disagreement"],
                               "predictions": predictions_for(config.model.name,
                                                              row["rows"])})
