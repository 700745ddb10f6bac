"""Canvas speed on a ~1,000-node residual network (offscreen, 1600×1000 viewport).

(a) A parameter edit pushed through the undo stack, until the canvas has refreshed: the edit applies,
    shapes update incrementally, the changed items refresh, pending events (lint) run and the viewport
    repaints. Two cases: a local edit (the classifier's width) and one that changes every shape downstream
    (the stem's padding).
(b) Panning: scroll by 10 px and force a full repaint (``viewport().repaint()``), 100 frames, at 100 %
    zoom, at 25 % and with the whole graph fitted (a thousand nodes on screen). Milliseconds per frame,
    median and 95th percentile.

Baseline for (b), measured in this run: the same viewport panning a plain Qt scene with the same geometry
(one QGraphicsRectItem per node, one QGraphicsPathItem per wire, no text, no caching) at the same zooms and
centres, the same frames, alternating zoom by zoom with the canvas. The ratio says what NeuralForge's items
cost over the cheapest drawing of the same picture. (a) has no baseline here: benchmarks/ui_edit_refresh.py
measures edits end to end.

Prints figures, then one JSON object on the last line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView
from shape_inference import residual_graph

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import SetParam
from neuralforge_desktop.core.ir.layout import layered_layout
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.canvas import GraphView
from neuralforge_desktop.ui.undo import EditStack

FRAMES = 100
STEP_PX = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def plain_view(view: GraphView) -> QGraphicsView:
    """A plain Qt scene drawing the canvas's geometry: rectangles for nodes, paths for wires."""
    plain = QGraphicsView()
    scene = QGraphicsScene(plain)  # owned by the view: a scene without a parent would be collected
    scene.setSceneRect(view.sceneRect())
    fill, line = QColor("#2b2f36"), QPen(QColor("#8a93a3"), 1.5)
    for item in view.graph_scene.nodes.values():
        look = item.look
        if look is not None:
            scene.addRect(QRectF(item.x(), item.y(), look.width, look.height), line, fill)
    for edge in view.graph_scene.edges.values():
        scene.addPath(edge.path(), line)
    plain.setScene(scene)
    plain.setRenderHints(QPainter.RenderHint.Antialiasing)
    plain.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    plain.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    plain.resize(view.size())
    plain.show()
    return plain


