"""configs/multiview.py:theory, the regime where the lottery happens (docs/theory_regime.md):
the preset is what its docstring says, its model trains on tiny data, and the Distiller's
teacher_scale knob it needs sharpens the teacher as documented."""

import ast
import re

import keras
import numpy as np
import pytest

from conftest import load_config_module
from ens_kd_tf.distiller import Distiller
from ens_kd_tf.errors import UsageError
from ens_kd_tf.stages.classifier import load_data, new_classifier
from ens_kd_tf.train import compile_classifier, make_plan


def _docstring_fields(module) -> dict:
    """`section.field=value` tokens of the docstring's "Regime:" block."""
    block = module.__doc__.split("Regime:")[1].split("\n\n")[0]
    return dict(re.findall(r"([a-z_.]+)=([^\s,;]+)", block))


def _get(config, dotted: str):
    for part in dotted.split("."):
        config = config[part]
    return config


def test_theory_preset_is_what_its_docstring_says():
    module = load_config_module("multiview")
    theory, default = module.get_config("theory"), module.get_config()
    fields = _docstring_fields(module)
    assert len(fields) >= 12, fields
    for dotted, text in fields.items():
        value = _get(theory, dotted)
        expected = text if isinstance(value, str) else ast.literal_eval(text)
        assert value == expected, (dotted, value, text)
        if dotted not in ("data.name", "model.name"):  # the regime changes every listed field
            assert _get(default, dotted) != value or dotted.startswith("train.eval"), dotted
    assert theory.study.repeats == 5 and theory.ensemble.num_members >= 5


def test_theory_model_trains_on_tiny_data(cpu_runtime):
    config = load_config_module("multiview").get_config("theory")
    config.data.multiview.update(num_classes=3, patch_dim=32, num_patches=8, num_train=128,
                                 num_test=32)
    config.train.batch_size = 64
    data = load_data(config)
    plan = make_plan(config.train, data.num_train, cpu_runtime)
    model = new_classifier(config, data)
    compile_classifier(model, config.train, plan, cpu_runtime)
    history = model.fit(data.x_train, data.y_train, batch_size=64, epochs=2, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    # the view probes read these weights: [d, k * m] in the layer named "neurons"
    kernel = model.get_layer("neurons").kernel
    assert tuple(kernel.shape) == (32, 3 * config.model.neurons_per_class)


def _soft_loss(teacher_logits, scale):
    student = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, kernel_initializer="zeros", bias_initializer="zeros")])
    d = Distiller(student, None, temperature=2.0, alpha=0.25, teacher_scale=scale)
    d.compile(optimizer=keras.optimizers.SGD(0.0))
    d.test_step((np.zeros((1, 3), np.float32), np.zeros((1,), np.int32),
                 np.ones((1,), np.float32), np.asarray([teacher_logits], np.float32)))
    return float(d.soft_tracker.result())


def test_teacher_scale_multiplies_the_teacher_logits():
    # T = 2, student (0, 0), teacher (2, 0): T^2 * KL(softmax((1, 0)) || (1/2, 1/2))
    # = 4 * 0.110944 (tests/test_distill.py); (1, 0) x 2 must give the same, (1, 0) x 1 less.
    assert _soft_loss([1.0, 0.0], 2.0) == pytest.approx(4 * 0.110944, abs=4e-5)
    assert _soft_loss([2.0, 0.0], 1.0) == pytest.approx(4 * 0.110944, abs=4e-5)
    assert _soft_loss([1.0, 0.0], 1.0) < 4 * 0.05
    with pytest.raises(UsageError, match="distill.teacher_scale=0.0"):
        Distiller(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), None,
                  teacher_scale=0.0)
