"""Dock panels against real documents (zoo models), offscreen."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis import devices
from neuralforge_desktop.core.analysis.devices import DeviceProfile
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import AddNode, Connect, Disconnect, SetNodeText, SetParam
from neuralforge_desktop.core.ir.graph import Graph, Node
from neuralforge_desktop.ui.bridge import LAYER_MIME, DocumentBridge, SelectionModel
from neuralforge_desktop.ui.panels import CodeView, Inspector, Palette, ProblemsPanel, SummaryPanel
from neuralforge_desktop.ui.panels.param_widgets import (
    BoolField,
    ChoiceField,
    FloatField,
    IntField,
    TextField,
    check_text,
    parse_text,
)
from neuralforge_desktop.ui.panels.summary import PATH_ROLE, human_bytes
from neuralforge_desktop.ui.panels.timing import AFTER_CANVAS_MS
from neuralforge_desktop.ui.undo import EditStack


@pytest.fixture(autouse=True)
def _fake_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The summary defaults to the CPU profile: never time the real machine nor write the user data dir."""
    profile = DeviceProfile("cpu", "test CPU", {p: 0.05 for p in devices.PRECISIONS}, 0.05, 10.0, 0.8, 1.0, 2.0,
                            "test stand-in", kind="cpu", extra={"measured": True})
    monkeypatch.setattr(devices, "default_cpu_profile_path", lambda: tmp_path / "cpu_profile.json")
    monkeypatch.setattr(devices, "measure_cpu_profile", lambda: profile)
    monkeypatch.setattr(devices, "_CPU_MEMO", {})


class Env:
    def __init__(self, graph: Graph) -> None:
        self.bridge = DocumentBridge(Document(graph))
        self.selection = SelectionModel()
        self.edits = EditStack(lambda: self.bridge.document)

    @property
    def document(self) -> Document:
        return self.bridge.document


def env(name: str = "mnist-cnn") -> Env:
    return Env(zoo.build(name))


# -- palette -----------------------------------------------------------------------------------------------
def test_palette_simplified_and_show_all(qtbot) -> None:
    palette = Palette()
    qtbot.addWidget(palette)
    simple = [layer.type for layer in catalog() if layer.simple]
    assert not palette.show_all()
    assert sorted(palette.visible_types()) == sorted(simple)
    for essential in ("Input", "Linear", "Conv2d", "MaxPool2d", "Flatten", "LSTM", "Dropout", "ReLU", "Sigmoid",
                      "Tanh", "Softmax", "Output", "CrossEntropyLoss"):
        assert essential in palette.visible_types()
    palette.set_show_all(True)
    assert palette.show_all()
    assert sorted(palette.visible_types()) == sorted(catalog().types())
    plugin_layers = [layer for layer in catalog() if layer.plugin]
    assert plugin_layers, "the example plugin is installed by the setup script"
    for layer in plugin_layers:  # plugin entries are marked, and say they are code run by the user's consent
        assert "plugin" in palette.item_for(layer.type).text(0)
        assert "runs with your permissions" in palette.item_for(layer.type).toolTip(0)
    assert "plugin" not in palette.item_for("Conv2d").text(0)
    item = palette.item_for("Conv2d")
    tip = item.toolTip(0)
    assert "filters" in tip and "⋆" in tip  # description and math


def test_palette_search(qtbot) -> None:
    palette = Palette()
    qtbot.addWidget(palette)
    palette.set_show_all(True)
    palette.set_search_text("pool")
    found = palette.visible_types()
    assert "MaxPool2d" in found and "AdaptiveAvgPool2d" in found and "Conv2d" not in found
    palette.set_search_text("max pool")  # every word must match
    assert "MaxPool2d" in palette.visible_types() and "AvgPool2d" not in palette.visible_types()
    palette.set_show_all(False)
    palette.set_search_text("gelu")
    assert palette.visible_types() == []
    palette.set_search_text("")
    assert len(palette.visible_types()) == sum(1 for layer in catalog() if layer.simple)


