"""configs/views.py (PAPER.md Figure 6): new models on a frozen model's reduced features."""

import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_config
from ens_kd_tf.errors import UsageError
from ens_kd_tf.experiments import views
from ens_kd_tf.experiments.driver import run_experiment
from ens_kd_tf.experiments.views import validate_views
from ens_kd_tf.experiments.views_checks import views_checks
from ens_kd_tf.stages import view_inputs
from ens_kd_tf.stages.classifier import load_data
from ens_kd_tf.export import load_keras
from ens_kd_tf.models import build_classifier
from ens_kd_tf.stages.results import load_results
from ens_kd_tf.strategy import Runtime


def test_cut_at_layer_cuts_inside_the_classifier():
    model = build_classifier("simple_cnn_3_1", 10, (16, 16, 3), mean=(1, 2, 3), std=(2, 2, 2))
    trunk = view_inputs.cut_at_layer(model, "stage2_relu1")
    x = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    assert trunk(x).shape == (2, 8, 8, 32)
    with pytest.raises(UsageError, match="views.layer='nope' is not a layer.*stage2_relu1"):
        view_inputs.cut_at_layer(model, "nope")


def test_subsets_are_nested_averages_group_consecutive_channels_parts_are_disjoint():
    config = tiny_config("views", "views")
    inputs = {v.name: v for v in view_inputs.view_inputs(32, config)}
    assert [(n, v.channels) for n, v in inputs.items()] == [
        ("all", 32), ("1/2", 16), ("1/4", 8), ("1/8", 4), ("avg 2", 16), ("avg 4", 8),
        ("avg 8", 4)]
    half, eighth = set(inputs["1/2"].index), set(inputs["1/8"].index)
    assert eighth < set(inputs["1/4"].index) < half and len(half) == 16
    assert sorted(inputs["all"].index) == list(range(32))
    x = np.arange(3 * 5 * 32, dtype=np.float32).reshape(3, 5, 32)  # [N, H, C]
    np.testing.assert_array_equal(view_inputs.transform(x, inputs["1/8"]),
                                  x[..., inputs["1/8"].index])
    avg4 = view_inputs.transform(x, inputs["avg 4"])
    assert avg4.shape == (3, 5, 8) and avg4.dtype == np.float32
    np.testing.assert_allclose(avg4[0, 0, :2], [x[0, 0, 0:4].mean(), x[0, 0, 4:8].mean()])
    parts = view_inputs.disjoint_parts(32, 4, config)
    assert [p.slug for p in parts] == ["subset_1_4", "split_1_4_part_1", "split_1_4_part_2",
                                       "split_1_4_part_3"]
    np.testing.assert_array_equal(parts[0].index, inputs["1/4"].index)
    assert sorted(np.concatenate([p.index for p in parts])) == list(range(32))
    with pytest.raises(UsageError, match="views.groups entry 3 does not divide the 32"):
        config.views.groups = (3,)
        view_inputs.view_inputs(32, config)


def _row(name, kind, channels, singles, ensemble):
    return {"name": name, "kind": kind, "channels": channels,
            "single": {"accuracy": {"mean": float(np.mean(singles)),
                                    "std": float(np.std(singles, ddof=1))}},
            "ensemble": {"accuracy": ensemble}}


def test_checks_state_the_paper_pattern_and_flag_its_absence():
    intact = {"test": {"accuracy": 0.815}}
    paper = [_row("all", "all", 64, [0.811, 0.812, 0.814], 0.8405),
             _row("1/8", "subset", 8, [0.800, 0.801, 0.803], 0.8351)]
    assert [c["holds"] for c in views_checks(intact, paper)] == [True, True, True, True]
    flat = [_row("all", "all", 64, [0.75, 0.80, 0.85], 0.80),
            _row("1/8", "subset", 8, [0.70, 0.80, 0.90], 0.70)]
    checks = views_checks(intact, flat)
    assert [c["holds"] for c in checks] == [False, False, False, False]
    assert "80.00 vs intact 81.50" in checks[0]["measured"]
    assert [c["claim"] for c in checks][2] == (
        "ensembles lose less than single models from all channels to 1/8 (ensemble drop < "
        "single drop)")


