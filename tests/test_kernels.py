"""Neural-kernel models (kernels.py): linearization, NTK parameterisation, GP."""

import numpy as np
import pytest
import keras

from ens_kd_tf.models.kernels import Linearized, last_layer_only, linearize
from ens_kd_tf.models import build_model
from ens_kd_tf.models.simple_cnn import simple_cnn

X = np.random.default_rng(0).standard_normal((6, 8, 8, 3)).astype("float32")
Y = np.arange(6) % 10


def _base(seed=0):
    keras.utils.set_random_seed(seed)
    return simple_cnn(3, 1, 10, (8, 8, 3), batchnorm=False, l2=1e-4)


def _smooth_base(seed=0):
    """A smooth network (tanh): first-order agreement is exact to O(|W - W0|^2); with ReLU,
    activation flips blur the order."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(8, 3, activation="tanh")(inputs)
    h = keras.layers.Conv2D(8, 3, activation="tanh")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(10)(h))


def _moved_copy(base, deltas):
    moved = keras.models.clone_model(base)
    moved.set_weights([w.numpy() + d for w, d in zip(base.weights, deltas)])
    return moved


def test_linearized_equals_the_model_at_init():
    base = _base()
    np.testing.assert_allclose(linearize(base)(X), base(X), atol=1e-6)


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
def test_linearized_matches_the_model_to_first_order(parameterization):
    base = _smooth_base()
    lin = linearize(base, parameterization)
    rng = np.random.default_rng(1)
    # a direction on the scale of each weight (biases start at 0: unit scale)
    direction = [(rng.standard_normal(d.shape) * (w.numpy().std() or 1.0) / s).astype(
        "float32") for d, w, s in zip(lin.deltas, lin.primals, lin.scales)]
    f0 = base(X).numpy()
    errors = []
    for eps in (1e-1, 1e-2):
        for d, v in zip(lin.deltas, direction):
            d.assign(eps * v)
        # W - W0 = scale * delta (scale = sqrt(2 / fan_in) for NTK' kernels, else 1)
        moved = _moved_copy(base, [eps * s * v for s, v in zip(lin.scales, direction)])
        f = moved(X).numpy()
        errors.append(np.abs(lin(X).numpy() - f).max())
        assert np.abs(lin(X).numpy() - f0).max() > 5 * errors[-1]  # the jvp term is used
    # the remainder is second order: 10x smaller step -> ~100x smaller error
    assert errors[1] < errors[0] / 50, errors


def test_ntk_parameterization_scales_kernels_only():
    lin = linearize(_base(), "ntk")
    kernels = [s for s, d in zip(lin.scales, lin.deltas) if len(d.shape) > 1]
    biases = [s for s, d in zip(lin.scales, lin.deltas) if len(d.shape) == 1]
    first_fan_in = 3 * 3 * 3
    assert kernels[0] == pytest.approx(np.sqrt(2 / first_fan_in))
    assert set(biases) == {1.0}


def test_training_moves_deltas_only_compiled_with_xla_and_survives_saving(tmp_path):
    base = _base()
    lin = linearize(base)
    frozen = [w.numpy().copy() for w in base.weights]
    lin.compile(keras.optimizers.SGD(0.05), keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), jit_compile=True)
    before = lin.evaluate(X, Y, verbose=0)
    lin.fit(X, Y, epochs=5, verbose=0)
    assert lin.evaluate(X, Y, verbose=0) < before
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(frozen, base.weights))
    assert len(lin.trainable_weights) == len(lin.deltas) == 8
    assert len(lin.losses) == 5  # the base's L2 now acts on W - W0 (4 kernels + logits bias)
    lin.save(tmp_path / "lin.keras")
    loaded = keras.saving.load_model(tmp_path / "lin.keras", safe_mode=True)
    assert isinstance(loaded, Linearized)
    np.testing.assert_allclose(loaded(X), lin(X), atol=1e-6)


def test_gp_trains_the_last_layer_only():
    model = last_layer_only(_base())
    frozen = [w.numpy().copy() for w in model.weights[:-2]]
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), jit_compile=True)
    model.fit(X, Y, epochs=3, verbose=0)
    assert [w.path for w in model.trainable_weights] == ["logits/kernel", "logits/bias"]
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(frozen, model.weights[:-2]))


@pytest.mark.parametrize("name,kind", [
    ("simple_cnn_10_3_ntk", Linearized), ("resnet10_2_ntk", Linearized),
    ("resnet10_4_ntkp", Linearized), ("simple_cnn_10_6_gp", keras.Model),
])
def test_registry_kernel_names(name, kind):
    model = build_model(name, 10, (8, 8, 3), batchnorm=True)
    assert isinstance(model, kind)
    layers = model.base.layers if isinstance(model, Linearized) else model.layers
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers)
    if name.endswith("_ntkp"):
        assert model.parameterization == "ntk"
    assert model(X).shape == (6, 10)


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
def test_gradient_to_deltas_equals_autodiff_through_the_jvp(parameterization):
    import tensorflow as tf

    base = _smooth_base()
    lin = linearize(base, parameterization)
    rng = np.random.default_rng(2)
    for d in lin.deltas:
        d.assign(0.05 * rng.standard_normal(d.shape).astype("float32"))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        value = loss(Y, lin(X))
    fast = tape.gradient(value, lin.deltas)
    # reference: reverse-mode autodiff straight through the forward-mode jvp (slow, exact)
    primals = [w.value for w in lin.primals]
    with tf.GradientTape() as tape:
        tangents = [s * d for s, d in zip(lin.scales, lin.deltas)]
        with tf.autodiff.ForwardAccumulator(primals, tangents) as acc:
            out = base(X)
        ref_value = loss(Y, out + acc.jvp(out))
    ref = tape.gradient(ref_value, lin.deltas)
    np.testing.assert_allclose(value, ref_value, rtol=1e-6)
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_saved_kernel_model_loads_in_a_fresh_process(tmp_path):
    """load_keras registers every serializable class itself: a process that imports only
    ens_kd_tf.export (never ens_kd_tf.models.kernels by hand) reads a saved _ntk classifier."""
    from conftest import run_python
    from ens_kd_tf.export import save_keras_atomic
    from ens_kd_tf.models import build_classifier

    keras.utils.set_random_seed(0)
    model = build_classifier("simple_cnn_3_1_ntk", 10, (8, 8, 3), mean=(0.0,) * 3,
                             std=(1.0,) * 3)
    for d in model.get_layer("simple_cnn_3_1_ntk").deltas:  # a non-trivial W - W0
        d.assign(0.01 * np.ones(d.shape, "float32"))
    path = str(tmp_path / "model.keras")
    save_keras_atomic(model, path)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "want.npy", model(X).numpy())
    code = (
        "import numpy as np\n"
        "from ens_kd_tf.export import load_keras\n"
        f"model = load_keras({path!r})\n"
        "inner = model.get_layer('simple_cnn_3_1_ntk')\n"
        "assert type(inner).__name__ == 'Linearized', type(inner)\n"
        f"got = model(np.load({str(tmp_path / 'x.npy')!r})).numpy()\n"
        f"np.testing.assert_allclose(got, np.load({str(tmp_path / 'want.npy')!r}), atol=1e-5)\n"
        "print('loaded')\n")
    proc = run_python(code)
    assert proc.returncode == 0 and "loaded" in proc.stdout, proc.stderr[-2000:]


@pytest.mark.parametrize("arg,name,data", [
    (None, "simple_cnn_6_1_ntk", "multiview_images"),
    ("cifar10", "simple_cnn_10_3_ntk", "cifar10"),
    ("cifar10,resnet10_2_ntk", "resnet10_2_ntk", "cifar10"),  # the cifar preset set wrn_28_10
    ("resnet10_4_ntkp,cifar100", "resnet10_4_ntkp", "cifar100"),
    ("cifar100,wrn_16_4_gp,tpu", "wrn_16_4_gp", "cifar100"),
])
def test_kernels_config_keeps_the_model_preset(arg, name, data):
    from conftest import load_config_module

    config = load_config_module("kernels").get_config(arg)
    assert (config.model.name, config.data.name) == (name, data)


def test_kernels_config_rejects_a_network_preset():
    from conftest import load_config_module
    from ens_kd_tf.errors import UsageError

    with pytest.raises(UsageError, match="model.name='wrn_16_4' is not a kernel model"):
        load_config_module("kernels").get_config("cifar10,wrn_16_4")
