"""The distillation stage: a fresh student trained by the Distiller against a frozen teacher
(an ensemble of members for KD in <workdir>/kd/, one member for self-distillation in
<workdir>/sd/), and the students' table rows beside their same-seed scratch models."""

from __future__ import annotations

from typing import Callable, Sequence

import keras
from absl import logging

from ens_kd_tf import io_utils, probes
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.distiller import (Distiller, check_distill_params, check_soft_loss,
                                 describe_soft_loss, make_soft_loss)
from ens_kd_tf.ensemble import build_ensemble
from ens_kd_tf.errors import UsageError, check_choice, check_positive
from ens_kd_tf.evaluate import evaluate_logits, predict_logits
from ens_kd_tf.features import feature_extractor
from ens_kd_tf.optim import make_optimizer
from ens_kd_tf.stages.classifier import (finish_classifier, fit, new_classifier, plan_for,
                                         with_seed)
from ens_kd_tf.stages.members import load_member_models
from ens_kd_tf.stages.results import load_results
from ens_kd_tf.stages.scratch import same_seed_scratch, scratch_row, student_row
from ens_kd_tf.stages.teacher_outputs import (MODES, cached_teacher_logits, student_streams,
                                              teacher_output_mode)
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.workdir import write_or_check_config


def validate_distill(distill) -> None:
    """Checks config section `distill`."""
    check_distill_params(distill.temperature, distill.alpha, distill.teacher_scale)
    check_choice("distill.teacher_outputs", distill.teacher_outputs, MODES)
    check_positive("distill.teacher_views", distill.teacher_views, allow_zero=True)
    check_soft_loss(distill)
    if distill.soft_loss == "feature" and distill.teacher_outputs == "cached":
        raise UsageError("distill.teacher_outputs='cached' is not valid with "
                         "distill.soft_loss='feature' (the cache holds logits only); use "
                         "'on_the_fly' or 'auto'")


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


def _distiller(config, student: keras.Model, teacher, mode: str, plan,
               runtime: Runtime) -> Distiller:
    d = config.distill
    distiller = Distiller(student, teacher if mode == "on_the_fly" else None, d.temperature,
                          d.alpha, config.train.label_smoothing, soft_loss=make_soft_loss(d),
                          teacher_scale=d.teacher_scale)
    distiller.compile(optimizer=make_optimizer(config.train, plan.per_epoch),
                      jit_compile=runtime.jit_compile,
                      steps_per_execution=plan.steps_per_execution)
    return distiller


def distill_stage(config, stage_dir: str, runtime: Runtime, data: ArrayDataset,
                  make_teacher: Callable[[], keras.Model], student_seed: int,
                  teacher_label: str) -> dict:
    """Trains (resuming) a student of seed `student_seed` against `make_teacher()`.

    Returns the student's results, with the teacher's test metrics and the distillation
    settings beside them.
    """
    done = load_results(stage_dir)
    if done:
        return done
    student_config = with_seed(config, student_seed)
    if runtime.is_chief:
        write_or_check_config(stage_dir, student_config)
    plan = plan_for(config, data, runtime)
    mode = teacher_output_mode(config)
    with runtime.strategy.scope():
        teacher = make_teacher()
        teacher.trainable = False
        student = new_classifier(student_config, data)
        distiller = _distiller(config, student, teacher, mode, plan, runtime)
    cached_train, teacher_test = (
        cached_teacher_logits(student_config, stage_dir, teacher, data, plan)
        if mode == "cached" else (None, predict_logits(teacher, data.x_test,
                                                       plan.eval_batch_size)))
    logging.info("distilling %s into a fresh student (seed %d), teacher outputs %s",
                 teacher_label, student_seed, mode)
    batches, eval_data = student_streams(student_config, data, plan, mode, cached_train,
                                         teacher_test)
    fit_summary = fit(distiller, student_config, data, stage_dir, runtime, plan, batches,
                      eval_data, student)
    d = config.distill
    extra = {"model": config.model.name, "seed": student_seed, "teacher": teacher_label,
             "teacher_test": evaluate_logits(teacher_test, data.y_test, data.test_groups),
             "temperature": d.temperature, "alpha": d.alpha, "soft_loss": d.soft_loss,
             "soft_loss_detail": describe_soft_loss(distiller.soft_loss),
             "feature_layers": f"{d.teacher_feature_layer} -> {d.student_feature_layer}",
             "teacher_scale": d.teacher_scale, "teacher_outputs": mode, "fit": fit_summary,
             **probes.stage_views(config, student, data, stage_dir, runtime.is_chief)}
    return finish_classifier(student, data, stage_dir, runtime, plan.eval_batch_size, extra,
                             export=config.export_saved_models)


def kd_stage(config, workdir: str, member_root: str, seeds: Sequence[int], runtime: Runtime,
             data: ArrayDataset) -> dict:
    """KD in <workdir>/kd/: the ensemble of members `seeds` of `member_root` distilled into
    a student of seed + ensemble.num_members (a seed no member has)."""
    def make_teacher():
        models, names = load_member_models(member_root, seeds)
        return build_ensemble(models, config.ensemble.reduction, names)

    return distill_stage(config, io_utils.join(workdir, "kd"), runtime, data, make_teacher,
                         config.seed + config.ensemble.num_members,
                         f"ensemble of {len(seeds)} ({config.ensemble.reduction} average)")


def sd_stage(config, workdir: str, runtime: Runtime, data: ArrayDataset) -> dict:
    """SD in <workdir>/sd/: member seed s distilled into a student of seed s + 1."""
    teacher_seed = config.seed
    return distill_stage(config, io_utils.join(workdir, "sd"), runtime, data,
                         lambda: load_member_models(workdir, [teacher_seed])[0][0],
                         config.seed + 1, f"single model (seed {teacher_seed})")


def student_rows(config, workdir: str, runtime: Runtime, data: ArrayDataset, kind: str,
                 student: dict) -> list:
    """A KD ("kd") or SD ("sd") student's row, with its gain, and its same-seed scratch row
    (the workdir's member of that seed when there is one, else trained in scratch/)."""
    scratch = same_seed_scratch(config, workdir, runtime, data, student["seed"])
    name = ("KD student (ensemble teacher)" if kind == "kd" else "self-distilled student")
    return [student_row(name + soft_loss_label(student), kind, student, scratch,
                        distillation=distillation_settings(student)),
            scratch_row(scratch, kind)]


def distillation_settings(student: dict) -> dict:
    """The settings a student was distilled with, as its stage recorded them (the report's
    notes read them from here; a stage written before a field existed lacks it)."""
    keys = ("temperature", "alpha", "soft_loss", "teacher_scale", "teacher_outputs")
    return {k: student[k] for k in keys if k in student}
