"""Validates a config once, before any work, with errors that name the field, the bad value
and the valid choices."""

from __future__ import annotations

from ens_kd_tf.errors import UsageError, check_choice, check_positive


def _check_fraction(field: str, value: float, upper_open: bool = True) -> None:
    ok = 0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0
    if not ok:
        bound = "[0, 1)" if upper_open else "[0, 1]"
        raise UsageError(f"{field}={value!r} is not valid; it must be in {bound}")


def validate_train(train) -> None:
    from ens_kd_tf.optim import OPTIMIZERS, SCHEDULES, WEIGHT_DECAY_MODES

    check_choice("train.optimizer", train.optimizer, OPTIMIZERS)
    check_choice("train.schedule", train.schedule, SCHEDULES)
    check_choice("train.weight_decay_mode", train.weight_decay_mode, WEIGHT_DECAY_MODES)
    for field in ("epochs", "batch_size", "learning_rate", "steps_per_execution",
                  "keep_checkpoints", "eval_every_epochs"):
        check_positive(f"train.{field}", getattr(train, field))
    for field in ("weight_decay", "checkpoint_every_steps", "eval_batch_size",
                  "warmup_epochs", "momentum"):
        check_positive(f"train.{field}", getattr(train, field), allow_zero=True)
    _check_fraction("train.label_smoothing", train.label_smoothing)
    points = tuple(train.lr_decay_at)
    if not all(isinstance(p, (int, float)) and 0 < p < 1 for p in points) or \
            list(points) != sorted(points):
        raise UsageError(f"train.lr_decay_at={points!r} is not valid; it must be increasing "
                         "fractions of the run in (0, 1), e.g. (0.3, 0.6, 0.8)")


def validate_runtime(runtime) -> None:
    from ens_kd_tf.strategy import JIT_CHOICES, PRECISIONS, STRATEGIES

    check_choice("runtime.strategy", runtime.strategy, STRATEGIES)
    check_choice("runtime.mixed_precision", runtime.mixed_precision, PRECISIONS)
    check_choice("runtime.jit_compile", runtime.jit_compile, JIT_CHOICES)
    check_choice("runtime.verbose", runtime.verbose, (0, 1, 2))
    check_positive("runtime.num_cpu_devices", runtime.num_cpu_devices)


def validate_data(data) -> None:
    from ens_kd_tf.data import dataset_names

    check_choice("data.name", data.name, dataset_names())
    check_positive("data.augment.crop_padding", data.augment.crop_padding, allow_zero=True)
    check_positive("data.image_size", data.image_size, allow_zero=True)
    if data.name == "multiview_images":  # 0 ("keep the size") means nothing here
        patch = data.multiview.patch_size
        check_positive("data.multiview.patch_size", patch)
        if data.image_size <= 0 or data.image_size % patch:
            raise UsageError(
                f"data.image_size={data.image_size!r} is not valid for multiview_images; it "
                f"must be a positive multiple of data.multiview.patch_size={patch} (e.g. "
                f"{4 * patch})")


def validate_model(model) -> None:
    from ens_kd_tf.models import check_model_name

    check_model_name(model.name)
    _check_fraction("model.dropout_rate", model.dropout_rate)


def validate_ensembles(config) -> None:
    from ens_kd_tf.distill import check_distill_params, check_soft_loss
    from ens_kd_tf.ensemble import ENSEMBLE_REDUCTIONS, JOINT_REDUCTIONS

    check_positive("ensemble.num_members", config.ensemble.num_members)
    check_choice("ensemble.reduction", config.ensemble.reduction, ENSEMBLE_REDUCTIONS)
    check_positive("joint_sum.num_members", config.joint_sum.num_members, allow_zero=True)
    check_choice("joint_sum.reduction", config.joint_sum.reduction, JOINT_REDUCTIONS)
    check_distill_params(config.distill.temperature, config.distill.alpha,
                         config.distill.teacher_scale)
    check_choice("distill.teacher_outputs", config.distill.teacher_outputs,
                 ("auto", "on_the_fly", "cached"))
    check_positive("distill.teacher_views", config.distill.teacher_views, allow_zero=True)
    check_soft_loss(config.distill)
    if config.distill.soft_loss == "feature" and config.distill.teacher_outputs == "cached":
        raise UsageError("distill.teacher_outputs='cached' is not valid with "
                         "distill.soft_loss='feature' (the cache holds logits only); use "
                         "'on_the_fly' or 'auto'")


def validate_sweep(sweep) -> None:
    from ens_kd_tf.data.gaussian import INPUTS, SAMPLINGS, TEACHERS

    for field, allowed in (("inputs", INPUTS), ("teachers", TEACHERS),
                           ("samplings", SAMPLINGS)):
        values = tuple(getattr(sweep, field))
        if not values:
            raise UsageError(f"gaussian_sweep.{field} is empty; choose from {list(allowed)}")
        for value in values:
            check_choice(f"gaussian_sweep.{field} entry", value, allowed)
    for noise in sweep.label_noise:
        _check_fraction("gaussian_sweep.label_noise entry", noise)
    check_choice("gaussian_sweep.learner", sweep.learner, ("teacher", "model"))
    check_positive("gaussian_sweep.learner_width", sweep.learner_width)


def validate_config(config) -> None:
    """Checks every section the config has; raises UsageError on the first bad field."""
    from ens_kd_tf.experiments import EXPERIMENTS

    check_choice("experiment", config.experiment, sorted(EXPERIMENTS))
    validate_model(config.model)
    validate_data(config.data)
    validate_train(config.train)
    validate_runtime(config.runtime)
    validate_ensembles(config)
    if "gaussian_sweep" in config:
        validate_sweep(config.gaussian_sweep)
    if config.member >= config.ensemble.num_members or config.member < -1:
        raise UsageError(f"member={config.member} is not valid; choose -1 (every member) or "
                         f"0 .. ensemble.num_members - 1 = {config.ensemble.num_members - 1}")
    if "study" in config:
        check_positive("study.repeats", config.study.repeats)
        check_positive("study.seed_stride", config.study.seed_stride)
    if "views" in config:
        validate_views(config.views)


def validate_views(views) -> None:
    from ens_kd_tf.models import check_model_name, model_name_forms

    for field in ("seeds", "epochs"):
        check_positive(f"views.{field}", getattr(views, field))
    for field in ("splits", "groups", "disjoint_splits"):
        for value in getattr(views, field):
            if not isinstance(value, int) or int(value) < 2:
                raise UsageError(f"views.{field} entry {value!r} is not valid; entries must "
                                 "be integers >= 2")
    if not views.layer:
        raise UsageError("views.layer is empty; name the layer to cut the model at (e.g. "
                         "stage3_relu1 for simple_cnn, group2_block1_add for wrn)")
    try:
        check_model_name(views.model)
    except UsageError:
        raise UsageError(f"views.model={views.model!r} is not a model of the zoo; valid "
                         f"forms: {', '.join(model_name_forms())}") from None
