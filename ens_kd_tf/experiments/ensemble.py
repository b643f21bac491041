"""Ensemble: L seeds trained, their unweighted average scored (configs/ensemble.py).

With --config.member=i only member i trains (one machine's share of a parallel run); a run
without it then scores the ensemble of every member.
"""

from __future__ import annotations

from ens_kd_tf.errors import UsageError
from ens_kd_tf.experiments.driver import Context, Table
from ens_kd_tf.stages.ensemble import ensemble_row, members_and_ensemble, members_row
from ens_kd_tf.stages.members import member_seeds, train_members
from ens_kd_tf.stages.saliency import write_saliency


def validate_member(config) -> None:
    """Checks the top-level field `member` against ensemble.num_members."""
    if config.member >= config.ensemble.num_members or config.member < -1:
        raise UsageError(f"member={config.member} is not valid; choose -1 (every member) or "
                         f"0 .. ensemble.num_members - 1 = {config.ensemble.num_members - 1}")


def one_member(ctx: Context, index: int) -> dict:
    """Member `index` only; its result and a one-line table, no summary."""
    seed = member_seeds(ctx.config)[index]
    result = train_members(ctx.config, ctx.workdir, ctx.runtime, ctx.data, [seed])[0]
    table = (f"member {index} (seed {seed}) test accuracy "
             f"{100 * result['test']['accuracy']:.2f}%; rerun without --config.member "
             "once every member is done to score the ensemble")
    return {"table": table, **result}


def compose(ctx: Context):
    config = ctx.config
    if config.member >= 0:
        return one_member(ctx, config.member)
    seeds = member_seeds(config)
    ens = members_and_ensemble(config, ctx.workdir, ctx.runtime, ctx.data, seeds)
    write_saliency(config, ctx.workdir, ctx.runtime, ctx.data, ctx.workdir, seeds)
    return Table([members_row(ens), ensemble_row(ens)], {"disagreement": ens["disagreement"]})
