"""Interoperation with keras.distillation (Keras 3.15.1): its losses as our Distiller's soft
term, our default loss and our Ensemble inside its Distiller, and what its
LogitsDistillation computes exactly."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from ens_kd_tf.distiller import Distiller
from ens_kd_tf.ensemble import build_ensemble
from ens_kd_tf.errors import UsageError
from ens_kd_tf.losses import SoftTargetDistillation

T, ALPHA = 4.0, 0.25
RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 16).astype(np.int32)
# Teacher / student logits [8, 5] of the scale trained nets give (|z| up to ~10).
T_LOGITS = (3.0 * RNG.normal(size=(8, 5))).astype(np.float32)
S_LOGITS = (3.0 * RNG.normal(size=(8, 5))).astype(np.float32)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def paper_soft_term(t, s, temperature):
    """T^2 * mean_b KL(softmax(t / T) || softmax(s / T)), in float64."""
    p = _softmax(t.astype(np.float64) / temperature)
    q = _softmax(s.astype(np.float64) / temperature)
    return temperature ** 2 * np.mean(np.sum(p * np.log(p / q), axis=-1))


def mlp(seed, name, hidden=8):
    """Input [B, 4] -> Dense "hidden" (relu) -> Dense "logits" [B, 3]; seeded init."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,), name="inputs")
    h = keras.layers.Dense(hidden, activation="relu", name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, name="logits")(h), name=name)


def ensemble_teacher():
    return build_ensemble([mlp(10, "member_0"), mlp(11, "member_1")])


def ours_after_one_step(teacher, soft_loss=None):
    student = mlp(1, "student")
    d = Distiller(student, teacher, temperature=T, alpha=ALPHA, soft_loss=soft_loss)
    d.compile(optimizer=keras.optimizers.SGD(0.5), jit_compile=False)
    d.fit(tf.data.Dataset.from_tensors((X, Y)), epochs=1, verbose=0)
    return [v.numpy() for v in student.trainable_variables]


def stock_after_one_step(teacher, soft_loss):
    student = mlp(1, "student")
    d = keras.distillation.Distiller(teacher=teacher, student=student,
                                     distillation_losses=soft_loss, student_loss_weight=ALPHA)
    d.compile(optimizer=keras.optimizers.SGD(0.5),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              jit_compile=False)
    d.fit(tf.data.Dataset.from_tensors((X, Y)), epochs=1, verbose=0)
    return [v.numpy() for v in student.trainable_variables]


def assert_same_weights(a, b, atol=1e-6):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, atol=atol)


def test_default_soft_loss_is_the_paper_term_and_logits_distillation_with_kl_instance():
    ours = float(SoftTargetDistillation(T).compute_loss(T_LOGITS, S_LOGITS))
    assert ours == pytest.approx(paper_soft_term(T_LOGITS, S_LOGITS, T), rel=1e-5)
    stock = keras.distillation.LogitsDistillation(T, loss=keras.losses.KLDivergence())
    assert float(stock.compute_loss(T_LOGITS, S_LOGITS)) == pytest.approx(ours, rel=1e-5)
    assert ours > 0.1  # a real difference between t and s, not 0 == 0


def test_stock_logits_distillation_default_skips_softmax_and_t_squared():
    """Keras 3.15.1: loss="kl_divergence" resolves to the function kl_divergence, not a
    KLDivergence instance, so LogitsDistillation's softmax-and-T^2 branch is skipped and the
    scaled logits, clipped to [1e-7, 1], are read as probabilities."""
    assert not isinstance(keras.losses.get("kl_divergence"), keras.losses.KLDivergence)
    stock = float(keras.distillation.LogitsDistillation(T).compute_loss(T_LOGITS, S_LOGITS))
    c = lambda z: np.clip(z.astype(np.float64) / T, 1e-7, 1.0)  # noqa: E731
    by_hand = np.mean(np.sum(c(T_LOGITS) * np.log(c(T_LOGITS) / c(S_LOGITS)), axis=-1))
    assert stock == pytest.approx(by_hand, rel=1e-4, abs=1e-6)
    ours = paper_soft_term(T_LOGITS, S_LOGITS, T)
    assert abs(stock - ours) > 0.1 * ours, (stock, ours)


