"""saliency.png of an experiment (the paper's Fig. 4): per-member input saliency on a few
fixed test inputs, one column per ensemble member plus the KD student (view_plots.py)."""

from __future__ import annotations

from typing import Optional, Sequence

import tensorflow as tf

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.export import load_keras
from ens_kd_tf.probes import view_geometry
from ens_kd_tf.stages.members import load_member_models
from ens_kd_tf.stages.results import MODEL_FILE
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.view_plots import write_saliency_png

SALIENCY_PNG = "saliency.png"


def write_saliency(config, workdir: str, runtime: Runtime, data: ArrayDataset,
                   member_root: str, seeds: Sequence[int],
                   student_dir: Optional[str] = None) -> None:
    """Writes <workdir>/saliency.png: members `seeds` of `member_root`, then the student in
    `student_dir` (its model.keras) when given."""
    if not runtime.is_chief:
        return
    models, _ = load_member_models(member_root, seeds)
    named = [(f"member seed {s}", m) for s, m in zip(seeds, models)]
    if student_dir and tf.io.gfile.exists(io_utils.join(student_dir, MODEL_FILE)):
        named.append(("KD student", load_keras(io_utils.join(student_dir, MODEL_FILE))))
    write_saliency_png(io_utils.join(workdir, SALIENCY_PNG), data, named, view_geometry(config))
