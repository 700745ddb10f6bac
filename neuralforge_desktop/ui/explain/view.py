"""The Explain view (View ▸ Explain Predictions…): pick a run, a method and one of its validation examples, and
see the explanation (an overlay on the image, SHAP bars, attention maps) with the model's prediction.

Loading a run (its dataset and model) and computing an explanation take from a fraction of a second to several
seconds, so both run in a worker thread (one at a time, the newest request wins) and hand their result back to
the UI thread through a queued signal; the view stays responsive meanwhile.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.explain import METHODS, Subject, fitting_methods
from neuralforge_desktop.ui.explain.examples import THUMBNAIL, fill
from neuralforge_desktop.ui.ui_thread import emitter


class _Relay(QObject):
    """Carries a worker's result to the UI thread (a signal emitted in another thread is queued)."""

    done = Signal(str, object, bool)  # what finished, its value (or error), failed


class _Requests:
    """The newest request's number (older results are dropped) and the lock that runs them one at a time."""

    def __init__(self) -> None:
        self.newest = 0
        self.one_at_a_time = threading.Lock()
        self.worked_in: set[int] = set()

    def next(self) -> int:
        self.newest += 1
        return self.newest


def _run_request(requests: _Requests, request: int, what: str, work: Callable[[], Any],
                 done: Callable[[str, Any, bool], None]) -> None:
    # One at a time: Captum hooks the model's layers (Grad-CAM) and two explanations of one model at once
    # would see each other's activations. A request superseded while it waited is skipped.
    with requests.one_at_a_time:
        if request != requests.newest:
            return
        requests.worked_in.add(threading.get_ident())
        try:
            value, failed = work(), False
        except Exception as exc:  # a UserError to show, or a bug: shown in the status line, not lost
            value, failed = exc, True
    if request == requests.newest:  # else a newer request supersedes this one
        done(what, value, failed)  # not delivered if the view closed while this worked


