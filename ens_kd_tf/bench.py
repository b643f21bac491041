"""Throughput benchmarks with baselines measured in the same run (these machines are noisy,
so compare ratios, not absolute figures). Each benchmark builds and warms up all its timers
first (compilation is not timed), then times them in turn for --repeats rounds and reports
each one's best round.

  python -m ens_kd_tf.bench train --model=wrn_16_4 [--against=torch] [--precision=...]
      The package's trainer (train.fit_resumable: callbacks, a checkpoint per epoch,
      TensorBoard) on an npz of 32x32x3 images through the pad-4 crop + flip pipeline, beside
      the same compiled classifier fed one fixed in-memory batch (the synthetic step: if the
      trainer is within 5% of it, the pipeline and callbacks are not the bottleneck). With
      --against=torch: the same WRN in PyTorch, eager with channels_last and under
      torch.compile (float32). XLA or not per --jit (auto = the trainer's measured choice).
      Ends with `trainer vs torch eager: x<ratio>`.
  python -m ens_kd_tf.bench distill --model=wrn_16_4 --teachers=4
      KD step against an ensemble teacher: baseline = each teacher called eagerly from a
      Python loop, then a compiled student step (the common Keras-example way); ours =
      the Distiller's one compiled step with the teachers inside; ours with cached teacher
      outputs (exact without augmentation or over a bank of views). All on the path
      jit_choice.py picks for the Distiller (or --jit).
  python -m ens_kd_tf.bench kernel --model=resnet10_2_ntk
      The linearized model's train step (forward-mode jvp, kernels.py) vs the ordinary
      model's (the same network without BN); target: at most 3x its step time.

MFU is against the best matmul throughput measured before and after the timed rounds (in
the run's compute dtype), so it cannot pass 100% through a noisy peak.
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable, Dict, List, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from ens_kd_tf import bench_timers as timers  # noqa: E402
from ens_kd_tf.bench_torch import TorchWorker, torch_missing_reason  # noqa: E402
from ens_kd_tf.ensemble import build_ensemble  # noqa: E402
from ens_kd_tf.flops import forward_flops  # noqa: E402
from ens_kd_tf.jit_choice import step_gflops  # noqa: E402
from ens_kd_tf.losses import SparseCrossentropy  # noqa: E402
from ens_kd_tf.models import KERNEL_SUFFIXES, build_model  # noqa: E402
from ens_kd_tf.strategy import (JIT_CHOICES, PRECISIONS, Runtime, auto_precision,  # noqa: E402
                                set_precision)

_MODEL = flags.DEFINE_string("model", "wrn_16_4", "Zoo model name.")
_BATCH = flags.DEFINE_integer("batch", 128, "Global batch size.")
_STEPS = flags.DEFINE_integer("steps", 8, "Timed steps per round (after warm-up).")
_REPEATS = flags.DEFINE_integer("repeats", 2, "Rounds; each timer's best round is reported.")
_CLASSES = flags.DEFINE_integer("num_classes", 10, "Classes of the synthetic task.")
_TEACHERS = flags.DEFINE_integer("teachers", 4, "Ensemble members teaching (distill).")
_AGAINST = flags.DEFINE_enum("against", "", ["", "torch"], "train: also time PyTorch.")
_JIT = flags.DEFINE_enum("jit", "auto", list(JIT_CHOICES),
                         "XLA for ens_kd_tf's steps: auto = jit_choice.py's measured choice.")
_PRECISION = flags.DEFINE_enum("precision", "float32", list(PRECISIONS),
                               "Keras dtype policy of ens_kd_tf's models (PyTorch: float32).")

_PEAK_SIZE = flags.DEFINE_integer("peak_matmul", 2048, "Matrix size of the peak measurement.")

BENCHMARKS: Dict[str, Callable] = {}
Rows = List[Tuple[str, float]]


def benchmark(name: str):
    def register(fn):
        BENCHMARKS[name] = fn
        return fn
    return register


def compute_dtype() -> str:
    return keras.mixed_precision.dtype_policy().compute_dtype


def new_model(name: str, num_classes: int, seed: int = 0, **kwargs) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model(name, num_classes, (32, 32, 3), l2=2.5e-4, **kwargs)


def forced_jit():
    """--jit as a bool, or None for the measured choice."""
    return None if _JIT.value == "auto" else _JIT.value == "on"


def one_device_runtime() -> Runtime:
    jit = forced_jit()
    return Runtime(tf.distribute.OneDeviceStrategy("/cpu:0"), bool(jit is None or jit),
                   probe_jit=jit is None)


def best_of_rounds(timers_: Dict[str, Callable[[], float]], rounds: int) -> Rows:
    """Each timer's best seconds/step over `rounds` interleaved rounds."""
    best = {label: float("inf") for label in timers_}
    for _ in range(rounds):
        for label, timer in timers_.items():
            best[label] = min(best[label], timer())
    return list(best.items())


