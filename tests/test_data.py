"""Datasets: the built-in multi-view sets, TFDS (mocked and the real CIFAR builders over fake
files), .npz and image folders, with their error messages."""

import os
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ens_kd_tf.data import load_dataset
from ens_kd_tf.data.files import load_image_folder, load_npz
from ens_kd_tf.data.multiview import MultiViewSpec, make_multiview_patches, view_features
from ens_kd_tf.data import tfds_data
from ens_kd_tf.errors import UsageError
from fake_cifar import write_fake_cifar10, write_fake_cifar100


# --- built-in multi-view data -------------------------------------------------------------

def test_multiview_patches_structure():
    spec = MultiViewSpec(num_classes=4, num_patches=8, patch_dim=32, single_view_prob=0.3,
                         num_train=3000, num_test=500, noise_norm=0.0, offclass_features=1,
                         offclass_weight=0.2, weak_view_weight=0.1, strength_jitter=0.0)
    data = make_multiview_patches(spec)
    features = view_features(spec)
    np.testing.assert_allclose(features @ features.T, np.eye(8), atol=1e-9)
    assert data.x_train.shape == (3000, 8, 32) and data.info.input_kind == "features"
    # Without noise, projecting on the features recovers the coefficients exactly.
    coeff = data.x_test @ features.T  # [n, P, 2k]
    y = data.y_test
    own = np.stack([coeff[np.arange(len(y)), :, 2 * y + v].max(1) for v in (0, 1)], 1)
    multi = data.test_groups["multi_view"]
    np.testing.assert_allclose(own[multi], 1.0, atol=1e-5)  # both views at full strength
    np.testing.assert_allclose(np.sort(own[~multi], 1), [[0.1, 1.0]] * (~multi).sum(),
                               atol=1e-5)  # one strong view, the other weak
    assert 0.25 < (~multi).mean() < 0.35
    # Each sample carries one weak off-class feature.
    total = np.abs(coeff).sum(axis=(1, 2))
    np.testing.assert_allclose(total[multi], 2.2, atol=1e-5)


def test_multiview_is_deterministic_in_its_seed(tiny):
    a = load_dataset(tiny.data)
    b = load_dataset(tiny.data)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    tiny.data.multiview.seed = 1
    c = load_dataset(tiny.data)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.dtype == np.uint8 and a.x_train.shape == (256, 16, 16, 3)
    assert set(a.test_groups) == {"multi_view", "single_view"}


def test_multiview_rejects_impossible_constants(tiny):
    tiny.data.multiview.patch_size = 5  # 16 is not a multiple of 5
    with pytest.raises(UsageError, match="patch_size=5"):
        load_dataset(tiny.data)


# --- TFDS ------------------------------------------------------------------------------------

def test_tfds_path_with_mock_data(monkeypatch, tmp_path):
    monkeypatch.setattr(tfds_data, "network_available", lambda host, timeout_s=3.0: True)
    with tfds.testing.mock_data(num_examples=12):
        data = tfds_data.load_tfds("cifar100", data_dir=str(tmp_path), download=True)
    assert data.x_train.shape == (12, 32, 32, 3) and data.x_train.dtype == np.uint8
    assert data.info.num_classes == 100
    assert data.y_train.max() < 100


@pytest.mark.parametrize("name,writer", [("cifar10", write_fake_cifar10),
                                         ("cifar100", write_fake_cifar100)])
def test_real_cifar_builder_over_fake_binary_files(monkeypatch, tmp_path, name, writer):
    written = writer(str(tmp_path / "extracted"))
    monkeypatch.setattr(tfds_data, "network_available", lambda host, timeout_s=3.0: True)
    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract",
                        lambda self, url: str(tmp_path / "extracted"))
    data = tfds_data.load_tfds(name, data_dir=str(tmp_path / "tfds"), download=True)
    for split, (x, y) in (("train", (data.x_train, data.y_train)),
                          ("test", (data.x_test, data.y_test))):
        want_x, want_y = written[split]
        assert x.shape == want_x.shape
        # TFDS reorders examples; match them by content.
        want = {img.tobytes(): int(lbl) for img, lbl in zip(want_x, want_y)}
        assert {img.tobytes(): int(lbl) for img, lbl in zip(x, y)} == want
    # Prepared now: a second load needs neither the network nor the download.
    monkeypatch.setattr(tfds_data, "network_available", lambda host, timeout_s=3.0: False)
    again = tfds_data.load_tfds(name, data_dir=str(tmp_path / "tfds"), download=True)
    np.testing.assert_array_equal(np.sort(again.y_test), np.sort(data.y_test))


