"""File ▸ Export Model: the graph to ONNX, TensorFlow Lite or Core ML, in the background, then the report.

The dialog gathers an :class:`~neuralforge_desktop.core.exporters.pipeline.ExportRequest` (format, precision,
whose weights: a run of this graph, a weights file or the untrained seeded ones, real calibration samples for
full int8, verification on or off, where to write), runs it with :class:`~..export_runner.ExportRunner` (the
worker process ``neuralforge export`` uses) with progress and Cancel, and then shows what the export proved:
its size, how far its outputs are from torch's on the same inputs, and how fast it runs here beside torch.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.exporters.pipeline import ExportRequest
from neuralforge_desktop.core.exporters.registry import formats, get_format
from neuralforge_desktop.core.exporters.report import ExportReport, size_text
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.ui.export_runner import ExportRunner

UNTRAINED = "untrained"
WEIGHTS_FILE = "file"
PRECISION_TEXT = {"fp32": "fp32 (full precision)", "fp16": "fp16 (half the size)",
                  "int8-weights": "int8 weights (dynamic range, no data needed)",
                  "int8": "int8 (weights and activations, calibrated on real samples)"}


class ExportModelDialog(QDialog):
    """Non-blocking for the app: the export runs in a worker process while the dialog shows its progress."""

    def __init__(self, graph: Graph, suggested_folder: Path, runs: list[Any], store_path: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export model")
        self.setObjectName("export_model_dialog")
        self.graph = graph
        self.store_path = store_path
        self.report: ExportReport | None = None
        self.error = ""
        self._weights_file: Path | None = None
        self._folder = suggested_folder
        self.runner = ExportRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)

        self.format = QComboBox(self)
        for name in formats():
            try:
                title = get_format(name).title
            except UserError:  # its packages are missing: listed, and refused with the reason on export
                title = name
            self.format.addItem(title, name)
        self.precision = QComboBox(self)
        self.weights = QComboBox(self)
        self.weights.addItem("Untrained (seeded initial weights: shapes and speed only)", UNTRAINED)
        for run in runs:
            accuracy = run.metrics.get("val_accuracy") if hasattr(run, "metrics") else None
            extra = f", val acc {accuracy.value:.3f}" if accuracy is not None else ""
            self.weights.addItem(f"Run {run.name} ({run.status}{extra}): best checkpoint", run.id)
        self.weights.addItem("Weights file (.safetensors)…", WEIGHTS_FILE)
        if runs:
            self.weights.setCurrentIndex(1)
        self.calibration = QLineEdit(self)
        self.calibration.setPlaceholderText("the run's dataset (or a dataset name, e.g. mnist)")
        self.verify = QCheckBox("Verify against torch on the same inputs (recommended)", self)
        self.verify.setChecked(True)
        self.output = QLineEdit(self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.output, 1)
        where.addWidget(browse)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Precision", self.precision)
        form.addRow("Weights", self.weights)
        form.addRow("Calibration data", self.calibration)
        form.addRow("", self.verify)
        form.addRow("Save as", where)

        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.hide()
        self.result = QTextBrowser(self)
        self.result.setObjectName("export_report")
        self.result.setOpenLinks(False)
        self.result.hide()

        self.export_button = QPushButton("Export", self)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.cancel_button.hide()
        self.show_button = QPushButton("Show in Folder", self)
        self.show_button.clicked.connect(self.show_in_folder)
        self.show_button.hide()
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.result, 1)
        layout.addLayout(buttons)

        self.format.currentIndexChanged.connect(self._format_changed)
        self.precision.currentIndexChanged.connect(self._precision_changed)
        self.weights.activated.connect(self._weights_chosen)
        self._format_changed()
        self.resize(640, 300)

    # -- choices -------------------------------------------------------------------------------------------
    def _format_changed(self) -> None:
        name = self.format.currentData()
        self.precision.clear()
        try:
            exporter = get_format(name)
        except UserError as exc:
            self.status.setText(str(exc))
            self.export_button.setEnabled(False)
            return
        self.export_button.setEnabled(True)
        self.status.setText("")
        for precision in exporter.precisions:
            self.precision.addItem(PRECISION_TEXT.get(precision, precision), precision)
        current = Path(self.output.text()) if self.output.text() else self._folder / self._stem()
        self.output.setText(str(current.with_suffix(exporter.suffix)))
        self._precision_changed()

    def _precision_changed(self) -> None:
        self.calibration.setEnabled(self.precision.currentData() == "int8")

    def _stem(self) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in (self.graph.name or "model")) or "model"

    def _weights_chosen(self, _index: int) -> None:
        if self.weights.currentData() != WEIGHTS_FILE:
            return
        chosen, _ = QFileDialog.getOpenFileName(self, "Weights file", str(self._folder),
                                                "safetensors weights (*.safetensors)")
        if chosen:
            self._weights_file = Path(chosen)
            self.weights.setItemText(self.weights.currentIndex(), f"Weights file: {Path(chosen).name}")
        elif self._weights_file is None:
            self.weights.setCurrentIndex(0)

    def set_weights_file(self, path: Path) -> None:
        """Choose a weights file without the file dialog (scripts and tests)."""
        self._weights_file = Path(path)
        self.weights.setCurrentIndex(self.weights.findData(WEIGHTS_FILE))

    def _browse(self) -> None:
        exporter = get_format(self.format.currentData())
        chosen, _ = QFileDialog.getSaveFileName(self, "Export model", self.output.text(),
                                                f"{exporter.title} (*{exporter.suffix})")
        if chosen:
            self.output.setText(str(Path(chosen).with_suffix(exporter.suffix)))

    def request(self) -> ExportRequest:
        source = self.weights.currentData()
        return ExportRequest(
            graph=self.graph, format=self.format.currentData(), output=Path(self.output.text()).expanduser(),
            precision=self.precision.currentData(),
            run_id=source if source not in (UNTRAINED, WEIGHTS_FILE) else None,
            weights=self._weights_file if source == WEIGHTS_FILE else None, store=self.store_path,
            verify=self.verify.isChecked(), calibration=self.calibration.text().strip() or None)

    # -- running -------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the export with the choices shown; False when it was refused at once (the reason is shown)."""
        if self.runner.running():
            return False
        if not self.output.text().strip():
            self._show_error("Choose where to save the export.")
            return False
        self.report, self.error = None, ""
        self.result.hide()
        self.show_button.hide()
        self.bar.setValue(0)
        self.bar.show()
        self.status.setText("starting the export worker …")
        self.export_button.setEnabled(False)
        self.cancel_button.show()
        return self.runner.start(self.request())

    def _on_progress(self, fraction: float, text: str) -> None:
        self.bar.setValue(int(1000 * fraction))
        self.status.setText(text)

    def _on_finished(self, event: dict) -> None:
        self.bar.hide()
        self.cancel_button.hide()
        self.export_button.setEnabled(True)
        if event.get("event") == "result":
            self.report = ExportReport.from_json(event["report"])
            self.status.setText(f"Exported to {self.report.output}")
            self.result.setHtml(report_html(self.report))
            self.result.show()
            self.show_button.show()
            self.resize(max(self.width(), 640), max(self.height(), 520))
        else:
            self._show_error(str(event.get("error", "the export failed")))

    def _show_error(self, text: str) -> None:
        self.error = text
        self.bar.hide()
        self.status.setText(f"<b>Export failed:</b> {html.escape(text)}")

    def show_in_folder(self) -> None:
        if self.report is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.report.output).parent)))

    def reject(self) -> None:
        self.runner.cancel()
        super().reject()


