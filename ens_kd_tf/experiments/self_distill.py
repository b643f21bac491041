"""Self-distillation: one trained model distilled into a fresh copy of itself
(configs/self_distill.py, the README demo).

teacher = member seed s; the student starts from seed s + 1, the same init and data order as
the same-seed scratch model (member seed s + 1, trained on the labels alone; see
experiments/scratch.py), so the two differ only in the loss. The SD row's `gain` is student
minus scratch, in accuracy points.
"""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.experiments import summary
from ens_kd_tf.experiments.distill_stage import (check_feature_layers, distill_stage,
                                                 soft_loss_label)
from ens_kd_tf.experiments.members import load_member_models, train_members
from ens_kd_tf.experiments.scratch import same_seed_scratch, scratch_row, student_row
from ens_kd_tf.experiments.stages import load_data
from ens_kd_tf.strategy import Runtime


def sd_stage(config, workdir: str, runtime: Runtime, data) -> dict:
    teacher_seed = config.seed
    return distill_stage(config, io_utils.join(workdir, "sd"), runtime, data,
                         lambda: load_member_models(workdir, [teacher_seed])[0][0],
                         config.seed + 1, f"single model (seed {teacher_seed})")


def sd_rows(config, workdir: str, runtime: Runtime, data, sd: dict) -> list:
    """The SD student's row (with its gain) and its same-seed scratch row (the member of
    that seed when the workdir has one, else trained)."""
    scratch = same_seed_scratch(config, workdir, runtime, data, sd["seed"])
    return [student_row("self-distilled student" + soft_loss_label(sd), "sd", sd, scratch),
            scratch_row(scratch, "sd")]


def run(config, workdir: str, runtime: Runtime) -> dict:
    done = summary.load_summary(workdir)
    if done:
        return done
    data = load_data(config)
    check_feature_layers(config, data)
    teacher, _ = train_members(config, workdir, runtime, data, [config.seed, config.seed + 1])
    sd = sd_stage(config, workdir, runtime, data)
    # the student from scratch is member seed + 1: sd_rows reuses it as the same-seed scratch
    rows = [summary.row("teacher", teacher["test"], kind="teacher", seed=teacher["seed"],
                        **summary.views_of(teacher)),
            *sd_rows(config, workdir, runtime, data, sd)]
    return summary.finish(config, workdir, runtime, data, rows)
