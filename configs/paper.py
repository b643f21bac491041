r"""A whole row of PAPER.md Table 1: L members -> ensemble -> joint sum -> KD -> SD.

Built-in data (offline; 4 min 28 s on 2 idle CPU cores, measured: single 97.32 +- 0.27,
ensemble 99.65, sum 95.93, KD 99.38 (+1.75 over its same-seed scratch), SD 99.05 (+1.83) %):
  python -m ens_kd_tf.main --config=configs/paper.py --workdir=/tmp/paper

A paper row (the report puts the paper's own numbers beside ours), e.g. ResNet-28-2 on
CIFAR-100 on a TPU (10 members, a joint sum of 10 as in the paper's table):
  python -m ens_kd_tf.main --config=configs/paper.py:cifar100,wrn_28_2,tpu \
      --workdir=gs://BUCKET/paper_wrn_28_2_c100 --config.ensemble.num_members=10

Stages that are done are skipped on rerun; the stage in progress resumes from its last
checkpoint. Writes results.json, report.md (the paper's layout), report.png, views.png and
saliency.png.
"""

from ens_kd_tf.config_defaults import add_table1_sections, apply_presets, base_config


def get_config(arg=None):
    config = base_config("paper")
    add_table1_sections(config)
    return apply_presets(config, arg)