def test_views_experiment_end_to_end_and_cached_features(tmp_path, monkeypatch):
    cpu_runtime = Runtime(tf.distribute.OneDeviceStrategy("/cpu:0"), jit_compile=False)
    config = tiny_config("views", "views")
    config.views.layer, config.views.model = "stage2_relu1", "simple_cnn_3_1"
    config.views.epochs, config.views.seeds = 1, 2
    config.views.splits, config.views.groups, config.views.disjoint_splits = (2,), (4,), (2,)
    # 8 models of 1 epoch: XLA off, its compile time would dominate
    workdir = tmp_path / "views"
    result = run_experiment(config, str(workdir), cpu_runtime)
    assert [(r["name"], r["kind"], r["channels"], r["models"]) for r in result["rows"]] == [
        ("all", "all", 32, 2), ("1/2", "subset", 16, 2), ("avg 4", "average", 8, 2),
        ("ensemble of the 2 disjoint 1/2 splits (1 model each)", "disjoint_splits", 16, 2)]
    assert [c["claim"].split(" (")[0] for c in result["predictions"]][:2] == [
        "new models on all channels are within 1 point of the intact model",
        "single models lose accuracy from all channels to 1/2"]
    assert "ensemble acc %" in result["table"] and result["std"] == "sample (ddof=1)"
    report = (workdir / "report.md").read_text()
    assert "hold" in report and "disjoint" in report
    for name in ("features.npz", "report.png", "members/seed_0/model.keras",
                 "inputs/avg_4/seed_1/test_logits.npy",
                 "inputs/split_1_2_part_1/seed_0/test_logits.npy"):
        assert os.path.getsize(workdir / name) > 0
    # the 1/2 row's seed-0 model is part 0 of the disjoint row: trained once
    assert not (workdir / "inputs" / "split_1_2_part_0").exists()
    # cached features are the frozen model's activations at the cut
    feats = np.load(workdir / "features.npz")
    assert feats["train"].shape == (256, 8, 8, 32) and feats["test"].shape == (100, 8, 8, 32)
    frozen = load_keras(str(workdir / "members/seed_0/model.keras"))
    data = load_data(config)
    cut = view_inputs.cut_at_layer(frozen, "stage2_relu1").predict(data.x_test[:4], verbose=0)
    np.testing.assert_allclose(feats["test"][:4], cut, rtol=1e-4, atol=1e-4)
    # the new models saw the transformed features: an avg-4 model takes 8 channels
    new = load_keras(str(workdir / "inputs/avg_4/seed_0/model.keras"))
    assert tuple(new.inputs[0].shape[1:]) == (8, 8, 8)
    # a rerun reuses the features and every trained model
    os.remove(workdir / "results.json")
    monkeypatch.setattr(views, "train_classifier", _reuse_only)
    monkeypatch.setattr(view_inputs, "cut_at_layer",
                        lambda *a: pytest.fail("features were recomputed"))
    again = run_experiment(config, str(workdir), cpu_runtime)
    assert again["table"] == result["table"]


def _reuse_only(config, workdir, runtime, data, build=None):
    assert load_results(workdir), f"{workdir} was trained again"


def test_bad_views_fields_are_named():
    config = tiny_config("views", "views")
    config.views.model = "nope_7"
    with pytest.raises(UsageError, match="views.model='nope_7' is not a model of the zoo"):
        validate_views(config.views)
    config.views.model, config.views.disjoint_splits = "simple_cnn_3_1", (1,)
    with pytest.raises(UsageError, match="views.disjoint_splits entry 1 is not valid"):
        validate_views(config.views)
