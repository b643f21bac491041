"""The benchmarks run and print their figures (speed targets live in the benchmarks, not in
tests; this only keeps the commands working). PyTorch is optional: the --against=torch run
here hides it, so the skip path is checked whether or not it is installed; the PyTorch twin
of our WRN is checked (parameter for parameter) only where PyTorch is installed."""

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO


def _bench(*args, env=None):
    proc = subprocess.run([sys.executable, "-m", "ens_kd_tf.bench", *args,
                           "--peak_matmul=512"], cwd=REPO,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_train_benchmark_times_the_trainer_beside_the_synthetic_step(tmp_path):
    no_torch = tmp_path / "no_torch"
    no_torch.mkdir()
    (no_torch / "torch.py").write_text("raise ImportError('hidden by the test')\n")
    out = _bench("train", "--model=mlp_2_16", "--batch=16", "--steps=3", "--repeats=1",
                 "--jit=on", "--against=torch",
                 env={"PYTHONPATH": f"{no_torch}{os.pathsep}{REPO}"})
    assert re.search(r"--against=torch skipped: PyTorch cannot be imported \(hidden", out)
    assert re.search(r"matmul peak \(measured, float32, best before/after\): [\d.]+ GFLOP/s",
                     out)
    assert re.search(r"baseline: synthetic step .*XLA, float32\)\s+[\d.]+ img/s\s+MFU\s+"
                     r"[\d.]+%", out)
    assert re.search(r"ens_kd_tf trainer, npz \+ crop/flip .*\s[\d.]+ img/s .* x[\d.]+ vs "
                     r"baseline", out)
    assert re.search(r"real pipeline / synthetic step: x[\d.]+ \(target >= 0.95: (holds|does "
                     r"NOT hold)\)", out)
    assert "trainer vs torch eager" not in out
    mfus = [float(m) for m in re.findall(r"MFU\s+([\d.]+)%", out)]
    assert mfus and max(mfus) <= 100.0, out


def test_distill_benchmark_prints_the_three_modes():
    out = _bench("distill", "--model=mlp_2_16", "--teachers=2", "--batch=16",
                 "--steps=2", "--repeats=1", "--jit=on")
    for label in ("baseline: eager teacher loop", "teachers on the fly",
                  "cached teacher outputs"):
        assert re.search(label + r".*\s[\d.]+ img/s .* x[\d.]+ vs baseline", out), label
    assert re.search(r"Distiller cached vs eager teacher loop: x[\d.]+ \(target >= 2.0", out)


def test_kernel_benchmark_prints_the_ratio_to_the_ordinary_step():
    out = _bench("kernel", "--model=mlp_2_16_ntk", "--batch=16", "--steps=2",
                 "--repeats=1")
    assert re.search(r"baseline: mlp_2_16 \(no BN\).*\s[\d.]+ img/s", out)
    assert re.search(r"linearized / ordinary step time: [\d.]+x", out)
    proc = subprocess.run([sys.executable, "-m", "ens_kd_tf.bench", "kernel",
                           "--model=simple_cnn_3_1"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0 and "is not a kernel model" in proc.stderr


def test_the_pytorch_wrn_has_our_wrn_parameters():
    from ens_kd_tf import bench_torch

    reason = bench_torch.torch_missing_reason()
    if reason:
        pytest.skip(reason)
    from ens_kd_tf.models import build_model

    ours = build_model("wrn_10_1", 10, (32, 32, 3))
    theirs = bench_torch.wide_resnet(10, 1, 10)
    assert sum(p.numel() for p in theirs.parameters()) == ours.count_params() - sum(
        int(w.shape.num_elements()) for w in ours.non_trainable_weights)
    step = bench_torch.TorchStep("wrn_10_1", 4, 10, compiled=False)
    assert 0 < step.seconds(1) < 60
