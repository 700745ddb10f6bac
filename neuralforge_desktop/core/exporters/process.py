"""Run an export in the worker process (:mod:`.worker`) and read its events; the CLI and the app both use this.

    process = ExportProcess(request).start()   # refuses a bad request first, in this process, without torch
    for event in process.events(): ...         # progress …, then one result or error
    process.kill()                             # cancel: the worker dies, its temporary folder is removed

The request's checks that need no torch (:func:`~.pipeline.preflight`) run here, so a bad format, graph, output
folder or weights file is refused at once. This process also owns the temporary folder beside the output: a
killed or crashed worker leaves nothing behind.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.exporters.pipeline import ExportRequest, preflight
from neuralforge_desktop.core.exporters.placement import make_work_dir, remove_work_dir
from neuralforge_desktop.core.measure.process import parse_event
from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code

WORKER = "neuralforge_desktop.core.exporters.worker"
STDERR_TAIL = 4000  # characters of a crashed worker's stderr kept for its error message


def worker_args(request: ExportRequest, graph_file: Path, work_dir: Path) -> list[str]:
    args = [str(graph_file), "--format", request.format, "--output", str(request.output), "--precision",
            request.precision, "--work-dir", str(work_dir),
            "--latency-batches", ",".join(str(b) for b in request.latency_batches)]
    for flag, value in (("--run", request.run_id), ("--weights", request.weights), ("--store", request.store),
                        ("--calibration", request.calibration)):
        if value is not None:
            args += [flag, str(value)]
    return args if request.verify else [*args, "--no-verify"]


class ExportProcess:
    """One export in a worker; ``events()`` yields its events as they come, ending with a result or an error."""

    def __init__(self, request: ExportRequest) -> None:
        self.request = request
        self.process: subprocess.Popen[str] | None = None
        self.work_dir: Path | None = None

    def start(self) -> ExportProcess:
        from neuralforge_desktop.core.ir.serialize import save_graph

        preflight(self.request)
        self.work_dir = make_work_dir(self.request.output)
        try:
            graph_file = self.work_dir / "graph.nfg"
            save_graph(self.request.graph, graph_file)
            with open(self.work_dir / "worker.log", "w", encoding="utf-8") as log:
                self.process = subprocess.Popen(
                    python_command(run_main_code(WORKER), *worker_args(self.request, graph_file, self.work_dir)),
                    stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True, bufsize=1,
                    env={**child_environment(), "PYTHONUNBUFFERED": "1"})
        except BaseException:
            self._clean()
            raise
        return self

    def events(self) -> Iterator[dict[str, Any]]:
        assert self.process is not None and self.process.stdout is not None
        ended = False
        try:
            for line in self.process.stdout:
                event = parse_event(line)
                if event is None:
                    continue
                ended = ended or event["event"] in ("result", "error")
                yield event
            code = self.process.wait()
            if not ended:  # killed, crashed, or out of memory: no event said why
                yield {"event": "error", "user_error": False, "kind": "WorkerDied",
                       "error": f"the export worker stopped ({_exit_text(code)}) without a result",
                       "stderr": self.stderr_tail()}
        finally:
            self._clean()

    def run(self) -> dict[str, Any]:
        """Wait for the end; the last event (a result or an error)."""
        last: dict[str, Any] = {}
        for event in self.events():
            if event["event"] != "progress":
                last = event
        return last

    def kill(self) -> None:
        """Cancel: stop the worker now; nothing it was writing stays behind."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._clean()

    def stderr_tail(self) -> str:
        """The end of what the worker wrote on stderr (while its folder is there)."""
        if self.work_dir is None:
            return ""
        try:
            return (self.work_dir / "worker.log").read_text(encoding="utf-8", errors="replace")[-STDERR_TAIL:]
        except OSError:
            return ""

    def _clean(self) -> None:
        if self.work_dir is not None:
            remove_work_dir(self.work_dir)


def _exit_text(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit status {code}"
