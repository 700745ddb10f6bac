"""Validators for option values, shared by every command as argparse ``type=`` functions.

argparse reports a refused value as ``argument --lr: <message>``, so each message here says what is allowed and
repeats the value given; the parser then exits with status 2 before the command does any work (no run is
created, no file is written).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

# Counts (epochs, batch size, examples …) beyond this are typing mistakes, and overflow torch's 32-bit sizes.
MAX_COUNT = 2**31 - 1
# numpy's seeded generators take seeds up to 2**32 - 1; none may be negative.
MAX_SEED = 2**32 - 1


def _refuse(what: str, text: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{what}, got {text!r}")


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _refuse(what, text) from None


def _int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def check(text: str) -> int:
        value = _int(text, what)
        if not low <= value <= high:
            raise _refuse(what, text)
        return value

    check.__name__ = what  # argparse names the type in some messages
    return check


positive_int = _int_in(1, MAX_COUNT, f"must be a whole number from 1 to {MAX_COUNT}")
non_negative_int = _int_in(0, MAX_COUNT, f"must be a whole number from 0 to {MAX_COUNT}")
seed = _int_in(0, MAX_SEED, f"must be a whole number from 0 to {MAX_SEED}")
# A queued job's priority (higher starts first); the bound is the store's (queue_store.MAX_PRIORITY).
priority = _int_in(-1_000_000, 1_000_000, "must be a whole number from -1000000 to 1000000")
port = _int_in(1, 65535, "must be a port number from 1 to 65535")


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _refuse(what, text) from None
    if not math.isfinite(value):  # "inf", "nan", and "1e999" (which reads as inf)
        raise _refuse(what, text)
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (learning rate, gradient-clip norm)."""
    value = _float(text, "must be a finite number above 0")
    if value <= 0:
        raise _refuse("must be a finite number above 0", text)
    return value


def non_negative_float(text: str) -> float:
    """A finite number of 0 or more (weight decay)."""
    value = _float(text, "must be a finite number, 0 or more")
    if value < 0:
        raise _refuse("must be a finite number, 0 or more", text)
    return value


def fraction(text: str) -> float:
    """A share of the examples, from 0 up to but not including 1 (a split must leave something to train on)."""
    what = "must be a fraction from 0 up to (not including) 1, e.g. 0.1"
    value = _float(text, what)
    if not 0 <= value < 1:
        raise _refuse(what, text)
    return value


def output_file(text: str) -> str:
    """A file to write: its folder must exist (a mistyped folder is not created quietly) and it is no folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give the name of a file to write")
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give the name of a file to write")
    folder = path.parent
    if not folder.exists():
        # refused rather than created: a mistyped folder name would otherwise scatter files where nobody looks
        raise argparse.ArgumentTypeError(f"the folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{folder} is not a folder, so {text} cannot be written")
    return str(path)


def non_empty(text: str) -> str:
    """Any text but the empty one (names, paths)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty")
    return text
