r"""Evidence of multiple views in learned features: PAPER.md Figure 6 as the paper ran it.

  python -m ens_kd_tf.main --config=configs/views.py --workdir=/tmp/views

Trains SimpleCNN-6-2 (seed 0; or takes member seed `seed` of views.source_workdir, e.g. a
configs/ensemble.py workdir), freezes it, cuts it at views.layer and caches its features.
New views.model models (default SimpleCNN-3-2: three conv layers, as deep as the rest of the
network after the cut) are trained from scratch with the zoo's trainer (the config's SGD and
cosine schedule) on: all channels; a nested 1/2, 1/4, 1/8 subset of them; their averages over
groups of 2, 4, 8 channels. For each input: views.seeds models (seeds 0..), reported as single
(mean +- sample std, ddof=1) and as the ensemble of those same-input models; plus the extra
row "ensemble of the s disjoint 1/s splits" for each views.disjoint_splits entry. The checks
(printed, in report.md and results.json): the all-channels model within 1 point of the intact
one; from all channels to 1/8 and to avg 8, single models lose > 2 std, ensembles lose less
than singles, and the ensemble gain exceeds 2 std of the singles.

For other models name the layer and the new model, e.g. a wide ResNet cut before its last
stage: --config=configs/views.py:cifar100,wrn_16_4 --config.views.layer=group2_block2_add
An unknown layer name stops the run with the valid layer names listed.
"""

import ml_collections

from ens_kd_tf.config_defaults import apply_presets, base_config


def get_config(arg=None):
    config = base_config("views")
    config.model.name = "simple_cnn_6_2"  # the frozen model: 32, 64, 128 channels
    # ~30 small models: XLA's compile time outweighs its gain (the tiny end-to-end test run
    # of tests/test_views.py: 53 s CPU with XLA, 18 s without)
    config.runtime.jit_compile = "off"
    config.views = ml_collections.ConfigDict()
    config.views.source_workdir = ""  # "" = train the model in this workdir first
    config.views.layer = "stage3_relu1"  # simple_cnn_6_2: first conv of stage 3, 128 ch, 4x4
    config.views.model = "simple_cnn_3_2"  # the new models trained on the features
    config.views.epochs = 10  # of each new model
    config.views.seeds = 4  # new models per input (single mean +- std, and their ensemble)
    config.views.splits = (2, 4, 8)  # 1/s channel subsets
    config.views.groups = (2, 4, 8)  # averages over groups of g channels
    config.views.disjoint_splits = (2,)  # extra rows: ensemble over the s disjoint parts
    return apply_presets(config, arg)