def report_html(report: ExportReport) -> str:
    """The report as a small table: what was written, what was verified, how fast it runs here."""
    rows = [("File", html.escape(report.output)),
            ("Format", f"{html.escape(report.title)}, {html.escape(report.precision)}"),
            ("Size", size_text(report.size_bytes)),
            ("Weights", html.escape(_source_text(report.source))),
            ("Verification", html.escape(report.parity_text()))]
    for parity in report.parity:
        label = html.escape(str(parity.get("inputs", "inputs")))
        top1 = f", top-1 agreement {parity['top1']:.2%}" if parity.get("top1") is not None else ""
        rows.append((f"&nbsp;&nbsp;{label}", f"max |Δ| {parity['max_abs']:.3g}, mean |Δ| {parity['mean_abs']:.3g}"
                     f"{top1}"))
    if report.tolerance:
        names = {"max_abs": "max |Δ| ≤ {:g}", "mean_abs": "mean |Δ| ≤ {:g}", "top1": "top-1 ≥ {:.0%}"}
        rows.append(("Passes when", html.escape(", ".join(names.get(k, k + " {:g}").format(v)
                                                          for k, v in report.tolerance.items() if v))))
    for timing in report.latency:
        if timing.get("ratio") is None:
            continue
        busy = (f" — other programs used {timing['other_cores']:.1f} cores meanwhile, so torch's threads waited "
                "for them: measure again on an idle machine") if timing.get("busy") else ""
        rows.append((f"Latency, batch {timing['batch']}",
                     f"{timing['export_ms']:.3g} ms here vs torch eager {timing['torch_ms']:.3g} ms "
                     f"({timing['ratio']:.2f}×){html.escape(busy)}"))
    if report.seconds.get("total") is not None:
        rows.append(("Took", f"{report.seconds['total']:.1f} s"))
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in report.notes)
    return f"<table cellspacing='4'>{body}</table>" + (f"<ul>{notes}</ul>" if notes else "")


def _source_text(source: dict[str, Any]) -> str:
    return str(source.get("description") or "untrained: seeded initial weights")
