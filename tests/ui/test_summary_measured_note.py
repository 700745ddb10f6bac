"""The Summary panel says when this computer's CPU was measured for its latency estimate, and that the quick
measurement is only a rough roofline until the CPU is calibrated."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis import devices
from neuralforge_desktop.core.analysis.devices import DeviceProfile
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.panels.summary import SummaryPanel


def test_summary_note_says_when_the_cpu_was_measured(qtbot, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    measured_at = time.mktime((2026, 11, 30, 9, 15, 0, 0, 0, -1))
    profile = DeviceProfile("cpu", "this computer's CPU (2 logical cores)", {p: 0.05 for p in devices.PRECISIONS},
                            0.05, 10.0, 0.8, 1.0, 2.0, "test stand-in", kind="cpu",
                            extra={"measured": True, "measured_at": measured_at, "load_average": 0.1})
    monkeypatch.setattr(devices, "default_cpu_profile_path", lambda: tmp_path / "cpu_profile.json")
    monkeypatch.setattr(devices, "measure_cpu_profile", lambda: profile)
    monkeypatch.setattr(devices, "_CPU_MEMO", {})
    panel = SummaryPanel(DocumentBridge(Document(zoo.build("mnist-cnn"))), SelectionModel())
    qtbot.addWidget(panel)
    panel.resize(520, 640)
    panel.show()

    def note() -> str:
        return next((label.text() for label in panel.findChildren(QLabel)
                     if label.text().startswith("Latency estimated for")), "")

    qtbot.waitUntil(lambda: "measured" in note())
    assert ("this computer's CPU (2 logical cores) (measured 2026-11-30 09:15: a rough roofline until this CPU is "
            "calibrated)") in note()
