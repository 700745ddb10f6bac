"""Diagrams for papers and slides: drawn in full detail whatever the canvas's zoom, from a laid-out copy that
never moves the user's nodes, with the options asked for; and the same from the command line, headless."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtGui import QImage

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.canvas import GraphView
from neuralforge_desktop.ui.canvas.edge_item import LOD_LABEL
from neuralforge_desktop.ui.canvas.export import ExportError, ExportOptions, export_graph
from neuralforge_desktop.ui.undo import EditStack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def canvas(qtbot):
    bridge = DocumentBridge(Document(zoo.build("resnet18")))
    edits = EditStack(lambda: bridge.document)
    view = GraphView(bridge, SelectionModel(), edits)
    qtbot.addWidget(view)
    view.resize(1600, 1000)
    view.show()
    qtbot.waitExposed(view)
    return SimpleNamespace(view=view, bridge=bridge, edits=edits, scene=view.graph_scene)


def svg_text(path: Path) -> str:
    return html.unescape(path.read_text("utf-8"))


def test_a_diagram_exported_at_25_percent_has_every_shape_and_name(canvas, tmp_path):
    view, graph = canvas.view, canvas.bridge.document.graph
    view.set_zoom(0.25)
    assert not canvas.scene.labels_visible and view.zoom < LOD_LABEL  # on screen, the shapes are hidden now
    before = {nid: node.position for nid, node in graph.nodes.items()}
    diagram = view.export_image(str(tmp_path / "resnet18.svg"))
    text = svg_text(diagram.path)
    for edge in graph.edges:
        shape = canvas.scene.edges[(edge.dst, edge.dst_port)].look.text  # the wire's shape, in full
        assert shape and f">{shape}<" in text, f"the wire {edge} has no {shape!r} in the diagram"
    for node in graph:
        assert f">{node.display_name}<" in text
    # Laid out as a copy: the user's nodes, the undo history and the saved state are untouched.
    assert {nid: node.position for nid, node in graph.nodes.items()} == before
    assert canvas.edits.count() == 0 and not canvas.bridge.document.dirty
    assert view.zoom == pytest.approx(0.25) and not canvas.scene.labels_visible


def test_the_picture_does_not_depend_on_the_zoom_on_screen(canvas, tmp_path):
    canvas.view.set_zoom(0.2)
    far = canvas.view.export_image(str(tmp_path / "far.png"), ExportOptions(scale=1.0))
    canvas.view.set_zoom(1.5)
    near = canvas.view.export_image(str(tmp_path / "near.png"), ExportOptions(scale=1.0))
    assert QImage(str(far.path)) == QImage(str(near.path))


def test_layouts_give_the_shapes_they_promise(tmp_path):
    graph = zoo.build("vgg11")
    wrapped = export_graph(graph, tmp_path / "w.png", ExportOptions(scale=1.0))
    vertical = export_graph(graph, tmp_path / "v.png", ExportOptions(scale=1.0, layout="vertical"))
    horizontal = export_graph(graph, tmp_path / "h.png", ExportOptions(scale=1.0, layout="horizontal"))
    assert horizontal.width > 10 * horizontal.height  # the strip a long model makes in one row
    assert 0.8 < wrapped.width / wrapped.height < 3.2  # wrapped into rows: a page or slide's shape
    assert wrapped.width <= 1600 + 100 and wrapped.height <= 1000 + 100  # fits a slide at full size
    assert vertical.height > 5 * vertical.width


def test_options_scale_background_and_shapes(tmp_path):
    graph = zoo.build("mnist-cnn")
    one = export_graph(graph, tmp_path / "one.png", ExportOptions(scale=1.0))
    three = export_graph(graph, tmp_path / "three.png", ExportOptions(scale=3.0, background="transparent"))
    assert (three.width, three.height) == pytest.approx((3 * one.width, 3 * one.height), abs=3)
    picture = QImage(str(three.path))
    assert round(picture.dotsPerMeterX() * 0.0254) == 288
    assert picture.pixelColor(2, 2).alpha() == 0
    assert QImage(str(one.path)).pixelColor(2, 2).name() == "#ffffff"
    dark = export_graph(graph, tmp_path / "dark.png", ExportOptions(background="theme", theme="dark"))
    assert QImage(str(dark.path)).pixelColor(2, 2).lightness() < 60
    plain = export_graph(graph, tmp_path / "plain.svg", ExportOptions(shapes=False))
    labelled = export_graph(graph, tmp_path / "labelled.svg", ExportOptions())
    assert ">N×32×14×14<" in svg_text(labelled.path) and "N×32×14×14" not in svg_text(plain.path)
    assert ">conv1<" in svg_text(plain.path)
    with pytest.raises(ExportError, match="background must be one of white, theme, transparent"):
        ExportOptions(background="blue")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match=r"use \.png, \.svg or \.pdf"):
        export_graph(graph, tmp_path / "figure.gif")


def test_the_diagram_command_writes_the_figure(qapp, tmp_path, capsys):
    target = tmp_path / "fig.png"
    status = main(["diagram", "zoo:mnist-cnn", "-o", str(target), "--layout", "vertical", "--dpi", "288",
                   "--background", "transparent", "--no-shapes"])
    out = capsys.readouterr().out
    assert status == 0 and f"wrote {target}" in out and "288 dpi" in out
    picture = QImage(str(target))
    assert picture.height() > 3 * picture.width() and picture.pixelColor(1, 1).alpha() == 0
    assert main(["diagram", "zoo:mnist-cnn", "-o", str(tmp_path / "fig.jpg2")]) == 2
    assert "must end in .png, .svg or .pdf" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["diagram", "zoo:mnist-cnn", "-o", str(target), "--scale", "9"])
    assert "at most 8" in capsys.readouterr().err


def test_the_diagram_command_needs_no_display(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    target = tmp_path / "resnet18.svg"
    done = subprocess.run([sys.executable, "-m", "neuralforge_desktop.cli.main", "diagram", "zoo:resnet18",
                           "-o", str(target)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    text = svg_text(target)
    assert ">layer1<" in text and ">N×512×7×7<" in text
