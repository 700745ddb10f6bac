"""Entry point of the ``neuralforge`` command."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence

from neuralforge_desktop import __version__
from neuralforge_desktop.cli import (
    app_cmd,
    check_cmds,
    datasets_cmd,
    demo_cmd,
    layers_cmd,
    runs_cmd,
    start_cmd,
    summary_cmd,
    train_cmds,
    zoo_cmd,
)
from neuralforge_desktop.core.errors import UserError

DESCRIPTION = """\
NeuralForge: design neural networks as graphs, see every tensor shape and cost, generate PyTorch, train and
track experiments. Run without a command to open the desktop editor.

GRAPH arguments take a .nfg file or a template as zoo:NAME (see `neuralforge zoo list`)."""

EPILOG = """\
examples:
  neuralforge zoo list
  neuralforge summary zoo:resnet18 --batch-size 32 --device a100
  neuralforge new --template mnist-cnn -o mnist.nfg
  neuralforge validate mnist.nfg
  neuralforge codegen mnist.nfg -o mnist_model.py
  neuralforge train mnist.nfg --dataset mnist-10k --epochs 3
  neuralforge runs list
  neuralforge demo"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuralforge", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"neuralforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    app_cmd.add_parsers(sub)
    start_cmd.add_parsers(sub)
    zoo_cmd.add_parsers(sub)
    summary_cmd.add_parsers(sub)
    check_cmds.add_parsers(sub)
    layers_cmd.add_parsers(sub)
    datasets_cmd.add_parsers(sub)
    train_cmds.add_parsers(sub)
    runs_cmd.add_parsers(sub)
    demo_cmd.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # bare `neuralforge` opens the editor (or says in one line why it cannot, and what to run)
        argv = ["app"]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    for stream in (sys.stdout, sys.stderr):
        # Text from a graph file (a name, a label) may hold lone surrogates, which no encoding can write.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        return int(args.func(args) or 0)
    except UserError as exc:  # the user's to fix: the message says how, a traceback would bury it
        print(f"neuralforge: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
