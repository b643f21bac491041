"""Self-distillation: one trained model distilled into a fresh copy of itself
(configs/self_distill.py, the README demo).

teacher = member seed s; the student starts from seed s + 1, the same init and data order as
the "student from scratch" (member seed s + 1, trained on the labels alone), so the two
differ only in the loss.
"""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.experiments import summary
from ens_kd_tf.experiments.distill_stage import distill_stage
from ens_kd_tf.experiments.members import load_member_models, train_members
from ens_kd_tf.experiments.stages import load_data
from ens_kd_tf.strategy import Runtime


def sd_stage(config, workdir: str, runtime: Runtime, data) -> dict:
    teacher_seed = config.seed
    return distill_stage(config, io_utils.join(workdir, "sd"), runtime, data,
                         lambda: load_member_models(workdir, [teacher_seed])[0][0],
                         config.seed + 1, f"single model (seed {teacher_seed})")


def sd_row(results: dict) -> dict:
    return summary.row("self-distilled student", results["test"], kind="sd",
                       **summary.views_of(results))


def run(config, workdir: str, runtime: Runtime) -> dict:
    done = summary.load_summary(workdir)
    if done:
        return done
    data = load_data(config)
    teacher, scratch = train_members(config, workdir, runtime, data,
                                     [config.seed, config.seed + 1])
    sd = sd_stage(config, workdir, runtime, data)
    rows = [summary.row(f"teacher (seed {config.seed})", teacher["test"], kind="teacher",
                        **summary.views_of(teacher)),
            summary.row(f"student from scratch (seed {config.seed + 1})", scratch["test"],
                        kind="single", **summary.views_of(scratch)),
            sd_row(sd)]
    return summary.finish(config, workdir, runtime, data, rows)
