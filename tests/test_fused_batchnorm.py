"""models.layers.BatchNormalization (TF's fused kernel in training mode) against Keras' own
layer: same outputs, gradients and moving statistics, same weight layout, also under XLA
and mixed_bfloat16. Under MirroredStrategy a synchronized layer falls back to Keras' call:
tests/test_strategy.py checks that 2 replicas still give the one-device (fused) weights."""

import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from ens_kd_tf.models import build_model
from ens_kd_tf.models.layers import BatchNormalization

TOL = 1e-4
# The module (ens_kd_tf.models re-exports its function under the same name).
wide_resnet_module = importlib.import_module("ens_kd_tf.models.wide_resnet")


def keras_bn_wrn(monkeypatch, name="wrn_10_2", **kwargs):
    """The same WRN built with keras.layers.BatchNormalization (the reference)."""
    with monkeypatch.context() as m:
        m.setattr(wide_resnet_module, "BatchNormalization", keras.layers.BatchNormalization)
        return build_model(name, 10, (16, 16, 3), **kwargs)


def pair(monkeypatch, **kwargs):
    keras.utils.set_random_seed(0)
    ours = build_model("wrn_10_2", 10, (16, 16, 3), **kwargs)
    reference = keras_bn_wrn(monkeypatch, **kwargs)
    reference.set_weights(ours.get_weights())
    return ours, reference


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (n, 16, 16, 3)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int32)
    return x, y


def bn_layers(model):
    return [layer for layer in model.layers
            if isinstance(layer, keras.layers.BatchNormalization)]


def test_wrn_uses_the_fused_layer_with_keras_weight_layout(monkeypatch):
    ours, reference = pair(monkeypatch, sync_batchnorm=True)
    assert all(type(layer) is BatchNormalization for layer in bn_layers(ours))
    assert [v.path for v in ours.variables] == [v.path for v in reference.variables]
    assert [v.shape for v in ours.variables] == [v.shape for v in reference.variables]


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize("jit", [False, True])
def test_train_step_matches_keras_batchnorm(monkeypatch, sync, jit):
    ours, reference = pair(monkeypatch, sync_batchnorm=sync, l2=1e-3)
    x, y = batch()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(model):
        @tf.function(jit_compile=jit)
        def run(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                loss = loss_fn(y, logits) + tf.add_n(model.losses)
            return logits, tape.gradient(loss, model.trainable_variables)
        return run(x, y)

    logits, grads = step(ours)
    ref_logits, ref_grads = step(reference)
    np.testing.assert_allclose(logits, ref_logits, rtol=TOL, atol=TOL)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=TOL, atol=TOL * float(np.abs(r).max() + 1e-3))
    for a, b in zip(ours.non_trainable_variables, reference.non_trainable_variables):
        assert "moving" in a.path
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=TOL, atol=TOL)
    # The moving statistics moved (the fused path updated them) and inference agrees.
    assert not np.allclose(bn_layers(ours)[0].moving_mean.numpy(), 0.0)
    np.testing.assert_allclose(ours(x, training=False), reference(x, training=False),
                               rtol=TOL, atol=TOL)


def test_fit_matches_keras_batchnorm(monkeypatch):
    ours, reference = pair(monkeypatch, sync_batchnorm=True)
    x, y = batch(16)
    for model in (ours, reference):
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9), keras.losses.
                      SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.variables, reference.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-4)


def test_mixed_bfloat16_matches_keras_batchnorm(monkeypatch):
    policy = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        ours, reference = pair(monkeypatch, sync_batchnorm=True)
        layer = bn_layers(ours)[1]
        ref_layer = bn_layers(reference)[1]
        h = tf.cast(tf.random.stateless_normal((4, 8, 8, layer.gamma.shape[0]), (1, 2)) * 3 + 1,
                    "bfloat16")
        out, ref = layer(h, training=True), ref_layer(h, training=True)
        assert out.dtype == ref.dtype == tf.bfloat16
        # Both round the same float32 result to bfloat16: at most one bf16 ulp apart.
        np.testing.assert_allclose(tf.cast(out, "float32"), tf.cast(ref, "float32"),
                                   rtol=2 ** -7, atol=2 ** -7)
        np.testing.assert_allclose(layer.moving_variance.numpy(),
                                   ref_layer.moving_variance.numpy(), rtol=TOL)
        out, ref = layer(h, training=False), ref_layer(h, training=False)
        assert out.dtype == ref.dtype == tf.bfloat16
        np.testing.assert_allclose(tf.cast(out, "float32"), tf.cast(ref, "float32"),
                                   rtol=2 ** -7, atol=2 ** -7)
    finally:
        keras.mixed_precision.set_dtype_policy(policy)


