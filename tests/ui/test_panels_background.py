"""After an edit the panels' values (cost, lint, code) are computed off the UI thread; stale ones are dropped."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis import cost, devices, lint
from neuralforge_desktop.core.analysis.devices import DeviceProfile
from neuralforge_desktop.core.codegen import pytorch
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import SetParam
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.panels import CodeView, ProblemsPanel, SummaryPanel
from neuralforge_desktop.ui.undo import EditStack


@pytest.fixture(autouse=True)
def _fake_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The summary defaults to the CPU profile: never time the real machine nor write the user data dir."""
    profile = DeviceProfile("cpu", "test CPU", {p: 0.05 for p in devices.PRECISIONS}, 0.05, 10.0, 0.8, 1.0, 2.0,
                            "test stand-in", kind="cpu", extra={"measured": True})
    monkeypatch.setattr(devices, "default_cpu_profile_path", lambda: tmp_path / "cpu_profile.json")
    monkeypatch.setattr(devices, "measure_cpu_profile", lambda: profile)
    monkeypatch.setattr(devices, "_CPU_MEMO", {})


def record_threads(monkeypatch: pytest.MonkeyPatch, module: object, name: str, seen: list[int]) -> None:
    """Note the thread each call of ``module.name`` runs in; the real function still does the work."""
    real = getattr(module, name)

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded)


def test_after_an_edit_the_panels_values_are_computed_in_another_thread(qtbot, monkeypatch) -> None:
    bridge = DocumentBridge(Document(zoo.build("mnist-cnn")))
    selection = SelectionModel()
    edits = EditStack(lambda: bridge.document)
    summary, problems, code = (SummaryPanel(bridge, selection), ProblemsPanel(bridge, selection),
                               CodeView(bridge, selection))
    for panel in (summary, problems, code):
        qtbot.addWidget(panel)
        panel.show()
    qtbot.waitUntil(lambda: "Net" in code.source() or "class" in code.source())
    seen: list[int] = []
    for module, name in ((cost, "estimate_cost"), (lint, "lint"), (pytorch, "generate_pytorch")):
        record_threads(monkeypatch, module, name, seen)

    edits.push_edit(SetParam("conv1", "out_channels", 24))
    qtbot.waitUntil(lambda: summary.report().row("conv1").output_shape == "1×24×28×28")
    qtbot.waitUntil(lambda: "nn.Conv2d(1, 24" in code.source())
    qtbot.waitUntil(lambda: bridge.document.cached(bridge.document.lint_job())[0])
    assert len(seen) >= 3  # cost, lint and code were each computed once for the new revision
    assert threading.get_ident() not in seen
    assert set(seen) <= set(bridge.background.worker_thread_ids())
    # once settled, the panels show what computing on the UI thread would show
    diagnostics = list(bridge.document.shapes.diagnostics) + bridge.document.lint()
    expected = ([("error", d.node, d.message) for d in diagnostics if d.is_error]
                + [("warning", d.node, d.message) for d in diagnostics if not d.is_error])
    assert problems.problems() == expected
    assert code.source() == bridge.document.code().source


def test_a_result_for_an_older_revision_is_dropped(qtbot) -> None:
    bridge = DocumentBridge(Document(zoo.build("mnist-cnn")))
    edits = EditStack(lambda: bridge.document)
    document = bridge.document
    arrived: list[object] = []
    old = document.cost_job(1, "cpu")
    bridge.background.request(old, arrived.append)
    # the edit comes before the UI thread hears back: whatever the worker computed is for the old graph
    edits.push_edit(SetParam("conv1", "out_channels", 24))
    qtbot.waitUntil(lambda: bridge.background.dropped == 1)
    assert arrived == []
    assert not document.cached(old)[0]
    newer = document.cost_job(1, "cpu")
    bridge.background.request(newer, arrived.append)
    qtbot.waitUntil(lambda: arrived != [])
    assert arrived[0].row("conv1").output_shape == "1×24×28×28"  # type: ignore[attr-defined]


def test_the_document_keeps_a_value_only_for_the_revision_it_was_computed_for() -> None:
    document = Document(zoo.build("mnist-cnn"))
    job = document.lint_job()
    value = job.compute()
    document.apply(SetParam("conv1", "out_channels", 24))
    assert document.accept(job, value) is False
    assert document.cached(job) == (False, None)
    current = document.lint_job()
    assert document.accept(current, current.compute()) is True
    assert document.cached(current)[0]
