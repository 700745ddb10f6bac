"""The dialogs and views the main window's menus open (shortcuts, custom layer, notes, hosts, sweeps,
monitoring, lineage, fairness, pipelines, about), each built on first use and imported only then, so that
start-up does not pay for them. :class:`~.main_window.MainWindow` inherits these methods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from neuralforge_desktop import __version__

if TYPE_CHECKING:
    from neuralforge_desktop.ui.dialogs.shortcuts import ShortcutsDialog

APP_TITLE = "NeuralForge"
# Mouse gestures have no QAction, so the shortcuts dialog lists them from here.
CANVAS_GESTURES = [
    ("Canvas", "Connect ports", "drag from an output port to an input port"),
    ("Canvas", "Pan", "middle-drag, or Space + drag"),
    ("Canvas", "Zoom at the cursor", "mouse wheel"),
    ("Canvas", "Open or fold a block", "double-click the block"),
    ("Canvas", "Add a layer", "drag it from the Layers panel, or double-click it there"),
]


class WindowDialogsMixin:
    """Menu commands that open a dialog or a view; the window keeps the newest of each as an attribute (tests
    and the user's next command find it there)."""

    # Provided by MainWindow.
    theme: Any
    store_path: Any
    palette_panel: Any
    train_host: Any
    train_panel: Any

    def show_shortcuts(self) -> ShortcutsDialog:
        from neuralforge_desktop.ui.dialogs.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self.menuBar(), CANVAS_GESTURES, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()  # non-modal: it can stay open beside the canvas while learning the keys
        self.shortcuts_dialog = dialog
        return dialog

    def new_custom_layer(self) -> QWidget:
        """Edit ▸ New Custom Layer: non-modal; a layer it adds shows in the palette at once."""
        from neuralforge_desktop.ui.dialogs.custom_layer import CustomLayerDialog

        dialog = CustomLayerDialog(self, theme=self.theme)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.layer_added.connect(self._custom_layer_added)
        dialog.show()
        self.custom_layer_dialog = dialog
        return dialog

    def _custom_layer_added(self, type_name: str) -> None:
        self.palette_panel.reload()
        item = self.palette_panel.item_for(type_name)
        if item is not None:
            self.palette_panel.tree().setCurrentItem(item)
            self.palette_panel.tree().scrollToItem(item)
        self.show_message(f"Added {type_name} to the palette (Custom); double-click it to place it")

    def show_notes(self) -> QWidget:
        """Train ▸ Experiment Notes…: on the run chosen in the Runs panel, else on an experiment."""
        from neuralforge_desktop.ui.training.notes_panel import NotesPanel

        dialog = NotesPanel(self.store_path, run_id=self._preview_run(), parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.notes_dialog = dialog
        return dialog

    def show_hosts(self) -> QWidget:
        """Train ▸ Remote Hosts…: non-modal; the Train panel's Run on follows what changes there."""
        from neuralforge_desktop.ui.dialogs.hosts import HostsDialog

        dialog = HostsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.changed.connect(lambda: self.train_host.built and self.train_panel.run_on.refresh())
        dialog.show()
        self.hosts_dialog = dialog
        return dialog

    def show_sweep_dialog(self) -> QWidget:
        """Train ▸ Sweep…: a search space over the open graph; the sweep runs in its own process."""
        from neuralforge_desktop.ui.dialogs.sweep_dialog import open_sweep_dialog

        return open_sweep_dialog(self)

    def show_sweeps(self, sweep_id: str | None = None) -> QWidget | None:
        """Train ▸ Sweeps…: a sweep (chosen from those beside the store) in a Sweep view."""
        from neuralforge_desktop.ui.training.sweep_view import open_sweep_view

        return open_sweep_view(self, sweep_id)

    def show_monitoring(self) -> QWidget:
        """View ▸ Model Monitoring…: the served models of this window's store, in their own window."""
        from neuralforge_desktop.ui.monitoring import open_monitoring_view

        self.monitoring_view = open_monitoring_view(self)
        return self.monitoring_view

    def show_lineage(self, ref: str | None = None) -> QWidget:
        """View ▸ Lineage…: a prediction, version, run or dataset's lineage as a graph, in its own window."""
        from neuralforge_desktop.ui.lineage import open_lineage_view

        return open_lineage_view(self, ref)

    def show_fairness(self) -> QWidget:
        """View ▸ Fairness…: how a model of this window's store treats the groups of a sensitive column."""
        from neuralforge_desktop.ui.fairness import open_fairness_view

        self.fairness_view = open_fairness_view(self)
        return self.fairness_view

    def show_pipelines(self) -> QWidget:
        """Train ▸ Pipelines…: deployment pipeline runs as a live stage diagram; a pipeline runs in its own process."""
        from neuralforge_desktop.ui.pipeline import open_pipeline_view

        return open_pipeline_view(self)

    def show_about(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, f"About {APP_TITLE}",
                          f"<b>{APP_TITLE} {__version__}</b><br>Design neural networks as graphs, see every "
                          "tensor shape and cost, and generate readable PyTorch.", QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box
