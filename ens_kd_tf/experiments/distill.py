"""Knowledge distillation: the ensemble of L members distilled into one fresh model
(configs/distill.py).

Teacher: the members in distill.teacher_workdir, or, when that is empty, this run's own
members (trained first if absent). The student starts from seed + L (a seed no member has);
a plain model of that same seed (stages/scratch.py) is its baseline: the KD row's `gain`
is student minus that model, in accuracy points.
"""

from __future__ import annotations

from typing import List, Tuple

from ens_kd_tf import io_utils
from ens_kd_tf.experiments.driver import Context, Table
from ens_kd_tf.stages.distill import check_feature_layers, kd_stage, student_rows
from ens_kd_tf.stages.ensemble import ensemble_row, ensemble_stage, members_row
from ens_kd_tf.stages.members import member_seeds, require_members, train_members
from ens_kd_tf.stages.saliency import write_saliency


def teacher_members(ctx: Context) -> Tuple[str, List[int]]:
    """(the workdir holding the teacher's members, their seeds): distill.teacher_workdir's
    finished members, or this run's own, trained here first."""
    config, data = ctx.config, ctx.data
    member_root = config.distill.teacher_workdir or ctx.workdir
    if member_root == ctx.workdir:
        seeds = member_seeds(config)
        train_members(config, ctx.workdir, ctx.runtime, data, seeds)
    else:
        seeds = require_members(member_root, data)
    return member_root, require_members(member_root, data, seeds)


def compose(ctx: Context) -> Table:
    config, workdir, runtime, data = ctx.config, ctx.workdir, ctx.runtime, ctx.data
    check_feature_layers(config, data)
    member_root, seeds = teacher_members(ctx)
    ens = ensemble_stage(config, member_root, io_utils.join(workdir, "ensemble"), runtime,
                         data, seeds)
    kd = kd_stage(config, workdir, member_root, seeds, runtime, data)
    rows = [members_row(ens), ensemble_row(ens),
            *student_rows(config, workdir, runtime, data, "kd", kd)]
    write_saliency(config, workdir, runtime, data, member_root, seeds,
                   io_utils.join(workdir, "kd"))
    return Table(rows, {"disagreement": ens["disagreement"]})
