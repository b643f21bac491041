"""Single vs ensemble on Gaussian-like data labelled by random teachers (PAPER.md Figure 3,
configs/gaussian.py): without multi-view structure, the ensemble should not help.

For every (input, teacher, sampling, label noise) of config.gaussian_sweep, L members train
in <workdir>/<setting>/members/ and their ensemble is scored in <setting>/ensemble/.
The learner is config.model.name, or with gaussian_sweep.learner="teacher" the teacher's own
architecture (teacher_<kind>_<learner_width>), so the task is realizable.
"""

from __future__ import annotations

import copy
import itertools

from ens_kd_tf import io_utils
from ens_kd_tf.data.gaussian import INPUTS, SAMPLINGS, TEACHERS
from ens_kd_tf.errors import UsageError, check_choice, check_fraction, check_positive
from ens_kd_tf.experiments.driver import Context, Report
from ens_kd_tf.report import markdown_table, plain_table
from ens_kd_tf.stages.classifier import load_data, train_step_gflop
from ens_kd_tf.stages.ensemble import members_and_ensemble
from ens_kd_tf.stages.members import member_seeds


def sweep_settings(config) -> list:
    s = config.gaussian_sweep
    return list(itertools.product(s.inputs, s.teachers, s.samplings, s.label_noise))


def setting_config(config, inputs: str, teacher: str, sampling: str, noise: float):
    sub = copy.deepcopy(config)
    sub.unlock()
    sub.data.name = "gaussian_teacher"
    sub.data.gaussian.input = inputs
    sub.data.gaussian.teacher = teacher
    sub.data.gaussian.sampling = sampling
    sub.data.gaussian.label_noise = float(noise)
    if config.gaussian_sweep.learner == "teacher":
        sub.model.name = f"teacher_{teacher}_{config.gaussian_sweep.learner_width}"
    sub.lock()
    return sub


def _pct(summary_or_value) -> str:
    if isinstance(summary_or_value, dict):
        return f"{100 * summary_or_value['mean']:.2f} +- {100 * summary_or_value['std']:.2f}"
    return f"{100 * summary_or_value:.2f}"


def _error_reduction(row) -> float:
    """The share of the mean single model's test error that the ensemble removes."""
    single_error = 1.0 - row["single"]["mean"]
    return (row["gain"] / single_error) if single_error > 0 else 0.0


def table(rows) -> tuple:
    header = ("input", "teacher", "sampling", "label noise", "learner", "single acc %",
              "ensemble acc %", "gain (points)", "error reduction")
    body = [[r["input"], r["teacher"], r["sampling"], f"{r['label_noise']:.2f}", r["learner"],
             _pct(r["single"]), _pct(r["ensemble"]), f"{100 * r['gain']:+.2f}",
             f"{100 * _error_reduction(r):.0f}%"] for r in rows]
    return header, body


def validate_sweep(sweep) -> None:
    """Checks config section `gaussian_sweep`."""
    for field, allowed in (("inputs", INPUTS), ("teachers", TEACHERS),
                           ("samplings", SAMPLINGS)):
        values = tuple(getattr(sweep, field))
        if not values:
            raise UsageError(f"gaussian_sweep.{field} is empty; choose from {list(allowed)}")
        for value in values:
            check_choice(f"gaussian_sweep.{field} entry", value, allowed)
    for noise in sweep.label_noise:
        check_fraction("gaussian_sweep.label_noise entry", noise)
    check_choice("gaussian_sweep.learner", sweep.learner, ("teacher", "model"))
    check_positive("gaussian_sweep.learner_width", sweep.learner_width)


def compose(ctx: Context) -> Report:
    config, workdir = ctx.config, ctx.workdir
    rows = []
    for inputs, teacher, sampling, noise in sweep_settings(config):
        sub = setting_config(config, inputs, teacher, sampling, noise)
        sub_dir = io_utils.join(workdir, f"{inputs}_{teacher}_{sampling}_noise{noise:g}")
        data = load_data(sub)
        if ctx.runtime.precision_pending:  # "auto": by the first setting's learner
            ctx.runtime.settle_precision(train_step_gflop(sub, data))
        ens = members_and_ensemble(sub, sub_dir, ctx.runtime, data, member_seeds(sub))
        single = ens["members"]["accuracy"]
        rows.append({"input": inputs, "teacher": teacher, "sampling": sampling,
                     "label_noise": float(noise), "learner": sub.model.name, "single": single,
                     "ensemble": ens["test"]["accuracy"],
                     "gain": ens["test"]["accuracy"] - single["mean"]})
    header, body = table(rows)
    result = io_utils.json_data({"experiment": "gaussian", "rows": rows,
                                 "num_members": config.ensemble.num_members,
                                 "table": plain_table(header, body)})
    text = (f"# Single vs ensemble of {config.ensemble.num_members} on Gaussian-like "
            f"data\n\n{markdown_table(header, body)}\n")
    return Report(result, text)
