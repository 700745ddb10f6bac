"""Team ▸ Share as Bundle… and Team ▸ Import Bundle…: the ``neuralforge bundle`` commands in two small dialogs.

Sharing takes the open design as it is on the canvas (unsaved edits included) and the runs trained from it,
each one ticked or not; importing shows who made a bundle and what it holds before anything is written, then
adds it to the window's store and offers to open the graph it brought.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.latest_request import LatestRequest
from neuralforge_desktop.ui.ui_thread import emitter

RUN_ID_ROLE = Qt.ItemDataRole.UserRole


def _reason(error: Exception) -> str:
    """What a failed job says in the dialog: a user's error as it is, a bug with its type."""
    from neuralforge_desktop.core.errors import UserError

    return str(error) if isinstance(error, UserError | OSError) else f"{type(error).__name__}: {error}"


def _background(dialog: QDialog) -> LatestRequest:
    """The dialog's worker thread. Bundles hold checkpoints (hundreds of megabytes, each one hashed): reading or
    writing one must not freeze the window. A request is ``{"kind": …, "work": fn}`` with ``fn`` built from plain
    values, never the dialog; the result reaches ``dialog.arrived`` through an emitter (it holds the dialog
    weakly), so a dialog closed meanwhile is neither kept alive nor destroyed off the UI thread. One thread per
    dialog, one job at a time, so the last result shown is that of the last request."""
    worker = LatestRequest("bundle-dialog", lambda what: what["work"](), emitter(dialog, "arrived"))
    dialog.destroyed.connect(worker.stop)
    return worker


def _store_path(window: Any) -> Path:
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    return Path(window.store_path) if getattr(window, "store_path", None) is not None else default_store_path()


def _when(stamp: float | None) -> str:
    return dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else "—"


def _path_row(edit: QLineEdit, browse: Any) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QPushButton("Browse…")
    button.clicked.connect(browse)
    layout.addWidget(button)
    return row


