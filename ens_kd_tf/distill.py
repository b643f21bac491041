"""The Distiller: a student trained to match a frozen teacher (knowledge distillation when
the teacher is an ensemble, self-distillation when it is one model of the same architecture).

    loss = alpha * CE(labels, s) + (1 - alpha) * T^2 * KL(softmax(c t / T) || softmax(s / T))
           + the student's regularisation losses

with c = `teacher_scale` (default 1): c > 1 sharpens the teacher, e.g. c = L distills from
the sum of L members' logits instead of their average (configs/multiview.py:theory).

Everything is float32 and reduces like Keras losses (per replica, scaled by the replica
count), so N replicas compute the single-device update. The teacher runs in inference mode,
outside the gradient tape, in the same compiled step as the student, and sees the same
augmented batch; or its outputs come with the batch (cached teacher outputs).

Batches: train (x, y) or (x, y, teacher_logits); eval (x, y, weight) or
(x, y, weight, teacher_logits).
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf
from keras import ops

from ens_kd_tf.errors import UsageError
from ens_kd_tf.losses import SoftTargetKL, SparseCrossentropy


def _replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def check_distill_params(temperature: float, alpha: float, teacher_scale: float = 1.0) -> None:
    if not teacher_scale > 0:
        raise UsageError(f"distill.teacher_scale={teacher_scale!r} is not valid; it must be > 0 "
                         "(the factor on the teacher's logits)")
    if not temperature > 0:
        raise UsageError(f"distill.temperature={temperature!r} is not valid; it must be > 0")
    if not 0.0 <= alpha <= 1.0:
        raise UsageError(f"distill.alpha={alpha!r} is not valid; it must be in [0, 1] "
                         "(the weight of the hard-label loss)")


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class Distiller(keras.Model):
    """Trains `student` on hard labels and a frozen `teacher`'s softened outputs.

    Args:
      student: model to train, inputs -> logits [B, k].
      teacher: frozen model with the same inputs and k (an Ensemble for KD, one model for
        self-distillation), or None when every batch carries the teacher's logits.
      temperature: T > 0.
      alpha: weight of the hard-label cross-entropy; 1 - alpha weighs the soft term.
      label_smoothing: of the hard-label term.
      teacher_scale: c > 0, the factor on the teacher's logits before softening.
    """

    def __init__(self, student: keras.Model, teacher: Optional[keras.Model] = None,
                 temperature: float = 4.0, alpha: float = 0.1, label_smoothing: float = 0.0,
                 teacher_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        check_distill_params(temperature, alpha, teacher_scale)
        self.student = student
        self.teacher = teacher
        if teacher is not None:
            teacher.trainable = False
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.label_smoothing = float(label_smoothing)
        self.teacher_scale = float(teacher_scale)
        self.hard_loss_fn = SparseCrossentropy(label_smoothing)
        self.soft_loss_fn = SoftTargetKL(temperature)
        self.per_example_hard = SparseCrossentropy(label_smoothing, reduction=None)
        self.per_example_soft = SoftTargetKL(temperature, reduction=None)
        self.total_tracker = keras.metrics.Mean(name="loss")
        self.hard_tracker = keras.metrics.Mean(name="hard_loss")
        self.soft_tracker = keras.metrics.Mean(name="soft_loss")
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.nll_metric = keras.metrics.SparseCategoricalCrossentropy(name="nll",
                                                                      from_logits=True)
        self.agreement_tracker = keras.metrics.Mean(name="agreement")

    @property
    def metrics(self):
        return [self.total_tracker, self.hard_tracker, self.soft_tracker,
                self.accuracy_metric, self.nll_metric, self.agreement_tracker]

    def call(self, x, training=False):
        return self.student(x, training=training)

    def teacher_logits(self, x, carried=None):
        """The teacher's logits (times teacher_scale): carried in the batch, or computed in
        inference mode."""
        if carried is not None:
            t = ops.cast(carried, "float32")
        elif self.teacher is None:
            raise ValueError("Distiller without a teacher needs teacher logits in each batch")
        else:
            t = ops.stop_gradient(ops.cast(self.teacher(x, training=False), "float32"))
        return t * self.teacher_scale if self.teacher_scale != 1.0 else t

    def _combine(self, hard, soft):
        return self.alpha * hard + (1.0 - self.alpha) * self.temperature ** 2 * soft

    def _update_quality(self, y, t, s, weight=None):
        self.accuracy_metric.update_state(y, s, sample_weight=weight)
        self.nll_metric.update_state(y, s, sample_weight=weight)
        agree = ops.cast(ops.argmax(s, axis=-1) == ops.argmax(t, axis=-1), "float32")
        self.agreement_tracker.update_state(agree, sample_weight=weight)

    def train_step(self, data):
        x, y = data[0], data[1]
        t = self.teacher_logits(x, data[2] if len(data) > 2 else None)  # outside the tape
        variables = self.student.trainable_variables
        with tf.GradientTape() as tape:
            s = ops.cast(self.student(x, training=True), "float32")
            hard = self.hard_loss_fn(y, s)  # already divided by the replica count
            soft = self.soft_loss_fn(t, s)
            total = self._combine(hard, soft)
            if self.student.losses:
                total += ops.sum(self.student.losses) / _replicas()
            scaled = self.optimizer.scale_loss(total)
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        n = _replicas()
        self.total_tracker.update_state(total * n)
        self.hard_tracker.update_state(hard * n)
        self.soft_tracker.update_state(soft * n)
        self._update_quality(y, t, s)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y, weight = data[0], data[1], data[2]
        t = self.teacher_logits(x, data[3] if len(data) > 3 else None)
        s = ops.cast(self.student(x, training=False), "float32")
        hard = self.per_example_hard(y, s)
        soft = self.per_example_soft(t, s)
        self.hard_tracker.update_state(hard, sample_weight=weight)
        self.soft_tracker.update_state(soft, sample_weight=weight)
        self.total_tracker.update_state(self._combine(hard, soft), sample_weight=weight)
        self._update_quality(y, t, s, weight)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            "student": keras.saving.serialize_keras_object(self.student),
            "teacher": (keras.saving.serialize_keras_object(self.teacher)
                        if self.teacher is not None else None),
            "temperature": self.temperature,
            "alpha": self.alpha,
            "label_smoothing": self.label_smoothing,
            "teacher_scale": self.teacher_scale,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["student"] = keras.saving.deserialize_keras_object(config["student"])
        if config.get("teacher") is not None:
            config["teacher"] = keras.saving.deserialize_keras_object(config["teacher"])
        return cls(**config)
