"""Quiet by default: a run's stderr shows its own progress and the warnings that matter;
TensorFlow's INFO chatter appears only with absl's `--verbosity=1` (or higher).

Three sources are tamed:
  * TF's C++ logs after start-up: TF_CPP_MIN_LOG_LEVEL=2 (errors only) unless verbose.
  * TF's C++ logs while TensorFlow is imported (the oneDNN banner, "All log messages before
    absl::InitializeLog() ..."): TF 2.19+ writes them before TF_CPP_MIN_LOG_LEVEL applies
    (tensorflow#100442), so `native_info_filtered` catches file descriptor 2 during the
    import and writes back every line that is not an INFO record.
  * Python INFO records (absl / `logging`) from outside this package, e.g. functional_saver's
    "Sharding callback duration": a filter on absl's handler. Our own INFO lines (one per
    stage) and every WARNING or worse stay.
"""

from __future__ import annotations

import contextlib
import importlib
import logging as std_logging
import os
import re
import sys
import tempfile
from typing import Iterator, Optional, Sequence

from absl import logging

# A C++ INFO record (absl / glog format) and absl's notice that precedes early records.
_NATIVE_INFO = re.compile(r"^I\d{4} ")
_NATIVE_HEADER = re.compile(r"^[IWEF]\d{4} ")
_EARLY_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are " \
                "written to STDERR"
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_VERBOSITY = re.compile(r"^--?(verbosity|v)(=(.*))?$")


def requested_verbosity(argv: Sequence[str]) -> Optional[int]:
    """absl's --verbosity (or -v) as given in `argv`, before absl parses it; None if absent
    or not an integer (absl then reports the bad value itself)."""
    for i, arg in enumerate(argv):
        m = _VERBOSITY.match(arg)
        if m:
            value = m.group(3) if m.group(2) else (argv[i + 1] if i + 1 < len(argv) else "")
            try:
                return int(value)
            except ValueError:
                return None
    return None


def drop_native_info(text: str) -> str:
    """`text` without C++ INFO records (and their continuation lines) or the early notice."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        if _NATIVE_HEADER.match(line):
            dropping = bool(_NATIVE_INFO.match(line))
        elif line.rstrip("\n") == _EARLY_NOTICE:
            dropping = True
            continue
        if not dropping:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def native_info_filtered(enabled: bool = True) -> Iterator[None]:
    """Within the block, file descriptor 2 goes to a temporary file; on exit, every line but
    the C++ INFO records is written to the real stderr (errors and warnings stay)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = drop_native_info(captured.read().decode("utf-8", "replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def import_tensorflow(quiet: bool) -> None:
    """Imports TensorFlow and Keras (the package's heavy modules) without the import's C++
    INFO banner when `quiet`."""
    with native_info_filtered(quiet):
        importlib.import_module("tensorflow")
        importlib.import_module("keras")


class _OwnInfoOnly(std_logging.Filter):
    """Passes WARNING and worse from anywhere, INFO and below only from this package."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        return record.levelno >= std_logging.WARNING or record.pathname.startswith(
            _PACKAGE_DIR)


_FILTER = _OwnInfoOnly()


def set_quiet_python_logs(quiet: bool) -> None:
    """Installs (or removes) the filter of other libraries' INFO records on absl's handler."""
    handler = logging.get_absl_handler().python_handler
    if quiet:
        handler.addFilter(_FILTER)
    else:
        handler.removeFilter(_FILTER)


def set_native_log_level(quiet: bool) -> None:
    """TF_CPP_MIN_LOG_LEVEL before TensorFlow starts: 2 (errors) when quiet, else 0; a value
    the user exported wins."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if quiet else "0")
