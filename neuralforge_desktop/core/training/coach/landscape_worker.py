"""The loss-landscape worker process, and how the CLI and the app start it and read what it says.

The worker runs like the training worker (``core/training/child_python.py``: this interpreter, nothing from the
user's working directory importable), so torch and the model load there and never in the app's process. Its
arguments name the store and the run; every line it prints is one JSON object with ``"event"``:

* ``{"event": "started", "kind": "surface", "checkpoint": "epoch-0003", …}`` once the request is checked;
* ``{"event": "progress", "done": 12, "total": 442}`` after every loss evaluated;
* ``{"event": "done", "path": "…/landscape.json", "seconds": …}`` with the result written (JSON, never a pickle);
* ``{"event": "failed", "error": "…", "user_error": true|false}`` when it could not.

SIGTERM (the app's Cancel, or Ctrl+C in the CLI) stops it at the next point, with ``{"event": "cancelled"}``.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.measure.process import MeasureProcess
from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code
from neuralforge_desktop.core.training.coach.landscape import (
    DEFAULT_EXAMPLES,
    DEFAULT_GRID,
    DEFAULT_POINTS,
    DEFAULT_SEED,
    LandscapeError,
    LandscapeRequest,
    resolve_tag,
)

WORKER = "neuralforge_desktop.core.training.coach.landscape_worker"


def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def request_args(store: str | Path, run_id: str, request: LandscapeRequest, out: str | Path) -> list[str]:
    """The worker's arguments for ``request`` on run ``run_id`` of ``store``, writing the result to ``out``."""
    args = ["--store", str(store), "--run", run_id, "--out", str(out), "--grid", str(request.grid),
            "--points", str(request.points), "--examples", str(request.examples), "--seed", str(request.seed),
            "--span", repr(request.span), "--device", request.device,
            "--alpha-range", repr(request.alpha_range[0]), repr(request.alpha_range[1])]
    if request.between is not None:
        args += ["--between", *request.between]
    elif request.checkpoint is not None:
        args += ["--checkpoint", request.checkpoint]
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neuralforge-landscape")
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--run", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--between", nargs=2, default=None, metavar=("A", "B"))
    parser.add_argument("--grid", type=int, default=DEFAULT_GRID)
    parser.add_argument("--points", type=int, default=DEFAULT_POINTS)
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--span", type=float, default=1.0)
    parser.add_argument("--alpha-range", type=float, nargs=2, default=(-0.25, 1.25))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    stop = {"asked": False}

    def ask_stop(signum: int, frame: Any) -> None:
        stop["asked"] = True

    signal.signal(signal.SIGTERM, ask_stop)
    signal.signal(signal.SIGINT, ask_stop)
    request = LandscapeRequest(checkpoint=args.checkpoint, between=tuple(args.between) if args.between else None,
                               grid=args.grid, span=args.span, points=args.points,
                               alpha_range=(args.alpha_range[0], args.alpha_range[1]), examples=args.examples,
                               seed=args.seed, device=args.device)
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.training.coach.landscape import LandscapeCancelled, compute_landscape

    try:
        run_dir, run_name = locate_run(args.store, args.run)
        center = resolve_tag(run_dir, request.between[0] if request.between else request.checkpoint, run_name)
        _emit("started", kind=request.kind, run_id=args.run, run_name=run_name, checkpoint=center,
              checkpoint_b=resolve_tag(run_dir, request.between[1], run_name) if request.between else None)
        result = compute_landscape(run_dir, request, run_id=args.run, run_name=run_name,
                                   progress=lambda done, total: _emit("progress", done=done, total=total),
                                   cancelled=lambda: stop["asked"])
        result.save(args.out)
    except LandscapeCancelled as exc:
        _emit("cancelled", reason=str(exc))
        return 1
    except Exception as exc:  # reported as an event: the reader shows it, never a traceback in the UI
        _emit("failed", error=str(exc) or type(exc).__name__, user_error=isinstance(exc, UserError),
              kind=type(exc).__name__)
        if not isinstance(exc, UserError):
            import traceback

            traceback.print_exc()  # stderr: a bug's traceback for whoever reads the worker's log
        return 1
    _emit("done", path=str(args.out), seconds=round(result.seconds, 3))
    return 0


def locate_run(store_path: str | Path, run_id: str) -> tuple[Path, str]:
    """The run's folder and its name; a :class:`LandscapeError` naming the store when there is no such run."""
    from neuralforge_desktop.core.store.entities import NotFoundError
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.runner import runs_root

    with Store(store_path) as store:
        try:
            run = store.get_run(run_id)
        except NotFoundError:
            raise LandscapeError(f"no run {run_id!r} in {store.path}") from None
        return runs_root(Path(store.path)) / run.id, run.name


class LandscapeProcess(MeasureProcess):
    """One worker run: ``start()``, then ``events()`` yields its events as they come (as a measuring worker's);
    ``cancel()`` asks it to stop at the next point, ``kill()`` ends it at once."""

    def __init__(self, args: list[str]) -> None:
        super().__init__(args)
        self._stderr: Any = None

    def command(self) -> list[str]:
        return python_command(run_main_code(WORKER), *self.args)

    def start(self) -> LandscapeProcess:
        # stderr to a file, not a pipe: a pipe nobody reads while stdout is followed would fill up and stall it
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (lives as long as the process)
        self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                        bufsize=1, env={**child_environment(), "PYTHONUNBUFFERED": "1"})
        return self

    def stderr_tail(self, lines: int = 20) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return "\n".join(self._stderr.read().splitlines()[-lines:])

    def cancel(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status once the worker has ended (None if it is still running after ``timeout`` s)."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


if __name__ == "__main__":
    sys.exit(main())