def test_first_step_same_with_our_default_and_logits_distillation():
    teacher = mlp(10, "teacher")
    ours = ours_after_one_step(teacher)
    theirs = ours_after_one_step(
        teacher, keras.distillation.LogitsDistillation(T, loss=keras.losses.KLDivergence()))
    assert_same_weights(ours, theirs)
    assert np.abs(ours[0] - mlp(1, "student").get_layer("hidden").kernel.numpy()).max() > 1e-3


def test_our_ensemble_teaches_a_stock_keras_distiller_with_our_update():
    teacher = ensemble_teacher()
    before = [v.numpy().copy() for v in teacher.variables]
    stock = stock_after_one_step(teacher, SoftTargetDistillation(T))
    assert_same_weights(stock, ours_after_one_step(teacher))
    for a, b in zip(before, teacher.variables):
        np.testing.assert_array_equal(a, b.numpy())


def test_stock_distiller_drops_the_students_regularisation_ours_adds_it():
    """Why the paper's runs use our Distiller: the zoo's weight decay is an L2 regulariser."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    student = keras.Model(inputs, keras.layers.Dense(
        3, kernel_regularizer=keras.regularizers.L2(0.5))(inputs))
    teacher = mlp(10, "teacher")
    reg = float(ops.sum(student.losses))
    assert reg > 0.1
    soft = SoftTargetDistillation(T)
    s, t = student(X), teacher(X)
    ce = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(Y, s))
    without_reg = ALPHA * ce + (1 - ALPHA) * float(soft.compute_loss(t, s))
    stock = keras.distillation.Distiller(teacher, student, soft, student_loss_weight=ALPHA)
    stock.compile(optimizer="sgd",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert float(stock.compute_loss(x=X, y=Y, y_pred=s)) == pytest.approx(without_reg, rel=1e-5)
    ours = Distiller(student, teacher, temperature=T, alpha=ALPHA)
    ours.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=False)
    logs = ours.fit(tf.data.Dataset.from_tensors((X, Y)), epochs=1, verbose=0).history
    assert logs["loss"][0] == pytest.approx(without_reg + reg, rel=1e-5)


class ProbabilityL2(keras.distillation.DistillationLoss):
    """A user's loss: squared distance between the softmax outputs."""

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        diff = ops.softmax(teacher_outputs) - ops.softmax(student_outputs)
        return ops.mean(ops.sum(diff * diff, axis=-1))


@pytest.mark.parametrize("make_loss", [
    lambda: keras.distillation.FeatureDistillation("mse", "hidden", "hidden"),
    ProbabilityL2,
], ids=["feature_distillation", "user_subclass"])
def test_keras_losses_as_our_soft_term_give_the_stock_update(make_loss):
    teacher = mlp(10, "teacher")
    assert_same_weights(ours_after_one_step(teacher, make_loss()),
                        stock_after_one_step(teacher, make_loss()))


def test_feature_distillation_from_an_ensemble_averages_member_features():
    teacher = ensemble_teacher()
    student = mlp(1, "student")
    d = Distiller(student, teacher, alpha=ALPHA,
                  soft_loss=keras.distillation.FeatureDistillation("mse", "hidden", "hidden"))
    d.compile(optimizer="sgd", jit_compile=False)
    out = d.evaluate(tf.data.Dataset.from_tensors((X, Y, np.ones(16, np.float32))),
                     verbose=0, return_dict=True)

    def hidden(model):
        return keras.Model(model.inputs, model.get_layer("hidden").output)(X).numpy()

    members = [layer for layer in teacher.layers if isinstance(layer, keras.Model)]
    mean_feature = np.mean([hidden(m) for m in members], axis=0)
    expected = np.mean((mean_feature - hidden(student)) ** 2)
    assert out["soft_loss"] == pytest.approx(expected, rel=1e-5)
    s = student(X).numpy()
    agree = np.mean(s.argmax(-1) == teacher(X).numpy().argmax(-1))
    assert out["agreement"] == pytest.approx(agree)


