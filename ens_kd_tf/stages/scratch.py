"""Same-seed scratch models: the like-for-like baseline of every distilled student.

A KD or SD student of seed s is compared with a plain model of the SAME seed s (same
initialisation, same data order, same budget) trained on the labels alone, so the student's
`gain` (student minus scratch, in accuracy points) measures what distillation adds, not what
the seed adds. The scratch model is this workdir's member of seed s when there is one (the
same training: self-distillation's student from scratch, or a paper row's member seed + 1),
else it is trained at <workdir>/scratch/seed_<s>/ (a workdir written before this stage
existed resumes and just runs it).
"""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.stages.classifier import train_classifier, with_seed
from ens_kd_tf.stages.members import member_dir
from ens_kd_tf.stages.results import load_results, row, views_of
from ens_kd_tf.strategy import Runtime

KIND = "scratch_same_seed"
STUDENT_LABELS = {"kd": "KD student", "sd": "SD student"}


def scratch_dir(workdir: str, seed: int) -> str:
    return io_utils.join(workdir, "scratch", f"seed_{seed}")


def same_seed_scratch(config, workdir: str, runtime: Runtime, data: ArrayDataset,
                      seed: int) -> dict:
    """Results of a plain model of `seed` trained with `config`: the workdir's finished
    member of that seed if any, else trained (resuming) in <workdir>/scratch/seed_<seed>/."""
    member = load_results(member_dir(workdir, seed))
    if member:
        return member
    return train_classifier(with_seed(config, seed), scratch_dir(workdir, seed), runtime, data)


def gain_points(student: dict, scratch: dict) -> float:
    """Student minus same-seed scratch test accuracy, in points."""
    return 100.0 * (student["test"]["accuracy"] - scratch["test"]["accuracy"])


def student_row(name: str, kind: str, student: dict, scratch: dict, **extra) -> dict:
    """A student's table row: its seed and its gain over the same-seed scratch model."""
    return row(name, student["test"], kind=kind, seed=student["seed"],
               gain=gain_points(student, scratch), **views_of(student), **extra)


def scratch_row(scratch: dict, student_kind: str) -> dict:
    """The row of the scratch model a `student_kind` ("kd" or "sd") student is compared to."""
    label = STUDENT_LABELS[student_kind]
    return row(f"scratch, same seed as {label}", scratch["test"], kind=KIND,
               seed=scratch["seed"], student=student_kind, **views_of(scratch))
