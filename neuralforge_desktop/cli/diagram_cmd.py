"""``neuralforge diagram GRAPH -o FILE``: a figure of a graph for a paper or a slide (PNG, SVG or PDF).

The same drawing as File ▸ Export Diagram in the app. Qt is imported only when the command runs (it draws
offscreen, with no window and no display), so the rest of the CLI stays light.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.graph_source import CliError, load_graph_arg

LAYOUTS: dict[str, Any] = {"wrapped": "wrapped", "horizontal": "horizontal", "vertical": "vertical", "saved": "canvas"}
BACKGROUNDS = ("white", "theme", "transparent")
SUFFIXES = (".png", ".svg", ".pdf")
MAX_SCALE = 8.0


def scale(text: str) -> float:
    value = opt.positive_float(text)
    if value > MAX_SCALE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SCALE:g}, got {text!r}")
    return value


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagram", help="draw a graph as a PNG, SVG or PDF figure",
        description="Draw GRAPH (a .nfg file or zoo:NAME) as a figure for a paper or a slide: every node named, "
        "every wire labelled with its tensor shape, laid out to a sensible shape. The format follows the "
        "file's suffix. Needs PySide6 (draws offscreen: no display needed).",
        epilog="examples:\n  neuralforge diagram zoo:resnet18 -o resnet18.svg\n"
        "  neuralforge diagram model.nfg -o fig.png --layout vertical --scale 3 --background transparent\n"
        "  neuralforge diagram zoo:bert-base -o bert.pdf --no-shapes",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph", metavar="GRAPH", help="a .nfg file or zoo:NAME")
    p.add_argument("-o", "--output", required=True, type=opt.output_file, metavar="FILE",
                   help="the figure to write: .png, .svg or .pdf")
    p.add_argument("--layout", choices=list(LAYOUTS), default="wrapped",
                   help="wrapped: left to right in rows that fit a 16:10 page (default); horizontal: one row; "
                   "vertical: top to bottom; saved: the positions in the file")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--scale", type=scale, default=None, metavar="S",
                      help=f"PNG pixels per canvas pixel, up to {MAX_SCALE:g} (default 2)")
    size.add_argument("--dpi", type=opt.positive_float, default=None, metavar="N",
                      help="the same as a resolution: 96 dpi is scale 1, 192 dpi scale 2")
    p.add_argument("--background", choices=BACKGROUNDS, default="white",
                   help="white (default), the theme's own colour, or transparent")
    p.add_argument("--theme", choices=("light", "dark"), default=None,
                   help="colours of nodes and wires (default: light, or dark on --background theme)")
    p.add_argument("--no-shapes", dest="shapes", action="store_false",
                   help="leave out the tensor shape labels on the wires")
    p.add_argument("--concept", action="store_true", help="Concept Mode cards: what each layer computes, in words")
    p.set_defaults(func=cmd_diagram)


def cmd_diagram(args: argparse.Namespace) -> int:
    target = Path(args.output)
    if target.suffix.lower() not in SUFFIXES:
        raise CliError(f"cannot draw into {target.name!r}: the file must end in .png, .svg or .pdf")
    scale_value = args.scale if args.scale is not None else (args.dpi / 96.0 if args.dpi is not None else 2.0)
    if scale_value > MAX_SCALE or scale_value < 0.1:
        raise CliError(f"--dpi {args.dpi:g} is scale {scale_value:g}; it must be between {0.1 * 96:g} and "
                       f"{MAX_SCALE * 96:g} dpi")
    graph = load_graph_arg(args.graph)
    if importlib.util.find_spec("PySide6") is None:
        raise CliError("drawing a diagram needs PySide6; install it with `pip install 'neuralforge-desktop[ui]'`",
                       status=1)
    from neuralforge_desktop.ui.app import headless_application
    from neuralforge_desktop.ui.canvas.export import ExportOptions, export_graph

    headless_application()
    options = ExportOptions(scale=scale_value, background=args.background, shapes=args.shapes,
                            layout=LAYOUTS[args.layout], theme=args.theme, concept=args.concept)
    diagram = export_graph(graph, target, options)
    unit = {".png": "pixels", ".svg": "px", ".pdf": "pt"}[target.suffix.lower()]
    dpi = f", {options.dpi:g} dpi" if unit == "pixels" else ""
    print(f"wrote {diagram.path} ({diagram.width}×{diagram.height} {unit}{dpi}; {len(graph)} nodes, "
          f"{args.layout} layout)")
    return 0
