r"""Ensemble: L members that differ only in their seed, and their unweighted average.

Demo (offline, built-in multi-view images):
  python -m ens_kd_tf.main --config=configs/ensemble.py --workdir=/tmp/ensemble

Paper protocol (10 members, CIFAR through TFDS; one member at a time, or member i only with
--config.member=i to spread them over machines):
  python -m ens_kd_tf.main --config=configs/ensemble.py:cifar100,wrn_28_10,tpu \
      --workdir=gs://BUCKET/ens_c100 --config.ensemble.num_members=10

Writes members/seed_<n>/ (each a single-model run), ensemble/ (scores from the members'
stored test logits, and the ensemble exported as one SavedModel), results.json, report.md.
"""

from ens_kd_tf.config_defaults import add_ensemble, apply_presets, base_config


def get_config(arg=None):
    config = base_config("ensemble")
    add_ensemble(config, member=True)
    return apply_presets(config, arg)
