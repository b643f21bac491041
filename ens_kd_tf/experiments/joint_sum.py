"""Joint sum: L fresh members trained end to end as one model (configs/joint_sum.py).

PAPER.md's "train sum of f_l": it does not match the ensemble of separately trained members.
"""

from __future__ import annotations

from ens_kd_tf.experiments.driver import Context, Table
from ens_kd_tf.stages.joint_sum import joint_sum_row, joint_sum_stage


def compose(ctx: Context) -> Table:
    results = joint_sum_stage(ctx.config, ctx.workdir, ctx.runtime, ctx.data)
    return Table([joint_sum_row(results)])
