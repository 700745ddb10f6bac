"""``neuralforge diagnose RUN --landscape -o FILE.png``: the loss landscape of a trained run's checkpoint.

The landscape is computed in a worker process (``core/training/coach/landscape_worker.py``) while this one
shows its progress; the picture is drawn with Qt offscreen (no window, no display), imported only when the
command runs, like ``neuralforge diagram``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.core.training.coach.landscape import (
    DEFAULT_EXAMPLES,
    DEFAULT_GRID,
    DEFAULT_POINTS,
    MAX_GRID,
    LandscapeRequest,
)

grid_size = opt._int_in(2, MAX_GRID, f"must be a whole number from 2 to {MAX_GRID}")
line_points = opt._int_in(2, 10 * MAX_GRID, f"must be a whole number from 2 to {10 * MAX_GRID}")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from neuralforge_desktop.cli.train_cmds import add_store_arg

    p = sub.add_parser(
        "diagnose", help="look into a trained run: the loss landscape of a checkpoint",
        description="Look into a trained run. --landscape draws the loss around a checkpoint, along two random "
        "filter-normalised directions (Li et al. 2018), as a contour plot; with --between A B, the loss "
        "along the straight line from checkpoint A to checkpoint B. The loss is evaluated on a fixed, "
        "seeded subset of the training data in a worker process; the picture is drawn offscreen "
        "(needs PySide6, no display).",
        epilog="examples:\n  neuralforge diagnose 9d9c5e349461 --landscape -o landscape.png\n"
        "  neuralforge diagnose 9d9c5e349461 --landscape --checkpoint best --grid 31 -o best.png --json best.json\n"
        "  neuralforge diagnose 9d9c5e349461 --landscape --between epoch-0001 latest -o path.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="the run id (see `neuralforge runs list`)")
    p.add_argument("--landscape", action="store_true", help="compute and draw the loss landscape")
    p.add_argument("-o", "--output", type=opt.output_file, metavar="FILE.png", help="the picture to write")
    p.add_argument("--json", type=opt.output_file, metavar="FILE.json", default=None,
                   help="also write the numbers (grid, losses, accuracies) as JSON")
    p.add_argument("--checkpoint", metavar="TAG", default=None,
                   help="the centre of the surface: epoch-0003, best, latest (default) or an epoch number")
    p.add_argument("--between", nargs=2, metavar=("TAG_A", "TAG_B"), default=None,
                   help="the loss along the line from checkpoint A to B (α from -0.25 to 1.25) instead")
    p.add_argument("--grid", type=grid_size, default=DEFAULT_GRID, metavar="G",
                   help=f"G × G points over [-1, 1]² (default {DEFAULT_GRID}; time grows with G²)")
    p.add_argument("--points", type=line_points, default=DEFAULT_POINTS, metavar="N",
                   help=f"points along a --between line (default {DEFAULT_POINTS})")
    p.add_argument("--examples", type=opt.positive_int, default=DEFAULT_EXAMPLES, metavar="N",
                   help=f"training examples the loss is evaluated on (default {DEFAULT_EXAMPLES:,})")
    p.add_argument("--seed", type=opt.seed, default=0, help="seeds the directions and the examples (default 0)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                   help="where the model is evaluated (default cpu)")
    add_store_arg(p)
    p.set_defaults(func=cmd_diagnose)


def cmd_diagnose(args: argparse.Namespace) -> int:
    if not args.landscape:
        raise CliError("say what to look at: --landscape (the loss landscape of a checkpoint)")
    if not args.output:
        raise CliError("--landscape needs -o FILE.png, the picture to write")
    target = Path(args.output)
    if target.suffix.lower() != ".png":
        raise CliError(f"cannot draw into {target.name!r}: the file must end in .png")
    if args.checkpoint is not None and args.between is not None:
        raise CliError("give --checkpoint (a surface around it) or --between A B (a line), not both")
    if importlib.util.find_spec("PySide6") is None:
        raise CliError("drawing the landscape needs PySide6; install it with "
                       "`pip install 'neuralforge-desktop[ui]'`", status=1)
    request = LandscapeRequest(checkpoint=args.checkpoint, between=tuple(args.between) if args.between else None,
                               grid=args.grid, points=args.points, examples=args.examples, seed=args.seed,
                               device=args.device)
    store_path, run_id, label = check_run(args.store, args.run, request)
    with tempfile.TemporaryDirectory(prefix="neuralforge-landscape-") as scratch:
        numbers = Path(args.json) if args.json else Path(scratch) / "landscape.json"
        result = compute_in_worker(store_path, run_id, label, request, numbers)
        from neuralforge_desktop.ui.app import headless_application
        from neuralforge_desktop.ui.training.landscape_plot import LandscapePlot

        headless_application()
        plot = LandscapePlot(theme="light")
        plot.show_result(result)
        plot.save_png(target)
    shape = (f"{len(result.xs)}×{len(result.ys)} grid around {result.checkpoint}" if result.kind == "surface"
             else f"{len(result.alphas)} points from {result.checkpoint} to {result.checkpoint_b}")
    also = f" and {args.json}" if args.json else ""
    print(f"wrote {target}{also} ({shape}; loss at {result.checkpoint} {result.center_loss:.4g}, "
          f"{result.examples:,} examples, {result.seconds:.1f} s)")
    return 0


def check_run(store_arg: str | None, run_arg: str, request: LandscapeRequest) -> tuple[str, str, str]:
    """The store's path, the run id and a label for messages, once the run and its checkpoints are known to be
    there (before a worker starts); each problem a one-line error with status 1."""
    from neuralforge_desktop.cli.train_cmds import open_store
    from neuralforge_desktop.core.store.entities import NotFoundError
    from neuralforge_desktop.core.training.coach.landscape import resolve_tag
    from neuralforge_desktop.core.training.runner import runs_root

    request.validate()
    with open_store(store_arg) as store:
        store.mark_crashed_runs()
        try:
            run = store.get_run(run_arg)
        except NotFoundError:
            raise CliError(f"no run {run_arg!r} in {store.path} (see `neuralforge runs list`)", status=1) from None
        run_dir = runs_root(Path(store.path)) / run.id
        label = f"{run.name} ({run.id})"
        for tag in request.between or (request.checkpoint,):
            resolve_tag(run_dir, tag, label)
        return str(store.path), run.id, label


def compute_in_worker(store_path: str, run_id: str, label: str, request: LandscapeRequest, out: Path) -> Any:
    """Run the worker, showing its progress on standard error; Ctrl+C stops it. The result, read back."""
    from neuralforge_desktop.core.training.coach.landscape import LandscapeError, LandscapeResult
    from neuralforge_desktop.core.training.coach.landscape_worker import LandscapeProcess, request_args

    process = LandscapeProcess(request_args(store_path, run_id, request, out)).start()
    tty = sys.stderr.isatty()
    last: dict[str, Any] = {}
    shown = -1
    try:
        for event in process.events():
            kind = event["event"]
            if kind == "started":
                what = (f"a {request.grid}×{request.grid} surface around {event['checkpoint']}"
                        if event["kind"] == "surface" else
                        f"the line from {event['checkpoint']} to {event['checkpoint_b']}")
                print(f"run {label}: computing {what} on {request.examples:,} examples", file=sys.stderr)
            elif kind == "progress":
                done, total = int(event["done"]), int(event["total"])
                percent = 100 * done // max(total, 1)
                if tty:
                    print(f"\r  {done}/{total} points ({percent}%)", end="", file=sys.stderr, flush=True)
                elif percent // 10 != shown // 10 or done == total:  # a log file gets a line per 10%
                    print(f"  {done}/{total} points ({percent}%)", file=sys.stderr, flush=True)
                shown = percent
            else:
                last = event
    except KeyboardInterrupt:
        process.cancel()
        if process.wait(10) is None:
            process.kill()
        raise
    if tty and shown >= 0:
        print(file=sys.stderr)
    if last.get("event") == "done":
        return LandscapeResult.load(out)
    if last.get("event") == "failed":
        if last.get("user_error"):
            raise LandscapeError(str(last.get("error")))
        raise RuntimeError(f"the landscape worker failed: {last.get('error')}\n{process.stderr_tail()}")
    raise RuntimeError(f"the landscape worker stopped without a result\n{process.stderr_tail()}")
