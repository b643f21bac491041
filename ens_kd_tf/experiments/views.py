"""Evidence of multiple views in learned features (PAPER.md Figure 6, configs/views.py).

A trained model (member seed `seed` of views.source_workdir; trained here first when that is
empty) is frozen and cut at layer views.layer. Its features on the train and test sets are
computed once and cached in <workdir>/features.npz. Small new heads are then trained on:
  all        every channel (views.heads seeds);
  split 1/s  s disjoint random channel subsets of 1/s of the channels, one head each;
  avg g      channels averaged over consecutive groups of g (views.heads seeds).
Each variant reports its single heads (mean +- std) and the ensemble of its heads (logit
average). If a fraction of the channels, or a coarse average of them, still classifies well
and ensembling heads on different subsets adds accuracy, the features hold several views.
"""

from __future__ import annotations

from typing import List

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ens_kd_tf import io_utils
from ens_kd_tf.errors import UsageError
from ens_kd_tf.evaluate import average_logits, evaluate_logits, summarize_members
from ens_kd_tf.experiments import summary
from ens_kd_tf.experiments.members import load_member_models, require_members, train_members
from ens_kd_tf.experiments.stages import load_data
from ens_kd_tf.report import markdown_table, plain_table
from ens_kd_tf.strategy import Runtime

FEATURES = "features.npz"


def feature_extractor(model: keras.Model, layer: str) -> keras.Model:
    """raw inputs -> the output of `layer` (searched in the model and its nested models)."""
    nested = [m for m in model.layers if isinstance(m, keras.Model)]
    for net in nested + [model]:
        names = [x.name for x in net.layers]
        if layer in names:
            trunk = keras.Model(net.inputs, net.get_layer(layer).output)
            if net is model:
                return trunk
            inputs = keras.Input(model.inputs[0].shape[1:])
            x = inputs
            for pre in model.layers[1:model.layers.index(net)]:
                x = pre(x)  # e.g. the classifier's Standardize
            return keras.Model(inputs, trunk(x))
    names = [x.name for net in nested + [model] for x in net.layers
             if len(x.output.shape) >= 2 and not isinstance(x, keras.layers.InputLayer)]
    raise UsageError(f"views.layer={layer!r} is not a layer of the model; choose from "
                     f"{names}")


def cached_features(config, workdir: str, runtime: Runtime, data) -> dict:
    """{"train": [N, ...], "test": [M, ...]} features, computed once and kept on disk."""
    path = io_utils.join(workdir, FEATURES)
    if tf.io.gfile.exists(path):
        return io_utils.read_arrays(path)
    source = config.views.source_workdir or workdir
    if not config.views.source_workdir:
        train_members(config, workdir, runtime, data, [config.seed])
    seed = require_members(source, data, [config.seed])[0]
    model = load_member_models(source, [seed])[0][0]
    trunk = feature_extractor(model, config.views.layer)
    batch = config.train.batch_size
    features = {"train": trunk.predict(data.x_train, batch_size=batch, verbose=0),
                "test": trunk.predict(data.x_test, batch_size=batch, verbose=0)}
    if runtime.is_chief:
        io_utils.write_arrays_atomic(path, features)
    logging.info("cached %s features %s", config.views.layer, features["train"].shape[1:])
    return features


def variants(channels: int, config) -> List[tuple]:
    """(name, [channel index arrays, one per head] or group size) for every variant."""
    rng = np.random.default_rng(config.seed)
    out = [("all", [np.arange(channels)] * config.views.heads, 1)]
    for s in config.views.splits:
        if channels % s:
            raise UsageError(f"views.splits entry {s} does not divide the {channels} "
                             f"channels of layer {config.views.layer!r}")
        perm = rng.permutation(channels)
        out.append((f"split 1/{s}", list(perm.reshape(s, -1)), 1))
    for g in config.views.groups:
        if channels % g:
            raise UsageError(f"views.groups entry {g} does not divide the {channels} "
                             f"channels of layer {config.views.layer!r}")
        out.append((f"avg {g}", [np.arange(channels)] * config.views.heads, g))
    return out


