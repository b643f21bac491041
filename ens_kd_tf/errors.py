"""User-facing errors: bad input is reported as one line, never as a deep traceback."""

from __future__ import annotations

import difflib
from typing import Any, Iterable, List


class UsageError(Exception):
    """Bad input (config field, file, name). `main` prints it as one line and exits 2."""


class TrainingError(Exception):
    """Training cannot go on (e.g. the loss became NaN). Printed as one line, exit 3."""


class StorageError(TrainingError):
    """A write failed (full disk, read-only or vanished storage). Files already written are
    left as they were (every artifact is written to a temporary name, then renamed)."""


def storage_error(path: str, error: BaseException) -> StorageError:
    reason = getattr(error, "strerror", None) or getattr(error, "message", None) or str(error)
    reason = str(reason).splitlines()[0] if reason else type(error).__name__
    return StorageError(f"cannot write {path}: {reason}; nothing already written was changed "
                        "(free space or fix permissions, then rerun the same command to resume)")


def check_choice(field: str, value: Any, choices: Iterable[Any]) -> None:
    """Raises UsageError naming `field`, the bad `value` and the valid `choices`."""
    choices = list(choices)
    if value not in choices:
        raise UsageError(
            f"{field}={value!r} is not valid; choose one of: "
            + ", ".join(repr(c) for c in choices)
        )


def check_positive(field: str, value: float, allow_zero: bool = False) -> None:
    """Raises UsageError unless `value` > 0 (or >= 0 with `allow_zero`)."""
    ok = value >= 0 if allow_zero else value > 0
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise UsageError(f"{field}={value!r} is not valid; it must be {bound}")


def check_fraction(field: str, value: float, upper_open: bool = True) -> None:
    """UsageError unless `value` is in [0, 1) (or [0, 1] with upper_open=False)."""
    ok = 0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0
    if not ok:
        bound = "[0, 1)" if upper_open else "[0, 1]"
        raise UsageError(f"{field}={value!r} is not valid; it must be in {bound}")


def closest(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.5) -> List[str]:
    """The `n` choices most similar to `word` (difflib ratio >= `cutoff`), best first."""
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
