"""`runtime.jit_compile=auto`: XLA or not, by what trains this model faster on this machine.

Neither path wins everywhere (issue 15's measurements, DESIGN.md): on a 2-core AVX-512 +
AVX512_BF16 EPYC, WRN-16-4 trained ~1.35x faster WITHOUT XLA (TF's oneDNN kernels), while on
an AVX2 Zen 3 XLA was ~15% faster; and the answer changes with the model and precision
(README, "Benchmarks"). So before the first `fit`, `choose_jit` times a few train steps of
the real compiled model on one real batch with and without XLA (after a warm-up that
compiles; the two paths alternate, best of `rounds`), keeps the faster path's compiled train
function, restores every variable the probe touched (model, optimizer, seed generators) and
caches the answer in a JSON file keyed by machine (CPU model + flags, GPUs, TF version),
model (name, size, layer classes), batch, precision and strategy, so the probe runs once per
machine and setting.

Steps below `PROBE_MIN_GFLOP_PER_STEP` (training FLOPs per step) skip the probe and keep
XLA on, the earlier default: the probe's fixed cost (two compiles and ~10 steps) is not worth
paying for runs of such tiny models, and the test suite's models are all below it (so no test
pays for a probe unless it asks for one). This is a cost rule, not a speed claim: the demo's
SimpleCNN-6-1 (0.95 GFLOP/step) is above it and is probed, because on this EPYC its step
without XLA measured 2.1x faster than with XLA (the demo's own probe line; README,
"Benchmarks").

Cache file: $ENS_KD_TF_CACHE_DIR/jit_choice.json, else $XDG_CACHE_HOME/ens_kd_tf/...,
else ~/.cache/ens_kd_tf/jit_choice.json. Delete it to probe again.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from typing import Dict, Optional, Tuple

import keras
import tensorflow as tf
from absl import logging

from ens_kd_tf import io_utils
from ens_kd_tf.errors import StorageError
from ens_kd_tf.flops import forward_flops

CACHE_ENV = "ENS_KD_TF_CACHE_DIR"
CACHE_FILE = "jit_choice.json"
# Training GFLOPs per step (3x forward x global batch) below which the probe is skipped.
PROBE_MIN_GFLOP_PER_STEP = 0.5


def cache_dir() -> str:
    """Where per-machine choices live (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return os.environ[CACHE_ENV]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ens_kd_tf")


def cpu_info() -> Tuple[str, frozenset]:
    """(CPU model name, CPU flags) from /proc/cpuinfo; (platform name, {}) elsewhere."""
    model, flags = platform.processor() or platform.machine(), frozenset()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key in ("flags", "Features"):
                    flags = frozenset(value.split())
                if model and flags:
                    break
    except OSError:
        pass
    return model, flags


def machine_id() -> str:
    """CPU model + a hash of its flags + visible GPUs + the TF version."""
    model, flags = cpu_info()
    digest = hashlib.sha1(" ".join(sorted(flags)).encode()).hexdigest()[:10]
    gpus = [tf.config.experimental.get_device_details(g).get("device_name", "gpu")
            for g in tf.config.list_physical_devices("GPU")]
    return f"{model} [flags {digest}] {'+'.join(gpus) or 'no GPU'} TF {tf.__version__}"


def step_gflops(model: keras.Model, batch_size: int) -> Optional[float]:
    """Training GFLOPs of one step (3x the conv/dense forward FLOPs x batch); None if the
    model's layers cannot be counted."""
    try:
        return 3.0 * forward_flops(model) * batch_size / 1e9
    except (AttributeError, ValueError, TypeError):
        return None


def layer_classes_digest(model: keras.Model) -> str:
    """A short hash of the model's layer classes (module + name, nested layers included): a
    model whose layers change implementation (e.g. Keras' batch norm -> the fused
    models.layers.BatchNormalization) is probed again rather than reusing the old timing."""
    classes = sorted({f"{type(layer).__module__}.{type(layer).__qualname__}"
                      for layer in model._flatten_layers(include_self=True, recursive=True)})
    return hashlib.sha1(" ".join(classes).encode()).hexdigest()[:8]


def probe_key(model: keras.Model, batch_size: int, strategy: tf.distribute.Strategy) -> str:
    params = sum(int(tf.size(v)) for v in model.variables)
    return (f"{machine_id()} | {type(model).__name__}:{model.name} {params} vars, "
            f"layers {layer_classes_digest(model)} | "
            f"batch {batch_size} | {keras.mixed_precision.dtype_policy().name} | "
            f"{type(strategy).__name__} x{strategy.num_replicas_in_sync} | "
            f"steps_per_execution {model.steps_per_execution}")


def _read_cache(path: str) -> Dict[str, dict]:
    try:
        if tf.io.gfile.exists(path):
            return io_utils.read_json(path)
    except (ValueError, OSError, tf.errors.OpError) as e:
        logging.warning("ignoring unreadable XLA-choice cache %s (%s)", path, e)
    return {}


def _write_cache(path: str, key: str, entry: dict) -> None:
    cache = _read_cache(path)  # re-read: another process may have added entries
    cache[key] = entry
    try:
        io_utils.write_json_atomic(path, cache)
    except StorageError as e:  # a read-only home must not stop training
        logging.warning("could not cache the XLA choice: %s", e)


def _time_calls(fn, iterator, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        logs = fn(iterator)
    tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, logs)
    return (time.perf_counter() - t0) / calls


def probe(model: keras.Model, batches: tf.data.Dataset, warmup: int = 2, steps: int = 2,
          rounds: int = 2) -> Dict[bool, float]:
    """Seconds per train step of `model` (compiled) with XLA off / on, on the first batch of
    `batches` repeated. Variables are restored afterwards; `model.train_function` is left as
    the faster path's (so `fit` does not compile it again) and `model.jit_compile` set.

    Returns {False: s/step without XLA, True: s/step with XLA (inf if XLA failed)}.
    """
    strategy = model.distribute_strategy
    saved = [(v, v.numpy()) for v in model.variables + model.optimizer.variables]
    dataset = strategy.experimental_distribute_dataset(batches.take(1).cache().repeat())
    iterator = iter(dataset)
    fns, seconds = {}, {}
    for jit in (False, True):
        model.jit_compile = jit
        model.make_train_function(force=True)
        fns[jit] = model.train_function
        try:
            _time_calls(fns[jit], iterator, warmup)
            seconds[jit] = float("inf")
        except (tf.errors.OpError, ValueError, NotImplementedError) as e:
            if not jit:
                raise
            logging.warning("XLA cannot compile this train step (%s); using XLA off",
                            str(e).splitlines()[0])
            seconds[True] = float("inf")
            fns.pop(True)
    for _ in range(rounds):  # alternate, so a load spike does not favour one path
        for jit in fns:
            seconds[jit] = min(seconds[jit], _time_calls(fns[jit], iterator, steps))
    spe = int(model.steps_per_execution or 1)
    seconds = {jit: s / spe for jit, s in seconds.items()}
    best = min(seconds, key=seconds.get)
    model.jit_compile = best
    model.train_function = fns[best]
    for v, value in saved:
        v.assign(value)
    model.reset_metrics()
    return seconds


def choose_jit(model: keras.Model, batches: tf.data.Dataset, batch_size: int,
               is_chief: bool = True) -> bool:
    """Sets `model.jit_compile` (and its train function) to the faster path for this
    machine, model, batch, precision and strategy: from the cache, or by `probe`.

    `model` must be compiled and its optimizer built (fit_resumable's Checkpointer builds
    it). Logs one line with the choice and where it came from.
    """
    gflops = step_gflops(model, batch_size)
    if gflops is not None and gflops < PROBE_MIN_GFLOP_PER_STEP:
        model.jit_compile = True
        logging.info("runtime.jit_compile=auto: XLA on (%.2f GFLOP/step is below the %.0f "
                     "GFLOP/step probe threshold)", gflops, PROBE_MIN_GFLOP_PER_STEP)
        return True
    path = os.path.join(cache_dir(), CACHE_FILE)
    key = probe_key(model, batch_size, model.distribute_strategy)
    entry = _read_cache(path).get(key)
    if entry is not None and isinstance(entry.get("xla"), bool):
        model.jit_compile = entry["xla"]
        logging.info("runtime.jit_compile=auto: XLA %s (cached probe: %.3f s/step with XLA, "
                     "%.3f without; %s)", "on" if entry["xla"] else "off",
                     entry["xla_seconds"], entry["no_xla_seconds"], path)
        return entry["xla"]
    seconds = probe(model, batches)
    xla = bool(model.jit_compile)
    if is_chief:
        _write_cache(path, key, {"xla": xla, "xla_seconds": seconds[True],
                                 "no_xla_seconds": seconds[False],
                                 "probed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    logging.info("runtime.jit_compile=auto: XLA %s (probe: %.3f s/step with XLA, %.3f "
                 "without; cached in %s)", "on" if xla else "off", seconds[True],
                 seconds[False], path)
    return xla


def cache_entries() -> Dict[str, dict]:
    """The cached choices (for inspection and tests)."""
    return _read_cache(os.path.join(cache_dir(), CACHE_FILE))

