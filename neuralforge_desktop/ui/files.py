"""Everything the window does with files: new / open / save / export, recent files, the unsaved-changes
question, and crash recovery (autosave every few seconds while there are unsaved changes).

Every question to the user goes through one ``ask_*`` / ``show_error`` method, so tests replace that method
instead of driving a modal dialog; everything else here is plain logic over the document bridge.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from neuralforge_desktop.core.edit.document import Document, find_recoveries, recovery_path, write_recovery
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.serialize import GraphFileError, load_graph

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.export import ExportOptions
    from neuralforge_desktop.ui.dialogs.export_model import ExportModelDialog
    from neuralforge_desktop.ui.dialogs.import_code import ImportCodeDialog
    from neuralforge_desktop.ui.main_window import MainWindow

AUTOSAVE_MS = 5000
STALE_TEMP_S = 60.0
GRAPH_FILTER = "NeuralForge graph (*.nfg);;All files (*)"


def default_recovery_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("neuralforge")) / "recovery"


class FileController(QObject):
    """File commands of one main window. ``status`` carries one-line messages for the status bar."""

    status = Signal(str)
    recent_changed = Signal(list)

    def __init__(self, window: MainWindow, recovery_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.recovery_dir = Path(recovery_dir) if recovery_dir is not None else default_recovery_dir()
        self._recovery_file: Path | None = None  # the copy written for the current document, if any
        self._unsaved_changes = False  # edits since the last recovery copy
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        window.bridge.changed.connect(self._on_changed)

    @property
    def document(self) -> Document:
        return self.window.bridge.document

    # -- questions (tests replace these) -------------------------------------------------------------
    def ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel' for the unsaved changes of the current document."""
        answer = QMessageBox.question(
            self.window, "Unsaved changes", f"Save the changes to {self._name()} before closing it?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(answer, "cancel")

    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open graph", self._start_dir(), GRAPH_FILTER)
        return path or None

    def ask_save_path(self) -> str | None:
        suggested = str(Path(self._start_dir()) / f"{self._stem()}.nfg")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save graph as", suggested, GRAPH_FILTER)
        return path or None

    def ask_export(self) -> tuple[Path, ExportOptions] | None:
        """Where to write the diagram and how to draw it (the export dialog), or None when cancelled."""
        from neuralforge_desktop.ui.dialogs.export_diagram import ExportDialog

        dialog = ExportDialog(Path(self._start_dir()) / f"{self._stem()}.png", self.window.settings, self.window)
        return (dialog.target(), dialog.options()) if dialog.exec() else None

    def export_model(self) -> ExportModelDialog:
        """File ▸ Export Model: the graph to ONNX, TFLite or Core ML in the background (non-modal dialog)."""
        from neuralforge_desktop.ui.dialogs.export_model import ExportModelDialog

        dialog = ExportModelDialog(self.document.graph, Path(self._start_dir()), self.runs_of_graph(),
                                   self._store_path(), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.window.export_model_dialog = dialog
        return dialog

    def import_code(self) -> ImportCodeDialog:
        """File ▸ Import Model: the import runs in the import process; the graph it writes opens here."""
        from neuralforge_desktop.ui.dialogs.import_code import ImportCodeDialog

        dialog = ImportCodeDialog(Path(self._start_dir()), self.window)

        def open_written() -> None:
            if dialog.written is None or not self.maybe_save():
                return
            try:
                document = Document.open(dialog.written)
            except (GraphFileError, OSError) as exc:
                self.show_error("Could not open the imported graph", str(exc))
                return
            self.window.view.arrange(document)  # laid out for this canvas, as a template opens
            self._replace(document)
            self._save_to(dialog.written)  # keep that layout in the file
            self.recent_changed.emit(self.window.settings.add_recent(dialog.written))
            self.status.emit(f"Imported {dialog.written.name}")

        dialog.accept_result = open_written  # type: ignore[method-assign]
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.window.import_code_dialog = dialog
        return dialog

    def runs_of_graph(self) -> list[Any]:
        """The store's runs of a graph with this document's name, newest first (none when there is no store)."""
        from neuralforge_desktop.core.store.entities import StoreError
        from neuralforge_desktop.core.store.sqlite_store import Store

        try:
            store = Store(self._store_path())
            try:
                return store.list_runs(tags={"graph": self.document.graph.name}, limit=50)
            finally:
                store.close()
        except (StoreError, OSError):
            return []

    def _store_path(self) -> Path | None:
        path = getattr(self.window, "store_path", None)
        return Path(path) if path is not None else None

    def choose_template(self) -> str | None:
        from neuralforge_desktop.ui.dialogs.gallery import GalleryDialog

        dialog = GalleryDialog(self.window, theme=getattr(self.window, "theme", "dark"))
        return dialog.selected_name() if dialog.exec() else None

    def show_error(self, title: str, text: str) -> None:
        self.status.emit(text)
        QMessageBox.warning(self.window, title, text)

    # -- commands ------------------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """True when the current document may be closed (saved, discarded or unchanged)."""
        if not self.document.dirty:
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        if answer == "discard":
            self.discard_recovery()
            return True
        return False

    def new_blank(self) -> bool:
        if not self.maybe_save():
            return False
        self._replace(Document(Graph("untitled")))
        self.status.emit("New blank graph")
        return True

    def new_from_template(self, name: str | None = None) -> bool:
        # Choose first: cancelling the gallery must leave the current graph (and its question) alone.
        name = name or self.choose_template()
        if not name or not self.maybe_save():
            return False
        from neuralforge_desktop.core import zoo

        document = Document(zoo.build(name))
        self.window.view.arrange(document)  # in the chosen layout direction, sized to this canvas
        self._replace(document)
        self.status.emit(f"New graph from the {name} template")
        return True

    def new_from_graph(self, graph: Graph, what: str) -> bool:
        """A new untitled document holding ``graph`` (an ML 101 example, say), laid out for this canvas; the
        current one is offered for saving first."""
        if not self.maybe_save():
            return False
        document = Document(graph)
        self.window.view.arrange(document)
        self._replace(document)
        self.status.emit(f"New graph: {what}")
        return True

    def open(self, path: str | os.PathLike[str] | None = None) -> bool:
        path = path or self.ask_open_path()
        return bool(path) and self.maybe_save() and self.load(path)

    def load(self, path: str | os.PathLike[str]) -> bool:
        """Open ``path`` without asking about the current document (the caller did, or there is none)."""
        try:
            document = Document.open(path)
        except (GraphFileError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                self.recent_changed.emit(self.window.settings.remove_recent(path))
            reason = str(exc) if isinstance(exc, GraphFileError) else f"{Path(path).name}: {exc.strerror or exc}"
            self.show_error("Could not open the graph", reason)
            return False
        self._replace(document)
        self.recent_changed.emit(self.window.settings.add_recent(path))
        self.status.emit(f"Opened {document.path}")
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self, path: str | os.PathLike[str] | None = None) -> bool:
        path = path or self.ask_save_path()
        if not path:
            return False
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(".nfg")
        return self._save_to(target)

    def export_diagram(self, path: str | os.PathLike[str] | None = None, options: ExportOptions | None = None) -> bool:
        """Write a diagram of the graph; without ``path``, the export dialog asks where and how."""
        if path is None:
            chosen = self.ask_export()
            if chosen is None:
                return False
            path, options = chosen
        try:
            self.window.view.export_image(str(path), options)
        except (OSError, ValueError) as exc:
            self.show_error("Could not export the diagram", str(exc))
            return False
        self.status.emit(f"Exported {Path(path).name}")
        return True

    # -- crash recovery ------------------------------------------------------------------------------
    def autosave(self) -> Path | None:
        """Write the recovery copy if there are changes it does not have yet (the timer calls this)."""
        if not self.document.dirty:
            if self._recovery_file is not None:
                self.discard_recovery()  # undone back to the saved state: nothing left to recover
            return None
        if not self._unsaved_changes:
            return None
        try:
            written = write_recovery(self.document, self.recovery_dir)
        except (OSError, GraphFileError) as exc:
            self.status.emit(f"Autosave failed: {exc}")
            return None
        if self._recovery_file is not None and self._recovery_file != written:
            with contextlib.suppress(OSError):  # the document got a new name; its old copy is stale
                self._recovery_file.unlink()
        self._recovery_file = written
        self._unsaved_changes = False
        return written

    def discard_recovery(self) -> None:
        """Remove the current document's recovery copy (after a clean save, a discard or a clean close)."""
        candidates = {self._recovery_file, recovery_path(self.document, self.recovery_dir)}
        for path in candidates:
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
        self._recovery_file = None

    def pending_recoveries(self) -> list[Path]:
        """Recovery copies left by earlier sessions (not the one this window is writing)."""
        self._sweep_partial_writes()
        return [p for p in find_recoveries(self.recovery_dir) if p != self._recovery_file]

    def _sweep_partial_writes(self) -> None:
        # A crash mid-autosave leaves the half-written temporary file (never the copy itself, which is
        # replaced atomically). One older than a minute belongs to no running writer.
        if not self.recovery_dir.is_dir():
            return
        cutoff = time.time() - STALE_TEMP_S
        for temp in self.recovery_dir.glob(".*.nfg.tmp*"):
            with contextlib.suppress(OSError):
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()

    def recover(self, path: str | os.PathLike[str]) -> bool:
        """Open a recovery copy as an unsaved document named after the file it was a copy of."""
        if not self.maybe_save():
            return False
        source = Path(path)
        try:
            graph = load_graph(source)
        except (GraphFileError, OSError) as exc:
            self.show_error("Could not recover the graph", str(exc))
            return False
        original = str(graph.meta.pop("recovery_of", "") or "")
        document = Document(graph, original or None)
        graph.revision += 1  # differs from the saved revision: the recovered work is not on disk yet
        self._replace(document)
        self.window.edits.resetClean()  # no point in the history is the saved state
        self._unsaved_changes = True
        written = self.autosave()  # keep a copy under this session's name before dropping the old one
        if written is not None and written != source:
            with contextlib.suppress(OSError):
                source.unlink()
        self.status.emit(f"Recovered {document.path.name if document.path else graph.name} (not saved yet)")
        return True

    def discard_recoveries(self, paths: list[Path]) -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                Path(path).unlink()

    # -- internals -----------------------------------------------------------------------------------
    def _on_changed(self, _change: object) -> None:
        self._unsaved_changes = True

    def _save_to(self, path: str | os.PathLike[str]) -> bool:
        previous_copy = self._recovery_file
        try:
            saved = self.document.save(path)
        except (GraphFileError, OSError) as exc:
            self.show_error("Could not save the graph", str(exc))
            return False
        self.window.edits.setClean()
        self.discard_recovery()
        if previous_copy is not None:
            with contextlib.suppress(OSError):
                previous_copy.unlink()
        self._unsaved_changes = False
        self.recent_changed.emit(self.window.settings.add_recent(saved))
        self.status.emit(f"Saved {saved}")
        return True

    def _replace(self, document: Document) -> None:
        self.discard_recovery()  # the caller saved or discarded the old document
        self.window.edits.clear()
        self.window.bridge.set_document(document)
        self._unsaved_changes = False

    def _name(self) -> str:
        return self.document.path.name if self.document.path else self.document.graph.name

    def _stem(self) -> str:
        return self.document.path.stem if self.document.path else self.document.graph.name or "untitled"

    def _start_dir(self) -> str:
        if self.document.path is not None:
            return str(self.document.path.parent)
        recent = self.window.settings.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())
