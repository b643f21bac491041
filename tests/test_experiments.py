"""The experiment pipelines end to end on tiny settings, and bad input before training."""

import json
import os

import pytest

from conftest import TINY_OVERRIDES, run_cli, tiny_config
from ens_kd_tf.data import load_dataset
from ens_kd_tf.errors import UsageError
from ens_kd_tf.experiments.driver import run_experiment
from ens_kd_tf.stages.teacher_outputs import teacher_output_mode
from ens_kd_tf.stages.members import require_members


def test_paper_pipeline_runs_every_stage_and_skips_them_on_rerun(tmp_path, cpu_runtime,
                                                                 monkeypatch):
    config = tiny_config("paper", "paper")
    config.data.name, config.model.name = "multiview_patches", "patch_net"  # fast
    config.ensemble.num_members = 2
    workdir = str(tmp_path / "paper")
    summary = run_experiment(config, workdir, cpu_runtime)
    kinds = [r["kind"] for r in summary["rows"]]
    assert kinds == ["single", "ensemble", "sum", "kd", "scratch_same_seed", "sd",
                     "scratch_same_seed"]
    for stage in ("members/seed_0", "members/seed_1", "ensemble", "joint_sum", "kd",
                  "scratch/seed_2", "sd"):
        assert os.path.exists(os.path.join(workdir, stage, "results.json")), stage
    # each student is compared with a plain model of its own seed: KD's (seed + L = 2) is
    # trained in scratch/, SD's (seed + 1) is member seed_1, reused rather than retrained
    assert not os.path.exists(os.path.join(workdir, "scratch", "seed_1"))
    by_name = {r["name"]: r for r in summary["rows"]}
    kd_row, sd_row = summary["rows"][3], summary["rows"][5]
    kd_scratch = by_name["scratch, same seed as KD student"]
    sd_scratch = by_name["scratch, same seed as SD student"]
    assert (kd_row["seed"], kd_scratch["seed"], sd_row["seed"], sd_scratch["seed"]) == (
        2, 2, 1, 1)
    member_1 = json.load(open(os.path.join(workdir, "members/seed_1/results.json")))
    assert sd_scratch["accuracy"] == member_1["test"]["accuracy"]
    assert kd_row["gain"] == pytest.approx(
        100 * (kd_row["accuracy"] - kd_scratch["accuracy"]))
    assert sd_row["gain"] == pytest.approx(
        100 * (sd_row["accuracy"] - sd_scratch["accuracy"]))
    assert summary["rows"][0]["seeds"] == [0, 1] == summary["rows"][2]["seeds"]
    report = open(os.path.join(workdir, "report.md")).read()
    assert "gain vs same-seed scratch" in report and f"{kd_row['gain']:+.2f}" in report
    assert os.path.exists(os.path.join(workdir, "ensemble", "export", "saved_model.pb"))
    for name in ("report.md", "report.png", "results.json"):
        assert os.path.getsize(os.path.join(workdir, name)) > 0
    kd = json.load(open(os.path.join(workdir, "kd", "results.json")))
    assert kd["teacher_outputs"] == "cached" and kd["seed"] == 2  # seed + L
    sd = json.load(open(os.path.join(workdir, "sd", "results.json")))
    assert sd["seed"] == 1 and sd["teacher"] == "single model (seed 0)"
    # members' mean equals the mean of the stored member results
    ens = json.load(open(os.path.join(workdir, "ensemble", "results.json")))
    accs = [json.load(open(os.path.join(workdir, f"members/seed_{s}/results.json")))
            ["test"]["accuracy"] for s in (0, 1)]
    assert ens["members"]["accuracy"]["mean"] == pytest.approx(sum(accs) / 2)
    # A rerun trains nothing: with every stage done, the summary is returned as it was.
    os.remove(os.path.join(workdir, "results.json"))
    monkeypatch.setattr("ens_kd_tf.train.fit_resumable",
                        lambda *a, **k: pytest.fail("a finished stage was trained again"))
    again = run_experiment(config, workdir, cpu_runtime)
    assert again["rows"] == summary["rows"]
    # A workdir written before the scratch stage existed resumes: only that stage runs.
    import shutil

    shutil.rmtree(os.path.join(workdir, "scratch"))
    os.remove(os.path.join(workdir, "results.json"))
    stamps = {s: os.path.getmtime(os.path.join(workdir, s, "model.keras"))
              for s in ("members/seed_0", "members/seed_1", "joint_sum", "kd", "sd")}
    monkeypatch.undo()
    resumed = run_experiment(config, workdir, cpu_runtime)
    assert [r["kind"] for r in resumed["rows"]] == kinds
    assert os.path.exists(os.path.join(workdir, "scratch", "seed_2", "results.json"))
    assert stamps == {s: os.path.getmtime(os.path.join(workdir, s, "model.keras"))
                      for s in stamps}


def test_teacher_output_mode_rules():
    config = tiny_config("distill")
    assert teacher_output_mode(config) == "cached"  # no augmentation: exact
    config.data.augment.flip = True
    assert teacher_output_mode(config) == "on_the_fly"
    config.distill.teacher_views = 4
    assert teacher_output_mode(config) == "cached"
    config.distill.teacher_views = 0
    config.distill.teacher_outputs = "cached"
    with pytest.raises(UsageError, match="teacher_views"):
        teacher_output_mode(config)


