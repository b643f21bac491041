"""MLP-d-w: a fully connected ReLU network (flatten, d - 1 hidden layers of w units, a
linear output): the learner for fully connected teachers (data/gaussian.py)."""

from __future__ import annotations

from typing import Optional, Tuple

import keras

from ens_kd_tf.errors import UsageError


def mlp(
    depth: int,
    width: int,
    num_classes: int,
    input_shape: Tuple[int, ...],
    l2: float = 0.0,
    batchnorm: bool = True,
    sync_batchnorm: bool = False,
    dropout_rate: float = 0.0,
    name: Optional[str] = None,
) -> keras.Model:
    """Builds MLP-depth-width: inputs [B, ...] -> float32 logits [B, num_classes]."""
    if depth < 1 or width < 1:
        raise UsageError(f"mlp depth {depth} and width {width} must be >= 1")
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i in range(depth - 1):
        x = keras.layers.Dense(width, use_bias=not batchnorm, kernel_initializer="he_normal",
                               kernel_regularizer=reg, name=f"dense{i + 1}")(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(
                momentum=0.9, epsilon=1e-5, synchronized=sync_batchnorm,
                gamma_regularizer=reg, beta_regularizer=reg, name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
        if dropout_rate:
            x = keras.layers.Dropout(dropout_rate, name=f"dropout{i + 1}")(x)
    logits = keras.layers.Dense(num_classes, kernel_regularizer=reg, bias_regularizer=reg,
                                dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name=name or f"mlp_{depth}_{width}")
