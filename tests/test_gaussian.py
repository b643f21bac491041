"""Gaussian-like random-teacher data (PAPER.md Figure 3) and its sweep experiment."""

import dataclasses
import json
import os

import numpy as np
import pytest

from conftest import run_cli
from ens_kd_tf.data.gaussian import (GaussianSpec, _label, _labeller, balanced_offsets,
                                     build_teacher, make_gaussian_teacher, teacher_labels)
from ens_kd_tf.errors import UsageError
from ens_kd_tf.models import build_model

SMALL = GaussianSpec(image_size=4, channels=1, teacher_width=32, num_train=400, num_test=200)


@pytest.mark.parametrize("teacher", ["linear", "fc3", "res3", "conv2", "resconv3"])
def test_labels_are_the_teachers_argmax_and_balanced(teacher):
    spec = dataclasses.replace(SMALL, teacher=teacher)
    data = make_gaussian_teacher(spec)
    assert data.x_train.shape == (400, 4, 4, 1) and data.x_train.dtype == np.float32
    np.testing.assert_array_equal(teacher_labels(spec, data.x_test), data.y_test)
    np.testing.assert_array_equal(teacher_labels(spec, data.x_train), data.y_train)
    counts = np.bincount(data.y_train, minlength=10)
    assert counts.min() > 0.3 * counts.mean(), counts


def test_a_degenerate_teacher_is_refused():
    with pytest.raises(UsageError, match="labels degenerately .*raise teacher_width"):
        make_gaussian_teacher(dataclasses.replace(SMALL, teacher="fc3", teacher_width=1))


def test_deterministic_in_seed_and_different_across_seeds():
    a, b = make_gaussian_teacher(SMALL), make_gaussian_teacher(SMALL)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    c = make_gaussian_teacher(dataclasses.replace(SMALL, seed=1))
    assert not np.array_equal(a.y_train, c.y_train)


def test_margin_sampling_raises_the_teachers_margin():
    def margins(spec):  # top-1 minus top-2 of the teacher's calibrated logits
        _, _, teacher, (center, scale), _ = _labeller(spec)
        return _label(teacher, make_gaussian_teacher(spec).x_test, center, scale)[1]

    uniform, margin = margins(SMALL), margins(dataclasses.replace(SMALL, sampling="margin"))
    # margin_quantile=0.5: every kept draw is above the median margin of uniform draws
    assert margin.min() >= 0.9 * np.median(uniform) and uniform.min() < 0.2 * margin.min()


def test_label_noise_touches_train_labels_only():
    clean = make_gaussian_teacher(SMALL)
    noisy = make_gaussian_teacher(dataclasses.replace(SMALL, label_noise=0.1))
    np.testing.assert_array_equal(clean.x_train, noisy.x_train)
    flipped = np.mean(clean.y_train != noisy.y_train)
    assert 0.05 < flipped < 0.15
    np.testing.assert_array_equal(clean.y_test, noisy.y_test)


def test_mixture_inputs_have_component_means():
    data = make_gaussian_teacher(dataclasses.replace(SMALL, input="mixture",
                                                     mixture_spread=2.0, components=3))
    flat = data.x_train.reshape(len(data.x_train), -1)
    # 3 well separated means: the sample mean norm is far above that of N(0, I) draws
    assert np.linalg.norm(flat, axis=1).std() > 1.0 or np.abs(flat.mean(0)).max() > 0.3


def test_balanced_offsets_equalize_the_argmax():
    rng = np.random.default_rng(0)
    pilot = rng.standard_normal((5000, 4)) + np.array([2.0, 0.0, 0.0, -1.0])
    center, scale = balanced_offsets(pilot)
    counts = np.bincount(((pilot - center) / scale).argmax(1), minlength=4)
    assert counts.min() > 0.8 * counts.mean()


@pytest.mark.parametrize("field,value,pattern", [
    ("teacher", "conv9", "data.gaussian.teacher='conv9'"),
    ("input", "uniform", "data.gaussian.input='uniform'"),
    ("label_noise", 1.5, "label_noise=1.5"),
    ("num_train", 0, "num_train"),
])
def test_bad_constants_are_named(field, value, pattern):
    with pytest.raises(UsageError, match=pattern):
        make_gaussian_teacher(dataclasses.replace(SMALL, **{field: value}))


def test_teacher_architectures_are_zoo_learners():
    model = build_model("teacher_resconv3_32", 10, (4, 4, 1))
    spec = dataclasses.replace(SMALL, teacher="resconv3")
    assert model.count_params() == build_teacher(spec).count_params()
    assert build_model("mlp_3_16", 10, (4, 4, 1)).output.shape == (None, 10)
    with pytest.raises(UsageError, match="teacher_<kind>_<width>"):
        build_model("teacher_conv7_8", 10, (4, 4, 1))


def test_gaussian_sweep_prints_single_vs_ensemble(tmp_path):
    workdir = tmp_path / "gauss"
    args = ["--config=configs/gaussian.py", f"--workdir={workdir}",
            "--config.gaussian_sweep.inputs=('gaussian',)",
            "--config.gaussian_sweep.teachers=('linear','conv2')",
            "--config.gaussian_sweep.samplings=('uniform',)",
            "--config.gaussian_sweep.learner_width=8",
            "--config.data.gaussian.num_train=256", "--config.data.gaussian.num_test=128",
            "--config.data.gaussian.image_size=4", "--config.ensemble.num_members=2",
            "--config.train.epochs=1", "--config.train.batch_size=32",
            "--config.runtime.verbose=0"]
    proc = run_cli(args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.load(open(workdir / "results.json"))
    assert [(r["teacher"], r["learner"]) for r in result["rows"]] == [
        ("linear", "teacher_linear_8"), ("conv2", "teacher_conv2_8")]
    for row in result["rows"]:
        assert row["gain"] == pytest.approx(row["ensemble"] - row["single"]["mean"])
    assert "teacher_conv2_8" in proc.stdout and "error reduction" in proc.stdout
    assert os.path.exists(workdir / "gaussian_conv2_uniform_noise0" / "members" / "seed_1")
    bad = run_cli(args + ["--config.gaussian_sweep.teachers=('conv9',)"])
    assert bad.returncode == 2 and "conv9" in bad.stderr.strip().splitlines()[-1]