class ExplainView(QWidget):
    explained = Signal(object)  # the Explanation now shown

    def __init__(self, store_path: str | os.PathLike[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explain_view")
        self.setWindowTitle("Explain Predictions")
        self.store_path = Path(store_path)
        # The explanations' pictures: removed with the view (or at exit), not left behind in the temp folder.
        self._output_dir = tempfile.TemporaryDirectory(prefix="neuralforge-explain-", ignore_cleanup_errors=True)
        self.output = Path(self._output_dir.name)
        self.subject: Subject | None = None
        self.explanation: Any = None
        self._requests = _Requests()
        self.worked_in = self._requests.worked_in  # the threads the work ran in (tests check it is not the UI's)
        self._relay = _Relay(self)
        self._relay.done.connect(self._finished)
        self._build()
        self.refresh_runs()

    # -- layout ----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.run_box = QComboBox()
        self.run_box.setObjectName("explain_runs")
        self.run_box.currentIndexChanged.connect(lambda _i: self.load_run())
        self.method_box = QComboBox()
        self.method_box.setObjectName("explain_methods")
        self.method_box.currentIndexChanged.connect(lambda _i: self.explain_current())
        self.examples = QListWidget()
        self.examples.setObjectName("explain_examples")
        self.examples.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.examples.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.examples.currentRowChanged.connect(lambda _row: self.explain_current())
        self.picture = QLabel("pick a run, then an example")
        self.picture.setObjectName("explain_picture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(420, 300)
        self.prediction = QLabel()
        self.prediction.setObjectName("explain_prediction")
        self.prediction.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel("Run:"))
        top.addWidget(self.run_box, 2)
        top.addWidget(QLabel("Method:"))
        top.addWidget(self.method_box, 1)
        right = QWidget()
        shown = QVBoxLayout(right)
        shown.addWidget(self.prediction)
        shown.addWidget(self.picture, 1)
        split = QSplitter()
        split.addWidget(self.examples)
        split.addWidget(right)
        split.setSizes([260, 640])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

    # -- runs ------------------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        from neuralforge_desktop.core.store.sqlite_store import Store

        with Store(self.store_path) as store:
            runs = store.list_runs(status="finished")
        self.run_box.blockSignals(True)
        self.run_box.clear()
        for run in runs:
            accuracy = run.metrics.get("val/acc")
            figure = f", val acc {accuracy.value:.1%}" if accuracy is not None else ""
            self.run_box.addItem(f"{run.name or run.id}  ({run.id}, {run.tags.get('graph', '?')}{figure})", run.id)
        self.run_box.blockSignals(False)
        if runs:
            self.load_run()
        else:
            self.status.setText(f"no finished runs in {self.store_path}: train a model first")

    def select_run(self, run_id: str) -> None:
        index = self.run_box.findData(run_id)
        if index < 0:
            raise UserError(f"no finished run {run_id!r} in {self.store_path}")
        self.run_box.setCurrentIndex(index)

    def load_run(self) -> None:
        run_id = self.run_box.currentData()
        if run_id is None:
            return
        self.subject = None
        self.examples.clear()
        self.status.setText(f"loading run {run_id} (its model and validation data) …")
        store_path = self.store_path  # the work must not hold the view (see _start)
        self._start("load", lambda: _load(store_path, run_id))

    # -- explaining ------------------------------------------------------------------------------------------
    def explain_current(self) -> None:
        item = self.examples.currentItem()
        method = self.method_box.currentData()
        if self.subject is None or item is None or method is None:
            return
        index = int(item.data(Qt.ItemDataRole.UserRole))
        store_path, subject, output = self.store_path, self.subject, self.output  # not the view (see _start)
        self.status.setText(f"explaining example {index} with {method} …")
        self._start("explain", lambda: _explain(store_path, subject, method, index, output))

    def _start(self, what: str, work: Callable[[], Any]) -> None:
        """Run ``work`` in a thread that holds nothing of the view's (a thread dropping the last reference to a
        widget would destroy it off the UI thread): only ``work``, the plain request state and an emitter."""
        threading.Thread(target=_run_request, name=f"explain-{what}", daemon=True,
                         args=(self._requests, self._requests.next(), what, work,
                               emitter(self._relay, "done"))).start()

    def _finished(self, what: str, value: Any, failed: bool) -> None:
        if failed:
            self.status.setText(str(value) if isinstance(value, UserError) else f"{type(value).__name__}: {value}")
            return
        if what == "load":
            self._show_subject(value)
        else:
            self._show_explanation(value)

    def _show_subject(self, subject: Subject) -> None:
        self.subject = subject
        self.method_box.blockSignals(True)
        self.method_box.clear()
        for name in fitting_methods(subject.kind):
            self.method_box.addItem(name, name)
            self.method_box.setItemData(self.method_box.count() - 1, METHODS[name][1], Qt.ItemDataRole.ToolTipRole)
        self.method_box.blockSignals(False)
        fill(self.examples, subject)
        self.status.setText(f"{subject.description}; pick one to explain it")
        if not self.method_box.count():
            self.status.setText(f"no explanation method fits run {subject.run_id}'s model ({subject.kind})")
        elif self.examples.count():
            self.examples.setCurrentRow(0)  # show an explanation straight away

    def _show_explanation(self, explanation: Any) -> None:
        self.explanation = explanation
        pixmap = QPixmap(explanation.images[0])
        self.picture.setPixmap(pixmap)
        p = explanation.prediction or {}
        text = f"<b>example {explanation.sample}</b>: predicted <b>{p.get('name')}</b> ({p.get('probability', 0):.1%})"
        if "label_name" in p:
            text += f", true class <b>{p['label_name']}</b>" + ("" if p.get("correct") else " (wrong)")
        delta = explanation.figures.get("convergence_delta")
        if delta is not None:
            text += f"; integrated gradients' convergence delta {delta:.2g}"
        self.prediction.setText(text)
        self.status.setText(f"{METHODS[explanation.method][1]}; saved as {Path(explanation.images[0]).name}")
        self.status.setToolTip(explanation.images[0])
        self.explained.emit(explanation)


def _load(store_path: Path, run_id: str) -> Subject:
    from neuralforge_desktop.core.explain import load_subject
    from neuralforge_desktop.core.store.sqlite_store import Store

    with Store(store_path) as store:
        return load_subject(store, run_id)


def _explain(store_path: Path, subject: Subject, method: str, index: int, output: Path) -> Any:
    from neuralforge_desktop.core.explain import explain
    from neuralforge_desktop.core.store.sqlite_store import Store

    with Store(store_path) as store:  # opened in this thread: a connection stays with the thread that made it
        return explain(store, subject.run_id, method, sample=index, output=output, subject=subject)


def open_explain_view(window: Any) -> ExplainView:
    """The Explain view of ``window``'s store in its own window (View ▸ Explain Predictions…)."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = ExplainView(store_path, window)
    view.setWindowFlag(Qt.WindowType.Window)  # its own window, closed with the main one
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1100, 640)
    view.show()
    window.explain_view = view
    return view
