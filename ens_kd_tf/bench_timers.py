"""Timers for bench.py: each is built (and warmed up, so compilation is not timed) once, then
`seconds()` times one more round and returns seconds per train step. bench.py calls the
timers of one benchmark in turn, several rounds, and keeps each one's best, so a load spike
on this shared machine hits one round of one timer, not one timer's every figure.
"""

from __future__ import annotations

import os
import time
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from ens_kd_tf.config_defaults import base_config
from ens_kd_tf.data import load_dataset
from ens_kd_tf.data.base import make_array_dataset
from ens_kd_tf.distiller import Distiller
from ens_kd_tf.jit_choice import choose_jit
from ens_kd_tf.stages.classifier import eval_set, label_stream, new_classifier, plan_for
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.train import compile_classifier, fit_resumable, make_plan


def matmul_peak_gflops(dtype: str = "float32", size: int = 2048, chain: int = 8,
                       tries: int = 5) -> float:
    """This machine's best measured matmul throughput, GFLOP/s: the best of `tries` runs of
    a chain of `chain` [size, size] matmuls, with XLA and with TF's own (oneDNN) kernels."""
    a = tf.random.normal((size, size), dtype="float32")
    a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)

    def run(a, b):
        c = a
        for _ in range(chain):
            c = tf.matmul(c, b) * tf.cast(1e-3, dtype)
        return c

    best = float("inf")
    for jit in (True, False):
        fn = tf.function(run, jit_compile=jit)
        fn(a, b).numpy()
        for _ in range(tries):
            t0 = time.perf_counter()
            fn(a, b).numpy()
            best = min(best, time.perf_counter() - t0)
    return 2.0 * size ** 3 * chain / best / 1e9


def write_image_npz(path: str, num_train: int, num_test: int, num_classes: int,
                    seed: int = 0) -> None:
    """Random uint8 32x32x3 images and labels in the npz layout data/files.py reads."""
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, 256, (num_train, 32, 32, 3), dtype=np.uint8),
              "y_train": rng.integers(0, num_classes, num_train).astype(np.int32),
              "x_test": rng.integers(0, 256, (num_test, 32, 32, 3), dtype=np.uint8),
              "y_test": rng.integers(0, num_classes, num_test).astype(np.int32)}
    np.savez(path, **arrays)


def trainer_config(model: str, batch: int, npz: str):
    """The `single` experiment's config on an npz with CIFAR's pad-4 crop + flip."""
    config = base_config("single")
    config.model.name = model
    config.data.name = "npz"
    config.data.path = npz
    config.data.augment.crop_padding = 4
    config.data.augment.flip = True
    config.train.batch_size = batch
    config.train.epochs = 1
    config.train.eval_every_epochs = 10 ** 6  # time training, not the test-set evaluation
    config.runtime.verbose = 0
    return config


def stamp_steps(model: keras.Model) -> list:
    """Wraps the model's (built) train function to append the time each call ends to the
    returned list (CPU tf.function calls return when their step is done)."""
    stamps, inner = [], model.train_function

    def stamped(iterator):
        logs = inner(iterator)
        stamps.append(time.perf_counter())
        return logs

    model.train_function = stamped
    return stamps


def steady_step(stamps: list) -> float:
    """Seconds per step from the end of the first step to the end of the last."""
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1)


class TrainerTimer:
    """The package's trainer, `fit_resumable` (callbacks, a checkpoint each epoch,
    TensorBoard, the augmenting tf.data pipeline), on an npz of `steps` batches of 32x32x3
    images. Each `seconds()` resumes the run for one more epoch of `steps` steps.

    The step time is the steady state inside `fit`: from the end of its first train-function
    call to the end of its last, over steps - 1 steps (input pipeline and per-batch callbacks
    included). What each epoch adds on top (fit's set-up, the checkpoint, TensorBoard) is
    `epoch_overhead`, seconds per epoch, amortised over a real epoch's hundreds of steps.
    """

    def __init__(self, model: str, batch: int, steps: int, num_classes: int, workdir: str,
                 runtime: Runtime):
        if steps < 2:
            raise ValueError("the trainer's steady-state step needs --steps >= 2")
        npz = os.path.join(workdir, "images.npz")
        write_image_npz(npz, batch * steps, batch, num_classes)
        self.config = trainer_config(model, batch, npz)
        self.data = load_dataset(self.config.data)
        self.workdir, self.runtime = os.path.join(workdir, "run"), runtime
        plan = plan_for(self.config, self.data, runtime)
        with runtime.strategy.scope():
            self.model = new_classifier(self.config, self.data)
            compile_classifier(self.model, self.config.train, plan, runtime)
        self.epoch_overhead = float("inf")
        self._epoch()  # compiles (and, with jit auto, probes or reads the cached choice)
        self._stamps = stamp_steps(self.model)

    @property
    def jit_compile(self) -> bool:
        return bool(self.model.jit_compile)

    def _epoch(self) -> float:
        plan = plan_for(self.config, self.data, self.runtime)
        summary = fit_resumable(self.model, label_stream(self.config, self.data, plan),
                                eval_set(self.data, plan), self.workdir, self.runtime, plan,
                                config_dict=self.config.to_dict())
        self.config.train.epochs += 1
        return summary["train_seconds"]

    def seconds(self) -> float:
        self._stamps.clear()
        epoch = self._epoch()
        step = steady_step(self._stamps)
        self.epoch_overhead = min(self.epoch_overhead, epoch - step * len(self._stamps))
        return step


