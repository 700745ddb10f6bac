"""File ▸ Export Diagram: where to write the picture and how to draw it (layout, background, colours, scale,
shapes). The choices are remembered for the next export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.canvas.export import (
    FORMATS,
    MAX_SCALE,
    ExportError,
    ExportOptions,
    check_target,
)
from neuralforge_desktop.ui.settings import Settings
from neuralforge_desktop.ui.theme import roles

LAYOUT_CHOICES = (
    ("wrapped", "Wrapped rows (fits a slide or a page)"),
    ("horizontal", "Left to right, one row"),
    ("vertical", "Top to bottom, one column"),
    ("canvas", "As arranged on the canvas"),
)
BACKGROUND_CHOICES = (("white", "White"), ("theme", "The canvas theme's"), ("transparent", "Transparent"))
THEME_CHOICES = (("", "Automatic (light on white or transparent)"), ("light", "Light"), ("dark", "Dark"))
FILE_FILTER = ";;".join(f"{name} (*{suffix})" for suffix, name in FORMATS.items())


def _select(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


class ExportDialog(QDialog):
    """Modal; read :meth:`target` and :meth:`options` after it is accepted. A bad file name is reported
    in the dialog, which stays open."""

    def __init__(self, suggested: Path, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export diagram")
        self.settings = settings
        choices = settings.export_choices()
        folder = Path(choices.get("folder", "")) if choices.get("folder") else suggested.parent
        self.path = QLineEdit(str(folder / suggested.name))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(browse)
        self.layout_choice = self._combo(LAYOUT_CHOICES, choices.get("layout", "wrapped"))
        self.background = self._combo(BACKGROUND_CHOICES, choices.get("background", "white"))
        self.theme = self._combo(THEME_CHOICES, choices.get("theme", ""))
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.5, MAX_SCALE)
        self.scale.setSingleStep(0.5)
        self.scale.setDecimals(1)
        self.scale.setSuffix("×")
        try:
            self.scale.setValue(float(choices.get("scale", "2")))
        except ValueError:
            self.scale.setValue(2.0)
        self.dpi = QLabel()
        self.scale.valueChanged.connect(self._show_dpi)
        scale_row = QHBoxLayout()
        scale_row.addWidget(self.scale)
        scale_row.addWidget(self.dpi, 1)
        self.shapes = QCheckBox("Show the tensor shape on every wire")
        self.shapes.setChecked(choices.get("shapes", "true").lower() != "false")
        form = QFormLayout()
        form.addRow("File", where)
        form.addRow("Layout", self.layout_choice)
        form.addRow("Background", self.background)
        form.addRow("Colours", self.theme)
        form.addRow("Scale (PNG)", scale_row)
        form.addRow("", self.shapes)
        self.problem = QLabel()
        self.problem.setStyleSheet(f"color: {roles(settings.theme).error};")
        self.problem.setWordWrap(True)
        self.problem.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        note = QLabel("The diagram is drawn from a copy of the graph in full detail, whatever the canvas's zoom; "
                      "a new layout never moves your nodes.")
        note.setWordWrap(True)
        note.setProperty("role", "hint")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self._show_dpi()
        self.resize(560, self.sizeHint().height())

    def _combo(self, choices: tuple[tuple[str, str], ...], current: str) -> QComboBox:
        combo = QComboBox()
        for value, text in choices:
            combo.addItem(text, value)
        _select(combo, current)
        return combo

    def _show_dpi(self) -> None:
        self.dpi.setText(f"= {96 * self.scale.value():.0f} dpi")

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export diagram", self.path.text(), FILE_FILTER)
        if path:
            self.path.setText(path)

    def target(self) -> Path:
        text = self.path.text().strip()
        target = Path(text).expanduser()
        return target if target.suffix else target.with_suffix(".png")

    def options(self) -> ExportOptions:
        return ExportOptions(scale=self.scale.value(), background=self.background.currentData(),
                             shapes=self.shapes.isChecked(), layout=self.layout_choice.currentData(),
                             theme=self.theme.currentData() or None)

    def accept(self) -> None:  # Qt names this
        try:
            if not self.path.text().strip():
                raise ExportError("give the file to write")
            check_target(self.target())
            self.options()
        except ExportError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        self.settings.save_export_choices({
            "layout": self.layout_choice.currentData(), "background": self.background.currentData(),
            "theme": self.theme.currentData(), "scale": f"{self.scale.value():g}",
            "shapes": "true" if self.shapes.isChecked() else "false", "folder": str(self.target().parent)})
        super().accept()
