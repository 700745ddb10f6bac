"""The menu bar: every command the window offers, with its shortcut, in one table-like place.

Actions are kept by a dotted name (``file.save``, ``view.fit``) so tests, the shortcuts dialog and the
window refer to one object. Single-key canvas commands (F, L, Tab, Delete) are bound to the canvas only,
so typing in a panel's text field never triggers them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from neuralforge_desktop.ui.theme import THEMES

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow

Keys = str | QKeySequence.StandardKey | Sequence[str | QKeySequence.StandardKey]
LAYOUT_DIRECTIONS = (
    ("wrapped", "&Wrapped Rows", "Left to right in rows that wrap to fit the canvas, like lines of text"),
    ("horizontal", "&Left to Right", "One long row, inputs on the left"),
    ("vertical", "&Top to Bottom", "One column, inputs at the top"),
)


def _sequences(keys: Keys | None) -> list[QKeySequence]:
    if keys is None:
        return []
    items = [keys] if isinstance(keys, str | QKeySequence.StandardKey) else list(keys)
    found: list[QKeySequence] = []
    for key in items:
        found.extend(QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey) else
                     [QKeySequence(key)])
    return list(dict.fromkeys(found))  # a standard key may repeat an explicit one


class WindowActions:
    """Builds the menus of ``window`` and keeps every action by name in :attr:`by_name`."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.by_name: dict[str, QAction] = {}
        self.recent_menu: QMenu | None = None
        self._build()

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]

    def add(self, menu: QMenu, name: str, text: str, slot: Callable[[], object] | None = None,
            keys: Keys | None = None, *, tip: str = "", checkable: bool = False, checked: bool = False,
            canvas_only: bool = False, toggled: Callable[[bool], object] | None = None) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        action.setShortcuts(_sequences(keys))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if checkable:
            action.setCheckable(True)
            action.setChecked(checked)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        if toggled is not None:
            action.toggled.connect(toggled)
        if canvas_only:
            # Active only while the canvas (or something inside it) has focus; still shown in the menu.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.window.view.addAction(action)
        menu.addAction(action)
        self.by_name[name] = action
        return action

    def _build(self) -> None:
        w = self.window
        bar = w.menuBar()
        self._file_menu(bar.addMenu("&File"))
        self._edit_menu(bar.addMenu("&Edit"))
        self._view_menu(bar.addMenu("&View"))
        train_menu = bar.addMenu("&Train")
        self.add(train_menu, "train.sweep", "&Sweep…", w.show_sweep_dialog,
                 tip="Train many variants of this graph with settings drawn from a search space (Optuna)")
        self.add(train_menu, "train.sweeps", "S&weeps…", w.show_sweeps,
                 tip="Open a sweep's trials, best so far, importance and Pareto front")
        self.add(train_menu, "train.pipelines", "&Pipelines…", w.show_pipelines,
                 tip="Deployment pipelines (train → validate → export → package → register → serve) as a live "
                 "stage diagram")
        self.add(train_menu, "train.hosts", "Remote &Hosts…", w.show_hosts,
                 tip="The machines runs can train on over SSH: add, probe, bootstrap, remove")
        self.add(train_menu, "train.notes", "Experiment &Notes…", w.show_notes,
                 tip="Hypotheses and observations on an experiment or the run chosen in the Runs panel")
        self._build_team_menu(bar.addMenu("Tea&m"))
        help_menu = bar.addMenu("&Help")
        self.add(help_menu, "help.tutorial", "&First Steps Tutorial", w.start_tutorial,
                 tip="Build and train an MNIST digit classifier in seven guided steps")
        self.add(help_menu, "help.ml101", "&ML 101…", self._open_ml101,
                 tip="Explained examples: convolution, pooling, dropout, LSTM and attention, each a graph to open")
        self.add(help_menu, "help.shortcuts", "&Keyboard Shortcuts", w.show_shortcuts, "F1")
        self.add(help_menu, "help.about", "&About NeuralForge", w.show_about)

    def _build_team_menu(self, m: QMenu) -> None:
        """Team ▸ …: the shared store's people, comments, portfolio and cost views, sharing and settings. Each
        entry opens a view from its own ui package, imported when first chosen."""
        m.setToolTipsVisible(True)
        self.add(m, "team.portfolio", "&Portfolio…",
                 lambda: import_module("neuralforge_desktop.ui.portfolio").open_portfolio_view(self.window),
                 tip="Every project: owner, status, best result, models in production, spend against budget")
        self.add(m, "team.cost", "&Cost && Capacity…",
                 lambda: import_module("neuralforge_desktop.ui.cost").open_cost_view(self.window),
                 tip="Spend over time, accuracy against compute, GPU-hour forecasts and host utilisation")
        m.addSeparator()
        self.add(m, "team.users", "&Users and Roles…", self._open_users,
                 tip="Who may read, run, approve and administer each project")
        self.add(m, "team.review_queue", "&Review Queue…",
                 lambda: import_module("neuralforge_desktop.ui.comments").open_review_queue_view(self.window),
                 tip="Review requests on model versions waiting for a decision: approve or reject them")
        m.addSeparator()
        self.add(m, "team.share_bundle", "Share as &Bundle…",
                 lambda: import_module("neuralforge_desktop.ui.bundle_dialogs").share_bundle(self.window),
                 tip="The design with chosen runs, their metrics, artifacts and comments as one .nfbundle file")
        self.add(m, "team.import_bundle", "&Import Bundle…",
                 lambda: import_module("neuralforge_desktop.ui.bundle_dialogs").import_bundle_dialog(self.window),
                 tip="Add a colleague's .nfbundle (design, runs, comments) to your store")
        m.addSeparator()
        self.add(m, "team.profile", "&Profile…",
                 lambda: import_module("neuralforge_desktop.ui.profiles").open_profile_picker(self.window),
                 tip="Arrange the panels, palette and start list for your work (Student, Analyst, Manager …)")

    def _file_menu(self, m: QMenu) -> None:
        f = self.window.files
        self.add(m, "file.new", "&New Blank Graph", f.new_blank, "Ctrl+N")
        self.add(m, "file.new_template", "New from &Template…", f.new_from_template, "Ctrl+Shift+N",
                 tip="Start from an architecture in the model zoo")
        m.addSeparator()
        self.add(m, "file.open", "&Open…", f.open, "Ctrl+O")
        self.add(m, "file.import_code", "&Import Model…", f.import_code, "Ctrl+Shift+I",
                 tip="A model in your PyTorch code, an ONNX file or a Keras file as an editable graph")
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.setObjectName("file.recent")
        self.update_recent(self.window.settings.recent_files())
        m.addSeparator()
        self.add(m, "file.save", "&Save", f.save, "Ctrl+S")
        self.add(m, "file.save_as", "Save &As…", f.save_as, "Ctrl+Shift+S")
        self.add(m, "file.export", "&Export Diagram…", f.export_diagram, "Ctrl+E",
                 tip="Save the canvas as a PNG, SVG or PDF picture")
        self.add(m, "file.export_model", "Export &Model…", f.export_model, "Ctrl+Shift+E",
                 tip="The model as ONNX, TensorFlow Lite or Core ML, verified against torch")
        m.addSeparator()
        quit_action = self.add(m, "file.quit", "&Quit", self.window.close, "Ctrl+Q")
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)

    def update_recent(self, files: list[str]) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        for index, path in enumerate(files):
            # Number the first nine so they can be picked from the keyboard, like most editors do.
            label = f"&{index + 1}  {Path(path).name}" if index < 9 else Path(path).name
            action = menu.addAction(label)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.window.files.open(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear Recent Files", self.window.clear_recent)
        menu.setEnabled(bool(files))

    def _edit_menu(self, m: QMenu) -> None:
        w = self.window
        undo = w.edits.createUndoAction(w, "&Undo")
        undo.setObjectName("edit.undo")
        undo.setShortcuts(_sequences(["Ctrl+Z"]))
        redo = w.edits.createRedoAction(w, "&Redo")
        redo.setObjectName("edit.redo")
        redo.setShortcuts(_sequences(["Ctrl+Shift+Z", "Ctrl+Y"]))
        m.addAction(undo)
        m.addAction(redo)
        self.by_name["edit.undo"], self.by_name["edit.redo"] = undo, redo
        m.addSeparator()
        self.add(m, "edit.cut", "Cu&t", w.cut, "Ctrl+X")
        self.add(m, "edit.copy", "&Copy", w.copy, "Ctrl+C")
        self.add(m, "edit.paste", "&Paste", w.paste, "Ctrl+V")
        self.add(m, "edit.duplicate", "D&uplicate", w.view.duplicate_selection, "Ctrl+D")
        self.add(m, "edit.delete", "&Delete", w.view.delete_selection, ["Delete", "Backspace"], canvas_only=True)
        self.add(m, "edit.select_all", "Select &All", w.select_all, "Ctrl+A", canvas_only=True)
        m.addSeparator()
        self.add(m, "edit.group", "&Group into Block", w.view.group_selection, "Ctrl+G",
                 tip="Turn the selected nodes into one reusable block")
        self.add(m, "edit.expand", "&Expand Block", w.view.expand_selected_block, "Ctrl+Shift+G",
                 tip="Put the selected block's layers back into the graph")
        self.add(m, "edit.save_component", "Save as Co&mponent…", w.save_as_component,
                 tip="Keep the selected block (or layers) in your component library, with exposed parameters")
        self.add(m, "edit.backdrop", "Add &Backdrop", lambda: w.view.add_backdrop(), "Ctrl+B",
                 tip="A titled frame behind nodes, to label a part of the model")
        self.add(m, "edit.quick_add", "&Quick Add Layer…", lambda: w.view.quick_add(), "Tab", canvas_only=True,
                 tip="Type a layer name to add it at the cursor")
        self.add(m, "edit.custom_layer", "New C&ustom Layer…", w.new_custom_layer,
                 tip="Write a layer or loss in Python and add it to the palette")
        m.addSeparator()
        self.add(m, "edit.preferences", "Pre&ferences…", self._open_preferences, "Ctrl+,",
                 tip="Default training device, mixed precision and host; MLflow and TensorBoard folders; the team "
                 "store").setMenuRole(QAction.MenuRole.PreferencesRole)

    def _view_menu(self, m: QMenu) -> None:
        w, s = self.window, self.window.settings
        self.add(m, "view.zoom_in", "Zoom &In", w.view.zoom_in, [QKeySequence.StandardKey.ZoomIn, "Ctrl+="])
        self.add(m, "view.zoom_out", "Zoom &Out", w.view.zoom_out, [QKeySequence.StandardKey.ZoomOut, "Ctrl+-"])
        self.add(m, "view.fit", "&Fit All", w.view.fit_all, "F", canvas_only=True,
                 tip="Show the whole graph, or as much of it as reads well, from its inputs")
        self.add(m, "view.zoom_selection", "Zoom to &Selection", w.view.zoom_to_selection, "Shift+F",
                 canvas_only=True)
        m.addSeparator()
        self.add(m, "view.fit_whole", "&Whole Graph", w.view.fit_whole, "Ctrl+Shift+F",
                 tip="Zoom out until the whole graph is on screen, however small")
        m.addSeparator()
        self.add(m, "view.auto_layout", "Auto &Layout", lambda: w.view.auto_layout(), "L", canvas_only=True,
                 tip="Arrange the nodes in data-flow order, in the layout direction")
        directions = m.addMenu("Layout &Direction")
        group = QActionGroup(self.window)
        group.setExclusive(True)
        for name, text, tip in LAYOUT_DIRECTIONS:
            action = self.add(directions, f"view.layout.{name}", text, checkable=True,
                              checked=s.layout_direction == name, tip=tip)
            action.triggered.connect(lambda _checked=False, n=name: w.set_layout_direction(n))
            group.addAction(action)
        self.add(m, "view.snap", "Snap to &Grid", checkable=True, checked=s.snap_to_grid, toggled=w.set_snap_to_grid)
        self.add(m, "view.concept", "&Concept Mode", keys="Ctrl+M", checkable=True, checked=s.concept_mode,
                 toggled=w.set_concept_mode, tip="Plain-language node cards for teaching and explaining")
        self.add(m, "view.show_all", "Show &All Layers", checkable=True, checked=s.show_all_layers,
                 toggled=w.set_show_all_layers, tip="List every layer in the palette, not only the common ones")
        self.add(m, "view.minimap", "&Minimap", checkable=True, checked=w.minimap.enabled,
                 toggled=w.set_minimap_visible,
                 tip="An overview of the graph in the canvas's corner (off by default on a small canvas)")
        self.add(m, "view.live_previews", "Live &Previews", keys="Ctrl+Shift+P", checkable=True,
                 toggled=w.set_live_previews,
                 tip="Run one sample through the model and show each node's output under its card "
                     "(off above 200 nodes)")
        self.add(m, "view.monitoring", "Model M&onitoring…", w.show_monitoring,
                 tip="Served models: latency, throughput, traffic per version, input drift and alerts")
        self.add(m, "view.fairness", "&Fairness…", w.show_fairness,
                 tip="Per-group accuracy, selection rate, TPR/FPR, disparities and calibration of a model, "
                     "with mitigation")
        m.addSeparator()
        themes = m.addMenu("&Theme")
        group = QActionGroup(self.window)
        group.setExclusive(True)
        for name in THEMES:
            action = self.add(themes, f"view.theme.{name}", name.title(), checkable=True, checked=s.theme == name)
            action.triggered.connect(lambda _checked=False, n=name: w.set_theme(n))
            group.addAction(action)
        m.addSeparator()
        self.add(m, "view.registry", "Model &Registry…", self._open_registry,
                 tip="Registered models: versions, stages, approvals, gates, promotion and rollback")
        self.add(m, "view.lineage", "&Lineage…", w.show_lineage,
                 tip="Where a served prediction, model version or run came from; what used a dataset")
        self.add(m, "view.explain", "&Explain Predictions…", self._open_explain,
                 tip="Why a trained model predicts what it does: attributions, SHAP values, attention maps")
        panels = m.addMenu("&Panels")
        for index, dock in enumerate(w.docks.all()):
            toggle = dock.toggleViewAction()
            toggle.setObjectName(f"view.{dock.objectName()}")
            toggle.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            panels.addAction(toggle)
            self.by_name[toggle.objectName()] = toggle
        panels.addSeparator()
        self.add(panels, "view.reset_layout", "&Reset Layout", w.reset_layout)
        m.aboutToShow.connect(self._sync_view_checks)

    def _open_users(self) -> None:
        from neuralforge_desktop.ui.team_access import open_users_view

        open_users_view(self.window)

    def _open_registry(self) -> None:
        from neuralforge_desktop.ui.registry import open_registry_view

        open_registry_view(self.window)

    def _open_ml101(self) -> None:
        from neuralforge_desktop.ui.onboarding import open_ml101_view

        open_ml101_view(self.window)

    def _open_preferences(self) -> None:
        from neuralforge_desktop.ui.onboarding import open_preferences

        open_preferences(self.window)

    def _open_explain(self) -> None:
        from neuralforge_desktop.ui.explain import open_explain_view

        open_explain_view(self.window)

    def _sync_view_checks(self) -> None:
        # The palette has its own "Show all" box; keep the menu's check mark in step with it.
        show_all = self.by_name["view.show_all"]
        palette_state = bool(self.window.palette_panel.show_all())
        if show_all.isChecked() != palette_state:
            show_all.blockSignals(True)
            show_all.setChecked(palette_state)
            show_all.blockSignals(False)
