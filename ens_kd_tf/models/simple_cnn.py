"""SimpleCNN-d-w: the plain convolutional network of PAPER.md Table 2 (our definition).

The paper gives no code, so we define SimpleCNN-d-w as d conv3x3 layers (each conv -> [BN] ->
ReLU) in three stages of 16w, 32w and 64w channels; the d layers are split over the stages as
evenly as possible (earlier stages take the remainder) and the first conv of stages 2 and 3 has
stride 2. Then global average pooling and a dense layer. He-normal init, convs with bias when
there is no BN. SimpleCNN-10-3: 4 + 3 + 3 layers of 48, 96, 192 channels.
"""

from __future__ import annotations

from typing import Optional, Tuple

import keras

from ens_kd_tf.errors import UsageError


def simple_cnn(
    depth: int,
    width: int,
    num_classes: int,
    input_shape: Tuple[int, ...] = (32, 32, 3),
    l2: float = 0.0,
    batchnorm: bool = True,
    sync_batchnorm: bool = False,
    dropout_rate: float = 0.0,
    name: Optional[str] = None,
) -> keras.Model:
    """Builds SimpleCNN-depth-width: images [B, H, W, C] -> float32 logits [B, num_classes]."""
    if depth < 3:
        raise UsageError(f"simple_cnn depth {depth} is not valid; it must be >= 3")
    if width < 1:
        raise UsageError(f"simple_cnn width {width} is not valid; it must be >= 1")
    reg = keras.regularizers.L2(l2) if l2 else None
    per_stage = [depth // 3 + (1 if s < depth % 3 else 0) for s in range(3)]
    inputs = keras.Input(input_shape)
    x = inputs
    for stage, layers in enumerate(per_stage):
        for i in range(layers):
            stride = 2 if stage > 0 and i == 0 else 1
            x = keras.layers.Conv2D(
                16 * width * 2 ** stage, 3, strides=stride, padding="same",
                use_bias=not batchnorm, kernel_initializer="he_normal",
                kernel_regularizer=reg, name=f"stage{stage + 1}_conv{i + 1}")(x)
            if batchnorm:
                x = keras.layers.BatchNormalization(
                    momentum=0.9, epsilon=1e-5, synchronized=sync_batchnorm,
                    gamma_regularizer=reg, beta_regularizer=reg,
                    name=f"stage{stage + 1}_bn{i + 1}")(x)
            x = keras.layers.ReLU(name=f"stage{stage + 1}_relu{i + 1}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout_rate:
        x = keras.layers.Dropout(dropout_rate, name="dropout")(x)
    logits = keras.layers.Dense(
        num_classes, kernel_regularizer=reg, bias_regularizer=reg, dtype="float32",
        name="logits")(x)
    return keras.Model(inputs, logits, name=name or f"simple_cnn_{depth}_{width}")
