"""Dataset registry: `load_dataset(config.data)` -> ArrayDataset.

Names: multiview_images, multiview_patches, gaussian_teacher (built-in, offline), cifar10,
cifar100 (TFDS),
npz (data.path = file.npz), image_folder (data.path = folder with train/ and test/).
"""

from __future__ import annotations

from typing import Callable, Dict

from ens_kd_tf.data import tfds_data  # imports tensorflow_datasets itself, lazily
from ens_kd_tf.data.base import ArrayDataset, DatasetInfo  # noqa: F401  (re-exported)
from ens_kd_tf.data.files import load_image_folder, load_npz
from ens_kd_tf.data.gaussian import GaussianSpec, make_gaussian_teacher
from ens_kd_tf.data.multiview import (MultiViewSpec, make_multiview_images,
                                      make_multiview_patches)
from ens_kd_tf.errors import UsageError, check_choice, check_positive


def multiview_spec(cfg) -> MultiViewSpec:
    """data.multiview as a MultiViewSpec."""
    mv = cfg.multiview
    return MultiViewSpec(
        num_classes=mv.num_classes,
        num_patches=mv.num_patches,
        patch_dim=mv.patch_dim,
        single_view_prob=mv.single_view_prob,
        view_patches=mv.view_patches,
        strength_jitter=mv.strength_jitter,
        weak_view_weight=mv.weak_view_weight,
        offclass_features=mv.offclass_features,
        offclass_weight=mv.offclass_weight,
        noise_norm=mv.noise_norm,
        num_train=mv.num_train,
        num_test=mv.num_test,
        seed=mv.seed,
    )


def _multiview_images(cfg) -> ArrayDataset:
    return make_multiview_images(
        multiview_spec(cfg), cfg.image_size, cfg.multiview.patch_size,
        cfg.multiview.contrast)


def _multiview_patches(cfg) -> ArrayDataset:
    return make_multiview_patches(multiview_spec(cfg))


def _gaussian_teacher(cfg) -> ArrayDataset:
    return make_gaussian_teacher(GaussianSpec(**cfg.gaussian.to_dict()))


def _tfds(name: str) -> Callable:
    def load(cfg) -> ArrayDataset:
        return tfds_data.load_tfds(name, cfg.data_dir, cfg.download)

    return load


def _npz(cfg) -> ArrayDataset:
    return load_npz(cfg.path)


def _image_folder(cfg) -> ArrayDataset:
    return load_image_folder(cfg.path, cfg.image_size)


LOADERS: Dict[str, Callable] = {
    "multiview_images": _multiview_images,
    "multiview_patches": _multiview_patches,
    "gaussian_teacher": _gaussian_teacher,
    "cifar10": _tfds("cifar10"),
    "cifar100": _tfds("cifar100"),
    "npz": _npz,
    "image_folder": _image_folder,
}


def dataset_names() -> list:
    return sorted(LOADERS)


def load_dataset(data_config) -> ArrayDataset:
    """Loads the dataset `data_config.name` into host memory (see module docstring)."""
    return LOADERS[data_config.name](data_config)


def validate_data(data) -> None:
    """Checks config section `data` (names, sizes) with one-line errors."""
    check_choice("data.name", data.name, dataset_names())
    check_positive("data.augment.crop_padding", data.augment.crop_padding, allow_zero=True)
    check_positive("data.image_size", data.image_size, allow_zero=True)
    if data.name == "multiview_images":  # 0 ("keep the size") means nothing here
        patch = data.multiview.patch_size
        check_positive("data.multiview.patch_size", patch)
        if data.image_size <= 0 or data.image_size % patch:
            raise UsageError(
                f"data.image_size={data.image_size!r} is not valid for multiview_images; it "
                f"must be a positive multiple of data.multiview.patch_size={patch} (e.g. "
                f"{4 * patch})")
