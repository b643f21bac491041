"""Killed runs resume exactly; artifacts never corrupt; storage failures are one line."""

import os
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO, TINY_OVERRIDES, run_cli
from ens_kd_tf import io_utils
from ens_kd_tf.checkpointing import Checkpointer
from ens_kd_tf.errors import StorageError
from ens_kd_tf.export import load_keras

KILL_SCRIPT = os.path.join(REPO, "tests", "kill_run.py")
DETERMINISTIC = [*TINY_OVERRIDES, "--config.train.deterministic=true",
                 "--config.train.epochs=3", "--config.train.checkpoint_every_steps=3"]


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def _kill_at(point, n, args):
    """Runs the CLI until it SIGKILLs itself at `point` (n-th time); True if it died so."""
    proc = subprocess.run([sys.executable, KILL_SCRIPT, point, str(n), "--", *args], cwd=REPO,
                          env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, -signal.SIGKILL), proc.stderr[-3000:]
    return proc.returncode == -signal.SIGKILL


def _kill_randomly(args, ready, rng):
    """Starts the CLI, waits until `ready()` is true, then SIGKILLs it after a random delay."""
    proc = subprocess.Popen([sys.executable, "-m", "ens_kd_tf.main", *args], cwd=REPO,
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 1.5))
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    return proc.wait() == -signal.SIGKILL


def _weights(path):
    return [w.numpy() for w in load_keras(str(path)).weights]


def _no_temporaries(root):
    return [str(p) for p in root.rglob("*") if ".tmp-" in p.name or ".old-" in p.name]


def test_killed_training_resumes_to_the_uninterrupted_weights(tmp_path):
    ref, run = tmp_path / "ref", tmp_path / "killed"
    proc = run_cli(["--config=configs/single.py", f"--workdir={ref}", *DETERMINISTIC])
    assert proc.returncode == 0, proc.stderr[-3000:]
    args = ["--config=configs/single.py", f"--workdir={run}", *DETERMINISTIC]
    rng = random.Random(0)
    ckpts = run / "checkpoints"
    kills = [
        _kill_at("checkpoint", 2, args),  # mid checkpoint write
        _kill_randomly(args, lambda: ckpts.exists() and len(os.listdir(ckpts)) > 2, rng),
        _kill_randomly(args, lambda: ckpts.exists() and len(os.listdir(ckpts)) > 2, rng),
        _kill_at("checkpoint", 1, args),
        _kill_at("results", 2, args),  # test logits written, not yet renamed (run end)
        _kill_at("export", 1, args),  # during the SavedModel export
    ]
    assert sum(kills) >= 4, kills  # the random ones may land after the run finished
    proc = run_cli(args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for a, b in zip(_weights(ref / "model.keras"), _weights(run / "model.keras")):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.load(ref / "test_logits.npy"),
                                  np.load(run / "test_logits.npy"))
    assert (run / "export" / "saved_model.pb").exists()
    assert not _no_temporaries(run)
    print(f"kills survived: {sum(kills)} of {len(kills)}")


