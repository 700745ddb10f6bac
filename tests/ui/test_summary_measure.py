"""The Summary's Measure button: times the graph in a worker process while the editor stays responsive, then
shows the measurement beside the estimate, with their ratio."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from neuralforge_desktop.core.analysis.calibration import save_calibration
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.measure.results import load_result
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.panels.summary import SummaryPanel

from latency_fixtures import make_calibration


def _document() -> Document:
    c = Composer("tiny-mlp")
    x = c.input("x", [8])
    h = c.layer("Linear", x, "fc1", out_features=16)
    c.output(c.layer("Linear", c.layer("ReLU", h, "act"), "fc2", out_features=2), "y")
    return Document(c.done())


@pytest.fixture
def panel(qtbot) -> SummaryPanel:
    save_calibration(make_calibration())
    panel = SummaryPanel(DocumentBridge(_document()), SelectionModel())
    panel.measure_runner()._budget = 0.2  # a short timing: this test checks the flow, not the figure
    qtbot.addWidget(panel)
    panel.resize(560, 640)
    panel.show()
    return panel


def test_measure_shows_the_measurement_beside_the_estimate(qtbot, panel: SummaryPanel, tmp_path) -> None:
    assert panel.total_text("measured") == "–"
    note = next(label.text() for label in panel.findChildren(QLabel) if label.text().startswith("Latency estimated"))
    assert "(calibrated " in note
    seen: list[str] = []
    panel.measure_runner().progress.connect(seen.append)
    qtbot.mouseClick(panel.measure_button(), Qt.MouseButton.LeftButton)
    assert panel.measure_button().text() == "Stop"  # the click returned at once: the worker runs on its own
    with qtbot.waitSignal(panel.measure_runner().finished, timeout=120_000) as blocker:
        pass
    assert blocker.args[0]["event"] == "measured", blocker.args[0]
    assert seen and panel.measure_button().text() == "Measure"
    text = panel.total_text("measured")
    result = load_result(panel._bridge.document.graph, 1)
    assert result is not None
    ratio = panel.report().latency_ms / result["forward_ms"]["median"]
    assert f"(estimate ×{ratio:.2f})" in text and ("µs" in text or "ms" in text)
    panel.grab().save(str(tmp_path / "summary-measured.png"))


def test_measure_needs_the_cpu_device(qtbot, panel: SummaryPanel) -> None:
    panel.set_device("a100")
    assert not panel.measure_button().isEnabled() and "CPU" in panel.measure_button().toolTip()
    note = next(label.text() for label in panel.findChildren(QLabel) if label.text().startswith("Latency estimated"))
    assert "spec sheet" in note and "no GPU is measured here" in note
    panel.set_device("cpu")
    assert panel.measure_button().isEnabled()
