"""The pattern of PAPER.md Figure 6, checked against the views experiment's rows.

The paper (ResNet-28-10 on CIFAR-100, 1/8 of the channels): single models 81.23 -> 80.12
(-1.11), ensembles 84.05 -> 83.51 (-0.54). So, for the most reduced input R of each kind
(the smallest subset, the coarsest group average):
  - the all-channels model is a faithful stand-in: within 1 point of the intact model;
  - single models lose accuracy from all channels to R: drop > 2 sample std of singles;
  - ensembles lose less: ensemble drop all -> R < single drop all -> R;
  - the ensemble gain at R is real: > 2 sample std (ddof=1) of the singles at R.
Each check states direction and size and prints "does NOT hold" when the numbers disagree.
"""

from __future__ import annotations

from typing import List, Sequence


def _single(row: dict) -> float:
    return row["single"]["accuracy"]["mean"]


def _std(row: dict) -> float:
    return row["single"]["accuracy"]["std"]


def _ens(row: dict) -> float:
    return row["ensemble"]["accuracy"]


def _ratio(ens_drop: float, single_drop: float) -> str:
    if single_drop <= 0:
        return ""
    return f"; ratio {ens_drop / single_drop:.2f}, the paper's 0.54 / 1.11 = 0.49"


def views_checks(intact: dict, rows: Sequence[dict]) -> List[dict]:
    """[{"claim", "holds", "measured"}] for `rows` of views.run (std: ddof=1)."""
    out: List[dict] = []

    def check(claim: str, holds: bool, measured: str) -> None:
        out.append({"claim": claim, "holds": bool(holds), "measured": measured})

    by_name = {r["name"]: r for r in rows}
    full = by_name.get("all")
    if full is None:
        return out
    intact_acc = intact["test"]["accuracy"]
    check("new models on all channels are within 1 point of the intact model (or above)",
          _single(full) >= intact_acc - 0.01,
          f"all channels {100 * _single(full):.2f} vs intact {100 * intact_acc:.2f} %")
    reduced = []
    for kind in ("subset", "average"):
        candidates = [r for r in rows if r["kind"] == kind]
        if candidates:
            reduced.append(min(candidates, key=lambda r: r["channels"]))
    for r in reduced:
        single_drop, ens_drop = _single(full) - _single(r), _ens(full) - _ens(r)
        std = max(_std(full), _std(r))
        check(f"single models lose accuracy from all channels to {r['name']} "
              "(drop > 2 std of singles)", single_drop > 2 * std,
              f"drop {100 * single_drop:+.2f} points, std {100 * std:.2f} (larger of the two)")
        check(f"ensembles lose less than single models from all channels to {r['name']} "
              "(ensemble drop < single drop)", ens_drop < single_drop,
              f"ensemble drop {100 * ens_drop:+.2f} vs single drop {100 * single_drop:+.2f} "
              f"points{_ratio(ens_drop, single_drop)}")
        gain = _ens(r) - _single(r)
        check(f"the ensemble gain at {r['name']} exceeds 2 std of its single models",
              gain > 2 * _std(r),
              f"gain {100 * gain:+.2f} points, std {100 * _std(r):.2f}")
    return out