def test_palette_drag_mime_and_activation(qtbot) -> None:
    palette = Palette()
    qtbot.addWidget(palette)
    tree = palette.tree()
    item = palette.item_for("Conv2d")
    mime = tree.mimeData([item])
    assert mime.hasFormat(LAYER_MIME)
    assert bytes(mime.data(LAYER_MIME)).decode() == "Conv2d"
    assert tree.mimeData([item.parent()]) is None  # a category heading is not a layer
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    tree.setCurrentItem(item)
    with qtbot.waitSignal(palette.layer_activated) as blocker:
        qtbot.keyClick(tree, Qt.Key.Key_Return)
    assert blocker.args == ["Conv2d"]
    with qtbot.waitSignal(palette.layer_activated) as blocker:
        tree.itemDoubleClicked.emit(palette.item_for("ReLU"), 0)
    assert blocker.args == ["ReLU"]


# -- parsing -----------------------------------------------------------------------------------------------
def test_param_text_parsing() -> None:
    conv = catalog().get("Conv2d")
    kernel = conv.param_spec("kernel_size")
    assert parse_text(kernel, "3") == 3
    assert parse_text(kernel, "3, 5") == [3, 5]
    assert parse_text(kernel, "(3, 5)") == [3, 5]
    assert check_text(kernel, "0")[1] == "must be ≥ 1, got 0"
    assert check_text(kernel, "3, 3, 3")[1] == "expected 2 values, got 3"
    assert "whole number" in check_text(kernel, "a")[1]
    shape = catalog().get("Input").param_spec("shape")
    assert parse_text(shape, "[1, 28, 28]") == [1, 28, 28]
    assert parse_text(shape, "T, 512") == ["T", 512]
    stride = catalog().get("MaxPool2d").param_spec("stride")
    assert parse_text(stride, "") is None  # optional: empty means "automatic"


# -- inspector ---------------------------------------------------------------------------------------------
def make_inspector(qtbot, e: Env) -> Inspector:
    inspector = Inspector(e.bridge, e.selection, e.edits)
    qtbot.addWidget(inspector)
    inspector.resize(380, 700)
    inspector.show()
    return inspector


def test_inspector_builds_widgets_from_schema(qtbot) -> None:
    e = env()
    inspector = make_inspector(qtbot, e)
    assert inspector.fields == {}
    e.selection.set(["conv1"])
    fields = inspector.fields
    assert isinstance(fields["out_channels"], IntField)
    assert fields["out_channels"].spin.minimum() == 1
    assert fields["out_channels"].spin.value() == 32
    assert isinstance(fields["kernel_size"], TextField) and fields["kernel_size"].line.text() == "3"
    assert isinstance(fields["bias"], BoolField) and fields["bias"].box.isChecked()
    assert fields["dilation"].spec.advanced and not fields["dilation"].isVisibleTo(inspector)  # under "More"
    assert fields["out_channels"].editor.toolTip() == "number of filters (output channels)"
    e.selection.set(["loss"])
    reduction = inspector.fields["reduction"]
    assert isinstance(reduction, ChoiceField)
    assert [reduction.combo.itemText(i) for i in range(reduction.combo.count())] == ["mean", "sum", "none"]
    assert isinstance(inspector.fields["label_smoothing"], FloatField)
    assert inspector.fields["label_smoothing"].spin.maximum() == 1.0
    reduction.combo.activated.emit(1)
    assert e.document.graph.nodes["loss"].params["reduction"] == "sum"
    e.selection.set(["dropout"])
    assert inspector.fields["p"].spin.maximum() == 1.0


