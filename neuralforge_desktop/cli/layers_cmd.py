"""``neuralforge layers``: the catalog, as the palette shows it."""

from __future__ import annotations

import argparse
import json

from neuralforge_desktop.cli.graph_source import CliError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("layers", help="list layer types, show one, or add/remove your own",
                       description="List the layer catalog (built-ins, installed plugins and your custom layers), "
                       "or show one layer's parameters, ports and formula. 'layers add FILE.py:Name' adds the "
                       "nn.Module class or loss function Name from your file as a custom layer (the file is "
                       "imported and forward runs on a meta-device sample to check it); 'layers remove NAME' "
                       "deletes one.")
    p.add_argument("type", nargs="?", metavar="TYPE", help="show this layer type in detail (or: add, remove)")
    p.add_argument("target", nargs="?", metavar="FILE.py:Name | NAME", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--input", action="append", metavar="SHAPE", help="add: a sample input shape, e.g. "
                   "'N, 16, 8, 8' (once per forward argument; default 'N, 16')")
    p.add_argument("--arg", action="append", metavar="NAME=VALUE", help="add: an __init__ argument for the "
                   "check run (needed for arguments without a default), e.g. channels=16")
    p.add_argument("--loss", action="store_true", help="add: treat it as a loss even if it does not return a "
                   "scalar on the sample")
    p.set_defaults(func=cmd_layers)


def cmd_layers(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.catalog.mathtext import to_plain
    from neuralforge_desktop.core.catalog.registry import catalog

    cat = catalog()
    if args.type in ("add", "remove") and args.target:
        from neuralforge_desktop.cli.layers_user import add_or_remove

        return add_or_remove(args, cat)
    if args.target:
        raise CliError(f"unexpected {args.target!r}: use 'layers add FILE.py:Name' or 'layers remove NAME'")
    if args.type:
        by_lower = {t.lower(): t for t in cat.types()}
        layer = cat.find(args.type) or cat.find(by_lower.get(args.type.lower(), ""))
        if layer is None:
            import difflib

            lower = {t.lower(): t for t in cat.types()}
            close = [lower[m] for m in difflib.get_close_matches(args.type.lower(), list(lower), n=3, cutoff=0.6)]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise CliError(f"no layer type {args.type!r}{hint}")
        info = {
            "type": layer.type, "category": layer.category, "description": layer.description,
            "math": layer.math, "math_text": to_plain(layer.math), "help": layer.help,
            "params": [p.to_json() for p in layer.params],
            "inputs": [{"name": p.name, "layout": p.layout, "optional": p.optional} for p in layer.inputs],
            "outputs": [p.name for p in layer.outputs], "keras": layer.keras_name, "plugin": layer.plugin,
        }
        if args.json:
            print(json.dumps(info, indent=2))
            return 0
        print(f"{layer.display_name} ({layer.category}){'  [plugin ' + layer.plugin + ']' if layer.plugin else ''}")
        print(f"  {layer.description}")
        print(f"  math: {to_plain(layer.math)}")
        if layer.help:
            print(f"  {layer.help}")
        ins = ", ".join(f"{p.name}{' ' + p.layout if p.layout else ''}{' (optional)' if p.optional else ''}"
                        for p in layer.inputs)
        print(f"  inputs: {ins or 'none'}")
        print(f"  outputs: {', '.join(p.name for p in layer.outputs) or 'none'}")
        for p in layer.params:
            extra = f" one of {list(p.choices)}" if p.choices else ""
            print(f"  - {p.name} ({p.kind}, default {p.default!r}{extra}): {p.help}")
        return 0
    if args.json:
        print(json.dumps([{"type": layer.type, "category": layer.category, "description": layer.description,
                           "simple": layer.simple, "plugin": layer.plugin} for layer in cat], indent=2))
        return 0
    for category, layers in cat.categories().items():
        print(f"{category}:")
        for layer in layers:
            print(f"  {layer.type:<26} {layer.description}")
    if cat.plugin_errors:
        for message in cat.plugin_errors:
            print(f"warning: {message}")
    return 0
