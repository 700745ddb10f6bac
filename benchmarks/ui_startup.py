"""Start-up time of the desktop app: from process start to the main window's first paint.

Each run is a fresh interpreter (offscreen Qt, empty settings and data folders) that starts the app the way
``run_app`` does, notes when the window first paints, checks that torch and TensorFlow have not been
imported by then, and quits. Five runs; the median is compared with the 1.5 s target.

Baseline, measured in the same run: a fresh interpreter that imports PySide6, shows an empty QMainWindow of
the same size and notes its first paint — the floor for any Qt app on this machine. One discarded warm-up
start per side, then RUNS starts per side, alternating; the ratio of medians says what NeuralForge adds.
Prints figures, then one JSON object on the last line.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 5
TARGET_S = 1.5
HEAVY = ("torch", "tensorflow", "coremltools", "keras")

CHILD = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from neuralforge_desktop.ui.app import create_application, open_main_window

HEAVY = set(sys.argv[1].split(","))


class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
            print(f"PAINTED {time.time():.6f} {','.join(heavy) or '-'}", flush=True)
            watched.removeEventFilter(self)
            QTimer.singleShot(0, app.quit)
        return False


app = create_application([])
window = open_main_window(app, offer_recovery=False)
probe = FirstPaint()
window.installEventFilter(probe)
app.exec()
"""


BARE_QT = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            print(f"PAINTED {time.time():.6f} -", flush=True)
            watched.removeEventFilter(self)
            QTimer.singleShot(0, app.quit)
        return False


app = QApplication([])
window = QMainWindow()
window.resize(1400, 900)
probe = FirstPaint()
window.installEventFilter(probe)
window.show()
app.exec()
"""


def one_run(folder: str, child: str = CHILD) -> tuple[float, list[str]]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": folder, "XDG_DATA_HOME": folder}
    start = time.time()
    done = subprocess.run([sys.executable, "-c", child, ",".join(HEAVY)], env=env, capture_output=True, text=True,
                          timeout=120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("PAINTED")), None)
    if line is None:
        raise SystemExit(f"the app did not paint its window:\n{done.stderr}")
    _, stamp, heavy = line.split()
    return float(stamp) - start, [] if heavy == "-" else heavy.split(",")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        one_run(folder)  # warm-ups, discarded: the OS file cache, as a second start would find it
        one_run(folder, BARE_QT)
        results = []
        bare = []
        for _ in range(RUNS):  # alternating, so a burst of load hits both sides alike
            results.append(one_run(folder))
            bare.append(one_run(folder, BARE_QT)[0])
    times = [t for t, _ in results]
    heavy = sorted({m for _, found in results for m in found})
    median = statistics.median(times)
    bare_median = statistics.median(bare)
    print(f"NeuralForge runs: {', '.join(f'{t * 1000:.0f} ms' for t in times)}")
    print(f"bare Qt window runs: {', '.join(f'{t * 1000:.0f} ms' for t in bare)}")
    print(f"median start → first paint: {median * 1000:.0f} ms (target ≤ {TARGET_S * 1000:.0f} ms); an empty Qt "
          f"window: {bare_median * 1000:.0f} ms; ratio {median / bare_median:.2f}×")
    print(f"heavy modules at first paint: {', '.join(heavy) or 'none'}")
    print(json.dumps({"benchmark": "ui_startup", "runs": RUNS, "median_s": round(median, 4),
                      "min_s": round(min(times), 4), "max_s": round(max(times), 4),
                      "bare_qt_median_s": round(bare_median, 4), "bare_qt_min_s": round(min(bare), 4),
                      "bare_qt_max_s": round(max(bare), 4), "ratio_vs_bare_qt": round(median / bare_median, 2),
                      "target_s": TARGET_S, "heavy_modules": heavy, "load_average": round(os.getloadavg()[0], 2),
                      "ok": median <= TARGET_S and not heavy}))


if __name__ == "__main__":
    main()
