"""Ensemble: train L seeds, evaluate their unweighted average (configs/ensemble.py).

The ensemble stage (<workdir>/ensemble/) scores the average of the members' stored test
logits and exports the ensemble as one SavedModel.
"""

from __future__ import annotations

from typing import Sequence

from ens_kd_tf import io_utils, probes
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.ensemble import build_ensemble
from ens_kd_tf.evaluate import average_logits, disagreement, evaluate_logits, summarize_members
from ens_kd_tf.experiments import summary
from ens_kd_tf.experiments.saliency import write_saliency
from ens_kd_tf.experiments.members import (load_member_models, member_dir, member_seeds,
                                           member_test_logits, train_members)
from ens_kd_tf.experiments.stages import (EXPORT_DIR, load_data, load_results, save_results)
from ens_kd_tf.export import export_saved_model
from ens_kd_tf.strategy import Runtime


def _views(member_root: str, seeds: Sequence[int], reduction: str) -> dict:
    """The members' views and the ensemble's (probes.ensemble_views), when they have them."""
    dirs = [member_dir(member_root, s) for s in seeds]
    member_views = [(load_results(d) or {}).get("views") for d in dirs]
    views = probes.ensemble_views(dirs, member_views, reduction)
    return {"views": views, "member_views": member_views} if views else {}


def ensemble_stage(config, member_root: str, stage_dir: str, runtime: Runtime,
                   data: ArrayDataset, seeds: Sequence[int]) -> dict:
    """Scores and exports the ensemble of members `seeds` found in `member_root`."""
    done = load_results(stage_dir)
    if done:
        return done
    reduction = config.ensemble.reduction
    logits = member_test_logits(member_root, seeds)
    member_results = [evaluate_logits(lg, data.y_test, data.test_groups) for lg in logits]
    results = {
        "test": evaluate_logits(average_logits(logits, reduction), data.y_test,
                                data.test_groups),
        "members": summarize_members(member_results),
        "member_tests": member_results,
        "disagreement": disagreement(logits),
        "reduction": reduction,
        "seeds": list(seeds),
        **_views(member_root, seeds, reduction),
    }
    if runtime.is_chief:
        io_utils.clean_stale_temporaries(stage_dir)
    if runtime.is_chief and config.export_saved_models:
        models, names = load_member_models(member_root, seeds)
        ensemble = build_ensemble(models, reduction, names)
        export_saved_model(ensemble, io_utils.join(stage_dir, EXPORT_DIR),
                           data.info.input_shape, data.info.input_kind)
    return save_results(stage_dir, results, runtime)


def run(config, workdir: str, runtime: Runtime) -> dict:
    done = summary.load_summary(workdir)
    if done:
        return done
    data = load_data(config)
    seeds = member_seeds(config)
    if config.member >= 0:  # this machine's share of a parallel run: one member, no summary
        result = train_members(config, workdir, runtime, data, [seeds[config.member]])[0]
        table = (f"member {config.member} (seed {seeds[config.member]}) test accuracy "
                 f"{100 * result['test']['accuracy']:.2f}%; rerun without --config.member "
                 "once every member is done to score the ensemble")
        return {"table": table, **result}
    train_members(config, workdir, runtime, data, seeds)
    ens = ensemble_stage(config, workdir, io_utils.join(workdir, "ensemble"), runtime, data,
                         seeds)
    rows = [summary.members_row(ens, len(seeds)), summary.ensemble_row(ens, len(seeds))]
    write_saliency(config, workdir, runtime, data, workdir, seeds)
    return summary.finish(config, workdir, runtime, data, rows,
                          extra={"disagreement": ens["disagreement"]})
