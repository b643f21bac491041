"""Every artifact goes through tf.io.gfile: a whole run in TensorFlow's in-memory filesystem
(ram://, a stand-in for gs:// that needs no cloud) leaves its files there and none on disk."""

import os

import tensorflow as tf

from conftest import tiny_config
from ens_kd_tf.experiments.driver import run_experiment
from ens_kd_tf.workdir import ensure_writable_dir, write_or_check_config


def test_a_run_in_ram_filesystem_writes_everything_through_gfile(tmp_path, cpu_runtime,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)  # a path that bypassed gfile would land here as "ram:/..."
    workdir = "ram://ens_kd_tf_test/run"
    config = tiny_config("ensemble", "ensemble")
    config.ensemble.num_members = 2
    config.train.epochs = 1
    config.train.checkpoint_every_steps = 4
    ensure_writable_dir(workdir)
    write_or_check_config(workdir, config)
    summary = run_experiment(config, workdir, cpu_runtime)
    assert summary["rows"][1]["kind"] == "ensemble"
    for name in ("config.json", "results.json", "report.md", "report.png",
                 "members/seed_0/model.keras", "members/seed_0/test_logits.npy",
                 "members/seed_1/export/saved_model.pb", "ensemble/export/saved_model.pb",
                 "members/seed_1/checkpoints/checkpoint"):
        assert tf.io.gfile.exists(f"{workdir}/{name}"), name
    with tf.io.gfile.GFile(f"{workdir}/report.md") as f:  # notes of what ran, only
        notes = [line for line in f.read().splitlines() if line.startswith("- ")]
    assert "- ensemble reduction: average of logits" in notes
    assert not [n for n in notes if "distillation" in n or "joint sum" in n], notes
    events = tf.io.gfile.glob(f"{workdir}/members/seed_0/tensorboard/*/events.out.*")
    assert events, "no TensorBoard events in ram://"
    assert os.listdir(tmp_path) == []
    # the export loads back from ram:// as it would from gs://
    loaded = tf.saved_model.load(f"{workdir}/ensemble/export")
    assert "serving_default" in loaded.signatures
    # a rerun finds the run done in ram:// (nothing retrained)
    again = run_experiment(config, workdir, cpu_runtime)
    assert again["rows"] == summary["rows"]


def test_gs_paths_need_no_extra_package():
    """TensorFlow's core file system serves gs:// (README: no [gcs] extra is needed)."""
    import tensorflow as tf

    assert "gs" in tf.io.gfile.get_registered_schemes()
