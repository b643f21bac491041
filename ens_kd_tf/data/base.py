"""In-memory datasets: arrays plus what a model and a report need to know about them."""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import numpy as np

from ens_kd_tf.errors import UsageError


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset.

    Attributes:
      name: registry name, e.g. "cifar10".
      num_classes: number of labels k; labels are ints in [0, k).
      input_shape: one example's shape, e.g. (32, 32, 3) for images or (P, d) for patches.
      input_kind: "image" (uint8 pixels in [0, 255], fed to models as float32 in that range)
        or "features" (float32 vectors, fed as they are).
      mean, std: per-channel statistics of the training inputs (length = last dim); models
        standardise with them, so exported models take raw inputs.
    """

    name: str
    num_classes: int
    input_shape: Tuple[int, ...]
    input_kind: str
    mean: Tuple[float, ...]
    std: Tuple[float, ...]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ArrayDataset:
    """A dataset held in host memory.

    Attributes:
      x_train: [N, *input_shape], uint8 for images, float32 for features.
      y_train: [N] int32 labels.
      x_test, y_test: the same for the test split.
      info: DatasetInfo.
      test_groups: optional named boolean masks over the test set, e.g. {"multi_view": m,
        "single_view": ~m}; reports give each group's accuracy separately.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: DatasetInfo
    test_groups: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def num_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.x_test.shape[0])


def channel_stats(x: np.ndarray) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    """Per-channel (last axis) mean and std of `x`, computed in float64 in chunks."""
    flat = x.reshape(-1, x.shape[-1])
    total = np.zeros(flat.shape[1])
    total_sq = np.zeros(flat.shape[1])
    for start in range(0, flat.shape[0], 1 << 20):
        chunk = flat[start:start + (1 << 20)].astype(np.float64)
        total += chunk.sum(0)
        total_sq += (chunk ** 2).sum(0)
    mean = total / flat.shape[0]
    std = np.sqrt(np.maximum(total_sq / flat.shape[0] - mean ** 2, 1e-12))
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def validate_arrays(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_classes: Optional[int] = None,
) -> int:
    """Checks shapes, dtypes, label range and finiteness; returns the number of classes.

    Raises UsageError naming the array and what is wrong with it.
    """
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim < 2:
            raise UsageError(f"{name}: x_{split} has shape {x.shape}; expected [N, ...features]")
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise UsageError(
                f"{name}: y_{split} has shape {y.shape}; expected [{x.shape[0]}] "
                f"(one integer label per row of x_{split})"
            )
        if x.shape[0] == 0:
            raise UsageError(f"{name}: x_{split} is empty")
        if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
            raise UsageError(
                f"{name}: x_{split} has dtype {x.dtype}; expected uint8 images or float features"
            )
        if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
            raise UsageError(f"{name}: x_{split} contains NaN or infinite values")
        if not np.issubdtype(y.dtype, np.integer):
            raise UsageError(f"{name}: y_{split} has dtype {y.dtype}; expected integer labels")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise UsageError(
            f"{name}: x_train examples have shape {x_train.shape[1:]} but x_test examples "
            f"have shape {x_test.shape[1:]}"
        )
    if num_classes is None:
        num_classes = int(max(y_train.max(), y_test.max())) + 1
    for split, y in (("train", y_train), ("test", y_test)):
        if y.min() < 0 or y.max() >= num_classes:
            raise UsageError(
                f"{name}: y_{split} has labels in [{y.min()}, {y.max()}]; "
                f"expected labels in [0, {num_classes - 1}]"
            )
    if num_classes < 2:
        raise UsageError(f"{name}: found {num_classes} class; need at least 2")
    return num_classes


def make_array_dataset(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_classes: Optional[int] = None,
    test_groups: Optional[Dict[str, np.ndarray]] = None,
) -> ArrayDataset:
    """Validates arrays and wraps them with a DatasetInfo (per-channel stats from train)."""
    num_classes = validate_arrays(name, x_train, y_train, x_test, y_test, num_classes)
    kind = "image" if x_train.dtype == np.uint8 else "features"
    if kind == "features":
        x_train = x_train.astype(np.float32, copy=False)
        x_test = x_test.astype(np.float32, copy=False)
    mean, std = channel_stats(x_train)
    info = DatasetInfo(
        name=name,
        num_classes=num_classes,
        input_shape=tuple(int(s) for s in x_train.shape[1:]),
        input_kind=kind,
        mean=mean,
        std=std,
    )
    return ArrayDataset(
        x_train=x_train,
        y_train=y_train.astype(np.int32),
        x_test=x_test,
        y_test=y_test.astype(np.int32),
        info=info,
        test_groups=dict(test_groups or {}),
    )
