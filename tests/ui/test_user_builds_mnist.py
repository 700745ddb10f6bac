"""A user builds the MNIST CNN in the main window, the way they would by hand, then checks, breaks, undoes,
saves and reopens it; and crash recovery survives being killed mid-write."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.ir.serialize import graph_to_dict, load_graph
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

CHAIN = ["Input", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "Output"]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.show()
    qtbot.waitExposed(made)
    yield made
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


# -- what a user does, one gesture at a time -------------------------------------------------------------
def add_from_palette(window: MainWindow, type_name: str) -> str:
    """Pick the layer in the palette and press Enter (a double-click does the same)."""
    tree = window.palette_panel.tree()
    item = window.palette_panel.item_for(type_name)
    assert item is not None, f"{type_name} is not in the palette"
    tree.setCurrentItem(item)
    tree.setFocus()
    QTest.keyClick(tree, Qt.Key.Key_Return)
    node_id = window.selection.current
    assert node_id is not None and window.bridge.document.graph.node(node_id).type == type_name
    return node_id


def port_point(window: MainWindow, node_id: str, port: str, output: bool) -> QPoint:
    item = window.view.graph_scene.nodes[node_id]
    return window.view.mapFromScene(item.port_scene_pos(port, output))


def drag_wire(window: MainWindow, src: str, src_port: str, dst: str, dst_port: str) -> None:
    """Press on an output port, drag, release on the other port: the canvas gesture for connecting."""
    viewport = window.view.viewport()
    start = port_point(window, src, src_port, True)
    end = port_point(window, dst, dst_port, False)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    middle = QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2)
    QTest.mouseMove(viewport, middle)
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def type_param(window: MainWindow, qtbot, node_id: str, name: str, text: str) -> None:
    """Select the node, then type into the inspector's field for ``name`` and press Enter."""
    window.selection.set([node_id])
    qtbot.waitUntil(lambda: window.inspector.node_id() == node_id and name in window.inspector.fields)
    field = window.inspector.fields[name]
    editor = getattr(field, "spin", None) or getattr(field, "line", None)
    assert editor is not None, f"no text editor for {name}"
    editor.setFocus()
    line = editor if hasattr(editor, "selectAll") and not hasattr(editor, "lineEdit") else editor.lineEdit()
    line.selectAll()
    QTest.keyClicks(line, text)
    QTest.keyClick(line, Qt.Key.Key_Return)
    window.view.setFocus()  # leaving the field, as clicking back on the canvas does


def settle(qtbot, window: MainWindow) -> None:
    """Wait until the debounced panels show the current graph. The code view regenerates last (after a
    pause); the summary and problems panel refresh on a zero timer before it."""
    def code_view_is_current() -> bool:
        code = window.bridge.document.code()
        if isinstance(code, Exception):
            return window.code_view.has_error() and window.code_view.source() == ""
        return not window.code_view.has_error() and window.code_view.source() == code.source

    qtbot.waitUntil(code_view_is_current, timeout=5000)


def build_mnist(window: MainWindow, qtbot) -> list[str]:
    ids = [add_from_palette(window, t) for t in CHAIN]
    window.view.fit_all()
    ports = {"Input": ("y", None), "Output": (None, "x")}
    for a, b in zip(ids, ids[1:], strict=False):
        out = ports.get(window.bridge.document.graph.node(a).type, ("y", "x"))[0]
        into = ports.get(window.bridge.document.graph.node(b).type, ("y", "x"))[1]
        drag_wire(window, a, out, b, into)
    return ids


