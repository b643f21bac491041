"""Neural-kernel counterparts of zoo models (PAPER.md Table 2): NTK, NTK' and GP.

- `Linearized` (NTK): the first-order Taylor model at initialisation,
      f_lin(x) = f(W0, x) + J(W0, x) (W - W0),
  trained over D = W - W0 (zero at init). The Jacobian-vector product is computed with forward
  mode (tf.autodiff.ForwardAccumulator) inside the step, so the Jacobian is never
  materialised; the gradient to D is one vjp of f at W0 (f_lin is linear in D). Weight decay
  acts on D, i.e. it pulls W towards W0 (kernel ridge regression's regulariser).
- NTK' (`parameterization="ntk"`): the same with the NTK parameterisation. Every kernel is
  W = sigma * Omega / sqrt(fan_in) with Omega ~ N(0, 1) the trained parameter (sigma^2 = 2,
  He); biases are trained as they are. In the linear model this is D_kernel = c * Omega_delta
  with c = sqrt(2 / fan_in), so per-layer gradients are scaled by c and updates by c^2: the
  layer-wise learning rates of the NTK parameterisation, same function class at init.
- `last_layer_only` (GP): the network's random features are frozen at init and only the last
  layer is trained, the random-feature approximation of the NNGP kernel.

Kernel variants drop batch normalisation (a batch-dependent nonlinearity has no fixed kernel),
so the zoo builds their base networks with `batchnorm=False`.
"""

from __future__ import annotations

import math
from typing import List

import keras
import tensorflow as tf

PARAMETERIZATIONS = ("standard", "ntk")


def _fan_in(shape) -> int:
    return int(math.prod(shape[:-1])) if len(shape) > 1 else 1


@keras.saving.register_keras_serializable(package="ens_kd_tf")
class Linearized(keras.Model):
    """f_lin(x) = f(W0, x) + J(W0, x) (c * D): inputs as the base model -> float32 logits.

    Args:
      base: a built zoo model whose weights are W0 (frozen here).
      parameterization: "standard" (NTK) or "ntk" (NTK', see the module docstring).
    """

    def __init__(self, base: keras.Model, parameterization: str = "standard",
                 primal_paths: tuple = (), **kwargs):
        super().__init__(**kwargs)
        if parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization={parameterization!r}; choose from "
                             f"{list(PARAMETERIZATIONS)}")
        self.base = base
        self.parameterization = parameterization
        # W0 = the base's trainable weights, kept by path (the base owns and saves them; a
        # deserialized base is frozen, so from_config passes the paths back)
        by_path = {w.path: w for w in base.weights}
        primals = ([by_path[p] for p in primal_paths] if primal_paths
                   else list(base.trainable_weights))
        self._primal_paths = tuple(w.path for w in primals)
        self.base.trainable = False
        self.deltas: List[keras.Variable] = [
            self.add_weight(shape=w.shape, initializer="zeros", name=f"delta_{i}",
                            regularizer=self._regularizer_of(w))
            for i, w in enumerate(primals)]
        self.scales = tuple(self._scale(w) for w in primals)
        self.built = True

    @property
    def primals(self) -> list:
        """W0: the base's originally trainable weights, in the order of `deltas`."""
        by_path = {w.path: w for w in self.base.weights}
        return [by_path[p] for p in self._primal_paths]

    def _regularizer_of(self, weight):
        for layer in self.base._flatten_layers():
            for attr in ("kernel", "bias", "gamma", "beta"):
                if getattr(layer, attr, None) is weight:
                    return getattr(layer, f"{attr}_regularizer", None)
        return None

    def _scale(self, weight) -> float:
        is_kernel = len(weight.shape) > 1
        if self.parameterization == "ntk" and is_kernel:
            return math.sqrt(2.0 / _fan_in(weight.shape))
        return 1.0

    def call(self, inputs, training=False):
        primals = [w.value for w in self.primals]
        tangents = [tf.cast(d, w.dtype) * s if s != 1.0 else tf.cast(d, w.dtype)
                    for s, d, w in zip(self.scales, self.deltas, primals)]
        return _linear_model(self.base, primals, inputs, tangents)

    def compute_output_shape(self, input_shape):
        return self.base.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "parameterization": self.parameterization,
                "primal_paths": list(self._primal_paths),
                "base": keras.saving.serialize_keras_object(self.base)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        base = keras.saving.deserialize_keras_object(config.pop("base"))
        config["primal_paths"] = tuple(config.get("primal_paths", ()))
        return cls(base, **config)


def _linear_model(base: keras.Model, primals: list, inputs, tangents: list):
    """f(W0, x) + J(W0, x) t, float32 [B, k]; the gradient to t is J^T g, one vjp.

    Differentiating the forward-mode jvp in reverse (reverse over forward) costs ~100x a
    train step in TF; since f_lin is linear in t, its gradient is the plain vjp of f at W0.
    """

    @tf.custom_gradient
    def linear(x, *t):
        with tf.autodiff.ForwardAccumulator(primals, list(t)) as acc:
            out = base(x, training=False)
        jvp = acc.jvp(out, unconnected_gradients=tf.UnconnectedGradients.ZERO)

        def grad(upstream, variables=None):
            with tf.GradientTape() as tape:
                tape.watch(primals)
                again = tf.cast(base(x, training=False), "float32")
            vjp = tape.gradient(again, primals, output_gradients=upstream,
                                unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return (None, *vjp), [None] * len(variables or ())

        return tf.cast(out, "float32") + tf.cast(jvp, "float32"), grad

    return linear(inputs, *tangents)


def linearize(model: keras.Model, parameterization: str = "standard",
              name: str | None = None) -> Linearized:
    """The linearized (NTK, or with parameterization="ntk" NTK') model of `model` at its
    current weights."""
    return Linearized(model, parameterization, name=name or f"{model.name}_lin")


def last_layer_only(model: keras.Model) -> keras.Model:
    """Freezes every layer but the last one with weights (GP / random features); returns
    `model`."""
    with_weights = [layer for layer in model._flatten_layers(include_self=False)
                    if layer.weights and not layer._flatten_layers(include_self=False)]
    for layer in with_weights[:-1]:
        layer.trainable = False
    return model
