"""Start the measuring worker (:mod:`.worker`) and read what it reports; the CLI and the app both use this.

The worker runs like the training worker (``core/training/child_python.py``): this interpreter, with nothing
from the working directory importable. :func:`profile_args` and :func:`calibrate_args` build its argument
lists; :class:`MeasureProcess` runs it and yields its events; :func:`start_background_calibration` starts a
detached calibration (at most one at a time) that waits for an idle machine and replaces a calibration that was
measured under load, or makes the first one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code

WORKER = "neuralforge_desktop.core.measure.worker"


def worker_command(args: list[str]) -> list[str]:
    return python_command(run_main_code(WORKER), *args)


def write_graph(graph: Graph, folder: str | Path | None = None) -> Path:
    """Save ``graph`` where the worker can read it (a new temporary folder unless given)."""
    from neuralforge_desktop.core.ir.serialize import save_graph

    target = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="neuralforge-measure-"))
    path = target / "graph.nfg"
    save_graph(graph, path)
    return path


def profile_args(graph_file: Path, batch_size: int = 1, device: str = "cpu", *, training: bool = True,
                 budget: float = 2.0) -> list[str]:
    """The worker's arguments; it saves the result where this process looks for results."""
    from neuralforge_desktop.core.measure.results import default_results_dir

    args = ["profile", str(graph_file), "--batch-size", str(batch_size), "--device", device,
            "--budget", f"{budget:g}", "--results-dir", str(default_results_dir())]
    return args if training else [*args, "--no-training"]


def calibrate_args(*, wait: float = 120.0, force: bool = False) -> list[str]:
    """The worker's arguments; it saves the calibration where this process reads it."""
    from neuralforge_desktop.core.analysis.calibration import default_calibration_path

    args = ["calibrate", "--wait", f"{wait:g}", "--path", str(default_calibration_path())]
    return [*args, "--force"] if force else args


def parse_event(line: str) -> dict[str, Any] | None:
    """One worker line as an event, or None for anything else a library printed."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("event"), str) else None


class MeasureProcess:
    """One worker run; ``events()`` yields its events as they come."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> MeasureProcess:
        self.process = subprocess.Popen(worker_command(self.args), stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, bufsize=1,
                                        env={**child_environment(), "PYTHONUNBUFFERED": "1"})
        return self

    def events(self) -> Iterator[dict[str, Any]]:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            event = parse_event(line)
            if event is not None:
                yield event
        self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def run_to_end(args: list[str]) -> dict[str, Any]:
    """Run the worker and return its last event (a ``failed`` event when it said nothing)."""
    process = MeasureProcess(args).start()
    last: dict[str, Any] = {"event": "failed", "error": "the measuring worker stopped without a result"}
    for event in process.events():
        if event["event"] != "progress":
            last = event
    return last


# -- background calibration ------------------------------------------------------------------------------
def _lock_path() -> Path:
    from neuralforge_desktop.core.analysis.calibration import default_calibration_path

    return default_calibration_path().with_name("calibrating.pid")


def background_calibration_running() -> bool:
    try:
        pid = int(_lock_path().read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def start_background_calibration(wait: float = 600.0) -> subprocess.Popen[bytes] | None:
    """Start a detached calibration unless one is running; it waits up to ``wait`` s for an idle machine."""
    lock = _lock_path()
    lock.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(lock.with_name("calibrating.lock")):  # two programs asking at once start one calibration
        if background_calibration_running():
            return None
        process = subprocess.Popen(worker_command(calibrate_args(wait=wait)), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                   env=child_environment())
        lock.write_text(str(process.pid))
    return process


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a lock file) for the block; other processes wait for it."""
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: the check-then-start window stays open there (milliseconds)
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
