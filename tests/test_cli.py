"""The command line: a tiny end-to-end run, rerun behaviour, and one-line errors."""

import json
import os

import pytest

from conftest import REPO, TINY_OVERRIDES, run_cli, tiny_config
from ens_kd_tf.errors import UsageError
from ens_kd_tf.validation import validate_config


def test_single_run_end_to_end_then_rerun_reports_done(tmp_path):
    workdir = str(tmp_path / "single")
    proc = run_cli(["--config=configs/single.py", f"--workdir={workdir}", *TINY_OVERRIDES])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "single results in" in proc.stdout and "test acc %" in proc.stdout
    # Quiet by default: stderr holds only log records of this package's own files (the run
    # exported SavedModels, which without the filter logs functional_saver / signature lines).
    own = {f for _, _, files in os.walk(os.path.join(REPO, "ens_kd_tf")) for f in files}
    records = [line for line in proc.stderr.splitlines() if "] " in line]
    assert records and all(line.split("] ")[0].rsplit(" ", 1)[-1].split(":")[0] in own
                           for line in records), proc.stderr
    assert "oneDNN" not in proc.stderr and "ignores config fields" not in proc.stderr
    saved = json.load(open(os.path.join(workdir, "config.json")))
    assert saved["model"]["name"] == "simple_cnn_3_1" and saved["train"]["epochs"] == 2
    again = run_cli(["--config=configs/single.py", f"--workdir={workdir}", *TINY_OVERRIDES])
    assert again.returncode == 0
    assert "already done" in again.stderr
    assert again.stdout.split("results in")[1] == proc.stdout.split("results in")[1]


def test_rerun_with_a_different_config_stops_with_the_diff(tmp_path):
    workdir = str(tmp_path / "single")
    os.makedirs(workdir)
    config = tiny_config()
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json())
    proc = run_cli(["--config=configs/single.py", f"--workdir={workdir}", *TINY_OVERRIDES,
                    "--config.train.learning_rate=0.2"])
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert "train.learning_rate: 0.05 -> 0.2" in last and "--config.force=true" in last


@pytest.mark.parametrize("args,expected", [
    (["--config.model.name=vgg16"], "model.name='vgg16' is not a model of the zoo"),
    (["--config.runtime.strategy=pod"], "runtime.strategy='pod' is not valid"),
])
def test_bad_names_end_with_one_line_and_exit_2(tmp_path, args, expected):
    proc = run_cli(["--config=configs/single.py", f"--workdir={tmp_path / 'w'}", *args])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {expected}")


def test_unknown_preset_is_one_line(tmp_path):
    proc = run_cli(["--config=configs/single.py:cifar1000", f"--workdir={tmp_path}"])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "config preset 'cifar1000' is not valid" in proc.stderr


@pytest.mark.parametrize("field,value,expected", [
    ("data.name", "imagenet", "data.name='imagenet' is not valid; choose one of"),
    ("train.optimizer", "lion", "train.optimizer='lion' is not valid; choose one of: 'sgd'"),
    ("train.schedule", "poly", "train.schedule='poly'"),
    ("train.weight_decay_mode", "both", "train.weight_decay_mode='both'"),
    ("runtime.mixed_precision", "fp8", "runtime.mixed_precision='fp8'"),
    ("train.batch_size", 0, "train.batch_size=0 is not valid; it must be > 0"),
    ("train.epochs", -1, "train.epochs=-1"),
    ("train.label_smoothing", 1.5, "train.label_smoothing=1.5"),
    ("experiment", "mystery", "experiment='mystery'"),
])
def test_validation_names_field_value_and_choices(field, value, expected):
    config = tiny_config()
    section, _, name = field.rpartition(".")
    setattr(config[section] if section else config, name, value)
    with pytest.raises(UsageError) as err:
        validate_config(config)
    assert str(err.value).startswith(expected)


def test_workdir_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    proc = run_cli(["--config=configs/single.py", f"--workdir={path}", *TINY_OVERRIDES])
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"error: --workdir='{path}' is a file; give a directory"
