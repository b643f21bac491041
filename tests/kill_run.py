"""Run as a script: `python -m ens_kd_tf.main` that SIGKILLs itself at a chosen point, to
prove a killed run resumes (tests/test_reliability.py).

    python tests/kill_run.py <point> <n> -- <ens_kd_tf.main arguments>

points (the n-th time the run gets there, counting from 1):
  checkpoint  checkpoint data written, the CheckpointManager state not yet updated
  export      a SavedModel export written to its temporary directory, not yet renamed
  results     an artifact (results.json, logits, model.keras, ...) written to its temporary
              name, not yet renamed
"""

import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _kill_on(n, fn):
    count = {"calls": 0}

    def wrapper(*args, **kwargs):
        count["calls"] += 1
        if count["calls"] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)
    return wrapper


def main() -> None:
    point, n = sys.argv[1], int(sys.argv[2])
    args = sys.argv[sys.argv.index("--") + 1:]
    import tensorflow as tf

    from ens_kd_tf import io_utils

    if point == "checkpoint":
        manager = tf.train.CheckpointManager
        manager._record_state = _kill_on(n, manager._record_state)
    elif point == "export":
        original = io_utils.write_dir_atomic

        def write_then_maybe_die(path, write):
            return original(path, _kill_after_write(write))

        calls = {"n": 0}

        def _kill_after_write(write):
            def wrapped(tmp):
                write(tmp)
                calls["n"] += 1
                if calls["n"] == n:
                    os.kill(os.getpid(), signal.SIGKILL)
            return wrapped
        io_utils.write_dir_atomic = write_then_maybe_die
    elif point == "results":
        tf.io.gfile.rename = _kill_on(n, tf.io.gfile.rename)
    else:
        raise SystemExit(f"unknown kill point {point!r}")
    from ens_kd_tf.main import run_main

    sys.argv = ["ens_kd_tf.main", *args]
    run_main()


if __name__ == "__main__":
    main()
