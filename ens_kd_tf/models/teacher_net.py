"""The random-teacher architectures of the Gaussian-like data (PAPER.md Figure 3), also usable
as learners (zoo name `teacher_<kind>_<width>`), so a learner can have exactly its teacher's
architecture: the task is then realizable and a gain of the ensemble cannot come from a
learner that is too small.

  linear                   flatten -> dense(k)
  fc2, fc3                 flatten -> (depth - 1) x [dense(width) + ReLU] -> dense(k)
  res3                     flatten -> dense(width) + ReLU -> 2 residual [dense + ReLU] -> dense(k)
  conv2, conv3             depth x [3x3 conv(width) + ReLU] -> global average pool -> dense(k)
  resconv3                 conv -> 2 residual 3x3 conv blocks -> global average pool -> dense(k)
All layers He-initialised, with biases; no normalisation (the teachers are plain networks).
"""

from __future__ import annotations

from typing import Optional, Tuple

import keras

TEACHER_KINDS = ("linear", "fc2", "fc3", "res3", "conv2", "conv3", "resconv3")


def teacher_net(
    kind: str,
    width: int,
    num_classes: int,
    input_shape: Tuple[int, ...],
    l2: float = 0.0,
    name: Optional[str] = None,
) -> keras.Model:
    """Builds architecture `kind`: inputs [B, H, W, C] -> float32 logits [B, num_classes]."""
    reg = keras.regularizers.L2(l2) if l2 else None

    def dense(units, act=None, dtype=None):
        return keras.layers.Dense(units, activation=act, kernel_initializer="he_normal",
                                  kernel_regularizer=reg, dtype=dtype)

    def conv(x):
        return keras.layers.Conv2D(width, 3, padding="same", activation="relu",
                                   kernel_initializer="he_normal", kernel_regularizer=reg)(x)

    inputs = keras.Input(tuple(input_shape))
    if kind in ("linear", "fc2", "fc3", "res3"):
        h = keras.layers.Flatten()(inputs)
        if kind in ("fc2", "fc3"):
            for _ in range(int(kind[-1]) - 1):
                h = dense(width, "relu")(h)
        elif kind == "res3":
            h = dense(width, "relu")(h)
            for _ in range(2):
                h = keras.layers.Add()([h, dense(width, "relu")(h)])
    else:
        h = inputs
        if kind in ("conv2", "conv3"):
            for _ in range(int(kind[-1])):
                h = conv(h)
        else:  # resconv3
            h = conv(h)
            for _ in range(2):
                h = keras.layers.Add()([h, conv(h)])
        h = keras.layers.GlobalAveragePooling2D()(h)
    logits = dense(num_classes, dtype="float32")(h)
    return keras.Model(inputs, logits, name=name or f"teacher_{kind}_{width}")
