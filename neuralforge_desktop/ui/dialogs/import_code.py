"""File ▸ Import Model: a model in the user's Python file, an ONNX file or a Keras file → an editable graph,
opened on the canvas.

The same import as ``neuralforge import``, run in the import process (the user's code never runs in the UI
process): the graph and its weights are written beside each other, then the graph opens laid out for this
canvas, and the report says what became layers, blocks and custom code.
"""

from __future__ import annotations

import ast
import html
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.panels.code_apply import CodeApplier


def model_names(path: Path) -> list[str]:
    """Top-level classes and functions of a Python file, read without running it (classes first)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name != "example_input"
                 and not n.name.startswith("_")]
    return classes + functions


class ImportCodeDialog(QDialog):
    """Choose the file, the model in it, its input shapes and where the graph goes; Import runs it."""

    def __init__(self, start_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import model")
        self.setObjectName("import_code_dialog")
        self.written: Path | None = None
        self.error = ""
        self._start = start_dir
        self.file = QLineEdit(self)
        self.file.setPlaceholderText("path/to/model.py, model.onnx or model.keras")
        self.file.editingFinished.connect(self._file_chosen)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        self.model = QComboBox(self)
        self.model.setEditable(True)
        self.model.setToolTip("An nn.Module class (constructed without arguments) or a function returning a module")
        self.inputs = QLineEdit(self)
        self.inputs.setPlaceholderText("x=3,32,32; tokens=20:int64  (empty: the file's example_input())")
        self.inputs.setToolTip("Each forward argument's shape per example, batch excluded")
        self.output = QLineEdit(self)
        self.output.setToolTip("The graph file to write; its weights go beside it as .safetensors")
        form = QFormLayout()
        form.addRow("Model file", row)
        form.addRow("Model", self.model)
        form.addRow("Input shapes", self.inputs)
        form.addRow("Save graph as", self.output)
        self.report = QTextBrowser(self)
        self.report.setMinimumHeight(120)
        self.run = QPushButton("Import", self)
        self.run.setDefault(True)
        self.run.clicked.connect(self.start)
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.run)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.report, 1)
        layout.addLayout(buttons)
        self.resize(640, 380)
        self._worker = CodeApplier(self)
        self._worker.replied.connect(self._done)
        self._worker.failed.connect(self._failed)
        self.finished.connect(lambda _code: self._worker.stop())

    def choose(self, path: str | Path, model: str = "", inputs: str = "") -> None:
        """Fill the form (as a user would)."""
        self.file.setText(str(path))
        self._file_chosen()
        if model:
            self.model.setCurrentText(model)
        self.inputs.setText(inputs)

    def start(self) -> None:
        path = Path(self.file.text().strip())
        name = self.model.currentText().strip()
        whole_file = path.suffix.lower() in (".onnx", ".keras")  # the file is the model
        if not path.is_file() or not (name or whole_file):
            self._failed("Choose a model file (.py with the model's name, .onnx or .keras).", 0)
            return
        inputs = [part.strip() for part in self.inputs.text().split(";") if part.strip()]
        output = self.output.text().strip() or str(path.with_suffix(".nfg"))
        self.run.setEnabled(False)
        self.report.setHtml("Importing… (the first import starts the import process, which loads PyTorch)")
        self._worker.send({"import": str(path) if whole_file else f"{path}:{name}", "inputs": inputs,
                           "output": output})

    def _done(self, reply: dict[str, object]) -> None:
        self.run.setEnabled(True)
        self.written = Path(str(reply["written"]))
        lines = [html.escape(str(line)) for line in reply.get("report", []) or []]  # type: ignore[union-attr]
        self.report.setHtml("<br>".join(lines) + f"<br><b>Wrote {html.escape(str(self.written))}</b> and its "
                            "weights beside it; it is open on the canvas.")
        self.accept_result()

    def accept_result(self) -> None:
        """Hook the window sets: open what was written."""

    def _failed(self, message: str, line: int) -> None:
        self.run.setEnabled(True)
        self.error = message
        self.report.setHtml(f"<span style='color:#e06c75'>{html.escape(message)}</span>")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A model to import", str(self._start),
                                              "Models (*.py *.onnx *.keras);;Python (*.py);;ONNX (*.onnx)")
        if path:
            self.choose(path)

    def _file_chosen(self) -> None:
        path = Path(self.file.text().strip())
        names = model_names(path) if path.is_file() and path.suffix == ".py" else []
        self.model.setEnabled(path.suffix == ".py")
        self.inputs.setEnabled(path.suffix == ".py")  # ONNX and Keras files carry their input shapes
        current = self.model.currentText()
        self.model.clear()
        self.model.addItems(names)
        if current in names:
            self.model.setCurrentText(current)
        if path.suffix in (".py", ".onnx", ".keras") and not self.output.text().strip():
            self.output.setText(str(path.with_suffix(".nfg")))
