"""The NeuralForge main window: the graph canvas in the middle, panels docked around it, a status bar.

The window only composes and wires: the canvas and panels observe the shared :class:`DocumentBridge`,
:class:`SelectionModel` and :class:`EditStack`; menus live in ``actions.py``, file commands and crash
recovery in ``files.py``, the dock pieces and their default arrangement in ``docks.py``, the dialogs and
views the menus open in ``window_dialogs.py``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QShowEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QToolButton, QUndoView, QWidget

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.actions import WindowActions
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.canvas.previews import LivePreviews
from neuralforge_desktop.ui.docks import (
    DockRescaler,
    Docks,
    LazyPanel,
    apply_default_sizes,
    arrange_default,
    default_window_size,
    make_dock,
    suits_screen,
)
from neuralforge_desktop.ui.files import FileController
from neuralforge_desktop.ui.settings import Settings
from neuralforge_desktop.ui.theme import apply_theme
from neuralforge_desktop.ui.undo import EditStack
from neuralforge_desktop.ui.window_dialogs import APP_TITLE, WindowDialogsMixin

if TYPE_CHECKING:
    from neuralforge_desktop.ui.dialogs.recovery import RecoveryDialog
    from neuralforge_desktop.ui.training import CoachPanel, RunsPanel, TrainPanel
    from neuralforge_desktop.ui.tutorial import TutorialCard

DEFAULT_SIZE = (1600, 1000)
MESSAGE_MS = 6000
class MainWindow(WindowDialogsMixin, QMainWindow):
    """One open graph: canvas, docked panels, menus and status bar. ``files`` owns the file commands,
    ``commands`` the menu actions (by name), ``docks`` the dock widgets; the panels are attributes
    (``palette_panel``, ``inspector``, ``summary``, ``code_view``, ``problems``, ``history``, and once built,
    ``train_panel`` and ``runs_panel``)."""

    # Built on first show of their docks (see make_train_panel / make_runs_panel).
    train_panel: TrainPanel
    coach_panel: CoachPanel
    runs_panel: RunsPanel

    def __init__(self, settings: Settings | None = None, recovery_dir: str | os.PathLike[str] | None = None,
                 document: Document | None = None, parent: QWidget | None = None,
                 store_path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(parent)
        self.store_path = store_path  # the experiment store for Train / Runs (None: the user data dir)
        from neuralforge_desktop.ui.canvas import GraphView
        from neuralforge_desktop.ui.canvas.empty_hint import EmptyCanvasHint

        self.setObjectName("NeuralForgeMainWindow")
        self.settings = settings or Settings()
        if self.store_path is None:  # a team store chosen in the preferences (store/url); empty: the default file
            self.store_path = self.settings.store_url or None
        self.theme = self.settings.theme
        self.bridge = DocumentBridge(document, self)
        self.selection = SelectionModel(self)
        self.bridge.selection = self.selection  # lets the bridge drop ids of deleted nodes from the selection
        self.edits = EditStack(lambda: self.bridge.document, self)
        self.view = GraphView(self.bridge, self.selection, self.edits)
        self.setCentralWidget(self.view)
        self.minimap = self.view.minimap  # the canvas's own overlay (it hides itself when the graph fits)
        self.empty_hint = EmptyCanvasHint(self.view)  # where to start, while the canvas is empty
        self.previews = LivePreviews(self.view.graph_scene, self._preview_dataset, self._preview_run, self.store_path,
                                     self)
        self.tutorial: TutorialCard | None = None
        self.files = FileController(self, recovery_dir)
        self.docks = self._build_docks()
        self.commands = WindowActions(self)  # not "actions": QWidget.actions() is a Qt method
        from neuralforge_desktop.ui.comments.canvas import install_canvas_comments

        install_canvas_comments(self)  # comment badges on nodes, the Comments dock, the canvas's context menu
        self._build_status_bar()
        self._connect()
        self._restore_settings()
        self.update_title()
        self.refresh_status()

    # -- composition ---------------------------------------------------------------------------------
    def _build_docks(self) -> Docks:
        """The panels, each in its dock, in the default arrangement."""
        from neuralforge_desktop.ui.panels import CodeView, Inspector, Palette, ProblemsPanel, SummaryPanel

        # Not "palette": QWidget.palette() is a Qt method the attribute would hide.
        self.palette_panel = Palette()
        self.inspector = Inspector(self.bridge, self.selection, self.edits)
        self.summary = SummaryPanel(self.bridge, self.selection)
        self.code_view = CodeView(self.bridge, self.selection)
        self.code_view.set_edit_sink(self.edits.push_edit)  # Apply in the code view: one undo step
        self.problems = ProblemsPanel(self.bridge, self.selection)
        self.history = QUndoView(self.edits)
        self._label_history_start()
        self.train_host = LazyPanel(self.make_train_panel)
        self.runs_host = LazyPanel(self.make_runs_panel)
        docks = Docks(
            palette=make_dock(self, "palette", "Layers", self.palette_panel),
            inspector=make_dock(self, "inspector", "Inspector", self.inspector),
            summary=make_dock(self, "summary", "Summary", self.summary),
            code=make_dock(self, "code", "Code", self.code_view),
            problems=make_dock(self, "problems", "Problems", self.problems),
            history=make_dock(self, "history", "History", self.history),
            train=make_dock(self, "train", "Train", self.train_host),
            runs=make_dock(self, "runs", "Runs", self.runs_host),
        )
        self.train_host.watch(docks.train)
        self.runs_host.watch(docks.runs)
        arrange_default(self, docks)
        return docks

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.file_label = QLabel()
        self.nodes_label = QLabel()
        self.errors_label = QLabel("0 errors")
        self.errors_label.setProperty("role", "errors")
        self.warnings_label = QLabel("0 warnings")
        self.warnings_label.setProperty("role", "warnings")
        self.zoom_label = QLabel("100%")
        self.zoom_label.setToolTip("Canvas zoom")
        # The Live Previews switch, beside the figures it adds to (its menu action, so both show one state).
        self.previews_button = QToolButton()
        self.previews_button.setDefaultAction(self.commands["view.live_previews"])
        self.previews_button.setAutoRaise(True)
        bar.addPermanentWidget(self.previews_button)
        for label in (self.file_label, self.nodes_label, self.errors_label, self.warnings_label, self.zoom_label):
            bar.addPermanentWidget(label)

    def _connect(self) -> None:
        # Bound methods, not lambdas: Qt drops a bound slot's connection when the window is destroyed, while a
        # lambda would still be called by children (the undo stack) emitting during their own destruction.
        self.bridge.changed.connect(self._document_touched)
        self.bridge.replaced.connect(self._on_replaced)
        self.bridge.saved.connect(self.update_title)
        self.edits.indexChanged.connect(self._on_history_moved)
        self.edits.cleanChanged.connect(self._on_clean_changed)
        self.view.status_message.connect(self.show_message)
        self.files.status.connect(self.show_message)
        self.files.recent_changed.connect(self.commands.update_recent)
        self.problems.count_changed.connect(self._on_problem_counts)
        self._on_problem_counts(*self.problems.counts())  # it may have counted before we listened
        self.palette_panel.layer_activated.connect(self.add_layer)
        self.palette_panel.component_activated.connect(self.insert_component)
        self.palette_panel.components.message.connect(self.show_message)
        self.palette_panel.components.insert_requested.connect(self.insert_component)
        self.empty_hint.template_requested.connect(self.files.new_from_template)
        self.empty_hint.open_requested.connect(self.files.open)
        self.empty_hint.tutorial_requested.connect(self.start_tutorial)
        self.minimap.switched.connect(self._show_minimap_switch)
        self.previews.message.connect(self.show_message)
        self.previews.switched.connect(self._show_previews_switch)
        self._show_minimap_switch(self.minimap.enabled)
        # Wheel zooming happens inside the canvas; refresh the figure whenever its viewport repaints.
        self.view.viewport().installEventFilter(self)

    def _restore_settings(self) -> None:
        s = self.settings
        screen = self.screen() or QGuiApplication.primaryScreen()
        available = screen.availableGeometry().size() if screen is not None else None
        geometry = s.geometry() if suits_screen(s.layout_screen(), available) else None  # else: another screen's
        restored = geometry is not None and self.restoreGeometry(geometry)
        if not restored:
            self.setWindowState(Qt.WindowState.WindowNoState)
            self.resize(*default_window_size(DEFAULT_SIZE, available))
        state = s.window_state() if restored else None
        # Default dock sizes need the window's real size, so they are applied when it is first shown.
        self._default_sizes_pending = state is None or not self.restoreState(state)
        self._dock_rescaler = DockRescaler(self, self.docks)
        self.set_theme(s.theme)
        self.view.set_concept_mode(s.concept_mode)
        self.view.set_snap_to_grid(s.snap_to_grid)
        self.view.set_layout_direction(s.layout_direction)
        self.palette_panel.set_show_all(s.show_all_layers)
        self.view.set_minimap_enabled(s.minimap)

    def showEvent(self, event: QShowEvent) -> None:  # Qt names this method
        super().showEvent(event)
        if self._default_sizes_pending:
            self._default_sizes_pending = False
            apply_default_sizes(self, self.docks)
            # Again once the window manager has settled the window's real size.
            QTimer.singleShot(0, lambda: apply_default_sizes(self, self.docks))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt names this method
        if event.type() == QEvent.Type.Paint and watched is self.view.viewport():
            self._refresh_zoom()
        return super().eventFilter(watched, event)

    # -- status and title ----------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, MESSAGE_MS)

    def update_title(self) -> None:
        document = self.bridge.document
        name = document.path.name if document.path else (document.graph.name or "untitled")
        # "[*]" is where Qt puts the modified marker; setWindowModified shows or hides it.
        self.setWindowTitle(f"{name}[*] — {APP_TITLE}")
        self.setWindowModified(document.dirty)
        self.file_label.setText(str(document.path) if document.path else "not saved yet")
        self.file_label.setToolTip(str(document.path) if document.path else "")

    def refresh_status(self) -> None:
        graph = self.bridge.document.graph
        top = len(graph)
        total = sum(1 for _ in graph.walk())
        text = f"{top} node{'s' if top != 1 else ''}"
        self.nodes_label.setText(text if total == top else f"{text} ({total} with block contents)")
        self._refresh_zoom()

    def _refresh_zoom(self) -> None:
        zoom = self.view.zoom
        text = f"{zoom * 100:.0f}%"
        if self.zoom_label.text() != text:
            self.zoom_label.setText(text)

    def _on_problem_counts(self, errors: int, warnings: int) -> None:
        self.errors_label.setText(f"{errors} error{'s' if errors != 1 else ''}")
        self.warnings_label.setText(f"{warnings} warning{'s' if warnings != 1 else ''}")
        for label, count in ((self.errors_label, errors), (self.warnings_label, warnings)):
            label.setProperty("active", "true" if count else "false")
            label.style().unpolish(label)  # re-read the stylesheet for the new property value
            label.style().polish(label)

    def _on_clean_changed(self, _clean: bool) -> None:
        self.update_title()

    def _document_touched(self, _change: object = None) -> None:
        self.update_title()
        self.refresh_status()

    def _label_history_start(self) -> None:
        """The History list's first entry (undo everything back to here) says which document it starts from."""
        document = self.bridge.document
        name = document.graph.name or "untitled"
        self.history.setEmptyLabel(f"Opened {document.path.name}" if document.path else f"Start: {name}")

    def _on_replaced(self) -> None:
        self._label_history_start()
        self.selection.clear()
        self.update_title()
        self.refresh_status()

    def _on_history_moved(self, _index: int) -> None:
        # Undoing back to the saved point makes the document clean again, as users expect.
        document = self.bridge.document
        if self.edits.isClean() and document.dirty:
            document.mark_saved()
        self.update_title()

    # -- commands the menus call ---------------------------------------------------------------------
    def add_layer(self, type_name: str) -> str:
        node_id = self.view.add_layer(type_name)
        self.view.setFocus()
        return node_id

    def insert_component(self, name: str, values: dict | None = None) -> str:
        node_id = self.view.insert_component(name, values=values)
        self.view.setFocus()
        return node_id

    def save_as_component(self) -> None:
        from neuralforge_desktop.ui.dialogs.save_component import open_save_dialog

        dialog = open_save_dialog(self, self.bridge.document.graph, self.bridge.document.shapes,
                                  self.view.selected_ids())
        if isinstance(dialog, str):
            self.show_message(dialog)
            return
        if dialog.exec() and dialog.saved is not None:
            self.palette_panel.components.reload()
            self.show_message(f"saved component {dialog.saved.name}: find it under Components in the palette")

    def copy(self) -> None:
        text = self.view.copy_selection()
        if text:
            QGuiApplication.clipboard().setText(text)

    def cut(self) -> None:
        text = self.view.copy_selection()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.view.delete_selection()

    def paste(self) -> None:
        self.view.paste(QGuiApplication.clipboard().text())

    def select_all(self) -> None:
        select_all = getattr(self.view, "select_all", None)
        if callable(select_all):
            select_all()
        else:
            self.selection.set(list(self.bridge.document.graph.nodes))

    def set_theme(self, name: str) -> None:
        self.theme = apply_theme(name)
        self.settings.theme = self.theme
        trained = [self.train_panel, self.coach_panel] if self.train_host.built else []
        listed = [self.runs_panel] if self.runs_host.built else []
        guided = [self.tutorial] if self.tutorial is not None else []
        for widget in (self.view, self.palette_panel, self.inspector, self.summary, self.code_view,
                       self.problems, self.empty_hint, *guided, *trained, *listed):
            set_theme = getattr(widget, "set_theme", None)
            if callable(set_theme):
                set_theme(self.theme)
        action = self.commands.by_name.get(f"view.theme.{self.theme}") if hasattr(self, "commands") else None
        if action is not None and not action.isChecked():
            action.setChecked(True)

    def set_concept_mode(self, on: bool) -> None:
        self.view.set_concept_mode(on)
        self.settings.concept_mode = on

    def set_snap_to_grid(self, on: bool) -> None:
        self.view.set_snap_to_grid(on)
        self.settings.snap_to_grid = on

    def set_layout_direction(self, name: str) -> None:
        """Remember the direction and lay the graph out that way now (one undo step)."""
        self.view.set_layout_direction(name)
        self.settings.layout_direction = name
        action = self.commands.by_name.get(f"view.layout.{name}")
        if action is not None and not action.isChecked():
            action.setChecked(True)
        self.view.auto_layout()

    def set_show_all_layers(self, on: bool) -> None:
        self.palette_panel.set_show_all(on)
        self.settings.show_all_layers = on

    def set_minimap_visible(self, on: bool) -> None:
        """View ▸ Minimap: the user's choice from now on, whatever the canvas's size."""
        self.view.set_minimap_enabled(on)
        self.settings.minimap = on

    def set_live_previews(self, on: bool) -> bool:
        """View ▸ Live Previews: thumbnails of every node's output, recomputed as the graph changes. Refused
        above the node limit (the status bar says why, and the tick goes back off)."""
        shown = self.previews.set_enabled(on)
        self._show_previews_switch(shown)  # a refusal switches nothing, so no signal puts the tick back
        return shown

    def _show_previews_switch(self, on: bool) -> None:
        action = self.commands.by_name["view.live_previews"]
        if action.isChecked() != on:
            action.blockSignals(True)  # showing the state is not the user choosing it
            action.setChecked(on)
            action.blockSignals(False)

    def _preview_dataset(self) -> str | None:
        """The sample for previews comes from the Train panel's dataset, once that panel exists."""
        return (self.train_panel.dataset.dataset() or None) if self.train_host.built else None

    def _preview_run(self) -> str | None:
        """With one run chosen in the Runs panel, previews show that run's trained weights."""
        chosen = self.runs_panel.selected_run_ids() if self.runs_host.built else []
        return chosen[0] if len(chosen) == 1 else None

    def _preview_inputs_changed(self, _spec: object = None) -> None:
        self.previews.refresh()

    def _show_minimap_switch(self, on: bool) -> None:
        """Keep View ▸ Minimap's tick in step when the canvas's size switched the minimap (no choice made yet)."""
        action = self.commands.by_name["view.minimap"]
        if action.isChecked() != on:
            action.blockSignals(True)  # showing the state is not the user choosing it
            action.setChecked(on)
            action.blockSignals(False)

    # -- training (built on first show of the Train / Runs docks) ---------------------------------------
    def make_train_panel(self) -> QWidget:
        """The Train panel with the Coach under it (a splitter: the user chooses how much each gets)."""
        from neuralforge_desktop.ui.training import CoachPanel, TrainPanel

        panel = TrainPanel(self.bridge, self.store_path, push_edit=self.edits.push_edit)
        panel.run_started.connect(self._on_run_started)
        panel.run_finished.connect(self._on_run_finished)
        panel.dataset.dataset_changed.connect(self._preview_inputs_changed)
        panel.set_theme(self.theme)
        self.train_panel = panel
        from neuralforge_desktop.ui.onboarding.training_prefs import apply_training_preferences

        self.tracking_export = apply_training_preferences(panel, self.settings, self.show_message)
        coach = CoachPanel(panel, self.bridge, push_edit=self.edits.push_edit)
        coach.set_theme(self.theme)
        coach.compare_requested.connect(self.compare_runs)
        coach.fixed.connect(self.show_message)
        self.coach_panel = coach
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("train_split")
        split.addWidget(panel)
        split.addWidget(coach)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        return split

    def compare_runs(self, run_ids: list[str]) -> None:
        """Show the Runs dock with these runs selected: their curves overlaid (a retrain and its parent)."""
        self.show_runs()
        self.runs_panel.refresh()
        self.runs_panel.select_runs(run_ids)

    def make_runs_panel(self) -> QWidget:
        from neuralforge_desktop.ui.training import RunsPanel

        panel = RunsPanel(self.store_path)
        panel.set_theme(self.theme)
        panel.runs_selected.connect(self._preview_inputs_changed)  # another run: other weights to preview
        panel.runs_selected.connect(self._show_run_findings)
        self.runs_panel = panel
        return panel

    def _show_run_findings(self, run_ids: list[str]) -> None:
        """One run picked in the Runs dock: the Coach lists what it found on that run, unless it is following a
        run that is training now."""
        if len(run_ids) != 1 or not self.train_host.built or self.train_panel.state != "idle":
            return
        from neuralforge_desktop.core.errors import UserError
        from neuralforge_desktop.core.training.coach.runs import live_findings

        try:
            findings = live_findings(self.runs_panel.store, run_ids[0])
        except (UserError, OSError, ValueError):  # a run without a folder, or findings from a damaged file
            findings = []
        self.coach_panel.show_findings(run_ids[0], findings)

    def show_training(self) -> None:
        self.train_host.panel()
        self.docks.train.show()
        self.docks.train.raise_()

    def show_runs(self) -> None:
        self.runs_host.panel()
        self.docks.runs.show()
        self.docks.runs.raise_()

    def _on_run_started(self, run_id: str) -> None:
        self.show_message(f"training run {run_id} started")
        if self.tutorial is not None:
            self.tutorial.mark_trained()
        if self.runs_host.built:
            self.runs_panel.follow(run_id)

    def _on_run_finished(self, run_id: str, status: str) -> None:
        self.show_message(f"run {run_id} {status}")
        if self.runs_host.built:
            self.runs_panel.refresh()

    def start_tutorial(self) -> TutorialCard | None:
        """The guided first steps, on a blank graph (the current one is offered for saving first)."""
        if len(self.bridge.document.graph) and not self.files.new_blank():
            return None
        from neuralforge_desktop.ui.tutorial import TutorialCard

        if self.tutorial is not None:
            self.tutorial.close()
        card = TutorialCard(self.view, self.bridge, self.theme)
        card.closed.connect(self._on_tutorial_closed)
        card.show()
        self.tutorial = card
        self.view.setFocus()
        return card

    def _on_tutorial_closed(self) -> None:
        self.tutorial = None

    def reset_layout(self) -> None:
        arrange_default(self, self.docks)

    def clear_recent(self) -> None:
        self.settings.clear_recent()
        self.commands.update_recent([])

    def offer_recovery(self) -> RecoveryDialog | None:
        """If earlier sessions left unsaved work, show (non-modally) the offer to reopen it."""
        found = self.files.pending_recoveries()
        if not found:
            return None
        from neuralforge_desktop.ui.dialogs.recovery import RecoveryDialog

        dialog = RecoveryDialog(found, self)
        dialog.recover_requested.connect(self.files.recover)
        dialog.discard_requested.connect(self.files.discard_recoveries)
        dialog.show()
        self.recovery_dialog = dialog
        return dialog

    # -- closing -------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # Qt names this method
        if not self.files.maybe_save():
            event.ignore()
            return
        if self.train_host.built:
            self.train_panel.shutdown()  # ask a running worker to stop (it checkpoints) before the app goes
        self.files.autosave_timer.stop()
        self.previews.shutdown()
        self.code_view.shutdown()
        self.bridge.shutdown()
        self.files.discard_recovery()  # saved or deliberately discarded: nothing to recover
        self.canvas_comments.revert_unsaved_moves()  # renames thrown away: their comments go back
        screen = self.screen()
        self.settings.save_layout(self.saveGeometry(), self.saveState(),
                                  screen.availableGeometry().size().toTuple() if screen is not None else None)
        self.settings.show_all_layers = bool(self.palette_panel.show_all())
        self.settings.sync()
        event.accept()