def test_network_probe_gives_up_in_seconds():
    start = time.time()
    assert not tfds_data.network_available("192.0.2.1", timeout_s=1.0)  # TEST-NET-1
    assert time.time() - start < 5


def test_offline_cifar_fails_fast_with_instructions(monkeypatch, tmp_path):
    monkeypatch.setattr(tfds_data, "network_available", lambda host, timeout_s=3.0: False)
    start = time.time()
    with pytest.raises(UsageError) as err:
        tfds_data.load_tfds("cifar10", data_dir=str(tmp_path), download=True)
    assert time.time() - start < 30
    message = str(err.value)
    assert "cifar10 is not prepared" in message and "download_and_prepare" in message
    assert "--config.data.data_dir" in message


def test_no_download_flag_fails_with_instructions(tmp_path):
    with pytest.raises(UsageError, match="data.download is False"):
        tfds_data.load_tfds("cifar100", data_dir=str(tmp_path), download=False)


# --- bring your own data --------------------------------------------------------------------

def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def _good_arrays(n=20, shape=(8, 8, 3), classes=3, dtype=np.uint8):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (n,) + shape).astype(dtype)
    return dict(x_train=x, y_train=rng.integers(0, classes, n), x_test=x[:6],
                y_test=rng.integers(0, classes, 6))


def test_npz_dataset_loads(tmp_path):
    data = load_npz(_write_npz(tmp_path / "mine.npz", **_good_arrays()))
    assert data.info.name == "mine" and data.info.input_kind == "image"
    assert data.info.input_shape == (8, 8, 3) and data.num_test == 6
    assert len(data.info.mean) == 3


@pytest.mark.parametrize("change,pattern", [
    (lambda a: a.pop("y_test"), "lacks the arrays \\['y_test'\\]"),
    (lambda a: a.update(y_train=a["y_train"] - 5), "labels in \\[-5"),
    (lambda a: a.update(x_test=np.zeros((6, 4, 4, 3), np.uint8)), "different|have shape"),
    (lambda a: a.update(x_train=np.full((20, 8, 8, 3), np.nan, np.float32)), "NaN"),
    (lambda a: a.update(x_train=np.zeros((20, 8, 8, 3), np.int64)), "dtype int64"),
    (lambda a: a.update(y_train=np.zeros(7, np.int64)), "y_train has shape"),
])
def test_npz_errors_name_the_problem(tmp_path, change, pattern):
    arrays = _good_arrays()
    change(arrays)
    with pytest.raises(UsageError, match=pattern):
        load_npz(_write_npz(tmp_path / "bad.npz", **arrays))


def test_npz_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_npz(str(tmp_path / "nope.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(UsageError, match="not a readable .npz"):
        load_npz(str(tmp_path / "junk.npz"))


def test_npz_with_pickled_objects_is_refused(tmp_path):
    arrays = _good_arrays()
    arrays["x_train"] = np.array([object()] * 20, dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)
    with pytest.raises(UsageError, match="not a readable .npz"):
        load_npz(str(path))


def test_image_folder_dataset(tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("cat", "dog"):
            os.makedirs(tmp_path / split / cls)
            for i in range(n):
                img = rng.integers(0, 255, (10, 12, 3)).astype(np.uint8)
                tf.io.write_file(str(tmp_path / split / cls / f"{i}.png"),
                                 tf.io.encode_png(img))
    data = load_image_folder(str(tmp_path), image_size=8)
    assert data.x_train.shape == (6, 8, 8, 3) and data.info.num_classes == 2
    assert sorted(data.y_test.tolist()) == [0, 0, 1, 1]
    with pytest.raises(UsageError, match="has no train/ folder"):
        load_image_folder(str(tmp_path / "train"))
