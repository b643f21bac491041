"""configs/multiview.py: the Table 1 row repeated over seeds, aggregated with mean +- std."""

import json
import os

import pytest

from conftest import tiny_config
from ens_kd_tf.experiments import multiview
from ens_kd_tf.experiments.predictions import kernel_predictions, network_predictions


def test_multiview_study_repeats_and_aggregates(tmp_path, cpu_runtime):
    config = tiny_config("multiview", "multiview")
    config.data.name, config.model.name = "multiview_patches", "patch_net"  # fast
    config.ensemble.num_members = 2
    config.train.epochs = 1
    config.study.repeats = 2
    config.study.seed_stride = 10
    workdir = str(tmp_path / "mv")
    result = multiview.run(config, workdir, cpu_runtime)
    seeds = sorted(json.load(open(os.path.join(workdir, f"repeat_{r}", "members",
                                               f"seed_{s}", "results.json")))["seed"]
                   for r in (0, 1) for s in ((0, 1) if r == 0 else (10, 11)))
    assert seeds == [0, 1, 10, 11]
    rows = result["rows"]
    assert [r["kind"] for r in rows] == ["single", "ensemble", "sum", "kd", "sd"]
    assert rows[0]["name"].startswith("single (4 models)")
    # the ensemble row is the mean over repeats of each repeat's ensemble accuracy
    per_repeat = [json.load(open(os.path.join(workdir, f"repeat_{r}", "ensemble",
                                              "results.json")))["test"]["accuracy"]
                  for r in (0, 1)]
    assert rows[1]["accuracy"]["mean"] == pytest.approx(sum(per_repeat) / 2)
    for row in rows:
        assert set(row["single_view"]["accuracy"]) == {"mean", "std"}
    assert result["theory_single_error"] == pytest.approx(
        config.data.multiview.single_view_prob / 2)
    for name in ("report.md", "report.png", "results.json"):
        assert os.path.getsize(os.path.join(workdir, name)) > 0
    verdicts = result["predictions"]
    assert len(verdicts) >= 4  # the KD and sum checks need a positive ensemble gain
    report = open(os.path.join(workdir, "report.md")).read()
    assert all(p["claim"] in report for p in verdicts)


def test_multiview_presets():
    from conftest import load_config_module

    module = load_config_module("multiview")
    default, theory = module.get_config(), module.get_config("theory")
    assert default.study.repeats >= 5 and default.data.name == "multiview_images"
    assert (theory.data.name, theory.model.name) == ("multiview_patches", "patch_net")
    assert module.get_config("theory,wrn_16_4").model.name == "wrn_16_4"


def _row(kind, acc, std=0.0, sv=None):
    # single rows summarise several models; one-model rows (paper.py) hold a plain value
    row = {"kind": kind, "accuracy": {"mean": acc, "std": std} if kind == "single" else acc}
    if sv is not None:
        row["single_view"] = {"accuracy": {"mean": sv, "std": 0.0}}
        row["multi_view"] = {"accuracy": {"mean": 0.999, "std": 0.0}}
    return row


def test_predictions_are_checked_against_the_measured_rows():
    rows = [_row("single", 0.90, 0.01, sv=0.52), _row("ensemble", 0.96),
            _row("sum", 0.91), _row("kd", 0.95), _row("sd", 0.93)]
    verdicts = [p["holds"] for p in network_predictions(rows, 0.2)]
    assert verdicts == [True, True, True, True, True, True]
    rows = [_row("single", 0.90, 0.01, sv=0.95), _row("ensemble", 0.91),
            _row("sum", 0.92), _row("kd", 0.90), _row("sd", 0.90)]
    verdicts = [p["holds"] for p in network_predictions(rows, 0.2)]
    assert verdicts == [False, True, False, False, False, False]


def test_kernel_predictions_expect_the_sum_to_match_and_no_distillation_gain():
    rows = [_row("single", 0.60, 0.005), _row("ensemble", 0.64), _row("sum", 0.65),
            _row("kd", 0.60), _row("sd", 0.595)]
    assert [p["holds"] for p in kernel_predictions(rows)] == [True, True, True, True]
    rows[2], rows[3] = _row("sum", 0.61), _row("kd", 0.63)
    assert [p["holds"] for p in kernel_predictions(rows)] == [True, False, False, True]
