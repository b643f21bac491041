"""Evidence of multiple views in learned features, as PAPER.md Figure 6 ran it (configs/views.py).

A trained model (member seed `seed` of views.source_workdir; trained here first when that is
empty) is frozen and cut at layer views.layer; its features are cached (view_inputs.py). New
models of the zoo (views.model, e.g. a small CNN as deep as the rest of the network) are then
trained from scratch with the zoo's own trainer (train.py, the config's optimizer and
schedule, views.epochs epochs) on each input: all channels, a 1/s subset of them, or their
averages over groups of g. For each input, views.seeds models differ only in their seed; the
row gives the single models (mean +- sample std, ddof=1) and the ensemble of those models
(logit average), all trained on that SAME input. An extra row per views.disjoint_splits entry s
ensembles one model on each of the s disjoint 1/s parts (together they see every channel; a
different experiment, kept for comparison).

Workdir: features.npz, members/seed_<seed>/ (the frozen model, when trained here),
inputs/<input>/seed_<n>/ (each new model, a resumable train stage), report.md, report.png,
results.json (last).
"""

from __future__ import annotations

import copy
import io
from typing import Dict, List, Sequence

import keras
import numpy as np
from absl import logging

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.errors import UsageError, check_positive
from ens_kd_tf.evaluate import average_logits, evaluate_logits
from ens_kd_tf.experiments.driver import Context, Report
from ens_kd_tf.experiments.views_checks import views_checks
from ens_kd_tf.models import build_model, check_model_name, model_name_forms
from ens_kd_tf.models.layers import Standardize
from ens_kd_tf.report import markdown_table, plain_table
from ens_kd_tf.stages.classifier import model_kwargs, train_classifier, with_seed
from ens_kd_tf.stages.results import TEST_LOGITS
from ens_kd_tf.stages.view_inputs import (ViewInput, cached_features, disjoint_parts,
                                          source_model_results, view_dataset, view_inputs)
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.view_plots import pyplot


def new_model_config(config):
    """The config the new models train with: views.model for views.epochs epochs, the rest
    (optimizer, schedule, batch, weight decay) as the frozen model's."""
    c = copy.deepcopy(config)
    c.unlock()
    c.model.name = config.views.model
    c.train.epochs = config.views.epochs
    c.train.eval_every_epochs = config.views.epochs  # evaluate once, at the end
    c.export_saved_models = False
    c.lock()
    return c


def build_on_features(config, data: ArrayDataset) -> keras.Model:
    """Features [B, ..., c] -> standardised per channel -> zoo model -> logits [B, k]."""
    info = data.info
    keras.utils.set_random_seed(config.seed)
    inputs = keras.Input(info.input_shape, name="features")
    net = build_model(config.model.name, info.num_classes, info.input_shape,
                      **model_kwargs(config))
    logits = net(Standardize(info.mean, info.std, name="standardize")(inputs))
    return keras.Model(inputs, logits, name=f"{config.model.name}_on_features")


def train_on(config, workdir: str, runtime: Runtime, features: dict, data: ArrayDataset,
             view: ViewInput, seeds: Sequence[int]) -> List[np.ndarray]:
    """Trains (or reuses) one new model per seed on `view`; returns their test logits."""
    vdata = view_dataset(features, data, view, config.views.layer)
    logits = []
    for seed in seeds:
        stage = io_utils.join(workdir, "inputs", view.slug, f"seed_{seed}")
        train_classifier(with_seed(config, seed), stage, runtime, vdata, build=build_on_features)
        logits.append(io_utils.read_array(io_utils.join(stage, TEST_LOGITS)))
    return logits


def sample_summary(results: Sequence[dict]) -> Dict[str, object]:
    """Mean and sample std (ddof=1; 0 for one value) of each metric over models' results."""
    out: Dict[str, object] = {}
    for key, value in results[0].items():
        if isinstance(value, dict):
            out[key] = sample_summary([r[key] for r in results])
        else:
            values = np.asarray([r[key] for r in results], np.float64)
            out[key] = {"mean": float(values.mean()),
                        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0}
    return out


def make_row(name: str, kind: str, channels: int, seeds: Sequence[int],
             logits: List[np.ndarray], data: ArrayDataset) -> dict:
    """A table row: the models' single results (mean +- sample std) and their ensemble."""
    singles = [evaluate_logits(lg, data.y_test, data.test_groups) for lg in logits]
    single = sample_summary(singles)
    ensemble = evaluate_logits(average_logits(logits), data.y_test, data.test_groups)
    return {"name": name, "kind": kind, "channels": channels, "models": len(logits),
            "seeds": list(seeds), "single": single, "ensemble": ensemble,
            "gain": ensemble["accuracy"] - single["accuracy"]["mean"]}


def validate_views(views) -> None:
    """Checks config section `views`."""
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


