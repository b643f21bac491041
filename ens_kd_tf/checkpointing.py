"""Checkpoints with tf.train.CheckpointManager: save every N steps, resume from the newest
readable checkpoint."""

from __future__ import annotations

import math
import shutil
import tempfile
from typing import Optional

import keras
import tensorflow as tf
from absl import logging

from ens_kd_tf.errors import StorageError, TrainingError, storage_error


class Checkpointer:
    """Saves and restores a model, its optimizer (step counter included) and every model
    variable, including the dropout seed-generator states that `model=` alone misses."""

    def __init__(self, directory: str, model: keras.Model,
                 optimizer: keras.optimizers.Optimizer, keep: int = 3, is_chief: bool = True):
        """Every worker of a multi-worker run must save (saving may need collectives), but
        only the chief into `directory`; the others write to a local scratch directory
        (removed by `close`) and all restore from `directory`."""
        optimizer.build(model.trainable_variables)  # slots must exist before a restore
        self.optimizer = optimizer
        self.checkpoint = tf.train.Checkpoint(
            model=model, model_variables=list(model.variables), optimizer=optimizer)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=keep)
        self.scratch = None if is_chief else tempfile.mkdtemp(prefix="ens_kd_tf_worker_ckpt_")
        self.writer = (self.manager if is_chief else tf.train.CheckpointManager(
            self.checkpoint, self.scratch, max_to_keep=1))
        self.directory = directory

    @property
    def step(self) -> int:
        return int(self.optimizer.iterations.numpy())

    @property
    def latest(self) -> Optional[str]:
        return self.manager.latest_checkpoint

    def restore_latest(self) -> int:
        """Restores the newest readable checkpoint; returns its step (0 if none).

        A checkpoint that cannot be read (partial or corrupted files) is skipped with a
        warning and the previous one is used.
        """
        for path in reversed(self.manager.checkpoints):
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError) as e:
                logging.warning("checkpoint %s is unreadable (%s); trying the previous one",
                                path, str(e).splitlines()[0])
                continue
            logging.info("resumed from %s (step %d)", path, self.step)
            return self.step
        return 0

    def save(self) -> str:
        """Saves at the current step (no-op if that step is already saved)."""
        step = self.step
        latest = self.writer.latest_checkpoint
        if latest and latest.endswith(f"-{step}"):
            return latest
        try:
            return self.writer.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as e:
            error = storage_error(f"checkpoint step {step} in {self.directory}", e)
            raise StorageError(f"{error}; last good checkpoint: {latest or 'none'}") from None

    def close(self) -> None:
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


class CheckpointEvery(keras.callbacks.Callback):
    """Saves at multiples of `every_steps` optimizer steps (0 = never mid-epoch) and at each
    epoch end (after evaluation)."""

    def __init__(self, checkpointer: Checkpointer, every_steps: int):
        super().__init__()
        self.checkpointer = checkpointer
        self.every_steps = every_steps
        self._last = checkpointer.step

    def on_train_batch_end(self, batch, logs=None):
        step = self.checkpointer.step
        if self.every_steps and step // self.every_steps > self._last // self.every_steps:
            self.checkpointer.save()
            self._last = step

    def on_epoch_end(self, epoch, logs=None):
        self.checkpointer.save()
        self._last = self.checkpointer.step


class StopOnNaN(keras.callbacks.Callback):
    """Stops at the first non-finite training loss with the step and the last good
    checkpoint named (keras' TerminateOnNaN stops silently). Runs before CheckpointEvery, so
    a diverged state is never saved."""

    def __init__(self, checkpointer: Checkpointer):
        super().__init__()
        self.checkpointer = checkpointer

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingError(
                f"the training loss became {float(loss)} by step {self.checkpointer.step}; "
                f"last good checkpoint: {self.checkpointer.latest or 'none'}; lower "
                "train.learning_rate or check the inputs, then rerun to resume from it")
