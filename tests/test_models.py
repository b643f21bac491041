"""Model zoo: names, published parameter counts, float32 logits, custom layers."""

import keras
import numpy as np
import pytest

from ens_kd_tf.errors import UsageError
from ens_kd_tf.models import build_classifier, build_model
from ens_kd_tf.models.layers import smoothed_relu


def trainable_params(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


@pytest.mark.parametrize("name,millions", [
    ("wrn_28_10", 36.5),  # Zagoruyko & Komodakis, Table on CIFAR-10
    ("wrn_16_4", 2.75),
    ("wrn_28_2", 1.47),
])
def test_wide_resnet_parameter_counts_match_published(name, millions):
    count = trainable_params(build_model(name, 10))
    digits = 2 if millions < 10 else 1
    assert round(count / 1e6, digits) == millions


def test_aliases_resolve_to_wide_resnets():
    assert trainable_params(build_model("resnet_34", 10)) == trainable_params(
        build_model("wrn_34_1", 10))
    assert trainable_params(build_model("resnet10_2", 10)) == trainable_params(
        build_model("wrn_10_2", 10))


def test_wrn_depth_must_be_6n_plus_4():
    with pytest.raises(UsageError, match="6n \\+ 4"):
        build_model("wrn_27_2", 10)


def test_unknown_model_lists_the_valid_forms():
    with pytest.raises(UsageError) as err:
        build_model("vgg16", 10)
    message = str(err.value)
    assert "'vgg16'" in message and "wrn_<depth>_<width>" in message
    assert "simple_cnn_<depth>_<width>" in message and "\n" not in message


def test_simple_cnn_stages_and_output():
    model = build_model("simple_cnn_10_3", 100, (32, 32, 3))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [48] * 4 + [96] * 3 + [192] * 3
    assert model.output_shape == (None, 100)


def test_logits_are_float32_under_mixed_precision():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        for name, shape in (("wrn_10_1", (16, 16, 3)), ("simple_cnn_3_1", (16, 16, 3)),
                            ("patch_net", (4, 24))):
            model = build_model(name, 5, shape)
            out = model(np.zeros((2,) + shape, np.float32))
            assert out.dtype == "float32", name
            assert model.layers[1].compute_dtype == "bfloat16", name
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_patch_net_is_the_theory_formula():
    model = build_model("patch_net", 3, (5, 8), neurons_per_class=2, relu_threshold=0.5,
                        relu_power=3.0)
    x = np.random.default_rng(0).normal(size=(4, 5, 8)).astype(np.float32)
    w = model.get_layer("neurons").kernel.numpy()  # [d, k*m]
    z = np.einsum("bpd,dn->bpn", x, w)
    expected = np.asarray(smoothed_relu(z, 0.5, 3.0)).reshape(4, 5, 3, 2).sum(axis=(1, 3))
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_smoothed_relu_values_by_hand():
    z = np.array([-1.0, 0.0, 0.25, 0.5, 2.0], np.float32)
    # r = 0.5, q = 3: z^3 / (3 * 0.25) on [0, r]; z - (2/3) * 0.5 above.
    expected = [0.0, 0.0, 0.25 ** 3 / 0.75, 0.5 ** 3 / 0.75, 2.0 - 1.0 / 3.0]
    np.testing.assert_allclose(np.asarray(smoothed_relu(z, 0.5, 3.0)), expected, rtol=1e-6)


def test_classifier_standardizes_raw_pixels():
    mean, std = (10.0, 20.0, 30.0), (2.0, 4.0, 8.0)
    clf = build_classifier("simple_cnn_3_1", 4, (8, 8, 3), "image", mean, std)
    x = np.random.default_rng(1).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    net = clf.layers[-1]
    expected = net((x - np.array(mean)) / np.array(std)).numpy()
    np.testing.assert_allclose(clf(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_build_model_ignores_fields_other_models_use():
    model = build_model("patch_net", 3, (4, 8), dropout_rate=0.1, sync_batchnorm=True)
    assert model.output_shape == (None, 3)
