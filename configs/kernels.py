r"""A row of PAPER.md Table 2: single, ensemble, sum, KD and SD for a neural-kernel model.

Built-in data (offline; about 10 min on 2 CPU cores, measured):
  python -m ens_kd_tf.main --config=configs/kernels.py --workdir=/tmp/kernels

A paper row (the report puts the paper's Table 2 figures beside ours), e.g. ResNet10-2-NTK on
CIFAR-10:
  python -m ens_kd_tf.main --config=configs/kernels.py:cifar10 --workdir=/tmp/k_c10 \
      --config.model.name=resnet10_2_ntk --config.ensemble.num_members=10

Any zoo name with the suffix _ntk (linearized at init), _ntkp (the same in the NTK
parameterisation) or _gp (only the last layer trained) is a kernel model; see
ens_kd_tf/kernels.py. The pipeline is the one of configs/paper.py. Expected message
(PAPER.md): the ensemble helps but training the sum helps as much, and neither KD nor SD
beats a single model.
"""

from ens_kd_tf.config_defaults import apply_presets, base_config


def get_config(arg=None):
    config = base_config("paper")
    config.model.name = "simple_cnn_6_1_ntk"
    config.ensemble.num_members = 3
    config = apply_presets(config, arg)
    if "cifar" in config.data.name:
        config.model.name = "simple_cnn_10_3_ntk"  # a Table 2 row; override as needed
    return config
