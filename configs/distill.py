r"""Knowledge distillation: the ensemble of the members distilled into one fresh model.

Teacher: the members of --config.distill.teacher_workdir (e.g. a configs/ensemble.py run),
or, when it is empty, this run's own members, trained first. Loss: alpha * CE + (1 - alpha) *
T^2 * KL at temperature T (distill.alpha = 0.1, distill.temperature = 4).

Demo (offline, built-in multi-view images):
  python -m ens_kd_tf.main --config=configs/distill.py --workdir=/tmp/distill

Paper protocol, reusing an ensemble run's members:
  python -m ens_kd_tf.main --config=configs/distill.py:cifar100,wrn_28_10,tpu \
      --workdir=gs://BUCKET/kd_c100 --config.distill.teacher_workdir=gs://BUCKET/ens_c100 \
      --config.ensemble.num_members=10

Feature distillation (FitNets-style MSE between the "pool" layers; see README "Distillation"):
  python -m ens_kd_tf.main --config=configs/distill.py --workdir=/tmp/kd_feature \
      --config.distill.soft_loss=feature
Measured here under load from parallel jobs: 30 min 38 s; single 97.30 +- 0.33, ensemble of 5
99.52, feature-KD student 50.28 % (the same members distilled with the default logits loss:
99.52 %).

Teacher outputs: the CIFAR presets augment every epoch, so the teachers run in each step
("on_the_fly", the paper's protocol); the built-in data has no augmentation, so the teacher's
outputs are computed once and reused ("cached", exact).
"""

from ens_kd_tf.config_defaults import add_distill, add_ensemble, apply_presets, base_config


def get_config(arg=None):
    config = base_config("distill")
    add_ensemble(config)
    add_distill(config, teacher_workdir=True)
    return apply_presets(config, arg)
