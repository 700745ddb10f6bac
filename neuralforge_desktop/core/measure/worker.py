"""The measuring worker process: ``calibrate`` this CPU or ``profile`` a graph, reporting JSON lines on stdout.

Started by :mod:`.process` the way the training worker is (see ``core/training/child_python.py``: nothing from
the user's working directory is importable), so torch is imported here and never in the app's process, and a
crash in a model cannot take the editor down. Every line is one JSON object with ``"event"``:

* ``{"event": "progress", "fraction": 0.4, "text": "…"}`` while working;
* ``{"event": "calibrated", "path": …, "seconds": …, "under_load": …}`` or
  ``{"event": "measured", "path": …, "result": {…}}`` at the end;
* ``{"event": "failed", "error": "…", "busy": true|false}`` when it could not (``busy``: other programs kept
  the machine busy, so nothing was measured).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def _progress(fraction: float, text: str) -> None:
    _emit("progress", fraction=round(min(max(fraction, 0.0), 1.0), 3), text=text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neuralforge-measure")
    sub = parser.add_subparsers(dest="command", required=True)
    cal = sub.add_parser("calibrate")
    cal.add_argument("--path", type=Path, default=None)
    cal.add_argument("--wait", type=float, default=120.0)
    cal.add_argument("--force", action="store_true")
    cal.add_argument("--rounds", type=int, default=8)
    prof = sub.add_parser("profile")
    prof.add_argument("graph", type=Path)
    prof.add_argument("--batch-size", type=int, default=1)
    prof.add_argument("--device", default="cpu")
    prof.add_argument("--no-training", action="store_true")
    prof.add_argument("--budget", type=float, default=2.0)
    prof.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "calibrate":
            return _calibrate(args)
        return _profile(args)
    except Exception as exc:  # reported as an event: the reader shows it, never a traceback in the UI
        from neuralforge_desktop.core.measure.calibrate import MachineBusy

        _emit("failed", error=str(exc) or type(exc).__name__, busy=isinstance(exc, MachineBusy),
              kind=type(exc).__name__)
        return 1


def _calibrate(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.analysis.calibration import save_calibration
    from neuralforge_desktop.core.measure.calibrate import calibrate

    calibration = calibrate(_progress, wait=args.wait, force=args.force, rounds=args.rounds)
    path = save_calibration(calibration, args.path)
    _emit("calibrated", path=str(path), seconds=calibration.meta.get("seconds"),
          under_load=calibration.under_load)
    return 0


def _profile(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.ir.serialize import load_graph
    from neuralforge_desktop.core.measure.profile_graph import profile_graph
    from neuralforge_desktop.core.measure.results import save_result

    graph = load_graph(args.graph)
    result = profile_graph(graph, args.batch_size, args.device, training=not args.no_training,
                           budget=args.budget, progress=_progress)
    path = save_result(result, args.results_dir)
    _emit("measured", path=str(path), result=result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