def test_on_the_fly_distillation_with_augmentation(tmp_path, cpu_runtime):
    config = tiny_config("self_distill", "self_distill")
    config.data.augment.crop_padding = 2
    config.data.augment.flip = True
    summary = run_experiment(config, str(tmp_path / "sd"), cpu_runtime)
    sd = json.load(open(tmp_path / "sd" / "sd" / "results.json"))
    assert sd["teacher_outputs"] == "on_the_fly"
    assert [r["kind"] for r in summary["rows"]] == ["teacher", "sd", "scratch_same_seed"]
    teacher, student, scratch = summary["rows"]
    assert (teacher["seed"], student["seed"], scratch["seed"]) == (0, 1, 1)
    assert student["gain"] == pytest.approx(100 * (student["accuracy"] - scratch["accuracy"]))
    assert not (tmp_path / "sd" / "scratch").exists()  # member seed 1 is the scratch model


def test_teacher_workdir_checks(tmp_path, cpu_runtime):
    from ens_kd_tf.stages.members import train_members

    config = tiny_config()
    data = load_dataset(config.data)
    with pytest.raises(UsageError, match="holds no trained members"):
        require_members(str(tmp_path / "empty"), data)
    config.train.epochs = 1
    config.data.multiview.num_classes = 5
    five = load_dataset(config.data)
    train_members(config, str(tmp_path / "five"), cpu_runtime, five, [0])
    with pytest.raises(UsageError, match="has 5 classes but dataset multiview_images has 10"):
        require_members(str(tmp_path / "five"), data)
    config.data.multiview.num_classes = 10
    train_members(config, str(tmp_path / "ten"), cpu_runtime, data, [0])
    assert require_members(str(tmp_path / "ten"), data) == [0]
    config.data.image_size = 8
    small = load_dataset(config.data)
    with pytest.raises(UsageError, match="inputs of shape \\(16, 16, 3\\)"):
        require_members(str(tmp_path / "ten"), small)


@pytest.mark.parametrize("override,expected", [
    ("--config.ensemble.num_members=0", "ensemble.num_members=0 is not valid"),
    ("--config.distill.temperature=0", "distill.temperature=0.0 is not valid"),
    ("--config.distill.temperature=-2", "distill.temperature=-2.0 is not valid"),
    ("--config.distill.teacher_workdir=/nonexistent/run", "holds no trained members"),
])
def test_bad_distillation_input_fails_before_training(tmp_path, override, expected):
    workdir = tmp_path / "kd"
    proc = run_cli(["--config=configs/distill.py", f"--workdir={workdir}", *TINY_OVERRIDES,
                    override])
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and expected in last and "Traceback" not in proc.stderr
    assert not (workdir / "members").exists() and not (workdir / "kd").exists()


def test_member_i_trains_one_member_then_the_ensemble_uses_them_all(tmp_path):
    workdir = tmp_path / "ens"
    base = ["--config=configs/ensemble.py", f"--workdir={workdir}", *TINY_OVERRIDES,
            "--config.data.name=multiview_patches", "--config.model.name=patch_net",
            "--config.ensemble.num_members=2", "--config.train.epochs=1"]
    for i in (1, 0):  # as two machines would, in any order, into one workdir
        proc = run_cli(base + [f"--config.member={i}"])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert f"member {i} (seed {i}) test accuracy" in proc.stdout
        assert not (workdir / "ensemble").exists()
    stamps = {s: os.path.getmtime(workdir / "members" / f"seed_{s}" / "model.keras")
              for s in (0, 1)}
    proc = run_cli(base)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.load(open(workdir / "results.json"))["rows"][1]["kind"] == "ensemble"
    assert stamps == {s: os.path.getmtime(workdir / "members" / f"seed_{s}" / "model.keras")
                      for s in (0, 1)}  # the members were reused, not retrained
    bad = run_cli(base + ["--config.member=2"])
    assert bad.returncode == 2 and "member=2 is not valid" in bad.stderr


def test_cifar_presets_follow_the_paper_protocol():
    from conftest import load_config_module

    c = load_config_module("paper").get_config("cifar100,wrn_28_2,tpu")
    assert (c.data.name, c.model.name) == ("cifar100", "wrn_28_2")
    assert (c.data.augment.crop_padding, c.data.augment.flip) == (4, True)
    t = c.train
    assert (t.optimizer, t.momentum, t.nesterov, t.learning_rate, t.batch_size, t.epochs) == (
        "sgd", 0.9, True, 0.1, 128, 200)
    assert (t.schedule, tuple(t.lr_decay_at), t.lr_decay_factor, t.weight_decay) == (
        "step", (0.3, 0.6, 0.8), 0.2, 5e-4)
    assert (c.runtime.strategy, c.runtime.mixed_precision) == ("tpu", "mixed_bfloat16")
    assert (c.distill.temperature, c.distill.alpha) == (4.0, 0.1)  # soft-target weight 0.9
    k = load_config_module("kernels").get_config("cifar10")
    assert k.model.name == "simple_cnn_10_3_ntk" and k.experiment == "paper"
