"""tf.data pipelines with static shapes and resumable, reproducible order.

The training stream is a pure function of (seed, global step): epoch e visits the permutation
of the training set drawn from (seed, e), and each example's augmentation draws from the
stateless seed (seed, e * N + i). A run resumed at step s therefore sees exactly the batches
an uninterrupted run sees, and the ordering does not depend on the number of replicas.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import tensorflow as tf

from ens_kd_tf.data.base import ArrayDataset

AUTOTUNE = tf.data.AUTOTUNE


def steps_per_epoch(num_examples: int, global_batch: int) -> int:
    """Full batches per epoch (the remainder is dropped so every step has a static shape)."""
    return num_examples // global_batch


def augment_image(
    image: tf.Tensor, seed: tf.Tensor, crop_padding: int, flip: bool
) -> tf.Tensor:
    """Pad-and-random-crop plus horizontal flip, stateless in `seed` ([2] int64).

    Args:
      image: [H, W, C] uint8 or float.
    """
    if crop_padding:
        shape = tf.shape(image)
        padded = tf.pad(image, [[crop_padding, crop_padding], [crop_padding, crop_padding], [0, 0]])
        image = tf.image.stateless_random_crop(padded, shape, seed=seed)
    if flip:
        image = tf.image.stateless_random_flip_left_right(
            image, seed=tf.random.experimental.stateless_fold_in(seed, 1))
    return image


def train_batches(
    data: ArrayDataset,
    global_batch: int,
    seed: int,
    start_step: int = 0,
    crop_padding: int = 0,
    flip: bool = False,
    extras: Sequence[np.ndarray] = (),
    bank_views: int = 0,
    view_extras: Sequence[np.ndarray] = (),
) -> tf.data.Dataset:
    """Infinite stream of training batches from global step `start_step` on.

    Args:
      data: the dataset; only its train split is used.
      global_batch: examples per step over all replicas.
      seed: order and augmentation seed.
      start_step: the first step to produce (resuming a run).
      crop_padding, flip: augmentation of image inputs (ignored for features).
      extras: arrays [N, ...] aligned with the training set (e.g. cached teacher logits),
        batched beside each example.
      bank_views: V > 0 draws augmentations from a fixed bank of V views: epoch e uses view
        e mod V, whose augmentation is exactly `augmented_view(..., view)`'s.
      view_extras: arrays [N, V, ...] (e.g. teacher logits of each view), batched beside
        each example at the view its epoch uses.

    Yields:
      (x [B, *input_shape] float32, y [B] int32) or, with extras, (x, y, *extras) batches.
    """
    n = data.num_train
    per_epoch = steps_per_epoch(n, global_batch)
    if per_epoch < 1:
        raise ValueError(f"batch {global_batch} exceeds the {n} training examples")
    start_epoch, offset = divmod(start_step, per_epoch)
    x_all = tf.constant(data.x_train)
    y_all = tf.constant(data.y_train)
    extras_all = [tf.constant(e) for e in extras]
    view_extras_all = [tf.constant(e) for e in view_extras]
    is_image = data.info.input_kind == "image"
    base_seed = tf.constant(seed, tf.int64)

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([base_seed, epoch]))
        order = order[: per_epoch * global_batch]
        return tf.data.Dataset.from_tensor_slices(order).map(lambda i: (epoch, i))

    def load(epoch, i):
        view = epoch % bank_views if bank_views else epoch
        x = tf.gather(x_all, i)
        if is_image and (crop_padding or flip):
            x = augment_image(x, tf.stack([base_seed, view * n + i]), crop_padding, flip)
        out = (tf.cast(x, tf.float32), tf.gather(y_all, i))
        out += tuple(tf.gather(e, i) for e in extras_all)
        return out + tuple(e[i, view] for e in view_extras_all)

    stream = tf.data.Dataset.range(start_epoch, np.iinfo(np.int64).max).flat_map(epoch_order)
    stream = stream.skip(offset * global_batch)
    stream = stream.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    return stream.batch(global_batch, drop_remainder=True).prefetch(AUTOTUNE)


def augmented_view(
    data: ArrayDataset, global_batch: int, seed: int, view: int, crop_padding: int = 0,
    flip: bool = False,
) -> Tuple[tf.data.Dataset, int]:
    """The training inputs in index order under augmentation view `view` (the augmentation
    `train_batches` gives epoch `view`), in padded static-shape batches; returns (dataset,
    number of real rows)."""
    n = data.num_train
    pad = (-n) % global_batch
    x_all = tf.constant(data.x_train)
    base_seed = tf.constant(seed, tf.int64)
    is_image = data.info.input_kind == "image"

    def load(i):
        x = tf.gather(x_all, tf.minimum(i, n - 1))
        if is_image and (crop_padding or flip):
            x = augment_image(x, tf.stack([base_seed, view * n + i]), crop_padding, flip)
        return tf.cast(x, tf.float32)

    ds = tf.data.Dataset.range(n + pad).map(load, num_parallel_calls=AUTOTUNE,
                                            deterministic=True)
    return ds.batch(global_batch, drop_remainder=True).prefetch(AUTOTUNE), n


def padded_eval_arrays(
    x: np.ndarray, y: np.ndarray, global_batch: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pads to a multiple of `global_batch`; returns (x, y, weight) with weight 0 on padding."""
    n = x.shape[0]
    pad = (-n) % global_batch
    weight = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
    x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    y = np.concatenate([y, np.zeros(pad, y.dtype)])
    return x, y, weight


def eval_batches(
    x: np.ndarray, y: np.ndarray, global_batch: int, extras: Sequence[np.ndarray] = ()
) -> tf.data.Dataset:
    """The whole split in static-shape batches: (x float32, y int32, weight) (+ extras).

    The last batch is padded with zero-weight examples, so weighted metrics are exact over
    the full split.
    """
    xp, yp, w = padded_eval_arrays(x, y, global_batch)
    pad = xp.shape[0] - x.shape[0]
    padded_extras = tuple(
        np.concatenate([e, np.zeros((pad,) + e.shape[1:], e.dtype)]) for e in extras)
    ds = tf.data.Dataset.from_tensor_slices((xp, yp, w) + padded_extras)
    ds = ds.map(lambda xb, *rest: (tf.cast(xb, tf.float32),) + tuple(rest),
                num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.batch(global_batch, drop_remainder=True).prefetch(AUTOTUNE)


def input_batches(x: np.ndarray, global_batch: int) -> Tuple[tf.data.Dataset, int]:
    """Inputs only, padded to static-shape batches; returns (dataset, number of real rows)."""
    n = x.shape[0]
    pad = (-n) % global_batch
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    ds = tf.data.Dataset.from_tensor_slices(xp).map(
        lambda xb: tf.cast(xb, tf.float32), num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.batch(global_batch, drop_remainder=True).prefetch(AUTOTUNE), n

