"""Cached teacher outputs over a bank of augmented views must belong to the very images the
student's stream shows: the bank is drawn with the STUDENT's seed, not the teacher's."""

import numpy as np
import pytest

from conftest import tiny_config
from ens_kd_tf.data import load_dataset
from ens_kd_tf.data.pipeline import train_batches
from ens_kd_tf.stages.distill import distill_stage
from ens_kd_tf.stages.classifier import new_classifier, with_seed


class _StreamBuilt(Exception):
    """Raised by the spy once the training stream's arguments are known (no training)."""


def test_cached_views_match_the_teacher_on_the_students_augmented_images(
        tmp_path, cpu_runtime, monkeypatch):
    config = tiny_config("self_distill", "self_distill")
    config.data.multiview.num_train = 64
    config.train.batch_size = 32
    config.data.augment.crop_padding = 2
    config.data.augment.flip = True
    config.distill.teacher_views = 2
    config.distill.teacher_outputs = "cached"
    config.seed = 0  # the teacher's seed; the student's differs
    student_seed = 5
    data = load_dataset(config.data)
    with cpu_runtime.strategy.scope():
        teacher = new_classifier(config, data)  # untrained: its outputs differ per image

    seen = {}

    def spy(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        raise _StreamBuilt

    monkeypatch.setattr("ens_kd_tf.stages.classifier.train_batches", spy)
    with pytest.raises(_StreamBuilt):
        distill_stage(config, str(tmp_path / "sd"), cpu_runtime, data, lambda: teacher,
                      student_seed, "teacher (seed 0)")
    args, kwargs = seen["args"], seen["kwargs"]
    assert args[2] == with_seed(config, student_seed).seed == student_seed
    stream = train_batches(*args, **kwargs)
    per_epoch = data.num_train // config.train.batch_size
    worst = 0.0
    for x, _, cached in stream.take(2 * per_epoch):  # both views of the bank
        fresh = np.asarray(teacher(x, training=False))
        worst = max(worst, float(np.max(np.abs(np.asarray(cached) - fresh))))
    assert worst < 1e-4, f"cached teacher logits differ from teacher(x_aug) by {worst}"
