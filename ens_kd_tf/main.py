"""Command line: `python -m ens_kd_tf.main --config=configs/<name>.py[:presets] --workdir=DIR`.

Runs the experiment the config names in DIR (local or gs://), resuming whatever DIR already
holds, and prints the result table. Bad input ends with one line on stderr (exit 2); a run
that cannot go on (e.g. NaN loss) with one line naming the last good checkpoint (exit 3).
"""

from __future__ import annotations

import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from ens_kd_tf.errors import TrainingError, UsageError  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config: configs/<name>.py[:preset,preset,...].",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (local path or gs://).")
flags.mark_flags_as_required(["config", "workdir"])


def run_experiment(config, workdir: str) -> dict:
    """Validates `config`, sets up the runtime and runs the experiment in `workdir`."""
    from ens_kd_tf.experiments import EXPERIMENTS
    from ens_kd_tf.strategy import setup_runtime
    from ens_kd_tf.validation import validate_config
    from ens_kd_tf.workdir import ensure_writable_dir, write_or_check_config

    validate_config(config)
    ensure_writable_dir(workdir)
    runtime = setup_runtime(config.runtime, config.train.deterministic)
    logging.info("runtime: %s", runtime.describe())
    if runtime.is_chief:
        write_or_check_config(workdir, config)
    module = importlib.import_module(EXPERIMENTS[config.experiment])
    return module.run(config, workdir, runtime)


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from ens_kd_tf.report import format_table

    summary = run_experiment(_CONFIG.value, _WORKDIR.value)
    print(f"\n{_CONFIG.value.experiment} results in {_WORKDIR.value}")
    print(summary.get("table") or format_table(summary["rows"], summary.get("groups", ())))
    for p in summary.get("predictions", ()):
        print(f"{'holds' if p['holds'] else 'does NOT hold'}: {p['claim']} ({p['measured']})")


def run_main() -> None:
    """Console entry point: absl app with one-line errors for bad input."""
    try:
        app.run(main)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except TrainingError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    run_main()