def fixed_batches(batch: int, num_classes: int, extras: Sequence[np.ndarray] = (),
                  seed: int = 0) -> tf.data.Dataset:
    """One in-memory 32x32x3 batch, repeated: a step with no input pipeline to speak of."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (batch, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, num_classes, batch).astype(np.int32)
    return tf.data.Dataset.from_tensors((x, y, *extras)).repeat()


class FitTimer:
    """`model.fit` (compiled) on `data` with no callbacks; `seconds()` runs one epoch of
    `steps` steps and returns the steady-state step time, measured like TrainerTimer's
    (the first fit, in __init__, compiles)."""

    def __init__(self, model: keras.Model, data: tf.data.Dataset, steps: int):
        if steps < 2:
            raise ValueError("a steady-state step needs --steps >= 2")
        self.model, self.data, self.steps = model, data, steps
        self.model.fit(self.data, epochs=1, steps_per_epoch=self.steps, verbose=0)
        self._stamps = stamp_steps(self.model)

    def seconds(self) -> float:
        self._stamps.clear()
        self.model.fit(self.data, epochs=1, steps_per_epoch=self.steps, verbose=0)
        return steady_step(self._stamps)


def synthetic_step_timer(model_name: str, batch: int, steps: int, num_classes: int,
                         jit_compile: bool) -> FitTimer:
    """The trainer's classifier, compiled by the trainer's `compile_classifier` on the given
    path, fed one fixed batch: the step without pipeline or callbacks."""
    config = trainer_config(model_name, batch, "")
    data = load_dataset_stub(num_classes)
    runtime = Runtime(tf.distribute.get_strategy(), jit_compile)
    plan = make_plan(config.train, batch * steps, runtime)
    model = new_classifier(config, data)
    compile_classifier(model, config.train, plan, runtime)
    return FitTimer(model, fixed_batches(batch, num_classes), steps)


def load_dataset_stub(num_classes: int):
    """A tiny random image dataset: what new_classifier needs to know (shape, classes)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    y = np.zeros(2, np.int32)
    return make_array_dataset("stub", x, y, x, y, num_classes=num_classes)


def distiller_timer(student: keras.Model, teacher: Optional[keras.Model], batch: int,
                    steps: int, num_classes: int, cached: Optional[np.ndarray],
                    jit: Optional[bool]) -> FitTimer:
    """Our Distiller (teacher forward in the step, or cached teacher logits with the batch)
    on XLA per `jit` (None: the measured choice of jit_choice.py)."""
    distiller = Distiller(student, teacher, temperature=4.0, alpha=0.1)
    distiller.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                      jit_compile=True if jit is None else jit)
    distiller.optimizer.build(student.trainable_variables)
    data = fixed_batches(batch, num_classes, () if cached is None else (cached,))
    if jit is None:
        choose_jit(distiller, data, batch)
    return FitTimer(distiller, data, steps)


class EagerTeacherLoopTimer:
    """The common Keras-example way: each teacher called eagerly from a Python loop, then a
    compiled student step taking the averaged teacher logits."""

    def __init__(self, teachers: Sequence[keras.Model], student: keras.Model, batch: int,
                 steps: int, num_classes: int, jit: bool, temperature: float = 4.0,
                 alpha: float = 0.1):
        optimizer = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)
        optimizer.build(student.trainable_variables)
        loss_of = Distiller(student, None, temperature, alpha).loss_terms  # the same loss

        @tf.function(jit_compile=jit)
        def step(x, y, t):
            with tf.GradientTape() as tape:
                s = student(x, training=True)
                loss = loss_of(y, s, t, s)[0]
            grads = tape.gradient(loss, student.trainable_variables)
            optimizer.apply_gradients(zip(grads, student.trainable_variables))
            return loss

        self.teachers, self.step, self.steps = teachers, step, steps
        self.iterator = iter(fixed_batches(batch, num_classes))
        for _ in range(2):
            self._one().numpy()

    def _one(self):
        x, y = next(self.iterator)
        t = tf.add_n([teacher(x, training=False) for teacher in self.teachers])
        return self.step(x, y, t / len(self.teachers))

    def seconds(self) -> float:
        t0 = time.perf_counter()
        for _ in range(self.steps):
            loss = self._one()
        loss.numpy()
        return (time.perf_counter() - t0) / self.steps
