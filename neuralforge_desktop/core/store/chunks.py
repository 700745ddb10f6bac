"""How metric points are laid out in SQLite: blobs of up to ``CHUNK_POINTS`` points per row.

One row per point (MLflow's layout) costs a B-tree entry, a row header and an index entry per point, which is
what makes logging and reading long histories slow. Here a metric of a run is a sequence of chunks
``(run_id, name, seq)``; each chunk's ``data`` blob is *columnar* little-endian (encoding 1)::

    steps int64[count] | values float64[count] | timestamps float64[count]      (24 bytes per point)

Columnar raw arrays decode with three zero-copy ``np.frombuffer`` views, so reading a 20,000-point history
is five row fetches and one concatenate. Delta/zlib encoding would shrink steps and timestamps further but
costs CPU on every read; the ``encoding`` column lets a later version add it without a migration.

Appends top up the last chunk before starting new ones, so every chunk but the last is full however small
the flushes are (a read-modify-write of at most one chunk per flush). Points keep the order they were
logged in; ``min_step``/``max_step`` per chunk let a step-range read skip chunks.

``latest_metrics`` (schema v2) holds per (run, metric) the latest point, min, max and count, updated in the
same transaction as the chunks so the two never disagree.
"""

from __future__ import annotations

import math
import sqlite3
from typing import TYPE_CHECKING

from neuralforge_desktop.core.store.entities import LatestMetric, StoreError, nan_if_none

if TYPE_CHECKING:  # numpy is imported where points are handled: listing runs never needs it
    import numpy as np

    Points = tuple[np.ndarray, np.ndarray, np.ndarray]

CHUNK_POINTS = 4096
ENCODING_COLUMNAR = 1
_I8 = "<i8"  # little-endian int64 steps, float64 values and timestamps, whatever the machine's order
_F8 = "<f8"
_POINT_BYTES = 8 + 2 * 8


def encode(steps: np.ndarray, values: np.ndarray, timestamps: np.ndarray) -> bytes:
    import numpy as np

    return b"".join((np.ascontiguousarray(steps, _I8).tobytes(), np.ascontiguousarray(values, _F8).tobytes(),
                     np.ascontiguousarray(timestamps, _F8).tobytes()))


def decode(data: bytes, count: int, encoding: int = ENCODING_COLUMNAR) -> Points:
    """Read-only views into ``data`` (no copy)."""
    import numpy as np

    if encoding != ENCODING_COLUMNAR:
        raise StoreError(f"metric chunk encoding {encoding} is unknown (written by a newer NeuralForge?)")
    if len(data) != count * _POINT_BYTES:
        raise StoreError(f"metric chunk is {len(data)} bytes, expected {count * _POINT_BYTES} for {count} points")
    steps = np.frombuffer(data, _I8, count, 0)
    values = np.frombuffer(data, _F8, count, count * 8)
    stamps = np.frombuffer(data, _F8, count, count * 16)
    return steps, values, stamps


def as_points(steps: object, values: object, timestamps: object, now: float) -> Points:
    """Validate and convert user input to contiguous int64/float64/float64 arrays of one length."""
    import numpy as np

    s = np.asarray(steps)
    if s.dtype.kind not in "iu":  # float steps would be truncated silently by a cast; refuse them
        if s.dtype.kind == "f" and s.size and np.all(np.isfinite(s)) and np.array_equal(s, np.round(s)):
            s = s.astype(np.int64)
        elif s.size:
            raise StoreError(f"metric steps must be integers, got dtype {s.dtype}")
    s = np.ascontiguousarray(s.reshape(-1), np.int64)
    v = np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))
    if timestamps is None:
        t = np.full(len(s), now, np.float64)
    else:
        t = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        t = np.full(len(s), t[0], np.float64) if t.size == 1 else np.ascontiguousarray(t)  # one time for all
    if not (len(s) == len(v) == len(t)):
        raise StoreError(f"steps ({len(s)}), values ({len(v)}) and timestamps ({len(t)}) differ in length")
    return s, v, t


def summarize(name: str, steps: np.ndarray, values: np.ndarray, stamps: np.ndarray) -> LatestMetric:
    """Latest point (largest step, last logged among equals), NaN-ignoring min/max and count of a batch."""
    import numpy as np

    n = len(steps)
    top = steps.max()
    i = n - 1 - int(np.argmax(steps[::-1] == top))
    return LatestMetric(name, int(steps[i]), float(values[i]), float(stamps[i]),
                        float(np.fmin.reduce(values)), float(np.fmax.reduce(values)), n)


