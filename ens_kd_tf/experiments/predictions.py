"""The paper's predictions (PAPER.md "The seven messages"), each checked against measured
table rows, so a report says which hold at this scale and which do not."""

from __future__ import annotations

from typing import Optional


def _acc(row: dict, group: str = "") -> float:
    """Accuracy of a row: a plain value (one model) or a mean +- std summary."""
    value = (row[group] if group else row)["accuracy"]
    return value["mean"] if isinstance(value, dict) else value


def _checker(out: list):
    def check(claim: str, holds: bool, measured: str) -> None:
        out.append({"claim": claim, "holds": bool(holds), "measured": measured})
    return check


def network_predictions(rows: list, mu: Optional[float] = None) -> list:
    """PAPER.md's messages 4-6 for networks (and, on multi-view data with single-view
    probability `mu`, the theory's single-model errors), checked against the rows."""
    by_kind = {r["kind"]: r for r in rows}
    single, ens = by_kind["single"], by_kind["ensemble"]
    gain = _acc(ens) - _acc(single)
    out = []
    check = _checker(out)
    if mu is not None and "multi_view" in single:
        sv_err, mv_err = 1 - _acc(single, "single_view"), 1 - _acc(single, "multi_view")
        check(f"single model errs on ~1/2 of single-view samples (overall ~mu/2 = {mu / 2:.3f})",
              abs(sv_err - 0.5) < 0.15,
              f"single-view error {sv_err:.3f}, overall {1 - _acc(single):.3f}")
        check("single model errs on almost no multi-view sample (< 0.02)", mv_err < 0.02,
              f"multi-view error {mv_err:.3f}")
    std = single["accuracy"]["std"]
    check("ensemble clearly beats the mean single model (gain > 2 std of singles)",
          gain > 2 * std, f"gain {100 * gain:+.2f} points, single std {100 * std:.2f}")
    if "kd" in by_kind and gain > 0:
        share = (_acc(by_kind["kd"]) - _acc(single)) / gain
        check("KD student recovers most (> 1/2) of the ensemble's gain", share > 0.5,
              f"{100 * share:.0f}% recovered")
    if "sd" in by_kind:
        sd_gain = _acc(by_kind["sd"]) - _acc(single)
        check("self-distillation beats the single model", sd_gain > std,
              f"{100 * sd_gain:+.2f} points")
    if "sum" in by_kind and gain > 0:
        sum_gain = _acc(by_kind["sum"]) - _acc(single)
        check("the jointly trained sum does NOT match the ensemble (< 1/2 of its gain)",
              sum_gain < gain / 2, f"sum {100 * sum_gain:+.2f} vs ensemble "
              f"{100 * gain:+.2f} points")
    return out


def kernel_predictions(rows: list) -> list:
    """PAPER.md's messages 1-3 for neural-kernel models, checked against the rows."""
    by_kind = {r["kind"]: r for r in rows}
    single = by_kind["single"]
    std = single["accuracy"]["std"]
    gain = _acc(by_kind["ensemble"]) - _acc(single)
    out = []
    check = _checker(out)
    check("the ensemble helps (gain > 2 std of singles)", gain > 2 * std,
          f"gain {100 * gain:+.2f} points, single std {100 * std:.2f}")
    if "sum" in by_kind:
        sum_gain = _acc(by_kind["sum"]) - _acc(single)
        check("training the sum helps as much as the ensemble (>= its gain - 1 std)",
              sum_gain >= gain - std, f"sum {100 * sum_gain:+.2f} vs ensemble "
              f"{100 * gain:+.2f} points")
    for kind, claim in (("kd", "KD does not beat a single model by more than 2 std"),
                        ("sd", "SD does not beat a single model by more than 2 std")):
        if kind in by_kind:
            delta = _acc(by_kind[kind]) - _acc(single)
            check(claim, delta <= 2 * std, f"{100 * delta:+.2f} points")
    return out


def predictions_for(model_name: str, rows: list, mu: Optional[float] = None) -> list:
    from ens_kd_tf.models import KERNEL_SUFFIXES

    if model_name.endswith(KERNEL_SUFFIXES):
        return kernel_predictions(rows)
    return network_predictions(rows, mu)
