"""Input widgets of the train panel that need more than a stock Qt widget: a dataset chooser that knows which
built-ins exist here, a spin box for values spanning decades (learning rates), and a device chooser that
finds out whether CUDA works without importing torch into the UI process."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QFocusEvent, QStandardItem, QStandardItemModel, QValidator
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFileDialog, QWidget

from neuralforge_desktop.core.training.child_python import child_environment, python_command

BROWSE_FILE = "__browse_file__"
BROWSE_FOLDER = "__browse_folder__"
DATA_ROLE = Qt.ItemDataRole.UserRole


class DatasetCombo(QComboBox):
    """Built-in datasets (those missing here are disabled, with how to get them as tooltip), paths the user
    picked, and two "Browse…" entries. ``dataset()`` is the spec for TrainConfig.dataset: a name or a path."""

    dataset_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = QStandardItemModel(self)
        self.setModel(self._model)
        self._last = ""
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(22)
        self.reload()
        self.activated.connect(self._on_activated)

    def reload(self) -> None:
        """List the built-ins again (after the user installed one, say); keeps the current choice."""
        from neuralforge_desktop.core.training.datasets import list_datasets

        current = self.dataset()
        paths = [self._model.item(r).data(DATA_ROLE) for r in range(self._model.rowCount())
                 if self._model.item(r).data(Qt.ItemDataRole.UserRole + 1) == "path"]
        self._model.clear()
        for info in list_datasets():
            size = f"{info.num_examples:,} examples" if info.num_examples else ""
            item = QStandardItem(f"{info.title}  ({info.name})")
            item.setData(info.name, DATA_ROLE)
            item.setData("builtin", Qt.ItemDataRole.UserRole + 1)
            item.setToolTip(f"{info.description}\n{size}" if info.available else
                            f"Not available here. {info.how_to_get}")
            if not info.available:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self._model.appendRow(item)
        for path in paths:
            self._add_path_item(path)
        for text, key in (("Browse file…", BROWSE_FILE), ("Browse folder…", BROWSE_FOLDER)):
            item = QStandardItem(text)
            item.setData(key, DATA_ROLE)
            item.setToolTip("A dataset on disk: MNIST idx files, CIFAR-10 batches, an image folder, a table "
                            "(.csv, .tsv, .parquet) or an .npz archive")
            self._model.appendRow(item)
        if not current or not self.set_dataset(current):
            self._select_first_available()
        self._last = self.dataset()

    def dataset(self) -> str:
        value = self.currentData(DATA_ROLE)
        return "" if value in (None, BROWSE_FILE, BROWSE_FOLDER) else str(value)

    def is_available(self, name: str) -> bool:
        row = self._row_of(name)
        return row >= 0 and bool(self._model.item(row).flags() & Qt.ItemFlag.ItemIsEnabled)

    def set_dataset(self, spec: str) -> bool:
        """Select a built-in by name, or a path (added to the list); False for a built-in missing here."""
        row = self._row_of(spec)
        if row < 0:
            row = self._add_path_item(spec)
        if not self._model.item(row).flags() & Qt.ItemFlag.ItemIsEnabled:
            return False
        self.setCurrentIndex(row)
        self._changed()
        return True

    # -- internals ---------------------------------------------------------------------------------------
    def _builtin_names(self) -> list[str]:
        return [self._model.item(r).data(DATA_ROLE) for r in range(self._model.rowCount())
                if self._model.item(r).data(Qt.ItemDataRole.UserRole + 1) == "builtin"]

    def _row_of(self, spec: str) -> int:
        for r in range(self._model.rowCount()):
            if self._model.item(r).data(DATA_ROLE) == spec:
                return r
        return -1

    def _add_path_item(self, path: str) -> int:
        item = QStandardItem(Path(path).name or path)
        item.setData(path, DATA_ROLE)
        item.setData("path", Qt.ItemDataRole.UserRole + 1)
        item.setToolTip(path)
        row = len(self._builtin_names()) + sum(
            1 for r in range(self._model.rowCount()) if self._model.item(r).data(Qt.ItemDataRole.UserRole + 1)
            == "path")
        self._model.insertRow(row, item)
        return row

    def _select_first_available(self) -> None:
        for r in range(self._model.rowCount()):
            item = self._model.item(r)
            if item.flags() & Qt.ItemFlag.ItemIsEnabled and item.data(DATA_ROLE) not in (BROWSE_FILE, BROWSE_FOLDER):
                self.setCurrentIndex(r)
                return

    def _on_activated(self, row: int) -> None:
        key = self._model.item(row).data(DATA_ROLE)
        if key in (BROWSE_FILE, BROWSE_FOLDER):
            start = str(Path(self._last).expanduser().parent) if self._last and "/" in self._last else str(Path.home())
            if key == BROWSE_FILE:
                path, _ = QFileDialog.getOpenFileName(self, "Dataset file", start, "Datasets (*.npz *.csv *.tsv "
                                                      "*.parquet *ubyte *ubyte.gz *batch*);;All files (*)")
            else:
                path = QFileDialog.getExistingDirectory(self, "Dataset folder", start)
            if path:
                self.set_dataset(path)
            elif not (self._last and self.set_dataset(self._last)):  # cancelled: back to the previous choice
                self._select_first_available()
            return
        self._changed()

    def _changed(self) -> None:
        spec = self.dataset()
        if spec and spec != self._last:
            self._last = spec
            self.dataset_changed.emit(spec)


class DecadeSpinBox(QDoubleSpinBox):
    """A float typed freely ("3e-4", "0.001") and stepped along 1, 3, 10, 30, … (how learning rates and
    weight decays are tuned); ``zero_ok`` adds 0 below the smallest step."""

    LADDER = (1.0, 3.0)

    def __init__(self, value: float, minimum: float = 1e-8, maximum: float = 10.0, zero_ok: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._zero_ok = zero_ok
        self.setDecimals(12)  # the text is ours; this only stops Qt from rounding the value
        self.setRange(0.0 if zero_ok else minimum, maximum)
        self._min_step = minimum
        self.setKeyboardTracking(False)
        self.setValue(value)

    def textFromValue(self, value: float) -> str:
        return "0" if value == 0 else f"{value:.4g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        stripped = text.strip()
        if not stripped:
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(stripped)
        except ValueError:
            # "1e", "3e-" are on the way to a number
            ok = all(ch in "0123456789.eE+-" for ch in stripped)
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        for _ in range(abs(steps)):
            value = self._next(value, up=steps > 0)
        self.setValue(value)

    def _next(self, value: float, up: bool) -> float:
        if value <= 0:
            return self._min_step if up else 0.0
        ladder = sorted(m * 10.0 ** e for e in range(math.floor(math.log10(value)) - 1,
                                                     math.floor(math.log10(value)) + 2) for m in self.LADDER)
        if up:
            bigger = [v for v in ladder if v > value * (1 + 1e-9)]
            return min(bigger[0], self.maximum())
        smaller = [v for v in ladder if v < value * (1 - 1e-9)]
        nxt = smaller[-1]
        if nxt < self._min_step:
            return 0.0 if self._zero_ok else self._min_step
        return nxt


class DeviceCombo(QComboBox):
    """auto / cpu / cuda. Whether CUDA works is asked of torch in a short child process the first time the
    list is opened or focused (importing torch here would cost the UI a second and hundreds of MB for a
    question asked once); until it answers "cuda" stays selectable, and if the answer is no, "cuda" is
    disabled and a cuda choice falls back to auto."""

    PROBE = "import torch, sys; sys.stdout.write('1' if torch.cuda.is_available() else '0')"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for name in ("auto", "cpu", "cuda"):
            self.addItem(name, name)
        self.setItemData(0, "CUDA if torch sees a GPU, else CPU", Qt.ItemDataRole.ToolTipRole)
        self._cuda: bool | None = None  # None: not known yet
        self._probe: QProcess | None = None
        if importlib.util.find_spec("torch") is None:
            self._set_cuda(False, "torch is not installed")
        self.currentIndexChanged.connect(self._on_changed)

    @property
    def cuda_available(self) -> bool | None:
        return self._cuda

    def device(self) -> str:
        return str(self.currentData())

    def set_device(self, name: str) -> None:
        index = self.findData(name)
        if index >= 0:
            self.setCurrentIndex(index)

    def check_cuda(self) -> None:
        """Start the CUDA probe (once); the answer arrives asynchronously."""
        if self._cuda is not None or self._probe is not None:
            return
        self._probe = QProcess(self)
        self._probe.finished.connect(self._probe_done)
        self._probe.errorOccurred.connect(lambda _error: self._probe_done(-1, None))
        # Never with the working directory on sys.path: a torch.py there would run in the probe.
        environment = QProcessEnvironment()
        for key, value in child_environment().items():
            environment.insert(key, value)
        self._probe.setProcessEnvironment(environment)
        program, *arguments = python_command(self.PROBE)
        self._probe.start(program, arguments)

    def wait_for_check(self, msecs: int = 30_000) -> bool | None:
        """Block until the probe answered (tests, scripts); returns the answer."""
        self.check_cuda()
        if self._probe is not None:
            self._probe.waitForFinished(msecs)
        return self._cuda

    def shutdown(self) -> None:
        if self._probe is not None and self._probe.state() != QProcess.ProcessState.NotRunning:
            self._probe.kill()
            self._probe.waitForFinished(1000)

    def showPopup(self) -> None:
        self.check_cuda()
        super().showPopup()

    def focusInEvent(self, event: QFocusEvent) -> None:
        self.check_cuda()  # the arrow keys change the choice without opening the list
        super().focusInEvent(event)

    def _probe_done(self, code: int, _status: object) -> None:
        probe, self._probe = self._probe, None
        if probe is None or self._cuda is not None:
            return
        answer = bytes(probe.readAllStandardOutput().data()).decode(errors="replace").strip()
        if code == 0 and answer == "1":
            self._set_cuda(True, "")
        else:
            self._set_cuda(False, "torch sees no CUDA device on this machine")
        probe.deleteLater()

    def _set_cuda(self, available: bool, reason: str) -> None:
        self._cuda = available
        model = self.model()
        item = model.item(2) if isinstance(model, QStandardItemModel) else None
        if item is not None:
            flags = item.flags()
            item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if available else flags & ~Qt.ItemFlag.ItemIsEnabled)
            item.setToolTip(reason or "train on the GPU")
        if not available and self.device() == "cuda":
            self.set_device("auto")

    def _on_changed(self, _index: int) -> None:
        if self.device() == "cuda":
            if self._cuda is False:
                self.set_device("auto")
            else:
                self.check_cuda()
