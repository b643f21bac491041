"""configs/multiview.py: the Table 1 row repeated over seeds, aggregated with mean +- std."""

import json
import os

import pytest

from conftest import tiny_config
from ens_kd_tf.experiments.driver import run_experiment
from ens_kd_tf.experiments.predictions import kernel_predictions, network_predictions


def test_multiview_study_repeats_and_aggregates(tmp_path, cpu_runtime):
    config = tiny_config("multiview", "multiview")
    config.data.name, config.model.name = "multiview_patches", "patch_net"  # fast
    config.ensemble.num_members = 2
    config.train.epochs = 1
    config.study.repeats = 2
    config.study.seed_stride = 10
    workdir = str(tmp_path / "mv")
    result = run_experiment(config, workdir, cpu_runtime)
    seeds = sorted(json.load(open(os.path.join(workdir, f"repeat_{r}", "members",
                                               f"seed_{s}", "results.json")))["seed"]
                   for r in (0, 1) for s in ((0, 1) if r == 0 else (10, 11)))
    assert seeds == [0, 1, 10, 11]
    rows = result["rows"]
    assert [r["kind"] for r in rows] == ["single", "ensemble", "sum", "kd", "scratch_same_seed",
                                         "sd", "scratch_same_seed"]
    assert rows[0]["seeds"] == [0, 1, 10, 11] and rows[3]["seeds"] == [2, 12]  # KD: seed + L
    assert rows[4]["seeds"] == [2, 12] and rows[6]["seeds"] == [1, 11]  # SD's: members
    # a student's gain: mean over repeats of (student - same-seed scratch), in points
    gains = [100 * (json.load(open(os.path.join(workdir, f"repeat_{r}", "kd", "results.json")))
                    ["test"]["accuracy"]
                    - json.load(open(os.path.join(workdir, f"repeat_{r}", "scratch",
                                                  f"seed_{s}", "results.json")))
                    ["test"]["accuracy"]) for r, s in ((0, 2), (1, 12))]
    assert rows[3]["gain"]["mean"] == pytest.approx(sum(gains) / 2)
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


def _row(kind, acc, std=0.0, sv=None, gain=None):
    # single rows summarise several models; one-model rows (paper.py) hold a plain value;
    # students carry their gain over the same-seed scratch model (points)
    row = {"kind": kind, "accuracy": {"mean": acc, "std": std} if kind == "single" else acc}
    if sv is not None:
        row["single_view"] = {"accuracy": {"mean": sv, "std": 0.0}}
        row["multi_view"] = {"accuracy": {"mean": 0.999, "std": 0.0}}
    if gain is not None:
        row["gain"] = gain
    return row


def _verdicts(predictions):
    return [p["holds"] for p in predictions]


def test_network_predictions_are_sized_and_two_sided():
    # checks: sv error, mv error, ens > 2 std, ens not worse, KD > 1/2 gain, KD not worse,
    # SD > 2 std, SD not worse, sum < 1/2 gain
    rows = [_row("single", 0.90, 0.01, sv=0.52), _row("ensemble", 0.96),
            _row("sum", 0.91), _row("kd", 0.95, gain=4.0), _row("sd", 0.93, gain=2.5)]
    predictions = network_predictions(rows, 0.2)
    assert _verdicts(predictions) == [True] * 9
    assert all("sample std (ddof=1)" in p["measured"] for p in predictions[2:8])
    # ensemble 2 points (2 std) WORSE; KD far below its scratch; SD within noise: each
    # unexpected-direction check fails on its own
    rows = [_row("single", 0.90, 0.01, sv=0.95), _row("ensemble", 0.87),
            _row("sum", 0.92), _row("kd", 0.85, gain=-5.0), _row("sd", 0.90, gain=0.5)]
    assert _verdicts(network_predictions(rows, 0.2)) == [
        False, True, False, False, False, False, False, True, False]


def test_kernel_predictions_expect_the_sum_to_match_and_no_distillation_gain():
    # std 0.5 points -> tol = max(2 std, 1 point) = 1 point; checks: ens > tol, ens not
    # worse, sum >= ens - tol, KD not above, KD not below, SD not above, SD not below
    rows = [_row("single", 0.60, 0.005), _row("ensemble", 0.64), _row("sum", 0.65),
            _row("kd", 0.60, gain=0.4), _row("sd", 0.595, gain=-0.8)]
    assert _verdicts(kernel_predictions(rows)) == [True] * 7
    rows[2], rows[3] = _row("sum", 0.61), _row("kd", 0.63, gain=3.0)
    assert _verdicts(kernel_predictions(rows)) == [True, True, False, False, True, True, True]
    # a broken KD (far below its same-seed scratch) no longer passes as "no gain"
    rows[3] = _row("kd", 0.50, gain=-10.0)
    predictions = kernel_predictions(rows)
    assert _verdicts(predictions)[3:5] == [True, False]
    assert "BELOW" in predictions[4]["claim"] and "unexpected direction" in predictions[4][
        "claim"]
    # the tolerance grows with the noise: 2 std = 3 points covers a 2.5-point gap
    rows = [_row("single", 0.60, 0.015), _row("ensemble", 0.64), _row("sum", 0.65),
            _row("kd", 0.575, gain=-2.5), _row("sd", 0.60, gain=0.0)]
    assert _verdicts(kernel_predictions(rows)) == [True] * 7
