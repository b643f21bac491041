"""The Distiller: the loss formula by hand, a frozen teacher, XLA, saving, cached outputs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ens_kd_tf.distiller import Distiller
from ens_kd_tf.errors import UsageError


def constant_logits_model(logits, name):
    """A model whose output is `logits` for any input (a zero kernel plus a bias)."""
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(len(logits), kernel_initializer="zeros", name=f"{name}_dense")
    model = keras.Model(inputs, dense(inputs), name=name)
    dense.bias.assign(np.asarray(logits, np.float32))
    return model


def _distiller(alpha=0.25, temperature=2.0):
    student = constant_logits_model([0.0, 0.0], "student")
    teacher = constant_logits_model([2.0, 0.0], "teacher")
    d = Distiller(student, teacher, temperature=temperature, alpha=alpha)
    d.compile(optimizer=keras.optimizers.SGD(1.0), jit_compile=True)
    return d, student, teacher


X = np.zeros((1, 3), np.float32)
Y = np.zeros((1,), np.int32)

# By hand, T = 2, alpha = 0.25, label 0, student logits (0, 0), teacher logits (2, 0):
#   hard = -log(1/2) = ln 2                                        = 0.693147
#   p_t = softmax((1, 0)) = (e/(e+1), 1/(e+1)) = (0.731059, 0.268941), p_s = (0.5, 0.5)
#   KL = 0.731059 ln(0.731059/0.5) + 0.268941 ln(0.268941/0.5)     = 0.110944
#   soft = 2^2 * KL (the soft term, T^2 included, as keras.distillation reports it) = 0.443776
#   total = 0.25 * 0.693147 + 0.75 * 0.443776                     = 0.506119
HARD, SOFT, TOTAL = 0.693147, 0.443776, 0.506119


def test_eval_losses_equal_the_formula_by_hand():
    d, _, _ = _distiller()
    out = d.evaluate(tf.data.Dataset.from_tensors((X, Y, np.ones(1, np.float32))),
                     verbose=0, return_dict=True)
    assert out["hard_loss"] == pytest.approx(HARD, abs=1e-5)
    assert out["soft_loss"] == pytest.approx(SOFT, abs=1e-5)
    assert out["loss"] == pytest.approx(TOTAL, abs=1e-5)
    assert out["agreement"] == pytest.approx(1.0)


def test_train_step_loss_and_update_by_hand_teacher_untouched():
    d, student, teacher = _distiller()
    logs = d.fit(tf.data.Dataset.from_tensors((X, Y)), epochs=1, verbose=0).history
    assert logs["loss"][0] == pytest.approx(TOTAL, abs=1e-5)
    # d total / d s = alpha (p_s - onehot) + (1 - alpha) T (q_s - q_t)
    #              = 0.25 (-0.5, 0.5) + 0.75 * 2 * (0.5 - 0.731059, 0.5 - 0.268941)
    #              = (-0.471588, 0.471588); SGD with lr 1 subtracts it from the bias.
    np.testing.assert_allclose(student.get_layer("student_dense").bias.numpy(),
                               [0.471588, -0.471588], atol=1e-5)
    np.testing.assert_allclose(teacher.get_layer("teacher_dense").bias.numpy(), [2.0, 0.0])


def test_carried_teacher_logits_give_the_same_step():
    a, student_a, _ = _distiller()
    a.fit(tf.data.Dataset.from_tensors((X, Y)), epochs=1, verbose=0)
    student_b = constant_logits_model([0.0, 0.0], "student_b")
    b = Distiller(student_b, None, temperature=2.0, alpha=0.25)
    b.compile(optimizer=keras.optimizers.SGD(1.0), jit_compile=True)
    b.fit(tf.data.Dataset.from_tensors((X, Y, np.array([[2.0, 0.0]], np.float32))), epochs=1,
          verbose=0)
    np.testing.assert_allclose(student_b.get_layer("student_b_dense").bias.numpy(),
                               student_a.get_layer("student_dense").bias.numpy(), atol=1e-6)


def test_real_teacher_frozen_in_inference_mode_with_bn_and_regularisers(tiny):
    from ens_kd_tf.models import build_classifier

    keras.utils.set_random_seed(0)
    teacher = build_classifier("wrn_10_1", 4, (8, 8, 3), "image", (128.0,) * 3, (60.0,) * 3,
                               l2=1e-3, dropout_rate=0.3)
    student = build_classifier("simple_cnn_3_1", 4, (8, 8, 3), "image", (128.0,) * 3,
                               (60.0,) * 3, l2=1e-3)
    before = [v.numpy().copy() for v in teacher.variables]
    d = Distiller(student, teacher, temperature=4.0, alpha=0.1)
    d.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), jit_compile=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (32, 8, 8, 3)).astype(np.float32)
    y = rng.integers(0, 4, 32).astype(np.int32)
    d.fit(tf.data.Dataset.from_tensors((x, y)).repeat(3), epochs=1, verbose=0)
    for a, b in zip(before, teacher.variables):  # kernels, BN statistics, dropout seeds
        np.testing.assert_array_equal(a, b.numpy())
    assert not any(v is t for v in d.trainable_variables for t in teacher.variables)
    for step, batch in ((d.train_step, (x, y)), (d.test_step, (x, y, np.ones(32, np.float32)))):
        hlo = tf.function(step, jit_compile=True).experimental_get_compiler_ir(
            tuple(tf.constant(t) for t in batch))(stage="hlo")
        assert "ENTRY" in hlo


def test_distiller_saves_and_loads_as_keras_file(tmp_path):
    d, _, _ = _distiller(alpha=0.3, temperature=3.0)
    d.save(tmp_path / "distiller.keras")
    again = keras.models.load_model(tmp_path / "distiller.keras", safe_mode=True)
    assert isinstance(again, Distiller)
    assert (again.alpha, again.temperature) == (0.3, 3.0)
    np.testing.assert_allclose(again.student(X).numpy(), [[0.0, 0.0]])
    np.testing.assert_allclose(again.teacher(X).numpy(), [[2.0, 0.0]])


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(temperature=0.0), "distill.temperature=0.0"),
    (dict(temperature=-1.0), "it must be > 0"),
    (dict(alpha=1.5), "distill.alpha=1.5"),
])
def test_bad_distillation_parameters(kwargs, pattern):
    with pytest.raises(UsageError, match=pattern):
        Distiller(constant_logits_model([0.0], "s"), None, **kwargs)