class ShareBundleDialog(QDialog):
    """Choose the runs of the open design to share, and where the bundle goes."""

    arrived = Signal(object, object)  # request, result (an exception when it failed), on the UI thread

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.busy = False
        self.written: Path | None = None  # the last bundle written
        self._worker = _background(self)
        self.arrived.connect(self._exported)
        self.setWindowTitle("Share as Bundle")
        self.window_ = window
        self.document = window.files.document
        self.store_path = _store_path(window)
        stem = self.document.path.stem if self.document.path else (self.document.graph.name or "design")
        folder = self.document.path.parent if self.document.path else Path.home()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{stem}</b>: the design as it is on the canvas, with the runs you tick. Each "
                                "run takes its metrics, artifacts, model cards and comments along."))
        self.runs = QListWidget()
        self.runs.setObjectName("bundle.runs")
        # An unticked box must show as a box, in the dark theme too: leaving a run out is the point of the list.
        self.runs.setStyleSheet("QListWidget::item { padding: 3px; }"
                                "QListWidget::indicator { width: 13px; height: 13px; border: 1px solid #8a93a3;"
                                " border-radius: 2px; }"
                                "QListWidget::indicator:checked { background: #4c8bf5; border-color: #4c8bf5; }")
        layout.addWidget(self.runs, 1)
        form = QFormLayout()
        self.output = QLineEdit(str(folder / f"{stem}.nfbundle"))
        form.addRow("Bundle file:", _path_row(self.output, self._browse))
        layout.addLayout(form)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.export)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._fill_runs()

    def _fill_runs(self) -> None:
        from neuralforge_desktop.core.store.entities import StoreError
        from neuralforge_desktop.core.store.sqlite_store import Store
        from neuralforge_desktop.core.team.bundle import design_hashes

        design = design_hashes(self.document.graph)
        try:
            with Store(self.store_path) as store:
                runs = [r for r in store.list_runs(order_by="-created")
                        if r.graph_sha256 in design or r.tags.get("graph") == self.document.graph.name]
        except (StoreError, OSError) as exc:
            self.message.setText(f"Could not read the runs: {exc}")
            runs = []
        for run in runs:
            latest = ", ".join(f"{name} {m.value:.4g}" for name, m in sorted(run.metrics.items())[:3])
            exact = "" if run.graph_sha256 in design else "  (an earlier version of the design)"
            item = QListWidgetItem(f"{run.name}  ·  {run.experiment}  ·  {run.status}  ·  {_when(run.created)}"
                                   f"  ·  {run.user or '—'}  ·  {latest}{exact}")
            item.setData(RUN_ID_ROLE, run.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if run.graph_sha256 in design else Qt.CheckState.Unchecked)
            self.runs.addItem(item)
        if not runs:
            self.message.setText("No runs of this design in the store: the bundle will hold the design alone.")

    def chosen_runs(self) -> list[str]:
        return [self.runs.item(i).data(RUN_ID_ROLE) for i in range(self.runs.count())
                if self.runs.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, run_ids: list[str]) -> None:
        for i in range(self.runs.count()):
            item = self.runs.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(RUN_ID_ROLE) in run_ids else Qt.CheckState.Unchecked)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Share as Bundle", self.output.text(), "Bundles (*.nfbundle)")
        if path:
            self.output.setText(path if path.endswith(".nfbundle") else f"{path}.nfbundle")

    def export(self) -> None:
        """Write the bundle in a worker thread; :attr:`written` and the message say how it went."""
        from neuralforge_desktop.core.ir.serialize import dumps
        from neuralforge_desktop.core.team.bundle import safe_file_stem

        if self.busy:
            return
        output = Path(self.output.text().strip()).expanduser()
        stem = self.document.path.stem if self.document.path else safe_file_stem(self.document.graph.name)
        text = dumps(self.document.graph, source=self.document.path)  # the canvas as it is now, on this thread
        store_path, run_ids = self.store_path, self.chosen_runs()
        self.busy = True
        self.export_button.setEnabled(False)
        self.message.setText(f"Writing {output.name} ({len(run_ids)} run(s)) …")
        self._worker.request({"kind": "export",
                              "work": lambda: _write_bundle(store_path, output, stem, text, run_ids)})

    def _exported(self, _what: dict[str, Any], result: Any) -> None:
        self.busy = False
        self.export_button.setEnabled(True)
        if isinstance(result, Exception):
            self.message.setText(f"Not exported: {_reason(result)}")
            return
        self.written = result.path
        self.message.setText(f"Wrote {result.path.name}: {len(result.runs)} run(s), {result.artifacts} artifact(s), "
                             f"{result.comments} comment(s).")
        self.window_.statusBar().showMessage(f"Shared {result.path}", 5000)


def _write_bundle(store_path: Path, output: Path, stem: str, graph_text: str, run_ids: list[str]) -> Any:
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.bundle import export_bundle

    with tempfile.TemporaryDirectory(prefix="nfbundle-") as folder:
        graph_file = Path(folder) / f"{stem}.nfg"
        graph_file.write_text(graph_text, encoding="utf-8")
        with Store(store_path) as store:  # opened in this thread: a Store is for one thread
            return export_bundle(store, output, graph_path=graph_file, run_ids=run_ids, overwrite=True)


