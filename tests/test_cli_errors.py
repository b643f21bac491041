"""Bad input and a broken environment through the real command line: each case runs
`python -m ens_kd_tf.main ...` in a subprocess and must end, before any training, with

  * exit code 2, nothing on stdout, no "Traceback" anywhere;
  * exactly one line that matters: the last line of stderr starts with "error: ", names the
    field / file / value, and is the only such line. Cases marked `alone` (everything that
    fails before the runtime is set up) have no other line at all; the others may be
    preceded by absl log records of the run's own progress ("I1125 ... stages.py:117] ...").

Cases that fail before TensorFlow is imported take about half a second each; the rest
import TensorFlow (a few seconds each), so the cases run three at a time in one
module-scoped fixture. Cases covered in-process are in test_bad_input.py; the exit code of
a few more in test_cli.py.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, run_cli

LOG_RECORD = re.compile(r"^[IW]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [\w.]+:\d+\] ")
CFG = "--config=configs/single.py"


def _syntax_error_config(tmp):
    path = tmp / "broken.py"
    path.write_text("def get_config(:\n    pass\n")
    return [f"--config={path}", f"--workdir={tmp / 'w'}"]


def _no_get_config(tmp):
    path = tmp / "empty.py"
    path.write_text("X = 1\n")
    return [f"--config={path}", f"--workdir={tmp / 'w'}"]


def _corrupt_config_json(text):
    def setup(tmp):
        work = tmp / "run"
        work.mkdir()
        (work / "config.json").write_text(text)
        return [CFG, f"--workdir={work}"]
    return setup


def _npz_without_test_labels(tmp):
    x = np.zeros((8, 4, 4, 3), np.uint8)
    np.savez(tmp / "d.npz", x_train=x, y_train=np.zeros(8, np.int64), x_test=x)
    return [CFG, f"--workdir={tmp / 'w'}", "--config.data.name=npz",
            f"--config.data.path={tmp / 'd.npz'}"]


def _flags(*args):
    return lambda tmp: [*args]


def _with_workdir(*args):
    return lambda tmp: [CFG, f"--workdir={tmp / 'w'}", *args]


# (id, setup(tmp) -> argv, words the error line must contain, alone)
CASES = [
    # --- the command line itself: no TensorFlow import ---
    ("config file typo", _flags("--config=configs/singel.py", "--workdir=/tmp/x"),
     ["'configs/singel.py' does not exist", "did you mean configs/single.py"], True),
    ("config file in a wrong folder", _flags("--config=conf/single.py", "--workdir=/tmp/x"),
     ["'conf/single.py' does not exist", "configs/single.py"], True),
    ("config file with a syntax error", _syntax_error_config,
     ["broken.py", "is not valid Python", "line 1"], True),
    ("config file without get_config", _no_get_config, ["empty.py", "get_config"], True),
    ("field typo", _with_workdir("--config.train.no_such=1"),
     ["config field 'train.no_such' does not exist", "did you mean train.epochs"], True),
    ("field in the wrong section", _with_workdir("--config.epochs=3"),
     ["config field 'epochs' does not exist", "did you mean train.epochs"], True),
    ("section typo", _with_workdir("--config.trian.epochs=3"),
     ["config field 'trian.epochs'", "did you mean train.epochs"], True),
    ("negated boolean typo", _with_workdir("--noconfig.train.nesterv"),
     ["config field 'train.nesterv'", "train.nesterov"], True),
    ("nested field typo", _with_workdir("--config.data.augment.flipp=true"),
     ["config field 'data.augment.flipp'", "data.augment.flip"], True),
    ("index past the end of a tuple field", _with_workdir("--config.train.lr_decay_at[5]=1"),
     ["config field 'train.lr_decay_at[5]' does not exist", "(0.3, 0.6, 0.8)"], True),
    ("a section given a value", _with_workdir("--config.train=3"),
     ["--config.train='3' is not valid", "train is a section"], True),
    ("integer field given a word", _with_workdir("--config.train.epochs=ten"),
     ["--config.train.epochs='ten' is not valid", "expected int"], True),
    ("float field given a word", _with_workdir("--config.train.learning_rate=fast"),
     ["--config.train.learning_rate='fast'", "expected float"], True),
    ("boolean field given a word", _with_workdir("--config.force=maybe"),
     ["--config.force='maybe'", "expected bool"], True),
    ("unknown flag", _with_workdir("--workdri=/tmp/x"), ["'workdri'", "workdir"], True),
    ("missing --workdir", _flags(CFG), ["--workdir is required"], True),
    ("missing --config", _flags("--workdir=/tmp/x"), ["--config is required"], True),
    ("stray positional argument", _with_workdir("extra"),
     ["unexpected arguments ['extra']"], True),
    # --- values and environment: checked after TensorFlow's import, before training ---
    ("preset typo", _flags("--config=configs/single.py:cifar1000", "--workdir=/tmp/x"),
     ["config preset 'cifar1000' is not valid", "did you mean cifar100"], True),
    ("dataset name typo", _with_workdir("--config.data.name=cifar-10"),
     ["data.name='cifar-10' is not valid", "'cifar10'"], True),
    ("multiview image_size 0", _with_workdir("--config.data.image_size=0"),
     ["data.image_size=0", "multiple of data.multiview.patch_size=4"], True),
    ("multiview image_size not a multiple", _with_workdir("--config.data.image_size=18"),
     ["data.image_size=18"], True),
    ("distill alpha above 1",
     lambda tmp: ["--config=configs/self_distill.py", f"--workdir={tmp / 'w'}",
                  "--config.distill.alpha=1.5"], ["distill.alpha=1.5"], True),
    ("a section the experiment does not read", _with_workdir("--config.distill.alpha=0.5"),
     ["'distill.alpha' is not read by experiment 'single'", "sections: data,"], True),
    ("a joint sum of 0 members without an ensemble",
     lambda tmp: ["--config=configs/joint_sum.py", f"--workdir={tmp / 'w'}",
                  "--config.joint_sum.num_members=0"], ["joint_sum.num_members=0"], True),
    ("TPU on a machine without one", _with_workdir("--config.runtime.strategy=tpu"),
     ["runtime.strategy='tpu'", "no TPU found", "runtime.tpu"], True),
    ("gs:// workdir unreachable", _flags(CFG, "--workdir=gs://ens-kd-tf-no-such-bucket/run"),
     ["--workdir='gs://ens-kd-tf-no-such-bucket/run'"], True),
    ("gs:// data_dir unreachable",
     _with_workdir("--config.data.data_dir=gs://ens-kd-tf-no-such-bucket/tfds"),
     ["--config.data.data_dir='gs://ens-kd-tf-no-such-bucket/tfds'"], True),
    ("corrupt config.json", _corrupt_config_json('{"experiment": "sin'),
     ["config.json is not a readable config", "--config.force=true"], True),
    ("config.json that is not an object", _corrupt_config_json("[1, 2]"),
     ["config.json is not a readable config", "list", "--config.force=true"], True),
    ("corrupt config.json with force",
     lambda tmp: [*_corrupt_config_json("{not json")(tmp), "--config.force=true",
                  "--config.data.name=npz", "--config.data.path=/nonexistent/d.npz"],
     ["data.path='/nonexistent/d.npz' does not exist"], False),
    ("npz missing an array", _npz_without_test_labels, ["lacks the arrays ['y_test']"], False),
    ("TFDS data not prepared, download off",
     lambda tmp: [CFG, f"--workdir={tmp / 'w'}", "--config.data.name=cifar10",
                  f"--config.data.data_dir={tmp / 'tfds'}", "--config.data.download=false"],
     ["cifar10 is not prepared", "data.download is False", "tfds build cifar10"], False),
]
if shutil.which("nvidia-smi") is None:  # the no-GPU message needs a machine without one
    CASES.append(("GPU on a machine without one",
                  _with_workdir("--config.runtime.strategy=gpu"),
                  ["runtime.strategy='gpu' but no GPU is visible"], True))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case's CompletedProcess (and its tmp dir), run three at a time."""
    def run(case):
        name, setup, _, _ = case
        tmp = tmp_path_factory.mktemp(re.sub(r"\W+", "_", name))
        return name, (run_cli(setup(tmp), timeout=300), tmp)

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("name,words,alone", [(c[0], c[2], c[3]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_one_line_exit_2_no_traceback(outcomes, name, words, alone):
    proc, _ = outcomes[name]
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout == ""
    assert lines and lines[-1].startswith("error: "), proc.stderr[-2000:]
    assert sum(line.startswith("error") for line in lines) == 1, proc.stderr
    others = lines[:-1]
    if alone:
        assert not others, proc.stderr
    else:
        assert all(LOG_RECORD.match(line) for line in others), proc.stderr
    for word in words:
        assert word in lines[-1], (word, lines[-1])


@pytest.mark.parametrize("name,text", [("corrupt config.json", '{"experiment": "sin'),
                                       ("config.json that is not an object", "[1, 2]")])
def test_corrupt_config_json_is_left_as_it_was(outcomes, name, text):
    _, tmp = outcomes[name]
    assert (tmp / "run" / "config.json").read_text() == text
    assert os.listdir(tmp / "run") == ["config.json"]


def test_force_replaces_a_corrupt_config_json(outcomes):
    """--config.force=true, the documented way out, gets past the check and writes the
    run's config (the run then stops at its missing data file, before training)."""
    _, tmp = outcomes["corrupt config.json with force"]
    saved = json.loads((tmp / "run" / "config.json").read_text())
    assert saved["experiment"] == "single" and saved["data"]["name"] == "npz"


def test_field_typo_is_reported_without_importing_tensorflow(tmp_path):
    """What makes the command-line cases cheap: `-X importtime` lists every module imported,
    and TensorFlow is not among them when a field name is mistyped."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ens_kd_tf.main", CFG,
         f"--workdir={tmp_path}", "--config.train.no_such=1"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: config field")
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "absl.app" in imported  # the listing works
    assert not {"tensorflow", "keras"} & imported


def test_native_info_records_are_dropped_and_everything_else_kept():
    from ens_kd_tf.log_setup import drop_native_info

    text = ("WARNING: All log messages before absl::InitializeLog() is called are written "
            "to STDERR\n"
            "I0000 00:00:1795626791.682858    9214 port.cc:153] oneDNN custom operations "
            "are on.\n"
            "I0000 00:00:1795626841.511037   11130 cpu_feature_guard.cc:227] This "
            "TensorFlow binary is optimized\n"
            "To enable the following instructions: AVX2 AVX512F, rebuild TensorFlow\n"
            "W0000 00:00:1795626841.6 11130 gpu_device.cc:2] Cannot dlopen some GPU "
            "libraries.\n"
            "E0000 00:00:1795626841.7 11130 cuda_dnn.cc:8] Unable to register cuDNN\n"
            "  second line of that error\n")
    assert drop_native_info(text) == (
        "W0000 00:00:1795626841.6 11130 gpu_device.cc:2] Cannot dlopen some GPU libraries.\n"
        "E0000 00:00:1795626841.7 11130 cuda_dnn.cc:8] Unable to register cuDNN\n"
        "  second line of that error\n")


@pytest.mark.parametrize("path,level,shown", [
    ("/site-packages/tensorflow/python/checkpoint/functional_saver.py", "INFO", False),
    ("/site-packages/tensorflow/python/saved_model/signature_serialization.py", "INFO",
     False),
    ("/site-packages/keras/src/trainers/trainer.py", "WARNING", True),
    ("/site-packages/tensorflow/python/data/ops/dataset_ops.py", "ERROR", True),
    ("{pkg}stages/classifier.py", "INFO", True),
])
def test_quiet_logs_keep_own_progress_and_every_warning(path, level, shown):
    import logging as std_logging

    from ens_kd_tf import log_setup

    path = path.format(pkg=log_setup._PACKAGE_DIR)
    record = std_logging.LogRecord("absl", getattr(std_logging, level), path, 1, "msg", (),
                                   None)
    assert log_setup._OwnInfoOnly().filter(record) is shown


def test_verbosity_is_read_before_absl_parses_it():
    from ens_kd_tf.log_setup import requested_verbosity

    assert requested_verbosity(["main", "--config=c.py"]) is None
    assert requested_verbosity(["main", "--verbosity=1"]) == 1
    assert requested_verbosity(["main", "-v", "2"]) == 2
    assert requested_verbosity(["main", "--verbosity=-1"]) == -1