def test_user_builds_the_mnist_cnn(window, qtbot, tmp_path, monkeypatch):
    image, conv, relu, pool, flatten, linear, logits = build_mnist(window, qtbot)
    graph = window.bridge.document.graph
    assert len(graph.edges) == 6, [str(e) for e in graph.edges]

    # Parameters, typed into the inspector.
    type_param(window, qtbot, image, "shape", "1, 28, 28")
    type_param(window, qtbot, conv, "out_channels", "16")
    type_param(window, qtbot, conv, "kernel_size", "5")
    type_param(window, qtbot, conv, "padding", "0")
    type_param(window, qtbot, linear, "out_features", "10")
    assert graph.node(conv).params["out_channels"] == 16 and graph.node(conv).params["kernel_size"] == 5
    assert graph.node(linear).params["out_features"] == 10

    # Every wire carries the shape a user expects, on the canvas and in the analysis.
    shapes = window.bridge.document.shapes
    expected = {conv: "N×1×28×28", relu: "N×16×24×24", pool: "N×16×24×24", flatten: "N×16×12×12",
                linear: "N×2304", logits: "N×10"}
    for edge in graph.edges:
        assert str(shapes.edge_spec(edge)) == expected[edge.dst], edge
        wire = window.view.graph_scene.edges[(edge.dst, edge.dst_port)]
        assert expected[edge.dst] in wire.label.toolTip() + wire.label.text, (edge, wire.label.text)
    settle(qtbot, window)
    conv_params, linear_params = 16 * 1 * 5 * 5 + 16, 2304 * 10 + 10
    assert window.summary.report().params == conv_params + linear_params
    assert window.summary.total_text("params").startswith(f"{conv_params + linear_params:,}")
    assert window.problems.counts()[0] == 0 and window.errors_label.text() == "0 errors"
    assert "nn.Conv2d(1, 16, kernel_size=5" in window.code_view.source().replace("kernel_size=(5, 5)", "kernel_size=5")
    built = graph_to_dict(graph)

    # An illegal connection (it would make a cycle) is refused, and the status bar says why.
    drag_wire(window, linear, "y", conv, "x")
    assert graph_to_dict(graph) == built
    message = window.statusBar().currentMessage()
    assert "cycle" in message.lower() or "loop" in message.lower(), message

    # A rank error: a 2-D image into a 2-D convolution. The problems panel names the convolution.
    type_param(window, qtbot, image, "shape", "28, 28")
    settle(qtbot, window)
    errors, _warnings = window.problems.counts()
    assert errors >= 1 and window.errors_label.text().startswith(f"{errors} error")
    assert any(severity == "error" and path == conv for severity, path, _ in window.problems.problems())
    window.commands["edit.undo"].trigger()  # put the image shape back
    settle(qtbot, window)
    assert window.problems.counts()[0] == 0
    assert graph_to_dict(graph) == built

    # Undo everything, back to the empty canvas; redo everything, back to the same model.
    steps = window.edits.index()
    while window.edits.canUndo():
        window.commands["edit.undo"].trigger()
    assert len(window.bridge.document.graph) == 0 and not window.isWindowModified()
    for _ in range(steps):
        window.commands["edit.redo"].trigger()
    assert graph_to_dict(window.bridge.document.graph) == built

    # Save with Ctrl+S (a first save asks for the file name), then reopen and compare.
    target = tmp_path / "mnist.nfg"
    monkeypatch.setattr(window.files, "ask_save_path", lambda: str(target))
    window.activateWindow()
    assert QTest.qWaitForWindowActive(window, 2000)  # window shortcuts fire in the active window only
    window.view.setFocus()
    QTest.keySequence(window, window.commands["file.save"].shortcut())
    assert target.exists() and not window.isWindowModified()
    assert window.windowTitle() == "mnist.nfg[*] — NeuralForge"
    window.commands["file.new"].trigger()
    assert len(window.bridge.document.graph) == 0
    assert window.files.open(target)
    assert graph_to_dict(window.bridge.document.graph) == built
    assert graph_to_dict(load_graph(target)) == built


# -- crash safety of autosave ----------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.edit.document import Document, write_recovery
    from neuralforge_desktop.core.edit.edits import SetParam

    folder = sys.argv[1]
    named = Document(zoo.build("resnet50"), sys.argv[2])   # a document with a file: its copy has a fixed name
    untitled = Document(zoo.build("mnist-cnn"))             # an untitled one: named after this process
    i = 0
    while True:
        for document, node in ((named, "fc"), (untitled, "fc2")):
            document.apply(SetParam(node, "out_features", 10 + i % 50))
            write_recovery(document, folder)
        if i == 0:
            print("ready", flush=True)
        i += 1
""")


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killing_the_process_during_autosave_never_leaves_a_corrupt_file(tmp_path):
    folder = tmp_path / "recovery"
    rng = random.Random(20261127)
    kills = 25
    for attempt in range(kills):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(tmp_path / "model.nfg")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
            # Each copy takes a few milliseconds to write; a random delay lands kills inside writes.
            time.sleep(rng.uniform(0.0, 0.08))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            if child.stdout:
                child.stdout.close()
            if child.stderr:
                child.stderr.close()
        copies = sorted(folder.glob("*.nfg"))
        assert copies, f"attempt {attempt}: no recovery copy was written"
        for copy in copies:
            graph = load_graph(copy)  # raises on a truncated or mixed file
            assert 10 <= next(n for n in graph if n.id in {"fc", "fc2"}).params["out_features"] < 60
    names = {p.name for p in folder.glob("*.nfg")}
    assert sum(n.startswith("model-") for n in names) == 1  # one copy per named document, however many kills
    assert sum(n.startswith("untitled-") for n in names) == kills  # one per crashed untitled session
