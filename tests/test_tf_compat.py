"""The package on TensorFlow 2.20, the newest TensorFlow a Cloud TPU VM can install.

CI (.ci/run) builds a second virtualenv with `tensorflow-cpu==2.20.0` and names its python in
ENS_KD_TF_TF220_PYTHON; these tests then run a fast subset of the suite and the demo there.
Without that variable they are skipped locally and fail under CI=true, so CI cannot lose them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_VAR = "ENS_KD_TF_TF220_PYTHON"
# In-process tests of every layer (models, data, losses, Distiller, ensembles, kernels,
# training, export, XLA compilation, the fused batch-norm kernel): the parts a TF upgrade or
# downgrade breaks first.
FAST_SUBSET = (
    "tests/test_models.py", "tests/test_data.py", "tests/test_distill.py",
    "tests/test_ensemble.py", "tests/test_kernels.py", "tests/test_training.py",
    "tests/test_export.py", "tests/test_tpu_readiness.py", "tests/test_fused_batchnorm.py",
)


@pytest.fixture(scope="module")
def tf220_python() -> str:
    python = os.environ.get(ENV_VAR)
    if not python:
        if os.environ.get("CI"):
            pytest.fail(f"CI must set {ENV_VAR} (see .ci/run)")
        pytest.skip(f"{ENV_VAR} is not set: .ci/run builds the TensorFlow 2.20 environment")
    version = subprocess.run(
        [python, "-c", "import tensorflow as tf, keras; print(tf.__version__, keras.__version__)"],
        capture_output=True, text=True, timeout=300, env=_env())
    assert version.returncode == 0, version.stderr[-2000:]
    assert version.stdout.split()[0].startswith("2.20."), version.stdout
    return python


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "PYTHONPATH")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def test_fast_subset_passes_on_tf220(tf220_python):
    res = subprocess.run(
        [tf220_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FAST_SUBSET],
        cwd=REPO, capture_output=True, text=True, timeout=1200, env=_env())
    tail = res.stdout[-3000:]
    assert res.returncode == 0, tail
    assert re.search(r"\d+ passed", tail) and " failed" not in tail, tail


def test_demo_runs_on_tf220(tf220_python, tmp_path):
    """The README demo, shortened to 2 epochs a model: it trains, distills and prints its table."""
    res = subprocess.run(
        [tf220_python, "-m", "ens_kd_tf.main", "--config=configs/self_distill.py",
         f"--workdir={tmp_path / 'demo'}", "--config.train.epochs=2"],
        cwd=REPO, capture_output=True, text=True, timeout=900, env=_env())
    assert res.returncode == 0, res.stderr[-3000:]
    assert "self-distilled student" in res.stdout, res.stdout[-2000:]
    with open(tmp_path / "demo" / "results.json") as f:
        rows = json.load(f)["rows"]
    accuracies = {row["name"]: row["accuracy"] for row in rows}
    assert len(accuracies) >= 3, accuracies
    assert min(accuracies.values()) > 0.5, accuracies  # 10 classes: chance is 0.1
