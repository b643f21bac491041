"""Shared helpers of the launch/ tests: a fake gcloud on PATH, running scripts, parsing their
dry-run commands."""

from __future__ import annotations

import glob
import json
import os
import shlex
import stat
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = os.path.join(REPO, "launch")
SCRIPTS = sorted(glob.glob(os.path.join(LAUNCH, "*.sh")))
PAPER = "configs/paper.py:cifar100,wrn_28_2,tpu"


def _write_exe(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


@pytest.fixture
def fake_bin(tmp_path):
    """A PATH dir whose gcloud / gsutil / tar / git record their argv (one JSON line each)
    in tmp_path/calls.jsonl and fail: a dry run must not call any of them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gcloud", "gsutil", "tar", "git"):
        _write_exe(bin_dir / tool, f"""#!{sys.executable}
import json, sys
with open({str(tmp_path / "calls.jsonl")!r}, "a") as f:
    f.write(json.dumps(["{tool}"] + sys.argv[1:]) + "\\n")
sys.exit(int(__import__("os").environ.get("FAKE_RC", "97")))
""")
    return bin_dir


def calls(tmp_path):
    path = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def sh(script, *args, path_dir=None, env=None):
    full_env = dict(os.environ, **(env or {}))
    if path_dir:
        full_env["PATH"] = f"{path_dir}{os.pathsep}{full_env['PATH']}"
    return subprocess.run(["bash", os.path.join(LAUNCH, script), *args], cwd=REPO,
                          capture_output=True, text=True, env=full_env, timeout=60)


def dry(script, *args, fake=None):
    """Runs `script --dry-run args`; returns (commands as argv lists, the whole stdout)."""
    res = sh(script, "--dry-run", *args, path_dir=fake)
    assert res.returncode == 0, res.stderr
    cmds = [shlex.split(line[2:]) for line in res.stdout.splitlines() if line.startswith("+ ")]
    return cmds, res.stdout


def option(argv, name):
    """The value of --name=VALUE in argv (exactly one)."""
    values = [a.split("=", 1)[1] for a in argv if a.startswith(name + "=")]
    assert len(values) == 1, (name, argv)
    return values[0]


def is_ssh(argv, vm):
    return argv[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh"] and argv[5] == vm


RUN_ARGS = ["--name=ens-tpu", "--zone=us-central2-b", f"--config={PAPER}",
            "--workdir=gs://bkt/paper_c100/", "--config.data.data_dir=gs://bkt/tfds",
            "--config.ensemble.num_members=10", "--config.train.lr_decay_at=(0.5, 0.75)"]


def worker_argv(remote):
    """The command the remote shell runs under nohup, as argv."""
    inner = remote.split("nohup ", 1)[1].split(" >> ", 1)[0]
    return shlex.split(inner)
