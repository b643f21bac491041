"""Building blocks shared by experiments: a stage's results file, data loading, and the
single-classifier training stage that members, joint sums and students reuse."""

from __future__ import annotations

import copy
from typing import Callable, Optional

import keras
import tensorflow as tf
from absl import logging

from ens_kd_tf import io_utils, probes
from ens_kd_tf.data import ArrayDataset, load_dataset
from ens_kd_tf.evaluate import evaluate_logits, predict_logits
from ens_kd_tf.export import export_saved_model, save_keras_atomic
from ens_kd_tf.models import build_classifier
from ens_kd_tf.optim import l2_coefficient
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.train import compile_classifier, fit_resumable, make_plan
from ens_kd_tf.workdir import write_or_check_config

RESULTS = "results.json"
TEST_LOGITS = "test_logits.npy"
MODEL_FILE = "model.keras"
EXPORT_DIR = "export"


def load_results(workdir: str) -> Optional[dict]:
    """The stage's results if it completed (results.json is written last), else None."""
    path = io_utils.join(workdir, RESULTS)
    if not tf.io.gfile.exists(path):
        return None
    try:
        results = io_utils.read_json(path)
    except (ValueError, tf.errors.OpError):
        logging.warning("%s is unreadable; the stage will be redone", path)
        return None
    return results if results.get("complete") else None


def save_results(workdir: str, results: dict, runtime: Runtime) -> dict:
    results = io_utils.json_data(dict(results, complete=True))
    if runtime.is_chief:
        io_utils.write_json_atomic(io_utils.join(workdir, RESULTS), results)
    return results


def with_seed(config, seed: int):
    """A copy of `config` with another seed (ensemble members differ only in it)."""
    member = copy.deepcopy(config)
    member.unlock()
    member.seed = seed
    member.lock()
    return member


def model_kwargs(config) -> dict:
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


def finish_classifier(model: keras.Model, data: ArrayDataset, workdir: str, runtime: Runtime,
                      eval_batch: int, extra: dict, export: bool = True) -> dict:
    """Evaluates a trained classifier and writes its artifacts (the SavedModel if `export`);
    results.json last."""
    logits = predict_logits(model, data.x_test, eval_batch)
    results = {"test": evaluate_logits(logits, data.y_test, data.test_groups),
               "dataset": data.info.to_json(), **extra}
    if runtime.is_chief:
        io_utils.clean_stale_temporaries(workdir)  # what a killed earlier attempt left
        io_utils.write_array_atomic(io_utils.join(workdir, TEST_LOGITS), logits)
        save_keras_atomic(model, io_utils.join(workdir, MODEL_FILE))
    if runtime.is_chief and export:
        export_saved_model(model, io_utils.join(workdir, EXPORT_DIR), data.info.input_shape,
                           data.info.input_kind)
    return save_results(workdir, results, runtime)


def train_classifier(config, workdir: str, runtime: Runtime, data: ArrayDataset,
                     build: Callable = new_classifier) -> dict:
    """Trains one classifier on `data` in `workdir` (resuming), evaluates it, exports it.

    `build(config, data)` makes the model (default: one zoo model seeded by config.seed).
    Returns the stage's results; a completed stage is returned as it is.
    """
    done = load_results(workdir)
    if done:
        logging.info("%s is already done", workdir)
        return done
    if runtime.is_chief:
        write_or_check_config(workdir, config)
    plan = make_plan(config.train, data.num_train, runtime)
    with runtime.strategy.scope():
        model = build(config, data)
        compile_classifier(model, config.train, plan, runtime)
    fit_summary = fit_resumable(model, data, config, workdir, runtime, plan)
    extra = {"model": config.model.name, "seed": config.seed,
             "params": int(sum(v.numpy().size for v in model.trainable_variables)),
             "fit": fit_summary,
             **probes.stage_views(config, model, data, workdir, runtime.is_chief)}
    return finish_classifier(model, data, workdir, runtime, plan.eval_batch_size, extra,
                             export=config.export_saved_models)


def load_data(config) -> ArrayDataset:
    data = load_dataset(config.data)
    logging.info("dataset %s: %d train, %d test, %d classes, inputs %s", data.info.name,
                 data.num_train, data.num_test, data.info.num_classes, data.info.input_shape)
    return data
