"""View probes: which of its class's two views a trained model has learned, on the built-in
multi-view data whose view features are known (data/multiview.py, PAPER.md "The theory's
multi-view data").

Three measurements, for any classifier on `multiview_images` or `multiview_patches`:
- probe accuracy [k, 2]: accuracy on probe inputs drawn by the data's own generator as
  single-view samples whose other view is absent (weight 0, not rho), so only view l of
  class j can say "class j";
- saliency share [k, 2]: on real multi-view test samples (both views present), the share of
  the gradient-x-input saliency |d logit_y / d x * (x - grey)| that falls on the cells
  carrying each view;
- Phi [k, 2] (patch_net only): the theory's Phi_{j,l} = sum_r ReLU(<w_{j,r}, v_{j,l}>),
  logged to TensorBoard every epoch by `PhiCurves` (the lottery curves).

A view counts as LEARNED when its probe accuracy is >= LEARNED_ACCURACY = 0.5: the model
names the class from that view alone for at least half of the probes (chance is 1/k). For
patch_net, `phi_share` = Phi_{j,l} / max_l' Phi_{j,l'} is reported beside it.

A stage's results.json (and its table row) gets `views`: learned [k][2] bool,
learned_fraction, classes_with_both, classes_with_none, probe_accuracy [k][2],
saliency_share [k][2] (None for models without input gradients), and for patch_net phi,
phi_share [k][2] and phi_curve {"epochs", "phi"}. An ensemble's `learned` is the union of
its members' and its probe_accuracy its own (own_learned_fraction: what its own output
passes). A row over several models (single models, a row over repeats) holds
{"models": [their views], "learned_fraction", "classes_with_both": mean +- std,
"probe_accuracy": mean}.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ens_kd_tf import io_utils
from ens_kd_tf.data import multiview_spec
from ens_kd_tf.data.multiview import (MultiViewSpec, patches_to_images, sample_patches,
                                      view_features)
from ens_kd_tf.evaluate import average_logits, mean_std

LEARNED_ACCURACY = 0.5  # probe accuracy at or above which a view counts as learned
MULTIVIEW_DATA = ("multiview_images", "multiview_patches")
PROBES_FILE = "probe_logits.npz"
PHI_FILE = "phi_curve.json"
SALIENCY_SAMPLES = 256  # multi-view test samples the saliency share averages over


@dataclasses.dataclass(frozen=True)
class ViewGeometry:
    """Where the views live. features: [2k, d], row 2j + l = view l of class j; images are
    tiled from [P, d] patches (`patch_size` pixels a side, RMS `contrast`) when form ==
    "images"."""

    spec: MultiViewSpec
    features: np.ndarray
    form: str
    patch_size: int = 0
    contrast: float = 0.0

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes


def view_geometry(config) -> Optional[ViewGeometry]:
    """The geometry of config.data if it is built-in multi-view data, else None."""
    name = config.data.name
    if name not in MULTIVIEW_DATA:
        return None
    spec = multiview_spec(config.data)
    if name == "multiview_patches":
        return ViewGeometry(spec, view_features(spec), "patches")
    ps = config.data.multiview.patch_size
    grid = (config.data.image_size or 32) // ps
    spec = dataclasses.replace(spec, num_patches=grid * grid, patch_dim=ps * ps * 3)
    return ViewGeometry(spec, view_features(spec), "images", ps, config.data.multiview.contrast)


def to_patches(geom: ViewGeometry, x: np.ndarray) -> np.ndarray:
    """Model inputs -> [N, P, d] patch vectors (images: the inverse of patches_to_images)."""
    if geom.form == "patches":
        return np.asarray(x, np.float32)
    n, h, w, c = x.shape
    ps, grid = geom.patch_size, h // geom.patch_size
    cells = (x.astype(np.float32) - 128.0) / (geom.contrast * np.sqrt(geom.spec.patch_dim))
    cells = cells.reshape(n, grid, ps, grid, ps, c).transpose(0, 1, 3, 2, 4, 5)
    return cells.reshape(n, grid * grid, ps * ps * c)


def view_strength(geom: ViewGeometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[N, P, 2]: <patch p, v_{y,l}> for each sample's own class y."""
    own = geom.features[np.stack([2 * y, 2 * y + 1], -1)]  # [N, 2, d]
    return np.einsum("npd,nld->npl", to_patches(geom, x), own)