class ImportBundleDialog(QDialog):
    """Choose a bundle, see what it holds (checked), import it into the window's store."""

    arrived = Signal(object, object)  # request, result (an exception when it failed), on the UI thread

    def __init__(self, window: Any, path: str | None = None) -> None:
        super().__init__(window)
        self.setWindowTitle("Import Bundle")
        self.busy = False
        self._worker = _background(self)
        self.arrived.connect(self._arrived)
        self.window_ = window
        self.store_path = _store_path(window)
        self.result_: Any = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.bundle = QLineEdit(path or "")
        self.bundle.editingFinished.connect(self.inspect)
        form.addRow("Bundle:", _path_row(self.bundle, self._browse))
        self.graph_dir = QLineEdit()
        form.addRow("Graph files to:", _path_row(self.graph_dir, self._browse_dir))
        self.project = QLineEdit()
        self.project.setPlaceholderText("the bundle's project")
        form.addRow("Project:", self.project)
        layout.addLayout(form)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        layout.addWidget(self.summary, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_button = buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button = buttons.addButton("Open Graph", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_graph)
        buttons.accepted.connect(self.run_import)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if path:
            self.inspect()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import Bundle", self.bundle.text(), "Bundles (*.nfbundle)")
        if path:
            self.bundle.setText(path)
            self.inspect()

    def _browse_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Graph files to", self.graph_dir.text())
        if folder:
            self.graph_dir.setText(folder)

    def inspect(self) -> None:
        """Check the chosen bundle (every member's checksum) in a worker thread and show what it holds; nothing is
        written. Import is enabled once it checks out."""
        path = Path(self.bundle.text().strip()).expanduser()
        if not self.graph_dir.text():
            self.graph_dir.setText(str(path.parent))
        self.import_button.setEnabled(False)
        self.busy = True
        self.summary.setPlainText(f"Checking {path.name} …")
        self._worker.request({"kind": "inspect", "work": lambda: _read_manifest(path)})

    def _arrived(self, what: dict[str, Any], result: Any) -> None:
        (self._inspected if what["kind"] == "inspect" else self._imported)(result)

    def _inspected(self, manifest: Any) -> None:
        self.busy = False
        if isinstance(manifest, Exception):
            self.summary.setPlainText(f"Cannot import: {_reason(manifest)}")
            return
        contents = manifest.get("contents", {})
        lines = [f"Made by {manifest.get('who')} on {_when(manifest.get('created'))} with NeuralForge "
                 f"{manifest.get('neuralforge')}; every checksum matches.", ""]
        lines += [f"graph  {g.get('member', '').removeprefix('graphs/')}" for g in contents.get("graphs", [])]
        lines += [f"run    {r.get('name')}  ({r.get('experiment')})" for r in contents.get("runs", [])]
        lines += [f"card   {c.get('ref')}" for c in contents.get("cards", [])]
        lines.append(f"{contents.get('comments', 0)} comment(s)")
        self.summary.setPlainText("\n".join(lines))
        self.import_button.setEnabled(True)

    def run_import(self) -> None:
        """Import the bundle into the window's store in a worker thread (it is checked again first)."""
        if self.busy:
            return
        store_path, bundle = self.store_path, Path(self.bundle.text().strip()).expanduser()
        project = self.project.text().strip() or None
        graph_dir = Path(self.graph_dir.text().strip()).expanduser()
        self.busy = True
        self.import_button.setEnabled(False)
        self.summary.appendPlainText(f"\nImporting into {Path(store_path).name} …")
        self._worker.request({"kind": "import", "work": lambda: _import(store_path, bundle, project, graph_dir)})

    def _imported(self, result: Any) -> None:
        self.busy = False
        self.import_button.setEnabled(True)
        if isinstance(result, Exception):
            self.summary.appendPlainText(f"Not imported (nothing was written): {_reason(result)}")
            return
        self.result_ = result
        done = [f"{len(result.created)} new run(s), {len(result.existing)} already here, "
                f"{result.comments_added} new comment(s)"]
        done += [f"graph written: {p}" for p in result.graphs_written]
        done += [f"graph already there: {p}" for p in result.graphs_present]
        done += [f"note: {n}" for n in result.notes]
        self.summary.appendPlainText("Imported: " + "\n".join(done))
        self.open_button.setEnabled(bool(result.graphs_written or result.graphs_present))

    def open_graph(self) -> None:
        from neuralforge_desktop.core.team.bundle_import import graph_file_of

        path = graph_file_of(self.result_) if self.result_ is not None else None
        if path is not None:
            self.window_.files.open(path)


def _read_manifest(path: Path) -> dict[str, Any]:
    from neuralforge_desktop.core.team.bundle_archive import BundleReader

    with BundleReader(path) as reader:
        reader.verify()
        return dict(reader.manifest)


def _import(store_path: Path, bundle: Path, project: str | None, graph_dir: Path) -> Any:
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.bundle_import import import_bundle

    with Store(store_path) as store:
        return import_bundle(store, bundle, project=project, graph_dir=graph_dir)


def _show(window: Any, dialog: QDialog, attribute: str) -> QDialog:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.resize(760, 480)
    dialog.show()
    setattr(window, attribute, dialog)
    return dialog


def share_bundle(window: Any) -> QDialog:
    """Team ▸ Share as Bundle…"""
    return _show(window, ShareBundleDialog(window), "share_bundle_dialog")


def import_bundle_dialog(window: Any) -> QDialog:
    """Team ▸ Import Bundle…"""
    return _show(window, ImportBundleDialog(window), "import_bundle_dialog")
