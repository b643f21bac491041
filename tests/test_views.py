"""configs/views.py (PAPER.md Figure 6): heads on frozen, cached features."""

import os

import numpy as np
import pytest

from conftest import TINY_OVERRIDES, run_cli, tiny_config
from ens_kd_tf.errors import UsageError
from ens_kd_tf.experiments import views
from ens_kd_tf.models import build_classifier


def test_feature_extractor_cuts_inside_the_classifier():
    model = build_classifier("simple_cnn_3_1", 10, (16, 16, 3), mean=(1, 2, 3), std=(2, 2, 2))
    trunk = views.feature_extractor(model, "stage2_relu1")
    x = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    assert trunk(x).shape == (2, 8, 8, 32)
    with pytest.raises(UsageError, match="views.layer='nope' is not a layer.*stage2_relu1"):
        views.feature_extractor(model, "nope")


def test_variants_split_channels_disjointly_and_average_groups():
    config = tiny_config("views", "views")
    out = {name: (idx, g) for name, idx, g in views.variants(32, config)}
    assert list(out) == ["all", "split 1/2", "split 1/4", "split 1/8", "avg 2", "avg 4",
                         "avg 8"]
    quarters = out["split 1/4"][0]
    assert len(quarters) == 4 and sorted(np.concatenate(quarters)) == list(range(32))
    x = np.arange(2 * 32, dtype=float).reshape(2, 32)
    np.testing.assert_allclose(views._select(x, np.arange(32), 4)[0, :2], [1.5, 5.5])
    with pytest.raises(UsageError, match="views.splits entry 3 does not divide"):
        config.views.splits = (3,)
        views.variants(32, config)


def test_views_experiment_end_to_end_and_cached_features(tmp_path, cpu_runtime, monkeypatch):
    config = tiny_config("views", "views")
    config.views.layer = "stage2_relu1"
    config.views.epochs = 1
    config.views.splits, config.views.groups, config.views.heads = (2,), (4,), 2
    workdir = tmp_path / "views"
    result = views.run(config, str(workdir), cpu_runtime)
    assert [(r["name"], r["channels"], r["heads"]) for r in result["rows"]] == [
        ("all", 32, 2), ("split 1/2", 16, 2), ("avg 4", 8, 2)]
    assert "ensemble acc %" in result["table"]
    for name in ("features.npz", "report.md", "report.png", "members/seed_0/model.keras"):
        assert os.path.getsize(workdir / name) > 0
    feats = np.load(workdir / "features.npz")
    assert feats["train"].shape == (256, 8, 8, 32) and feats["test"].shape == (100, 8, 8, 32)
    # a rerun of the heads reuses the cached features: the trunk is not run again
    os.remove(workdir / "results.json")
    monkeypatch.setattr(views, "feature_extractor",
                        lambda *a: pytest.fail("features were recomputed"))
    again = views.run(config, str(workdir), cpu_runtime)
    assert [r["name"] for r in again["rows"]] == ["all", "split 1/2", "avg 4"]


def test_bad_views_layer_is_one_line_before_training(tmp_path):
    workdir = tmp_path / "bad"
    proc = run_cli(["--config=configs/views.py", f"--workdir={workdir}", *TINY_OVERRIDES,
                    "--config.views.layer="])
    assert proc.returncode == 2 and "views.layer is empty" in proc.stderr.strip().splitlines()[-1]
    assert not (workdir / "members").exists()
