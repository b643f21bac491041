"""The fit loop: compile, resume from the newest checkpoint, train with Keras `fit`
(progress bar, TensorBoard, evaluation on the full test set), checkpoint every N steps.

`fit_resumable` works for any compiled keras.Model whose train_step takes the batches of
data/pipeline.train_batches: plain classifiers, JointSum and the Distiller alike.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Optional, Sequence

import keras
import numpy as np
from absl import logging

from ens_kd_tf import io_utils, keras_compat, probes
from ens_kd_tf.checkpointing import CheckpointEvery, Checkpointer, StopOnNaN
from ens_kd_tf.data.base import ArrayDataset
from ens_kd_tf.data.pipeline import eval_batches, steps_per_epoch, train_batches
from ens_kd_tf.jit_choice import choose_jit
from ens_kd_tf.losses import SparseCrossentropy, classification_metrics
from ens_kd_tf.optim import make_optimizer
from ens_kd_tf.optim import steps_per_execution as effective_steps_per_execution
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.summaries import write_config_summary


@dataclasses.dataclass
class FitPlan:
    """Step arithmetic of a run (static shapes: every epoch is `per_epoch` full batches)."""

    batch_size: int
    eval_batch_size: int
    per_epoch: int
    epochs: int
    steps_per_execution: int

    @property
    def total_steps(self) -> int:
        return self.per_epoch * self.epochs


def make_plan(train, num_train: int, runtime: Runtime) -> FitPlan:
    from ens_kd_tf.errors import UsageError
    from ens_kd_tf.strategy import check_global_batch

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
    return FitPlan(train.batch_size, eval_batch, per_epoch, train.epochs, spe)


def compile_classifier(model: keras.Model, train, plan: FitPlan, runtime: Runtime) -> None:
    """Compiles a classifier (logits out) with the config's optimizer, loss and metrics."""
    model.compile(
        optimizer=make_optimizer(train, plan.per_epoch),
        loss=SparseCrossentropy(train.label_smoothing),
        weighted_metrics=classification_metrics(),
        jit_compile=runtime.jit_compile,
        steps_per_execution=plan.steps_per_execution,
    )


def fit_resumable(
    model: keras.Model,
    data: ArrayDataset,
    config,
    workdir: str,
    runtime: Runtime,
    plan: FitPlan,
    checkpoint_model: Optional[keras.Model] = None,
    train_extras: Sequence[np.ndarray] = (),
    eval_extras: Sequence[np.ndarray] = (),
    bank_views: int = 0,
    view_extras: Sequence[np.ndarray] = (),
) -> dict:
    """Trains `model` (compiled) to config.train.epochs, resuming from workdir/checkpoints.

    Args:
      model: the compiled model whose `fit` runs.
      checkpoint_model: the model whose variables are checkpointed (the Distiller's
        student); default `model`.
      train_extras / eval_extras: arrays aligned with the train / test split, batched beside
        (x, y) (e.g. cached teacher logits).
      bank_views, view_extras: a fixed bank of augmented views and per-view arrays
        [N, V, ...] (see data/pipeline.train_batches).

    Returns:
      {"steps": total steps, "resumed_from": step, "train_seconds": seconds in this call,
       "last_epoch": the final epoch's mean train metrics, e.g. loss, accuracy (when this
       call trained)}.
    """
    train = config.train
    with runtime.strategy.scope():
        checkpointer = Checkpointer(io_utils.join(workdir, "checkpoints"),
                                    checkpoint_model or model, model.optimizer,
                                    train.keep_checkpoints, runtime.is_chief)
        start = checkpointer.restore_latest()
    summary = {"steps": plan.total_steps, "resumed_from": start, "train_seconds": 0.0}
    if start >= plan.total_steps:
        logging.info("training already finished (step %d of %d)", start, plan.total_steps)
        checkpointer.close()
        return summary
    log_dir = io_utils.join(workdir, "tensorboard")
    if runtime.is_chief and start == 0:
        write_config_summary(log_dir, config.to_dict())
    callbacks = [
        StopOnNaN(checkpointer),
        CheckpointEvery(checkpointer, train.checkpoint_every_steps),
    ]
    if runtime.is_chief:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=log_dir, write_graph=False))
        callbacks += probes.fit_callbacks(config, checkpoint_model or model, workdir)
    eval_data = eval_batches(data.x_test, data.y_test, plan.eval_batch_size, eval_extras)
    aug = config.data.augment

    def batches(first_step: int):
        return train_batches(data, plan.batch_size, config.seed, first_step, aug.crop_padding,
                             aug.flip, train_extras, bank_views, view_extras)

    if runtime.probe_jit:  # XLA or not: whichever trains this model faster here
        choose_jit(model, batches(start), plan.batch_size, runtime.is_chief)

    def run(first_step: int, initial_epoch: int, epochs: int, steps: int) -> None:
        stream = batches(first_step)
        if keras_compat.is_multi_worker(runtime.strategy):
            keras_compat.build_from_spec(model, stream.element_spec)
        history = model.fit(stream, epochs=epochs, initial_epoch=initial_epoch,
                            steps_per_epoch=steps, validation_data=eval_data,
                            validation_freq=train.eval_every_epochs, callbacks=callbacks,
                            verbose=config.runtime.verbose, shuffle=False)
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
