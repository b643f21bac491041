"""The distillation stage: a fresh student trained by the Distiller against a frozen teacher
(an ensemble of members for KD, one member for self-distillation)."""

from __future__ import annotations

from typing import Callable, Tuple

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ens_kd_tf import io_utils, probes
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.data.pipeline import augmented_view
from ens_kd_tf.distill import Distiller, describe_soft_loss, make_soft_loss
from ens_kd_tf.errors import UsageError
from ens_kd_tf.evaluate import evaluate_logits, predict_logits
from ens_kd_tf.experiments.stages import (finish_classifier, load_results, new_classifier,
                                          with_seed)
from ens_kd_tf.features import feature_extractor
from ens_kd_tf.optim import make_optimizer
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.train import FitPlan, fit_resumable, make_plan
from ens_kd_tf.workdir import write_or_check_config


def teacher_output_mode(config) -> str:
    """"on_the_fly" or "cached" (see config_defaults: distill.teacher_outputs)."""
    aug = config.data.augment
    augmented = bool(aug.crop_padding or aug.flip) and config.data.name != "multiview_patches"
    mode = config.distill.teacher_outputs
    if config.distill.get("soft_loss", "logits") == "feature":  # the cache holds logits only
        if mode == "cached":
            raise UsageError("distill.teacher_outputs='cached' is not valid with "
                             "distill.soft_loss='feature'; use 'on_the_fly' or 'auto'")
        return "on_the_fly"
    if mode == "auto":
        return "cached" if not augmented or config.distill.teacher_views else "on_the_fly"
    if mode == "cached" and augmented and not config.distill.teacher_views:
        raise UsageError(
            "distill.teacher_outputs='cached' with data augmentation is only exact over a "
            "fixed bank of views; set distill.teacher_views=<V> or use 'on_the_fly'")
    return mode


def soft_loss_label(results: dict) -> str:
    """A table-row suffix naming a non-default soft loss, e.g. " [feature pool -> pool]"."""
    if results.get("soft_loss", "logits") == "logits":
        return ""
    return f" [{results['soft_loss']}: {results.get('feature_layers', '?')}]"


def check_feature_layers(config, data: ArrayDataset) -> None:
    """With distill.soft_loss="feature", fails fast (before any training) when the named
    layers are not in a model of config.model.name (teachers from distill.teacher_workdir
    are checked when they load)."""
    if config.distill.soft_loss != "feature":
        return
    model = new_classifier(config, data)
    feature_extractor(model, config.distill.student_feature_layer,
                      "distill.student_feature_layer")
    feature_extractor(model, config.distill.teacher_feature_layer,
                      "distill.teacher_feature_layer")


def _cached_teacher_logits(config, stage_dir: str, teacher: keras.Model, data: ArrayDataset,
                           plan: FitPlan) -> Tuple[np.ndarray, np.ndarray]:
    """Teacher logits on the training inputs ([N, k], or [N, V, k] over a bank of V views)
    and the test inputs [N_test, k]; stored in the stage dir so a resume skips them.

    `config` is the student's: its seed draws the bank's augmentations, which must be the
    ones the student's training stream shows (train_batches uses the same seed)."""
    path = io_utils.join(stage_dir, "teacher_logits.npz")
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path, "rb") as f:
            stored = np.load(f, allow_pickle=False)
            return stored["train"], stored["test"]
    views = config.distill.teacher_views
    aug = config.data.augment
    if views:
        per_view = []
        for v in range(views):
            ds, n = augmented_view(data, plan.eval_batch_size, config.seed, v,
                                   aug.crop_padding, aug.flip)
            per_view.append(np.asarray(teacher.predict(ds, verbose=0), np.float32)[:n])
        train = np.stack(per_view, axis=1)
    else:
        train = predict_logits(teacher, data.x_train, plan.eval_batch_size)
    test = predict_logits(teacher, data.x_test, plan.eval_batch_size)
    import io

    buf = io.BytesIO()
    np.savez(buf, train=train, test=test)
    io_utils.write_bytes_atomic(path, buf.getvalue())
    return train, test


def distill_stage(config, stage_dir: str, runtime: Runtime, data: ArrayDataset,
                  make_teacher: Callable[[], keras.Model], student_seed: int,
                  teacher_label: str) -> dict:
    """Trains (resuming) a student of seed `student_seed` against `make_teacher()`.

    Returns the student's results, with the teacher's test metrics beside them.
    """
    done = load_results(stage_dir)
    if done:
        return done
    student_config = with_seed(config, student_seed)
    if runtime.is_chief:
        write_or_check_config(stage_dir, student_config)
    plan = make_plan(config.train, data.num_train, runtime)
    mode = teacher_output_mode(config)
    with runtime.strategy.scope():
        teacher = make_teacher()
        teacher.trainable = False
        student = new_classifier(student_config, data)
        soft_loss = make_soft_loss(config.distill)
        distiller = Distiller(student, teacher if mode == "on_the_fly" else None,
                              config.distill.temperature, config.distill.alpha,
                              config.train.label_smoothing, soft_loss=soft_loss,
                              teacher_scale=config.distill.teacher_scale)
        distiller.compile(optimizer=make_optimizer(config.train, plan.per_epoch),
                          jit_compile=runtime.jit_compile,
                          steps_per_execution=plan.steps_per_execution)
    cached_train, cached_test = _cached_teacher_logits(
        student_config, stage_dir, teacher, data, plan) if mode == "cached" else (None, None)
    teacher_test = (cached_test if cached_test is not None
                    else predict_logits(teacher, data.x_test, plan.eval_batch_size))
    logging.info("distilling %s into a fresh student (seed %d), teacher outputs %s",
                 teacher_label, student_seed, mode)
    views = config.distill.teacher_views if mode == "cached" else 0
    fit_summary = fit_resumable(
        distiller, data, student_config, stage_dir, runtime, plan, checkpoint_model=student,
        train_extras=(cached_train,) if mode == "cached" and not views else (),
        view_extras=(cached_train,) if views else (), bank_views=views,
        eval_extras=(teacher_test,))
    extra = {"model": config.model.name, "seed": student_seed, "teacher": teacher_label,
             "teacher_test": evaluate_logits(teacher_test, data.y_test, data.test_groups),
             "temperature": config.distill.temperature, "alpha": config.distill.alpha,
             "soft_loss": config.distill.soft_loss,
             "soft_loss_detail": describe_soft_loss(soft_loss),
             "feature_layers": (f"{config.distill.teacher_feature_layer} -> "
                                f"{config.distill.student_feature_layer}"),
             "teacher_outputs": mode, "fit": fit_summary,
             **probes.stage_views(config, student, data, stage_dir, runtime.is_chief)}
    return finish_classifier(student, data, stage_dir, runtime, plan.eval_batch_size, extra,
                             export=config.export_saved_models)
