"""The configuration every experiment shares, the sections experiments add, and the
presets configs/*.py accept.

Each configs/<name>.py calls `base_config(<experiment>)` (model, data, train, runtime), adds
the sections its experiment reads (`add_ensemble`, `add_joint_sum`, `add_distill`, ...),
sets its own defaults (which run offline on the built-in multi-view images in minutes) and
applies the presets named in its argument: `--config=configs/single.py:cifar100,wrn_28_10,tpu`.
Any field the config has can then be overridden with `--config.<path>=<value>`; a field of
a section the experiment does not read is an error, not silently ignored.
"""

from __future__ import annotations

from typing import Callable, List, Mapping, Optional, Sequence

import ml_collections

from ens_kd_tf.errors import UsageError, closest


def base_config(experiment: str) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.experiment = experiment
    c.seed = 0  # model init and data order; member i of an ensemble uses seed + i
    c.force = False  # resume even if the workdir's config.json differs from this config
    c.export_saved_models = True  # export/ SavedModel of every trained model and ensemble

    c.model = ml_collections.ConfigDict()
    c.model.name = "simple_cnn_6_1"
    c.model.dropout_rate = 0.0  # wrn, simple_cnn
    c.model.sync_batchnorm = True  # batch statistics over all replicas (wrn, simple_cnn)
    c.model.batchnorm = True  # wrn, simple_cnn
    c.model.neurons_per_class = 8  # patch_net: m
    c.model.relu_threshold = 0.1  # patch_net: smoothed-ReLU threshold r
    c.model.relu_power = 3.0  # patch_net: smoothed-ReLU power q
    c.model.init_scale = 0.1  # patch_net: init std = init_scale / sqrt(d)

    c.data = ml_collections.ConfigDict()
    c.data.name = "multiview_images"
    c.data.data_dir = ""  # TFDS data_dir ("" = ~/tensorflow_datasets); may be gs://
    c.data.download = True  # let TFDS download when the data is not prepared yet
    c.data.path = ""  # npz file or image folder
    c.data.image_size = 16  # multiview_images size; image_folder resize (0 = keep)
    c.data.augment = ml_collections.ConfigDict()
    c.data.augment.crop_padding = 0  # pixels of zero padding before a random crop
    c.data.augment.flip = False  # random horizontal flip
    c.data.multiview = multiview_defaults()
    c.data.gaussian = gaussian_defaults()

    c.train = ml_collections.ConfigDict()
    c.train.epochs = 10
    c.train.batch_size = 64  # global: over all replicas and workers
    c.train.eval_batch_size = 0  # 0 = batch_size
    c.train.optimizer = "sgd"
    c.train.learning_rate = 0.05
    c.train.momentum = 0.9
    c.train.nesterov = True
    c.train.schedule = "cosine"
    c.train.lr_decay_at = (0.3, 0.6, 0.8)  # step schedule, fractions of the run
    c.train.lr_decay_factor = 0.2
    c.train.warmup_epochs = 0.0
    c.train.weight_decay = 5e-4
    c.train.weight_decay_mode = "l2"
    c.train.label_smoothing = 0.0
    c.train.steps_per_execution = 1
    c.train.checkpoint_every_steps = 0  # 0 = at the end of every epoch only
    c.train.keep_checkpoints = 3
    c.train.eval_every_epochs = 1
    c.train.deterministic = False  # tf.config.experimental.enable_op_determinism()

    c.runtime = ml_collections.ConfigDict()
    c.runtime.strategy = "auto"
    c.runtime.tpu = "local"  # TPU name or grpc:// address; "local" on a Cloud TPU VM
    c.runtime.num_cpu_devices = 1  # logical CPU devices (multi-replica tests on CPU)
    # "auto": mixed_bfloat16 on TPUs, and on CPUs with bf16 units for models whose train
    # step is large enough to gain from it (strategy.auto_precision); float32 elsewhere.
    c.runtime.mixed_precision = "auto"
    c.runtime.jit_compile = "auto"
    c.runtime.verbose = 1  # Keras progress bar: 0 silent, 1 bar, 2 one line per epoch
    return c


