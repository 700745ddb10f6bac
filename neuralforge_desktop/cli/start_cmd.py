"""``neuralforge start``: the desktop app where there is a display; otherwise the headless demo."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from neuralforge_desktop.cli import option_types as opt


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("start", help="open the app, or run the headless demo without a display",
                       description="Open the desktop app when a display is available; otherwise run the "
                       "headless demo (build, summarise and briefly train the MNIST CNN).")
    p.add_argument("--out", type=opt.non_empty, metavar="DIR",
                   help="where the demo writes its files (default: the user data dir)")
    p.set_defaults(func=cmd_start)


def has_display() -> bool:
    # An offscreen Qt platform is not a screen a person can use: `start` then runs the demo instead.
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in {"darwin", "win32"})


def cmd_start(args: argparse.Namespace) -> int:
    app = importlib.util.find_spec("neuralforge_desktop.ui.app") if importlib.util.find_spec(
        "neuralforge_desktop.ui") else None
    if app is not None and has_display():
        from neuralforge_desktop.ui.app import run_app

        return int(run_app([]))
    return tour(args.out)


def tour(out: str | None) -> int:
    """Without a display: the headless demo (build, summarise and briefly train the MNIST CNN)."""
    from neuralforge_desktop.cli.demo_cmd import run_demo

    print("no display here: running the headless demo (`neuralforge demo`)\n")
    return run_demo(out=out)
