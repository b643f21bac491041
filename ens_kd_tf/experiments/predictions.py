"""The paper's predictions (PAPER.md "The seven messages"), each checked against measured
table rows, so a report says which hold at this scale and which do not.

Every check states its expected direction AND size, with "std" the sample std (ddof=1) of
the single models' test accuracy. Students are compared like with like: a KD / SD row's
`gain` is the student minus a plain model of the same seed (experiments/scratch.py). A large
deviation in the unexpected direction (e.g. a student far WORSE than its scratch model) is a
check of its own, so a broken run cannot pass a one-sided test.
"""

from __future__ import annotations

from typing import Optional

STD_NOTE = "std = sample std (ddof=1) of the single models"


def _acc(row: dict, group: str = "") -> float:
    """Accuracy of a row: a plain value (one model) or a mean +- std summary."""
    value = (row[group] if group else row)["accuracy"]
    return value["mean"] if isinstance(value, dict) else value


def _mean(value) -> float:
    """A plain number or the mean of a {"mean", "std"} summary (a gain over repeats)."""
    return value["mean"] if isinstance(value, dict) else value


def _checker(out: list):
    def check(claim: str, holds: bool, measured: str) -> None:
        out.append({"claim": claim, "holds": bool(holds), "measured": measured})
    return check


def _student_gains(rows: list) -> dict:
    """{"kd" / "sd": gain over the same-seed scratch model in points} for student rows."""
    return {r["kind"]: _mean(r["gain"]) for r in rows
            if r.get("kind") in ("kd", "sd") and "gain" in r}


def _within(check, claim: str, value: float, tol: float, measured: str) -> None:
    """Two checks for "value within +-tol of 0" (points): one per side, each failing alone,
    so the report says in which direction a large deviation went."""
    check(f"{claim} is not ABOVE its same-seed scratch model by more than {tol:.2f} points",
          value <= tol, measured)
    check(f"{claim} is not BELOW its same-seed scratch model by more than {tol:.2f} points "
          "(unexpected direction)", value >= -tol, measured)


def network_predictions(rows: list, mu: Optional[float] = None) -> list:
    """PAPER.md's messages 4-6 for networks (and, on multi-view data with single-view
    probability `mu`, the theory's single-model errors), checked against the rows."""
    by_kind = {r["kind"]: r for r in rows}
    single, ens = by_kind["single"], by_kind["ensemble"]
    gain = 100 * (_acc(ens) - _acc(single))
    std = 100 * single["accuracy"]["std"]
    out = []
    check = _checker(out)
    if mu is not None and "multi_view" in single:
        sv_err, mv_err = 1 - _acc(single, "single_view"), 1 - _acc(single, "multi_view")
        check(f"single model errs on 1/2 +- 0.15 of single-view samples (overall ~mu/2 = "
              f"{mu / 2:.3f})", abs(sv_err - 0.5) < 0.15,
              f"single-view error {sv_err:.3f}, overall {1 - _acc(single):.3f}")
        check("single model errs on almost no multi-view sample (< 0.02)", mv_err < 0.02,
              f"multi-view error {mv_err:.3f}")
    measured = f"gain {gain:+.2f} points, {STD_NOTE} {std:.2f}"
    check("ensemble beats the mean single model by more than 2 std", gain > 2 * std, measured)
    check("ensemble is not WORSE than the mean single model by more than 2 std "
          "(unexpected direction)", gain >= -2 * std, measured)
    students = _student_gains(rows)
    if "kd" in students:
        kd = students["kd"]
        measured = (f"KD - same-seed scratch {kd:+.2f} points, ensemble - single "
                    f"{gain:+.2f}, {STD_NOTE} {std:.2f}")
        check("KD student recovers more than 1/2 of the ensemble's gain over its same-seed "
              "scratch model", gain > 0 and kd > gain / 2, measured)
        check("KD student is not WORSE than its same-seed scratch model by more than 2 std "
              "(unexpected direction)", kd >= -2 * std, measured)
    if "sd" in students:
        sd = students["sd"]
        measured = f"SD - same-seed scratch {sd:+.2f} points, {STD_NOTE} {std:.2f}"
        check("self-distillation beats its same-seed scratch model by more than 2 std",
              sd > 2 * std, measured)
        check("self-distillation is not WORSE than its same-seed scratch model by more than "
              "2 std (unexpected direction)", sd >= -2 * std, measured)
    if "sum" in by_kind:
        sum_gain = 100 * (_acc(by_kind["sum"]) - _acc(single))
        check("the jointly trained sum does NOT match the ensemble: its gain over single is "
              "less than 1/2 of the ensemble's", gain > 0 and sum_gain < gain / 2,
              f"sum {sum_gain:+.2f} vs ensemble {gain:+.2f} points")
    return out


def kernel_predictions(rows: list) -> list:
    """PAPER.md's messages 1-3 for neural-kernel models, checked against the rows.

    Tolerance tol = max(2 std, 1 point): the ensemble must gain more than tol; the sum must
    gain at least the ensemble's gain - tol; KD and SD must stay within +-tol of their
    same-seed scratch models (one check per side).
    """
    by_kind = {r["kind"]: r for r in rows}
    single = by_kind["single"]
    std = 100 * single["accuracy"]["std"]
    tol = max(2 * std, 1.0)
    gain = 100 * (_acc(by_kind["ensemble"]) - _acc(single))
    out = []
    check = _checker(out)
    measured = f"gain {gain:+.2f} points, {STD_NOTE} {std:.2f}, tol {tol:.2f}"
    check("the ensemble helps: gain over the mean single model > tol = max(2 std, 1 point)",
          gain > tol, measured)
    check("the ensemble is not WORSE than the mean single model by more than tol "
          "(unexpected direction)", gain >= -tol, measured)
    if "sum" in by_kind:
        sum_gain = 100 * (_acc(by_kind["sum"]) - _acc(single))
        check("training the sum helps as much as the ensemble (sum gain >= ensemble gain - "
              "tol)", sum_gain >= gain - tol,
              f"sum {sum_gain:+.2f} vs ensemble {gain:+.2f} points, tol {tol:.2f}")
    for kind, value in _student_gains(rows).items():
        _within(check, "KD student" if kind == "kd" else "SD student", value, tol,
                f"{kind.upper()} - same-seed scratch {value:+.2f} points, tol = max(2 std, "
                f"1 point) = {tol:.2f}, {STD_NOTE}")
    return out


def predictions_for(model_name: str, rows: list, mu: Optional[float] = None) -> list:
    from ens_kd_tf.models import KERNEL_SUFFIXES

    if model_name.endswith(KERNEL_SUFFIXES):
        return kernel_predictions(rows)
    return network_predictions(rows, mu)
