"""SavedModel export: a process that never imports ens_kd_tf gets the in-memory logits."""

import json

import numpy as np

from conftest import run_python
from ens_kd_tf.data import load_dataset
from ens_kd_tf.data.pipeline import train_batches
from ens_kd_tf.stages.classifier import new_classifier
from ens_kd_tf.export import export_saved_model, load_keras, save_keras_atomic
from ens_kd_tf.train import compile_classifier, make_plan

LOADER = """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
x = np.load(sys.argv[2])
as_uint8 = loaded.signatures["serving_default"](images=tf.constant(x))
as_float = loaded.signatures["serve_float"](images=tf.constant(x.astype(np.float32) / 255.0))
assert not any(m.startswith("ens_kd_tf") for m in sys.modules)
print(json.dumps({"uint8": as_uint8["logits"].numpy().tolist(),
                  "float": as_float["logits"].numpy().tolist(),
                  "probs": as_uint8["probabilities"].numpy().tolist()}))
"""


def _trained_tiny_model(tiny, cpu_runtime):
    data = load_dataset(tiny.data)
    plan = make_plan(tiny.train, data.num_train, cpu_runtime)
    model = new_classifier(tiny, data)
    compile_classifier(model, tiny.train, plan, cpu_runtime)
    model.fit(train_batches(data, 32, seed=0), epochs=1, steps_per_epoch=3, verbose=0)
    return model, data


def test_saved_model_reloads_elsewhere_with_the_same_logits(tiny, cpu_runtime, tmp_path):
    model, data = _trained_tiny_model(tiny, cpu_runtime)
    path = str(tmp_path / "export")
    export_saved_model(model, path, data.info.input_shape, data.info.input_kind)
    images = data.x_test[:7]
    np.save(tmp_path / "x.npy", images)
    script = tmp_path / "load.py"
    script.write_text(LOADER)
    proc = run_python(f"import runpy, sys; sys.argv = ['load', {path!r}, "
                      f"{str(tmp_path / 'x.npy')!r}]; runpy.run_path({str(script)!r})")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = model.predict(images.astype(np.float32), verbose=0)
    np.testing.assert_allclose(out["uint8"], expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out["float"], expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.sum(out["probs"], axis=1), 1.0, rtol=1e-5)


def test_keras_file_round_trip_with_safe_mode(tiny, cpu_runtime, tmp_path):
    model, data = _trained_tiny_model(tiny, cpu_runtime)
    path = str(tmp_path / "model.keras")
    save_keras_atomic(model, path)
    again = load_keras(path)
    x = data.x_test[:5].astype(np.float32)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_export_replaces_an_older_export_whole(tiny, cpu_runtime, tmp_path):
    model, data = _trained_tiny_model(tiny, cpu_runtime)
    path = tmp_path / "export"
    path.mkdir()
    (path / "stale.txt").write_text("old")
    export_saved_model(model, str(path), data.info.input_shape, data.info.input_kind)
    assert not (path / "stale.txt").exists() and (path / "saved_model.pb").exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name] == []
