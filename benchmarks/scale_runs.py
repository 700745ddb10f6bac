"""Runs at any count: the Runs dock and ``runs list`` over stores of 10 … 10,000 runs.

Stores are filled with plausible runs (:mod:`neuralforge_desktop.core.store.synthetic`: ~10 params, a few tags,
4–5 latest metrics, an environment record, a few statuses) once per size and kept in a temporary directory
across repeats (filling them is not measured). Every repeat of every size is a fresh Python process:

* ``dock first paint ms``: ``RunsPanel(store)`` created and shown → its table's viewport has painted (events
  processed until the viewport's paint event has been handled), offscreen Qt;
* ``dock refresh ms``: one run's latest metric changes (written by another Store, as a training process
  would), then Refresh → table repainted; median of 3 in the process;
* ``dock sort ms``: a click on a column header (val acc descending, name ascending, created descending) →
  table repainted; median of the 3 in the process;
* ``runs list --json s``: ``python -m neuralforge_desktop.cli.main runs list --json --limit 100000`` as a
  subprocess, wall time including interpreter start (output to a pipe, read whole).

Checked, not timed: the count the dock shows equals the store's number of runs (a mismatch is printed loudly
and the script exits with status 1 after its JSON line).

    PYTHONPATH=. python benchmarks/scale_runs.py [--sizes 10,100,1000,10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_PAINT, REFRESH, SORT, LIST = "dock first paint ms", "dock refresh ms", "dock sort ms", "runs list --json s"
LIST_CPU = "runs list --json cpu s"  # user + system time: less sensitive than wall time to a busy machine
TARGETS = {FIRST_PAINT: 200.0, REFRESH: 100.0, SORT: 100.0, LIST: 1.0}
TARGET_SIZE = "10000"
CACHE = Path(tempfile.gettempdir()) / "neuralforge-scale-runs"


def store_for(size: int) -> Path:
    """The cached store of ``size`` runs (made on first use)."""
    path = CACHE / f"runs-{size}" / "store.db"
    done = path.with_suffix(".done")
    if done.exists():
        return path
    import shutil

    from neuralforge_desktop.core.store import Store
    from neuralforge_desktop.core.store.synthetic import add_runs

    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    with Store(path) as store:
        add_runs(store, size, with_history=min(size, 5))
    done.write_text("ok")
    return path


def _repaint(app: object, view: object) -> None:
    app.processEvents()  # type: ignore[attr-defined]
    view.viewport().repaint()  # type: ignore[attr-defined]


def child_dock(path: Path) -> dict[str, object]:
    """One fresh process's dock figures (see the module docs)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtWidgets import QApplication

    from neuralforge_desktop.core.store import Store
    from neuralforge_desktop.ui.training import RunsPanel
    from neuralforge_desktop.ui.training.runs_model import COLUMNS

    app = QApplication.instance() or QApplication([])

    class PaintSeen(QObject):
        painted = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted = True
            return False

    start = time.perf_counter()
    panel = RunsPanel(path)
    seen = PaintSeen()
    panel.table.viewport().installEventFilter(seen)
    panel.resize(1200, 800)
    panel.show()
    while not seen.painted:
        app.processEvents()
    app.processEvents()
    first_paint = (time.perf_counter() - start) * 1000

    with sqlite3.connect(path) as conn:
        total = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        running = [r for (r,) in conn.execute("SELECT id FROM runs WHERE status = 'running' ORDER BY created")]
    shown = re.match(r"(?:\d+ of )?(\d+) runs", panel.count_label.text().replace(",", ""))
    writer = Store(path)
    refreshes = []
    for step in range(3):
        writer.log_series(running[-1], "val/acc", [10_000 + step], [0.5 + step / 100])
        t = time.perf_counter()
        panel.refresh()
        _repaint(app, panel.table)
        refreshes.append((time.perf_counter() - t) * 1000)
    writer.close()
    sorts = []
    for column, order in (("val acc", Qt.SortOrder.DescendingOrder), ("name", Qt.SortOrder.AscendingOrder),
                          ("created", Qt.SortOrder.DescendingOrder)):
        t = time.perf_counter()
        panel.table.sortByColumn(COLUMNS.index(column), order)
        _repaint(app, panel.table)
        sorts.append((time.perf_counter() - t) * 1000)
    return {FIRST_PAINT: first_paint, REFRESH: statistics.median(refreshes), SORT: statistics.median(sorts),
            "count_text": panel.count_label.text(), "store_total": total,
            "count_matches": bool(shown and int(shown.group(1)) == total)}


def runs_list_seconds(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``runs list --json`` process."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "neuralforge_desktop.cli.main", "runs", "list", "--json",
                           "--limit", "100000", "--store", str(path)], capture_output=True, check=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    listed = len(json.loads(done.stdout))
    with sqlite3.connect(path) as conn:
        total = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    if listed != total:
        raise SystemExit(f"runs list --json listed {listed} runs of {total}")
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", metavar="STORE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_dock(Path(args.child))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    series: dict[str, dict[str, float]] = {name: {} for name in [*TARGETS, LIST_CPU]}
    mismatches: list[str] = []
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for size in sizes:
        path = store_for(size)
        figures: dict[str, list[float]] = {name: [] for name in series}
        for _ in range(args.repeats):
            out = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                                 env=env)
            if out.returncode:
                raise SystemExit(f"dock child failed at {size} runs:\n{out.stderr[-3000:]}")
            child = json.loads(out.stdout.strip().splitlines()[-1])
            for name in (FIRST_PAINT, REFRESH, SORT):
                figures[name].append(float(child[name]))
            if not child["count_matches"]:
                mismatches.append(f"{size} runs: the dock says {child['count_text']!r}, the store has "
                                  f"{child['store_total']}")
            wall, cpu = runs_list_seconds(path)
            figures[LIST].append(wall)
            figures[LIST_CPU].append(cpu)
        for name, values in figures.items():
            series[name][str(size)] = round(statistics.median(values), 4 if name in (LIST, LIST_CPU) else 1)
    print(f"{'figure':<24}" + "".join(f"{s:>10}" for s in sizes) + "    target")
    for name, values in series.items():
        cells = "".join(f"{values[str(s)]:>10}" for s in sizes)
        target = f"≤ {TARGETS[name]:g} at {TARGET_SIZE}" if name in TARGETS else ""
        print(f"{name:<24}{cells}    {target}")
    for line in dict.fromkeys(mismatches):
        print(f"COUNT MISMATCH: {line}")
    notes = {FIRST_PAINT: "RunsPanel created and shown until its table viewport's paint event was handled (offscreen)",
             REFRESH: "one run's metric changed by another Store, then Refresh and a viewport repaint; median of 3",
             SORT: "sortByColumn (val acc desc, name asc, created desc) and a viewport repaint; median of 3",
             LIST: "neuralforge runs list --json --limit 100000 as a subprocess, wall time with interpreter start",
             LIST_CPU: "the same processes' user + system CPU time (the machine's other load does not add to it)"}
    if mismatches:
        notes[FIRST_PAINT] += f"; COUNT MISMATCH: {mismatches[0]}"
    for name, limit in TARGETS.items():
        got = series[name].get(TARGET_SIZE)
        if got is not None and got > limit:
            notes[name] += f"; target missed at {TARGET_SIZE}: {got:g} > {limit:g}"
    print(json.dumps({"series": series,
                      "targets": {name: {"size": TARGET_SIZE, "max": limit} for name, limit in TARGETS.items()},
                      "notes": notes}))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
