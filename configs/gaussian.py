r"""Single vs ensemble on Gaussian-like data with random-teacher labels (PAPER.md Figure 3).

  python -m ens_kd_tf.main --config=configs/gaussian.py --workdir=/tmp/gaussian

The 14 settings with Gaussian inputs took 29 min on 2 CPU cores (measured); the whole sweep
(28 settings) was not timed (estimate: about twice that).

Sweeps config.gaussian_sweep (inputs x teachers x samplings x label noise); each setting
trains ensemble.num_members members and scores their ensemble. The expected message: without
multi-view structure the ensemble gains little over a single model. Add the noisy-label rows
with --config.gaussian_sweep.label_noise="(0.0, 0.1)".
"""

import ml_collections

from ens_kd_tf.config_defaults import add_ensemble, apply_presets, base_config
from ens_kd_tf.data.gaussian import TEACHERS


def get_config(arg=None):
    config = base_config("gaussian")
    add_ensemble(config)
    config.data.name = "gaussian_teacher"
    config.model.name = "simple_cnn_6_1"  # the learner with gaussian_sweep.learner="model"
    config.ensemble.num_members = 3
    config.train.epochs = 20
    config.train.batch_size = 128
    config.train.learning_rate = 0.05
    config.export_saved_models = False  # 84 small models; their model.keras files are kept
    config.gaussian_sweep = ml_collections.ConfigDict()
    config.gaussian_sweep.inputs = ("gaussian", "mixture")
    config.gaussian_sweep.teachers = TEACHERS
    config.gaussian_sweep.samplings = ("uniform", "margin")
    config.gaussian_sweep.label_noise = (0.0,)
    # "teacher": each setting's learner has its teacher's architecture (zoo name
    # teacher_<kind>_<learner_width>), so the task is realizable; "model": model.name.
    config.gaussian_sweep.learner = "teacher"
    config.gaussian_sweep.learner_width = 64
    return apply_presets(config, arg)
