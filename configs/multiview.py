r"""The paper's predictions on the built-in multi-view data, over several seeds (PAPER.md
"The theory's multi-view data").

  python -m ens_kd_tf.main --config=configs/multiview.py --workdir=/tmp/multiview

8 min 09 s on 2 CPU cores (measured).

Default: SimpleCNN-6-1 on `multiview_images`; `:theory` runs the theory's own setting, the
patch network (models/patch_net.py, smoothed ReLU) on `multiview_patches`. Each of
study.repeats repeats trains the Table 1 row (ensemble.num_members members, ensemble, joint
sum, KD, SD) with model seeds seed + r * study.seed_stride on the same data; results.json,
report.md and report.png give every row as mean +- std over repeats (single models pooled
over all members), split by multi-view / single-view test samples; report.md checks each
prediction of the paper against the rows and says whether it holds.
"""

import ml_collections

from ens_kd_tf.config_defaults import apply_presets, base_config


def _theory(config):
    """The theory's own form: patches in R^d and the smoothed-ReLU patch network."""
    config.data.name = "multiview_patches"
    config.model.name = "patch_net"
    config.data.multiview.patch_dim = 64
    config.train.epochs = 10
    config.train.eval_every_epochs = 10


def get_config(arg=None):
    config = base_config("multiview")
    # 12x12 images of 3x3 cells of 4x4 pixels, 4 epochs: under 10 minutes for 5 repeats
    config.data.image_size = 12
    config.data.multiview.num_test = 2000
    config.train.epochs = 4
    config.train.eval_every_epochs = 4
    config.ensemble.num_members = 3
    config.export_saved_models = False  # 30 models; their model.keras files are kept
    config.study = ml_collections.ConfigDict()
    config.study.repeats = 5
    config.study.seed_stride = 100
    tokens = [t.strip() for t in (arg or "").split(",") if t.strip()]
    if "theory" in tokens:
        _theory(config)
    return apply_presets(config, ",".join(t for t in tokens if t != "theory"))
