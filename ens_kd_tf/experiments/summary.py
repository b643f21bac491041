"""An experiment's top-level results: table rows, results.json, report.md and a bar chart."""

from __future__ import annotations

from typing import Optional, Sequence

from absl import logging

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.experiments.stages import RESULTS, load_results
from ens_kd_tf.probes import pooled_views
from ens_kd_tf.strategy import Runtime


def load_summary(workdir: str) -> Optional[dict]:
    done = load_results(workdir)
    if done and "rows" in done:
        logging.info("%s is already done; delete its results.json to redo the summary",
                     workdir)
        return done
    return None


def row(name: str, test: dict, **extra) -> dict:
    """A table row: the metrics of `test` (evaluate_logits or summarize_members output)."""
    return {"name": name, **test, **extra}


def views_of(results: dict) -> dict:
    """{"views": ...} of a stage's results on multi-view data (probes.py), else {}."""
    return {"views": results["views"]} if results.get("views") else {}


def members_row(ensemble_results: dict, count: int) -> dict:
    views = pooled_views(ensemble_results.get("member_views") or [])
    return row(f"single (mean +- std of {count})", ensemble_results["members"], kind="single",
               seeds=ensemble_results.get("seeds"), **({"views": views} if views else {}))


def ensemble_row(ensemble_results: dict, count: int) -> dict:
    how = "logit" if ensemble_results["reduction"] == "logits" else "probability"
    return row(f"ensemble of {count} ({how} average)", ensemble_results["test"],
               kind="ensemble", seeds=ensemble_results.get("seeds"),
               **views_of(ensemble_results))


def finish(config, workdir: str, runtime: Runtime, data: ArrayDataset, rows: Sequence[dict],
           extra: Optional[dict] = None) -> dict:
    """Writes report.md, report.png and (last) results.json; returns the summary."""
    from ens_kd_tf.report import write_report
    from ens_kd_tf.view_plots import write_views_png

    groups = sorted(data.test_groups)
    result = {"experiment": config.experiment, "rows": list(rows), "groups": groups,
              "dataset": data.info.name, "model": config.model.name, **(extra or {})}
    result = io_utils.json_data(dict(result, complete=True))
    if runtime.is_chief:
        io_utils.clean_stale_temporaries(workdir)
        write_report(workdir, config, result)
        write_views_png(io_utils.join(workdir, "views.png"), result)
        io_utils.write_json_atomic(io_utils.join(workdir, RESULTS), result)
    return result
