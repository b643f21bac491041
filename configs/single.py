r"""One model trained on its own: the baseline row of every table.

Demo (offline, built-in multi-view images; about 45 s on 2 CPU cores):
  python -m ens_kd_tf.main --config=configs/single.py --workdir=/tmp/single

Paper protocol on CIFAR (TFDS; not measured here, no accelerator; launch/README.md
estimates the time of a TPU row):
  python -m ens_kd_tf.main --config=configs/single.py:cifar100,wrn_28_10,tpu \
      --workdir=gs://BUCKET/single_c100 --config.data.data_dir=gs://BUCKET/tfds

Presets: cifar10 | cifar100 (paper protocol), tpu | gpu (hardware), any zoo model name.
"""

from ens_kd_tf.config_defaults import apply_presets, base_config


def get_config(arg=None):
    config = base_config("single")
    return apply_presets(config, arg)
