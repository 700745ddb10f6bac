"""The export worker process: one export (:func:`~.pipeline.export_graph`), reporting JSON lines on stdout.

Started by :mod:`.process` the way the training and measuring workers are (see
``core/training/child_python.py``: nothing from the user's working directory is importable), so torch and the
format's framework are imported here, never in the app's process, and a converter that crashes takes only this
process down. Every line on stdout is one JSON object with ``"event"``:

* ``{"event": "progress", "fraction": 0.4, "text": "…"}`` while working;
* ``{"event": "result", "report": {…}}`` at the end (the :class:`~.report.ExportReport` as JSON);
* ``{"event": "error", "error": "…", "user_error": true|false, "kind": "ExportError"}`` when it failed (with
  ``"traceback"`` for an error that is ours to fix, not the user's).

Whatever a library prints goes to stderr, so stdout carries the events alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

_events: TextIO = sys.stdout


def _emit(event: str, **fields: Any) -> None:
    _events.write(json.dumps({"event": event, **fields}) + "\n")
    _events.flush()


def _progress(fraction: float, text: str) -> None:
    _emit("progress", fraction=round(min(max(fraction, 0.0), 1.0), 3), text=text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neuralforge-export-worker")
    p.add_argument("graph", type=Path, help="the graph file (.nfg)")
    p.add_argument("--format", required=True)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--run")
    p.add_argument("--weights", type=Path)
    p.add_argument("--store", type=Path)
    p.add_argument("--calibration")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--latency-batches", default="1,32", help="comma-separated; empty: no timing")
    p.add_argument("--work-dir", type=Path, help="an empty folder beside the output, owned by the caller")
    return p


def main(argv: list[str] | None = None) -> int:
    global _events
    _events, sys.stdout = sys.stdout, sys.stderr  # prints from torch or a converter must not break the events
    args = parser().parse_args(argv)
    try:
        from neuralforge_desktop.core.exporters.pipeline import ExportRequest, export_graph
        from neuralforge_desktop.core.ir.serialize import load_graph

        request = ExportRequest(
            graph=load_graph(args.graph), format=args.format, output=args.output, precision=args.precision,
            run_id=args.run, weights=args.weights, store=args.store, verify=not args.no_verify,
            calibration=args.calibration, work_dir=args.work_dir,
            latency_batches=tuple(int(b) for b in args.latency_batches.split(",") if b.strip()))
        report = export_graph(request, _progress)
    except Exception as exc:  # reported as an event: the reader shows it, never a traceback in the UI
        from neuralforge_desktop.core.errors import UserError

        user = isinstance(exc, UserError)
        fields: dict[str, Any] = {"error": str(exc) or type(exc).__name__, "user_error": user,
                                  "kind": type(exc).__name__}
        if not user:
            fields["traceback"] = traceback.format_exc()
        _emit("error", **fields)
        return 1
    _emit("result", report=report.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
