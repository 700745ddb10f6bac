"""The Summary's Measure button: time the graph for real, off the UI thread, and show it beside the estimate.

It runs the same measuring worker as ``neuralforge profile`` (``core/measure/worker.py``) as a :class:`QProcess`,
so the editor stays responsive and torch is never imported into it; the worker saves its result per graph,
where the Summary (and ``neuralforge summary``) find it. While it runs the button stops it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.measure.process import parse_event, profile_args, worker_command, write_graph
from neuralforge_desktop.core.training.child_python import child_environment


class MeasureRunner(QObject):
    """Runs one measurement at a time; reports ``progress(text)`` and ``finished(event)`` (the worker's last
    event: ``measured`` with its result, or ``failed`` with the error)."""

    progress = Signal(str)
    finished = Signal(dict)

    def __init__(self, parent: QObject | None = None, *, command: Callable[[list[str]], list[str]] = worker_command,
                 budget: float = 2.0) -> None:
        super().__init__(parent)
        self._command = command
        self._budget = budget
        self._process: QProcess | None = None
        self._buffer = b""
        self._last: dict[str, Any] = {}
        self._folder: Path | None = None

    def running(self) -> bool:
        return self._process is not None

    def start(self, graph: Graph, batch_size: int) -> None:
        if self._process is not None:
            return
        self._folder = write_graph(graph).parent
        argv = self._command(profile_args(self._folder / "graph.nfg", batch_size, "cpu", budget=self._budget))
        process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in child_environment().items():
            environment.insert(key, value)
        environment.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(environment)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        process.setStandardErrorFile(QProcess.nullDevice())
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._done)
        self._buffer, self._last, self._process = b"", {}, process
        self.progress.emit("starting the measuring worker …")
        process.start(argv[0], argv[1:])

    def stop(self) -> None:
        if self._process is not None:
            self._last = {"event": "failed", "error": "stopped"}
            self._process.kill()

    def _read(self) -> None:
        if self._process is None:
            return
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            event = parse_event(line.decode("utf-8", "replace"))
            if event is None:
                continue
            if event["event"] == "progress":
                self.progress.emit(str(event.get("text", "")))
            elif self._last.get("error") != "stopped":
                self._last = event

    def _done(self, *_: object) -> None:
        self._read()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
        self.finished.emit(self._last or {"event": "failed", "error": "the measuring worker stopped without a "
                                          "result"})
