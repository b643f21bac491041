"""What the distillation stage's student trains on: (x, y) batches with the teacher run in
the step ("on_the_fly"), or (x, y, teacher_logits) with the teacher's logits computed once
and stored ("cached"; over a fixed bank of augmented views when the data is augmented).
"""

from __future__ import annotations

import io
from typing import Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from ens_kd_tf import io_utils, train
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.data.pipeline import augmented_view
from ens_kd_tf.errors import UsageError
from ens_kd_tf.evaluate import predict_logits
from ens_kd_tf.stages.classifier import eval_set, label_stream

MODES = ("auto", "on_the_fly", "cached")
CACHE_FILE = "teacher_logits.npz"


def teacher_output_mode(config) -> str:
    """"on_the_fly" or "cached", from distill.teacher_outputs (see config_defaults)."""
    aug = config.data.augment
    augmented = bool(aug.crop_padding or aug.flip) and config.data.name != "multiview_patches"
    mode = config.distill.teacher_outputs
    if config.distill.soft_loss == "feature":  # the cache holds logits only (validated)
        return "on_the_fly"
    if mode == "auto":
        return "cached" if not augmented or config.distill.teacher_views else "on_the_fly"
    if mode == "cached" and augmented and not config.distill.teacher_views:
        raise UsageError(
            "distill.teacher_outputs='cached' with data augmentation is only exact over a "
            "fixed bank of views; set distill.teacher_views=<V> or use 'on_the_fly'")
    return mode


def cached_teacher_logits(config, stage_dir: str, teacher: keras.Model, data: ArrayDataset,
                          plan: train.FitPlan) -> Tuple[np.ndarray, np.ndarray]:
    """Teacher logits on the training inputs ([N, k], or [N, V, k] over a bank of V views)
    and the test inputs [N_test, k]; stored in the stage dir so a resume skips them.

    `config` is the student's: its seed draws the bank's augmentations, which must be the
    ones the student's training stream shows (label_stream uses the same seed)."""
    path = io_utils.join(stage_dir, CACHE_FILE)
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path, "rb") as f:
            stored = np.load(f, allow_pickle=False)
            return stored["train"], stored["test"]
    views = config.distill.teacher_views
    aug = config.data.augment
    if views:
        per_view = []
        for v in range(views):
            ds, n = augmented_view(data, plan.eval_batch_size, config.seed, v,
                                   aug.crop_padding, aug.flip)
            per_view.append(np.asarray(teacher.predict(ds, verbose=0), np.float32)[:n])
        train_logits = np.stack(per_view, axis=1)
    else:
        train_logits = predict_logits(teacher, data.x_train, plan.eval_batch_size)
    test_logits = predict_logits(teacher, data.x_test, plan.eval_batch_size)
    buf = io.BytesIO()
    np.savez(buf, train=train_logits, test=test_logits)
    io_utils.write_bytes_atomic(path, buf.getvalue())
    return train_logits, test_logits


def student_streams(config, data: ArrayDataset, plan: train.FitPlan, mode: str,
                    cached_train: Optional[np.ndarray], teacher_test: np.ndarray):
    """(train BatchStream, test set) for the Distiller: with "cached", each training batch
    carries the teacher's logits (of the batch's view in the bank); the test set always
    carries the teacher's test logits (the agreement metric)."""
    views = config.distill.teacher_views if mode == "cached" else 0
    if mode != "cached":
        batches = label_stream(config, data, plan)
    elif views:
        batches = label_stream(config, data, plan, bank_views=views,
                               view_extras=(cached_train,))
    else:
        batches = label_stream(config, data, plan, extras=(cached_train,))
    return batches, eval_set(data, plan, (teacher_test,))
