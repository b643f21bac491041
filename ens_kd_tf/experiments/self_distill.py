"""Self-distillation: one trained model distilled into a fresh copy of itself
(configs/self_distill.py, the README demo).

teacher = member seed s; the student starts from seed s + 1, the same init and data order as
the same-seed scratch model (member seed s + 1, trained on the labels alone; see
stages/scratch.py), so the two differ only in the loss. The SD row's `gain` is student
minus scratch, in accuracy points.
"""

from __future__ import annotations

from ens_kd_tf.experiments.driver import Context, Table
from ens_kd_tf.stages.distill import check_feature_layers, sd_stage, student_rows
from ens_kd_tf.stages.members import train_members
from ens_kd_tf.stages.results import row, views_of


def compose(ctx: Context) -> Table:
    config, workdir, runtime, data = ctx.config, ctx.workdir, ctx.runtime, ctx.data
    check_feature_layers(config, data)
    teacher, _ = train_members(config, workdir, runtime, data, [config.seed, config.seed + 1])
    sd = sd_stage(config, workdir, runtime, data)
    # the student from scratch is member seed + 1: student_rows reuses it as the scratch
    return Table([row("teacher", teacher["test"], kind="teacher", seed=teacher["seed"],
                      **views_of(teacher)),
                  *student_rows(config, workdir, runtime, data, "sd", sd)])
