"""``neuralforge demo``: the headless tour — build the MNIST CNN, train it briefly on MNIST-10k, show the
summary and the run, and say where the files are."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="headless tour: build, summarise and briefly train the MNIST CNN",
                       description="Build the MNIST CNN, show its shapes and costs, train it for one epoch on "
                       "the built-in MNIST-10k digits, and show the recorded run.")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--out", metavar="DIR", help="where to write the graph and code (default: the user data dir)")
    p.add_argument("--store", metavar="PATH", help="experiment store (default: the user data dir)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from platformdirs import user_data_dir

    from neuralforge_desktop.cli.main import main as cli

    folder = Path(args.out or Path(user_data_dir("neuralforge")) / "demo")
    folder.mkdir(parents=True, exist_ok=True)
    graph_file, code_file = folder / "mnist-cnn.nfg", folder / "mnist_cnn_model.py"
    store = ["--store", args.store] if args.store else []
    print("NeuralForge demo (headless: the desktop editor drives the same core)\n")
    steps = [
        ("1. Build the MNIST CNN from the zoo and save it", ["new", "--template", "mnist-cnn", "-o", str(graph_file),
                                                              "--force"]),
        ("2. Every shape and cost, per layer", ["summary", str(graph_file), "--batch-size", "64"]),
        ("3. Generate readable PyTorch", ["codegen", str(graph_file), "-o", str(code_file)]),
        (f"4. Train it on MNIST-10k ({args.epochs} epoch{'s' if args.epochs != 1 else ''}, CPU)",
         ["train", str(graph_file), "--dataset", "mnist-10k", "--epochs", str(args.epochs), "--experiment", "demo",
          *store]),
        ("5. The run, as the experiment store keeps it", ["runs", "list", "--experiment", "demo", "--limit", "3",
                                                          *store]),
    ]
    for title, argv in steps:
        print(f"── {title}\n$ neuralforge {' '.join(argv)}")
        status = cli(argv)
        print()
        if status != 0:
            return status
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    print(f"Files: {graph_file}\n       {code_file}\nStore: {args.store or default_store_path()}")
    print("Next: `neuralforge runs show RUN`, `neuralforge train zoo:lenet5 --dataset fashion-mnist`, "
          "`neuralforge --help`.")
    return 0
