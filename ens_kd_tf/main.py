"""Command line: `python -m ens_kd_tf.main --config=configs/<name>.py[:presets] --workdir=DIR`.

Runs the experiment the config names in DIR (local or gs://), resuming whatever DIR already
holds, and prints the result table. Bad input ends with one line on stderr (exit 2); a run
that cannot go on (e.g. NaN loss) with one line naming the last good checkpoint (exit 3).
Logs are quiet by default (see log_setup.py); `--verbosity=1` shows TensorFlow's INFO lines.
"""

from __future__ import annotations

import functools
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from ens_kd_tf import log_setup
from ens_kd_tf.cli_checks import check_command_line, flag_error_line
from ens_kd_tf.errors import TrainingError, UsageError

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config: configs/<name>.py[:preset,preset,...].",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (local path or gs://).")
flags.mark_flags_as_required(["config", "workdir"])

# Lazy imports (documented): the TensorFlow-heavy modules (experiments, strategy,
# validation, workdir, report) are imported inside run_experiment and main, not here: a
# mistyped flag is then reported in well under a second, and TensorFlow's import-time
# banner can be filtered (log_setup.import_tensorflow).


def run_experiment(config, workdir: str) -> dict:
    """Validates `config`, sets up the runtime and runs the experiment in `workdir`."""
    from ens_kd_tf.experiments import driver
    from ens_kd_tf.strategy import setup_runtime
    from ens_kd_tf.validation import validate_config
    from ens_kd_tf.workdir import (check_config_file, check_storage, ensure_writable_dir,
                                   write_or_check_config)

    validate_config(config)
    check_storage(config, workdir)
    ensure_writable_dir(workdir)
    check_config_file(workdir, config)  # a different or corrupt config.json stops here
    runtime = setup_runtime(config.runtime, config.train.deterministic)
    logging.info("runtime: %s", runtime.describe())
    if runtime.is_chief:
        write_or_check_config(workdir, config)
    return driver.run_experiment(config, workdir, runtime)


def parse_flags(argv, quiet: bool = True):
    """absl's flags parser, with every error of the command line as one UsageError line:
    the TensorFlow-free checks of cli_checks first, then absl / ml_collections parsing."""
    with log_setup.native_info_filtered(quiet):  # a preset naming a model imports Keras
        config = check_command_line(argv)
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            raise UsageError(flag_error_line(e, config)) from None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            # ml_collections' own errors for forms cli_checks does not foresee
            raise UsageError(f"cannot apply the command line's config overrides: "
                             f"{type(e).__name__}: {e}") from None


def main(argv, quiet: bool = True) -> None:
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments {argv[1:]}; every input is a flag: "
                         "--config=configs/<name>.py --workdir=<dir> [--config.<field>=<value>]")
    log_setup.set_quiet_python_logs(quiet)
    log_setup.import_tensorflow(quiet)
    from ens_kd_tf.report import format_table

    summary = run_experiment(_CONFIG.value, _WORKDIR.value)
    print(f"\n{_CONFIG.value.experiment} results in {_WORKDIR.value}")
    print(summary.get("table") or format_table(summary["rows"], summary.get("groups", ())))
    for p in summary.get("predictions", ()):
        print(f"{'holds' if p['holds'] else 'does NOT hold'}: {p['claim']} ({p['measured']})")


def run_main() -> None:
    """Console entry point: absl app with one-line errors for bad input and quiet logs
    unless absl's --verbosity is 1 or more."""
    quiet = (log_setup.requested_verbosity(sys.argv) or 0) < 1
    log_setup.set_native_log_level(quiet)
    try:
        app.run(functools.partial(main, quiet=quiet),
                flags_parser=functools.partial(parse_flags, quiet=quiet))
    except UsageError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)  # one line, always
        sys.exit(2)
    except TrainingError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    run_main()
