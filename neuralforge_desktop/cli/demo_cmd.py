"""``neuralforge demo``: the headless tour — build the MNIST CNN, train it briefly on MNIST-10k, show the
summary and the run, and say where the files are."""

from __future__ import annotations

import argparse
from pathlib import Path

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.core.ir.graph import Graph

DATASET = "mnist-10k"
EXPERIMENT = "demo"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="headless tour: build, summarise and briefly train the MNIST CNN",
                       description="Build the MNIST CNN, show its shapes and costs, train it for one epoch on "
                       "the built-in MNIST-10k digits, and show the recorded run.")
    p.add_argument("--epochs", type=opt.positive_int, default=1)
    p.add_argument("--out", type=opt.non_empty, metavar="DIR",
                   help="where to write the graph and code (default: the user data dir)")
    p.add_argument("--store", type=opt.non_empty, metavar="PATH", help="experiment store (default: the user data dir)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(args.epochs, args.out, args.store)


def _step(title: str, *argv: str) -> None:
    """A step's heading and the command that does the same on its own, for the reader to try next."""
    print(f"── {title}\n$ neuralforge {' '.join(argv)}")


def run_demo(epochs: int = 1, out: str | None = None, store_path: str | None = None) -> int:
    """The tour, step by step through the same functions as the commands it shows."""
    from platformdirs import user_data_dir

    from neuralforge_desktop.cli.check_cmds import write_pytorch
    from neuralforge_desktop.cli.runs_cmd import list_runs
    from neuralforge_desktop.cli.summary_cmd import print_summary
    from neuralforge_desktop.cli.zoo_cmd import new_from_template

    folder = Path(out or Path(user_data_dir("neuralforge")) / "demo")
    folder.mkdir(parents=True, exist_ok=True)
    graph_file, code_file = folder / "mnist-cnn.nfg", folder / "mnist_cnn_model.py"
    store = ("--store", store_path) if store_path else ()
    print("NeuralForge demo (headless: the desktop editor drives the same core)\n")

    _step("1. Build the MNIST CNN from the zoo and save it", "new", "--template", "mnist-cnn", "-o", str(graph_file),
          "--force")
    graph = new_from_template("mnist-cnn", graph_file, force=True)
    print()
    _step("2. Every shape and cost, per layer", "summary", str(graph_file), "--batch-size", "64")
    status = print_summary(graph, batch_size=64, calibrate=False)  # the tour does not stop to time ops
    print()
    if status != 0:
        return status
    _step("3. Generate readable PyTorch", "codegen", str(graph_file), "-o", str(code_file))
    write_pytorch(graph, str(code_file))
    print()
    _step(f"4. Train it on MNIST-10k ({epochs} epoch{'s' if epochs != 1 else ''}, CPU)", "train", str(graph_file),
          "--dataset", DATASET, "--epochs", str(epochs), "--experiment", EXPERIMENT, *store)
    _train(graph, epochs, store_path)
    print()
    _step("5. The run, as the experiment store keeps it", "runs", "list", "--experiment", EXPERIMENT, "--limit", "3",
          *store)
    list_runs(store_path, EXPERIMENT, limit=3)
    print()
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    print(f"Files: {graph_file}\n       {code_file}\nStore: {store_path or default_store_path()}")
    print("Next: `neuralforge runs show RUN`, `neuralforge train zoo:lenet5 --dataset fashion-mnist`, "
          "`neuralforge --help`.")
    return 0


def _train(graph: Graph, epochs: int, store_path: str | None) -> None:
    """What ``neuralforge train GRAPH --dataset mnist-10k --epochs N --experiment demo`` does, with the train
    command's defaults; a failure raises the same one-line error."""
    from neuralforge_desktop.cli import train_cmds
    from neuralforge_desktop.cli.graph_source import CliError
    from neuralforge_desktop.core.training.config import ConfigError, TrainConfig
    from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

    try:
        config = TrainConfig(dataset=DATASET, epochs=epochs).validate()
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    train_cmds.check_dataset(DATASET)
    store = train_cmds.open_store(store_path)
    run_id, folder = prepare_run(graph, config, store, EXPERIMENT)
    print(f"run {run_id}: training {graph.name} on {DATASET} ({epochs} epoch{'s' if epochs != 1 else ''}) "
          "in a worker process")
    train_cmds.follow_run(TrainingProcess(folder).start(), run_id, store, False)