def add_ensemble(c: ml_collections.ConfigDict, member: bool = False) -> None:
    """Section `ensemble` (and, with `member`, the top-level field `member`)."""
    c.ensemble = ml_collections.ConfigDict()
    c.ensemble.num_members = 5  # L: members are seeds seed, seed + 1, ..., seed + L - 1
    c.ensemble.reduction = "logits"  # average "logits" (the paper) or "probs"
    if member:
        c.member = -1  # -1 = every member; i = member i only (parallel machines)


def add_joint_sum(c: ml_collections.ConfigDict, num_members: int = 0) -> None:
    """Section `joint_sum`; num_members 0 = ensemble.num_members (configs with both)."""
    c.joint_sum = ml_collections.ConfigDict()
    c.joint_sum.num_members = num_members
    c.joint_sum.reduction = "sum"  # "sum" of the members' logits (the paper) or "mean"


def add_distill(c: ml_collections.ConfigDict, teacher_workdir: bool = False) -> None:
    """Section `distill` (with `teacher_workdir`, the field KD reads its members from)."""
    c.distill = ml_collections.ConfigDict()
    c.distill.temperature = 4.0
    c.distill.alpha = 0.1  # weight of the hard-label loss; 1 - alpha on the soft term
    # Soft term: "logits" (the paper: T^2 * KL of the tempered softmaxes) or "feature"
    # (FitNets-style: keras.distillation.FeatureDistillation, MSE between the outputs of
    # the two named layers; "pool" = last block, globally pooled, in wrn_* / simple_cnn_*;
    # an ensemble teacher gives its members' average at that layer; teacher on the fly).
    c.distill.soft_loss = "logits"
    c.distill.teacher_feature_layer = "pool"
    c.distill.student_feature_layer = "pool"
    c.distill.teacher_scale = 1.0  # factor on the teacher's logits (L = sum of L members)
    # Teacher outputs: "on_the_fly" (teacher forward in each step, fresh augmentations),
    # "cached" (computed once; exact without augmentation, or over a bank of
    # distill.teacher_views augmented views), "auto" (cached when exact, else on the fly).
    c.distill.teacher_outputs = "auto"
    c.distill.teacher_views = 0
    if teacher_workdir:
        c.distill.teacher_workdir = ""  # members/ of this workdir ("" = this run's own)


def add_table1_sections(c: ml_collections.ConfigDict) -> None:
    """What a Table 1 row reads: ensemble, joint_sum (of ensemble.num_members), distill."""
    add_ensemble(c)
    add_joint_sum(c)
    add_distill(c)


def all_sections_defaults() -> ml_collections.ConfigDict:
    """Every field any experiment has, at its default (workdir.py: a field a workdir's
    config.json lacks counts as this default)."""
    c = base_config("")
    add_ensemble(c, member=True)
    add_joint_sum(c)
    add_distill(c, teacher_workdir=True)
    return c


def multiview_defaults() -> ml_collections.ConfigDict:
    """Constants of data/multiview.py (see its docstring)."""
    mv = ml_collections.ConfigDict()
    mv.num_classes = 10
    mv.num_patches = 16  # multiview_patches only (images: (image_size / patch_size)^2)
    mv.patch_dim = 64  # multiview_patches only (images: patch_size^2 * 3)
    mv.patch_size = 4  # multiview_images: pixels per grid cell
    mv.contrast = 40.0  # multiview_images: RMS grey levels of a weight-1 view
    mv.single_view_prob = 0.2  # mu
    mv.view_patches = 1
    mv.strength_jitter = 0.0
    mv.weak_view_weight = 0.1  # rho
    mv.offclass_features = 2
    mv.offclass_weight = 0.2
    mv.noise_norm = 0.8
    mv.num_train = 2000
    mv.num_test = 4000
    mv.seed = 0  # the data's seed, fixed across ensemble members
    return mv


