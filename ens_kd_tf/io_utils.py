"""Atomic artifact writes through tf.io.gfile (local paths, gs://, ...).

Every artifact is written under a temporary name in the same directory and renamed into
place, so a reader (or a resumed run) never sees a half-written file.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import uuid
from typing import Any, Callable

import numpy as np
import tensorflow as tf

from ens_kd_tf.errors import storage_error


def join(*parts: str) -> str:
    return os.path.join(*parts)


def is_local(path: str) -> bool:
    return "://" not in path


def _tmp_name(path: str) -> str:
    return f"{path}.tmp-{uuid.uuid4().hex[:8]}"


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Writes `data` to `path` via a temporary file and a rename."""
    parent = os.path.dirname(path)
    if parent:
        tf.io.gfile.makedirs(parent)
    tmp = _tmp_name(path)
    try:
        with tf.io.gfile.GFile(tmp, "wb") as f:
            f.write(data)
        tf.io.gfile.rename(tmp, path, overwrite=True)
    except (OSError, tf.errors.OpError) as e:
        raise storage_error(path, e) from None
    finally:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)


def write_text_atomic(path: str, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def _json_default(obj: Any):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def json_data(obj: Any) -> Any:
    """`obj` as it reads back from JSON (tuples -> lists, NumPy scalars -> Python)."""
    return json.loads(json.dumps(obj, default=_json_default))


def write_json_atomic(path: str, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default)
                      + "\n")


def read_json(path: str) -> Any:
    with tf.io.gfile.GFile(path, "r") as f:
        return json.loads(f.read())


def write_array_atomic(path: str, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    write_bytes_atomic(path, buf.getvalue())


def write_arrays_atomic(path: str, arrays: dict) -> None:
    """Named arrays as one .npz (no pickled objects)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes_atomic(path, buf.getvalue())


def read_arrays(path: str) -> dict:
    with tf.io.gfile.GFile(path, "rb") as f:
        with np.load(io.BytesIO(f.read()), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}


def read_array(path: str) -> np.ndarray:
    with tf.io.gfile.GFile(path, "rb") as f:
        return np.load(io.BytesIO(f.read()), allow_pickle=False)


def remove_tree(path: str) -> None:
    if tf.io.gfile.exists(path):
        if tf.io.gfile.isdir(path):
            tf.io.gfile.rmtree(path)
        else:
            tf.io.gfile.remove(path)


def write_dir_atomic(path: str, write: Callable[[str], None]) -> None:
    """Calls `write(local_dir)` and puts the result at `path` as a whole.

    Local: written next to `path` and renamed into place (the old copy is removed only after
    the new one is complete). Remote (gs://): written to a local temp dir and copied; the
    caller's completion marker (results.json) is written after this returns.
    """
    if is_local(path):
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        tmp = _tmp_name(path)
        old = f"{path}.old-{uuid.uuid4().hex[:8]}"
        try:
            write(tmp)
            if os.path.exists(path):
                os.rename(path, old)
            os.rename(tmp, path)
        except (OSError, tf.errors.OpError) as e:
            if os.path.exists(old) and not os.path.exists(path):
                os.rename(old, path)  # put the previous copy back
            raise storage_error(path, e) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
        return
    with tempfile.TemporaryDirectory() as local:
        local_dir = os.path.join(local, "out")
        try:
            write(local_dir)
            remove_tree(path)
            copy_tree(local_dir, path)
        except (OSError, tf.errors.OpError) as e:
            raise storage_error(path, e) from None


def copy_tree(src: str, dst: str) -> None:
    """Recursively copies a directory with tf.io.gfile (works across filesystems)."""
    for dirpath, _, files in tf.io.gfile.walk(src):
        rel = os.path.relpath(dirpath, src)
        target = dst if rel == "." else os.path.join(dst, rel)
        tf.io.gfile.makedirs(target)
        for fname in files:
            tf.io.gfile.copy(os.path.join(dirpath, fname), os.path.join(target, fname),
                             overwrite=True)


def clean_stale_temporaries(directory: str) -> None:
    """Removes `*.tmp-*` / `*.old-*` leftovers of a killed writer in `directory`."""
    if not tf.io.gfile.isdir(directory):
        return
    for name in tf.io.gfile.listdir(directory):
        name = name.rstrip("/")
        if ".tmp-" in name or ".old-" in name:
            remove_tree(os.path.join(directory, name))