def report(rows: Rows, batch: int, flops_per_image: float, peak: float) -> None:
    print(f"matmul peak (measured, {compute_dtype()}, best before/after): {peak:.1f} GFLOP/s; "
          f"model: {flops_per_image / 1e9:.3f} GFLOP per trained image (3x forward)")
    base = rows[0][1]
    for name, seconds in rows:
        ips = batch / seconds
        mfu = ips * flops_per_image / (peak * 1e9)
        print(f"{name:<52} {ips:8.1f} img/s   MFU {100 * mfu:5.1f}%   "
              f"x{base / seconds:.2f} vs baseline")


def path_label(jit: bool) -> str:
    return f"{'XLA' if jit else 'no XLA'}, {keras.mixed_precision.dtype_policy().name}"


@benchmark("train")
def bench_train() -> None:
    name, batch, steps, classes = _MODEL.value, _BATCH.value, _STEPS.value, _CLASSES.value
    reason = torch_missing_reason() if _AGAINST.value == "torch" else None
    if reason:
        print(f"--against=torch skipped: {reason}")
    peak_before = timers.matmul_peak_gflops(compute_dtype(), _PEAK_SIZE.value)
    with tempfile.TemporaryDirectory(prefix="ens_kd_tf_bench_") as workdir:
        trainer = timers.TrainerTimer(name, batch, steps, classes, workdir,
                                      one_device_runtime())
        jit = trainer.jit_compile
        synthetic = timers.synthetic_step_timer(name, batch, steps, classes, jit)
        rows_timers = {f"baseline: synthetic step (fit on one batch, {path_label(jit)})":
                       synthetic.seconds,
                       f"ens_kd_tf trainer, npz + crop/flip ({path_label(jit)})":
                       trainer.seconds}
        workers = []
        if _AGAINST.value == "torch" and not reason:
            eager = TorchWorker(name, batch, classes, compiled=False)
            compiled = TorchWorker(name, batch, classes, compiled=True)
            workers = [eager, compiled]
            rows_timers["PyTorch eager, channels_last (float32)"] = lambda: eager.seconds(steps)
            rows_timers["PyTorch torch.compile (float32)"] = lambda: compiled.seconds(steps)
            print(f"parameters: PyTorch {eager.params}, ens_kd_tf "
                  f"{sum(int(tf.size(w)) for w in trainer.model.trainable_weights)} (trainable)")
        rows = best_of_rounds(rows_timers, _REPEATS.value)
        for worker in workers:
            worker.close()
        flops = 3.0 * forward_flops(trainer.model)
    peak = max(peak_before, timers.matmul_peak_gflops(compute_dtype(), _PEAK_SIZE.value))
    print(f"train step, {name}, batch {batch}, {steps} steps x {_REPEATS.value} rounds, "
          f"--jit={_JIT.value}")
    report(rows, batch, flops, peak)
    seconds = dict(rows)
    synth, real = rows[0][1], rows[1][1]
    print(f"trainer's per-epoch cost beyond its steps (fit set-up, checkpoint, TensorBoard): "
          f"{trainer.epoch_overhead:.2f} s")
    print(f"real pipeline / synthetic step: x{synth / real:.2f} (target >= 0.95: "
          f"{'holds' if synth / real >= 0.95 else 'does NOT hold'})")
    if len(rows) > 2:
        eager_s = seconds["PyTorch eager, channels_last (float32)"]
        policy = keras.mixed_precision.dtype_policy().name
        label = "trainer" if policy == "float32" else f"trainer ({policy})"
        print(f"{label} vs torch eager: x{eager_s / real:.2f}")


