"""Throughput benchmarks with a baseline measured in the same run (these machines are noisy,
so compare ratios, not absolute figures).

  python -m ens_kd_tf.bench train --model=wrn_16_4 [--batch=128 --steps=8]
      Keras `fit` train step (our trainer: compile + jit_compile) vs a hand-written XLA
      train step on the same model; images/s and model-FLOP utilisation against this
      machine's measured matmul peak.
  python -m ens_kd_tf.bench distill --model=wrn_16_4 --teachers=4
      KD step against an ensemble teacher: baseline = each teacher called eagerly from a
      Python loop, then a compiled student step (the common Keras-example way); ours =
      the Distiller's one XLA step with the teachers inside; ours with cached teacher
      outputs (exact without augmentation or over a bank of views).
  python -m ens_kd_tf.bench kernel --model=resnet10_2_ntk
      The linearized model's train step (forward-mode jvp, kernels.py) vs the ordinary
      model's (the same network without BN); target: at most 3x its step time.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Dict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from ens_kd_tf.flops import forward_flops  # noqa: E402

_MODEL = flags.DEFINE_string("model", "wrn_16_4", "Zoo model name.")
_BATCH = flags.DEFINE_integer("batch", 128, "Global batch size.")
_STEPS = flags.DEFINE_integer("steps", 8, "Timed steps per measurement (after warm-up).")
_REPEATS = flags.DEFINE_integer("repeats", 2, "Measurements per mode; the best is reported.")
_CLASSES = flags.DEFINE_integer("num_classes", 10, "Classes of the synthetic task.")
_TEACHERS = flags.DEFINE_integer("teachers", 4, "Ensemble members teaching (distill).")

BENCHMARKS: Dict[str, Callable] = {}


def benchmark(name: str):
    def register(fn):
        BENCHMARKS[name] = fn
        return fn
    return register


def matmul_peak_gflops(size: int = 2048, iters: int = 10) -> float:
    """Measured float32 matmul throughput of this machine (XLA), GFLOP/s."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))

    @tf.function(jit_compile=True)
    def chain(a, b):
        c = a
        for _ in range(iters):
            c = tf.matmul(c, b) * 1e-3
        return c

    chain(a, b).numpy()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        chain(a, b).numpy()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size ** 3 * iters / best / 1e9


def synthetic_batches(batch: int, num_classes: int, shape=(32, 32, 3)) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch,) + shape).astype(np.float32)
    y = rng.integers(0, num_classes, batch).astype(np.int32)
    return tf.data.Dataset.from_tensors((x, y)).repeat()


def new_model(name: str, num_classes: int, seed: int = 0, **kwargs) -> keras.Model:
    from ens_kd_tf.models import build_model

    keras.utils.set_random_seed(seed)
    return build_model(name, num_classes, (32, 32, 3), l2=2.5e-4, **kwargs)


class _Timer(keras.callbacks.Callback):
    """Times the last epoch of a fit (the earlier ones compile and warm up)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def time_keras_fit(model: keras.Model, data: tf.data.Dataset, steps: int) -> float:
    """Seconds per step of `model.fit` (compiled with XLA), after a warm-up epoch."""
    from ens_kd_tf.losses import SparseCrossentropy

    model.compile(keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                  SparseCrossentropy(), jit_compile=True)
    timer = _Timer()
    model.fit(data, epochs=2, steps_per_epoch=steps, verbose=0, callbacks=[timer])
    return timer.seconds / steps


def time_handwritten_step(model: keras.Model, data: tf.data.Dataset, steps: int) -> float:
    """Seconds per step of a plain tf.function(jit_compile=True) train step: the baseline."""
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True)) + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    it = iter(data)
    for _ in range(2):
        step(*next(it)).numpy()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step(*next(it))
    loss.numpy()
    return (time.perf_counter() - t0) / steps


def report(rows, batch: int, flops_per_image: float, peak: float) -> None:
    print(f"matmul peak (measured): {peak:.1f} GFLOP/s; model: {flops_per_image / 1e9:.3f} "
          "GFLOP per trained image (3x forward)")
    base = rows[0][1]
    for name, seconds in rows:
        ips = batch / seconds
        mfu = ips * flops_per_image / (peak * 1e9)
        print(f"{name:<40} {ips:8.1f} img/s   MFU {100 * mfu:5.1f}%   "
              f"x{base / seconds:.2f} vs baseline")


@benchmark("train")
def bench_train() -> None:
    name, batch, steps = _MODEL.value, _BATCH.value, _STEPS.value
    data = synthetic_batches(batch, _CLASSES.value)
    model = new_model(name, _CLASSES.value)
    flops = 3.0 * forward_flops(model)
    peak = matmul_peak_gflops()
    hand = min(time_handwritten_step(model, data, steps) for _ in range(_REPEATS.value))
    fit = min(time_keras_fit(new_model(name, _CLASSES.value), data, steps)
              for _ in range(_REPEATS.value))
    print(f"train step, {name}, batch {batch}, float32")
    report([("baseline: hand-written XLA step", hand), ("ens_kd_tf: Keras fit, XLA", fit)],
           batch, flops, peak)


def _student_step(student: keras.Model, temperature: float = 4.0, alpha: float = 0.1):
    """A compiled KD student step taking precomputed teacher logits (the naive baseline's)."""
    from ens_kd_tf.losses import SoftTargetKL, SparseCrossentropy

    optimizer = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)
    optimizer.build(student.trainable_variables)
    hard_fn, soft_fn = SparseCrossentropy(), SoftTargetKL(temperature)

    @tf.function(jit_compile=True)
    def step(x, y, t):
        with tf.GradientTape() as tape:
            s = student(x, training=True)
            loss = (alpha * hard_fn(y, s) + (1 - alpha) * temperature ** 2 * soft_fn(t, s)
                    + tf.add_n(student.losses))
        grads = tape.gradient(loss, student.trainable_variables)
        optimizer.apply_gradients(zip(grads, student.trainable_variables))
        return loss

    return step


