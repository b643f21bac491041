"""What TPUStrategy demands, checked on CPU: every model kind's train / eval / predict step
compiles with XLA, and the input pipelines have static shapes and prefetch on the host."""

import numpy as np
import pytest
import tensorflow as tf

from ens_kd_tf.data import load_dataset
from ens_kd_tf.data.pipeline import eval_batches, train_batches
from ens_kd_tf.ensemble import build_joint_sum
from ens_kd_tf.stages.classifier import new_classifier, with_seed
from ens_kd_tf.train import compile_classifier, make_plan


def _compiles(model, x, y):
    w = tf.ones((x.shape[0],))
    for step, batch in ((model.train_step, (x, y)), (model.test_step, (x, y, w)),
                        (model.predict_step, (x,))):
        hlo = tf.function(step, jit_compile=True).experimental_get_compiler_ir(batch)(
            stage="hlo")
        assert "ENTRY" in hlo


@pytest.mark.parametrize("model_name", ["simple_cnn_3_1", "wrn_10_1", "simple_cnn_3_1_ntk",
                                        "simple_cnn_3_1_ntkp", "simple_cnn_3_1_gp",
                                        "mlp_2_16"])
def test_zoo_and_kernel_steps_compile_with_xla(tiny, cpu_runtime, model_name):
    tiny.model.name = model_name
    data = load_dataset(tiny.data)
    plan = make_plan(tiny.train, data.num_train, cpu_runtime)
    model = new_classifier(tiny, data)
    compile_classifier(model, tiny.train, plan, cpu_runtime)
    assert model.jit_compile is True
    _compiles(model, tf.zeros((32,) + data.info.input_shape), tf.zeros((32,), tf.int32))


def test_joint_sum_steps_compile_with_xla(tiny, cpu_runtime):
    data = load_dataset(tiny.data)
    plan = make_plan(tiny.train, data.num_train, cpu_runtime)
    model = build_joint_sum(
        lambda i: new_classifier(with_seed(tiny, i), data, name=f"member_{i}"), 2, "sum")
    compile_classifier(model, tiny.train, plan, cpu_runtime)
    _compiles(model, tf.zeros((32,) + data.info.input_shape), tf.zeros((32,), tf.int32))


def test_patch_net_steps_compile_with_xla(tiny, cpu_runtime):
    tiny.data.name, tiny.model.name = "multiview_patches", "patch_net"
    data = load_dataset(tiny.data)
    plan = make_plan(tiny.train, data.num_train, cpu_runtime)
    model = new_classifier(tiny, data)
    compile_classifier(model, tiny.train, plan, cpu_runtime)
    _compiles(model, tf.zeros((32,) + data.info.input_shape), tf.zeros((32,), tf.int32))


def test_pipelines_have_static_shapes_and_prefetch(tiny):
    data = load_dataset(tiny.data)
    streams = [train_batches(data, 32, seed=0, crop_padding=2, flip=True),
               eval_batches(data.x_test, data.y_test, 32)]
    for ds in streams:
        for spec in tf.nest.flatten(ds.element_spec):
            assert spec.shape.is_fully_defined(), spec  # drop_remainder / padding: static
        assert type(ds).__name__ == "_PrefetchDataset"  # the host pipeline runs ahead
    x, y = next(iter(streams[0]))
    assert x.shape[0] == 32 and np.all(np.isfinite(x.numpy()))

