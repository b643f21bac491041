"""Small custom layers shared by the zoo (serializable, so models save as .keras)."""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class Standardize(keras.layers.Layer):
    """(x - mean) / std per channel, with constants (not weights) so parameter counts match
    the published ones. Lets exported models take raw pixels.

    Input: [..., C] float; output the same shape in the layer's compute dtype.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        mean = ops.convert_to_tensor(self.mean, dtype=self.compute_dtype)
        std = ops.convert_to_tensor(self.std, dtype=self.compute_dtype)
        return (x - mean) / std

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


def smoothed_relu(z, threshold: float, power: float):
    """The theory's smoothed ReLU: 0 for z <= 0, z^q / (q r^(q-1)) on [0, r], z - (1 - 1/q) r
    above r (r = threshold, q = power); continuous with a continuous derivative."""
    r, q = threshold, power
    zc = ops.clip(z, 0.0, r)
    low = ops.power(zc, q) / (q * r ** (q - 1.0))
    return ops.where(z > r, z - (1.0 - 1.0 / q) * r, low)


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class SmoothedReLU(keras.layers.Layer):
    """Layer form of `smoothed_relu`."""

    def __init__(self, threshold: float = 0.1, power: float = 3.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = float(threshold)
        self.power = float(power)

    def call(self, z):
        return smoothed_relu(z, self.threshold, self.power)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold, "power": self.power}
