"""What the CLI does with an error that is not the user's: one line for the user, the details in a file.

A traceback on the terminal tells a user nothing they can act on and hides the one line that matters; the
same traceback in a saved report, with the command line and the versions, is what a bug report needs.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from neuralforge_desktop import __version__

# Packages whose versions explain most differences in behaviour; read from their metadata, never imported.
_PACKAGES = ("numpy", "torch", "platformdirs", "PySide6")


def reports_folder() -> Path:
    """Where crash reports go: the user's log folder for neuralforge (e.g. ~/.local/state/neuralforge/log)."""
    from platformdirs import user_log_dir

    return Path(user_log_dir("neuralforge"))


def _versions() -> list[str]:
    from importlib import metadata

    lines = [f"neuralforge {__version__}", f"python {sys.version.split()[0]} ({sys.executable})",
             f"platform {platform.platform()}"]
    for name in _PACKAGES:
        try:
            lines.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} not installed")
    return lines


def report_text(exc: BaseException, argv: Sequence[str]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S %z")
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "\n".join([
        "neuralforge crash report",
        f"time     {when}",
        f"command  neuralforge {' '.join(argv)}",
        f"cwd      {os.getcwd()}",
        *_versions(),
        "",
        trace,
    ])


def save_report(exc: BaseException, argv: Sequence[str]) -> Path:
    """Write the report atomically into :func:`reports_folder` and return its path; ``OSError`` if it cannot."""
    from neuralforge_desktop.core.ir.atomic import write_text_atomic

    folder = reports_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    write_text_atomic(path, report_text(exc, argv))
    return path


def one_line(exc: BaseException) -> str:
    """``Type: message`` on a single line, however many lines the message had."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def report_internal_error(exc: BaseException, argv: Sequence[str]) -> str:
    """The line to show for an unexpected error, after saving the report it points to."""
    try:
        where = f"a report was saved to {save_report(exc, argv)}; please attach it to a bug report"
    except Exception as failure:  # a report that cannot be written must not become a second traceback
        where = (f"no report could be saved ({one_line(failure)}); run again with --debug to see the traceback "
                 "and attach it to a bug report")
    return f"neuralforge: internal error: {one_line(exc)} — {where}"