def view_cells(geom: ViewGeometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[N, P, 2] bool: the `view_patches` cells of each sample that carry view l of class y
    most strongly (exact on multi-view samples, whose views have weight >= 1)."""
    strength = view_strength(geom, x, y)
    top = np.argsort(-strength, axis=1)[:, :geom.spec.view_patches]  # [N, vp, 2]
    mask = np.zeros(strength.shape, bool)
    np.put_along_axis(mask, top, True, axis=1)
    return mask


def probe_set(geom: ViewGeometry, per_view: int = 50) -> Tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """Probe inputs: (x [N, ...] in the data's form, y [N] class, view [N] the one view it
    carries), about `per_view` per (class, view); deterministic in the data's seed."""
    spec = dataclasses.replace(geom.spec, single_view_prob=1.0, weak_view_weight=0.0)
    rng = np.random.default_rng([spec.seed, 23])
    x, y, _ = sample_patches(spec, per_view * 2 * spec.num_classes, rng, geom.features)
    view = view_strength(ViewGeometry(spec, geom.features, "patches"), x, y).max(1).argmax(-1)
    if geom.form == "images":
        x = patches_to_images(x, geom.patch_size, geom.contrast)
    return x, y, view.astype(np.int32)


def probe_accuracy(logits: np.ndarray, y: np.ndarray, view: np.ndarray,
                   num_classes: int) -> np.ndarray:
    """[k, 2] accuracy on the probes of each (class, view); nan where there are none.

    A hit needs the true logit strictly above all others: a model that is blind to the
    probe (equal logits) does not get the tie-broken class for free."""
    logits = np.asarray(logits, np.float64)
    true = logits[np.arange(len(y)), y]
    others = np.where(np.arange(logits.shape[1]) == y[:, None], -np.inf, logits)
    hit = true > others.max(-1)
    acc = np.full((num_classes, 2), np.nan)
    for j in range(num_classes):
        for v in range(2):
            sel = (y == j) & (view == v)
            if sel.any():
                acc[j, v] = hit[sel].mean()
    return acc


def model_logits(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """[N, k] float32 logits by direct calls (no predict function to trace per model: the
    probes run once per model on ~1000 inputs)."""
    return np.concatenate([
        np.asarray(model(np.asarray(x[s:s + batch_size], np.float32), training=False),
                   np.float32) for s in range(0, len(x), batch_size)])


def input_saliency(model: keras.Model, x: np.ndarray, labels: np.ndarray,
                   baseline=0.0, batch_size: int = 128) -> Optional[np.ndarray]:
    """Gradient x input: |d logit_label / d x * (x - baseline)|, same shape as x, float32;
    None for a model with no input gradient (the linearized kernel models define only the
    gradient to their weights).

    The plain gradient of a model that is linear above a threshold (patch_net, ReLU nets)
    is as large on a noise patch as on a feature patch; times (x - baseline) it is each
    input's first-order share of the logit. baseline: the data's mean (per channel).
    """
    out = []
    for s in range(0, len(x), batch_size):
        xb = tf.convert_to_tensor(np.asarray(x[s:s + batch_size], np.float32))
        with tf.GradientTape() as tape:
            tape.watch(xb)
            logits = model(xb, training=False)
            picked = tf.gather(logits, labels[s:s + batch_size], axis=1, batch_dims=1)
        grad = tape.gradient(picked, xb)
        if grad is None:
            return None
        out.append(np.abs(grad.numpy() * (xb.numpy() - np.asarray(baseline, np.float32))))
    return np.concatenate(out)


def data_baseline(geom: ViewGeometry) -> float:
    """The grey level (images) or zero vector (patches) the views are drawn on."""
    return 128.0 if geom.form == "images" else 0.0


def cell_saliency(geom: ViewGeometry, saliency: np.ndarray) -> np.ndarray:
    """Input-shaped saliency -> [N, P]: its total per patch / grid cell."""
    if geom.form == "patches":
        return saliency.sum(-1)
    n, h, w, c = saliency.shape
    ps, grid = geom.patch_size, h // geom.patch_size
    return saliency.reshape(n, grid, ps, grid, ps, c).sum((2, 4, 5)).reshape(n, grid * grid)


def saliency_share(model: keras.Model, geom: ViewGeometry, x: np.ndarray, y: np.ndarray,
                   ) -> Optional[np.ndarray]:
    """[k, 2]: mean share of the saliency on the cells of each view, per class (x, y:
    multi-view samples); None without input gradients."""
    saliency = input_saliency(model, x, y, data_baseline(geom))
    if saliency is None:
        return None
    cells = cell_saliency(geom, saliency)  # [N, P]
    masks = view_cells(geom, x, y)  # [N, P, 2]
    share = (cells[:, :, None] * masks).sum(1) / np.maximum(cells.sum(1), 1e-30)[:, None]
    out = np.full((geom.num_classes, 2), np.nan)
    for j in range(geom.num_classes):
        if (y == j).any():
            out[j] = share[y == j].mean(0)
    return out


def phi(model: keras.Model, geom: ViewGeometry) -> Optional[np.ndarray]:
    """[k, 2] Phi_{j,l} = sum_r ReLU(<w_{j,r}, v_{j,l}>) of a patch_net, else None."""
    try:
        kernel = model.get_layer("neurons").kernel.numpy()  # [d, k * m], class-major
    except ValueError:
        return None
    k = geom.num_classes
    if kernel.shape != (geom.spec.patch_dim, kernel.shape[1]) or kernel.shape[1] % k:
        return None
    proj = (geom.features @ kernel).reshape(k, 2, k, -1)  # [j', l, j, r]
    own = proj[np.arange(k), :, np.arange(k), :]  # [j, l, r]
    return np.maximum(own, 0.0).sum(-1)


def summarize(learned: np.ndarray, probe_acc: np.ndarray, **extra) -> dict:
    """The `views` object of a results row (lists, JSON-ready)."""
    learned = np.asarray(learned, bool)
    return {"learned": learned.tolist(), "learned_fraction": float(learned.mean()),
            "classes_with_both": int(learned.all(1).sum()),
            "classes_with_none": int((~learned).all(1).sum()),
            "probe_accuracy": np.round(probe_acc, 4).tolist(),
            "threshold": f"probe accuracy >= {LEARNED_ACCURACY}", **extra}


def measure(model: keras.Model, geom: ViewGeometry, x_test: np.ndarray, y_test: np.ndarray,
            multi_view: np.ndarray, batch_size: int = 256) -> Tuple[dict, dict]:
    """Every probe of one model. Returns (views dict, {"logits", "y", "view"} probe arrays)."""
    px, py, pv = probe_set(geom)
    logits = model_logits(model, px, batch_size)
    acc = probe_accuracy(logits, py, pv, geom.num_classes)
    idx = np.flatnonzero(multi_view)[:SALIENCY_SAMPLES]
    share = saliency_share(model, geom, x_test[idx], y_test[idx])
    extra = {"saliency_share": None if share is None else np.round(share, 4).tolist()}
    p = phi(model, geom)
    if p is not None:
        extra["phi"] = np.round(p, 4).tolist()
        extra["phi_share"] = np.round(p / np.maximum(p.max(1, keepdims=True), 1e-12),
                                      4).tolist()
    views = summarize(acc >= LEARNED_ACCURACY, acc, **extra)
    return views, {"logits": logits, "y": py, "view": pv}


def _inputs_are_views(geom: ViewGeometry, x: np.ndarray) -> bool:
    """False for models on other inputs derived from the data (e.g. a frozen network's
    features in the views experiment): the probes render the data's own inputs."""
    if geom.form == "patches":
        return tuple(x.shape[1:]) == (geom.spec.num_patches, geom.spec.patch_dim)
    grid = int(round(geom.spec.num_patches ** 0.5))
    return tuple(x.shape[1:]) == (grid * geom.patch_size, grid * geom.patch_size, 3)


def stage_views(config, model: keras.Model, data, workdir: str, is_chief: bool) -> dict:
    """{"views": ...} for a trained stage model on multi-view data (also writes its probe
    logits and attaches its Phi curve), else {}."""
    geom = view_geometry(config)
    if geom is None or not _inputs_are_views(geom, data.x_test):
        return {}
    views, arrays = measure(model, geom, data.x_test, data.y_test,
                            data.test_groups["multi_view"])
    curve_path = io_utils.join(workdir, PHI_FILE)
    if tf.io.gfile.exists(curve_path):
        views["phi_curve"] = io_utils.read_json(curve_path)
    if is_chief:
        io_utils.write_arrays_atomic(io_utils.join(workdir, PROBES_FILE), arrays)
    return {"views": views}


def ensemble_views(member_dirs: Sequence[str], member_views: Sequence[dict],
                   reduction: str) -> Optional[dict]:
    """The ensemble's views: learned = learned by any member; probe_accuracy = the
    ensemble's own (its averaged output on the members' shared probe set)."""
    if not member_views or any(not v for v in member_views):
        return None
    stored = [io_utils.read_arrays(io_utils.join(d, PROBES_FILE)) for d in member_dirs]
    logits = average_logits([s["logits"] for s in stored], reduction)
    k = len(member_views[0]["learned"])
    acc = probe_accuracy(logits, stored[0]["y"], stored[0]["view"], k)
    union = np.any([np.asarray(v["learned"], bool) for v in member_views], axis=0)
    return summarize(union, acc, rule="learned by any member",
                     own_learned_fraction=float((acc >= LEARNED_ACCURACY).mean()))


def pooled_views(views: Sequence[Optional[dict]]) -> Optional[dict]:
    """Several models' views (the members of a mean +- std row, or one row over repeats):
    {"models": [...], "learned_fraction", "classes_with_both": mean +- std, "probe_accuracy":
    mean}."""
    views = [v for v in views if v]
    if not views:
        return None
    return {"models": list(views),
            "learned_fraction": mean_std([v["learned_fraction"] for v in views]),
            "classes_with_both": mean_std([v["classes_with_both"] for v in views]),
            "probe_accuracy": np.round(np.mean([v["probe_accuracy"] for v in views], 0),
                                       4).tolist()}


def models_of(views: Optional[dict]) -> List[dict]:
    """The per-model views inside a row's `views` (one, or the pooled list)."""
    if not views:
        return []
    return list(views["models"]) if "models" in views else [views]


class PhiCurves(keras.callbacks.Callback):
    """Logs patch_net's Phi_{j,l} to TensorBoard (views/phi_class<j>_view<l>) after every
    epoch and writes the curve to <workdir>/phi_curve.json (atomically, appended on resume)."""

    def __init__(self, net: keras.Model, geom: ViewGeometry, workdir: str):
        super().__init__()
        self.net, self.geom, self.workdir = net, geom, workdir
        self.path = io_utils.join(workdir, PHI_FILE)
        self.writer = tf.summary.create_file_writer(io_utils.join(workdir, "tensorboard",
                                                                  "views"))
        self.curve = {"epochs": [], "phi": []}

    def on_train_begin(self, logs=None):
        if tf.io.gfile.exists(self.path):
            self.curve = io_utils.read_json(self.path)
        elif not self.curve["epochs"] and int(self.model.optimizer.iterations) == 0:
            self._record(0)  # the init: before any lottery

    def _record(self, epoch: int) -> None:
        value = phi(self.net, self.geom)
        if value is None:
            return
        with self.writer.as_default():
            for j in range(value.shape[0]):
                for v in range(2):
                    tf.summary.scalar(f"phi_class{j}_view{v}", value[j, v], step=epoch)
        self.writer.flush()
        self.curve["epochs"].append(epoch)
        self.curve["phi"].append(np.round(value, 5).tolist())

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 not in self.curve["epochs"]:
            self._record(epoch + 1)

    def on_train_end(self, logs=None):
        io_utils.write_json_atomic(self.path, self.curve)


def fit_callbacks(config, net: keras.Model, workdir: str) -> list:
    """[PhiCurves] when `net` is a patch_net on multi-view patches, else []."""
    geom = view_geometry(config)
    if geom is None or phi(net, geom) is None:
        return []
    logging.info("logging Phi lottery curves to %s", workdir)
    return [PhiCurves(net, geom, workdir)]

