"""What run.sh sends to a worker, run here with a fake `python3 -m ens_kd_tf.main` in a fake
home directory: background start, log, and the until-done retry loop."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from launch_helpers import LAUNCH, PAPER, _write_exe, dry, option, sh


# --- what a worker runs, here with a fake python3 -m ens_kd_tf.main ----------------------

FAKE_PYTHON = """#!{python}
# python3 on a fake worker: `-m ens_kd_tf.main` records its argv and exits with the next
# code of $FAKE_EXITS (comma-separated; "0" also writes WORKDIR/results.json, complete);
# anything else (until_done.sh's completion check) is the real interpreter.
import json, os, sys
if sys.argv[1:3] == ["-m", "ens_kd_tf.main"]:
    home = os.environ["HOME"]
    with open(os.path.join(home, "calls"), "a") as f:
        f.write(json.dumps(sys.argv[3:]) + "\\n")
    n = len(open(os.path.join(home, "calls")).read().splitlines())
    codes = os.environ["FAKE_EXITS"].split(",")
    code = int(codes[min(n, len(codes)) - 1])
    if code == 0:
        workdir = [a for a in sys.argv if a.startswith("--workdir=")][0].split("=", 1)[1]
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, "results.json"), "w") as f:
            json.dump({{"complete": True}}, f, indent=2)
    print("fake ens_kd_tf.main attempt", n, "exit", code)
    sys.exit(code)
os.execv({python!r}, [{python!r}] + sys.argv[1:])
"""


def run_on_fake_worker(tmp_path, fake_bin, exits, *extra):
    """Runs run.sh's remote command here: HOME=tmp_path/home with ~/ens_kd_tf holding
    launch/; waits for the background run; returns (main's argv per attempt, log, rc)."""
    home = tmp_path / "home"
    (home / "ens_kd_tf" / "launch").mkdir(parents=True)
    for name in ("until_done.sh", "common.sh"):
        shutil.copy(os.path.join(LAUNCH, name), home / "ens_kd_tf" / "launch" / name)
    _write_exe(fake_bin / "python3", FAKE_PYTHON.format(python=sys.executable))
    workdir = tmp_path / "work dir"  # a space, to test the quoting
    (ssh,), _ = dry("run.sh", "--name=t", "--zone=z", f"--config={PAPER}",
                    f"--workdir={workdir}", "--config.train.epochs=2", "--run-name=r",
                    "--retry-delay=0", *extra, fake=fake_bin)
    env = dict(os.environ, HOME=str(home), FAKE_EXITS=exits,
               PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    res = subprocess.run(["bash", "-c", option(ssh, "--command")], env=env,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0 and "started r on" in res.stdout, res.stderr
    log = home / "ens_kd_tf_logs" / "r.log"
    deadline = time.time() + 30
    while time.time() < deadline:
        text = log.read_text() if log.exists() else ""
        if "[until_done" not in text and "exit" in text:  # a plain run, finished
            break
        if any(s in text for s in ("] done:", "giving up", "not retrying", "stopping")):
            break
        time.sleep(0.2)
    attempts = [json.loads(line) for line in (home / "calls").read_text().splitlines()]
    return attempts, log.read_text(), workdir


def test_worker_runs_the_exact_argv_in_the_background(tmp_path, fake_bin):
    attempts, log, workdir = run_on_fake_worker(tmp_path, fake_bin, "0")
    assert attempts == [[f"--config={PAPER}", f"--workdir={workdir}",
                         "--config.train.epochs=2"]]
    assert "attempt 1 exit 0" in log


def test_until_done_reruns_after_a_crash_until_complete(tmp_path, fake_bin):
    attempts, log, workdir = run_on_fake_worker(tmp_path, fake_bin, "137,1,0", "--until-done")
    assert len(attempts) == 3 and all(a == attempts[0] for a in attempts)
    assert "exit code 137; retrying" in log and "] done:" in log
    assert json.load(open(workdir / "results.json"))["complete"] is True


def test_until_done_stops_at_max_attempts(tmp_path, fake_bin):
    attempts, log, _ = run_on_fake_worker(tmp_path, fake_bin, "1", "--until-done",
                                          "--max-attempts=3")
    assert len(attempts) == 3 and "giving up" in log and "after 3 attempts" in log


def test_until_done_does_not_retry_bad_input(tmp_path, fake_bin):
    attempts, log, _ = run_on_fake_worker(tmp_path, fake_bin, "2", "--until-done")
    assert len(attempts) == 1 and "exit code 2" in log and "not retrying" in log


def test_until_done_skips_a_complete_run(tmp_path):
    done = tmp_path / "results.json"
    done.write_text(json.dumps({"complete": True}))
    res = sh("until_done.sh", f"--done={done}", "--", "false")
    assert res.returncode == 0 and "done:" in res.stdout and "attempt" not in res.stdout
    done.write_text(json.dumps({"complete": False}))
    res = sh("until_done.sh", f"--done={done}", "--max-attempts=2", "--retry-delay=0",
             "--", "true")  # exits 0 but the run is not complete: a bug, not a crash
    assert res.returncode == 1 and "not complete; stopping" in res.stdout
