"""Where the Train panel trains: "This computer" or a registered host (see ``neuralforge hosts``), and in how
many data-parallel processes.

A run on a host starts in the event reader's thread (connecting and sending the dataset can take a while; the
window stays responsive), through :class:`~neuralforge_desktop.core.remote.dispatch.RemoteTrainingProcess`,
which has the local worker's interface: the panel, its curves and the Runs dock treat both alike."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QSpinBox, QWidget

from neuralforge_desktop.core.training.events import Event, FailedEvent

LOCAL = ""  # the combo's data for this computer


class RunOnCombo(QComboBox):
    """This computer, then every registered host with what its last probe found."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Where the run trains: this computer, or a host added with Train ▸ Remote Hosts / "
                        "`neuralforge hosts add` (its curves and results come back here)")
        self.refresh()

    def refresh(self) -> None:
        current = self.host_name()
        self.clear()
        self.addItem("This computer", LOCAL)
        for host in _hosts():
            gpus = len(host.probe.get("gpus") or [])
            what = f"{gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "CPU"
            ready = "" if host.python else ", not bootstrapped"
            self.addItem(f"{host.name} ({what}{ready})", host.name)
        index = self.findData(current)
        self.setCurrentIndex(max(index, 0))

    def showPopup(self) -> None:
        self.refresh()  # hosts added since (the Hosts manager, the command line) are offered at once
        super().showPopup()

    def host_name(self) -> str:
        """The chosen host's name, or "" for this computer."""
        return str(self.currentData() or LOCAL)

    def set_host(self, name: str) -> None:
        index = self.findData(name)
        if index >= 0:
            self.setCurrentIndex(index)


def procs_spin(parent: QWidget | None = None) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(1, 64)
    spin.setValue(1)
    spin.setToolTip("Data-parallel processes (torchrun): each takes a share of every batch; on CUDA one per GPU")
    return spin


def _hosts() -> list[Any]:
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    try:
        return HostRegistry().all()
    except (UserError, OSError, ValueError):  # an unreadable hosts file: this computer is still offered
        return []


class StartingRemoteRun:
    """A remote run that starts when its events are first read (in the reader's thread). Until then stop and
    pause wait for it; a start that fails becomes the run's failed event, and the run is marked failed."""

    def __init__(self, run_id: str, make: Callable[[], Any], store: Any) -> None:
        self.run_id = run_id
        self._make = make
        self._store = store
        self._process: Any = None
        self._ready = threading.Event()
        self._failed = False

    def events(self) -> Iterator[Event]:
        if self._process is None and not self._failed:
            try:
                self._process = self._make().start()
            except Exception as exc:
                self._failed = True
                failure = FailedEvent.from_exception(self.run_id, exc)
                self._store.set_status(self.run_id, "failed", reason=failure.error)
                yield failure
                return
            finally:
                self._ready.set()
        if self._process is not None:
            yield from self._process.events()

    def _started(self) -> Any:
        self._ready.wait(120)
        return self._process

    def stop(self) -> None:
        if (process := self._started()) is not None:
            process.stop()

    def pause(self) -> None:
        if (process := self._started()) is not None:
            process.pause()

    def resume_training(self) -> None:
        if (process := self._started()) is not None:
            process.resume_training()

    def kill(self) -> None:
        if (process := self._started()) is not None:
            process.kill()

    def wait(self, timeout: float | None = None) -> int:
        process = self._started()
        return 1 if process is None else int(process.wait(timeout))

    def poll(self) -> int | None:
        if not self._ready.is_set():
            return None
        return 1 if self._process is None else self._process.poll()

    def stderr_tail(self, lines: int = 20) -> str:
        return "" if self._process is None else str(self._process.stderr_tail(lines))


def remote_run(run_id: str, folder: Path, host: str, store: Any) -> StartingRemoteRun:
    def make() -> Any:
        from neuralforge_desktop.core.remote.dispatch import RemoteTrainingProcess

        return RemoteTrainingProcess(folder, host, store=store)

    return StartingRemoteRun(run_id, make, store)
