"""Losses used by the trainers (keras.losses.Loss subclasses, so they reduce over the batch
and scale for replicas the way Keras does: N replicas give the single-device update)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class SparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels [B] against logits [B, k], with label smoothing.

    (keras.losses.SparseCategoricalCrossentropy has no label smoothing.)
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        one_hot = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype="float32")
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=True, label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def classifier_metrics() -> list:
    """Accuracy and NLL; both weighted, so zero-weight padding of eval batches is ignored."""
    return [
        keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        keras.metrics.SparseCategoricalCrossentropy(name="nll", from_logits=True),
    ]


def tempered_kl(teacher_logits, student_logits, temperature: float):
    """KL(softmax(t / T) || softmax(s / T)) per example: [B, k], [B, k] -> [B] float32."""
    t = ops.cast(teacher_logits, "float32") / temperature
    s = ops.cast(student_logits, "float32") / temperature
    log_p_teacher = t - ops.logsumexp(t, axis=-1, keepdims=True)
    log_p_student = s - ops.logsumexp(s, axis=-1, keepdims=True)
    return ops.sum(ops.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=-1)


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class SoftTargetKL(keras.losses.Loss):
    """KL(softmax(t / T) || softmax(s / T)) per example, in float32.

    y_true: teacher logits [B, k]; y_pred: student logits [B, k]. Multiply by T^2 to keep
    the soft term's gradient scale independent of T (Hinton et al. 2015).
    """

    def __init__(self, temperature: float = 4.0, name: str = "soft_target_kl", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        return tempered_kl(y_true, y_pred, self.temperature)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class SoftTargetDistillation(keras.distillation.DistillationLoss):
    """The paper's soft term as a `keras.distillation` loss: T^2 * mean_b KL(softmax(t_b / T)
    || softmax(s_b / T)), in float32, on logits t, s [B, k]; the Distiller's default.

    It works in a stock `keras.distillation.Distiller` too. Compared with Keras 3.15.1's
    `keras.distillation.LogitsDistillation(temperature=T)` (source: keras/src/distillation/
    distillation_loss.py):
      - the default `loss="kl_divergence"` resolves to the *function*
        `keras.losses.kl_divergence`, not a `keras.losses.KLDivergence` instance, so its
        softmax-and-T^2 branch (an isinstance check) is skipped: it returns
        mean_b sum_k c(t/T) log(c(t/T) / c(s/T)) with c = clip to [1e-7, 1], the scaled
        logits read as probabilities; no softmax, no T^2 (tests/test_keras_distillation.py).
      - with `loss=keras.losses.KLDivergence()` it applies softmax to t/T and s/T, clips the
        probabilities to [1e-7, 1], averages over the batch and multiplies by T^2: ours up to
        that clipping (equal to float tolerance unless a probability is below 1e-7).
    """

    def __init__(self, temperature: float = 4.0):
        if not temperature > 0:
            raise ValueError(f"temperature={temperature!r} must be > 0")
        self.temperature = float(temperature)

    def per_example(self, teacher_logits, student_logits):
        """T^2 * KL per example: [B, k], [B, k] -> [B] float32."""
        return self.temperature ** 2 * tempered_kl(teacher_logits, student_logits,
                                                   self.temperature)

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """Scalar: the batch mean of `per_example` (not scaled for replicas)."""
        return ops.mean(self.per_example(teacher_outputs, student_outputs))

    def get_config(self):
        return {"temperature": self.temperature}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
