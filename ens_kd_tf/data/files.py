"""Bring-your-own data: an .npz file of arrays, or a folder of images (one folder a class)."""

from __future__ import annotations

import io
import os
from typing import List, Tuple

import numpy as np
import tensorflow as tf

from ens_kd_tf.data.base import ArrayDataset, make_array_dataset
from ens_kd_tf.errors import UsageError

NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def load_npz(path: str) -> ArrayDataset:
    """Loads `path` (.npz with x_train, y_train, x_test, y_test; local or gs://).

    x arrays are uint8 images [N, H, W, C] or float features [N, ...]; y arrays int labels [N].
    Pickled objects are refused (allow_pickle=False).
    """
    if not path:
        raise UsageError("data.name='npz' needs data.path=<file.npz>")
    if not tf.io.gfile.exists(path):
        raise UsageError(f"data.path={path!r} does not exist")
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            arrays = np.load(io.BytesIO(f.read()), allow_pickle=False)
            missing = [k for k in NPZ_ARRAYS if k not in arrays.files]
            if missing:
                raise UsageError(
                    f"data.path={path!r} lacks the arrays {missing}; an .npz dataset needs "
                    f"{list(NPZ_ARRAYS)} (found {sorted(arrays.files)})")
            loaded = {k: arrays[k] for k in NPZ_ARRAYS}
    except UsageError:
        raise
    except Exception as e:  # np.load reports bad files with many exception types
        raise UsageError(f"data.path={path!r} is not a readable .npz file ({e})") from None
    name = os.path.splitext(os.path.basename(path))[0]
    return make_array_dataset(name, **loaded)


def _class_folders(split_dir: str) -> List[str]:
    return sorted(
        d.rstrip("/") for d in tf.io.gfile.listdir(split_dir)
        if tf.io.gfile.isdir(os.path.join(split_dir, d.rstrip("/"))))


def _read_split(split_dir: str, classes: List[str], size: int) -> Tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for label, cls in enumerate(classes):
        folder = os.path.join(split_dir, cls)
        if not tf.io.gfile.isdir(folder):
            continue  # a class may be absent from the test split
        for fname in sorted(tf.io.gfile.listdir(folder)):
            if not fname.lower().endswith(IMAGE_EXTENSIONS):
                continue
            fpath = os.path.join(folder, fname)
            try:
                img = tf.io.decode_image(
                    tf.io.read_file(fpath), channels=3, expand_animations=False)
            except tf.errors.OpError:
                raise UsageError(f"{fpath!r} is not a readable image") from None
            if size:
                img = tf.cast(tf.round(tf.image.resize(img, (size, size))), tf.uint8)
            images.append(img.numpy())
            labels.append(label)
    if not images:
        raise UsageError(f"{split_dir!r} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise UsageError(
            f"images in {split_dir!r} have different sizes {sorted(shapes)[:3]}...; "
            "set data.image_size=<pixels> to resize them")
    return np.stack(images), np.asarray(labels, np.int32)


def load_image_folder(path: str, image_size: int = 0) -> ArrayDataset:
    """Loads `path/train/<class>/*.png|jpg` and `path/test/<class>/*` into memory.

    Class names are the sorted folder names of train/; labels are their indices. Images are
    decoded to RGB uint8 and resized to image_size x image_size when image_size > 0. Meant for
    datasets that fit in host memory.
    """
    if not path:
        raise UsageError("data.name='image_folder' needs data.path=<folder>")
    for split in ("train", "test"):
        if not tf.io.gfile.isdir(os.path.join(path, split)):
            raise UsageError(
                f"data.path={path!r} has no {split}/ folder; expected {path}/train/<class>/*.png "
                f"and {path}/test/<class>/*.png")
    classes = _class_folders(os.path.join(path, "train"))
    test_classes = _class_folders(os.path.join(path, "test"))
    unknown = sorted(set(test_classes) - set(classes))
    if unknown:
        raise UsageError(f"{path}/test has classes {unknown} that train/ does not have")
    x_train, y_train = _read_split(os.path.join(path, "train"), classes, image_size)
    x_test, y_test = _read_split(os.path.join(path, "test"), classes, image_size)
    name = os.path.basename(path.rstrip("/"))
    return make_array_dataset(name, x_train, y_train, x_test, y_test, len(classes))
