"""Serving figures from the recorded requests: latency percentiles, throughput, error rate, traffic per
version, overall and over time windows.

Percentiles are numpy's (``np.percentile``, linear interpolation), so they equal what anyone would compute
from the same latencies. Throughput is requests per second over the window asked for (``since`` to now),
or over the span of the requests when no window was given.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

PERCENTILES = (50, 95, 99)
NICE_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


@dataclass(frozen=True)
class Requests:
    """The recorded requests of one model in a window, as columns."""

    time: np.ndarray  # float64 seconds since the epoch, ascending
    latency_ms: np.ndarray
    ok: np.ndarray  # bool
    version: np.ndarray  # str
    start: float  # the window asked for (or the first request)
    end: float

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True)
class LatencyFigures:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    error_rate: float | None
    throughput: float  # requests per second

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TimeSeries:
    """Per bucket of ``bucket_seconds``: its start time and the figures of the requests in it."""

    bucket_seconds: float
    start: list[float] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # of the bucket inside the window (less at the ends)
    p50: list[float | None] = field(default_factory=list)
    p95: list[float | None] = field(default_factory=list)
    p99: list[float | None] = field(default_factory=list)
    throughput: list[float] = field(default_factory=list)
    error_rate: list[float | None] = field(default_factory=list)
    per_version: dict[str, list[int]] = field(default_factory=dict)  # requests per bucket of each version

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_requests(store: Any, model_name: str, *, since: float | None = None, until: float | None = None,
                  version: str | None = None) -> Requests:
    """The requests of ``model_name`` recorded in [since, until] (all of them when ``since`` is None)."""
    end = time.time() if until is None else float(until)
    clauses, args = ["model = ?", "time <= ?"], [model_name, end]
    if since is not None:
        clauses.append("time >= ?")
        args.append(float(since))
    if version is not None:
        clauses.append("version = ?")
        args.append(version)
    with store.read_transaction() as conn:
        rows = conn.execute(f"SELECT time, latency_ms, ok, version FROM monitor_requests WHERE {' AND '.join(clauses)}"
                            " ORDER BY time", args).fetchall()
    times = np.array([r[0] for r in rows], dtype=np.float64)
    start = float(since) if since is not None else (float(times[0]) if len(times) else end)
    return Requests(time=times, latency_ms=np.array([r[1] for r in rows], dtype=np.float64),
                    ok=np.array([bool(r[2]) for r in rows], dtype=bool),
                    version=np.array([r[3] for r in rows], dtype=object), start=start, end=end)


def latency_percentiles(latencies: np.ndarray) -> dict[int, float | None]:
    if len(latencies) == 0:
        return {p: None for p in PERCENTILES}
    values = np.percentile(latencies, PERCENTILES)
    return {p: float(v) for p, v in zip(PERCENTILES, values, strict=True)}


def figures(latency_ms: np.ndarray, ok: np.ndarray, seconds: float) -> LatencyFigures:
    pct = latency_percentiles(latency_ms)
    count = len(latency_ms)
    return LatencyFigures(count=count, p50=pct[50], p95=pct[95], p99=pct[99],
                          error_rate=None if count == 0 else float(1.0 - ok.mean()),
                          throughput=count / seconds if seconds > 0 else 0.0)


def window_seconds(requests: Requests) -> float:
    return max(requests.end - requests.start, 1e-9)


def summary(requests: Requests) -> LatencyFigures:
    return figures(requests.latency_ms, requests.ok, window_seconds(requests))


def per_version(requests: Requests) -> dict[str, dict[str, Any]]:
    """Each version's figures and its share of the traffic."""
    out: dict[str, dict[str, Any]] = {}
    total = len(requests)
    for version in sorted(set(requests.version.tolist())):
        mask = requests.version == version
        entry = figures(requests.latency_ms[mask], requests.ok[mask], window_seconds(requests)).as_dict()
        entry["share"] = float(mask.sum()) / total if total else 0.0
        out[str(version)] = entry
    return out


def bucket_width(span_seconds: float, buckets: int = 60) -> float:
    """A round bucket width giving about ``buckets`` buckets over the span."""
    wanted = max(span_seconds / buckets, 1.0)
    for width in NICE_BUCKETS:
        if width >= wanted:
            return float(width)
    return float(NICE_BUCKETS[-1] * int(np.ceil(wanted / NICE_BUCKETS[-1])))


def over_time(requests: Requests, bucket_seconds: float | None = None) -> TimeSeries:
    """The window cut into buckets (aligned to multiples of the width, so refreshes line up)."""
    width = bucket_width(window_seconds(requests)) if bucket_seconds is None else float(bucket_seconds)
    series = TimeSeries(bucket_seconds=width)
    if len(requests) == 0:
        return series
    first = np.floor(requests.start / width) * width
    index = np.floor((requests.time - first) / width).astype(np.int64)
    buckets = int(index.max()) + 1
    versions = sorted(set(requests.version.tolist()))
    series.per_version.update({str(v): [0] * buckets for v in versions})
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(buckets + 1))
    for b in range(buckets):
        rows = order[bounds[b]:bounds[b + 1]]
        # The first and last buckets may stick out of the window: their rate is over the part inside it.
        b_start = first + b * width
        covered = min(b_start + width, requests.end) - max(b_start, requests.start)
        covered = covered if covered > 0 else width
        fig = figures(requests.latency_ms[rows], requests.ok[rows], covered)
        series.start.append(float(b_start))
        series.seconds.append(float(covered))
        series.count.append(fig.count)
        series.p50.append(fig.p50)
        series.p95.append(fig.p95)
        series.p99.append(fig.p99)
        series.throughput.append(fig.throughput)
        series.error_rate.append(fig.error_rate)
        for version, count in zip(*np.unique(requests.version[rows], return_counts=True), strict=True):
            series.per_version[str(version)][b] = int(count)
    return series
