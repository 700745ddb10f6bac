"""Entry point of the ``neuralforge`` command."""

from __future__ import annotations

import argparse
import io
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from neuralforge_desktop import __version__
from neuralforge_desktop.cli import (
    app_cmd,
    calibrate_cmd,
    check_cmds,
    coach_cmd,
    components_cmd,
    datasets_cmd,
    demo_cmd,
    diagnose_cmd,
    diagram_cmd,
    explain_cmd,
    export_cmd,
    fix_cmd,
    gate_cmd,
    hosts_cmd,
    import_cmd,
    layers_cmd,
    monitor_cmd,
    notes_cmd,
    optimize_cmd,
    pipeline_cmd,
    profile_cmd,
    queue_cmd,
    registry_cmd,
    report_cmd,
    runs_cmd,
    serve_cmd,
    start_cmd,
    summary_cmd,
    sweep_cmd,
    sync_cmd,
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
  neuralforge profile zoo:resnet18
  neuralforge new --template mnist-cnn -o mnist.nfg
  neuralforge validate mnist.nfg
  neuralforge codegen mnist.nfg -o mnist_model.py
  neuralforge diagram zoo:resnet18 -o resnet18.svg
  neuralforge train mnist.nfg --dataset mnist-10k --epochs 3
  neuralforge sweep mnist.nfg --dataset mnist-10k --space space.yaml --trials 8 --parallel 2
  neuralforge runs list
  neuralforge coach RUN
  neuralforge diagnose RUN --landscape -o landscape.png
  neuralforge train mnist.nfg --dataset mnist-10k --queue --priority 5
  neuralforge queue run
  neuralforge export mnist.nfg --run RUN --format onnx -o mnist.onnx
  neuralforge optimize RUN --method quantize-static-int8
  neuralforge registry register RUN --name mnist
  neuralforge gate mnist@1 --policy policy.yaml
  neuralforge registry promote mnist@1 --to production
  neuralforge hosts add gpu-box --host 10.0.0.5 --user me --key ~/.ssh/id_ed25519
  neuralforge demo"""

DEBUG_HELP = "show the full traceback of an unexpected error instead of saving it to a report"
INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl+C (128 + SIGINT)


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad command line in one line that names the option and the value (argparse's own message),
    and where to read more, instead of the usage block; exit status 2 as argparse's. Subcommand parsers are
    made of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add_debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` is accepted after any command as well as before it: people add it at the end."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                child.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
                _add_debug_everywhere(child)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="neuralforge", description=DESCRIPTION, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"neuralforge {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    app_cmd.add_parsers(sub)
    start_cmd.add_parsers(sub)
    zoo_cmd.add_parsers(sub)
    summary_cmd.add_parsers(sub)
    check_cmds.add_parsers(sub)
    diagram_cmd.add_parsers(sub)
    layers_cmd.add_parsers(sub)
    datasets_cmd.add_parsers(sub)
    train_cmds.add_parsers(sub)
    sweep_cmd.add_parsers(sub)
    fix_cmd.add_parsers(sub)
    runs_cmd.add_parsers(sub)
    coach_cmd.add_parsers(sub)
    diagnose_cmd.add_parsers(sub)
    queue_cmd.add_parsers(sub)
    demo_cmd.add_parsers(sub)
    calibrate_cmd.add_parsers(sub)
    profile_cmd.add_parsers(sub)
    export_cmd.add_parsers(sub)
    hosts_cmd.add_parsers(sub)
    import_cmd.add_parsers(sub)
    sync_cmd.add_parsers(sub)
    components_cmd.add_parsers(sub)
    notes_cmd.add_parsers(sub)
    monitor_cmd.add_parsers(sub)
    report_cmd.add_parsers(sub)
    optimize_cmd.add_parsers(sub)
    registry_cmd.add_parsers(sub)
    gate_cmd.add_parsers(sub)
    pipeline_cmd.add_parsers(sub)
    serve_cmd.add_parsers(sub)
    explain_cmd.add_parsers(sub)
    _add_debug_everywhere(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Whatever goes wrong ends in one line on standard error and a status: a bad command
    line 2 (from argparse), a :class:`UserError` its ``status``, a file the system refused 1, Ctrl+C 130, and
    anything else (a bug) 2 with a saved report — or its traceback, with ``--debug``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # known before parsing, so that a failure while parsing is shown the same way
    try:
        return _run(argv)
    except UserError as exc:  # the user's to fix: the message says how, a traceback would bury it
        print(f"neuralforge: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:  # `neuralforge … | head`: the reader has all it wanted
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("neuralforge: interrupted", file=sys.stderr)
        return INTERRUPTED
    except OSError as exc:
        if exc.filename is None or debug:
            return _internal_error(exc, argv, debug)
        # a file or folder the system refused (no permission, disk full, not a folder): the user's to fix
        print(f"neuralforge: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        return _internal_error(exc, argv, debug)


def _run(argv: list[str]) -> int:
    parser = build_parser()
    if not [a for a in argv if a != "--debug"]:  # bare `neuralforge` opens the editor (or says in one line
        argv = [*argv, "app"]                    # why it cannot, and what to run)
    args = parser.parse_args(sweep_cmd.route(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    for stream in (sys.stdout, sys.stderr):
        # Text from a graph file (a name, a label) may hold lone surrogates, which no encoding can write.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    return int(args.func(args) or 0)


def _internal_error(exc: BaseException, argv: Sequence[str], debug: bool) -> int:
    """A bug: the traceback with ``--debug``, else one line that points at a saved report."""
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
        print(f"neuralforge: internal error: {type(exc).__name__} (traceback above)", file=sys.stderr)
    else:
        from neuralforge_desktop.cli.crash_report import report_internal_error

        print(report_internal_error(exc, argv), file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's final flush into the closed pipe
    does not print an error of its own."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (e.g. captured output): nothing will be flushed
        pass


if __name__ == "__main__":
    sys.exit(main())