def test_killed_paper_pipeline_resumes_between_and_inside_stages(tmp_path):
    run = tmp_path / "paper"
    args = ["--config=configs/paper.py", f"--workdir={run}", *TINY_OVERRIDES,
            "--config.data.name=multiview_patches", "--config.model.name=patch_net",
            "--config.ensemble.num_members=2", "--config.train.checkpoint_every_steps=2"]
    rng = random.Random(1)
    kills = [
        _kill_randomly(args, lambda: (run / "members" / "seed_1" / "checkpoints").exists(),
                       rng),  # inside member 1 (or just after it)
        _kill_at("export", 3, args),  # exports: member 0, member 1, then the ensemble
        _kill_at("checkpoint", 3, args),  # inside the joint sum, the KD or the SD stage
    ]
    assert sum(kills) >= 2, kills
    proc = run_cli(args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for stage in ("members/seed_0", "members/seed_1", "ensemble", "joint_sum", "kd", "sd"):
        assert (run / stage / "results.json").exists(), stage
    assert "self-distilled" in proc.stdout and not _no_temporaries(run)


def _trained_checkpoints(tmp_path, steps=(2, 4)):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    optimizer = keras.optimizers.SGD(0.1)
    ckpt = Checkpointer(str(tmp_path / "ckpt"), model, optimizer)
    for _ in steps:
        for _ in range(2):
            optimizer.apply_gradients(zip([tf.ones_like(v) for v in model.trainable_variables],
                                          model.trainable_variables))
        ckpt.save()
    return model, optimizer


@pytest.mark.parametrize("damage", ["truncate", "delete_index"])
def test_corrupt_newest_checkpoint_falls_back_to_the_previous(tmp_path, damage, caplog):
    _trained_checkpoints(tmp_path)
    newest = tmp_path / "ckpt" / "ckpt-4"
    if damage == "truncate":
        data = next(p for p in (tmp_path / "ckpt").iterdir()
                    if p.name.startswith("ckpt-4.data"))
        data.write_bytes(data.read_bytes()[:10])
    else:
        os.remove(f"{newest}.index")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    restored = Checkpointer(str(tmp_path / "ckpt"), model, keras.optimizers.SGD(0.1))
    assert restored.restore_latest() == 2
    assert any("unreadable" in r.getMessage() for r in caplog.records)


def test_full_disk_keeps_the_old_artifact_and_says_so(tmp_path, monkeypatch):
    path = str(tmp_path / "results.json")
    io_utils.write_json_atomic(path, {"accuracy": 0.5})

    class FullDisk:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def write(self, data):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.io.gfile, "GFile", FullDisk)
    with pytest.raises(StorageError, match=r"cannot write .*results.json: No space left on "
                                           r"device; nothing already written was changed"):
        io_utils.write_json_atomic(path, {"accuracy": 0.9})
    monkeypatch.undo()
    assert io_utils.read_json(path) == {"accuracy": 0.5}
    assert not _no_temporaries(tmp_path)


def test_full_disk_during_export_keeps_the_previous_export(tmp_path):
    target = str(tmp_path / "export")
    io_utils.write_dir_atomic(target, lambda d: (os.makedirs(d), open(
        os.path.join(d, "saved_model.pb"), "w").write("old")))

    def fill_disk(d):
        os.makedirs(d)
        raise OSError(28, "No space left on device")

    with pytest.raises(StorageError, match="No space left on device"):
        io_utils.write_dir_atomic(target, fill_disk)
    assert open(os.path.join(target, "saved_model.pb")).read() == "old"
    assert not _no_temporaries(tmp_path)


def test_full_disk_during_training_names_the_last_good_checkpoint(tmp_path, monkeypatch):
    model, optimizer = _trained_checkpoints(tmp_path)
    ckpt = Checkpointer(str(tmp_path / "ckpt"), model, optimizer)
    optimizer.apply_gradients(zip([tf.ones_like(v) for v in model.trainable_variables],
                                  model.trainable_variables))

    def no_space(*a, **k):
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    monkeypatch.setattr(ckpt.writer, "save", no_space)
    with pytest.raises(StorageError, match=r"checkpoint step 5 .*No space left on device.*"
                                           r"last good checkpoint: .*ckpt-4"):
        ckpt.save()


def test_read_only_workdir_fails_in_one_line_and_loses_nothing(tmp_path, monkeypatch):
    # a read-only filesystem (even for root): /proc
    proc = run_cli(["--config=configs/single.py", "--workdir=/proc/ens_kd_tf_run",
                    *TINY_OVERRIDES])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--workdir='/proc/ens_kd_tf_run' is not writable" in proc.stderr.strip().splitlines()[-1]
    # an existing workdir that became read-only: refused before anything is written
    from ens_kd_tf.errors import UsageError
    from ens_kd_tf.workdir import ensure_writable_dir

    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "results.json").write_text('{"done": true}')

    def read_only(path, mode="r"):
        if "w" in mode:
            raise PermissionError(13, "Read-only file system")
        return open(path, mode)

    monkeypatch.setattr(tf.io.gfile, "GFile", read_only)
    with pytest.raises(UsageError, match="is not writable"):
        ensure_writable_dir(str(workdir))
    monkeypatch.undo()
    assert (workdir / "results.json").read_text() == '{"done": true}'


def test_nothing_in_the_package_unpickles():
    root = os.path.join(REPO, "ens_kd_tf")
    offenders = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                text = open(os.path.join(dirpath, name)).read()
                if ("import pickle" in text or "allow_pickle=True" in text
                        or "safe_mode=False" in text):
                    offenders.append(name)
    assert not offenders
