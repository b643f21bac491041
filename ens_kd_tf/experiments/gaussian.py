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
from ens_kd_tf.data import load_dataset
from ens_kd_tf.experiments import summary
from ens_kd_tf.experiments.ensemble import ensemble_stage
from ens_kd_tf.experiments.members import member_seeds, train_members
from ens_kd_tf.report import markdown_table, plain_table
from ens_kd_tf.strategy import Runtime


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


def run(config, workdir: str, runtime: Runtime) -> dict:
    done = summary.load_summary(workdir)
    if done:
        return done
    rows = []
    for inputs, teacher, sampling, noise in sweep_settings(config):
        sub = setting_config(config, inputs, teacher, sampling, noise)
        sub_dir = io_utils.join(workdir, f"{inputs}_{teacher}_{sampling}_noise{noise:g}")
        data = load_dataset(sub.data)
        seeds = member_seeds(sub)
        train_members(sub, sub_dir, runtime, data, seeds)
        ens = ensemble_stage(sub, sub_dir, io_utils.join(sub_dir, "ensemble"), runtime, data,
                             seeds)
        single = ens["members"]["accuracy"]
        rows.append({"input": inputs, "teacher": teacher, "sampling": sampling,
                     "label_noise": float(noise), "learner": sub.model.name, "single": single,
                     "ensemble": ens["test"]["accuracy"],
                     "gain": ens["test"]["accuracy"] - single["mean"]})
    result = io_utils.json_data({"experiment": "gaussian", "rows": rows, "complete": True,
                                 "num_members": config.ensemble.num_members,
                                 "table": plain_table(*table(rows))})
    if runtime.is_chief:
        header, body = table(rows)
        text = (f"# Single vs ensemble of {config.ensemble.num_members} on Gaussian-like "
                f"data\n\n{markdown_table(header, body)}\n")
        io_utils.write_text_atomic(io_utils.join(workdir, "report.md"), text)
        io_utils.write_json_atomic(io_utils.join(workdir, "results.json"), result)
    return result