def pan(app: QApplication, view: QGraphicsView, frames: int = FRAMES) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per frame (CPU time is steadier on a busy machine)."""
    bar = view.horizontalScrollBar()
    times: list[float] = []
    cpu: list[float] = []
    for i in range(frames + 5):
        # Back and forth (50 frames each way), so a fitted graph stays on screen the whole time.
        step = STEP_PX if (i // 50) % 2 == 0 else -STEP_PX
        start, start_cpu = time.perf_counter(), time.process_time()
        bar.setValue(bar.value() + step)
        view.viewport().repaint()
        elapsed = (time.perf_counter() - start) * 1000.0
        elapsed_cpu = (time.process_time() - start_cpu) * 1000.0
        if i >= 5:  # the first frames fill the item caches
            times.append(elapsed)
            cpu.append(elapsed_cpu)
    app.processEvents()
    return times, cpu


def edit_until_drawn(app: QApplication, view: GraphView, edits: EditStack, node: str, param: str,
                     values: tuple[object, object], repeats: int = 15) -> tuple[list[float], list[float]]:
    """Per edit: ms until the canvas on screen is current, and ms until every item (off screen too) is."""
    shown: list[float] = []
    everything: list[float] = []
    for i in range(repeats):
        start = time.perf_counter()
        edits.push_edit(SetParam(node, param, values[i % 2]))
        app.processEvents()
        view.viewport().repaint()
        shown.append((time.perf_counter() - start) * 1000.0)
        while view.graph_scene._pending:  # off-screen items refresh in idle batches
            app.processEvents()
        everything.append((time.perf_counter() - start) * 1000.0)
    return shown, everything


def main() -> None:
    app = QApplication.instance() or QApplication([])
    graph = residual_graph()
    layered_layout(graph)
    build = time.perf_counter()
    bridge = DocumentBridge(Document(graph))
    edits = EditStack(lambda: bridge.document)
    view = GraphView(bridge, SelectionModel(), edits)
    view.resize(1600, 1000)
    view.show()
    app.processEvents()
    build_ms = (time.perf_counter() - build) * 1000.0
    nodes, edges = len(view.graph_scene.nodes), len(view.graph_scene.edges)
    print(f"graph: {nodes} nodes, {edges} edges; building the canvas took {build_ms:.0f} ms")

    view.set_zoom(1.0)
    view.centerOn(QPointF(1200.0, 30.0))
    app.processEvents()
    local, _ = edit_until_drawn(app, view, edits, "fc", "out_features", (12, 10))
    cascade, cascade_all = edit_until_drawn(app, view, edits, "stem", "padding", (2, 1), repeats=6)
    print(f"(a) param edit → canvas refreshed: local (fc.out_features) median {statistics.median(local):.2f} ms, "
          f"p95 {percentile(local, 0.95):.2f} ms; every shape downstream (stem.padding) median "
          f"{statistics.median(cascade):.1f} ms on screen, {statistics.median(cascade_all):.1f} ms until all "
          "1,000 nodes' items are current (idle batches)")

    results: dict[str, dict[str, float]] = {}
    plain = plain_view(view)
    for name, setup in (("100%", lambda: view.set_zoom(1.0)),
                        ("25%", lambda: view.set_zoom(0.25)),
                        ("whole", view.fit_whole)):
        setup()
        view.centerOn(QPointF(1600.0 if name != "whole" else view.content_rect().center().x(), 30.0))
        app.processEvents()
        plain.setTransform(view.transform())
        plain.centerOn(view.mapToScene(view.viewport().rect().center()))
        app.processEvents()
        frames, cpu = pan(app, view)
        base_frames, base_cpu = pan(app, plain)
        results[name] = {"median_ms": round(statistics.median(frames), 3),
                         "p95_ms": round(percentile(frames, 0.95), 3),
                         "cpu_median_ms": round(statistics.median(cpu), 3),
                         "cpu_p95_ms": round(percentile(cpu, 0.95), 3),
                         "plain_qt_median_ms": round(statistics.median(base_frames), 3),
                         "plain_qt_cpu_median_ms": round(statistics.median(base_cpu), 3),
                         "ratio_vs_plain_qt": round(statistics.median(frames) / statistics.median(base_frames), 2)}
        print(f"(b) pan at {name:>7} (zoom {view.zoom:.3f}): {results[name]['median_ms']:.2f} ms/frame median, "
              f"{results[name]['p95_ms']:.2f} ms p95, {results[name]['cpu_median_ms']:.2f} ms CPU median "
              f"over {FRAMES} frames of {STEP_PX} px; plain Qt scene {results[name]['plain_qt_median_ms']:.2f} ms "
              f"({results[name]['ratio_vs_plain_qt']}×)")
    plain.close()

    print(json.dumps({
        "benchmark": "ui_canvas", "nodes": nodes, "edges": edges, "viewport": [1600, 1000],
        "build_ms": round(build_ms, 1),
        "param_edit_ms": {"local_median": round(statistics.median(local), 3),
                          "local_p95": round(percentile(local, 0.95), 3),
                          "cascade_median": round(statistics.median(cascade), 3),
                          "cascade_all_items_median": round(statistics.median(cascade_all), 3)},
        "pan_ms_per_frame": results,
        "budget_ms": 16.0,
        "pan_ok": all(r["median_ms"] <= 16.0 for r in results.values()),
        "pan_p95_ok": all(r["p95_ms"] <= 16.0 for r in results.values()),
        "load_average": round(os.getloadavg()[0], 2),  # wall-clock p95 suffers on a busy machine; CPU ms do not
    }))


if __name__ == "__main__":
    main()
