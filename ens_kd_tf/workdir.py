"""The run directory: creation checks, config.json, and the config-match rule on resume."""

from __future__ import annotations

import json
import uuid

import tensorflow as tf

from ens_kd_tf import io_utils
from ens_kd_tf.errors import UsageError

# Fields that may change between a run and its resumption (hardware, verbosity, and
# which member a machine of a parallel ensemble run trains).
RESUME_FREE_PREFIXES = ("runtime.", "force", "member")


def ensure_writable_dir(path: str) -> None:
    """Creates `path` if needed; fails clearly if it is a file or cannot be written."""
    if tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path):
        raise UsageError(f"--workdir={path!r} is a file; give a directory")
    try:
        tf.io.gfile.makedirs(path)
        probe = io_utils.join(path, f".write-probe-{uuid.uuid4().hex[:8]}")
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("ok")
        tf.io.gfile.remove(probe)
    except (tf.errors.OpError, OSError) as e:
        raise UsageError(f"--workdir={path!r} is not writable ({type(e).__name__})") from None


def _flatten(d: dict, prefix: str = "") -> dict:
    flat = {}
    for k, v in d.items():
        if isinstance(v, dict):
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def config_diff(old: dict, new: dict) -> list:
    """Fields that differ, as "field: old -> new" strings (resume-free fields excluded)."""
    a, b = _flatten(old), _flatten(new)
    rows = []
    for key in sorted(set(a) | set(b)):
        if key.startswith(RESUME_FREE_PREFIXES):
            continue
        va, vb = a.get(key, "<absent>"), b.get(key, "<absent>")
        if isinstance(va, (list, tuple)) and isinstance(vb, (list, tuple)):
            va, vb = list(va), list(vb)
        if va != vb:
            rows.append(f"{key}: {va!r} -> {vb!r}")
    return rows


def config_json(config) -> dict:
    """The config as plain JSON data (tuples become lists)."""
    return json.loads(config.to_json())


def write_or_check_config(workdir: str, config) -> None:
    """Writes workdir/config.json, or checks that an existing one matches `config`.

    A mismatch stops with the differing fields unless config.force is true (then the new
    config replaces the old one).
    """
    path = io_utils.join(workdir, "config.json")
    new = config_json(config)
    if tf.io.gfile.exists(path):
        try:
            old = io_utils.read_json(path)
        except (ValueError, tf.errors.OpError):
            old = None
        if old is not None:
            diff = config_diff(old, new)
            if diff and not config.get("force", False):
                raise UsageError(
                    f"{path} was written by a different config ({'; '.join(diff)}); use "
                    "another --workdir, or --config.force=true to resume with the new config")
            if not diff:
                return
    io_utils.write_json_atomic(path, new)
