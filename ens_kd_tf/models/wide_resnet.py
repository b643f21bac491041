"""Wide ResNets (Zagoruyko & Komodakis 2016), pre-activation, CIFAR stem.

WRN-d-w: a 3x3 conv stem with 16 channels, then 3 groups of n = (d - 4) / 6 pre-activation
basic blocks (BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3) with 16w, 32w, 64w channels and
strides 1, 2, 2; a 1x1 conv shortcut on the pre-activated input where the shape changes; then
BN-ReLU, global average pooling and a dense layer. Convs have no bias and He-normal init.
PAPER.md's "ResNet-d-w" is WRN-d-w; its "ResNet-34" is WRN-34-1.
"""

from __future__ import annotations

from typing import Optional, Tuple

import keras

from ens_kd_tf.errors import UsageError
from ens_kd_tf.models.layers import BatchNormalization


def _regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def _bn_relu(x, sync: bool, l2: float, name: str):
    x = BatchNormalization(
        momentum=0.9, epsilon=1e-5, synchronized=sync,
        gamma_regularizer=_regularizer(l2), beta_regularizer=_regularizer(l2),
        name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _conv(x, channels: int, kernel: int, stride: int, l2: float, name: str):
    return keras.layers.Conv2D(
        channels, kernel, strides=stride, padding="same", use_bias=False,
        kernel_initializer="he_normal", kernel_regularizer=_regularizer(l2), name=name)(x)


def _block(x, channels, stride, dropout_rate, batchnorm, sync, l2, name):
    def act(t, tag):
        if batchnorm:
            return _bn_relu(t, sync, l2, f"{name}_{tag}")
        return keras.layers.ReLU(name=f"{name}_{tag}_relu")(t)

    pre = act(x, "pre")
    if x.shape[-1] == channels and stride == 1:
        shortcut = x
    else:
        shortcut = _conv(pre, channels, 1, stride, l2, f"{name}_shortcut")
    y = _conv(pre, channels, 3, stride, l2, f"{name}_conv1")
    y = act(y, "mid")
    if dropout_rate:
        y = keras.layers.Dropout(dropout_rate, name=f"{name}_dropout")(y)
    y = _conv(y, channels, 3, 1, l2, f"{name}_conv2")
    return keras.layers.Add(name=f"{name}_add")([y, shortcut])


def wide_resnet(
    depth: int,
    width: int,
    num_classes: int,
    input_shape: Tuple[int, ...] = (32, 32, 3),
    dropout_rate: float = 0.0,
    l2: float = 0.0,
    sync_batchnorm: bool = False,
    batchnorm: bool = True,
    name: Optional[str] = None,
) -> keras.Model:
    """Builds WRN-depth-width: images [B, H, W, C] -> float32 logits [B, num_classes].

    Args:
      depth: 6n + 4 (10, 16, 22, 28, 34, ...).
      width: channel multiplier w (>= 1).
      dropout_rate: dropout between the two convs of each block (WRN's option).
      l2: coefficient of the L2 penalty sum(w^2) on every weight (0 = none).
      sync_batchnorm: batch statistics over all replicas, so the update does not depend on
        how the global batch is split (what makes N replicas equal one device).
      batchnorm: False drops BN (used by the neural-kernel variants).
    """
    if depth < 10 or (depth - 4) % 6:
        raise UsageError(
            f"model depth {depth} is not valid for a wide ResNet; depth must be 6n + 4 with "
            "n >= 1 (10, 16, 22, 28, 34, 40, ...)")
    if width < 1:
        raise UsageError(f"model width {width} is not valid; it must be >= 1")
    blocks = (depth - 4) // 6
    inputs = keras.Input(input_shape)
    x = _conv(inputs, 16, 3, 1, l2, "stem_conv")
    for group, (channels, stride) in enumerate(((16 * width, 1), (32 * width, 2),
                                                (64 * width, 2))):
        for b in range(blocks):
            x = _block(x, channels, stride if b == 0 else 1, dropout_rate, batchnorm,
                       sync_batchnorm, l2, f"group{group + 1}_block{b + 1}")
    if batchnorm:
        x = _bn_relu(x, sync_batchnorm, l2, "final")
    else:
        x = keras.layers.ReLU(name="final_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    logits = keras.layers.Dense(
        num_classes, kernel_regularizer=_regularizer(l2), bias_regularizer=_regularizer(l2),
        dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name=name or f"wrn_{depth}_{width}")
