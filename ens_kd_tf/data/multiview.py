"""The theory's multi-view data (PAPER.md "The theory's multi-view data"), two forms.

Every class j owns two view features v_{j,1}, v_{j,2}: 2k orthonormal vectors in R^d. An input
is P patches in R^d:
- a multi-view sample (probability 1 - mu) has both views of its class strongly, each in
  `view_patches` patches with weight U[1, 1 + strength_jitter];
- a single-view sample (probability mu) has one view (chosen at random) strongly and the other
  with the weak weight rho (`weak_view_weight`);
- every sample also has `offclass_features` weak features of other classes (weight
  `offclass_weight`), the "dark knowledge" an ensemble's outputs carry;
- every patch has Gaussian noise whose expected norm is `noise_norm` (features have norm 1).

`multiview_patches` returns the [N, P, d] float32 patches (the theory's own form, for the
patch network of models/patch_net.py). `multiview_images` renders the same structure as RGB
images: a grid of P cells of `patch_size` x `patch_size` pixels, each cell one patch, so a
view is a localized colour texture the zoo's CNNs can learn. Both are deterministic in `seed`.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

import numpy as np

from ens_kd_tf.data.base import ArrayDataset, make_array_dataset
from ens_kd_tf.errors import UsageError, check_positive


@dataclasses.dataclass(frozen=True)
class MultiViewSpec:
    """Constants of the multi-view distribution (see the module docstring)."""

    num_classes: int = 10
    num_patches: int = 16
    patch_dim: int = 192
    single_view_prob: float = 0.2
    view_patches: int = 1
    strength_jitter: float = 0.5
    weak_view_weight: float = 0.1
    offclass_features: int = 2
    offclass_weight: float = 0.2
    noise_norm: float = 1.0
    num_train: int = 5000
    num_test: int = 2000
    seed: int = 0

    def validate(self) -> None:
        prefix = "data.multiview"
        for field in ("num_classes", "num_patches", "patch_dim", "view_patches",
                      "num_train", "num_test"):
            check_positive(f"{prefix}.{field}", getattr(self, field))
        for field in ("strength_jitter", "weak_view_weight", "offclass_features",
                      "offclass_weight", "noise_norm"):
            check_positive(f"{prefix}.{field}", getattr(self, field), allow_zero=True)
        if not 0.0 <= self.single_view_prob <= 1.0:
            raise UsageError(
                f"{prefix}.single_view_prob={self.single_view_prob!r} is not valid; "
                "it must be in [0, 1]")
        if self.num_classes < 2:
            raise UsageError(f"{prefix}.num_classes={self.num_classes!r}; it must be >= 2")
        if self.patch_dim < 2 * self.num_classes:
            raise UsageError(
                f"{prefix}.patch_dim={self.patch_dim} is too small for "
                f"{2 * self.num_classes} orthonormal view features; it must be >= "
                f"2 * num_classes = {2 * self.num_classes}")
        needed = 2 * self.view_patches + self.offclass_features
        if needed > self.num_patches:
            raise UsageError(
                f"{prefix}.num_patches={self.num_patches} cannot hold 2 * view_patches + "
                f"offclass_features = {needed} feature patches")


def view_features(spec: MultiViewSpec) -> np.ndarray:
    """[2k, d] orthonormal rows; row 2j + l is view l of class j."""
    rng = np.random.default_rng([spec.seed, 7])
    q, _ = np.linalg.qr(rng.standard_normal((spec.patch_dim, 2 * spec.num_classes)))
    return q.T.astype(np.float64)


def sample_patches(
    spec: MultiViewSpec, n: int, rng: np.random.Generator, features: np.ndarray
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws n samples. Returns (x [n, P, d] float32, y [n] int32, multi_view [n] bool)."""
    k, num_p, vp = spec.num_classes, spec.num_patches, spec.view_patches
    y = rng.integers(0, k, size=n)
    multi = rng.random(n) >= spec.single_view_prob
    strong_view = rng.integers(0, 2, size=n)  # the view a single-view sample keeps

    # coeff[i, p, f]: weight of feature f in patch p of sample i.
    coeff = np.zeros((n, num_p, 2 * k))
    patch_order = np.argsort(rng.random((n, num_p)), axis=1)
    rows = np.arange(n)
    for view in range(2):
        strength = 1.0 + spec.strength_jitter * rng.random((n, vp))
        kept = multi | (strong_view == view)
        weight = np.where(kept[:, None], strength, spec.weak_view_weight)
        for slot in range(vp):
            patch = patch_order[:, view * vp + slot]
            coeff[rows, patch, 2 * y + view] = weight[:, slot]
    for slot in range(spec.offclass_features):
        other = (y + rng.integers(1, k, size=n)) % k  # any class but y
        feature = 2 * other + rng.integers(0, 2, size=n)
        coeff[rows, patch_order[:, 2 * vp + slot], feature] = spec.offclass_weight

    x = coeff @ features  # [n, P, d]
    noise_std = spec.noise_norm / np.sqrt(spec.patch_dim)
    x += noise_std * rng.standard_normal(x.shape)
    return x.astype(np.float32), y.astype(np.int32), multi


def _groups(multi_view: np.ndarray) -> dict:
    return {"multi_view": multi_view, "single_view": ~multi_view}


def make_multiview_patches(spec: MultiViewSpec) -> ArrayDataset:
    """The theory's form: x [N, P, d] float32."""
    spec.validate()
    features = view_features(spec)
    rng = np.random.default_rng([spec.seed, 11])
    x_tr, y_tr, _ = sample_patches(spec, spec.num_train, rng, features)
    x_te, y_te, multi_te = sample_patches(spec, spec.num_test, rng, features)
    return make_array_dataset(
        "multiview_patches", x_tr, y_tr, x_te, y_te, spec.num_classes, _groups(multi_te))


def patches_to_images(x: np.ndarray, patch_size: int, contrast: float) -> np.ndarray:
    """Tiles [N, P, s*s*3] patches into [N, H, W, 3] uint8 images (P must be a square).

    A unit-norm patch vector becomes a texture of RMS amplitude `contrast` grey levels
    around 128.
    """
    n, num_p, d = x.shape
    grid = int(round(np.sqrt(num_p)))
    scale = contrast * np.sqrt(d)
    cells = x.reshape(n, grid, grid, patch_size, patch_size, 3)
    images = cells.transpose(0, 1, 3, 2, 4, 5).reshape(
        n, grid * patch_size, grid * patch_size, 3)
    return np.clip(np.rint(128.0 + scale * images), 0, 255).astype(np.uint8)


def make_multiview_images(
    spec: MultiViewSpec, image_size: int = 32, patch_size: int = 8, contrast: float = 40.0
) -> ArrayDataset:
    """The image form: [N, image_size, image_size, 3] uint8, one patch per grid cell."""
    if image_size % patch_size:
        raise UsageError(
            f"data.image_size={image_size} is not a multiple of "
            f"data.multiview.patch_size={patch_size}")
    grid = image_size // patch_size
    spec = dataclasses.replace(
        spec, num_patches=grid * grid, patch_dim=patch_size * patch_size * 3)
    spec.validate()
    features = view_features(spec)
    rng = np.random.default_rng([spec.seed, 11])
    x_tr, y_tr, _ = sample_patches(spec, spec.num_train, rng, features)
    x_te, y_te, multi_te = sample_patches(spec, spec.num_test, rng, features)
    return make_array_dataset(
        "multiview_images",
        patches_to_images(x_tr, patch_size, contrast),
        y_tr,
        patches_to_images(x_te, patch_size, contrast),
        y_te,
        spec.num_classes,
        _groups(multi_te),
    )
