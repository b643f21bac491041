"""Single-model training: artifacts, resume, XLA-compiled steps, TensorBoard content."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from ens_kd_tf import checkpointing, io_utils
from ens_kd_tf.data import load_dataset
from ens_kd_tf.stages.classifier import new_classifier, train_classifier
from ens_kd_tf.stages.results import load_results
from ens_kd_tf.train import compile_classifier, make_plan


class Interrupted(Exception):
    pass


def _scalar_tags(log_dir):
    from tensorboard.backend.event_processing import event_accumulator

    tags = set()
    for events in glob.glob(os.path.join(log_dir, "**", "events.*"), recursive=True):
        acc = event_accumulator.EventAccumulator(events, size_guidance={"tensors": 0})
        acc.Reload()
        tags |= set(acc.Tags().get("tensors", [])) | set(acc.Tags().get("scalars", []))
    return tags


def test_single_run_leaves_every_artifact(tiny, cpu_runtime, tmp_path):
    data = load_dataset(tiny.data)
    workdir = str(tmp_path / "run")
    results = train_classifier(tiny, workdir, cpu_runtime, data)
    for name in ("config.json", "results.json", "model.keras", "test_logits.npy",
                 "export/saved_model.pb"):
        assert os.path.exists(os.path.join(workdir, name)), name
    assert glob.glob(os.path.join(workdir, "checkpoints", "ckpt-16.index"))
    assert results["complete"] and 0 <= results["test"]["accuracy"] <= 1
    assert set(results["test"]) >= {"accuracy", "nll", "ece", "multi_view", "single_view"}
    tags = _scalar_tags(os.path.join(workdir, "tensorboard"))
    for tag in ("epoch_loss", "epoch_accuracy", "epoch_nll", "epoch_learning_rate", "config"):
        assert tag in tags, (tag, tags)
    # The stored logits are the in-memory model's.
    logits = io_utils.read_array(os.path.join(workdir, "test_logits.npy"))
    assert logits.shape == (100, 10)
    # Rerunning the same stage reports it done instead of training again.
    again = train_classifier(tiny, workdir, cpu_runtime, data)
    assert again == results


def test_interrupted_run_resumes_to_the_uninterrupted_weights(tiny, cpu_runtime, tmp_path,
                                                              monkeypatch):
    tiny.train.checkpoint_every_steps = 3
    tiny.data.augment.crop_padding = 2
    tiny.data.augment.flip = True
    data = load_dataset(tiny.data)
    reference = train_classifier(tiny, str(tmp_path / "whole"), cpu_runtime, data)

    original = checkpointing.CheckpointEvery.on_train_batch_end

    def interrupt_after_step_11(self, batch, logs=None):
        original(self, batch, logs)
        if self.checkpointer.step >= 11:
            raise Interrupted()

    monkeypatch.setattr(checkpointing.CheckpointEvery, "on_train_batch_end",
                        interrupt_after_step_11)
    workdir = str(tmp_path / "cut")
    with pytest.raises(Interrupted):
        train_classifier(tiny, workdir, cpu_runtime, data)
    assert load_results(workdir) is None
    monkeypatch.setattr(checkpointing.CheckpointEvery, "on_train_batch_end", original)
    resumed = train_classifier(tiny, workdir, cpu_runtime, data)
    assert resumed["fit"]["resumed_from"] == 9  # the last checkpoint before the cut
    a = io_utils.read_array(str(tmp_path / "whole" / "test_logits.npy"))
    b = io_utils.read_array(os.path.join(workdir, "test_logits.npy"))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert resumed["test"]["accuracy"] == reference["test"]["accuracy"]


def test_every_train_and_eval_step_compiles_with_xla(tiny, cpu_runtime):
    """What TPU demands: static shapes and XLA-compilable steps (checked on CPU)."""
    data = load_dataset(tiny.data)
    plan = make_plan(tiny.train, data.num_train, cpu_runtime)
    model = new_classifier(tiny, data)
    compile_classifier(model, tiny.train, plan, cpu_runtime)
    assert model.jit_compile is True
    x = tf.zeros((32,) + data.info.input_shape)
    y = tf.zeros((32,), tf.int32)
    w = tf.ones((32,))
    for step, batch in ((model.train_step, (x, y)), (model.test_step, (x, y, w)),
                        (model.predict_step, (x,))):
        hlo = tf.function(step, jit_compile=True).experimental_get_compiler_ir(batch)(
            stage="hlo")
        assert "ENTRY" in hlo


def test_nan_loss_stops_with_step_and_last_checkpoint(tiny, cpu_runtime, tmp_path):
    from ens_kd_tf.errors import TrainingError

    tiny.train.learning_rate = 1e30
    tiny.train.schedule = "constant"
    data = load_dataset(tiny.data)
    with pytest.raises(TrainingError, match="became (nan|inf).*last good checkpoint"):
        train_classifier(tiny, str(tmp_path / "nan"), cpu_runtime, data)
