"""Where an export is written: a temporary folder beside the output, then one rename into place, so a failed or
interrupted export leaves the previous file (or nothing) and never half a file."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from neuralforge_desktop.core.errors import UserError

WORK_PREFIX = ".nf-export-"


def check_output(output: Path, suffix: str) -> None:
    """Refuse an output the export could not be moved to, before any work: a missing folder, a folder in the
    file's place (or a file in a package's), a package name without its suffix."""
    folder = output.parent
    if not folder.exists():
        raise UserError(f"{output}: the folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise UserError(f"{output}: {folder} is not a folder")
    is_package = suffix == ".mlpackage"
    if is_package and output.suffix != suffix:
        raise UserError(f"{output}: a {suffix} package must be named NAME{suffix}")
    if output.exists() and output.is_dir() != is_package:
        kind = "a folder" if output.is_dir() else "a file"
        raise UserError(f"{output} is {kind}; give the name of a {'package' if is_package else 'file'} to write")


def make_work_dir(output: Path) -> Path:
    """A new hidden folder beside ``output`` for the export in progress (so the final move is one rename on the
    same file system). Making it is also the test that the folder is writable."""
    try:
        return Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{output.name}.", dir=output.parent))
    except OSError as exc:
        raise UserError(f"{output}: cannot write in {output.parent} ({exc.strerror or exc})") from None


def remove_work_dir(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)


def place(made: Path, output: Path, work: Path) -> None:
    """Move ``made`` (a file, or a package folder) to ``output``, replacing what is there."""
    if made.is_dir():
        previous = work / "previous"
        if output.exists():  # a folder cannot be renamed over a non-empty one: set the old one aside first
            os.replace(output, previous)
        try:
            os.replace(made, output)
        except OSError:
            if previous.exists():
                with contextlib.suppress(OSError):
                    os.replace(previous, output)
            raise
        shutil.rmtree(previous, ignore_errors=True)
        return
    if output.exists():
        with contextlib.suppress(OSError):
            os.chmod(made, output.stat().st_mode & 0o7777)
    os.replace(made, output)


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
