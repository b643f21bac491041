"""View probes (ens_kd_tf/probes.py) on constructed models whose learned views are known,
and the pictures (view_plots.py)."""

import json
import os

import keras
import numpy as np
import pytest

from ens_kd_tf import probes, view_plots
from ens_kd_tf.data.multiview import MultiViewSpec, make_multiview_images, make_multiview_patches
from ens_kd_tf.models.patch_net import patch_net

K, M = 4, 4
# low noise: these tests check the probes' logic, not a hard regime
SPEC = MultiViewSpec(num_classes=K, num_patches=9, patch_dim=64, num_train=64, num_test=200,
                     single_view_prob=0.2, noise_norm=0.5)


def _geometry(form="patches", ps=4):
    from ens_kd_tf.data.multiview import view_features
    import dataclasses

    if form == "patches":
        return probes.ViewGeometry(SPEC, view_features(SPEC), "patches")
    spec = dataclasses.replace(SPEC, num_patches=9, patch_dim=ps * ps * 3)
    return probes.ViewGeometry(spec, view_features(spec), "images", ps, 40.0)


def _patch_net_with_views(geom, views_per_class):
    """patch_net whose neuron r of class j is 5 * v_{j, l_r}: l_r cycles over the given views."""
    net = patch_net(K, (SPEC.num_patches, SPEC.patch_dim), neurons_per_class=M)
    kernel = np.zeros((SPEC.patch_dim, K * M), np.float32)
    for j in range(K):
        for r in range(M):
            view = views_per_class[j][r % len(views_per_class[j])]
            kernel[:, j * M + r] = 5.0 * geom.features[2 * j + view]
    net.get_layer("neurons").kernel.assign(kernel)
    return net


def test_patch_net_one_view_per_class_is_found():
    geom = _geometry()
    data = make_multiview_patches(SPEC)
    chosen = [0, 1, 1, 0]
    one = _patch_net_with_views(geom, [[v] for v in chosen])
    views, arrays = probes.measure(one, geom, data.x_test, data.y_test,
                                   data.test_groups["multi_view"])
    assert views["learned"] == [[v == 0, v == 1] for v in chosen]
    assert views["classes_with_both"] == 0 and views["learned_fraction"] == 0.5
    acc = np.array(views["probe_accuracy"])
    assert acc[np.arange(K), chosen].min() > 0.9
    assert acc[np.arange(K), 1 - np.array(chosen)].max() < 0.5
    phi_share = np.array(views["phi_share"])
    assert np.allclose(phi_share[np.arange(K), chosen], 1) and phi_share.min() == 0
    share = np.array(views["saliency_share"])  # the learned view's cell holds the saliency
    learned_share = share[np.arange(K), chosen]
    assert learned_share.min() > 0.5
    assert (learned_share > 3 * share[np.arange(K), 1 - np.array(chosen)]).all()
    assert arrays["logits"].shape == (len(arrays["y"]), K)

    both = _patch_net_with_views(geom, [[0, 1]] * K)
    views_both, arrays_both = probes.measure(both, geom, data.x_test, data.y_test,
                                             data.test_groups["multi_view"])
    assert views_both["classes_with_both"] == K and views_both["learned_fraction"] == 1.0


def test_ensemble_union_and_pooled(tmp_path):
    geom = _geometry()
    data = make_multiview_patches(SPEC)
    dirs, member_views = [], []
    for i, chosen in enumerate(([0, 0, 1, 1], [1, 0, 0, 1])):
        views, arrays = probes.measure(_patch_net_with_views(geom, [[v] for v in chosen]), geom,
                                       data.x_test, data.y_test, data.test_groups["multi_view"])
        d = str(tmp_path / f"m{i}")
        os.makedirs(d)
        np.savez(os.path.join(d, probes.PROBES_FILE), **arrays)
        dirs.append(d)
        member_views.append(views)
    ens = probes.ensemble_views(dirs, member_views, "logits")
    assert ens["learned"] == [[True, True], [True, False], [True, True], [False, True]]
    assert ens["classes_with_both"] == 2
    assert np.array(ens["probe_accuracy"]).shape == (K, 2)
    pooled = probes.pooled_views(member_views)
    assert pooled["learned_fraction"] == {"mean": 0.5, "std": 0.0}
    assert len(probes.models_of(pooled)) == 2 and probes.models_of(ens) == [ens]


def _view0_image_model(geom):
    """A CNN that projects each cell on the view features and reads only views 0."""
    ps = geom.patch_size
    scale = geom.contrast * np.sqrt(geom.spec.patch_dim)
    inputs = keras.Input((3 * ps, 3 * ps, 3))
    z = keras.layers.Rescaling(1 / scale, offset=-128 / scale)(inputs)
    conv = keras.layers.Conv2D(2 * K, ps, strides=ps, use_bias=False)
    z = keras.layers.ReLU(threshold=0.5)(conv(z))
    z = keras.layers.GlobalAveragePooling2D()(z)
    head = keras.layers.Dense(K, use_bias=False)
    model = keras.Model(inputs, head(z))
    conv.kernel.assign(geom.features.reshape(2 * K, ps, ps, 3).transpose(1, 2, 3, 0))
    select = np.zeros((2 * K, K), np.float32)
    select[2 * np.arange(K), np.arange(K)] = 1.0
    head.kernel.assign(select)
    return model


