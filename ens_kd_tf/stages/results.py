"""A stage's files and the table rows built from stage results.

Every stage writes results.json last, with "complete": true, so a stage with that file is
done and one without it is redone or resumed.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf
from absl import logging

from ens_kd_tf import io_utils
from ens_kd_tf.strategy import Runtime

RESULTS = "results.json"
TEST_LOGITS = "test_logits.npy"
MODEL_FILE = "model.keras"
EXPORT_DIR = "export"


def load_results(stage_dir: str) -> Optional[dict]:
    """The stage's results if it completed (results.json is written last), else None."""
    path = io_utils.join(stage_dir, RESULTS)
    if not tf.io.gfile.exists(path):
        return None
    try:
        results = io_utils.read_json(path)
    except (ValueError, tf.errors.OpError):
        logging.warning("%s is unreadable; the stage will be redone", path)
        return None
    return results if results.get("complete") else None


def save_results(stage_dir: str, results: dict, runtime: Runtime) -> dict:
    """Marks `results` complete and writes them (chief only); returns them as JSON data."""
    results = io_utils.json_data(dict(results, complete=True))
    if runtime.is_chief:
        io_utils.write_json_atomic(io_utils.join(stage_dir, RESULTS), results)
    return results


def row(name: str, test: dict, **extra) -> dict:
    """A table row: the metrics of `test` (evaluate_logits or summarize_members output)."""
    return {"name": name, **test, **extra}


def views_of(results: dict) -> dict:
    """{"views": ...} of a stage's results on multi-view data (probes.py), else {}."""
    return {"views": results["views"]} if results.get("views") else {}