def test_feature_distiller_compiles_with_xla_and_saves_as_keras_file(tmp_path):
    loss = keras.distillation.FeatureDistillation("mse", "hidden", "hidden")
    d = Distiller(mlp(1, "student"), ensemble_teacher(), alpha=0.1, soft_loss=loss)
    d.compile(optimizer="sgd", jit_compile=True)
    batch = (tf.constant(X), tf.constant(Y))
    hlo = tf.function(d.train_step, jit_compile=True).experimental_get_compiler_ir(batch)(
        stage="hlo")
    assert "ENTRY" in hlo
    d.save(tmp_path / "d.keras")
    again = keras.models.load_model(tmp_path / "d.keras", safe_mode=True)
    assert isinstance(again.soft_loss, keras.distillation.FeatureDistillation)
    assert (again.soft_loss.teacher_layer_name, again.soft_loss.student_layer_name) == (
        "hidden", "hidden")
    np.testing.assert_allclose(again.student(X).numpy(), d.student(X).numpy(), atol=1e-6)
    np.testing.assert_allclose(again.teacher(X).numpy(), d.teacher(X).numpy(), atol=1e-6)


def test_feature_distillation_bad_input_is_one_line():
    feature = keras.distillation.FeatureDistillation("mse", "hidden", "hidden")
    with pytest.raises(UsageError, match="cached teacher outputs carry logits only"):
        Distiller(mlp(1, "s"), None, soft_loss=feature)
    with pytest.raises(UsageError, match=r"distill.teacher_feature_layer='pool' is not a "
                                         r"layer of 'ensemble'; its layers: .*hidden"):
        Distiller(mlp(1, "s"), ensemble_teacher(),
                  soft_loss=keras.distillation.FeatureDistillation("mse", "pool", "hidden"))
    with pytest.raises(UsageError, match="must be a keras.distillation.DistillationLoss"):
        Distiller(mlp(1, "s"), mlp(2, "t"), soft_loss=keras.losses.KLDivergence())


def test_config_soft_loss_validation():
    from conftest import tiny_config
    from ens_kd_tf.validation import validate_config

    config = tiny_config("distill", "distill")
    config.distill.soft_loss = "features"
    with pytest.raises(UsageError, match="distill.soft_loss='features' is not valid; choose "
                                         "one of: 'logits', 'feature'"):
        validate_config(config)
    config.distill.soft_loss, config.distill.teacher_feature_layer = "feature", ""
    with pytest.raises(UsageError, match="distill.teacher_feature_layer is empty"):
        validate_config(config)
    config.distill.teacher_feature_layer, config.distill.teacher_outputs = "pool", "cached"
    with pytest.raises(UsageError, match="teacher_outputs='cached' is not valid with "
                                         "distill.soft_loss='feature'"):
        validate_config(config)


def test_cli_feature_distillation_end_to_end_row_in_table(tmp_path):
    """configs/distill.py --config.distill.soft_loss=feature on the built-in data."""
    import json

    from conftest import TINY_OVERRIDES, run_cli

    workdir = tmp_path / "kd_feature"
    proc = run_cli(["--config=configs/distill.py", f"--workdir={workdir}", *TINY_OVERRIDES,
                    "--config.distill.soft_loss=feature", "--config.train.epochs=1",
                    "--config.ensemble.num_members=2", "--config.export_saved_models=false",
                    "--config.runtime.jit_compile=off"])  # half the CPU time; XLA: above
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = "KD student (ensemble teacher) [feature: pool -> pool]"
    assert row in proc.stdout
    kd = json.load(open(workdir / "kd" / "results.json"))
    assert kd["soft_loss"] == "feature" and kd["teacher_outputs"] == "on_the_fly"
    assert kd["soft_loss_detail"] == "FeatureDistillation on teacher pool -> student pool"
    report = (workdir / "report.md").read_text()
    assert row in report and "soft loss feature" in report
    assert "figures are the last epoch's model, not the best epoch's" in report
