"""Live previews, edit → pixels on the MNIST CNN (zoo:mnist-cnn) in the main window (offscreen Qt).

One parameter edit goes through the EditStack, as the inspector's widgets do. With previews on, the clock stops
when the canvas viewport has painted after the new thumbnails were put on the node items: the debounce, the
graph copy, building the model and running one sample in the preview thread, drawing the thumbnails and the
paint. The baseline, measured in the same run with the same edits (interleaved: one edit each way per round),
is the plain refresh: the same edit with previews off, until the canvas has painted its new shapes.

Also reported: the preview thread's own time per edit (``compute_ms``: shapes, build, forward, summaries) and
the UI thread's longest stall while an edit's previews were being computed (``ui_stall_ms``: the longest gap
between two event-loop passes; the thread must never freeze the editor). The sample is random input (seed 0);
the first example of mnist-10k costs the same per edit once loaded. Target: ≤ 300 ms edit → pixels.
Prints figures, then one JSON object on the last line.
"""

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import SetParam
from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.canvas.previews import DEBOUNCE_MS
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

REPEATS = 9
TARGET_MS = 300.0
TIMEOUT_S = 30.0
EDITS = (("conv1", "out_channels", (16, 32)), ("fc1", "out_features", (64, 128)))


class PaintCounter(QObject):
    """Counts paint events a widget receives (the proof that pixels were produced)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt names this
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def pump_until(done, what: str) -> float:  # type: ignore[no-untyped-def]
    """Run a real event loop (as the app's, idle between events) until ``done()``; returns the longest gap
    between two ticks of a 2 ms timer (ms): how long the UI thread was busy at a stretch meanwhile.

    Not a loop calling processEvents: spinning would keep the interpreter lock from the preview thread, which
    an idle app does not do."""
    if done():
        return 0.0
    loop = QEventLoop()
    ticks = [time.perf_counter()]
    timed_out: list[bool] = []

    def tick() -> None:
        ticks.append(time.perf_counter())
        if done():
            loop.quit()

    def give_up() -> None:
        timed_out.append(True)
        loop.quit()

    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(tick)
    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(give_up)
    timer.start()
    watchdog.start(int(TIMEOUT_S * 1000))
    loop.exec()
    timer.stop()
    watchdog.stop()
    if timed_out:
        raise RuntimeError(f"timed out waiting for {what}")
    return max(b - a for a, b in zip(ticks, ticks[1:], strict=False)) * 1000 if len(ticks) > 1 else 0.0


def plain_edit(window: MainWindow, counter: PaintCounter, node: str, param: str, value: object) -> float:
    """ms from the edit to the canvas painted, previews off (the baseline)."""
    painted = counter.count
    start = time.perf_counter()
    window.edits.push_edit(SetParam(node, param, value))
    pump_until(lambda: counter.count > painted, "the canvas to repaint")
    return (time.perf_counter() - start) * 1000


def preview_edit(window: MainWindow, counter: PaintCounter, node: str, param: str,
                 value: object) -> dict[str, float]:
    """ms from the edit to the canvas painted with the new thumbnails, and what it was made of."""
    previews = window.previews
    pump_until(lambda: previews.applied == previews.generation, "previews before the edit")
    painted_at: list[int] = []
    previews.updated.connect(lambda _result: painted_at.append(counter.count))
    start = time.perf_counter()
    window.edits.push_edit(SetParam(node, param, value))
    stall = pump_until(lambda: bool(painted_at) and counter.count > painted_at[-1], "thumbnails painted")
    end = time.perf_counter()
    previews.updated.disconnect()
    result = previews.result
    assert result is not None and result.error is None, result and result.error
    shown = previews.shown()
    if node == "conv1":  # the new thumbnails, not the old ones: the tiles follow the edited width
        assert shown["conv1"].tile_count == min(16, int(value)), shown["conv1"].tile_count  # type: ignore[call-overload]
    return {"pixels_ms": (end - start) * 1000, "compute_ms": result.seconds * 1000, "ui_stall_ms": stall}


def spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 1), "median": round(statistics.median(values), 1), "max": round(max(values), 1)}


def main() -> None:
    app = create_application([])
    folder = tempfile.mkdtemp()
    settings = Settings(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=Path(folder) / "recovery", document=Document(zoo.build("mnist-cnn")))
    window.files.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    window.resize(1600, 1000)
    window.show()
    for _ in range(20):
        app.processEvents()
    window.files.autosave_timer.stop()
    counter = PaintCounter()
    window.view.viewport().installEventFilter(counter)
    started = time.perf_counter()
    window.set_live_previews(True)
    pump_until(lambda: window.previews.applied == window.previews.generation, "the first previews")
    first = (time.perf_counter() - started) * 1000
    print(f"zoo:mnist-cnn, {len(window.bridge.document.graph)} nodes; window 1600×1000; {REPEATS} edits per "
          f"kind and side; debounce {DEBOUNCE_MS} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"first previews after switching on (torch imported, model built): {first:.0f} ms")
    results: dict[str, dict[str, object]] = {}
    for node, param, values in EDITS:
        base: list[float] = []
        runs: list[dict[str, float]] = []
        for i in range(REPEATS + 1):  # round 0 warms both sides up and is discarded
            value = values[i % 2]
            window.set_live_previews(False)
            b = plain_edit(window, counter, node, param, value)
            window.set_live_previews(True)
            r = preview_edit(window, counter, node, param, values[(i + 1) % 2])
            if i:
                base.append(b)
                runs.append(r)
        pixels = [r["pixels_ms"] for r in runs]
        label = f"{node}.{param}"
        results[label] = {
            "pixels_ms": spread(pixels), "baseline_ms": spread(base),
            "compute_ms": spread([r["compute_ms"] for r in runs]),
            "ui_stall_ms": spread([r["ui_stall_ms"] for r in runs]),
            "ok": statistics.median(pixels) <= TARGET_MS,
        }
        r = results[label]
        print(f"{label}: edit → thumbnails painted {r['pixels_ms']['median']:.1f} ms median "  # type: ignore[index]
              f"(min {r['pixels_ms']['min']:.1f}, max {r['pixels_ms']['max']:.1f}; target ≤ {TARGET_MS:.0f} ms"  # type: ignore[index]
              f"{'' if r['ok'] else ', MISSED'})")
        print(f"    baseline, previews off (shape refresh → pixels): {r['baseline_ms']['median']:.1f} ms; "  # type: ignore[index]
              f"preview thread per edit {r['compute_ms']['median']:.1f} ms; longest UI-thread stall meanwhile "  # type: ignore[index]
              f"{r['ui_stall_ms']['median']:.1f} ms median, {r['ui_stall_ms']['max']:.1f} ms worst")  # type: ignore[index]
    window.set_live_previews(False)
    window.close()
    print(json.dumps({"benchmark": "previews", "graph": "zoo:mnist-cnn", "repeats": REPEATS,
                      "debounce_ms": DEBOUNCE_MS, "target_ms": TARGET_MS, "first_ms": round(first, 1),
                      "load_average": round(os.getloadavg()[0], 2), "edits": results,
                      "ok": all(r["ok"] for r in results.values())}))


if __name__ == "__main__":
    main()
