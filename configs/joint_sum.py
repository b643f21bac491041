r"""Joint sum: L fresh members whose summed logits train end to end as one model
(PAPER.md "train sum of f_l"; joint_sum.reduction="mean" averages instead).

Demo (offline, built-in multi-view images):
  python -m ens_kd_tf.main --config=configs/joint_sum.py --workdir=/tmp/joint_sum

Paper protocol:
  python -m ens_kd_tf.main --config=configs/joint_sum.py:cifar100,wrn_28_10,tpu \
      --workdir=gs://BUCKET/sum_c100 --config.joint_sum.num_members=4
"""

from ens_kd_tf.config_defaults import add_joint_sum, apply_presets, base_config


def get_config(arg=None):
    config = base_config("joint_sum")
    add_joint_sum(config, num_members=5)
    return apply_presets(config, arg)
