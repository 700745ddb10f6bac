"""``neuralforge calibrate``: time real torch ops of every kind on this CPU for the latency estimate."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.graph_source import CliError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="measure this CPU again for the latency estimate",
                       description="Time real torch ops of every kind a network runs (convolutions by kernel "
                       "size and channels, depthwise convolutions, matrix products, attention, recurrent steps, "
                       "norms, elementwise ops, pooling, lookups, copies, and the cost of each eager call) on "
                       "this CPU, in torch eager with its default threads, and save them for the latency "
                       "estimate with the date, the torch version and the thread count. Waits for the machine "
                       "to be idle (other programs stretch multi-threaded ops many times over) and refuses to "
                       "save figures that other programs disturbed. Takes about ten seconds on an idle machine.")
    p.add_argument("--wait", type=opt.non_negative_float, default=120.0, metavar="SECONDS",
                   help="how long to wait for other programs to leave the CPU (default 120)")
    p.add_argument("--force", action="store_true",
                   help="measure even on a busy machine (the figures are marked as measured under load and are "
                   "measured again when the machine is next idle)")
    p.add_argument("--json", action="store_true", help="print the saved calibration as JSON")
    p.set_defaults(func=cmd_calibrate)


def _progress_bar(quiet: bool) -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """A rich progress bar on stderr (plain when output is not a terminal); returns (update, stop)."""
    if quiet:
        return (lambda fraction, text: None), (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("calibrating"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeElapsedColumn(), TextColumn("{task.description}"),
                   console=Console(file=sys.stderr), transient=True)
    task = bar.add_task("", total=1.0)
    bar.start()

    def update(fraction: float, text: str) -> None:
        bar.update(task, completed=fraction, description=text[:60])

    return update, bar.stop


def cmd_calibrate(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.analysis import calibration as calib
    from neuralforge_desktop.core.measure.calibrate import MachineBusy, calibrate

    update, stop = _progress_bar(args.json)
    try:
        result = calibrate(update, wait=args.wait, force=args.force)
    except MachineBusy as exc:
        stop()
        previous, _ = calib.read_calibration()
        kept = (f" The calibration from {calib.measured_when(previous)} stays in use." if previous is not None
                else "")
        raise CliError(f"the machine is busy: {exc}.{kept}", status=1) from None
    finally:
        stop()
    path = calib.save_calibration(result)
    if args.json:
        print(json.dumps({"path": str(path), **result.to_json()}, indent=1))
        return 0
    print_calibration(result, str(path))
    return 0


def print_calibration(result: Any, path: str) -> None:
    from neuralforge_desktop.core.analysis import calibration as calib
    from neuralforge_desktop.core.analysis import latency as names

    meta = result.meta
    tables = result.tables
    gemm = 2 * tables["matmul"].best_rate() / 1e9 if "matmul" in tables else 0.0
    conv = 2 * tables["conv"].best_rate() / 1e9 if "conv" in tables else 0.0
    memory = 4 * tables["elementwise"].best_rate() / 1e9 if "elementwise" in tables else 0.0
    step = result.overhead(names.STEP) + result.overhead(names.INTERLEAVED)
    lstm = tables.get("recurrent-4")
    print(f"matrix products    up to {gemm:.0f} GFLOP/s (float32); convolutions up to {conv:.0f} GFLOP/s")
    print(f"elementwise        up to {memory:.0f} GB/s")
    print(f"eager calls        {step * 1e6:.1f} µs a forward step, {result.overhead(names.MODULE) * 1e6:.1f} µs a "
          f"module call, {result.overhead(names.VIEW) * 1e6:.1f} µs a view")
    if lstm is not None:
        print(f"recurrent steps    LSTM(128), batch 1: {lstm.predict((0.0, 7.0), 1.0) * 1e6:.1f} µs a step")
    samples = sum(len(t.samples) for t in tables.values())
    print(f"measured           {calib.measured_when(result)} in {meta.get('seconds')} s: {samples} ops of "
          f"{len(tables)} kinds, best of {meta.get('rounds')} rounds; torch {meta.get('torch')}, "
          f"{meta.get('threads')} threads")
    load = meta.get("load_average")
    if isinstance(load, int | float):
        print(f"load average       {load:.2f} on {meta.get('cores')} cores")
    print(f"saved to           {path}")
    if result.under_load:
        print("note: other programs kept the machine busy while measuring (--force), so these figures may be "
              "high; the next idle start measures again (or run `neuralforge calibrate` then)")
