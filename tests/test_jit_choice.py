"""runtime.jit_compile=auto: the measured XLA / no-XLA probe, its cache and its guard rails."""

import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from ens_kd_tf import jit_choice
from ens_kd_tf.data import load_dataset
from ens_kd_tf.distiller import Distiller
from ens_kd_tf.stages.classifier import eval_set, label_stream, new_classifier
from ens_kd_tf.models import build_model
from ens_kd_tf.models.layers import BatchNormalization
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.train import compile_classifier, fit_resumable, make_plan


def _compiled(jit=True):
    keras.utils.set_random_seed(0)
    model = build_model("simple_cnn_3_1", 10, (16, 16, 3))
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit)
    model.optimizer.build(model.trainable_variables)
    return model


def _batches():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 16, 16, 3)).astype("float32")
    y = rng.integers(0, 10, 64).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(32).repeat()


def test_probe_times_both_paths_restores_variables_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(jit_choice, "PROBE_MIN_GFLOP_PER_STEP", 0.0)
    model = _compiled()
    before = [v.numpy().copy() for v in model.variables + model.optimizer.variables]
    xla = jit_choice.choose_jit(model, _batches(), 32)
    after = [v.numpy() for v in model.variables + model.optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after)), "probe left its steps"
    assert model.jit_compile is xla and model.train_function is not None
    (key, entry), = jit_choice.cache_entries().items()
    assert entry["xla"] is xla
    assert 0 < min(entry["xla_seconds"], entry["no_xla_seconds"]) < 60
    assert (entry["xla_seconds"] < entry["no_xla_seconds"]) is xla
    assert "batch 32" in key and "float32" in key and "flags" in key
    # The second model of the same kind reads the cache: no probe (probe would raise here).
    monkeypatch.setattr(jit_choice, "probe", lambda *a, **k: pytest.fail("probed twice"))
    other = _compiled(jit=not xla)
    assert jit_choice.choose_jit(other, _batches(), 32) is xla and other.jit_compile is xla


def test_distiller_probe_restores_the_student(tmp_path, monkeypatch):
    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(jit_choice, "PROBE_MIN_GFLOP_PER_STEP", 0.0)
    keras.utils.set_random_seed(1)
    teacher = build_model("simple_cnn_3_1", 10, (16, 16, 3))
    distiller = Distiller(_compiled(), teacher, temperature=4.0, alpha=0.1)
    distiller.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), jit_compile=True)
    distiller.optimizer.build(distiller.student.trainable_variables)
    before = [v.numpy().copy() for v in distiller.student.variables]
    xla = jit_choice.choose_jit(distiller, _batches(), 32)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, distiller.student.variables))
    (key, entry), = jit_choice.cache_entries().items()
    assert "Distiller" in key and entry["xla"] is xla
    assert int(distiller.optimizer.iterations.numpy()) == 0


def test_fit_resumable_applies_the_probe_and_trains_like_the_forced_path(tiny, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(jit_choice, "PROBE_MIN_GFLOP_PER_STEP", 0.0)
    tiny.train.epochs = 1
    data = load_dataset(tiny.data)
    one = tf.distribute.OneDeviceStrategy("/cpu:0")

    def trained(runtime, workdir):
        plan = make_plan(tiny.train, data.num_train, runtime)
        with one.scope():
            model = new_classifier(tiny, data)
            compile_classifier(model, tiny.train, plan, runtime)
        fit_resumable(model, label_stream(tiny, data, plan), eval_set(data, plan),
                      str(tmp_path / workdir), runtime, plan)
        return model

    probed = trained(Runtime(one, True, probe_jit=True), "a")
    (key, entry), = jit_choice.cache_entries().items()
    assert probed.jit_compile is entry["xla"]
    forced = trained(Runtime(one, entry["xla"]), "b")
    # The probe's steps were undone: the weights match a run forced onto the chosen path.
    for p, f in zip(probed.variables, forced.variables):
        np.testing.assert_allclose(p.numpy(), f.numpy(), rtol=1e-4, atol=1e-5)


def test_small_steps_skip_the_probe_and_keep_xla(tmp_path, monkeypatch):
    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(jit_choice, "probe", lambda *a, **k: pytest.fail("probed"))
    model = _compiled(jit=False)
    assert jit_choice.step_gflops(model, 32) < jit_choice.PROBE_MIN_GFLOP_PER_STEP
    assert jit_choice.choose_jit(model, _batches(), 32) is True and model.jit_compile is True
    assert jit_choice.cache_entries() == {}


def test_cache_dir_honours_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path / "c"))
    assert jit_choice.cache_dir() == str(tmp_path / "c")
    monkeypatch.delenv(jit_choice.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert jit_choice.cache_dir() == str(tmp_path / "x" / "ens_kd_tf")
    model_name, flags = jit_choice.cpu_info()
    assert model_name and isinstance(flags, frozenset)


def test_probe_key_changes_with_the_layer_classes():
    def wrn(bn_class):
        module = importlib.import_module("ens_kd_tf.models.wide_resnet")
        saved, module.BatchNormalization = module.BatchNormalization, bn_class
        try:
            return build_model("wrn_10_1", 10, (16, 16, 3))
        finally:
            module.BatchNormalization = saved

    strategy = tf.distribute.get_strategy()
    ours = jit_choice.probe_key(wrn(BatchNormalization), 32, strategy)
    assert jit_choice.probe_key(wrn(BatchNormalization), 32, strategy) == ours
    assert jit_choice.probe_key(wrn(keras.layers.BatchNormalization), 32, strategy) != ours
