"""Optimizers and learning-rate schedules from `config.train` (keras.optimizers).

Weight decay (`train.weight_decay`, PyTorch's meaning: the gradient gains wd * w):
  l2         an L2 penalty (wd / 2) * sum(w^2) on every weight, added to the loss
             (the paper's / PyTorch SGD's coupled weight decay);
  decoupled  the optimizer's own `weight_decay` (w -= lr * wd * w each step; AdamW's).
"""

from __future__ import annotations

from typing import List

import keras
from keras import ops

from ens_kd_tf.errors import UsageError, check_choice, check_fraction, check_positive

OPTIMIZERS = ("sgd", "adamw", "adam")
SCHEDULES = ("constant", "step", "cosine")
WEIGHT_DECAY_MODES = ("l2", "decoupled")


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `after(0)` over `warmup_steps`, then `after(step - warmup)`."""

    def __init__(self, after, warmup_steps: int):
        self.after = after
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = ops.cast(self.warmup_steps, "float32")
        target = self.after(ops.maximum(step - warm, 0.0))
        if self.warmup_steps == 0:
            return target
        ramp = self.after(0.0) * ops.minimum((step + 1.0) / warm, 1.0)
        return ops.where(step < warm, ramp, target)

    def get_config(self):
        return {"after": keras.saving.serialize_keras_object(self.after),
                "warmup_steps": self.warmup_steps}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["after"]),
                   config["warmup_steps"])


def validate_train(train) -> None:
    """Checks config section `train` (names, ranges, the schedule's fractions)."""
    check_choice("train.optimizer", train.optimizer, OPTIMIZERS)
    check_choice("train.schedule", train.schedule, SCHEDULES)
    check_choice("train.weight_decay_mode", train.weight_decay_mode, WEIGHT_DECAY_MODES)
    for field in ("epochs", "batch_size", "learning_rate", "steps_per_execution",
                  "keep_checkpoints", "eval_every_epochs"):
        check_positive(f"train.{field}", train[field])
    for field in ("weight_decay", "checkpoint_every_steps", "eval_batch_size",
                  "warmup_epochs", "momentum"):
        check_positive(f"train.{field}", train[field], allow_zero=True)
    check_fraction("train.label_smoothing", train.label_smoothing)
    if train.warmup_epochs >= train.epochs:
        raise UsageError(f"train.warmup_epochs={train.warmup_epochs} covers the whole run of "
                         f"{train.epochs} epochs; make it smaller")
    points = tuple(train.lr_decay_at)
    if not all(isinstance(p, (int, float)) and 0 < p < 1 for p in points) or \
            list(points) != sorted(points):
        raise UsageError(f"train.lr_decay_at={points!r} is not valid; it must be increasing "
                         "fractions of the run in (0, 1), e.g. (0.3, 0.6, 0.8)")


def decay_boundaries(fractions, total_steps: int) -> List[int]:
    """Step boundaries at the given fractions of training (e.g. (0.3, 0.6, 0.8) of 200 epochs
    = epochs 60, 120, 160, the paper's schedule)."""
    return [max(1, int(round(f * total_steps))) for f in fractions]


def make_schedule(train, steps_per_epoch: int):
    """The learning-rate schedule of `train` (config.train) over the whole run."""
    total = train.epochs * steps_per_epoch
    warmup = min(int(round(train.warmup_epochs * steps_per_epoch)), total - 1)
    lr = train.learning_rate
    if train.schedule == "constant":
        after = keras.optimizers.schedules.PiecewiseConstantDecay([total], [lr, lr])
    elif train.schedule == "step":
        bounds = [max(1, b - warmup) for b in decay_boundaries(train.lr_decay_at, total)]
        values = [lr * train.lr_decay_factor ** i for i in range(len(bounds) + 1)]
        after = keras.optimizers.schedules.PiecewiseConstantDecay(bounds, values)
    else:
        after = keras.optimizers.schedules.CosineDecay(lr, max(1, total - warmup))
    return WarmupSchedule(after, warmup)


def make_optimizer(train, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """SGD (Nesterov momentum) / AdamW / Adam with the schedule and weight-decay mode."""
    schedule = make_schedule(train, steps_per_epoch)
    decoupled = train.weight_decay if train.weight_decay_mode == "decoupled" else None
    decoupled = decoupled or None
    if train.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=train.momentum, nesterov=train.nesterov,
                                    weight_decay=decoupled)
    if train.optimizer == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=decoupled or 0.0)
    return keras.optimizers.Adam(schedule, weight_decay=decoupled)


def l2_coefficient(train) -> float:
    """Coefficient c of the L2 penalty c * sum(w^2) the models get (0 when decoupled)."""
    if train.weight_decay_mode != "l2":
        return 0.0
    return train.weight_decay / 2.0


def steps_per_execution(requested: int, steps_per_epoch: int) -> int:
    """The largest divisor of steps_per_epoch that is <= requested, so executions never span
    epoch ends (checkpoints and resumes then fall on execution boundaries)."""
    requested = max(1, min(requested, steps_per_epoch))
    return max(d for d in range(1, requested + 1) if steps_per_epoch % d == 0)

