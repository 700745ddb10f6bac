"""The Coach panel under the Train panel, offscreen: coach events list findings; Fix is one undo step (Undo
restores the graph exactly) or a change of the train form; Retrain starts a run linked to its parent."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.serialize import dumps, load_graph
from neuralforge_desktop.core.training.coach.findings import Finding
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.events import StepEvent, event_from_json
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings
from neuralforge_desktop.ui.training import CoachPanel, TrainPanel
from neuralforge_desktop.ui.training.coach_panel import finding_of
from neuralforge_desktop.ui.undo import EditStack


def softmax_cnn() -> Any:
    """A small CNN for the 8×8 digits whose scores pass through a Softmax before the cross-entropy."""
    c = Composer("softmax-cnn")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Conv2d", x, "conv1", out_channels=4, kernel_size=3, padding=1)
    x = c.layer("Sigmoid", x, "act")
    x = c.layer("Flatten", x, "flat")
    logits = c.layer("Linear", x, "fc", out_features=10)
    probs = c.layer("Softmax", logits, "softmax", dim=1)
    c.output(probs, "probs")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": probs, "target": label}, "loss")
    return c.done()


def coach_event(finding: dict[str, Any], run_id: str = "r1") -> Any:
    """A ``coach`` event as the worker writes it, decoded as this build decodes it."""
    return event_from_json({"event": "coach", "run_id": run_id, "time": 1.0, "finding": finding})


def finding(kind: str, severity: str, title: str, fix: dict[str, Any] | None, layer: str | None = None,
            series: dict[str, list[list[float]]] | None = None, numbers: dict[str, float] | None = None) -> dict:
    return {"kind": kind, "severity": severity, "title": title, "explanation": f"{title}: why it matters.",
            "evidence": {"layer": layer, "numbers": numbers or {}, "series": series or {}}, "fix": fix, "step": 40}


SOFTMAX = finding("softmax_before_cross_entropy", "error", "Softmax before cross-entropy",
                  {"kind": "graph", "action": "remove_node", "label": "Remove softmax", "args": {"node": "softmax"}},
                  layer="softmax")
SATURATED = finding("saturated_activations", "warning", "Sigmoid saturates",
                    {"kind": "graph", "action": "replace_type", "label": "Use ReLU",
                     "args": {"node": "act", "type": "ReLU"}}, layer="act", numbers={"saturated_fraction": 0.93})
DIVERGING = [[s, 2.3 * math.exp(s / 60) + 0.1 * math.sin(s)] for s in range(0, 241, 10)]
LR_HIGH = finding("lr_too_high", "error", "Learning rate too high",
                  {"kind": "config", "action": "set_config", "label": "Set lr to 0.001", "args": {"lr": 0.001}},
                  series={"train/loss_step": DIVERGING}, numbers={"lr": 0.1, "loss_growth": 12.7})
CLIP = finding("exploding_gradients", "warning", "Gradients explode",
               {"kind": "config", "action": "set_config", "label": "Clip gradients at 1",
                "args": {"grad_clip": 1.0}}, layer="fc", series={"fc grad norm": [[0, 1.0], [10, 80.0], [20, 4e3]]})


@dataclass
class TrainDock:
    """The Train dock's contents as the window builds them: a train panel, the Coach under it, one undo stack."""

    bridge: DocumentBridge
    edits: EditStack
    train_panel: TrainPanel
    coach_panel: CoachPanel


@pytest.fixture
def dock(qtbot: Any, tmp_path: Path) -> TrainDock:
    bridge = DocumentBridge(Document(softmax_cnn()))
    edits = EditStack(lambda: bridge.document)
    train = TrainPanel(bridge, tmp_path / "store.db", push_edit=edits.push_edit)
    coach = CoachPanel(train, bridge, push_edit=edits.push_edit)
    qtbot.addWidget(train)
    qtbot.addWidget(coach)
    coach.resize(900, 400)
    coach.show()
    return TrainDock(bridge, edits, train, coach)


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Any:
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(softmax_cnn()),
                     store_path=tmp_path / "store.db")
    win.resize(1400, 950)
    win.show()
    qtbot.waitExposed(win)
    win.show_training()
    yield win
    win.files.ask_save_changes = lambda: "discard"
    win.close()
    win.deleteLater()


