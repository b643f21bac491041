"""The classifier stage: one model trained on the labels, evaluated on the full test set
and exported. Members, same-seed scratch models, joint sums and the views experiment's new
models are all this stage with another `build`."""

from __future__ import annotations

import copy
from typing import Callable, Optional, Sequence

import keras
import numpy as np
from absl import logging

from ens_kd_tf import io_utils, probes, train
from ens_kd_tf.data import ArrayDataset, load_dataset
from ens_kd_tf.data.pipeline import eval_batches, train_batches
from ens_kd_tf.evaluate import evaluate_logits, predict_logits
from ens_kd_tf.export import export_saved_model, save_keras_atomic
from ens_kd_tf.jit_choice import step_gflops
from ens_kd_tf.models import build_classifier, build_model
from ens_kd_tf.optim import l2_coefficient
from ens_kd_tf.stages.results import (EXPORT_DIR, MODEL_FILE, TEST_LOGITS, load_results,
                                      save_results)
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.workdir import write_or_check_config


def load_data(config) -> ArrayDataset:
    """config.data loaded into host memory, logged in one line."""
    data = load_dataset(config.data)
    logging.info("dataset %s: %d train, %d test, %d classes, inputs %s", data.info.name,
                 data.num_train, data.num_test, data.info.num_classes, data.info.input_shape)
    return data


def with_seed(config, seed: int):
    """A copy of `config` with another seed (ensemble members differ only in it)."""
    member = copy.deepcopy(config)
    member.unlock()
    member.seed = seed
    member.lock()
    return member


def model_kwargs(config) -> dict:
    """The zoo builder's keyword arguments: config.model's fields and the L2 coefficient."""
    kwargs = {k: v for k, v in config.model.to_dict().items() if k != "name"}
    kwargs["l2"] = l2_coefficient(config.train)
    return kwargs


def new_classifier(config, data: ArrayDataset, name: str = "") -> keras.Model:
    """A freshly initialised classifier for `data`, seeded by config.seed (call in scope)."""
    info = data.info
    keras.utils.set_random_seed(config.seed)
    return build_classifier(config.model.name, info.num_classes, info.input_shape,
                            info.input_kind, info.mean, info.std, model_name=name,
                            **model_kwargs(config))


def train_step_gflop(config, data: ArrayDataset) -> Optional[float]:
    """Training GFLOP of one step of config.model on `data` at config.train.batch_size
    (conv and dense layers, 3x the forward pass); None if the model cannot be counted."""
    info = data.info
    net = build_model(config.model.name, info.num_classes, info.input_shape,
                      **model_kwargs(config))
    return step_gflops(net, config.train.batch_size)


def plan_for(config, data: ArrayDataset, runtime: Runtime) -> train.FitPlan:
    """The fit plan of config.train on `data` (progress bar per config.runtime.verbose)."""
    return train.make_plan(config.train, data.num_train, runtime, config.runtime.verbose)


def label_stream(config, data: ArrayDataset, plan: train.FitPlan,
                 extras: Sequence[np.ndarray] = (), bank_views: int = 0,
                 view_extras: Sequence[np.ndarray] = ()) -> train.BatchStream:
    """First step -> the (x, y, *extras) training stream: config.seed's order and
    config.data.augment's augmentation (see data/pipeline.train_batches for the extras and
    a fixed bank of `bank_views` augmented views)."""
    aug = config.data.augment

    def batches(first_step: int):
        return train_batches(data, plan.batch_size, config.seed, first_step, aug.crop_padding,
                             aug.flip, extras, bank_views, view_extras)

    return batches


def eval_set(data: ArrayDataset, plan: train.FitPlan,
             extras: Sequence[np.ndarray] = ()):
    """The full test set, (x, y, weight, *extras) batches padded to a static shape."""
    return eval_batches(data.x_test, data.y_test, plan.eval_batch_size, extras)


def fit(model: keras.Model, config, data: ArrayDataset, stage_dir: str, runtime: Runtime,
        plan: train.FitPlan, batches: train.BatchStream, eval_data,
        net: keras.Model) -> dict:
    """train.fit_resumable with the stage's extras: the Phi-curve probe of `net` (the
    network being trained) and the config in TensorBoard."""
    return train.fit_resumable(model, batches, eval_data, stage_dir, runtime, plan,
                               checkpoint_model=net,
                               callbacks=probes.fit_callbacks(config, net, stage_dir),
                               config_dict=config.to_dict())


def finish_classifier(model: keras.Model, data: ArrayDataset, stage_dir: str,
                      runtime: Runtime, eval_batch: int, extra: dict,
                      export: bool = True) -> dict:
    """Evaluates a trained classifier and writes its artifacts (the SavedModel if `export`);
    results.json last."""
    logits = predict_logits(model, data.x_test, eval_batch)
    results = {"test": evaluate_logits(logits, data.y_test, data.test_groups),
               "dataset": data.info.to_json(), **extra}
    if runtime.is_chief:
        io_utils.clean_stale_temporaries(stage_dir)  # what a killed earlier attempt left
        io_utils.write_array_atomic(io_utils.join(stage_dir, TEST_LOGITS), logits)
        save_keras_atomic(model, io_utils.join(stage_dir, MODEL_FILE))
    if runtime.is_chief and export:
        export_saved_model(model, io_utils.join(stage_dir, EXPORT_DIR), data.info.input_shape,
                           data.info.input_kind)
    return save_results(stage_dir, results, runtime)


def train_classifier(config, stage_dir: str, runtime: Runtime, data: ArrayDataset,
                     build: Callable = new_classifier) -> dict:
    """Trains one classifier on `data` in `stage_dir` (resuming), evaluates it, exports it.

    `build(config, data)` makes the model (default: one zoo model seeded by config.seed).
    Returns the stage's results; a completed stage is returned as it is.
    """
    done = load_results(stage_dir)
    if done:
        logging.info("%s is already done", stage_dir)
        return done
    if runtime.is_chief:
        write_or_check_config(stage_dir, config)
    plan = plan_for(config, data, runtime)
    with runtime.strategy.scope():
        model = build(config, data)
        train.compile_classifier(model, config.train, plan, runtime)
    fit_summary = fit(model, config, data, stage_dir, runtime, plan,
                      label_stream(config, data, plan), eval_set(data, plan), model)
    extra = {"model": config.model.name, "seed": config.seed,
             "params": int(sum(v.numpy().size for v in model.trainable_variables)),
             "fit": fit_summary,
             **probes.stage_views(config, model, data, stage_dir, runtime.is_chief)}
    return finish_classifier(model, data, stage_dir, runtime, plan.eval_batch_size, extra,
                             export=config.export_saved_models)
