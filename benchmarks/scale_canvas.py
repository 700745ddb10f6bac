"""The canvas at any size: opening, editing and memory with 1,000 to 10,000 nodes (offscreen Qt, main window).

Every figure is measured in a fresh process per size and repeat (the parent only spawns children and takes
medians), on residual networks from ``shape_inference.residual_graph`` laid out once and saved as ``.nfg`` files
in a cached folder under the temp dir.

- ``canvas first paint s``: the main window (1600×1000, an empty document) is shown and settled; the clock
  starts when ``window.files.load(path)`` is called (the app's own open path: read the file, build the document
  and its shapes, every panel hears of the new document) and stops when the canvas viewport has received its
  first paint event after it, with node items in the painted area (a counter on the viewport; the event loop
  runs until then).
- ``canvas idle s``: the same clock, until the event loop has run no call longer than 2 ms for a full second
  (deferred refreshes, lint, panels, code generation all done). The end is the last busy call, not the quiet
  second.
- ``edit repaint ms``: the input's shape alternates between 3×32×32 and 3×24×24 (every shape in the graph
  changes), pushed through the undo stack as the inspector does; until the canvas viewport has painted. Median
  of 7 edits after one warm-up, each after the window is idle again.
- ``edit shape inference ms``: the incremental shape inference of each of those edits (``ShapeInference.update``,
  every node downstream of the input), in whichever thread it runs: on a graph this big the canvas shows the edit
  first and the shapes are inferred in the background worker (``Document.shapes_job``).
- ``edit shapes shown ms``: the same edits until their shapes are in (the document has none pending) and the
  canvas has painted them (or, if no paint follows within a second, until they are in). After the edits the
  document's shapes are checked against a full inference of the graph; a difference stops the script.
- ``panels after edit ms``: after a small edit (the classifier's width, off screen) has been pushed, the time
  the UI thread spends in event-loop calls longer than 2 ms until idle (no such call for a second, and no panel
  waiting for a value computed in the background): the summary, problems and code panels' refreshes, the
  canvas's lint and minimap, and any repaint. Median of 3 edits. The panels compute in a worker thread that
  shares the interpreter with the UI thread, so while it runs the UI thread's calls also wait for the
  interpreter a few milliseconds at a time (each such call over 2 ms counts here in full).
- ``panels longest stall ms``: after the same edits, the longest single event-loop call on the UI thread until
  idle: how long a repaint could have been held up. Median of 3 edits.
- ``RSS MB``: resident memory after idle (from /proc/self/status).

Prints a table, then one JSON object on the last line (see ``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (1000, 5000, 10000)
REPEATS = 5
EDIT_REPEATS = 7
QUIET_S = 1.0
BUSY_S = 0.002
FIRST_PAINT, IDLE, EDIT, PANELS, RSS = ("canvas first paint s", "canvas idle s", "edit repaint ms",
                                        "panels after edit ms", "RSS MB")
EDIT_SHAPES = "edit shape inference ms"  # re-inferring the shapes of "edit repaint ms"'s edits, in any thread
EDIT_SHOWN = "edit shapes shown ms"  # those edits until their shapes are in and painted
STALL = "panels longest stall ms"
TARGETS = {FIRST_PAINT: 1.0, EDIT: 100.0, STALL: 100.0, RSS: 300.0}
TARGET_SIZE = "10000"


def graph_file(nodes: int) -> Path:
    """A laid-out residual network of about ``nodes`` nodes, saved once (cached between runs)."""
    folder = Path(tempfile.gettempdir()) / "neuralforge-scale-canvas"
    folder.mkdir(exist_ok=True)
    path = folder / f"residual-{nodes}.nfg"
    if path.exists():
        return path
    sys.path.insert(0, str(HERE))
    from shape_inference import residual_graph

    from neuralforge_desktop.core.edit.document import Document
    from neuralforge_desktop.core.ir.layout import layered_layout

    graph = residual_graph(max(1, (nodes - 6) // 7))
    layered_layout(graph)
    partial = path.with_suffix(".part.nfg")
    Document(graph).save(partial)
    partial.replace(path)
    return path


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def child(path: Path) -> dict[str, float]:
    """One fresh process: open ``path`` in the main window and measure (see the module docstring)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings

    from neuralforge_desktop.core.analysis.shapes import ShapeInference, infer_shapes
    from neuralforge_desktop.core.edit.edits import SetParam
    from neuralforge_desktop.ui.app import create_application
    from neuralforge_desktop.ui.canvas.node_item import NodeItem
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    _app = create_application([])  # held: the application lives as long as this reference
    folder = Path(tempfile.mkdtemp())
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=folder / "recovery")
    window.resize(1600, 1000)
    window.show()
    window.files.autosave_timer.stop()  # periodic, not part of opening or editing

    class PaintTimes(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt names this
            if event.type() == QEvent.Type.Paint:
                self.times.append(time.perf_counter())
            return False

    def until_idle() -> float:
        """Run the event loop until a second passes with no call over 2 ms and no panel waits for a value computed
        in the background; returns when the last busy call ended.
        Also returns the total time of the busy calls through ``busy``."""
        last = time.perf_counter()
        busy.clear()
        computing = getattr(window.bridge, "computing", lambda: False)  # panels' values still on their way
        while time.perf_counter() - last < QUIET_S or computing():
            start = time.perf_counter()
            QCoreApplication.processEvents()
            end = time.perf_counter()
            if end - start > BUSY_S:
                last = end
                busy.append(end - start)
            else:
                time.sleep(0.001)
        return last

    def until_painted(before: int) -> float:
        deadline = time.perf_counter() + 60
        while len(paints.times) == before:
            if time.perf_counter() > deadline:
                raise RuntimeError("the canvas did not paint")
            QCoreApplication.processEvents()
        return paints.times[before]

    busy: list[float] = []
    until_idle()
    paints = PaintTimes()
    view = window.view
    view.viewport().installEventFilter(paints)

    start = time.perf_counter()
    if not window.files.load(path):
        raise RuntimeError(f"could not open {path}")
    painted = until_painted(0)
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    if not any(isinstance(item, NodeItem) for item in view.graph_scene.items(shown)):
        # The first paint showed no nodes (a fit still pending): wait for the next one that does.
        while True:
            painted = until_painted(len(paints.times))
            shown = view.mapToScene(view.viewport().rect()).boundingRect()
            if any(isinstance(item, NodeItem) for item in view.graph_scene.items(shown)):
                break
    idle = until_idle()
    result = {FIRST_PAINT: painted - start, IDLE: idle - start, RSS: rss_mb()}

    document = window.bridge.document
    graph = document.graph
    source = next(n.id for n in graph.input_nodes)
    shapes = ([3, 24, 24], [3, 32, 32])
    update = ShapeInference.update
    inferring: list[float] = []

    def timed_update(engine, changed, **options):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return update(engine, changed, **options)
        finally:
            if engine.graph is graph:  # not a block's body
                inferring.append(time.perf_counter() - start)

    ShapeInference.update = timed_update  # type: ignore[method-assign]
    times, inference, shown = [], [], []
    for i in range(EDIT_REPEATS + 1):
        before = len(paints.times)
        inferring.clear()
        begin = time.perf_counter()
        window.edits.push_edit(SetParam(source, "shape", shapes[i % 2]))
        end = until_painted(before)
        while document.shapes_pending:
            QCoreApplication.processEvents()
        arrived = time.perf_counter()
        before = len(paints.times)
        deadline = arrived + 1.0
        while len(paints.times) == before and time.perf_counter() < deadline:
            QCoreApplication.processEvents()
        painted_shapes = paints.times[before] if len(paints.times) > before else arrived
        if i:
            times.append((end - begin) * 1000.0)
            inference.append(sum(inferring) * 1000.0)
            shown.append((painted_shapes - begin) * 1000.0)
        until_idle()
    ShapeInference.update = update  # type: ignore[method-assign]
    result[EDIT] = statistics.median(times)
    result[EDIT_SHAPES] = statistics.median(inference)
    result[EDIT_SHOWN] = statistics.median(shown)
    fresh = infer_shapes(graph)
    wrong = [nid for nid in graph.nodes if fresh.results[nid].outputs != document.shapes.results[nid].outputs]
    if wrong:
        raise RuntimeError(f"after the edits {len(wrong)} nodes' shapes differ from a full inference: {wrong[:5]}")

    panels, stalls = [], []
    for i in range(3):
        window.edits.push_edit(SetParam("fc", "out_features", 12 + i))
        until_idle()
        panels.append(sum(busy) * 1000.0)
        stalls.append(max(busy, default=0.0) * 1000.0)
    result[PANELS] = statistics.median(panels)
    result[STALL] = statistics.median(stalls)
    result["nodes"] = float(len(graph))
    window.files.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    window.close()
    return result


def parent(sizes: list[int], repeats: int) -> None:
    series: dict[str, dict[str, float]] = {name: {} for name in (FIRST_PAINT, IDLE, EDIT, EDIT_SHAPES, EDIT_SHOWN,
                                                                   PANELS, STALL, RSS)}
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), env.get("PYTHONPATH", "")) if p)
    counts: dict[str, int] = {}
    for size in sizes:
        path = graph_file(size)
        runs = []
        for _ in range(repeats):
            out = subprocess.run([sys.executable, __file__, "--child", str(path)], env=env, capture_output=True,
                                 text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        for name in series:
            series[name][str(size)] = round(statistics.median(run[name] for run in runs), 3)
        counts[str(size)] = int(runs[0]["nodes"])
    print(f"medians of {repeats} fresh processes; main window 1600×1000, offscreen; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'figure':<24}" + "".join(f"{s:>12}" for s in series[FIRST_PAINT]) + "      target")
    print(f"{'(nodes)':<24}" + "".join(f"{counts[s]:>12}" for s in series[FIRST_PAINT]))
    for name, values in series.items():
        target = TARGETS.get(name)
        mark = ""
        if target is not None and TARGET_SIZE in values:
            mark = f"  ≤ {target:g} at {TARGET_SIZE}: {'met' if values[TARGET_SIZE] <= target else 'MISSED'}"
        print(f"{name:<24}" + "".join(f"{v:>12.3f}" for v in values.values()) + mark)
    notes = {
        FIRST_PAINT: "files.load(path) in a shown 1600x1000 main window -> first viewport paint showing node items",
        IDLE: "files.load(path) -> end of the last event-loop call over 2 ms before a quiet second",
        EDIT: "input shape edit (every shape changes) via the undo stack -> viewport paint event; median of 7",
        EDIT_SHAPES: "the incremental shape inference of those edits (ShapeInference.update, in any thread)",
        EDIT_SHOWN: "those edits -> their shapes inferred (in the background above 2,000 nodes) and painted",
        PANELS: "UI-thread time in event-loop calls over 2 ms after a small off-screen edit was pushed, until idle",
        STALL: "the longest single UI-thread event-loop call after that edit, until idle; median of 3 edits",
        RSS: "VmRSS after idle, before any edit",
    }
    for name, target in TARGETS.items():
        value = series[name].get(TARGET_SIZE)
        if value is not None and value > target:
            notes[name] += f" (MISSED at {TARGET_SIZE}: {value:g} > {target:g})"
    inference = series[EDIT_SHAPES].get(TARGET_SIZE)
    if inference is not None and series[EDIT][TARGET_SIZE] > TARGETS[EDIT]:
        notes[EDIT] += (f"; the edits' shape inference took {inference:g} ms (inside the edit up to 2,000 nodes "
                        "downstream, in the background worker beyond)")
    print(json.dumps({"series": series,
                      "targets": {name: {"size": TARGET_SIZE, "max": target} for name, target in TARGETS.items()},
                      "notes": notes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="node counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="fresh processes per size")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return
    parent([int(s) for s in args.sizes.split(",") if s], args.repeats)


if __name__ == "__main__":
    main()