def gaussian_defaults() -> ml_collections.ConfigDict:
    """Constants of data/gaussian.py (see its docstring)."""
    g = ml_collections.ConfigDict()
    g.teacher = "resconv3"  # linear, fc2, fc3, res3, conv2, conv3, resconv3
    g.input = "gaussian"  # or "mixture"
    g.sampling = "uniform"  # or "margin" (rejection sampling)
    g.label_noise = 0.0  # fraction of training labels replaced
    g.num_classes = 10
    g.image_size = 4
    g.channels = 1
    g.teacher_width = 64
    g.components = 20  # mixture components
    g.mixture_spread = 0.5  # component mean norm / sqrt(dim)
    g.margin_quantile = 0.5  # "margin": keep draws above this quantile of the margin
    g.num_train = 10000
    g.num_test = 2000
    g.seed = 0
    return g


def _cifar(c: ml_collections.ConfigDict, name: str) -> None:
    """The paper's protocol (PAPER.md "Protocol defaults")."""
    c.data.name = name
    c.data.augment.crop_padding = 4
    c.data.augment.flip = True
    c.model.name = "wrn_28_10"
    c.train.epochs = 200
    c.train.batch_size = 128
    c.train.optimizer = "sgd"
    c.train.learning_rate = 0.1
    c.train.momentum = 0.9
    c.train.nesterov = True
    c.train.schedule = "step"
    c.train.lr_decay_at = (0.3, 0.6, 0.8)
    c.train.lr_decay_factor = 0.2
    c.train.weight_decay = 5e-4
    c.train.weight_decay_mode = "l2"
    c.train.checkpoint_every_steps = 1000


def _tpu(c: ml_collections.ConfigDict) -> None:
    c.runtime.strategy = "tpu"
    c.runtime.mixed_precision = "mixed_bfloat16"
    c.train.steps_per_execution = 50


def _gpu(c: ml_collections.ConfigDict) -> None:
    c.runtime.strategy = "gpu"
    c.runtime.mixed_precision = "mixed_float16"


PRESETS = {
    "cifar10": lambda c: _cifar(c, "cifar10"),
    "cifar100": lambda c: _cifar(c, "cifar100"),
    "tpu": _tpu,
    "gpu": _gpu,
}


def preset_tokens(arg: str | None) -> List[str]:
    """"cifar100, wrn_28_2" -> ["cifar100", "wrn_28_2"]."""
    return [t.strip() for t in (arg or "").split(",") if t.strip()]


def preset_model_name(arg: str | None,
                      own: Optional[Mapping[str, Callable]] = None) -> str:
    """The zoo model named among the presets of `arg` (the last one), or "" if none."""
    named = {**PRESETS, **(own or {})}
    models = [t for t in preset_tokens(arg) if t not in named]
    return models[-1] if models else ""


def _check_model_preset(token: str, names: Sequence[str]) -> None:
    # lazy: the zoo imports Keras, which a preset-free config never needs (fast CLI errors)
    from ens_kd_tf.models import EXAMPLE_NAMES, check_model_name, model_name_forms

    try:
        check_model_name(token)
    except UsageError:
        near = closest(token, [*names, *EXAMPLE_NAMES])
        raise UsageError(
            f"config preset {token!r} is not valid; "
            f"{'did you mean ' + ' or '.join(near) + '? ' if near else ''}choose from "
            f"{sorted(names)} or a zoo model name ({', '.join(model_name_forms())})"
        ) from None


def apply_presets(c: ml_collections.ConfigDict, arg: str | None,
                  own: Optional[Mapping[str, Callable]] = None) -> ml_collections.ConfigDict:
    """Applies comma-separated presets: names from PRESETS or from the config file's `own`
    presets (e.g. multiview's "theory"), in the order given, then a zoo model name (e.g.
    "wrn_28_2"), which sets model.name wherever it stands (after a dataset preset's
    default network)."""
    named = {**PRESETS, **(own or {})}
    tokens = preset_tokens(arg)
    for token in tokens:
        if token in named:
            named[token](c)
        else:
            _check_model_preset(token, list(named))
    model = preset_model_name(arg, own)
    if model:
        c.model.name = model
    return c
