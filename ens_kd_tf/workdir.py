"""The run directory: creation checks, config.json, and the config-match rule on resume."""

from __future__ import annotations

import json
import uuid

import tensorflow as tf

from ens_kd_tf import io_utils
from ens_kd_tf.config_defaults import all_sections_defaults
from ens_kd_tf.errors import UsageError

# Fields that may change between a run and its resumption (hardware, verbosity, and
# which member a machine of a parallel ensemble run trains).
RESUME_FREE_PREFIXES = ("runtime.", "force", "member")


def _first_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(text.split("\n")[0].split())


def check_reachable(field: str, path: str) -> None:
    """One metadata read of a remote path (gs://...), so an unreachable bucket is reported
    in one line before any work; local paths are left to the checks that use them."""
    if "://" not in path:
        return
    try:
        tf.io.gfile.exists(path)
    except tf.errors.OpError as e:
        raise UsageError(
            f"{field}={path!r} cannot be reached: {_first_line(e)}; check network access "
            "and credentials (gcloud auth application-default login), or use a local path"
        ) from None


def check_storage(config, workdir: str) -> None:
    """Every remote path of the run (workdir, TFDS data_dir, data.path, teacher workdir)
    must be reachable before training starts."""
    check_reachable("--workdir", workdir)
    for field in ("data.data_dir", "data.path", "distill.teacher_workdir"):
        section, name = field.split(".")
        if name in config.get(section, {}):  # the sections this experiment has
            check_reachable(f"--config.{field}", config[section][name])


def ensure_writable_dir(path: str) -> None:
    """Creates `path` if needed; fails clearly if it is a file or cannot be written."""
    try:
        is_file = tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path)
    except tf.errors.OpError as e:
        raise UsageError(f"--workdir={path!r} cannot be read: {_first_line(e)}") from None
    if is_file:
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


def _effective(flat: dict) -> dict:
    """`flat` with joint_sum.num_members 0 spelt out (it means ensemble.num_members)."""
    if flat.get("joint_sum.num_members") == 0 and "ensemble.num_members" in flat:
        flat = dict(flat, **{"joint_sum.num_members": flat["ensemble.num_members"]})
    return flat


def config_diff(old: dict, new: dict, defaults: dict | None = None) -> list:
    """Fields that differ, as "field: old -> new" strings (resume-free fields excluded).

    Two kinds of field are no difference, so a workdir written by an older version of the
    package resumes:
      - a field absent from `old` whose new value is its default in `defaults`: it was added
        after the workdir was written, and the old run behaved as its default says;
      - a field absent from `new`: this experiment does not read it (configs once carried
        every section), so it cannot have shaped what the workdir holds.
    """
    a, b = _effective(_flatten(old)), _effective(_flatten(new))
    added_at_default = {k for k, v in _flatten(defaults or {}).items()
                        if k not in a and k in b and _same(b[k], v)}
    rows = []
    for key in sorted(b):
        if key.startswith(RESUME_FREE_PREFIXES) or key in added_at_default:
            continue
        va, vb = a.get(key, "<absent>"), b.get(key, "<absent>")
        if isinstance(va, (list, tuple)) and isinstance(vb, (list, tuple)):
            va, vb = list(va), list(vb)
        if va != vb:
            rows.append(f"{key}: {va!r} -> {vb!r}")
    return rows


def _same(x, y) -> bool:
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return list(x) == list(y)
    return x == y


def config_json(config) -> dict:
    """The config as plain JSON data (tuples become lists)."""
    return json.loads(config.to_json())


def check_config_file(workdir: str, config) -> bool:
    """Checks workdir/config.json against `config` without writing; True if it must be
    (re)written.

    A mismatch, or an existing file that is not a valid JSON config, stops with one line
    unless config.force is true (then the new config will replace the old one): nothing is
    overwritten silently.
    """
    path = io_utils.join(workdir, "config.json")
    force = config.get("force", False)
    if not tf.io.gfile.exists(path):
        return True
    try:
        old = io_utils.read_json(path)
        if not isinstance(old, dict):
            raise ValueError(f"a JSON {type(old).__name__}, not an object")
    except (ValueError, tf.errors.OpError) as e:
        if force:
            return True
        raise UsageError(
            f"{path} is not a readable config ({type(e).__name__}: {_first_line(e)}); it was "
            "left as it is: use another --workdir, or --config.force=true to replace it with "
            "this run's config") from None
    defaults = config_json(all_sections_defaults())
    diff = config_diff(old, config_json(config), defaults)
    if diff and not force:
        raise UsageError(
            f"{path} was written by a different config ({'; '.join(diff)}); use another "
            "--workdir, or --config.force=true to resume with the new config")
    return bool(diff)


def write_or_check_config(workdir: str, config) -> None:
    """Writes workdir/config.json unless an identical one is there (see check_config_file)."""
    if check_config_file(workdir, config):
        io_utils.write_json_atomic(io_utils.join(workdir, "config.json"), config_json(config))