@benchmark("distill")
def bench_distill() -> None:
    name, batch, steps, count = _MODEL.value, _BATCH.value, _STEPS.value, _TEACHERS.value
    classes = _CLASSES.value
    teachers = [new_model(name, classes, seed=100 + i) for i in range(count)]
    for i, t in enumerate(teachers):
        t.name = f"teacher_{i}"
        t.trainable = False
    ensemble = build_ensemble(teachers, "logits")
    x, _ = next(iter(timers.fixed_batches(batch, classes)))
    cached_logits = ensemble(x, training=False).numpy()
    peak_before = timers.matmul_peak_gflops(compute_dtype(), _PEAK_SIZE.value)
    jit = forced_jit()
    on_the_fly = timers.distiller_timer(new_model(name, classes), ensemble, batch, steps,
                                        classes, None, jit)
    jit = bool(on_the_fly.model.jit_compile)  # the baseline's student step takes our path
    cached = timers.distiller_timer(new_model(name, classes), None, batch, steps, classes,
                                    cached_logits, jit)
    loop = timers.EagerTeacherLoopTimer(teachers, new_model(name, classes), batch, steps,
                                        classes, jit)
    rows = best_of_rounds({
        f"baseline: eager teacher loop + step ({path_label(jit)})": loop.seconds,
        "ens_kd_tf: Distiller, teachers on the fly": on_the_fly.seconds,
        "ens_kd_tf: Distiller, cached teacher outputs": cached.seconds}, _REPEATS.value)
    peak = max(peak_before, timers.matmul_peak_gflops(compute_dtype(), _PEAK_SIZE.value))
    flops = 3.0 * forward_flops(teachers[0])  # student training FLOPs per image
    print(f"KD step, {name} student, {count} {name} teachers, batch {batch}, "
          f"{path_label(jit)} (MFU counts the student's training FLOPs only)")
    report(rows, batch, flops, peak)
    base = rows[0][1]
    for label, target, seconds in (("on the fly", 1.2, rows[1][1]), ("cached", 2.0, rows[2][1])):
        ratio = base / seconds
        print(f"Distiller {label} vs eager teacher loop: x{ratio:.2f} (target >= {target}: "
              f"{'holds' if ratio >= target else 'does NOT hold'})")


@benchmark("kernel")
def bench_kernel() -> None:
    """Linearized (jvp) train step vs the ordinary model's, same architecture without BN."""
    name, batch, steps = _MODEL.value, _BATCH.value, _STEPS.value
    base = next((name[:-len(s)] for s in KERNEL_SUFFIXES if name.endswith(s)), None)
    if base is None:
        raise app.UsageError(f"--model={name!r} is not a kernel model; use a zoo name ending "
                             f"in {', '.join(KERNEL_SUFFIXES)} (e.g. resnet10_2_ntk)")
    jit = forced_jit() is not False  # the two models on the same path (auto: XLA)
    data = timers.fixed_batches(batch, _CLASSES.value)

    def fit_timer(model):
        model.compile(keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                      SparseCrossentropy(), jit_compile=jit)
        return timers.FitTimer(model, data, steps)

    ordinary = fit_timer(new_model(base, _CLASSES.value, batchnorm=False))
    linear = fit_timer(new_model(name, _CLASSES.value))
    peak_before = timers.matmul_peak_gflops(compute_dtype(), _PEAK_SIZE.value)
    rows = best_of_rounds({f"baseline: {base} (no BN), Keras fit, {path_label(jit)}":
                           ordinary.seconds,
                           f"{name}: linearized, Keras fit, {path_label(jit)}": linear.seconds},
                          _REPEATS.value)
    peak = max(peak_before, timers.matmul_peak_gflops(compute_dtype(), _PEAK_SIZE.value))
    print(f"train step, {name} vs {base}, batch {batch} (MFU counts the ordinary "
          "model's FLOPs; target: the linearized step at most 3x the ordinary one)")
    report(rows, batch, 3.0 * forward_flops(ordinary.model), peak)
    print(f"linearized / ordinary step time: {rows[1][1] / rows[0][1]:.2f}x")


def main(argv) -> None:
    if len(argv) != 2 or argv[1] not in BENCHMARKS:
        raise app.UsageError(f"usage: python -m ens_kd_tf.bench {{{','.join(BENCHMARKS)}}} "
                             "[--flags]")
    if set_precision(_PRECISION.value) is None:  # "auto" on a bf16 CPU: by the model's cost
        gflop = step_gflops(new_model(_MODEL.value, _CLASSES.value), _BATCH.value)
        policy = auto_precision(None, gflop) or "float32"
        print(f"--precision=auto picked {policy} ({gflop:.1f} GFLOP per train step)")
        set_precision(policy)
    BENCHMARKS[argv[1]]()


if __name__ == "__main__":
    app.run(main)
