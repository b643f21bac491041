"""The table of bad input: each case stops before any training with a one-line error that
names the field or file and what is allowed, and the workdir of an earlier run keeps every
byte. Cases checked elsewhere: a read-only workdir and a full disk (test_reliability.py),
a NaN loss (test_training.py), a batch not divisible by the replicas (test_strategy.py),
a rerun with a different config (test_cli.py), and the command line's own errors (config
path, field names, flag values, a corrupt config.json: test_cli_errors.py)."""

import json
import os

import numpy as np
import pytest

from conftest import tiny_config
from ens_kd_tf.errors import UsageError
from ens_kd_tf.main import run_experiment


def _npz(tmp_path, **changes):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (20, 8, 8, 3)).astype(np.uint8)
    arrays = dict(x_train=x, y_train=rng.integers(0, 3, 20), x_test=x[:6],
                  y_test=rng.integers(0, 3, 6))
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return str(path)


def _set(experiment: str = "single", **fields):
    """Sets `fields` on configs/<experiment>.py's tiny config."""
    def apply(config, tmp_path):
        for dotted, value in fields.items():
            *parents, leaf = dotted.split(".")
            node = config
            for p in parents:
                node = node[p]
            node[leaf] = value
    apply.experiment = experiment
    return apply


def _npz_case(**changes):
    def apply(config, tmp_path):
        config.data.name = "npz"
        config.data.path = _npz(tmp_path, **changes)
    return apply


def _foreign_teacher(config, tmp_path):
    """A teacher workdir whose member looks finished but whose model file is not a model."""
    member = tmp_path / "teacher" / "members" / "seed_0"
    member.mkdir(parents=True)
    (member / "model.keras").write_bytes(b"PK\x03\x04 not a keras archive")
    np.save(member / "test_logits.npy", np.zeros((100, 10), np.float32))
    (member / "results.json").write_text(json.dumps({"complete": True, "dataset": {
        "num_classes": 10, "input_shape": [16, 16, 3]}}))
    config.distill.teacher_workdir = str(tmp_path / "teacher")


_foreign_teacher.experiment = "distill"


CASES = [
    ("unknown model", _set(**{"model.name": "resnet_999x"}), "model.name='resnet_999x'"),
    ("unknown dataset", _set(**{"data.name": "imagenet"}), "data.name='imagenet'"),
    ("unknown optimizer", _set(**{"train.optimizer": "lion"}), "train.optimizer='lion'"),
    ("unknown schedule", _set(**{"train.schedule": "exp"}), "train.schedule='exp'"),
    ("unknown strategy", _set(**{"runtime.strategy": "tpuv9"}), "runtime.strategy='tpuv9'"),
    ("unknown precision", _set(**{"runtime.mixed_precision": "fp8"}),
     "runtime.mixed_precision='fp8'"),
    ("zero batch", _set(**{"train.batch_size": 0}), "train.batch_size=0"),
    ("negative epochs", _set(**{"train.epochs": -1}), "train.epochs=-1"),
    ("negative learning rate", _set(**{"train.learning_rate": -0.1}), "learning_rate=-0.1"),
    ("L = 0", _set("ensemble", **{"ensemble.num_members": 0}),
     "ensemble.num_members=0"),
    ("temperature <= 0", _set("distill", **{"distill.temperature": 0.0}),
     "distill.temperature=0.0"),
    ("member out of range", _set("ensemble", member=7), "member=7"),
    ("impossible multi-view constants", _set(**{"data.multiview.single_view_prob": 1.5}),
     "single_view_prob=1.5"),
    ("npz without y_test", _npz_case(y_test=None), "lacks the arrays ['y_test']"),
    ("npz images of the wrong shape", _npz_case(x_test=np.zeros((6, 4, 4, 3), np.uint8)),
     "x_test"),
    ("npz images of the wrong dtype", _npz_case(x_train=np.zeros((20, 8, 8, 3), np.int64)),
     "dtype int64"),
    ("npz labels out of range", _npz_case(y_train=np.full(20, -5)), "labels in [-5"),
    ("npz NaN inputs", _npz_case(x_train=np.full((20, 8, 8, 3), np.nan, np.float32)), "NaN"),
    ("npz file missing", _set(**{"data.name": "npz", "data.path": "/nonexistent/d.npz"}),
     "does not exist"),
    ("teacher workdir without members", _set("distill", **{
        "distill.teacher_workdir": "/nonexistent/t"}),
     "holds no trained members"),
    ("foreign file as teacher", _foreign_teacher, "cannot load member"),
    ("multiview image_size 0", _set(**{"data.image_size": 0}), "data.image_size=0"),
    ("multiview image_size not a multiple of the patch", _set(**{"data.image_size": 18}),
     "multiple of data.multiview.patch_size=4"),
    ("lr_decay_at not fractions", _set(**{"train.lr_decay_at": ("abc",)}),
     "train.lr_decay_at=('abc',)"),
    ("TPU on a machine without one", _set(**{"runtime.strategy": "tpu"}), "no TPU"),
    ("gs:// data_dir unreachable", _set(**{"data.data_dir": "gs://ens-kd-tf-no-bucket/t"}),
     "--config.data.data_dir='gs://ens-kd-tf-no-bucket/t'"),
]


@pytest.mark.parametrize("name,apply,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_loses_nothing(tmp_path, name, apply, expected, monkeypatch):
    monkeypatch.setattr("ens_kd_tf.train.fit_resumable",
                        lambda *a, **k: pytest.fail("training started on bad input"))
    config = tiny_config(getattr(apply, "experiment", "single"))
    config.unlock()
    apply(config, tmp_path)
    workdir = tmp_path / "run"
    workdir.mkdir()
    earlier = {"results.json": '{"earlier": "run"}', "notes.txt": "keep me"}
    for file, text in earlier.items():
        (workdir / file).write_text(text)
    with pytest.raises(UsageError) as error:
        run_experiment(config, str(workdir))
    message = str(error.value)
    assert expected in message and "\n" not in message, message
    assert {f: (workdir / f).read_text() for f in earlier} == earlier
    assert sorted(os.listdir(workdir)) in (sorted(earlier), sorted([*earlier, "config.json"]))