def test_coach_events_list_findings_most_severe_first(dock: TrainDock) -> None:
    coach = dock.coach_panel
    coach.show_findings("r1", [])
    assert not coach.fix_button.isEnabled() and coach.findings.count() == 0
    coach.add_event(StepEvent(run_id="r1", time=0.0, epoch=1, step=1, loss=2.0))  # not the Coach's
    coach.add_event(coach_event(SATURATED))
    coach.add_event(coach_event(SOFTMAX))
    coach.add_event(coach_event(SATURATED))  # the same finding again: listed once
    assert [f.kind for f in coach.finding_list()] == ["softmax_before_cross_entropy", "saturated_activations"]
    assert "Softmax before cross-entropy" in coach.findings.item(0).text()
    assert "act" in coach.findings.item(1).text()
    assert "2 findings" in coach.heading.text()
    coach.findings.setCurrentRow(1)
    assert "saturated_fraction: 0.93" in coach.numbers.text() and "layer: act" in coach.numbers.text()
    assert coach.fix_button.text() == "Fix: Use ReLU"


def test_a_coach_event_reads_the_finding_as_a_typed_or_an_unknown_event() -> None:
    event = coach_event(SOFTMAX)
    assert event.kind == "coach"
    assert finding_of(event) == Finding.from_json(SOFTMAX)
    assert finding_of(StepEvent(run_id="r", time=0.0, epoch=1, step=1, loss=1.0)) is None


def test_a_graph_fix_is_one_undo_step_and_undo_restores_the_graph(dock: TrainDock) -> None:
    coach = dock.coach_panel
    document = dock.bridge.document
    before = dumps(document.graph)
    coach.show_findings("r1", [Finding.from_json(SOFTMAX), Finding.from_json(SATURATED)])
    depth = dock.edits.count()
    coach.findings.setCurrentRow(0)
    assert coach.apply_fix()
    assert dock.edits.count() == depth + 1 and dock.edits.undoText() == "Remove softmax"
    assert "softmax" not in document.graph.nodes and document.shapes.errors == []
    assert document.graph.edge_into("loss", "input").src == "fc"
    assert "Fixed" in coach.status.text()
    dock.edits.undo()
    assert dumps(document.graph) == before
    coach.findings.setCurrentRow(1)
    assert coach.apply_fix()
    assert document.graph.node("act").type == "ReLU" and dock.edits.count() == depth + 1
    dock.edits.undo()
    assert dumps(document.graph) == before


def test_a_fix_that_no_longer_applies_says_so(dock: TrainDock) -> None:
    coach = dock.coach_panel
    stale = dict(SOFTMAX, fix={"kind": "graph", "action": "remove_node", "label": "Remove", "args": {"node": "gone"}})
    coach.show_findings("r1", [Finding.from_json(stale)])
    depth = dock.edits.count()
    assert not coach.apply_fix()
    assert "'gone'" in coach.status.text() and dock.edits.count() == depth


def test_a_fix_inside_a_block_is_one_undo_step(qtbot: Any, dock: TrainDock) -> None:
    dock.bridge.set_document(Document(zoo.build("mobilenet-v2")))
    document = dock.bridge.document
    before = dumps(document.graph)
    coach = dock.coach_panel
    coach.show_findings("r1", [Finding.from_json(finding(
        "dead_relu", "warning", "ReLU6 dead", {"kind": "graph", "action": "replace_type", "label": "Use ReLU",
                                               "args": {"node": "stem/relu6", "type": "ReLU"}}, layer="stem/relu6"))])
    assert coach.apply_fix()
    assert document.graph.node("stem").body.node("relu6").type == "ReLU" and document.shapes.errors == []
    assert document.dirty
    dock.edits.undo()
    assert dumps(document.graph) == before