def compose(ctx: Context) -> Report:
    """The whole experiment (resuming: finished models are reused)."""
    config, workdir, runtime, data = ctx.config, ctx.workdir, ctx.runtime, ctx.data
    source, source_results = source_model_results(config, workdir, runtime, data)
    features = cached_features(config, workdir, source, data, runtime)
    channels = int(features["train"].shape[-1])
    new = new_model_config(config)
    seeds = [config.seed + i for i in range(config.views.seeds)]
    rows = []
    for view in view_inputs(channels, config):
        logits = train_on(new, workdir, runtime, features, data, view, seeds)
        rows.append(make_row(view.name, view.kind, view.channels, seeds, logits, data))
        logging.info("views %s: single %s, ensemble %.4f", view.name,
                     rows[-1]["single"]["accuracy"], rows[-1]["ensemble"]["accuracy"])
    for s in config.views.disjoint_splits:
        logits = [train_on(new, workdir, runtime, features, data, part, [config.seed])[0]
                  for part in disjoint_parts(channels, s, config)]
        rows.append(make_row(f"ensemble of the {s} disjoint 1/{s} splits (1 model each)",
                             "disjoint_splits", channels // s, [config.seed] * s, logits,
                             data))
    source_name = source_results.get("model", config.model.name)
    intact = {"name": f"intact {source_name} (seed {config.seed})", "kind": "intact",
              "test": source_results["test"]}
    checks = views_checks(intact, rows)
    header, body = table(intact, rows)
    result = io_utils.json_data({
        "experiment": "views", "layer": config.views.layer, "model": source_name,
        "new_model": config.views.model, "channels": channels, "intact": intact, "rows": rows,
        "predictions": checks, "table": plain_table(header, body), "std": "sample (ddof=1)"})
    return Report(result, report_markdown(config, source_name, channels, header, body, checks),
                  {"report.png": bar_chart(rows, intact["test"]["accuracy"])})


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _pm(summary_: dict) -> str:
    return f"{_pct(summary_['mean'])} +- {_pct(summary_['std'])}"


def table(intact: dict, rows: Sequence[dict]) -> tuple:
    """(header, body) of the result table; single-view columns when the data has them."""
    views_col = "single_view" in intact["test"]
    header = ["input", "channels", "models", "single acc % (mean +- std)", "ensemble acc %",
              "ensemble gain"]
    if views_col:
        header += ["single-view: single / ensemble %"]
    body = [[intact["name"], "-", "1", _pct(intact["test"]["accuracy"]), "-", "-"]
            + (["{} / -".format(_pct(intact["test"]["single_view"]["accuracy"]))]
               if views_col else [])]
    for r in rows:
        # the disjoint row's models saw different inputs: no single-model figure
        same_input = r["kind"] != "disjoint_splits"
        line = [r["name"], str(r["channels"]), str(r["models"]),
                _pm(r["single"]["accuracy"]) if same_input else "-",
                _pct(r["ensemble"]["accuracy"]),
                f"{100 * r['gain']:+.2f}" if same_input else "-"]
        if views_col:
            sv = _pct(r["single"]["single_view"]["accuracy"]["mean"]) if same_input else "-"
            line.append(f"{sv} / {_pct(r['ensemble']['single_view']['accuracy'])}")
        body.append(line)
    return header, body


def report_markdown(config, source_name: str, channels: int, header, body, checks) -> str:
    lines = [f"# Fig. 6: new {config.views.model} models on frozen features of "
             f"{source_name} at {config.views.layer} ({channels} channels)", "",
             f"Each input: {config.views.seeds} new models (seeds {config.seed}..), "
             f"{config.views.epochs} epochs each; single = mean +- sample std (ddof=1), "
             "ensemble = logit average of those models on the same input.", "",
             markdown_table(header, body), "", "## Checks", ""]
    lines += [f"- {'holds' if c['holds'] else 'does NOT hold'}: {c['claim']} ({c['measured']})"
              for c in checks]
    return "\n".join(lines) + "\n"


def bar_chart(rows, intact_accuracy: float) -> bytes:
    """PNG: single (mean +- std) and same-input ensemble accuracy per input; the intact
    model as a dashed line."""
    plt = pyplot()
    rows = [r for r in rows if r["kind"] != "disjoint_splits"]
    fig, ax = plt.subplots(figsize=(1.2 * len(rows) + 2, 3.5))
    xs = np.arange(len(rows))
    ax.bar(xs - 0.2, [100 * r["single"]["accuracy"]["mean"] for r in rows], 0.4,
           yerr=[100 * r["single"]["accuracy"]["std"] for r in rows], label="single model")
    ax.bar(xs + 0.2, [100 * r["ensemble"]["accuracy"] for r in rows], 0.4,
           label="ensemble (same input)")
    ax.axhline(100 * intact_accuracy, color="k", ls="--", lw=1, label="intact model")
    ax.set_xticks(xs, [r["name"] for r in rows])
    ax.set_ylabel("test accuracy %")
    low = min(100 * r["single"]["accuracy"]["mean"] for r in rows)
    ax.set_ylim(max(0.0, low - 10), 100)
    ax.legend(loc="lower left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
