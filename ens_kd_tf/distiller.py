"""The Distiller: a student trained to match a frozen teacher (knowledge distillation when
the teacher is an ensemble, self-distillation when it is one model of the same architecture).

    loss = alpha * CE(labels, s) + (1 - alpha) * soft(teacher, student)
           + the student's regularisation losses

soft is any `keras.distillation.DistillationLoss`; the default, losses.SoftTargetDistillation,
is the paper's T^2 * KL(softmax(t / T) || softmax(s / T)) on logits. A loss with
`teacher_layer_name` / `student_layer_name` (keras.distillation.FeatureDistillation) gets the
outputs of those layers instead (features.py; for an ensemble teacher, its members' average).

`teacher_scale` c (default 1) multiplies the teacher's logits before the soft loss: c > 1
sharpens the teacher, e.g. c = L distills from the sum of L members' logits instead of their
average (configs/multiview.py:theory).

Everything is float32 and reduces like Keras losses (per replica, scaled by the replica
count), so N replicas compute the single-device update. The teacher runs in inference mode,
outside the gradient tape, in the same compiled step as the student, and sees the same
augmented batch; or its logits come with the batch (cached teacher outputs, logits only).
What keras.distillation.Distiller (Keras 3.15.1, keras/src/distillation/distiller.py) does
differently: it drops the student's regularisation losses (its compute_loss replaces the
Trainer's; tests/test_keras_distillation.py), calls the teacher inside the gradient tape,
does not divide its distillation terms by the replica count (they are plain ops.mean), and
takes one teacher model (ours too: an ensemble is one model, see ensemble.py) with no
cached-output path.

Batches: train (x, y) or (x, y, teacher_logits); eval (x, y, weight) or
(x, y, weight, teacher_logits).
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf
from keras import ops

from ens_kd_tf.errors import UsageError, check_choice
from ens_kd_tf.features import feature_extractor
from ens_kd_tf.losses import SoftTargetDistillation, SparseCrossentropy

SOFT_LOSSES = ("logits", "feature")


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


def check_soft_loss(distill) -> None:
    """distill.soft_loss and, for "feature", its layer names (config validation)."""
    check_choice("distill.soft_loss", distill.soft_loss, SOFT_LOSSES)
    if distill.soft_loss == "feature":
        for field in ("teacher_feature_layer", "student_feature_layer"):
            if not distill[field]:
                raise UsageError(f"distill.{field} is empty; distill.soft_loss='feature' "
                                 "needs a layer name (e.g. 'pool' for wrn_* and simple_cnn_*)")


def make_soft_loss(distill) -> keras.distillation.DistillationLoss:
    """The soft term a config's distill section names: "logits" -> SoftTargetDistillation(T);
    "feature" -> keras.distillation.FeatureDistillation("mse") between the named layers."""
    if distill.soft_loss == "logits":
        return SoftTargetDistillation(distill.temperature)
    return keras.distillation.FeatureDistillation(
        "mse", teacher_layer_name=distill.teacher_feature_layer,
        student_layer_name=distill.student_feature_layer)


def describe_soft_loss(loss: keras.distillation.DistillationLoss) -> str:
    """One line for reports, e.g. "logits: T^2 KL at T = 4.0"."""
    if isinstance(loss, SoftTargetDistillation):
        return f"logits: T^2 KL at T = {loss.temperature}"
    layers = (getattr(loss, "teacher_layer_name", None), getattr(loss, "student_layer_name", None))
    where = f" on teacher {layers[0]} -> student {layers[1]}" if any(layers) else ""
    return f"{type(loss).__name__}{where}"


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class Distiller(keras.Model):
    """Trains `student` on hard labels and a frozen `teacher`'s outputs.

    Args:
      student: model to train, inputs -> logits [B, k].
      teacher: frozen model with the same inputs and k (an Ensemble for KD, one model for
        self-distillation), or None when every batch carries the teacher's logits.
      temperature: T > 0 of the default soft loss (ignored when `soft_loss` is given).
      alpha: weight of the hard-label cross-entropy; 1 - alpha weighs the soft term.
      label_smoothing: of the hard-label term.
      teacher_scale: c > 0, the factor on the teacher's logits (not on features).
      soft_loss: a keras.distillation.DistillationLoss (LogitsDistillation,
        FeatureDistillation, a subclass); None = SoftTargetDistillation(temperature).
        Its compute_loss(teacher_outputs, student_outputs) must return the batch's scalar
        mean; the Distiller scales it for replicas.

    Metrics: loss, hard_loss, soft_loss (the soft term as the loss returns it, T^2 included
    for the default), accuracy, nll, agreement (student argmax == teacher argmax). In eval,
    losses with a `per_example` method (the default) are weighted per example; any other
    loss enters each batch's metric as its batch value weighted by the batch's real examples,
    so the zero-weight padding of the last eval batch counts in that batch's value.
    """

    def __init__(self, student: keras.Model, teacher: Optional[keras.Model] = None,
                 temperature: float = 4.0, alpha: float = 0.1, label_smoothing: float = 0.0,
                 soft_loss: Optional[keras.distillation.DistillationLoss] = None,
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
        self.soft_loss = soft_loss if soft_loss is not None else SoftTargetDistillation(
            temperature)
        if not isinstance(self.soft_loss, keras.distillation.DistillationLoss):
            raise UsageError(f"soft_loss={self.soft_loss!r} is not valid; it must be a "
                             "keras.distillation.DistillationLoss")
        self._teacher_features = self._student_features = None
        t_layer = getattr(self.soft_loss, "teacher_layer_name", None)
        s_layer = getattr(self.soft_loss, "student_layer_name", None)
        if t_layer or s_layer:
            if teacher is None:
                raise UsageError("feature distillation needs the teacher model: cached "
                                 "teacher outputs carry logits only (use "
                                 "distill.teacher_outputs='on_the_fly')")
            if not (t_layer and s_layer):
                raise UsageError("feature distillation needs both layer names "
                                 f"(teacher {t_layer!r}, student {s_layer!r})")
            self._teacher_features = feature_extractor(teacher, t_layer,
                                                       "distill.teacher_feature_layer")
            self._student_features = feature_extractor(student, s_layer,
                                                       "distill.student_feature_layer")
        self.teacher_scale = float(teacher_scale)
        self.hard_loss_fn = SparseCrossentropy(label_smoothing)
        self.per_example_hard = SparseCrossentropy(label_smoothing, reduction=None)
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

    def teacher_outputs(self, x, carried=None):
        """(teacher logits [B, k] float32, what the soft loss compares): carried in the batch
        or computed in inference mode, never differentiated. Features are always computed
        (carried outputs are logits only)."""
        if carried is not None and self._teacher_features is None:
            t = self._scaled(ops.cast(carried, "float32"))
            return t, t
        if self.teacher is None:
            raise ValueError("Distiller without a teacher needs teacher logits in each batch")
        if self._teacher_features is not None:
            t, feats = self._teacher_features(x, training=False)
            return (self._scaled(ops.stop_gradient(ops.cast(t, "float32"))),
                    ops.stop_gradient(ops.cast(feats, "float32")))
        t = self._scaled(ops.stop_gradient(ops.cast(self.teacher(x, training=False), "float32")))
        return t, t

    def _scaled(self, t):
        return t * self.teacher_scale if self.teacher_scale != 1.0 else t

    def teacher_logits(self, x, carried=None):
        return self.teacher_outputs(x, carried)[0]

    def student_outputs(self, x, training: bool):
        """(student logits [B, k] float32, what the soft loss compares)."""
        if self._student_features is not None:
            s, feats = self._student_features(x, training=training)
            return ops.cast(s, "float32"), ops.cast(feats, "float32")  # also under bf16
        s = ops.cast(self.student(x, training=training), "float32")
        return s, s

    def _soft(self, t_out, s_out):
        """The soft loss's batch mean (a scalar), in float32."""
        self.soft_loss.validate_outputs(t_out, s_out)
        value = ops.cast(self.soft_loss.compute_loss(t_out, s_out), "float32")
        if len(value.shape) > 0:
            raise ValueError(f"{type(self.soft_loss).__name__}.compute_loss returned shape "
                             f"{value.shape}; it must return a scalar")
        return value

    def _combine(self, hard, soft):
        return self.alpha * hard + (1.0 - self.alpha) * soft

    def _update_quality(self, y, t, s, weight=None):
        self.accuracy_metric.update_state(y, s, sample_weight=weight)
        self.nll_metric.update_state(y, s, sample_weight=weight)
        agree = ops.cast(ops.argmax(s, axis=-1) == ops.argmax(t, axis=-1), "float32")
        self.agreement_tracker.update_state(agree, sample_weight=weight)

    def loss_terms(self, y, s, t_out, s_out):
        """(total, hard, soft) of one batch on this replica, each divided by the replica
        count (so the replicas' gradients sum to the global batch's): the loss the student
        minimises, with its regularisation. s: student logits [B, k]; t_out / s_out: what
        the soft loss compares (teacher_outputs / student_outputs)."""
        n = _replicas()
        hard = self.hard_loss_fn(y, s)  # already divided by the replica count
        soft = self._soft(t_out, s_out) / n
        total = self._combine(hard, soft)
        if self.student.losses:
            total += ops.sum(self.student.losses) / n
        return total, hard, soft

    def train_step(self, data):
        x, y = data[0], data[1]
        t, t_out = self.teacher_outputs(x, data[2] if len(data) > 2 else None)  # no tape
        variables = self.student.trainable_variables
        n = _replicas()
        with tf.GradientTape() as tape:
            s, s_out = self.student_outputs(x, training=True)
            total, hard, soft = self.loss_terms(y, s, t_out, s_out)
            scaled = self.optimizer.scale_loss(total)
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        self.total_tracker.update_state(total * n)
        self.hard_tracker.update_state(hard * n)
        self.soft_tracker.update_state(soft * n)
        self._update_quality(y, t, s)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y, weight = data[0], data[1], data[2]
        t, t_out = self.teacher_outputs(x, data[3] if len(data) > 3 else None)
        s, s_out = self.student_outputs(x, training=False)
        hard = self.per_example_hard(y, s)
        self.hard_tracker.update_state(hard, sample_weight=weight)
        per_example = getattr(self.soft_loss, "per_example", None)
        if per_example is not None:
            soft = per_example(t_out, s_out)
            self.soft_tracker.update_state(soft, sample_weight=weight)
            self.total_tracker.update_state(self._combine(hard, soft), sample_weight=weight)
        else:
            soft = self._soft(t_out, s_out)
            real = ops.sum(ops.cast(weight, "float32"))
            self.soft_tracker.update_state(soft, sample_weight=real)
            mean_hard = ops.sum(hard * weight) / ops.maximum(real, 1.0)
            self.total_tracker.update_state(self._combine(mean_hard, soft), sample_weight=real)
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
            "soft_loss": keras.saving.serialize_keras_object(self.soft_loss),
            "teacher_scale": self.teacher_scale,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("student", "teacher", "soft_loss"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