def test_a_settings_fix_changes_the_train_form(dock: TrainDock) -> None:
    coach, train = dock.coach_panel, dock.train_panel
    train.lr.setValue(0.1)
    coach.show_findings("r1", [Finding.from_json(LR_HIGH), Finding.from_json(CLIP)])
    depth = dock.edits.count()
    coach.findings.setCurrentRow(0)
    assert coach.apply_fix()
    assert train.lr.value() == pytest.approx(0.001) and train.config().lr == pytest.approx(0.001)
    assert dock.edits.count() == depth and not coach.settings_line.isVisible()
    coach.findings.setCurrentRow(1)  # the form has no gradient-clipping field: kept for the next Start
    assert coach.apply_fix()
    assert train.config().grad_clip == 1.0 and train.extra_settings == {"grad_clip": 1.0}
    assert "grad_clip = 1.0" in coach.settings_line.text() and coach.settings_line.isVisible()
    coach.clear_settings.click()
    assert train.config().grad_clip is None and not coach.settings_line.isVisible()


def test_the_evidence_series_is_plotted(dock: TrainDock, tmp_path: Path) -> None:
    coach = dock.coach_panel
    coach.show_findings("r1", [Finding.from_json(LR_HIGH)])
    items = coach.plot.getPlotItem().listDataItems()
    assert len(items) == 1
    xs, ys = items[0].getData()
    assert list(xs) == [p[0] for p in DIVERGING] and ys[-1] == pytest.approx(DIVERGING[-1][1])
    assert "loss_growth: 12.7" in coach.numbers.text()
    coach.grab().save(str(tmp_path / "coach-finding.png"))


@pytest.mark.slow
def test_retrain_starts_a_run_linked_to_its_parent_and_compares_them(qtbot: Any, window: Any) -> None:
    from neuralforge_desktop.core.training.runner import prepare_run

    train, coach = window.train_panel, window.coach_panel
    config = TrainConfig(dataset="digits", epochs=1, batch_size=32, lr=3e-3, limit=200, seed=1)
    train.set_config(config)
    parent, _ = prepare_run(window.bridge.document.graph, config, train.store(), "default", "parent")
    coach.show_findings(parent, [Finding.from_json(SOFTMAX)])
    assert coach.apply_fix()
    with qtbot.waitSignal(train.run_finished, timeout=120_000) as finished:
        assert coach.retrain()
    child, status = finished.args
    assert status == "finished", train.last_error
    tags = train.store().get_run(child).tags
    assert tags["parent_run"] == parent and tags["coach_fix"] == "remove_node"
    assert tags["coach_finding"] == "softmax_before_cross_entropy"
    assert train.next_run_tags == {}
    assert coach.compare_button.isEnabled() and coach.compare_button.isVisible()
    coach.compare_button.click()
    assert sorted(window.runs_panel.selected_run_ids()) == sorted([parent, child])
    runs = Path(train.store().path).parent / "runs"
    assert "softmax" not in load_graph(runs / child / "graph.nfg").nodes  # the retrain trained the fixed graph
    assert "softmax" in load_graph(runs / parent / "graph.nfg").nodes


def test_a_run_picked_in_the_runs_dock_shows_its_saved_findings(window: Any) -> None:
    import json

    from neuralforge_desktop.core.training.runner import prepare_run

    train = window.train_panel
    config = TrainConfig(dataset="digits", epochs=1, batch_size=32, lr=3e-3, limit=200, seed=1)
    run, folder = prepare_run(window.bridge.document.graph, config, train.store(), "default", "earlier")
    (folder / "coach.json").write_text(json.dumps({"findings": [LR_HIGH, SOFTMAX], "not_applied": []}))
    other, _ = prepare_run(window.bridge.document.graph, config, train.store(), "default", "no coach file")
    window.show_runs()
    window.runs_panel.refresh()
    window.runs_panel.select_runs([run])
    assert window.coach_panel.run_id == run
    assert {f.kind for f in window.coach_panel.finding_list()} == {"lr_too_high", "softmax_before_cross_entropy"}
    window.runs_panel.select_runs([other])
    assert window.coach_panel.run_id == other and window.coach_panel.finding_list() == []


def test_the_train_form_chooses_the_diagnostics_level(dock: TrainDock) -> None:
    train = dock.train_panel
    assert train.config().diagnostics == "basic"  # the default: cheap statistics for the Coach
    train.diagnostics.setCurrentText("full")
    assert train.config().diagnostics == "full"
    train.set_config(TrainConfig(dataset="digits", diagnostics="off"))
    assert train.diagnostics.currentText() == "off" and train.config().diagnostics == "off"
