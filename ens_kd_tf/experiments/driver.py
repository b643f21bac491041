"""The one driver of every experiment: skip a finished workdir, hand the experiment's
`compose` a Context (config, workdir, runtime, the data loaded on first use), and write
what it returns: report.md, its images and results.json (last, atomically).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Dict, Optional, Union

from absl import logging

from ens_kd_tf import io_utils
from ens_kd_tf.data import ArrayDataset
from ens_kd_tf.experiments import EXPERIMENTS
from ens_kd_tf.report import bar_chart_png, report_markdown
from ens_kd_tf.stages.classifier import load_data, train_step_gflop
from ens_kd_tf.stages.results import RESULTS, load_results
from ens_kd_tf.strategy import Runtime
from ens_kd_tf.view_plots import views_png


@dataclasses.dataclass
class Context:
    """What every stage of a run needs; `data` is config.data, loaded on first use (which
    also settles runtime.mixed_precision=auto by the model's cost, before any model is
    built)."""

    config: object
    workdir: str
    runtime: Runtime
    _data: Optional[ArrayDataset] = None

    @property
    def data(self) -> ArrayDataset:
        if self._data is None:
            self._data = load_data(self.config)
            if self.runtime.precision_pending:  # "auto": bf16 for models large enough
                self.runtime.settle_precision(train_step_gflop(self.config, self._data))
        return self._data


@dataclasses.dataclass
class Table:
    """The common outcome: table rows (stages/results.row), plus top-level extras."""

    rows: list
    extra: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Report:
    """An outcome with its own table: `result` -> results.json, `markdown` -> report.md,
    `images` {file name: PNG bytes}."""

    result: dict
    markdown: str
    images: Dict[str, bytes] = dataclasses.field(default_factory=dict)


Outcome = Union[Table, Report, dict]


def load_summary(workdir: str) -> Optional[dict]:
    """The experiment's results.json when its summary is complete, else None."""
    done = load_results(workdir)
    if done and "rows" in done:
        logging.info("%s is already done; delete its results.json to redo the summary",
                     workdir)
        return done
    return None


def training_settings(train) -> dict:
    """The config.train facts every report states."""
    return {k: train[k] for k in ("epochs", "batch_size", "optimizer", "learning_rate",
                                  "schedule", "weight_decay", "weight_decay_mode")}


def table_report(ctx: Context, table: Table) -> Report:
    """A Table as a Report: result rows with the run's facts, markdown, bar chart, views."""
    config, data = ctx.config, ctx.data
    result = {"experiment": config.experiment, "rows": list(table.rows),
              "groups": sorted(data.test_groups), "dataset": data.info.name,
              "model": config.model.name, "training": training_settings(config.train),
              **table.extra}
    result = io_utils.json_data(result)
    images = {"report.png": bar_chart_png(result)}
    views = views_png(result)
    if views:
        images["views.png"] = views
    return Report(result, report_markdown(result), images)


def finish(ctx: Context, report: Report) -> dict:
    """Writes report.md, the images and (last) results.json; returns the result."""
    result = io_utils.json_data(dict(report.result, complete=True))
    if ctx.runtime.is_chief:
        io_utils.clean_stale_temporaries(ctx.workdir)
        io_utils.write_text_atomic(io_utils.join(ctx.workdir, "report.md"), report.markdown)
        for name, png in report.images.items():
            io_utils.write_bytes_atomic(io_utils.join(ctx.workdir, name), png)
        io_utils.write_json_atomic(io_utils.join(ctx.workdir, RESULTS), result)
    return result


def run_experiment(config, workdir: str, runtime: Runtime) -> dict:
    """Runs (or resumes, or returns the finished summary of) config.experiment in
    `workdir`; returns its results."""
    done = load_summary(workdir)
    if done:
        return done
    module = importlib.import_module(EXPERIMENTS[config.experiment])
    ctx = Context(config, workdir, runtime)
    outcome = module.compose(ctx)
    if isinstance(outcome, Table):
        outcome = table_report(ctx, outcome)
    if isinstance(outcome, Report):
        return finish(ctx, outcome)
    return outcome
