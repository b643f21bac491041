"""Knowledge distillation: the ensemble of L members distilled into one fresh model
(configs/distill.py).

Teacher: the members in distill.teacher_workdir, or, when that is empty, this run's own
members (trained first if absent). The student starts from seed + L (a seed no member has);
a plain model of that same seed (experiments/scratch.py) is its baseline: the KD row's `gain`
is student minus that model, in accuracy points.
"""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.ensemble import build_ensemble
from ens_kd_tf.experiments import summary
from ens_kd_tf.experiments.distill_stage import (check_feature_layers, distill_stage,
                                                 soft_loss_label)
from ens_kd_tf.experiments.ensemble import ensemble_stage
from ens_kd_tf.experiments.members import (load_member_models, member_seeds, require_members,
                                           train_members)
from ens_kd_tf.experiments.saliency import write_saliency
from ens_kd_tf.experiments.scratch import same_seed_scratch, scratch_row, student_row
from ens_kd_tf.experiments.stages import load_data
from ens_kd_tf.strategy import Runtime


def kd_stage(config, workdir: str, member_root: str, seeds, runtime: Runtime, data) -> dict:
    def make_teacher():
        models, names = load_member_models(member_root, seeds)
        return build_ensemble(models, config.ensemble.reduction, names)

    return distill_stage(config, io_utils.join(workdir, "kd"), runtime, data, make_teacher,
                         config.seed + config.ensemble.num_members,
                         f"ensemble of {len(seeds)} ({config.ensemble.reduction} average)")


def kd_rows(config, workdir: str, runtime: Runtime, data, kd: dict) -> list:
    """The KD student's row (with its gain) and its same-seed scratch row; trains the
    scratch model in `workdir` if needed."""
    scratch = same_seed_scratch(config, workdir, runtime, data, kd["seed"])
    return [student_row("KD student (ensemble teacher)" + soft_loss_label(kd), "kd", kd,
                        scratch),
            scratch_row(scratch, "kd")]


def run(config, workdir: str, runtime: Runtime) -> dict:
    done = summary.load_summary(workdir)
    if done:
        return done
    data = load_data(config)
    check_feature_layers(config, data)
    member_root = config.distill.teacher_workdir or workdir
    if member_root == workdir:
        seeds = member_seeds(config)
        train_members(config, workdir, runtime, data, seeds)
    else:
        seeds = require_members(member_root, data)
    require_members(member_root, data, seeds)
    ens = ensemble_stage(config, member_root, io_utils.join(workdir, "ensemble"), runtime,
                         data, seeds)
    kd = kd_stage(config, workdir, member_root, seeds, runtime, data)
    rows = [summary.members_row(ens, len(seeds)), summary.ensemble_row(ens, len(seeds)),
            *kd_rows(config, workdir, runtime, data, kd)]
    write_saliency(config, workdir, runtime, data, member_root, seeds,
                   io_utils.join(workdir, "kd"))
    return summary.finish(config, workdir, runtime, data, rows,
                          extra={"disagreement": ens["disagreement"]})
