"""Inputs of the views experiment (PAPER.md Figure 6): a frozen model's features at a cut
point, and the reduced versions of them that new models are trained on.

A frozen trained model is cut at a layer; its activations [N, H, W, C] on the train and test
sets are computed once and cached in <workdir>/features.npz. From them, every input is a
channel transform of the features:
  all          every channel;
  1/s          a subset of C/s channels: the first C/s of one seeded random permutation, so
               the subsets are nested (1/8 is part of 1/4, which is part of 1/2);
  avg g        the mean over consecutive groups of g channels: C/g channels;
  1/s part p   the p-th of the s disjoint parts of that permutation (part 0 is the 1/s
               subset), for the extra "ensemble of disjoint splits" row.
"""

from __future__ import annotations

import dataclasses
from typing import List

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.data.base import DatasetInfo, channel_stats
from ens_kd_tf.errors import UsageError
from ens_kd_tf.stages.members import (load_member_models, member_dir, require_members,
                                      train_members)
from ens_kd_tf.stages.results import load_results
from ens_kd_tf.strategy import Runtime

FEATURES = "features.npz"


@dataclasses.dataclass(frozen=True)
class ViewInput:
    """One input: the channels `index` of the features, averaged over groups of `group`.

    Attributes:
      name: the table's name ("all", "1/8", "avg 4", "1/8 part 3").
      slug: a directory name (inputs/<slug>/seed_<n>/).
      kind: "all", "subset", "average" or "part".
      index: [c] int channel indices into the cut layer's C channels.
      group: channels averaged per output channel (1 = none).
    """

    name: str
    slug: str
    kind: str
    index: np.ndarray
    group: int = 1

    @property
    def channels(self) -> int:
        return len(self.index) // self.group


def cut_at_layer(model: keras.Model, layer: str) -> keras.Model:
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


def source_model_results(config, workdir: str, runtime: Runtime, data: ArrayDataset) -> tuple:
    """(the frozen model, its results.json): member seed `seed` of views.source_workdir,
    trained in `workdir` first when views.source_workdir is empty."""
    source = config.views.source_workdir or workdir
    if not config.views.source_workdir:
        train_members(config, workdir, runtime, data, [config.seed])
    seed = require_members(source, data, [config.seed])[0]
    model = load_member_models(source, [seed])[0][0]
    return model, load_results(member_dir(source, seed))


def cached_features(config, workdir: str, model: keras.Model, data: ArrayDataset,
                    runtime: Runtime) -> dict:
    """{"train": [N, ..., C], "test": [M, ..., C]} features of `model` at views.layer,
    computed once and kept in <workdir>/features.npz."""
    path = io_utils.join(workdir, FEATURES)
    if tf.io.gfile.exists(path):
        return io_utils.read_arrays(path)
    trunk = cut_at_layer(model, config.views.layer)
    batch = config.train.eval_batch_size or config.train.batch_size
    features = {"train": trunk.predict(data.x_train, batch_size=batch, verbose=0),
                "test": trunk.predict(data.x_test, batch_size=batch, verbose=0)}
    if runtime.is_chief:
        io_utils.write_arrays_atomic(path, features)
    logging.info("cached %s features %s", config.views.layer, features["train"].shape[1:])
    return features


def _divides(field: str, value: int, channels: int, layer: str) -> None:
    if channels % value:
        raise UsageError(f"views.{field} entry {value} does not divide the {channels} "
                         f"channels of layer {layer!r}")


def permutation(channels: int, seed: int) -> np.ndarray:
    """The seeded channel order the subsets and parts are cut from."""
    return np.random.default_rng(seed).permutation(channels)


def view_inputs(channels: int, config) -> List[ViewInput]:
    """The inputs of the main rows: all, each 1/s subset, each group average."""
    v = config.views
    perm = permutation(channels, config.seed)
    out = [ViewInput("all", "all", "all", np.arange(channels))]
    for s in v.splits:
        _divides("splits", s, channels, v.layer)
        out.append(ViewInput(f"1/{s}", f"subset_1_{s}", "subset", perm[:channels // s]))
    for g in v.groups:
        _divides("groups", g, channels, v.layer)
        out.append(ViewInput(f"avg {g}", f"avg_{g}", "average", np.arange(channels), g))
    return out


def disjoint_parts(channels: int, s: int, config) -> List[ViewInput]:
    """The s disjoint 1/s parts of the channel permutation; part 0 is the 1/s subset (same
    slug, so its models are shared with the 1/s row)."""
    _divides("disjoint_splits", s, channels, config.views.layer)
    parts = permutation(channels, config.seed).reshape(s, -1)
    return [ViewInput(f"1/{s}", f"subset_1_{s}", "subset", parts[0])] + [
        ViewInput(f"1/{s} part {p}", f"split_1_{s}_part_{p}", "part", parts[p])
        for p in range(1, s)]


def transform(x: np.ndarray, view: ViewInput) -> np.ndarray:
    """x [..., C] -> [..., view.channels]: the selected channels, group-averaged."""
    x = x[..., view.index]
    if view.group > 1:
        x = x.reshape(x.shape[:-1] + (-1, view.group)).mean(-1)
    return np.ascontiguousarray(x, dtype=np.float32)


def view_dataset(features: dict, data: ArrayDataset, view: ViewInput, layer: str) -> ArrayDataset:
    """The dataset a new model trains on: transformed features, the original labels and
    test groups; per-channel statistics for the model's standardisation."""
    x_train, x_test = transform(features["train"], view), transform(features["test"], view)
    mean, std = channel_stats(x_train)
    info = DatasetInfo(f"{data.info.name}:{layer}:{view.slug}", data.info.num_classes,
                       tuple(x_train.shape[1:]), "features", mean, std)
    return ArrayDataset(x_train, data.y_train, x_test, data.y_test, info, data.test_groups)
