"""The theory's learner: a two-layer convolutional network over patches.

f_j(X) = sum_{r < m} sum_{p < P} smoothed_relu(<w_{j,r}, x_p>), for classes j < k,
with m neurons per class, shared over the P patches (a 1x1 convolution over patches) and no
trained output layer, as in Allen-Zhu & Li. Weights start at N(0, (init_scale / sqrt(d))^2).
"""

from __future__ import annotations

from typing import Optional, Tuple

import keras
from keras import ops

from ens_kd_tf.errors import UsageError
from ens_kd_tf.models.layers import SmoothedReLU


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class ClassSum(keras.layers.Layer):
    """[B, P, k*m] activations -> [B, k] logits: the sum over patches and a class's m neurons."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def call(self, a):
        a = ops.cast(a, self.compute_dtype)
        per_class = ops.reshape(
            a, (-1, a.shape[1], self.num_classes, a.shape[2] // self.num_classes))
        return ops.sum(per_class, axis=(1, 3))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def patch_net(
    num_classes: int,
    input_shape: Tuple[int, ...],
    neurons_per_class: int = 8,
    relu_threshold: float = 0.1,
    relu_power: float = 3.0,
    init_scale: float = 0.1,
    l2: float = 0.0,
    name: Optional[str] = None,
) -> keras.Model:
    """Builds the patch network: patches [B, P, d] -> float32 logits [B, num_classes]."""
    if len(input_shape) != 2:
        raise UsageError(
            f"patch_net needs inputs of shape [P, d] (patches); got {tuple(input_shape)}; use "
            "data.name='multiview_patches' or an image model")
    if neurons_per_class < 1:
        raise UsageError(f"model.neurons_per_class={neurons_per_class} must be >= 1")
    if relu_threshold <= 0 or relu_power < 1:
        raise UsageError(
            f"model.relu_threshold={relu_threshold} must be > 0 and model.relu_power="
            f"{relu_power} >= 1")
    dim = input_shape[-1]
    inputs = keras.Input(input_shape)
    z = keras.layers.Dense(
        num_classes * neurons_per_class, use_bias=False,
        kernel_initializer=keras.initializers.RandomNormal(stddev=init_scale / dim ** 0.5),
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None, name="neurons")(inputs)
    a = SmoothedReLU(relu_threshold, relu_power, name="smoothed_relu")(z)  # [B, P, k*m]
    logits = ClassSum(num_classes, dtype="float32", name="logits")(a)
    return keras.Model(inputs, logits, name=name or "patch_net")
