"""Gaussian-like data labelled by a random teacher network (PAPER.md Figure 3): data with no
multi-view structure, where ensembles should not help.

Inputs x in R^{H x W x C} (fed as float features, so the zoo's conv nets apply):
  input="gaussian"  x ~ N(0, I)
  input="mixture"   x ~ N(mu_c, I) for a component c of `components` random means of norm
                    `mixture_spread` * sqrt(dim)
Labels y = argmax of a random teacher's logits (He-initialised, logits standardised per
class over the sample so classes are balanced):
  linear, fc2, fc3 (MLPs of width `teacher_width`), res3 (residual MLP), conv2, conv3
  (3x3 conv nets + global average pooling), resconv3 (conv + two residual conv blocks)
sampling="uniform" keeps every draw; "margin" keeps draws whose top-1 minus top-2 teacher
logit is above the `margin_quantile` quantile (rejection sampling for a margin).
`label_noise` replaces that fraction of TRAINING labels by a uniformly random other class
(test labels stay clean).
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

import keras
import numpy as np

from ens_kd_tf.data.base import ArrayDataset, make_array_dataset
from ens_kd_tf.errors import UsageError, check_choice, check_positive
from ens_kd_tf.models.teacher_net import TEACHER_KINDS, teacher_net

TEACHERS = TEACHER_KINDS
INPUTS = ("gaussian", "mixture")
SAMPLINGS = ("uniform", "margin")


@dataclasses.dataclass(frozen=True)
class GaussianSpec:
    teacher: str = "resconv3"
    input: str = "gaussian"
    sampling: str = "uniform"
    label_noise: float = 0.0
    num_classes: int = 10
    image_size: int = 4
    channels: int = 1
    teacher_width: int = 64
    components: int = 20
    mixture_spread: float = 0.5
    margin_quantile: float = 0.5
    num_train: int = 10000
    num_test: int = 2000
    seed: int = 0

    def validate(self) -> None:
        check_choice("data.gaussian.teacher", self.teacher, TEACHERS)
        check_choice("data.gaussian.input", self.input, INPUTS)
        check_choice("data.gaussian.sampling", self.sampling, SAMPLINGS)
        for field in ("num_classes", "image_size", "channels", "teacher_width", "components",
                      "num_train", "num_test"):
            check_positive(f"data.gaussian.{field}", getattr(self, field))
        for field, value in (("label_noise", self.label_noise),
                             ("margin_quantile", self.margin_quantile)):
            if not 0.0 <= value < 1.0:
                raise UsageError(f"data.gaussian.{field}={value!r} is not valid; it must be "
                                 "in [0, 1)")
        if self.num_classes < 2:
            raise UsageError(f"data.gaussian.num_classes={self.num_classes}; it must be >= 2")

    @property
    def shape(self) -> Tuple[int, int, int]:
        return (self.image_size, self.image_size, self.channels)


def build_teacher(spec: GaussianSpec) -> keras.Model:
    """The random labelling network (weights from spec.seed; models/teacher_net.py)."""
    keras.utils.set_random_seed(spec.seed + 1000)
    return teacher_net(spec.teacher, spec.teacher_width, spec.num_classes, spec.shape,
                       name=f"teacher_{spec.teacher}")


def _inputs(spec: GaussianSpec, n: int, rng: np.random.Generator,
            means: np.ndarray) -> np.ndarray:
    x = rng.standard_normal((n,) + spec.shape).astype(np.float32)
    if spec.input == "mixture":
        x += means[rng.integers(0, spec.components, n)]
    return x


def balanced_offsets(pilot: np.ndarray, rounds: int = 300) -> Tuple[np.ndarray, np.ndarray]:
    """Per-class (center, scale) such that argmax((logits - center) / scale) picks every
    class about equally often on the pilot logits [n, k].

    Each round moves a class's offset by its (clipped) log share ratio, with a decaying step
    so that narrow, correlated logit distributions converge instead of oscillating.
    """
    k = pilot.shape[1]
    center, scale = pilot.mean(0), pilot.std(0) + 1e-6
    for r in range(rounds):
        counts = np.bincount(((pilot - center) / scale).argmax(1), minlength=k) + 1.0
        step = 0.5 / (1.0 + r / 10.0)
        center = center + step * scale * np.clip(np.log(counts / counts.mean()), -2.0, 2.0)
    return center, scale


def _label(teacher, x, center, scale):
    logits = (teacher.predict(x, batch_size=1024, verbose=0) - center) / scale
    top2 = np.sort(logits, axis=1)[:, -2:]
    return logits.argmax(1).astype(np.int32), top2[:, 1] - top2[:, 0]


def _labeller(spec: GaussianSpec):
    """(rng, mixture means, teacher, (center, scale), margin threshold), from spec.seed."""
    rng = np.random.default_rng([spec.seed, 23])
    dim = int(np.prod(spec.shape))
    means = rng.standard_normal((spec.components,) + spec.shape).astype(np.float32)
    means *= spec.mixture_spread * np.sqrt(dim) / np.linalg.norm(
        means.reshape(spec.components, -1), axis=1).reshape(-1, 1, 1, 1)
    teacher = build_teacher(spec)
    pilot = teacher.predict(_inputs(spec, 8192, rng, means), batch_size=1024, verbose=0)
    center, scale = balanced_offsets(pilot)
    _, pilot_margin = _label(teacher, _inputs(spec, 4096, rng, means), center, scale)
    threshold = (np.quantile(pilot_margin, spec.margin_quantile)
                 if spec.sampling == "margin" else -np.inf)
    return rng, means, teacher, (center, scale), threshold


def teacher_labels(spec: GaussianSpec, x: np.ndarray) -> np.ndarray:
    """The clean labels the teacher of `spec` gives inputs x [N, H, W, C]."""
    _, _, teacher, (center, scale), _ = _labeller(spec)
    return _label(teacher, x, center, scale)[0]


def make_gaussian_teacher(spec: GaussianSpec) -> ArrayDataset:
    """Draws the train and test splits (see the module docstring)."""
    spec.validate()
    rng, means, teacher, (center, scale), threshold = _labeller(spec)

    def draw(n):
        xs, ys, have = [], [], 0
        while have < n:
            x = _inputs(spec, 2 * n, rng, means)
            y, margin = _label(teacher, x, center, scale)
            keep = margin >= threshold
            xs.append(x[keep])
            ys.append(y[keep])
            have += int(keep.sum())
        return np.concatenate(xs)[:n], np.concatenate(ys)[:n]

    x_train, y_train = draw(spec.num_train)
    x_test, y_test = draw(spec.num_test)
    counts = np.bincount(y_train, minlength=spec.num_classes)
    if counts.min() < 0.2 * counts.mean():
        raise UsageError(
            f"the random {spec.teacher} teacher (data.gaussian.teacher_width="
            f"{spec.teacher_width}) labels degenerately (class counts {counts.tolist()}): too "
            "many dead ReLUs; raise teacher_width or change data.gaussian.seed")
    noisy = rng.random(spec.num_train) < spec.label_noise
    shift = rng.integers(1, spec.num_classes, spec.num_train)
    y_train = np.where(noisy, (y_train + shift) % spec.num_classes, y_train).astype(np.int32)
    name = f"gaussian_{spec.teacher}_{spec.input}_{spec.sampling}"
    return make_array_dataset(name, x_train, y_train, x_test, y_test, spec.num_classes)
