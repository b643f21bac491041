"""Ensemble and JointSum models: the averages, exports, and member checks."""

import json

import keras
import numpy as np
import pytest

from conftest import run_python
from ens_kd_tf.ensemble import CombineLogits, build_ensemble, build_joint_sum
from ens_kd_tf.errors import UsageError
from ens_kd_tf.evaluate import average_logits, disagreement
from ens_kd_tf.export import export_saved_model
from ens_kd_tf.models import build_classifier


def _member(seed, classes=4, shape=(8, 8, 3), name=None):
    keras.utils.set_random_seed(seed)
    return build_classifier("simple_cnn_3_1", classes, shape, "image", (128.0,) * 3,
                            (60.0,) * 3, model_name=name or f"m{seed}")


X = np.random.default_rng(0).uniform(0, 255, (6, 8, 8, 3)).astype(np.float32)


def test_combine_logits_modes_by_hand():
    a = np.log(np.array([[0.5, 0.5]], np.float32))
    b = np.log(np.array([[0.9, 0.1]], np.float32))
    mean = CombineLogits("mean")([a, b]).numpy()
    np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-6)
    np.testing.assert_allclose(CombineLogits("sum")([a, b]).numpy(), a + b, rtol=1e-6)
    probs = np.exp(CombineLogits("mean_probs")([a, b]).numpy())
    np.testing.assert_allclose(probs, [[0.7, 0.3]], rtol=1e-6)  # (0.5+0.9)/2, (0.5+0.1)/2


@pytest.mark.parametrize("reduction", ["logits", "probs"])
def test_ensemble_is_the_average_of_its_members(reduction):
    members = [_member(s) for s in range(3)]
    ensemble = build_ensemble(members, reduction)
    outs = [m.predict(X, verbose=0) for m in members]
    np.testing.assert_allclose(ensemble.predict(X, verbose=0),
                               average_logits(outs, reduction), rtol=1e-5, atol=1e-5)


def test_exported_ensemble_returns_the_average_of_members(tmp_path):
    members = [_member(s) for s in range(3)]
    path = str(tmp_path / "ensemble")
    export_saved_model(build_ensemble(members, "logits"), path, (8, 8, 3), "image")
    np.save(tmp_path / "x.npy", X.astype(np.uint8))
    proc = run_python(
        "import json, sys, numpy as np, tensorflow as tf\n"
        f"m = tf.saved_model.load({path!r})\n"
        f"x = tf.constant(np.load({str(tmp_path / 'x.npy')!r}))\n"
        "out = m.signatures['serving_default'](images=x)\n"
        "print(json.dumps(out['logits'].numpy().tolist()))")
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.array(json.loads(proc.stdout.strip().splitlines()[-1]))
    xs = X.astype(np.uint8).astype(np.float32)
    expected = np.mean([m.predict(xs, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_members_must_agree_on_classes_and_inputs():
    with pytest.raises(UsageError, match="has 5 classes but .* has 4"):
        build_ensemble([_member(0), _member(1, classes=5)], "logits")
    with pytest.raises(UsageError, match="inputs of shape \\(16, 16, 3\\)"):
        build_ensemble([_member(0), _member(1, shape=(16, 16, 3))], "logits")
    with pytest.raises(UsageError, match="at least one member"):
        build_ensemble([], "logits")


def test_joint_sum_trains_all_members_as_one_model():
    joint = build_joint_sum(lambda i: _member(10 + i, name=f"member_{i}"), 3, "sum")
    parts = [joint.get_layer(f"member_{i}") for i in range(3)]
    np.testing.assert_allclose(joint.predict(X, verbose=0),
                               np.sum([p.predict(X, verbose=0) for p in parts], axis=0),
                               rtol=1e-5, atol=1e-5)
    assert len(joint.trainable_variables) == 3 * len(parts[0].trainable_variables)
    with pytest.raises(UsageError, match="joint_sum.num_members=0"):
        build_joint_sum(lambda i: _member(i), 0)


def test_disagreement_by_hand():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    b = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    assert disagreement([a, b]) == 0.5
    assert disagreement([a, a, b]) == pytest.approx((0 + 0.5 + 0.5) / 3)
