"""The benchmarks run and print their figures (speed targets live in the benchmarks, not in
tests; this only keeps the commands working)."""

import re
import subprocess
import sys

from conftest import REPO


def _bench(*args):
    proc = subprocess.run([sys.executable, "-m", "ens_kd_tf.bench", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_train_benchmark_prints_throughput_mfu_and_ratio():
    out = _bench("train", "--model=mlp_2_16", "--batch=16", "--steps=2", "--repeats=1")
    assert re.search(r"matmul peak \(measured\): [\d.]+ GFLOP/s", out)
    assert re.search(r"baseline: hand-written XLA step\s+[\d.]+ img/s\s+MFU\s+[\d.]+%", out)
    assert re.search(r"Keras fit, XLA\s+[\d.]+ img/s .* x[\d.]+ vs baseline", out)


def test_distill_benchmark_prints_the_three_modes():
    out = _bench("distill", "--model=mlp_2_16", "--teachers=2", "--batch=16",
                 "--steps=2", "--repeats=1")
    for label in ("baseline: eager teacher loop", "teachers on the fly",
                  "cached teacher outputs"):
        assert re.search(label + r".*\s[\d.]+ img/s .* x[\d.]+ vs baseline", out), label


def test_kernel_benchmark_prints_the_ratio_to_the_ordinary_step():
    out = _bench("kernel", "--model=mlp_2_16_ntk", "--batch=16", "--steps=2",
                 "--repeats=1")
    assert re.search(r"baseline: mlp_2_16 \(no BN\).*\s[\d.]+ img/s", out)
    assert re.search(r"linearized / ordinary step time: [\d.]+x", out)
    proc = subprocess.run([sys.executable, "-m", "ens_kd_tf.bench", "kernel",
                           "--model=simple_cnn_3_1"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0 and "is not a kernel model" in proc.stderr
