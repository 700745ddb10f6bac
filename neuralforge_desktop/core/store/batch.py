"""The one write path of the store: a batch of metrics, params and tags for one run, in one transaction.

:meth:`Store.log_batch` and the exit-time flush of buffered points both end here, so validation (the run
exists, params are write-once) and the metric layout (:mod:`.chunks`) are decided in one place.
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

from neuralforge_desktop.core.store import chunks
from neuralforge_desktop.core.store import queries as _q
from neuralforge_desktop.core.store.entities import MetricPoint, MetricSeries, ParamConflictError, StoreError
from neuralforge_desktop.core.store.environment import canonical_json

MetricInput = MetricPoint | MetricSeries | tuple[str, float, int] | tuple[str, float, int, float]
Columns = tuple[array, array, array]  # a buffered series: steps ('q'), values ('d'), timestamps ('d')


def param_text(value: Any) -> str:
    try:
        return canonical_json(value)
    except (TypeError, ValueError):  # an object with no JSON form (a device, a class) is kept as its str
        return json.dumps(str(value))


def group_metrics(metrics: Iterable[MetricInput], now: float) -> dict[str, list[chunks.Points]]:
    """Group metric inputs by name, in order; single points become arrays once per name."""
    grouped: dict[str, list[chunks.Points]] = {}
    singles: dict[str, tuple[list[int], list[float], list[float]]] = {}
    for item in metrics:
        if isinstance(item, MetricSeries):
            _flush_singles(grouped, singles)  # keep order between points and series of one name
            grouped.setdefault(item.name, []).append(
                chunks.as_points(item.steps, item.values, item.timestamps, now))
            continue
        if isinstance(item, MetricPoint):
            name, value, step, stamp = item.name, item.value, item.step, item.timestamp
        else:
            name, value, step, stamp = (*item, None)[:4]
        if isinstance(step, float) and not float.is_integer(step):  # the annotation says int; callers send 3.0
            raise StoreError(f"metric {name!r}: step must be an integer, got {step!r}")
        columns = singles.setdefault(name, ([], [], []))
        columns[0].append(int(step))
        columns[1].append(float(value))
        columns[2].append(now if stamp is None else float(stamp))
    _flush_singles(grouped, singles)
    return grouped


def _flush_singles(grouped: dict[str, list[chunks.Points]],
                   singles: dict[str, tuple[list[int], list[float], list[float]]]) -> None:
    import numpy as np

    for name, (steps, values, stamps) in singles.items():
        grouped.setdefault(name, []).append((np.array(steps, np.int64), np.array(values, np.float64),
                                             np.array(stamps, np.float64)))
    singles.clear()


def commit_batch(conn: sqlite3.Connection, run_id: str, grouped: dict[str, list[chunks.Points]],
                 params: Mapping[str, Any] | None, tags: Mapping[str, Any] | None) -> None:
    import numpy as np

    _q.require_run(conn, run_id)
    if params:
        write_params(conn, run_id, params)
    if tags:
        write_tags(conn, run_id, tags)
    for name, parts in grouped.items():
        if len(parts) == 1:
            chunks.append(conn, run_id, name, parts[0])
        else:
            steps, values, stamps = (np.concatenate(column) for column in zip(*parts, strict=True))
            chunks.append(conn, run_id, name, (steps, values, stamps))


def arrays(columns: Columns) -> chunks.Points:
    import numpy as np

    steps, values, stamps = columns
    return np.frombuffer(steps, np.int64), np.frombuffer(values, np.float64), np.frombuffer(stamps, np.float64)


def write_params(conn: sqlite3.Connection, run_id: str, params: Mapping[str, Any]) -> None:
    texts = {str(k): param_text(v) for k, v in params.items()}
    if not texts:
        return
    existing = dict(conn.execute("SELECT key, value FROM params WHERE run_id = ? AND key IN "
                                 "(SELECT value FROM json_each(?))", (run_id, json.dumps(list(texts)))).fetchall())
    conflicts = sorted(k for k, v in texts.items() if k in existing and existing[k] != v)
    if conflicts:
        k = conflicts[0]
        raise ParamConflictError(f"run {run_id!r}: param {k!r} is already {existing[k]}, cannot change it to "
                                 f"{texts[k]} (params are write-once; log a new run or use a tag)")
    conn.executemany("INSERT OR IGNORE INTO params (run_id, key, value) VALUES (?, ?, ?)",
                     [(run_id, k, v) for k, v in texts.items()])


def write_tags(conn: sqlite3.Connection, run_id: str, tags: Mapping[str, Any]) -> None:
    conn.executemany("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                     [(run_id, str(k), str(v)) for k, v in tags.items()])