def _select(x: np.ndarray, index: np.ndarray, group: int) -> np.ndarray:
    x = x[..., index]
    if group > 1:
        x = x.reshape(x.shape[:-1] + (-1, group)).mean(-1)
    return x


def head(input_shape, num_classes: int, width: int) -> keras.Model:
    """A small head: [conv3x3 | dense](width) + ReLU, global average pool, dense."""
    inputs = keras.Input(input_shape)
    if len(input_shape) == 3:
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(inputs)
        x = keras.layers.GlobalAveragePooling2D()(x)
    else:
        x = keras.layers.Dense(width, activation="relu")(inputs)
        if len(input_shape) == 2:
            x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, dtype="float32")(x))


def train_head(config, runtime: Runtime, x_train, y_train, x_test, seed: int) -> np.ndarray:
    """Trains one head; returns its test logits [M, k]."""
    keras.utils.set_random_seed(seed)
    v = config.views
    with runtime.strategy.scope():
        model = head(x_train.shape[1:], int(y_train.max()) + 1, v.head_width)
        model.compile(keras.optimizers.Adam(v.learning_rate),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=runtime.jit_compile)
    model.fit(x_train, y_train, batch_size=config.train.batch_size, epochs=v.epochs,
              verbose=0, shuffle=True)
    return model.predict(x_test, batch_size=config.train.batch_size, verbose=0)


def table(rows) -> tuple:
    header = ("features", "channels", "heads", "single acc %", "ensemble acc %")
    body = [[r["name"], str(r["channels"]), str(r["heads"]),
             f"{100 * r['single']['mean']:.2f} +- {100 * r['single']['std']:.2f}",
             f"{100 * r['ensemble']:.2f}"] for r in rows]
    return header, body


def run(config, workdir: str, runtime: Runtime) -> dict:
    done = summary.load_summary(workdir)
    if done:
        return done
    data = load_data(config)
    feats = cached_features(config, workdir, runtime, data)
    rows = []
    for name, indices, group in variants(feats["train"].shape[-1], config):
        logits = [train_head(config, runtime, _select(feats["train"], idx, group),
                             data.y_train, _select(feats["test"], idx, group),
                             config.seed + 1000 * h)
                  for h, idx in enumerate(indices)]
        singles = [evaluate_logits(lg, data.y_test) for lg in logits]
        rows.append({"name": name, "channels": int(len(indices[0]) // group),
                     "heads": len(logits),
                     "single": summarize_members(singles)["accuracy"],
                     "ensemble": evaluate_logits(average_logits(logits), data.y_test)
                     ["accuracy"]})
        logging.info("views %s: %s", name, rows[-1])
    result = io_utils.json_data({"experiment": "views", "layer": config.views.layer,
                                 "model": config.model.name, "rows": rows,
                                 "table": plain_table(*table(rows)), "complete": True})
    if runtime.is_chief:
        header, body = table(rows)
        io_utils.write_text_atomic(
            io_utils.join(workdir, "report.md"),
            f"# Heads on frozen features of {config.model.name} at {config.views.layer}\n\n"
            f"{markdown_table(header, body)}\n")
        io_utils.write_bytes_atomic(io_utils.join(workdir, "report.png"), bar_chart(rows))
        io_utils.write_json_atomic(io_utils.join(workdir, "results.json"), result)
    return result


def bar_chart(rows) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 * len(rows) + 2, 3.5))
    xs = np.arange(len(rows))
    ax.bar(xs - 0.2, [100 * r["single"]["mean"] for r in rows], 0.4,
           yerr=[100 * r["single"]["std"] for r in rows], label="single head")
    ax.bar(xs + 0.2, [100 * r["ensemble"] for r in rows], 0.4, label="ensemble of heads")
    ax.set_xticks(xs, [r["name"] for r in rows])
    ax.set_ylabel("test accuracy %")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
