"""Ensembles of same-architecture members and the jointly trained sum of members.

Both are functional keras.Models built around `CombineLogits`, so they run inside compiled
(XLA) train steps, checkpoint, save as .keras and export as one SavedModel.

  build_ensemble(members, reduction)  L trained members -> their unweighted average
      "logits": mean of the members' logits (the paper's convention, default)
      "probs":  log of the mean of their softmax probabilities (softmax of the output is
                then the averaged probabilities)
  build_joint_sum(make_member, L, reduction)  L fresh members trained end to end as one model
      "sum": sum of logits (PAPER.md's "train sum of f_l", default); "mean": average
"""

from __future__ import annotations

from typing import Callable, Sequence

import keras
from keras import ops

from ens_kd_tf.errors import UsageError, check_choice

ENSEMBLE_REDUCTIONS = ("logits", "probs")
JOINT_REDUCTIONS = ("sum", "mean")


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class CombineLogits(keras.layers.Layer):
    """Combines L logit tensors [B, k] into one [B, k] float32.

    mode: "mean" (average of logits), "sum" (sum of logits) or "mean_probs" (log of the
    average of the softmax probabilities).
    """

    MODES = ("mean", "sum", "mean_probs")

    def __init__(self, mode: str = "mean", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        check_choice("CombineLogits mode", mode, self.MODES)
        self.mode = mode

    def call(self, logits_list):
        stacked = ops.stack([ops.cast(t, "float32") for t in logits_list], axis=0)
        if self.mode == "sum":
            return ops.sum(stacked, axis=0)
        if self.mode == "mean":
            return ops.mean(stacked, axis=0)
        log_probs = stacked - ops.logsumexp(stacked, axis=-1, keepdims=True)
        count = ops.cast(ops.shape(stacked)[0], "float32")
        return ops.logsumexp(log_probs, axis=0) - ops.log(count)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def check_members_compatible(members: Sequence[keras.Model], names: Sequence[str]) -> None:
    """All members must take the same input shape and give the same number of classes."""
    if not members:
        raise UsageError("an ensemble needs at least one member")
    ref_in, ref_out = tuple(members[0].input_shape[1:]), members[0].output_shape[-1]
    for member, name in zip(members[1:], names[1:]):
        if tuple(member.input_shape[1:]) != ref_in:
            raise UsageError(
                f"ensemble member {name} takes inputs of shape {tuple(member.input_shape[1:])} "
                f"but {names[0]} takes {ref_in}; members must share the input shape")
        if member.output_shape[-1] != ref_out:
            raise UsageError(
                f"ensemble member {name} has {member.output_shape[-1]} classes but {names[0]} "
                f"has {ref_out}; members must share the number of classes")


def build_ensemble(members: Sequence[keras.Model], reduction: str = "logits",
                   names: Sequence[str] = (), name: str = "ensemble") -> keras.Model:
    """The unweighted average of trained members: inputs -> float32 logits [B, k]."""
    names = list(names) or [m.name for m in members]
    check_members_compatible(members, names)
    inputs = keras.Input(tuple(members[0].input_shape[1:]), name="inputs")
    outputs = [m(inputs, training=False) for m in members]
    mode = {"logits": "mean", "probs": "mean_probs"}[reduction]
    combined = CombineLogits(mode, name="average")(outputs)
    return keras.Model(inputs, combined, name=name)


def build_joint_sum(make_member: Callable[[int], keras.Model], num_members: int,
                    reduction: str = "sum", name: str = "joint_sum") -> keras.Model:
    """L freshly initialised members whose combined logits train as one model.

    Args:
      make_member: i -> a new member (called with i = 0..L-1; seed it by i).
      num_members: L >= 1.
      reduction: "sum" or "mean" of the members' logits (a factor L in logit scale, which
        matters for joint training).
    """
    if num_members < 1:
        raise UsageError(f"joint_sum.num_members={num_members} is not valid; it must be >= 1")
    members = [make_member(i) for i in range(num_members)]
    inputs = keras.Input(tuple(members[0].input_shape[1:]), name="inputs")
    outputs = [m(inputs) for m in members]
    combined = CombineLogits(reduction, name=reduction)(outputs)
    return keras.Model(inputs, combined, name=name)
