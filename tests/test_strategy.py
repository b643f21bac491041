"""Strategies: N replicas give the single-device update; choices and batch checks."""

import json
import os
import subprocess
import sys

import ml_collections
import pytest
import tensorflow as tf

from conftest import REPO
from ens_kd_tf.errors import UsageError
from ens_kd_tf.strategy import (Runtime, check_global_batch, is_chief, make_strategy,
                                probe_jit, use_jit_compile, validate_runtime)


def _runtime_cfg(**kw):
    base = dict(strategy="cpu", tpu="local", num_cpu_devices=1, mixed_precision="float32",
                jit_compile="auto", verbose=0)
    base.update(kw)
    return ml_collections.ConfigDict(base)


@pytest.mark.parametrize("model_name,mode", [("wrn_10_1", "classifier"),
                                             ("simple_cnn_3_1", "classifier"),
                                             ("wrn_10_1", "distill")])
def test_two_cpu_replicas_give_the_one_device_weights(model_name, mode):
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "tests", "mirrored_check.py"), "2", model_name,
         mode],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    assert out["max_diff"] < 1e-4 * max(1.0, out["max_weight"]), out


def test_cpu_strategy_and_auto_pick_cpu_here():
    assert isinstance(make_strategy(_runtime_cfg()), tf.distribute.OneDeviceStrategy)
    assert isinstance(make_strategy(_runtime_cfg(strategy="auto")),
                      tf.distribute.OneDeviceStrategy)


def test_unknown_strategy_lists_choices():
    with pytest.raises(UsageError, match="runtime.strategy='pod'.*'tpu'"):
        validate_runtime(_runtime_cfg(strategy="pod"))


def test_gpu_strategy_without_gpu_says_how_to_install():
    with pytest.raises(UsageError, match="no GPU is visible.*pip install"):
        make_strategy(_runtime_cfg(strategy="gpu"))


def test_tpu_strategy_without_tpu_fails_clearly():
    with pytest.raises(UsageError, match="no TPU found"):
        make_strategy(_runtime_cfg(strategy="tpu", tpu="local"))


def test_jit_is_on_for_one_device_and_explicit_choices_win():
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert use_jit_compile(_runtime_cfg(), one) is True
    assert use_jit_compile(_runtime_cfg(jit_compile="off"), one) is False
    assert Runtime(one, True).is_chief and is_chief(one)
    # "auto" on one replica: fit measures XLA vs no XLA (jit_choice.py); on/off never do.
    assert probe_jit(_runtime_cfg(), one) is True
    assert probe_jit(_runtime_cfg(jit_compile="on"), one) is False
    assert probe_jit(_runtime_cfg(jit_compile="off"), one) is False
    assert "measured probe" in Runtime(one, True, probe_jit=True).describe()


def test_multi_replica_cpu_keeps_xla_off_without_a_probe():
    class TwoCpus:
        num_replicas_in_sync = 2

        class extended:
            worker_devices = ("/cpu:0", "/cpu:1")

    assert use_jit_compile(_runtime_cfg(), TwoCpus()) is False
    assert probe_jit(_runtime_cfg(), TwoCpus()) is False


def test_global_batch_must_split_over_replicas():
    class FakeStrategy:
        num_replicas_in_sync = 8

    assert check_global_batch(128, FakeStrategy()) == 16
    with pytest.raises(UsageError, match="train.batch_size=100 is not divisible by the 8"):
        check_global_batch(100, FakeStrategy())


def test_auto_precision_picks_bf16_only_where_bf16_units_exist(monkeypatch):
    from ens_kd_tf import jit_choice, strategy

    big, small = 2 * strategy.BF16_MIN_GFLOP_PER_STEP, strategy.BF16_MIN_GFLOP_PER_STEP / 2
    monkeypatch.setattr(jit_choice, "cpu_info", lambda: ("cpu", frozenset({"avx2", "avx512f"})))
    assert strategy.auto_precision(_runtime_cfg(), big) == "float32"
    assert strategy.auto_precision(_runtime_cfg()) == "float32"  # known before the model
    for flag in ("avx512_bf16", "amx_bf16"):
        monkeypatch.setattr(jit_choice, "cpu_info", lambda: ("cpu", frozenset({flag})))
        assert strategy.auto_precision(_runtime_cfg(), big) == "mixed_bfloat16"
        assert strategy.auto_precision(_runtime_cfg(), small) == "float32"
        assert strategy.auto_precision(_runtime_cfg()) is None  # waits for the model's cost
    monkeypatch.setattr(jit_choice, "cpu_info", lambda: ("cpu", frozenset()))
    assert strategy.auto_precision(_runtime_cfg(strategy="tpu")) == "mixed_bfloat16"


def test_auto_precision_settles_when_the_data_is_loaded(monkeypatch, tmp_path):
    """On a bf16 CPU, "auto" leaves float32 until the experiment loads its data, then picks
    by the model's train-step cost, before any model is built."""
    import keras

    from conftest import tiny_config
    from ens_kd_tf import jit_choice, strategy
    from ens_kd_tf.experiments.driver import Context

    monkeypatch.setattr(jit_choice, "cpu_info", lambda: ("cpu", frozenset({"avx512_bf16"})))
    config = tiny_config()
    assert config.runtime.mixed_precision == "auto"  # the default
    try:
        for threshold, expected in ((1e9, "float32"), (0.0, "mixed_bfloat16")):
            monkeypatch.setattr(strategy, "BF16_MIN_GFLOP_PER_STEP", threshold)
            runtime = strategy.Runtime(tf.distribute.get_strategy(), False,
                                       precision_config=_runtime_cfg(mixed_precision="auto"))
            assert runtime.precision_pending and "precision auto" in runtime.describe()
            Context(config, str(tmp_path), runtime).data
            assert not runtime.precision_pending
            assert keras.mixed_precision.dtype_policy().name == expected
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
