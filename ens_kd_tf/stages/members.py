"""Ensemble members: seeds seed .. seed + L - 1 trained at <workdir>/members/seed_<n>/, and
finding / loading the members a workdir holds."""

from __future__ import annotations

import re
from typing import List, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.errors import UsageError
from ens_kd_tf.stages.classifier import train_classifier, with_seed
from ens_kd_tf.stages.results import MODEL_FILE, TEST_LOGITS, load_results
from ens_kd_tf.export import load_keras
from ens_kd_tf.strategy import Runtime


def member_dir(workdir: str, seed: int) -> str:
    return io_utils.join(workdir, "members", f"seed_{seed}")


def member_seeds(config, count: int = 0) -> List[int]:
    return [config.seed + i for i in range(count or config.ensemble.num_members)]


def train_members(config, workdir: str, runtime: Runtime, data: ArrayDataset,
                  seeds: Sequence[int]) -> List[dict]:
    """Trains (or resumes, or skips when done) one member per seed; returns their results."""
    return [train_classifier(with_seed(config, s), member_dir(workdir, s), runtime, data)
            for s in seeds]


def finished_member_seeds(workdir: str) -> List[int]:
    """Seeds of the completed members in workdir/members/, sorted."""
    root = io_utils.join(workdir, "members")
    if not tf.io.gfile.isdir(root):
        return []
    seeds = []
    for name in tf.io.gfile.listdir(root):
        match = re.fullmatch(r"seed_(\d+)/?", name)
        if match and load_results(io_utils.join(root, name.rstrip("/"))):
            seeds.append(int(match[1]))
    return sorted(seeds)


def require_members(workdir: str, data: ArrayDataset, seeds: Sequence[int] = ()) -> List[int]:
    """The member seeds to use from `workdir` (all finished ones unless `seeds` is given),
    checked against the dataset; a clear error when there are none or they do not fit."""
    found = finished_member_seeds(workdir)
    if seeds:
        missing = sorted(set(seeds) - set(found))
        if missing:
            raise UsageError(f"{workdir} has no finished members for seeds {missing} "
                             f"(expected {workdir}/members/seed_<n>/results.json)")
        found = list(seeds)
    if not found:
        raise UsageError(f"teacher workdir {workdir!r} holds no trained members "
                         f"(expected {workdir}/members/seed_<n>/model.keras); train them with "
                         "configs/ensemble.py first")
    for seed in found:
        info = load_results(member_dir(workdir, seed))["dataset"]
        if info["num_classes"] != data.info.num_classes:
            raise UsageError(
                f"member {member_dir(workdir, seed)} has {info['num_classes']} classes but "
                f"dataset {data.info.name} has {data.info.num_classes}")
        if tuple(info["input_shape"]) != tuple(data.info.input_shape):
            raise UsageError(
                f"member {member_dir(workdir, seed)} takes inputs of shape "
                f"{tuple(info['input_shape'])} but dataset {data.info.name} has "
                f"{tuple(data.info.input_shape)}")
    return found


def load_member_models(workdir: str, seeds: Sequence[int]) -> Tuple[List[keras.Model], List[str]]:
    """Loads members' model.keras (safe_mode), renamed member_<seed> so they can share a
    model. Call inside the strategy scope when they will train or teach."""
    models, names = [], []
    for seed in seeds:
        path = io_utils.join(member_dir(workdir, seed), MODEL_FILE)
        try:
            model = load_keras(path)
        except Exception as e:  # unreadable or foreign file
            raise UsageError(f"cannot load member {path!r} ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''})") from None
        model.name = f"member_{seed}"
        models.append(model)
        names.append(path)
    return models, names


def member_test_logits(workdir: str, seeds: Sequence[int]) -> List[np.ndarray]:
    return [io_utils.read_array(io_utils.join(member_dir(workdir, s), TEST_LOGITS))
            for s in seeds]
