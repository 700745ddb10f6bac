"""``neuralforge layers add FILE.py:Name`` and ``neuralforge layers remove NAME``: the user's own layers.

Adding imports the user's file in this process (the CLI process is the user's own, and they asked for it) and
runs the layer's forward on the meta device to check it before anything is saved.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.core.catalog.registry import Catalog


def _value(text: str) -> Any:
    """``16`` → 16, ``0.5`` → 0.5, ``true`` → True, anything else stays text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, int | float | str | bool) else text


def _init(pairs: list[str] | None) -> dict[str, Any]:
    init: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--arg {pair!r}: expected NAME=VALUE, e.g. channels=16")
        init[name.strip()] = _value(value)
    return init


def add_or_remove(args: argparse.Namespace, cat: Catalog) -> int:
    from neuralforge_desktop.core.catalog import user_layers

    if args.type == "remove":
        user_layers.remove(args.target, cat)
        print(f"removed custom layer {args.target}")
        return 0
    file, sep, name = args.target.rpartition(":")
    if not sep or not file or not name:
        raise CliError(f"expected FILE.py:Name, got {args.target!r}")
    path = Path(file).expanduser()
    if not path.is_file():
        raise CliError(f"no file {file!r}")
    layer = user_layers.add_file(path, name, cat, inputs=args.input, init=_init(args.arg),
                                 loss=True if args.loss else None)
    params = ", ".join(f"{p.name}: {p.kind} = {p.default!r}" for p in layer.params) or "none"
    kind = "loss" if layer.is_loss else "layer"
    print(f"added custom {kind} {layer.type} (category {layer.category}); params: {params}; "
          f"inputs: {', '.join(p.name for p in layer.inputs)}")
    print(f"saved in {user_layers.default_layers_dir()}")
    return 0
