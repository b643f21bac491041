"""runtime.strategy=multi_worker: 2 worker processes on localhost (TF_CONFIG) train the same
weights as one process with the same global batch, and only the chief writes artifacts."""

import json
import os
import socket
import subprocess
import sys

import numpy as np

from conftest import REPO

SCRIPT = os.path.join(REPO, "tests", "multiworker_check.py")


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _weights(path):
    with np.load(path) as npz:
        return [npz[k] for k in sorted(npz.files, key=lambda k: int(k.split("_")[1]))]


def test_two_workers_match_one_process_and_only_the_chief_writes(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    workdir = tmp_path / "mw"
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=str(tmp_path),
                   TF_CONFIG=json.dumps({"cluster": cluster,
                                         "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, SCRIPT, "multi_worker", str(workdir),
             str(tmp_path / f"worker{index}.npz")], cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    single = subprocess.run([sys.executable, SCRIPT, "cpu", str(tmp_path / "one"),
                             str(tmp_path / "one.npz")], cwd=REPO, capture_output=True,
                            text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]

    chief, other, one = (_weights(tmp_path / f"{n}.npz") for n in ("worker0", "worker1", "one"))
    assert max(np.abs(a - b).max() for a, b in zip(chief, other)) == 0.0
    diff = max(np.abs(a - b).max() for a, b in zip(chief, one))
    moved = max(np.abs(a).max() for a in one)
    assert diff < 1e-4 * max(1.0, moved), diff

    # the chief wrote results, model and export once; the other worker's scratch
    # checkpoints are gone and nothing of it is in the workdir
    assert (workdir / "results.json").exists() and (workdir / "export").is_dir()
    assert sorted(os.listdir(workdir / "checkpoints")) == sorted(
        os.listdir(tmp_path / "one" / "checkpoints"))
    assert not [p for p in os.listdir(tmp_path) if p.startswith("ens_kd_tf_worker_ckpt_")]
    leftovers = [p for p in workdir.rglob("*") if "tmp" in p.name or "worker" in p.name]
    assert not leftovers, leftovers
