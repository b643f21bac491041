"""Analytic model FLOPs (multiply-adds count 2) for throughput / MFU figures."""

from __future__ import annotations

import keras
import numpy as np


def _layer_flops(layer) -> float:
    if isinstance(layer, keras.Model):
        return sum(_layer_flops(sub) for sub in layer.layers)
    if isinstance(layer, keras.layers.Conv2D):
        out_h, out_w = layer.output.shape[1:3]
        k = int(np.prod(layer.kernel_size))
        cin = layer.kernel.shape[-2]
        return 2.0 * k * cin * layer.filters * out_h * out_w
    if isinstance(layer, keras.layers.Dense):
        out_shape = layer.output.shape[1:-1]
        return 2.0 * layer.kernel.shape[0] * layer.units * float(np.prod(out_shape or [1]))
    return 0.0


def forward_flops(model: keras.Model) -> float:
    """FLOPs of one example's forward pass through conv and dense layers (the bulk of it)."""
    return sum(_layer_flops(layer) for layer in model.layers)


def train_step_flops(model: keras.Model) -> float:
    """A training step costs ~3 forward passes per example (forward, 2x backward)."""
    return 3.0 * forward_flops(model)
