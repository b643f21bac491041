"""SavedModel export for serving anywhere TensorFlow runs (no ens_kd_tf import needed).

Signatures (both return {"logits": [B, k] float32, "probabilities": [B, k] float32}):
  image models:   serving_default(images: uint8 [B, H, W, C], pixels 0..255)
                  serve_float(images: float32 [B, H, W, C], pixels scaled to [0, 1])
  feature models: serving_default(features: float32 [B, ...])
"""

from __future__ import annotations

import os
import tempfile
from typing import Sequence

import keras
import tensorflow as tf

# imported for their registration of serializable classes, so load_keras reads any of our
# models in a fresh process
from ens_kd_tf import ensemble, io_utils, models  # noqa: F401
from ens_kd_tf.errors import storage_error


def _outputs(logits):
    logits = tf.cast(logits, tf.float32)
    return {"logits": logits, "probabilities": tf.nn.softmax(logits)}


def export_saved_model(model: keras.Model, path: str, input_shape: Sequence[int],
                       input_kind: str) -> None:
    """Writes `model` as a SavedModel at `path` (atomically on local disks)."""
    shape = [None] + list(input_shape)
    archive = keras.export.ExportArchive()
    archive.track(model)
    if input_kind == "image":
        archive.add_endpoint(
            "serving_default",
            lambda images: _outputs(model(tf.cast(images, tf.float32), training=False)),
            input_signature=[tf.TensorSpec(shape, tf.uint8, name="images")])
        archive.add_endpoint(
            "serve_float",
            lambda images: _outputs(model(tf.cast(images, tf.float32) * 255.0,
                                          training=False)),
            input_signature=[tf.TensorSpec(shape, tf.float32, name="images")])
    else:
        archive.add_endpoint(
            "serving_default",
            lambda features: _outputs(model(features, training=False)),
            input_signature=[tf.TensorSpec(shape, tf.float32, name="features")])
    io_utils.write_dir_atomic(path, lambda d: archive.write_out(d, verbose=False))


def save_keras_atomic(model: keras.Model, path: str) -> None:
    """Saves `model` as a .keras file at `path` (local or gs://) via a temp file + rename."""
    with tempfile.TemporaryDirectory() as local:
        tmp = os.path.join(local, "model.keras")
        try:
            model.save(tmp)
        except OSError as e:
            raise storage_error(path, e) from None
        with open(tmp, "rb") as f:
            io_utils.write_bytes_atomic(path, f.read())


def load_keras(path: str) -> keras.Model:
    """Loads a .keras file with safe_mode (no arbitrary code), from local disk or gs://.

    Any model this package saves loads in a fresh process: this module imports the zoo and
    the ensemble module, whose imports register every serializable class (layers,
    kernels.Linearized, CombineLogits).
    """
    with tempfile.TemporaryDirectory() as local:
        tmp = os.path.join(local, "model.keras")
        tf.io.gfile.copy(path, tmp, overwrite=True)
        return keras.models.load_model(tmp, safe_mode=True, compile=False)
