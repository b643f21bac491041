"""CIFAR-10 / CIFAR-100 through tensorflow-datasets, loaded once into host memory.

Offline, `tfds.load` retries a download for minutes. We check for prepared data first and,
when it is missing and the download host is unreachable, fail in seconds with a message that
says how to prepare the data.
"""

from __future__ import annotations

import socket

import numpy as np

from ens_kd_tf.data.base import ArrayDataset, make_array_dataset
from ens_kd_tf.errors import UsageError

# Registry name -> (tfds name, host the tfds builder downloads from).
TFDS_DATASETS = {
    "cifar10": ("cifar10", "www.cs.toronto.edu"),
    "cifar100": ("cifar100", "www.cs.toronto.edu"),
}


def network_available(host: str, timeout_s: float = 3.0) -> bool:
    """True if a TCP connection to host:443 opens within `timeout_s` seconds."""
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def _prepare_hint(tfds_name: str, data_dir: str) -> str:
    where = data_dir or "~/tensorflow_datasets"
    return (
        f"prepare it on a machine with network access with `python -c \"import "
        f"tensorflow_datasets as tfds; tfds.builder('{tfds_name}', data_dir='{where}')"
        f".download_and_prepare()\"` (or `tfds build {tfds_name} --data_dir={where}`), "
        f"copy {where}/{tfds_name} here, and pass --config.data.data_dir={where}"
    )


def _split_arrays(builder, split: str):
    """The whole split as arrays. Read in chunks: batch_size=-1 needs a known cardinality,
    which mocked or generated datasets may lack."""
    import tensorflow_datasets as tfds

    ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
    images, labels = [], []
    for x, y in tfds.as_numpy(ds.batch(4096)):
        images.append(x)
        labels.append(y)
    return (np.concatenate(images).astype(np.uint8, copy=False),
            np.concatenate(labels).astype(np.int32))


def load_tfds(name: str, data_dir: str = "", download: bool = True) -> ArrayDataset:
    """Loads a TFDS image-classification dataset's train and test splits into memory.

    Args:
      name: a key of TFDS_DATASETS.
      data_dir: TFDS data directory ("" = TFDS' default, ~/tensorflow_datasets); may be gs://.
      download: download and prepare the data when it is not prepared yet.

    Returns:
      ArrayDataset with uint8 images [N, 32, 32, 3] and int32 labels.
    """
    import tensorflow_datasets as tfds

    tfds_name, host = TFDS_DATASETS[name]
    builder = tfds.builder(tfds_name, data_dir=data_dir or None)
    if not builder.is_prepared():
        if not download:
            raise UsageError(
                f"{tfds_name} is not prepared in data_dir={data_dir or '(tfds default)'!r} and "
                f"data.download is False; {_prepare_hint(tfds_name, data_dir)}")
        if not network_available(host):
            raise UsageError(
                f"{tfds_name} is not prepared in data_dir={data_dir or '(tfds default)'!r} "
                f"and {host} cannot be reached to download it; "
                f"{_prepare_hint(tfds_name, data_dir)}")
        builder.download_and_prepare()
    x_train, y_train = _split_arrays(builder, "train")
    x_test, y_test = _split_arrays(builder, "test")
    num_classes = builder.info.features["label"].num_classes
    return make_array_dataset(name, x_train, y_train, x_test, y_test, num_classes)
