"""tf.data pipelines: static shapes, resumable order, stateless augmentation, exact eval."""

import numpy as np
import tensorflow as tf

from ens_kd_tf.data import load_dataset
from ens_kd_tf.data.pipeline import augment_image, eval_batches, train_batches


def _take(ds, n):
    return [tuple(t.numpy() for t in batch) for batch in ds.take(n)]


def test_stream_resumed_at_step_s_equals_the_uninterrupted_stream(tiny):
    data = load_dataset(tiny.data)  # 256 examples, batch 32: 8 steps an epoch
    full = _take(train_batches(data, 32, seed=3, crop_padding=2, flip=True), 20)
    for start in (5, 8, 13):
        resumed = _take(train_batches(data, 32, seed=3, start_step=start, crop_padding=2,
                                      flip=True), 20 - start)
        for a, b in zip(full[start:], resumed):
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])


def test_each_epoch_is_a_new_permutation_with_static_shapes(tiny):
    data = load_dataset(tiny.data)
    data.x_train = np.arange(256, dtype=np.float32).reshape(256, 1) * np.ones((1, 4), np.float32)
    data.info = data.info.__class__(**{**data.info.to_json(), "input_kind": "features",
                                       "input_shape": (4,)})
    batches = _take(train_batches(data, 100, seed=0), 4)  # 2 full batches an epoch
    assert all(b[0].shape == (100, 4) for b in batches)
    epoch0 = np.concatenate([b[0][:, 0] for b in batches[:2]])
    epoch1 = np.concatenate([b[0][:, 0] for b in batches[2:]])
    assert len(set(epoch0)) == 200 and len(set(epoch1)) == 200
    assert not np.array_equal(epoch0, epoch1)
    other_seed = _take(train_batches(data, 100, seed=1), 1)
    assert not np.array_equal(other_seed[0][0], batches[0][0])


def test_augmentation_is_a_pad_crop_and_flip_stateless_in_its_seed():
    image = tf.reshape(tf.range(6 * 6 * 1, dtype=tf.float32), (6, 6, 1))
    seed = tf.constant([4, 2], tf.int64)
    a = augment_image(image, seed, crop_padding=2, flip=True)
    b = augment_image(image, seed, crop_padding=2, flip=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape == image.shape
    # every output pixel is 0 (padding) or one of the input values
    values = set(image.numpy().ravel().tolist()) | {0.0}
    assert set(a.numpy().ravel().tolist()) <= values
    seen = {augment_image(image, tf.constant([4, s], tf.int64), 2, True).numpy().tobytes()
            for s in range(20)}
    assert len(seen) > 5


def test_eval_batches_cover_the_split_exactly_once():
    x = np.arange(70, dtype=np.float32).reshape(70, 1)
    y = np.arange(70, dtype=np.int32)
    batches = _take(eval_batches(x, y, 32), 10)
    assert len(batches) == 3 and all(b[0].shape == (32, 1) for b in batches)
    weights = np.concatenate([b[2] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    assert weights.sum() == 70
    np.testing.assert_array_equal(labels[weights == 1], y)


def test_bank_views_repeat_the_augmentation_of_their_view(tiny):
    from ens_kd_tf.data.pipeline import augmented_view

    data = load_dataset(tiny.data)  # 256 examples, 8 steps an epoch at batch 32
    per_view = np.arange(256 * 3, dtype=np.float32).reshape(256, 3)
    stream = train_batches(data, 32, seed=5, crop_padding=2, flip=True, bank_views=3,
                           view_extras=(per_view,))
    batches = _take(stream, 8 * 4)  # epochs 0..3 use views 0, 1, 2, 0
    plain = _take(train_batches(data, 32, seed=5, crop_padding=2, flip=True), 8)
    for a, b in zip(batches[:8], plain):  # view 0 == the plain stream's epoch 0
        np.testing.assert_array_equal(a[0], b[0])
    views = {}
    for v in range(3):
        ds, n = augmented_view(data, 64, seed=5, view=v, crop_padding=2, flip=True)
        views[v] = np.concatenate([b.numpy() for b in ds])[:n]
    for step, (x, y, extra) in enumerate(batches):
        view = (step // 8) % 3
        rows = (extra - view).astype(int) // 3  # per_view[i, v] = 3 i + v
        np.testing.assert_array_equal(extra % 3, view)
        np.testing.assert_array_equal(x, views[view][rows])
        np.testing.assert_array_equal(y, data.y_train[rows])
