"""The ensemble stage (<workdir>/ensemble/): the unweighted average of members' stored test
logits, scored, and the ensemble exported as one SavedModel."""

from __future__ import annotations

from typing import Sequence

from ens_kd_tf import io_utils, probes
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.ensemble import ENSEMBLE_REDUCTIONS, build_ensemble
from ens_kd_tf.errors import check_choice, check_positive
from ens_kd_tf.evaluate import average_logits, disagreement, evaluate_logits, summarize_members
from ens_kd_tf.export import export_saved_model
from ens_kd_tf.stages.members import (load_member_models, member_dir, member_test_logits,
                                      train_members)
from ens_kd_tf.stages.results import EXPORT_DIR, load_results, row, save_results, views_of
from ens_kd_tf.strategy import Runtime


def validate_ensemble(ensemble) -> None:
    """Checks config section `ensemble`."""
    check_positive("ensemble.num_members", ensemble.num_members)
    check_choice("ensemble.reduction", ensemble.reduction, ENSEMBLE_REDUCTIONS)


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


def members_row(ensemble_results: dict) -> dict:
    """The single-model row: the members' mean +- sample std."""
    count = len(ensemble_results["seeds"])
    views = probes.pooled_views(ensemble_results.get("member_views") or [])
    return row(f"single (mean +- std of {count})", ensemble_results["members"], kind="single",
               seeds=ensemble_results.get("seeds"), **({"views": views} if views else {}))


def ensemble_row(ensemble_results: dict) -> dict:
    """The ensemble's row; it names its reduction (logit or probability average)."""
    count = len(ensemble_results["seeds"])
    how = "logit" if ensemble_results["reduction"] == "logits" else "probability"
    return row(f"ensemble of {count} ({how} average)", ensemble_results["test"],
               kind="ensemble", seeds=ensemble_results.get("seeds"),
               reduction=ensemble_results["reduction"], **views_of(ensemble_results))


def members_and_ensemble(config, workdir: str, runtime: Runtime, data: ArrayDataset,
                         seeds: Sequence[int]) -> dict:
    """Trains (or resumes, or reuses) members `seeds` in `workdir`, then scores their
    ensemble in <workdir>/ensemble/; returns the ensemble stage's results."""
    train_members(config, workdir, runtime, data, seeds)
    return ensemble_stage(config, workdir, io_utils.join(workdir, "ensemble"), runtime, data,
                          seeds)