def test_image_probes_and_saliency_grid(tmp_path):
    geom = _geometry("images")
    data = make_multiview_images(SPEC, image_size=12, patch_size=4)
    model = _view0_image_model(geom)
    views, _ = probes.measure(model, geom, data.x_test, data.y_test,
                              data.test_groups["multi_view"])
    assert views["learned"] == [[True, False]] * K
    assert "phi" not in views
    share = np.array(views["saliency_share"])
    assert share[:, 0].min() > 0.9 and share[:, 1].max() < 0.05

    idx = view_plots.saliency_examples(data, 3)
    grid = view_plots.saliency_grid([model, model], data.x_test[idx], data.y_test[idx], 128.0)
    assert grid.shape == (3, 2, 12, 12)
    path = str(tmp_path / "saliency.png")
    view_plots.write_saliency_png(path, data, [("member 0", model), ("KD student", model)],
                                  geom, count=3)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # any image dataset: no view geometry, no multi-view group
    import dataclasses

    plain = dataclasses.replace(data, test_groups={})
    assert len(view_plots.saliency_examples(plain, 6)) == 6
    view_plots.write_saliency_png(path, plain, [("member 0", model)], None, count=2)
    assert os.path.getsize(path) > 1000


def test_views_png_from_rows(tmp_path):
    learned = [[True, False]] * K
    one = probes.summarize(np.array(learned), np.full((K, 2), 0.7),
                           phi_curve={"epochs": [0, 1], "phi": [[[0.1, 0.1]] * K,
                                                                [[1.0, 0.2]] * K]})
    rows = [{"name": "single", "kind": "single", "views": probes.pooled_views([one, one])},
            {"name": "ensemble", "kind": "ensemble", "views": one},
            {"name": "no views", "kind": "sum"}]
    path = str(tmp_path / "views.png")
    assert view_plots.write_views_png(path, {"rows": rows, "experiment": "x"})
    assert os.path.getsize(path) > 1000
    json.dumps(rows)  # the views objects are JSON-ready
    header, body = view_plots.views_table({"rows": rows})
    assert body == [["single", "0.0 +- 0.0 / 4", "0.50 +- 0.00", "0.70"],
                    ["ensemble", "0.0 / 4", "0.50", "0.70"]]
    assert not view_plots.write_views_png(str(tmp_path / "none.png"),
                                          {"rows": rows[2:], "experiment": "x"})


@pytest.mark.parametrize("form", ["patches", "images"])
def test_probe_set_carries_exactly_one_view(form):
    geom = _geometry(form)
    x, y, view = probes.probe_set(geom, per_view=10)
    strength = probes.view_strength(geom, x, y).max(1)  # [N, 2]
    assert (strength[np.arange(len(y)), view] > 0.7).all()
    assert (strength[np.arange(len(y)), 1 - view] < 0.5).all()
    assert set(zip(y.tolist(), view.tolist())) == {(j, v) for j in range(K) for v in (0, 1)}


def _one_view_models(count, k=10, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        won = rng.integers(0, 2, k)
        learned = np.stack([won == 0, won == 1], 1)
        out.append(probes.summarize(learned, learned.astype(float)))
    return out


def test_view_predictions_hold_and_fail():
    from ens_kd_tf.experiments.predictions import view_predictions

    k = 10
    singles = _one_view_models(5, k)
    union = np.any([np.array(v["learned"]) for v in singles], 0)
    ens = probes.summarize(union, np.full((k, 2), 0.9), own_learned_fraction=float(union.mean()))
    both = probes.summarize(np.ones((k, 2), bool), np.full((k, 2), 0.95))
    rows = [{"name": "single", "kind": "single", "views": probes.pooled_views(singles),
             "single_view": {"accuracy": {"mean": 0.5, "std": 0.02}}},
            {"name": "ens", "kind": "ensemble", "views": ens},
            {"name": "kd", "kind": "kd", "views": both,
             "single_view": {"accuracy": 1.0}}]
    verdicts = {p["claim"].split(" (")[0]: p["holds"] for p in view_predictions(rows)}
    assert all(verdicts.values()), verdicts
    rows[2]["views"] = singles[0]  # a "KD student" that learned no more than a single model
    verdicts = {p["claim"].split(" (")[0]: p["holds"] for p in view_predictions(rows)}
    assert not verdicts["KD student learns both views for more classes than a single model"]
    assert not verdicts["kd: single-view error = the probes' error"]
    assert view_predictions([{"name": "s", "kind": "single"}]) == []


def test_ensemble_run_writes_views(tmp_path):
    import tensorflow as tf
    from conftest import tiny_config
    from ens_kd_tf.experiments.driver import run_experiment
    from ens_kd_tf.strategy import Runtime

    config = tiny_config("ensemble", "ensemble")
    config.data.name, config.model.name = "multiview_patches", "patch_net"
    config.data.multiview.patch_dim = 32
    config.ensemble.num_members = 2
    config.train.epochs = 1
    config.data.multiview.num_train = 128
    config.export_saved_models = False
    workdir = str(tmp_path / "ens")
    runtime = Runtime(tf.distribute.OneDeviceStrategy("/cpu:0"), jit_compile=False)
    result = run_experiment(config, workdir, runtime)
    k = config.data.multiview.num_classes
    single, ens = result["rows"]
    for views in probes.models_of(single["views"]) + [ens["views"]]:
        assert np.array(views["learned"]).shape == (k, 2)
        assert np.array(views["probe_accuracy"]).shape == (k, 2)
        assert 0 <= views["learned_fraction"] <= 1 and 0 <= views["classes_with_both"] <= k
    member = probes.models_of(single["views"])[0]
    assert member["phi_curve"]["epochs"] == [0, 1]  # init, then each epoch
    assert np.array(member["phi"]).shape == (k, 2)
    assert os.listdir(os.path.join(workdir, "members", "seed_0", "tensorboard", "views"))
    for name in ("views.png", "saliency.png"):
        assert os.path.getsize(os.path.join(workdir, name)) > 1000