def merge(old: LatestMetric | None, new: LatestMetric) -> LatestMetric:
    if old is None:
        return new
    take_new = new.step >= old.step  # equal step: the later write wins
    return LatestMetric(
        new.name,
        new.step if take_new else old.step,
        new.value if take_new else old.value,
        new.timestamp if take_new else old.timestamp,
        _fmin(old.min, new.min), _fmax(old.max, new.max), old.count + new.count)


def _fmin(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def _fmax(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


def append(conn: sqlite3.Connection, run_id: str, name: str, points: Points) -> None:
    """Append points to one metric of one run. Must run inside a write transaction."""
    import numpy as np

    steps, values, stamps = points
    if not len(steps):
        return
    batch = summarize(name, steps, values, stamps)
    tail = conn.execute("SELECT seq, count FROM metric_chunks WHERE run_id = ? AND name = ? "
                        "ORDER BY seq DESC LIMIT 1", (run_id, name)).fetchone()
    start, seq = 0, 0
    if tail is not None:
        seq = tail[0] + 1
        room = CHUNK_POINTS - tail[1]
        if room > 0:
            blob, count, encoding = conn.execute(
                "SELECT data, count, encoding FROM metric_chunks WHERE run_id = ? AND name = ? AND seq = ?",
                (run_id, name, tail[0])).fetchone()
            old = decode(blob, count, encoding)
            start = min(room, len(steps))
            merged = [np.concatenate((o, p[:start])) for o, p in zip(old, points, strict=True)]
            conn.execute("UPDATE metric_chunks SET count = ?, min_step = ?, max_step = ?, encoding = ?, data = ? "
                         "WHERE run_id = ? AND name = ? AND seq = ?",
                         (len(merged[0]), int(merged[0].min()), int(merged[0].max()), ENCODING_COLUMNAR,
                          encode(*merged), run_id, name, tail[0]))
    rows = []
    for lo in range(start, len(steps), CHUNK_POINTS):
        hi = min(lo + CHUNK_POINTS, len(steps))
        part = steps[lo:hi]
        rows.append((run_id, name, seq, hi - lo, int(part.min()), int(part.max()), ENCODING_COLUMNAR,
                     encode(part, values[lo:hi], stamps[lo:hi])))
        seq += 1
    if rows:
        conn.executemany("INSERT INTO metric_chunks (run_id, name, seq, count, min_step, max_step, encoding, data) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    write_latest(conn, run_id, merge(read_latest(conn, run_id, name), batch))


def read(conn: sqlite3.Connection, run_id: str, name: str,
         min_step: int | None = None, max_step: int | None = None) -> Points:
    """All points of a metric in logging order (fresh, writable arrays), optionally only steps in a range."""
    import numpy as np

    sql = "SELECT data, count, encoding FROM metric_chunks WHERE run_id = ? AND name = ?"
    args: list[object] = [run_id, name]
    if min_step is not None:
        sql += " AND max_step >= ?"
        args.append(int(min_step))
    if max_step is not None:
        sql += " AND min_step <= ?"
        args.append(int(max_step))
    parts = [decode(blob, count, encoding) for blob, count, encoding in conn.execute(sql + " ORDER BY seq", args)]
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64)
    steps, values, stamps = (np.concatenate(column) for column in zip(*parts, strict=True))
    if min_step is not None or max_step is not None:
        keep = np.ones(len(steps), bool)
        if min_step is not None:
            keep &= steps >= min_step
        if max_step is not None:
            keep &= steps <= max_step
        steps, values, stamps = steps[keep], values[keep], stamps[keep]
    return steps, values, stamps


_LATEST_COLUMNS = "name, step, value, timestamp, min, max, count"


def latest_from_row(row: tuple) -> LatestMetric:
    name, step, value, stamp, lo, hi, count = row
    return LatestMetric(name, int(step), nan_if_none(value), float(stamp), nan_if_none(lo), nan_if_none(hi),
                        int(count))


def read_latest(conn: sqlite3.Connection, run_id: str, name: str) -> LatestMetric | None:
    row = conn.execute(f"SELECT {_LATEST_COLUMNS} FROM latest_metrics WHERE run_id = ? AND name = ?",
                       (run_id, name)).fetchone()
    return None if row is None else latest_from_row(row)


def write_latest(conn: sqlite3.Connection, run_id: str, m: LatestMetric) -> None:
    conn.execute(f"INSERT OR REPLACE INTO latest_metrics (run_id, {_LATEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (run_id, m.name, m.step, m.value, m.timestamp, m.min, m.max, m.count))
