"""Evaluation on held-out data: accuracy, NLL, ECE, per test group, and ensemble diversity.

All metrics are computed in float64 NumPy from logits, so they are exact over the full split
(no padded batches, no replica effects) and identical for members, ensembles and students.
"""

from __future__ import annotations

import itertools
from typing import Dict, Mapping, Sequence

import keras
import numpy as np

from ens_kd_tf.data.pipeline import input_batches


def predict_logits(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Logits [N, k] float32 of `model` (inference mode) on inputs x [N, ...]."""
    ds, n = input_batches(x, batch_size)
    return np.asarray(model.predict(ds, verbose=0), np.float32)[:n]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(logits))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE with `bins` equal-width confidence bins (Guo et al. 2017)."""
    confidence = probs.max(axis=-1)
    correct = (probs.argmax(axis=-1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > lo) & (confidence <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def metrics_of_logits(logits: np.ndarray, labels: np.ndarray) -> Dict[str, float]:
    """{"accuracy", "nll", "ece"} of logits [N, k] against integer labels [N]."""
    logp = log_softmax(logits)
    return {
        "accuracy": float((logp.argmax(-1) == labels).mean()),
        "nll": float(-logp[np.arange(labels.shape[0]), labels].mean()),
        "ece": expected_calibration_error(np.exp(logp), labels),
    }


def evaluate_logits(
    logits: np.ndarray, labels: np.ndarray, groups: Mapping[str, np.ndarray] = ()
) -> Dict[str, object]:
    """Metrics on the whole split plus, for each named boolean mask, on that group."""
    result: Dict[str, object] = metrics_of_logits(logits, labels)
    for name, mask in dict(groups).items():
        if mask.any():
            result[name] = metrics_of_logits(logits[mask], labels[mask])
    return result


def average_logits(member_logits: Sequence[np.ndarray], reduction: str = "logits") -> np.ndarray:
    """The ensemble's output as logits: the mean of the members' logits ("logits"), or the
    log of the mean of their probabilities ("probs"), so softmax gives the averaged probs."""
    stacked = np.stack([np.asarray(m, np.float64) for m in member_logits])
    if reduction == "logits":
        return stacked.mean(0).astype(np.float32)
    mean_probs = np.exp(log_softmax(stacked)).mean(0)
    return np.log(np.maximum(mean_probs, 1e-30)).astype(np.float32)


def disagreement(member_logits: Sequence[np.ndarray]) -> float:
    """Mean over member pairs of the fraction of inputs where their predictions differ."""
    preds = [np.asarray(m).argmax(-1) for m in member_logits]
    pairs = list(itertools.combinations(range(len(preds)), 2))
    if not pairs:
        return 0.0
    return float(np.mean([(preds[i] != preds[j]).mean() for i, j in pairs]))


def mean_std(values: Sequence[float]) -> Dict[str, float]:
    """{"mean", "std"}: the sample std over seeds (ddof=1; 0 for a single value)."""
    arr = np.asarray(values, np.float64)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0}


def summarize_members(member_results: Sequence[Mapping]) -> Dict[str, object]:
    """Mean +- std of each metric (and group metric) over members' evaluate_logits results."""
    summary: Dict[str, object] = {}
    first = member_results[0]
    for key, value in first.items():
        if isinstance(value, Mapping):
            summary[key] = summarize_members([r[key] for r in member_results])
        else:
            summary[key] = mean_std([r[key] for r in member_results])
    return summary
