"""Entry point of the ``neuralforge`` command."""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from neuralforge_desktop import __version__
from neuralforge_desktop.core.errors import UserError

# Every top-level command, in the order `neuralforge --help` lists them: (name, the module under
# neuralforge_desktop.cli whose ``add_parsers`` registers it, its line in the help; None: not listed).
# Only the module of the command being run is imported (the others' imports cost a short command most of
# its time); the rest are named in the top-level parser with this help. One line per command; a module that
# registers several commands has a line for each. tests/test_cli_registry.py checks this against the modules.
COMMANDS: tuple[tuple[str, str, str | None], ...] = (
    ("app", "app_cmd", "open the desktop editor"),
    ("start", "start_cmd", "open the app, or run the headless demo without a display"),
    ("zoo", "zoo_cmd", "architecture templates (ResNet, BERT, GPT-2 …)"),
    ("new", "zoo_cmd", "create a graph file from a template"),
    ("summary", "summary_cmd", "parameters, MACs/FLOPs, memory and latency, per node"),
    ("validate", "check_cmds", "check a graph: shapes, params, connections"),
    ("codegen", "check_cmds", "generate model source code"),
    ("diagram", "diagram_cmd", "draw a graph as a PNG, SVG or PDF figure"),
    ("layers", "layers_cmd", "list layer types, show one, or add/remove your own"),
    ("datasets", "datasets_cmd", "built-in datasets and datasets on disk"),
    ("train", "train_cmds", "train a graph on a dataset"),
    ("resume", "train_cmds", "continue a stopped or crashed run from its last checkpoint"),
    ("sweep", "sweep_cmd", "hyperparameter sweep or architecture search (Optuna)"),
    ("sweep-resume", "sweep_cmd", None),
    ("sweep-show", "sweep_cmd", None),
    ("sweep-list", "sweep_cmd", None),
    ("fix", "fix_cmd", "apply the Coach's fix for a finding of a run, and optionally retrain"),
    ("runs", "runs_cmd", "list, show and compare training runs"),
    ("coach", "coach_cmd", "findings about a run or a graph, with evidence and fixes"),
    ("diagnose", "diagnose_cmd", "look into a trained run: the loss landscape of a checkpoint"),
    ("queue", "queue_cmd", "list, reprioritise, cancel and dispatch queued training jobs"),
    ("demo", "demo_cmd", "headless tour: build, summarise and briefly train the MNIST CNN"),
    ("calibrate", "calibrate_cmd", "measure this CPU again for the latency estimate"),
    ("profile", "profile_cmd", "measure a graph's latency and compare it with the estimate"),
    ("persona", "persona_cmd", "persona profiles: how the app arranges itself for who uses it"),
    ("plan", "plan_cmd", "the local plan (Free, Pro, Team, Enterprise): limits and usage"),
    ("export", "export_cmd", "export a model to ONNX, TFLite or Core ML, verified against torch"),
    ("hosts", "hosts_cmd", "remote GPU hosts over SSH: add, probe, bootstrap"),
    ("import", "import_cmd", "import a PyTorch model from your code, or an ONNX or Keras file, as an editable graph"),
    ("trust", "import_cmd", "allow the Python code a graph carries to run here"),
    ("sync", "sync_cmd", "update a graph file from its edited PyTorch code"),
    ("components", "components_cmd", "reusable blocks with exposed parameters (the component library)"),
    ("notes", "notes_cmd", "hypotheses and observations on experiments and runs"),
    ("report", "report_cmd", "an experiment as a self-contained HTML page or a Jupyter notebook"),
    ("monitor", "monitor_cmd", "latency, traffic, drift, accuracy and alerts of a served model"),
    ("optimize", "optimize_cmd", "quantise, prune or distil a trained run into a new, linked run"),
    ("registry", "registry_cmd", "registered models: versions, stages, approvals, rollback"),
    ("gate", "gate_cmd", "check a registered version against a policy's gates (for CI)"),
    ("card", "card_cmd", "a model version's model card: generate, edit, export (md, html, pdf), check"),
    ("pipeline", "pipeline_cmd", "run deployment pipelines (train → validate → … → serve) from a YAML file"),
    ("serve", "serve_cmd", "serve a model over HTTP on Ray Serve (canary, A/B, promote, rollback)"),
    ("audit", "audit_cmd", "verify, list and export the tamper-evident audit log"),
    ("store", "store_cmd", "the experiment store: copy a personal store into a team store"),
    ("lineage", "lineage_cmd", "where a prediction, model version or run came from; what used a dataset"),
    ("fairness", "fairness_cmd", "fairness of a classifier across groups (fairlearn)"),
    ("explain", "explain_cmd", "explain a trained run's predictions (Captum, SHAP, attention maps)"),
    ("comments", "comments_cmd", "threaded comments on runs, graphs, model versions and experiments"),
    ("review", "comments_cmd", "ask for, list and decide approvals of model versions"),
    ("cost", "cost_cmd", "GPU-hours and spend per project, experiment, user or host over time"),
    ("roi", "cost_cmd", "accuracy gained against compute spent: Pareto front, cost of the last tenth"),
    ("capacity", "cost_cmd", "weekly GPU-hours per host, forecast, and host utilisation"),
    ("bundle", "bundle_cmd", "share a design with its runs, metrics, artifacts and comments as one file"),
    ("portfolio", "portfolio_cmd", "every project: owner, status, best result, models, spend against budget"),
    ("budget", "budget_cmd", "monthly compute budgets per project: alerts and an optional hard stop"),
    ("users", "users_cmd", "accounts of a shared store and their roles in projects"),
)

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


def command_module(name: str | None) -> str | None:
    """The module (under neuralforge_desktop.cli) that registers the top-level command ``name``, if any."""
    return next((module for command, module, _ in COMMANDS if command == name), None)


def command_in(argv: Sequence[str]) -> str | None:
    """The top-level command named in ``argv``: its first word that is not an option (the top-level options
    take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: the full parsers of ``command``'s module (its arguments, its subcommands);
    every other command only by name and help, enough to list it and to refuse a misspelt one."""
    parser = OneLineParser(prog="neuralforge", description=DESCRIPTION, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"neuralforge {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = command_module(command)
    for name, module, help_text in COMMANDS:
        if name in sub.choices:  # registered with an earlier command of the same module
            continue
        if module == chosen:  # the whole module, at its first command's place
            importlib.import_module(f"neuralforge_desktop.cli.{module}").add_parsers(sub)
        elif help_text is None:
            sub.add_parser(name)
        else:
            sub.add_parser(name, help=help_text)
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
    if not [a for a in argv if a != "--debug"]:  # bare `neuralforge` opens the editor (or says in one line
        argv = [*argv, "app"]                    # why it cannot, and what to run)
    command = command_in(argv)
    module = command_module(command)
    if module is not None:  # a module may send a command line to another of its commands (`sweep resume`)
        route = getattr(importlib.import_module(f"neuralforge_desktop.cli.{module}"), "route", None)
        if route is not None:
            argv = route(argv)
            command = command_in(argv)
    parser = build_parser(command)
    args = parser.parse_args(argv)
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
