r"""Evidence of multiple views in learned features (PAPER.md Figure 6).

  python -m ens_kd_tf.main --config=configs/views.py --workdir=/tmp/views

5 min 25 s on 2 CPU cores (measured), training the model first.

Cuts a trained model at views.layer, caches its features, and trains small heads on all
channels, on disjoint 1/2, 1/4, 1/8 channel splits, and on channel averages over groups of
2, 4, 8; prints single-head (mean +- std) and ensemble-of-heads accuracy per variant, with
report.md and report.png. The model is member seed `seed` of views.source_workdir (e.g. a
configs/ensemble.py or configs/paper.py workdir); when that is empty it is trained here first.
For other models name the layer, e.g. a wide ResNet's third block of group 2:
  --config=configs/views.py:cifar100,wrn_16_4 --config.views.layer=group2_block2_add
An unknown layer name stops the run with the valid layer names listed.
"""

import ml_collections

from ens_kd_tf.config_defaults import apply_presets, base_config


def get_config(arg=None):
    config = base_config("views")
    config.views = ml_collections.ConfigDict()
    config.views.source_workdir = ""  # "" = train the model in this workdir first
    config.views.layer = "stage2_relu2"  # simple_cnn_6_1: the end of stage 2, 32 channels
    config.views.splits = (2, 4, 8)
    config.views.groups = (2, 4, 8)
    config.views.heads = 3  # heads (seeds) for "all" and each "avg g"
    config.views.head_width = 32
    config.views.epochs = 15
    config.views.learning_rate = 1e-3
    return apply_presets(config, arg)
