"""Resolve the GRAPH argument: a ``.nfg`` path or ``zoo:NAME``."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from neuralforge_desktop.core.errors import UserError

if TYPE_CHECKING:  # loaded with a graph: commands that only raise CliError need not import the IR
    from neuralforge_desktop.core.ir.graph import Graph

# The largest graph file read: the biggest zoo model saves to well under 1 MiB, so anything near this is not a
# graph, and reading it whole would only cost memory (or never end, for a device such as /dev/zero).
MAX_GRAPH_FILE_BYTES = 64 * 1024 * 1024


class CliError(UserError):
    """An error in how the command was called: printed as one line, exit status 2 (argparse's) unless given."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def load_graph_arg(text: str) -> Graph:
    if text.startswith("zoo:"):
        from neuralforge_desktop.core import zoo

        name = text[4:]
        try:
            return zoo.build(name)
        except KeyError:
            names = ", ".join(e.name for e in zoo.list_models())
            raise CliError(f"no zoo model {name!r}; available: {names}") from None
    if not text.strip():
        raise CliError("GRAPH is empty: give a .nfg file or zoo:NAME")
    from neuralforge_desktop.core.ir.serialize import GraphFileError, loads

    try:
        return loads(read_graph_file(text), source=text)
    except GraphFileError as exc:
        raise CliError(str(exc)) from None


def read_graph_file(text: str) -> bytes:
    """The bytes of the graph file ``text``, after checking that it is a regular file no larger than
    :data:`MAX_GRAPH_FILE_BYTES` (a folder, a device or a pipe is refused without reading from it)."""
    path = Path(text).expanduser()
    try:
        info = path.stat()
    except FileNotFoundError:
        hint = " (use zoo:NAME for a template)" if "/" not in text and not text.endswith(".nfg") else ""
        raise CliError(f"{text}: no such file{hint}") from None
    except OSError as exc:
        raise CliError(f"{text}: cannot read it: {exc.strerror or exc}") from None
    _check_kind_and_size(text, info)
    try:  # not blocking: should a pipe have taken the file's place since the check, opening it must not wait
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CliError(f"{text}: cannot read it: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        _check_kind_and_size(text, os.fstat(handle.fileno()))  # what was opened, not only what was there
        data = handle.read(MAX_GRAPH_FILE_BYTES + 1)
    if len(data) > MAX_GRAPH_FILE_BYTES:  # it grew after the check
        _too_large(text, len(data))
    return data


def _check_kind_and_size(text: str, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise CliError(f"{text} is a folder, not a graph file: give a .nfg file or zoo:NAME")
    if not stat.S_ISREG(info.st_mode):
        raise CliError(f"{text} is not a regular file (a device, pipe or socket): give a .nfg file or zoo:NAME")
    if info.st_size > MAX_GRAPH_FILE_BYTES:
        _too_large(text, info.st_size)


def _too_large(text: str, size: int) -> NoReturn:
    raise CliError(f"{text} is too large for a graph file ({size / 2**20:.1f} MiB; the limit is "
                   f"{MAX_GRAPH_FILE_BYTES // 2**20} MiB)")