def time_eager_teacher_loop(teachers, student, data, steps: int) -> float:
    step = _student_step(student)
    it = iter(data)

    def run_one():
        x, y = next(it)
        t = tf.add_n([teacher(x, training=False) for teacher in teachers]) / len(teachers)
        return step(x, y, t)

    for _ in range(2):
        run_one().numpy()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = run_one()
    loss.numpy()
    return (time.perf_counter() - t0) / steps


def time_distiller(teacher, student, data, steps: int) -> float:
    """Seconds per step of our Distiller's fit (XLA); teacher=None reads cached logits."""
    from ens_kd_tf.distill import Distiller

    distiller = Distiller(student, teacher, temperature=4.0, alpha=0.1)
    distiller.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                      jit_compile=True)
    timer = _Timer()
    distiller.fit(data, epochs=2, steps_per_epoch=steps, verbose=0, callbacks=[timer])
    return timer.seconds / steps


@benchmark("distill")
def bench_distill() -> None:
    from ens_kd_tf.ensemble import build_ensemble

    name, batch, steps, count = _MODEL.value, _BATCH.value, _STEPS.value, _TEACHERS.value
    data = synthetic_batches(batch, _CLASSES.value)
    teachers = [new_model(name, _CLASSES.value, seed=100 + i) for i in range(count)]
    for i, t in enumerate(teachers):
        t.name = f"teacher_{i}"
        t.trainable = False
    ensemble = build_ensemble(teachers, "logits")
    x, y = next(iter(data))
    cached = data.map(lambda xb, yb: (xb, yb, ensemble(xb, training=False)))
    cached = tf.data.Dataset.from_tensors(next(iter(cached))).repeat()
    flops = 3.0 * forward_flops(teachers[0])  # student training FLOPs per image
    peak = matmul_peak_gflops()
    rows = []
    for label, timer in (
            ("baseline: eager teacher loop + XLA step",
             lambda: time_eager_teacher_loop(teachers, new_model(name, _CLASSES.value), data,
                                             steps)),
            ("ens_kd_tf: Distiller, teachers on the fly",
             lambda: time_distiller(ensemble, new_model(name, _CLASSES.value), data, steps)),
            ("ens_kd_tf: Distiller, cached teacher outputs",
             lambda: time_distiller(None, new_model(name, _CLASSES.value), cached, steps))):
        rows.append((label, min(timer() for _ in range(_REPEATS.value))))
    print(f"KD step, {name} student, {count} {name} teachers, batch {batch}, float32 "
          "(MFU counts the student's training FLOPs only)")
    report(rows, batch, flops, peak)


@benchmark("kernel")
def bench_kernel() -> None:
    """Linearized (jvp) train step vs the ordinary model's, same architecture without BN."""
    from ens_kd_tf.models import KERNEL_SUFFIXES

    name, batch, steps = _MODEL.value, _BATCH.value, _STEPS.value
    base = next((name[:-len(s)] for s in KERNEL_SUFFIXES if name.endswith(s)), None)
    if base is None:
        raise app.UsageError(f"--model={name!r} is not a kernel model; use a zoo name ending "
                             f"in {', '.join(KERNEL_SUFFIXES)} (e.g. resnet10_2_ntk)")
    data = synthetic_batches(batch, _CLASSES.value)
    ordinary = lambda: new_model(base, _CLASSES.value, batchnorm=False)  # noqa: E731
    flops = 3.0 * forward_flops(ordinary())
    peak = matmul_peak_gflops()
    rows = [(f"baseline: {base} (no BN), Keras fit, XLA",
             min(time_keras_fit(ordinary(), data, steps) for _ in range(_REPEATS.value))),
            (f"{name}: linearized, Keras fit, XLA",
             min(time_keras_fit(new_model(name, _CLASSES.value), data, steps)
                 for _ in range(_REPEATS.value)))]
    print(f"train step, {name} vs {base}, batch {batch}, float32 (MFU counts the ordinary "
          "model's FLOPs; target: the linearized step at most 3x the ordinary one)")
    report(rows, batch, flops, peak)
    print(f"linearized / ordinary step time: {rows[1][1] / rows[0][1]:.2f}x")


def main(argv) -> None:
    if len(argv) != 2 or argv[1] not in BENCHMARKS:
        raise app.UsageError(f"usage: python -m ens_kd_tf.bench {{{','.join(BENCHMARKS)}}} "
                             "[--flags]")
    BENCHMARKS[argv[1]]()


if __name__ == "__main__":
    app.run(main)