def test_inspector_edit_pushes_one_set_param_and_shapes_follow(qtbot) -> None:
    e = env()
    inspector = make_inspector(qtbot, e)
    e.selection.set(["conv1"])
    field = inspector.fields["out_channels"]
    field.spin.setValue(16)
    assert e.edits.count() == 1
    assert e.document.shapes.spec("conv1").shape == ("N", 16, 28, 28)
    kernel = inspector.fields["kernel_size"]
    kernel.line.setText("5, 5")
    kernel.line.editingFinished.emit()
    assert e.edits.count() == 2
    assert e.document.graph.nodes["conv1"].params["kernel_size"] == [5, 5]
    assert e.document.shapes.spec("conv1").shape == ("N", 16, 26, 26)
    e.edits.undo()
    e.edits.undo()
    assert field.spin.value() == 32 and kernel.line.text() == "3"  # the form follows undo
    assert inspector.fields["out_channels"] is field  # updated in place, not rebuilt


def test_inspector_invalid_value_is_shown_inline_and_not_pushed(qtbot) -> None:
    e = env()
    inspector = make_inspector(qtbot, e)
    e.selection.set(["conv1"])
    kernel = inspector.fields["kernel_size"]
    for text, message in (("0", "must be ≥ 1"), ("abc", "not a whole number"), ("3, 3, 3", "expected 2 values")):
        kernel.line.setText(text)
        kernel.line.textEdited.emit(text)
        kernel.line.editingFinished.emit()
        assert message in kernel.error()
        assert kernel._message.isVisibleTo(inspector) and message in kernel._message.text()
        assert "border" in kernel.line.styleSheet()
    assert e.edits.count() == 0
    assert e.document.graph.nodes["conv1"].params["kernel_size"] == 3
    kernel.line.setText("3, 3")  # the same value as before: still nothing to push
    kernel.line.textEdited.emit("3, 3")
    kernel.line.editingFinished.emit()
    assert kernel.error() is None and e.edits.count() == 0


def test_inspector_rename_label_notes_trainable(qtbot) -> None:
    e = env()
    inspector = make_inspector(qtbot, e)
    e.selection.set(["conv1"])
    inspector._id_edit.setText("1bad")
    inspector._id_edit.editingFinished.emit()
    assert "conv1" in e.document.graph.nodes and inspector._id_error.isVisibleTo(inspector)
    inspector._id_edit.setText("relu1")
    inspector._id_edit.editingFinished.emit()
    assert "already exists" in inspector._id_error.text()
    inspector._id_edit.setText("first_conv")
    inspector._id_edit.editingFinished.emit()
    assert "first_conv" in e.document.graph.nodes and "conv1" not in e.document.graph.nodes
    assert e.selection.current == "first_conv" and inspector.node_id() == "first_conv"
    assert not inspector._id_error.isVisibleTo(inspector)
    inspector._label_edit.setText("First conv")
    inspector._label_edit.editingFinished.emit()
    inspector._trainable.setChecked(False)
    node = e.document.graph.nodes["first_conv"]
    assert node.label == "First conv" and node.trainable is False
    assert e.edits.count() == 3
    e.edits.undo()
    e.edits.undo()
    e.edits.undo()  # undoing the rename: the inspector follows the node back to its old id
    assert e.selection.current == "conv1" and inspector.node_id() == "conv1"


