"""Workarounds for Keras 3 `fit` under MultiWorkerMirroredStrategy (keras-team/keras#20585),
applied only to multi-worker runs. Each names the failure it avoids; drop it once Keras
fixes the bug (tests/test_multiworker.py will tell)."""

from __future__ import annotations

import keras
import tensorflow as tf


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def build_from_spec(model: keras.Model, element_spec) -> None:
    """Builds `model` symbolically from the dataset's element spec, and skips Keras' own build
    in `fit`: that one all-reduces a distributed (x, y) batch structure, which the collective
    ops cannot take ("Attempt to convert a value (PerReplica...) to a Tensor")."""
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=element_spec)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def patch_scalar_log_reduction() -> None:
    """Keras reduces each step's logs with strategy.reduce("MEAN", v, axis=0), which fails on
    the scalar losses and metrics ("Invalid reduction dimension 0 for input with 0
    dimensions"). Metric results are already synchronised over replicas, so the mean over
    replicas (axis=None) is the value."""
    from keras.src.backend.tensorflow import trainer

    original = getattr(trainer.reduce_per_replica, "__wrapped__", trainer.reduce_per_replica)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and is_multi_worker(strategy):
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica.__wrapped__ = original
    trainer.reduce_per_replica = reduce_per_replica
