"""The Registry view (View ▸ Model Registry…): registered models, their versions with stage, metrics, approvals
and history, and the buttons that promote, approve and roll back through :mod:`neuralforge_desktop.core.registry`.

Quick writes (approve, rollback, a promotion to staging or archived, or to production on the strength of the
latest recorded gate) call the core on the UI thread: each is one small transaction. Gate evaluation, which
loads the run's dataset and runs the model, runs ``neuralforge gate`` / ``registry promote --policy`` in a child
process (as the Sweep view computes importance): the UI stays responsive, and torch's process-wide settings
that evaluation makes never reach the editor's own process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core import registry
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.registry import ModelVersion, RegisteredModel
from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code
from neuralforge_desktop.ui.comments.thread_panel import CommentThreadPanel
from neuralforge_desktop.ui.registry.tables import (
    HISTORY_COLUMNS,
    VERSION_COLUMNS,
    fill_history,
    fill_versions,
    make_table,
    model_label,
)


class RegistryView(QWidget):
    work_done = Signal(str)  # the outcome of a button, as the status line shows it

    def __init__(self, store_path: str | os.PathLike[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("registry_view")
        self.setWindowTitle("Model Registry")
        self.store_path = Path(store_path)
        self.policy_path: Path | None = None
        self.models: list[RegisteredModel] = []
        self.process: QProcess | None = None
        self._build()
        self.refresh()

    # -- layout ----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_list = QListWidget()
        self.model_list.setObjectName("registry_models")
        self.model_list.currentRowChanged.connect(lambda _row: self._show_model())
        self.versions = make_table(VERSION_COLUMNS)
        self.versions.setObjectName("registry_versions")
        self.versions.itemSelectionChanged.connect(self._show_version)
        self.history = make_table(HISTORY_COLUMNS)
        self.history.setObjectName("registry_history")
        self.description = QLabel()
        self.description.setWordWrap(True)

        self.stage_box = QComboBox()
        self.stage_box.addItems(list(registry.PROMOTION_TARGETS))
        self.stage_box.setCurrentText("production")
        self.promote_button = self._button("Promote", self.promote, "Move the selected version to the chosen stage")
        self.policy_button = self._button("Policy…", self.choose_policy, "A policy (YAML) whose gates production needs")
        self.gate_button = self._button("Run Gates", self.run_gates, "Evaluate the policy's gates on the version")
        self.approve_button = self._button("Approve…", self.approve, "Approve the selected version, with a comment")
        self.rollback_button = self._button("Rollback", self.rollback,
                                            "Put the previous production version back; archive the current one")
        self.card_button = self._button("Model Card…", self.open_card,
                                        "Write and review the selected version's model card")
        self.lineage_button = self._button("Lineage…", self.show_lineage,
                                           "Where the selected version came from: runs, graph, data and code")
        self.policy_label = QLabel()
        self.status = QLabel()
        self.status.setObjectName("registry_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._show_policy()

        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Stage:"))
        for widget in (self.stage_box, self.promote_button, self.policy_button, self.gate_button,
                       self.approve_button, self.rollback_button, self.card_button, self.lineage_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.description)
        column.addWidget(QLabel("<b>Versions</b>"))
        column.addWidget(self.versions, 3)
        column.addLayout(buttons)
        column.addWidget(self.policy_label)
        column.addWidget(QLabel("<b>Approvals, transitions and gates of the selected version</b>"))
        self.comments = CommentThreadPanel(self.store_path)  # the selected version's comments, in a tab
        self.details = QTabWidget()
        self.details.addTab(self.history, "History")
        self.details.addTab(self.comments, "Comments")
        column.addWidget(self.details, 2)
        column.addWidget(self.status)

        left = QWidget()
        models = QVBoxLayout(left)
        models.setContentsMargins(0, 0, 0, 0)
        models.addWidget(QLabel("<b>Registered models</b>"))
        models.addWidget(self.model_list)
        refresh = self._button("Refresh", self.refresh, "Read the registry again")
        models.addWidget(refresh)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([240, 960])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _button(self, text: str, slot: Any, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setObjectName(f"registry_{text.lower().strip('…').replace(' ', '_')}")
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # -- reading ---------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        from neuralforge_desktop.core.store.sqlite_store import Store

        keep = self.current_model().name if self.current_model() else None
        keep_version = self.selected_version().version if self.selected_version() else None
        with Store(self.store_path) as store:
            self.models = registry.list_models(store)
        self.model_list.blockSignals(True)
        self.model_list.clear()
        for model in self.models:
            self.model_list.addItem(QListWidgetItem(model_label(model)))
        self.model_list.blockSignals(False)
        names = [m.name for m in self.models]
        self.model_list.setCurrentRow(names.index(keep) if keep in names else (0 if names else -1))
        self._show_model(keep_version)

    def current_model(self) -> RegisteredModel | None:
        row = self.model_list.currentRow() if hasattr(self, "model_list") else -1
        return self.models[row] if 0 <= row < len(self.models) else None

    def selected_version(self) -> ModelVersion | None:
        model = self.current_model()
        if model is None or not hasattr(self, "versions"):
            return None
        rows = self.versions.selectionModel().selectedRows()
        if not rows:
            return None
        number = self.versions.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return next((v for v in model.versions if v.version == number), None)

    def select_version(self, number: int) -> None:
        for row in range(self.versions.rowCount()):
            if self.versions.item(row, 0).data(Qt.ItemDataRole.UserRole) == number:
                self.versions.selectRow(row)
                return

    def _show_model(self, version: int | None = None) -> None:
        model = self.current_model()
        fill_versions(self.versions, model.versions if model else [])
        if model is None:
            self.description.setText("No registered models yet: register a run with "
                                     "<code>neuralforge registry register RUN --name NAME</code>.")
        else:
            self.description.setText(f"<b>{model.name}</b>" + (f": {model.description}" if model.description else ""))
        if model is not None and model.versions:
            self.select_version(version if version is not None else model.versions[-1].version)
        self._show_version()

    def _show_version(self) -> None:
        version = self.selected_version()
        fill_history(self.history, version)
        self.comments.show_version(version)
        self._enable()

    def _enable(self) -> None:
        idle, chosen = self.process is None, self.selected_version() is not None
        self.lineage_button.setEnabled(chosen)
        for button in (self.promote_button, self.approve_button, self.card_button):
            button.setEnabled(idle and chosen)
        self.gate_button.setEnabled(idle and chosen and self.policy_path is not None)
        model = self.current_model()
        self.rollback_button.setEnabled(idle and model is not None and model.production is not None)

    def _show_policy(self) -> None:
        self.policy_label.setText(f"Policy: {self.policy_path}" if self.policy_path else
                                  "Policy: none chosen; production relies on the version's latest gate result")

    def _say(self, text: str, ok: bool = True) -> None:
        self.status.setStyleSheet("" if ok else "color: #c62828;")
        self.status.setText(text)
        self.work_done.emit(text)

    # -- actions ---------------------------------------------------------------------------------------------
    def choose_policy(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Promotion policy", "", "Policy (*.yaml *.yml)")
            if not path:
                return
        try:
            registry.load_policy(path)
        except UserError as exc:
            self._say(str(exc), ok=False)
            return
        self.policy_path = Path(path)
        self._show_policy()
        self._enable()

    def _core(self, action: Any, done: str) -> None:
        from neuralforge_desktop.core.store.sqlite_store import Store

        try:
            with Store(self.store_path) as store:
                result = action(store)
        except UserError as exc:
            self._say(str(exc), ok=False)
            return
        self.refresh()
        self._say(done.format(result=result))

    def open_card(self) -> Any:
        """The card editor for the selected version; its required fields are the chosen policy's."""
        from neuralforge_desktop.ui.cards.editor import open_card_editor

        version = self.selected_version()
        if version is None:
            return None
        required = None
        if self.policy_path is not None:
            try:
                policy = registry.load_policy(self.policy_path)
                required = (policy.checks.get("model_card") or {}).get("required")
            except UserError as exc:
                self._say(str(exc), ok=False)
        self.card_editor = open_card_editor(self, self.store_path, version.ref, required)
        self.card_editor.saved.connect(lambda ref: self._say(f"saved the model card of {ref}"))
        return self.card_editor

    def promote(self) -> None:
        version, stage = self.selected_version(), self.stage_box.currentText()
        if version is None:
            return
        if stage == "production" and self.policy_path is not None:
            self._background("promoting", "registry", "promote", version.ref, "--to", stage, "--policy",
                             str(self.policy_path), "--json")
            return
        self._core(lambda store: registry.promote(store, version.ref, stage), f"{version.ref} is now in {stage}")

    def approve(self, comment: str | None = None) -> None:
        version = self.selected_version()
        if version is None:
            return
        if comment is None:
            comment, ok = QInputDialog.getText(self, "Approve", f"Approve {version.ref}; comment:")
            if not ok:
                return
        self._core(lambda store: registry.approve(store, version.ref, comment), f"{version.ref} approved")

    def rollback(self) -> None:
        model = self.current_model()
        if model is None:
            return
        self._core(lambda store: registry.rollback(store, model.name),
                   "{result.ref} is back in production; the version it replaces is archived")

    def run_gates(self) -> None:
        version = self.selected_version()
        if version is None or self.policy_path is None:
            return
        self._background("evaluating the gates of", "gate", version.ref, "--policy", str(self.policy_path), "--json")

    # -- background ------------------------------------------------------------------------------------------
    def _background(self, doing: str, *argv: str) -> None:
        ref = next(a for a in argv if "@" in a)
        process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in child_environment().items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.finished.connect(lambda code, _status: self._background_done(process, argv[0], ref, code))
        program, *arguments = python_command(run_main_code("neuralforge_desktop.cli.main"), *argv, "--store",
                                             str(self.store_path))
        self.process = process
        self._enable()
        self.status.setStyleSheet("")
        self.status.setText(f"{doing} {ref}… (re-evaluating on the validation split, timing onnxruntime)")
        process.start(program, arguments)

    def _background_done(self, process: QProcess, command: str, ref: str, code: int) -> None:
        if not shiboken6.isValid(self) or not shiboken6.isValid(process):
            return  # the view closed while the process ran
        self.process = None
        out = bytes(process.readAllStandardOutput().data()).decode("utf-8", errors="replace")
        err = bytes(process.readAllStandardError().data()).decode("utf-8", errors="replace").strip()
        process.deleteLater()
        self.refresh()
        if command == "gate" and code in (0, 1):
            report = json.loads(out)
            failed = report["failed"]
            self._say(f"gates of {ref} passed" if not failed else f"gates of {ref} failed: {', '.join(failed)}",
                      ok=not failed)
        elif code == 0:
            self._say(f"{ref} is now in production")
        else:
            self._say(err.removeprefix("neuralforge: ") or f"the command ended with status {code}", ok=False)

    def show_lineage(self) -> QWidget | None:
        """The selected version's lineage, in the main window's Lineage view (or a view of its own)."""
        from neuralforge_desktop.ui.lineage import LineageView, open_lineage_view

        version = self.selected_version()
        if version is None:
            return None
        window = self.parent()
        if window is not None and hasattr(window, "files"):
            return open_lineage_view(window, version.ref)
        view = LineageView(self.store_path, self)
        view.setWindowFlag(Qt.WindowType.Window)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.show()
        view.show_ref(version.ref)
        return view

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt names this method
        if self.process is not None:
            self.process.kill()
            self.process.waitForFinished(2000)
        super().closeEvent(event)


def open_registry_view(window: Any) -> RegistryView:
    """The Registry view of ``window``'s store in its own window (View ▸ Model Registry…)."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = RegistryView(store_path, window)
    view.setWindowFlag(Qt.WindowType.Window)  # its own window, closed with the main one
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1200, 720)
    view.show()
    window.registry_view = view
    return view
