"""``neuralforge start``: the desktop app where there is a display and it is installed; otherwise a headless
tour of the core (a zoo model's summary, its validation and its generated PyTorch source)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("start", help="open the app, or take the headless tour without a display",
                       description="Open the desktop app when a display is available; otherwise run a short "
                       "headless tour: summarise a zoo model, validate it and generate its PyTorch code.")
    p.add_argument("--template", default="mnist-cnn", metavar="NAME", help="zoo model for the tour")
    p.add_argument("--out", metavar="DIR", help="where the tour writes its files (default: the user data dir)")
    p.set_defaults(func=cmd_start)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM") in {"offscreen", "minimal"} or sys.platform in {"darwin", "win32"})


def cmd_start(args: argparse.Namespace) -> int:
    app = importlib.util.find_spec("neuralforge_desktop.ui.app") if importlib.util.find_spec(
        "neuralforge_desktop.ui") else None
    if app is not None and has_display():
        from neuralforge_desktop.ui.app import run_app  # type: ignore[import-not-found]

        return int(run_app([]))
    return tour(args.template, args.out)


def tour(template: str, out: str | None) -> int:
    from platformdirs import user_data_dir

    from neuralforge_desktop.cli.main import main as cli

    folder = Path(out or Path(user_data_dir("neuralforge")) / "tour")
    folder.mkdir(parents=True, exist_ok=True)
    graph_file = folder / f"{template}.nfg"
    code_file = folder / f"{template.replace('-', '_')}_model.py"
    print("NeuralForge headless tour (no display here; the same core drives the desktop editor)\n")
    steps = [
        (f"1. Summarise the {template} template: shapes, parameters, MACs, memory, latency",
         ["summary", f"zoo:{template}", "--batch-size", "32"]),
        ("2. Save it as a graph file you can edit", ["new", "--template", template, "-o", str(graph_file),
                                                     "--force"]),
        ("3. Check it", ["validate", str(graph_file)]),
        ("4. Generate readable PyTorch", ["codegen", str(graph_file), "-o", str(code_file)]),
    ]
    for title, argv in steps:
        print(f"── {title}\n$ neuralforge {' '.join(argv)}")
        status = cli(argv)
        print()
        if status != 0:
            return status
    print(f"Files are in {folder}:\n  {graph_file.name}  (the graph)\n  {code_file.name}  (build_model(), "
          "example_input())")
    print("More: `neuralforge zoo list`, `neuralforge layers`, `neuralforge --help`.")
    return 0
