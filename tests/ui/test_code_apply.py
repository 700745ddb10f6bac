"""The code view's Edit and Apply: edited PyTorch code becomes the smallest set of canvas edits, one undo step;
bad code is shown at its line and leaves the graph alone. The import runs in its own process (a real one).
Offscreen (tests/conftest.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

WAIT_MS = 30000  # the first apply starts the import process, which imports torch


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db",
                      document=Document(zoo.build("mnist-cnn")))
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    qtbot.addWidget(made)
    made.show()
    made.docks.code.show()
    made.code_view.refresh()
    yield made
    made.code_view.shutdown()
    made.close()


def _apply(qtbot, window: MainWindow, text: str) -> tuple[bool, str]:
    view = window.code_view
    view.set_code_text(text)
    with qtbot.waitSignal(view.apply_finished, timeout=WAIT_MS) as blocker:
        view.apply_code()
    return blocker.args[0], blocker.args[1]


def test_a_one_line_edit_becomes_one_undoable_param_change(qtbot, window: MainWindow) -> None:
    view = window.code_view
    graph = window.bridge.document.graph
    positions = {nid: graph.node(nid).position for nid in graph.nodes}
    view.set_editing(True)
    source = view.source()
    edited = source.replace("nn.Conv2d(32, 64, kernel_size=3", "nn.Conv2d(32, 48, kernel_size=3")
    edited = edited.replace("nn.Linear(3136, 128)", "nn.Linear(2352, 128)")
    changed, summary = _apply(qtbot, window, edited)
    assert changed and "conv2.out_channels: 64 → 48" in summary
    graph = window.bridge.document.graph
    assert graph.node("conv2").params["out_channels"] == 48
    assert {nid: graph.node(nid).position for nid in graph.nodes} == positions  # nothing moved, nothing renamed
    assert "nn.Conv2d(32, 48" in view.text()  # the view shows the graph's code again
    window.edits.undo()  # one step back: the graph as it was
    assert window.bridge.document.graph.node("conv2").params["out_channels"] == 64
    assert window.edits.count() == 1


def test_a_syntax_error_is_shown_at_its_line_and_changes_nothing(qtbot, window: MainWindow) -> None:
    view = window.code_view
    view.set_editing(True)
    lines = view.source().split("\n")
    at = next(i for i, line in enumerate(lines) if "self.fc2 = nn.Linear" in line)
    lines[at] = lines[at].replace("nn.Linear(128, 10)", "nn.Linear(128, 10")
    before = window.edits.count()
    changed, message = _apply(qtbot, window, "\n".join(lines))
    assert not changed and "SyntaxError" in message
    assert view.error_line() in (at + 1, at + 2)  # Python points at the line or the next one
    assert "canvas is unchanged" in view.note()
    assert window.edits.count() == before
    assert window.bridge.document.graph.node("fc2").params.get("out_features") == 10


def test_file_import_opens_the_imported_graph_laid_out(qtbot, window: MainWindow, tmp_path) -> None:
    from pathlib import Path

    models = Path(__file__).parents[1] / "importers" / "models.py"
    dialog = window.files.import_code()
    dialog.choose(models, "DataDependent", "x=4")
    assert dialog.model.findText("ResidualNet") >= 0  # the file's classes, read without running it
    dialog.output.setText(str(tmp_path / "dd.nfg"))
    with qtbot.waitSignal(dialog._worker.replied, timeout=WAIT_MS):
        dialog.start()
    graph = window.bridge.document.graph
    assert window.bridge.document.path == tmp_path / "dd.nfg"
    assert graph.node("gate").type == "CustomCode" and (tmp_path / "dd.safetensors").is_file()
    assert "custom code 'gate'" in dialog.report.toPlainText()
    dialog.close()


def test_file_import_takes_an_onnx_file(qtbot, window: MainWindow, tmp_path) -> None:
    import torch

    class Small(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(6, 3)

        def forward(self, x):
            return torch.relu(self.fc(x))

    onnx_file = tmp_path / "small.onnx"
    torch.onnx.export(Small().eval(), (torch.randn(2, 6),), str(onnx_file), dynamo=False,
                      input_names=["x"], dynamic_axes={"x": {0: "N"}})
    dialog = window.files.import_code()
    dialog.choose(onnx_file)
    assert not dialog.model.isEnabled()  # the file is the model, and carries its input shapes
    with qtbot.waitSignal(dialog._worker.replied, timeout=WAIT_MS):
        dialog.start()
    graph = window.bridge.document.graph
    assert window.bridge.document.path == tmp_path / "small.nfg"
    assert sorted(n.type for n in graph) == ["Input", "Linear", "Output", "ReLU"]
    dialog.close()
