"""``neuralforge app [FILE]``: open the desktop editor (optionally on a graph file).

Qt is imported only when the command runs, so the rest of the CLI stays light.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="open the desktop editor",
                       description="Open the NeuralForge desktop editor, optionally on a graph file. Needs a "
                       "display (or QT_QPA_PLATFORM=offscreen) and the ui extra (PySide6).")
    p.add_argument("file", nargs="?", metavar="FILE", help="a .nfg graph file to open")
    p.set_defaults(func=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("PySide6") is None:
        print("neuralforge: the desktop app needs PySide6; install it with "
              "`pip install 'neuralforge-desktop[ui]'`", file=sys.stderr)
        return 1
    from neuralforge_desktop.ui.app import run_app

    return int(run_app([args.file] if args.file else []))
