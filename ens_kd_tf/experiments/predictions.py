"""The paper's predictions (PAPER.md "The seven messages"), each checked against measured
table rows, so a report says which hold at this scale and which do not.

Every check states its expected direction AND size, with "std" the sample std (ddof=1) of
the single models' test accuracy. Students are compared like with like: a KD / SD row's
`gain` is the student minus a plain model of the same seed (stages/scratch.py). A large
deviation in the unexpected direction (e.g. a student far WORSE than its scratch model) is a
check of its own, so a broken run cannot pass a one-sided test.
"""

from __future__ import annotations

from typing import Optional

from ens_kd_tf.models import KERNEL_SUFFIXES
from ens_kd_tf.probes import models_of

STD_NOTE = "std = sample std (ddof=1) of the single models"


def _acc(row: dict, group: str = "") -> float:
    """Accuracy of a row: a plain value (one model) or a mean +- std summary."""
    value = (row[group] if group else row)["accuracy"]
    return value["mean"] if isinstance(value, dict) else value


def _point(value) -> float:
    """A plain number or the mean of a {"mean", "std"} summary (a gain over repeats)."""
    return value["mean"] if isinstance(value, dict) else value


def _checker(out: list):
    def check(claim: str, holds: bool, measured: str) -> None:
        out.append({"claim": claim, "holds": bool(holds), "measured": measured})
    return check


def _student_gains(rows: list) -> dict:
    """{"kd" / "sd": gain over the same-seed scratch model in points} for student rows."""
    return {r["kind"]: _point(r["gain"]) for r in rows
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
    """The paper's checks for `rows`: Table 2's for kernel models; for networks Table 1's
    and, on multi-view data, the view-learning mechanism's (a theory of feature learning,
    which linearized models do not do)."""
    if model_name.endswith(KERNEL_SUFFIXES):
        return kernel_predictions(rows)
    return network_predictions(rows, mu) + view_predictions(rows)


# ---------------------------------------------------------------------------------------
# The mechanism itself, measured by the view probes (ens_kd_tf/probes.py): which of its
# class's two views each model learned. Each check reads the rows' `views` objects; a row
# without them (data other than the built-in multi-view data) is skipped.
# ---------------------------------------------------------------------------------------


def _view_models(row: Optional[dict]) -> list:
    return models_of((row or {}).get("views"))


def _both(views: dict) -> float:
    """Fraction of classes whose two views are both learned."""
    return views["classes_with_both"] / len(views["learned"])


def _mean(values) -> float:
    return float(sum(values) / len(values))


def _binomial_tolerance(p: float, n: int) -> float:
    """2 binomial std of a fraction p measured on n classes (at least 0.05)."""
    return max(0.05, 2 * (max(p * (1 - p), 0.0) / max(n, 1)) ** 0.5)


def view_predictions(rows: list) -> list:
    """The theory's mechanism (PAPER.md "The theory's multi-view data"), per the probes:
    single models win one view per class (a lottery), independent members win different
    ones, the ensemble holds both, KD hands both to one student, SD some, and the
    unlearned views are what single models get wrong."""
    by_kind = {r["kind"]: r for r in rows}
    singles = _view_models(by_kind.get("single"))
    if not singles:
        return []
    out = []
    check = _checker(out)
    k = len(singles[0]["learned"])
    single_both = [_both(v) for v in singles]
    s_mean = _mean(single_both)
    s_std = _mean([(b - s_mean) ** 2 for b in single_both]) ** 0.5
    none = _mean([v["classes_with_none"] / k for v in singles])
    check("single models learn both views for a minority of classes (theory ~0; < 1/2)",
          s_mean < 0.5, f"{100 * s_mean:.0f} +- {100 * s_std:.0f}% of classes, "
          f"{len(singles)} models")
    check("single models learn at least one view of almost every class (>= 90%)",
          none <= 0.1, f"no view learned for {100 * none:.0f}% of classes")
    ens = _view_models(by_kind.get("ensemble"))
    members = len(singles) // max(len(ens), 1)
    union = _mean([_both(v) for v in ens]) if ens else None
    if ens:
        only_one = (1 - s_mean) / 2  # a member learned only view l (either, equally likely)
        expected = 1 - 2 * only_one ** members
        tol = _binomial_tolerance(expected, k * len(ens))
        check(f"the ensemble of {members} holds both views as independent lotteries predict "
              f"(1 - 2((1 - b)/2)^L = {expected:.2f} +- {tol:.2f}, b = single models' share)",
              abs(union - expected) <= tol, f"{100 * union:.0f}% of classes")
        own = _mean([v.get("own_learned_fraction", 0.0) for v in ens])
        learned_union = _mean([v["learned_fraction"] for v in ens])
        check("the ensemble's own output names the union's views (own learned fraction "
              ">= union's - 0.1)", own >= learned_union - 0.1,
              f"own {own:.2f}, union {learned_union:.2f}")
    for kind, label in (("kd", "KD student"), ("sd", "self-distilled student")):
        models = _view_models(by_kind.get(kind))
        if not models:
            continue
        both = _mean([_both(v) for v in models])
        margin = max(2 * s_std, 1 / k)
        check(f"{label} learns both views for more classes than a single model "
              f"(by > max(2 std, 1 class) = {100 * margin:.0f}%)", both > s_mean + margin,
              f"{100 * both:.0f}% vs single {100 * s_mean:.0f}%")
        if union is None:
            continue
        tol = _binomial_tolerance(union, k * len(models))
        if kind == "kd":
            check(f"KD student holds the ensemble's views (both-views share >= union's - "
                  f"{tol:.2f})", both >= union - tol,
                  f"{100 * both:.0f}% vs union {100 * union:.0f}%")
        else:
            check("self-distilled student holds fewer views than the ensemble (<= union's)",
                  both <= union + 1e-9, f"{100 * both:.0f}% vs union {100 * union:.0f}%")
    for kind in ("single", "kd"):
        row, models = by_kind.get(kind), _view_models(by_kind.get(kind))
        if not models or "single_view" not in row:
            continue
        err = 1 - _acc(row, "single_view")
        missed = 1 - _mean([_mean([a for pair in v["probe_accuracy"] for a in pair])
                            for v in models])
        check(f"{row['name']}: single-view error = the probes' error (the theory: a "
              "single-view sample is lost when its surviving view is unlearned; "
              "|difference| <= 0.1)", abs(err - missed) <= 0.1,
              f"single-view error {err:.3f}, probe error {missed:.3f}")
    return out
