"""The paper's predictions on the built-in multi-view data, over several seeds
(configs/multiview.py).

Repeats the whole Table 1 pipeline (L members, ensemble, joint sum, KD, SD; see paper.py)
`study.repeats` times with model seeds seed + r * study.seed_stride, in
<workdir>/repeat_<r>/, then reports each row as mean +- std: single models pooled over every
member of every repeat, the other rows over repeats; overall and per multi-view /
single-view test group, with a bar chart.
"""

from __future__ import annotations

from ens_kd_tf import io_utils
from ens_kd_tf.errors import check_positive
from ens_kd_tf.evaluate import mean_std, summarize_members
from ens_kd_tf.experiments.driver import Context, Table
from ens_kd_tf.experiments.paper import run_row
from ens_kd_tf.experiments.predictions import predictions_for
from ens_kd_tf.probes import pooled_views
from ens_kd_tf.stages.classifier import with_seed
from ens_kd_tf.stages.members import member_seeds
from ens_kd_tf.stages.results import row
from ens_kd_tf.stages.saliency import write_saliency

METRICS = ("accuracy", "nll", "ece", "multi_view", "single_view")


def _metrics(test: dict) -> dict:
    return {k: test[k] for k in METRICS if k in test}


def aggregate(repeats: list) -> list:
    """Rows with mean +- std: single pooled over all members, the rest over repeats (a
    student's gain over its same-seed scratch model too); each row lists its seeds."""
    singles = [t for r in repeats for t in r["ensemble"]["member_tests"]]
    views = pooled_views([v for r in repeats for v in r["ensemble"].get("member_views", [])])
    rows = [row(f"single ({len(singles)} models)",
                summarize_members([_metrics(t) for t in singles]), kind="single",
                seeds=[s for r in repeats for s in r["ensemble"]["seeds"]],
                **({"views": views} if views else {}))]
    for index, first in enumerate(repeats[0]["rows"][1:], start=1):
        per_repeat = [r["rows"][index] for r in repeats]
        name = f"{first['name']} ({len(repeats)} repeats)"
        extra = {k: first[k] for k in ("student", "reduction", "distillation") if k in first}
        if "gain" in first:
            extra["gain"] = mean_std([r["gain"] for r in per_repeat])
        seeds = [s for r in per_repeat for s in (r.get("seeds") or [r.get("seed")])]
        views = pooled_views([r.get("views") for r in per_repeat])
        if views:
            extra["views"] = views
        rows.append(row(name, summarize_members([_metrics(r) for r in per_repeat]),
                        kind=first["kind"], seeds=seeds, **extra))
    return rows


def validate_study(study) -> None:
    """Checks config section `study`."""
    check_positive("study.repeats", study.repeats)
    check_positive("study.seed_stride", study.seed_stride)


def compose(ctx: Context) -> Table:
    config, workdir, runtime, data = ctx.config, ctx.workdir, ctx.runtime, ctx.data
    study = config.study
    repeats = [run_row(with_seed(config, config.seed + r * study.seed_stride),
                       io_utils.join(workdir, f"repeat_{r}"), runtime, data)
               for r in range(study.repeats)]
    first = io_utils.join(workdir, "repeat_0")
    write_saliency(config, workdir, runtime, data, first, member_seeds(config),
                   io_utils.join(first, "kd"))
    mu = config.data.multiview.single_view_prob
    rows = aggregate(repeats)
    return Table(rows, {"repeats": study.repeats, "single_view_prob": mu,
                        "theory_single_error": mu / 2,
                        "measured_single_error": 1.0 - rows[0]["accuracy"]["mean"],
                        "predictions": predictions_for(config.model.name, rows, mu)})