def test_weights_saved_with_keras_batchnorm_load(monkeypatch, tmp_path):
    keras.utils.set_random_seed(1)
    reference = keras_bn_wrn(monkeypatch)
    reference.save_weights(str(tmp_path / "ref.weights.h5"))
    ours = build_model("wrn_10_2", 10, (16, 16, 3))
    ours.load_weights(str(tmp_path / "ref.weights.h5"))
    for a, b in zip(ours.variables, reference.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    ours.save(str(tmp_path / "ours.keras"))
    loaded = keras.models.load_model(str(tmp_path / "ours.keras"))
    assert type(bn_layers(loaded)[0]) is BatchNormalization
    x, _ = batch()
    np.testing.assert_allclose(loaded(x, training=False), ours(x, training=False), rtol=1e-6)


@pytest.mark.parametrize("jit", [False, True])
def test_inference_matches_keras_batchnorm(monkeypatch, jit):
    ours, reference = pair(monkeypatch)
    for layer in bn_layers(reference):
        shape = layer.moving_mean.shape
        layer.moving_mean.assign(tf.random.stateless_normal(shape, (3, 4)))
        layer.moving_variance.assign(tf.random.stateless_uniform(shape, (5, 6), 0.5, 2.0))
        layer.gamma.assign(tf.random.stateless_uniform(shape, (7, 8), 0.5, 1.5))
        layer.beta.assign(tf.random.stateless_normal(shape, (9, 10)))
    ours.set_weights(reference.get_weights())
    x, _ = batch()
    run = [tf.function(lambda x, m=m: m(x, training=False), jit_compile=jit)
           for m in (ours, reference)]
    out, ref = run[0](x), run[1](x)
    np.testing.assert_allclose(out, ref, rtol=TOL, atol=TOL * float(np.abs(ref).max()))

def op_types(fn, *args):
    return {op.type for op in fn.get_concrete_function(*args).graph.get_operations()}


@pytest.mark.parametrize("sync", [True, False])
def test_training_call_runs_the_fused_kernel_on_one_replica(sync):
    layer = BatchNormalization(synchronized=sync)
    x = tf.random.stateless_normal((2, 4, 4, 3), (0, 1))
    training = tf.function(lambda x: layer(x, training=True))
    inference = tf.function(lambda x: layer(x, training=False))
    assert "FusedBatchNormV3" in op_types(training, x)
    assert "FusedBatchNormV3" in op_types(inference, x)


def test_masked_call_is_keras_own():
    layer = BatchNormalization()
    x = tf.random.stateless_normal((2, 4, 4, 3), (0, 1))
    mask = tf.ones((2, 4, 4), bool)
    masked = tf.function(lambda x: layer(x, training=True, mask=mask))
    assert "FusedBatchNormV3" not in op_types(masked, x)



def test_wrn_saved_model_and_keras_file_reload(tmp_path):
    from ens_kd_tf.export import export_saved_model, load_keras, save_keras_atomic

    keras.utils.set_random_seed(2)
    model = build_model("wrn_10_1", 10, (16, 16, 3))
    x, y = batch(16)
    model.compile(keras.optimizers.SGD(0.05), keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), jit_compile=False)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # moving statistics away from 0 / 1
    expected = model(x, training=False).numpy()
    export_saved_model(model, str(tmp_path / "export"), (16, 16, 3), "features")
    served = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]
    np.testing.assert_allclose(served(features=tf.constant(x))["logits"], expected, rtol=1e-5,
                               atol=1e-5)
    save_keras_atomic(model, str(tmp_path / "model.keras"))
    np.testing.assert_allclose(load_keras(str(tmp_path / "model.keras"))(x, training=False),
                               expected, rtol=1e-5, atol=1e-5)
