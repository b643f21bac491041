"""Writes tiny CIFAR-10 / CIFAR-100 archives in the original binary format (for the real
TFDS builders, without a download)."""

from __future__ import annotations

import os

import numpy as np


def _records(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Each record: label byte(s), then the 3072 image bytes in R, G, B planes."""
    planes = images.transpose(0, 3, 1, 2).reshape(images.shape[0], -1)
    labels = labels.reshape(images.shape[0], -1).astype(np.uint8)
    return np.concatenate([labels, planes], axis=1).astype(np.uint8).tobytes()


def write_fake_cifar10(root: str, per_file: int = 4, seed: int = 0) -> dict:
    """Writes root/cifar-10-batches-bin/*; returns {"train": (x, y), "test": (x, y)}."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
        f.write("\n".join(f"class{i}" for i in range(10)) + "\n")
    written = {}
    files = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
    for split, names in files.items():
        xs, ys = [], []
        for name in names:
            x = rng.integers(0, 256, (per_file, 32, 32, 3), dtype=np.uint8)
            y = rng.integers(0, 10, per_file).astype(np.uint8)
            with open(os.path.join(folder, name), "wb") as f:
                f.write(_records(x, y))
            xs.append(x)
            ys.append(y)
        written[split] = (np.concatenate(xs), np.concatenate(ys))
    return written


def write_fake_cifar100(root: str, per_split: int = 6, seed: int = 0) -> dict:
    """Writes root/cifar-100-binary/*; returns {"train": (x, fine_y), "test": (x, fine_y)}."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "cifar-100-binary")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "coarse_label_names.txt"), "w") as f:
        f.write("\n".join(f"coarse{i}" for i in range(20)) + "\n")
    with open(os.path.join(folder, "fine_label_names.txt"), "w") as f:
        f.write("\n".join(f"fine{i}" for i in range(100)) + "\n")
    written = {}
    for split, name in (("train", "train.bin"), ("test", "test.bin")):
        x = rng.integers(0, 256, (per_split, 32, 32, 3), dtype=np.uint8)
        fine = rng.integers(0, 100, per_split)
        labels = np.stack([fine // 5, fine], axis=1)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(_records(x, labels))
        written[split] = (x, fine.astype(np.uint8))
    return written