def test_inspector_refreshes_only_for_its_node(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    e = env()
    inspector = make_inspector(qtbot, e)
    e.selection.set(["conv1"])
    calls: list[int] = []
    original = inspector.refresh
    monkeypatch.setattr(inspector, "refresh", lambda: (calls.append(1), original()))
    e.edits.push_edit(SetParam("conv2", "out_channels", 16))  # downstream of conv1: conv1 is not affected
    assert calls == []
    e.edits.push_edit(SetNodeText("conv1", "notes", "try 5×5"))
    assert calls == [1] and inspector._notes_edit.toPlainText() == "try 5×5"


def test_inspector_keeps_focus_while_typing(qtbot) -> None:
    e = env()
    inspector = make_inspector(qtbot, e)
    e.selection.set(["conv1"])
    inspector.activateWindow()
    kernel = inspector.fields["kernel_size"]
    kernel.line.setFocus()
    qtbot.waitUntil(kernel.line.hasFocus, timeout=2000)
    kernel.line.setText("5, ")  # half typed
    e.edits.push_edit(SetParam("conv1", "out_channels", 8))  # a change from elsewhere (the canvas)
    assert inspector.fields["kernel_size"] is kernel and kernel.line.hasFocus()
    assert kernel.line.text() == "5, "
    assert inspector.fields["out_channels"].spin.value() == 8


def test_inspector_hints_and_errors(qtbot) -> None:
    e = env("resnet18")
    inspector = make_inspector(qtbot, e)
    e.edits.push_edit(SetParam("conv1", "bias", True))
    e.selection.set(["conv1"])
    texts = [text for _, text in inspector.messages()]
    assert any("bias" in t and "BatchNorm2d" in t for t in texts)
    e.selection.set(["layer2"])  # a block: repeat and a body summary
    assert "repeat" in inspector.fields
    assert "2× Block" in inspector._body_label.text()

    e = env()
    inspector = make_inspector(qtbot, e)
    e.edits.push_edit(SetParam("dropout", "p", 0.0))
    e.selection.set(["dropout"])
    assert ("hint", "p = 0: this Dropout does nothing; remove it or use 0.1–0.5") in inspector.messages()
    e.edits.push_edit(SetParam("image", "shape", [784]))
    e.selection.set(["conv1"])
    severities = [s for s, _ in inspector.messages()]
    assert "error" in severities and "rank 4" in inspector.messages()[0][1]


# -- summary -----------------------------------------------------------------------------------------------
def make_summary(qtbot, e: Env) -> SummaryPanel:
    panel = SummaryPanel(e.bridge, e.selection)
    qtbot.addWidget(panel)
    panel.resize(380, 700)
    panel.show()
    return panel


@pytest.mark.parametrize(("name", "params"), [("mnist-cnn", "421,642"), ("resnet18", "11,689,512")])
def test_summary_totals(qtbot, name: str, params: str) -> None:
    e = env(name)
    panel = make_summary(qtbot, e)
    assert panel.total_text("params").startswith(params)
    assert panel.total_text("frozen") == "0"
    assert panel.total_text("latency").endswith("ms") or panel.total_text("latency").endswith("µs")
    panel.set_device("t4")
    assert panel.report().profile.name == "t4"
    before = panel.report().macs
    panel.set_batch_size(4)
    assert panel.report().macs == 4 * before
    report = panel.report()
    assert panel.total_text("saved") == human_bytes(report.saved_activation_bytes)
    assert panel.total_text("peak") == human_bytes(report.peak_inference_activation_bytes)
    assert report.peak_inference_activation_bytes < report.saved_activation_bytes


def test_summary_sort_click_and_nested_rows(qtbot) -> None:
    e = env("resnet18")
    panel = make_summary(qtbot, e)
    table = panel.table()
    model = table.model()
    assert model.rowCount() == len(e.document.graph.nodes)  # depth 0 only by default
    table.sortByColumn(4, Qt.SortOrder.DescendingOrder)  # MACs, biggest first
    first = model.data(model.index(0, 0), PATH_ROLE)
    assert e.document.cost(1, "cpu").row(first).macs == max(r.macs for r in panel.report().rows if r.depth == 0)
    rect = table.visualRect(model.index(0, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert e.selection.current == first
    panel.set_show_nested(True)
    assert model.rowCount() == len(panel.report().rows)
    nested = next(i for i in range(model.rowCount()) if "/" in model.data(model.index(i, 0), PATH_ROLE))
    path = model.data(model.index(nested, 0), PATH_ROLE)
    table.scrollTo(model.index(nested, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(model.index(nested, 1)).center())
    assert e.selection.current == path.split("/")[0]


def test_summary_resets_only_when_rows_change_and_coalesces(qtbot) -> None:
    e = env()
    panel = make_summary(qtbot, e)
    source = panel.table().model().sourceModel()
    resets: list[int] = []
    source.modelReset.connect(lambda: resets.append(1))
    e.edits.push_edit(SetNodeText("conv1", "notes", "hello"))  # costs unchanged
    # the panel has refreshed once the report for this revision came back from the background
    qtbot.waitUntil(lambda: e.document.cached(e.document.cost_job(1, "cpu"))[0])
    qtbot.wait(AFTER_CANVAS_MS * 4)
    assert panel.report() is e.document.cost(1, "cpu")
    assert resets == []
    for width in (16, 24, 48):  # a burst: one recompute once the event loop has run
        e.edits.push_edit(SetParam("conv1", "out_channels", width))
    qtbot.waitUntil(lambda: resets != [])
    qtbot.wait(AFTER_CANVAS_MS * 4)
    assert len(resets) == 1
    assert panel.report().row("conv1").output_shape == "1×48×28×28"


def test_summary_stays_fast_on_1000_nodes(qtbot) -> None:
    graph = Graph("big")
    graph.add_node("Input", "x", {"shape": [64]})
    previous = "x"
    for i in range(998):
        nid = f"fc{i}"
        graph.add_node("Linear", nid, {"out_features": 64})
        graph.connect(previous, "y", nid, "x")
        previous = nid
    graph.add_node("Output", "out")
    graph.connect(previous, "y", "out", "x")
    e = Env(graph)
    panel = make_summary(qtbot, e)
    assert panel.table().model().rowCount() == 1000
    start = time.perf_counter()
    e.edits.push_edit(SetParam("fc500", "out_features", 32))
    panel.refresh()
    assert time.perf_counter() - start < 2.0
    assert panel.report().row("fc500").output_shape == "1×32"


# -- code view ---------------------------------------------------------------------------------------------
def test_code_view_shows_source_and_highlights_selected_node(qtbot, tmp_path: Path) -> None:
    e = env()
    view = CodeView(e.bridge, e.selection)
    qtbot.addWidget(view)
    view.resize(520, 700)
    view.show()
    qtbot.waitUntil(lambda: "class MnistCnn" in view.text(), timeout=2000)
    e.selection.set(["fc1"])
    lines = e.document.code().node_lines["fc1"]
    assert view.highlighted_lines() == [line for start, end in lines for line in range(start, end + 1)]
    assert "self.fc1" in view.text().splitlines()[lines[0][0] - 1]
    target = view.save_to(tmp_path / view.default_file_name())
    assert target.name == "mnist_cnn.py" and "class MnistCnn" in target.read_text()
    view.copy_to_clipboard()
    assert "class MnistCnn" in QApplication.clipboard().text()

    with qtbot.waitSignal(view.code_changed, timeout=2000):  # debounced regeneration
        e.edits.push_edit(SetParam("fc1", "out_features", 64))
    assert "nn.Linear(3136, 64)" in view.text()
    assert view.text() == e.document.code().source  # only changed lines were swapped: the text is exact
    for edit in (SetParam("conv1", "out_channels", 8), SetParam("fc2", "bias", False)):
        with qtbot.waitSignal(view.code_changed, timeout=2000):
            e.edits.push_edit(edit)
        assert view.text() == e.document.code().source
    with qtbot.waitSignal(view.code_changed, timeout=2000):
        e.edits.push_edit(SetParam("image", "shape", [784]))
    assert view.has_error() and "rank 4" in view.text() and view.source() == ""

    view.hide()  # hidden: no regeneration until shown again
    e.edits.undo()
    assert view.has_error()
    # Showing regenerates at once, which it does only because nothing regenerated while hidden.
    with qtbot.waitSignal(view.code_changed, timeout=2000):
        view.show()
    assert not view.has_error() and "class MnistCnn" in view.text()


# -- problems ----------------------------------------------------------------------------------------------
def test_problems_list_counts_and_click_selects(qtbot) -> None:
    e = env()
    panel = ProblemsPanel(e.bridge, e.selection)
    qtbot.addWidget(panel)
    panel.resize(380, 300)
    panel.show()
    assert panel.counts() == (0, 0)
    with qtbot.waitSignal(panel.count_changed, timeout=2000) as blocker:
        e.edits.push_edit(SetParam("image", "shape", [784]))
    assert blocker.args == [1, 0]
    severity, node, message = panel.problems()[0]
    assert (severity, node) == ("error", "conv1") and "rank 4" in message
    widget = panel.list_widget()
    item = widget.item(0)
    assert item.text().startswith("conv1: ")
    rect = widget.visualItemRect(item)
    qtbot.mouseClick(widget.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert e.selection.current == "conv1"
    with qtbot.waitSignal(panel.count_changed, timeout=2000) as blocker:  # fixed: the lint warning shows
        e.edits.undo()
        e.edits.push_edit(SetParam("conv1", "bias", True))
        e.edits.push_edit(Disconnect("relu1", "x"))
        e.edits.push_edit(AddNode(Node("bn", "BatchNorm2d"), (), ()))
        e.edits.push_edit(Connect("conv1", "y", "bn", "x"))
        e.edits.push_edit(Connect("bn", "y", "relu1", "x"))
    assert blocker.args == [0, 1]
    assert panel.problems()[0][:2] == ("warning", "conv1")


def test_panels_render_offscreen(qtbot, tmp_path: Path) -> None:
    e = env()
    e.selection.set(["conv1"])
    for panel in (Palette(), Inspector(e.bridge, e.selection, e.edits), SummaryPanel(e.bridge, e.selection),
                  CodeView(e.bridge, e.selection), ProblemsPanel(e.bridge, e.selection)):
        qtbot.addWidget(panel)
        panel.resize(380, 700)
        panel.show()
        QApplication.processEvents()
        image = panel.grab()
        assert not image.isNull() and image.width() == 380
        assert image.save(str(tmp_path / f"{type(panel).__name__}.png"))


def test_code_view_switches_to_keras_and_back(qtbot) -> None:
    e = env()
    view = CodeView(e.bridge, e.selection)
    qtbot.addWidget(view)
    view.resize(520, 700)
    view.show()
    qtbot.waitUntil(lambda: "class MnistCnn" in view.text(), timeout=2000)
    view.findChild(QComboBox, "code_framework").setCurrentIndex(1)  # as a user picks "Keras 3"
    assert view.framework() == "keras"
    assert "import keras" in view.text() and "def build_model" in view.text() and "load_torch_weights" in view.text()
    assert view.text() == e.document.code("keras").source and not view.has_error()
    e.selection.set(["fc1"])
    lines = e.document.code("keras").node_lines["fc1"]
    assert view.highlighted_lines() == [line for start, end in lines for line in range(start, end + 1)]
    with qtbot.waitSignal(view.code_changed, timeout=2000):  # edits regenerate the Keras source
        e.edits.push_edit(SetParam("fc1", "out_features", 64))
    assert view.text() == e.document.code("keras").source and "64" in view.text()
    with qtbot.waitSignal(view.code_changed, timeout=2000):  # a setting Keras has no faithful form for
        e.edits.push_edit(SetParam("dropout", "p", 1.0))
    assert view.has_error() and "no faithful Keras form" in view._error.text() and "dropout" in view._error.text()
    view.set_framework("pytorch")  # PyTorch always has it
    assert not view.has_error() and "class MnistCnn" in view.text()


def test_inspector_sets_the_learning_rate_multiplier_as_one_undoable_edit(qtbot) -> None:
    e = env()
    inspector = make_inspector(qtbot, e)
    e.selection.set(["conv1"])
    assert inspector._lr_mult.isVisibleTo(inspector) and inspector._lr_mult.value() == 1.0
    inspector._lr_mult.setValue(0.25)
    assert e.document.graph.nodes["conv1"].lr_mult == 0.25 and e.edits.count() == 1
    e.edits.undo()
    assert e.document.graph.nodes["conv1"].lr_mult == 1.0 and inspector._lr_mult.value() == 1.0
    e.selection.set(["relu1"])
    assert not inspector._lr_mult.isVisibleTo(inspector)  # no weights: nothing to scale
