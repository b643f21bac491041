"""Shared fixtures: tiny configs that train in seconds on the built-in data."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# runtime.jit_compile=auto caches its measured XLA choice per machine (jit_choice.py): keep
# the tests (and the subprocesses they start) away from the user's cache. Test models are
# below the probe's FLOP threshold, so no test pays for a probe unless it asks for one.
os.environ["ENS_KD_TF_CACHE_DIR"] = tempfile.mkdtemp(prefix="ens_kd_tf_test_cache_")

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config_module(config_file: str):
    """configs/<config_file>.py as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        f"cfg_{config_file}", os.path.join(REPO, "configs", f"{config_file}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_config(experiment: str = "single", config_file: str = ""):
    """configs/<config_file or experiment>.py, made to train a ~10k-parameter CNN on 256
    16x16 multi-view images."""
    config = load_config_module(config_file or experiment).get_config()
    config.experiment = experiment
    config.model.name = "simple_cnn_3_1"
    config.data.image_size = 16
    config.data.multiview.patch_size = 4
    config.data.multiview.num_train = 256
    config.data.multiview.num_test = 100
    config.train.epochs = 2
    config.train.batch_size = 32
    config.train.learning_rate = 0.05
    config.runtime.verbose = 0
    return config


TINY_OVERRIDES = [
    "--config.model.name=simple_cnn_3_1",
    "--config.data.image_size=16",
    "--config.data.multiview.patch_size=4",
    "--config.data.multiview.num_train=256",
    "--config.data.multiview.num_test=100",
    "--config.train.epochs=2",
    "--config.train.batch_size=32",
    "--config.train.learning_rate=0.05",
    "--config.runtime.verbose=0",
]


def run_cli(args, cwd=REPO, timeout=600, env=None):
    """Runs `python -m ens_kd_tf.main ARGS`; returns the CompletedProcess (text)."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    return subprocess.run([sys.executable, "-m", "ens_kd_tf.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def run_python(code: str, timeout=600, env=None):
    """Runs `python -c CODE` in a fresh process (e.g. with other TF device settings)."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


@pytest.fixture
def tiny():
    return tiny_config()


@pytest.fixture(scope="session")
def cpu_runtime():
    """A one-device CPU runtime with XLA on (what TPU requires of every step)."""
    from ens_kd_tf.strategy import Runtime
    import tensorflow as tf

    return Runtime(tf.distribute.OneDeviceStrategy("/cpu:0"), jit_compile=True)


from launch_helpers import fake_bin  # noqa: E402,F401  (fixture for the launch/ tests)


@pytest.fixture(autouse=True)
def float32_policy_after_each_test():
    """Keras' dtype policy is process-global: a test whose run set mixed_bfloat16 (e.g.
    runtime.mixed_precision=auto on a large model) must not hand it to the next test."""
    yield
    import keras

    keras.mixed_precision.set_dtype_policy("float32")
