"""Resolve the GRAPH argument: a ``.nfg`` path or ``zoo:NAME``."""

from __future__ import annotations

from pathlib import Path

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph


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
    path = Path(text)
    if not path.exists():
        hint = " (use zoo:NAME for a template)" if "/" not in text and not text.endswith(".nfg") else ""
        raise CliError(f"{text}: no such file{hint}")
    from neuralforge_desktop.core.ir.serialize import GraphFileError, load_graph

    try:
        return load_graph(path)
    except GraphFileError as exc:
        raise CliError(str(exc)) from None
