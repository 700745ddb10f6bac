"""Apply edited code to the canvas: the import runs in a separate, long-lived process.

The code view's text is the user's code; importing it runs it, so it runs in
:mod:`neuralforge_desktop.core.importers.code_worker`, started on the first apply and kept for the next ones
(torch is imported once). Replies come back through ``QProcess`` signals, so the UI thread never waits.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.serialize import GraphFileError, graph_from_dict
from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code

WORKER = "neuralforge_desktop.core.importers.code_worker"


class CodeApplier(QObject):
    """``apply(text)`` → ``imported(graph)`` or ``failed(message, line)`` (line 1-based, 0 when unknown)."""

    imported = Signal(object)
    failed = Signal(str, int)
    replied = Signal(dict)  # the whole reply to a request sent with ``send`` (a file import)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: QProcess | None = None
        self._buffer = b""
        self._next_id = 0
        self._waiting: int | None = None

    @property
    def busy(self) -> bool:
        return self._waiting is not None

    def apply(self, text: str) -> None:
        self.send({"source": text})

    def send(self, payload: dict[str, object]) -> None:
        process = self._ensure_process()
        self._next_id += 1
        self._waiting = self._next_id  # a newer request supersedes an older one still running
        process.write((json.dumps({**payload, "id": self._next_id}) + "\n").encode())

    def stop(self) -> None:
        if self._process is not None:
            self._process.closeWriteChannel()
            if not self._process.waitForFinished(2000):
                self._process.kill()
                self._process.waitForFinished(1000)
            self._process = None

    def _ensure_process(self) -> QProcess:
        if self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning:
            return self._process
        process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in child_environment().items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        argv = python_command(run_main_code(WORKER))
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._ended)
        process.start(argv[0], argv[1:])
        self._process, self._buffer = process, b""
        return process

    def _read(self) -> None:
        assert self._process is not None
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            if reply.get("id") != self._waiting:
                continue  # an answer to an apply a newer one replaced
            self._waiting = None
            if "graph" not in reply and "error" not in reply or "written" in reply:
                self.replied.emit(reply)
                continue
            if "graph" in reply:
                try:
                    graph: Graph = graph_from_dict(reply["graph"])
                except GraphFileError as exc:
                    self.failed.emit(str(exc), 0)
                    continue
                self.imported.emit(graph)
            else:
                self.failed.emit(str(reply.get("error", "the code could not be imported")), int(reply.get("line") or 0))

    def _ended(self) -> None:
        if self._waiting is not None:
            self._waiting = None
            error = bytes(self._process.readAllStandardError().data()).decode(errors="replace") if self._process else ""
            last = error.strip().splitlines()[-1] if error.strip() else "the import process ended"
            self.failed.emit(f"the import process stopped: {last}", 0)
        self._process = None
