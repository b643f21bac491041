"""The fit loop: compile, resume from the newest checkpoint, train with Keras `fit`
(progress bar, TensorBoard, evaluation on the full test set), checkpoint every N steps.

`fit_resumable` trains any compiled keras.Model on a stream of batches it is handed: it
knows the step arithmetic (FitPlan), checkpoints and callbacks, and nothing of what the
batches hold or what the model computes from them (the stages build those).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional, Sequence

import keras
import tensorflow as tf
from absl import logging

from ens_kd_tf import io_utils, keras_compat
from ens_kd_tf.checkpointing import CheckpointEvery, Checkpointer, StopOnNaN
from ens_kd_tf.config_summary import write_config_summary
from ens_kd_tf.data.pipeline import steps_per_epoch
from ens_kd_tf.errors import UsageError
from ens_kd_tf.jit_choice import choose_jit
from ens_kd_tf.losses import SparseCrossentropy, classifier_metrics
from ens_kd_tf.optim import make_optimizer
from ens_kd_tf.optim import steps_per_execution as effective_steps_per_execution
from ens_kd_tf.strategy import Runtime, check_global_batch

# first global step -> an infinite stream of training batches from that step on
BatchStream = Callable[[int], tf.data.Dataset]


@dataclasses.dataclass
class FitPlan:
    """Step arithmetic and bookkeeping of a run (static shapes: every epoch is `per_epoch`
    full batches)."""

    batch_size: int
    eval_batch_size: int
    per_epoch: int
    epochs: int
    steps_per_execution: int
    eval_every_epochs: int = 1
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 3
    verbose: int = 1

    @property
    def total_steps(self) -> int:
        return self.per_epoch * self.epochs


def make_plan(train, num_train: int, runtime: Runtime, verbose: int = 1) -> FitPlan:
    """The FitPlan of config section `train` for `num_train` examples on `runtime`."""
    check_global_batch(train.batch_size, runtime.strategy)
    eval_batch = train.eval_batch_size or train.batch_size
    check_global_batch(eval_batch, runtime.strategy)
    per_epoch = steps_per_epoch(num_train, train.batch_size)
    if per_epoch < 1:
        raise UsageError(
            f"train.batch_size={train.batch_size} is larger than the {num_train} training "
            "examples; use a smaller batch")
    spe = effective_steps_per_execution(train.steps_per_execution, per_epoch)
    if spe != train.steps_per_execution:
        logging.info("steps_per_execution %d -> %d (a divisor of the %d steps per epoch)",
                     train.steps_per_execution, spe, per_epoch)
    return FitPlan(train.batch_size, eval_batch, per_epoch, train.epochs, spe,
                   train.eval_every_epochs, train.checkpoint_every_steps,
                   train.keep_checkpoints, verbose)


def compile_classifier(model: keras.Model, train, plan: FitPlan, runtime: Runtime) -> None:
    """Compiles a classifier (logits out) with the config's optimizer, loss and metrics."""
    model.compile(
        optimizer=make_optimizer(train, plan.per_epoch),
        loss=SparseCrossentropy(train.label_smoothing),
        weighted_metrics=classifier_metrics(),
        jit_compile=runtime.jit_compile,
        steps_per_execution=plan.steps_per_execution,
    )


def fit_resumable(
    model: keras.Model,
    batches: BatchStream,
    eval_data: tf.data.Dataset,
    workdir: str,
    runtime: Runtime,
    plan: FitPlan,
    checkpoint_model: Optional[keras.Model] = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    config_dict: Optional[dict] = None,
) -> dict:
    """Trains `model` (compiled) to plan.epochs, resuming from workdir/checkpoints.

    Args:
      model: the compiled model whose `fit` runs.
      batches: first global step -> the training stream from that step on (what
        model.train_step takes; data/pipeline.train_batches makes it resumable).
      eval_data: the test set's batches, evaluated every plan.eval_every_epochs epochs.
      checkpoint_model: the model whose variables are checkpointed (e.g. a wrapper's inner
        model); default `model`.
      callbacks: extra callbacks (chief only, like TensorBoard).
      config_dict: written to TensorBoard (text and hparams) when training starts.

    Returns:
      {"steps": total steps, "resumed_from": step, "train_seconds": seconds in this call,
       "last_epoch": the final epoch's mean train metrics, e.g. loss, accuracy (when this
       call trained)}.
    """
    with runtime.strategy.scope():
        checkpointer = Checkpointer(io_utils.join(workdir, "checkpoints"),
                                    checkpoint_model or model, model.optimizer,
                                    plan.keep_checkpoints, runtime.is_chief)
        start = checkpointer.restore_latest()
    summary = {"steps": plan.total_steps, "resumed_from": start, "train_seconds": 0.0}
    if start >= plan.total_steps:
        logging.info("training already finished (step %d of %d)", start, plan.total_steps)
        checkpointer.close()
        return summary
    log_dir = io_utils.join(workdir, "tensorboard")
    if runtime.is_chief and start == 0 and config_dict is not None:
        write_config_summary(log_dir, config_dict)
    all_callbacks = [StopOnNaN(checkpointer),
                     CheckpointEvery(checkpointer, plan.checkpoint_every_steps)]
    if runtime.is_chief:
        all_callbacks.append(keras.callbacks.TensorBoard(log_dir=log_dir, write_graph=False))
        all_callbacks += list(callbacks)

    if runtime.probe_jit:  # XLA or not: whichever trains this model faster here
        choose_jit(model, batches(start), plan.batch_size, runtime.is_chief)

    def run(first_step: int, initial_epoch: int, epochs: int, steps: int) -> None:
        stream = batches(first_step)
        if keras_compat.is_multi_worker(runtime.strategy):
            keras_compat.build_from_spec(model, stream.element_spec)
        history = model.fit(stream, epochs=epochs, initial_epoch=initial_epoch,
                            steps_per_epoch=steps, validation_data=eval_data,
                            validation_freq=plan.eval_every_epochs, callbacks=all_callbacks,
                            verbose=plan.verbose, shuffle=False)
        # the last epoch's running train metrics (loss includes regularisation): the
        # convergence record of configs/kernels.py
        summary["last_epoch"] = {k: float(v[-1]) for k, v in history.history.items()
                                 if v and not k.startswith("val_")}

    t0 = time.time()
    epoch, offset = divmod(start, plan.per_epoch)
    if offset:  # finish the interrupted epoch first
        run(start, epoch, epoch + 1, plan.per_epoch - offset)
        epoch += 1
    if epoch < plan.epochs:
        run(epoch * plan.per_epoch, epoch, plan.epochs, plan.per_epoch)
    checkpointer.save()
    checkpointer.close()
    summary["train_seconds"] = time.time() - t0
    return summary
