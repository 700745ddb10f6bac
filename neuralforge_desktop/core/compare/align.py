"""Metric series of several runs on one x axis: the global step, the epoch (fractional between epoch ends), or
seconds since the run started; and TensorBoard's smoothing.

The epoch of a point comes from the run's ``epoch_seconds`` metric, which the training engine logs once per
epoch at the global step that ended it: step ``s`` between the ends of epochs k and k+1 lies at k + the fraction
of the way, so per-epoch points land on whole numbers and per-step points between them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

AlignBy = Literal["step", "epoch", "time"]
ALIGNMENTS: tuple[AlignBy, ...] = ("step", "epoch", "time")
EPOCH_METRIC = "epoch_seconds"  # one point per finished epoch, at the step that ended it
AXIS_TITLES = {"step": "step", "epoch": "epoch", "time": "seconds since start"}


@dataclass(frozen=True)
class Curve:
    """One run's metric on the chosen axis: ``x`` and ``y`` of equal length, ``raw`` the unsmoothed values."""

    run_id: str
    label: str
    metric: str
    x: np.ndarray
    y: np.ndarray
    raw: np.ndarray


def epoch_positions(steps: np.ndarray, epoch_end_steps: np.ndarray) -> np.ndarray:
    """Each step as an epoch position (see the module's docstring). Past the last epoch end the last epoch's
    length is extended; a run with no finished epoch has no epoch axis (NaN)."""
    steps = np.asarray(steps, dtype=np.float64)
    ends = np.unique(np.asarray(epoch_end_steps, dtype=np.float64))
    if len(ends) == 0:
        return np.full(len(steps), np.nan)
    knots_x = np.concatenate([[0.0], ends])
    knots_y = np.arange(len(knots_x), dtype=np.float64)
    positions = np.interp(steps, knots_x, knots_y)
    last = ends[-1] - (ends[-2] if len(ends) > 1 else 0.0)
    beyond = steps > ends[-1]
    if last > 0:
        positions[beyond] = len(ends) + (steps[beyond] - ends[-1]) / last
    return positions


def align_x(steps: np.ndarray, timestamps: np.ndarray, by: AlignBy, *, epoch_end_steps: np.ndarray | None = None,
            started: float | None = None) -> np.ndarray:
    """The x coordinates of points logged at ``steps``/``timestamps`` when aligned ``by`` step, epoch or time.
    ``started`` is the run's start (default: its first point's time)."""
    if by == "step":
        return np.asarray(steps, dtype=np.float64)
    if by == "epoch":
        return epoch_positions(steps, np.empty(0) if epoch_end_steps is None else epoch_end_steps)
    if by == "time":
        times = np.asarray(timestamps, dtype=np.float64)
        origin = started if started is not None else (float(times.min()) if len(times) else 0.0)
        return times - origin
    raise ValueError(f"align by one of {', '.join(ALIGNMENTS)}, got {by!r}")


def ema_smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled
    towards zero; non-finite values pass through and do not disturb the average. ``weight`` 0 is no smoothing,
    0.99 very smooth."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    values = np.asarray(values, dtype=np.float64)
    if weight == 0.0 or len(values) == 0:
        return values.copy()
    out = np.empty_like(values)
    last, count = 0.0, 0
    for i, value in enumerate(values):
        if not math.isfinite(value):
            out[i] = value
            continue
        last = last * weight + (1.0 - weight) * value
        count += 1
        out[i] = last / (1.0 - weight ** count)
    return out


def run_curves(store: Any, run_ids: list[str], metric: str, by: AlignBy = "step", smoothing: float = 0.0,
               labels: dict[str, str] | None = None) -> list[Curve]:
    """``metric`` of each run in ``run_ids`` that logged it, aligned ``by`` and smoothed, for overlaying."""
    curves = []
    for run_id in run_ids:
        series = store.metric_history(run_id, metric)
        if len(series) == 0:
            continue
        ends = store.metric_history(run_id, EPOCH_METRIC).steps if by == "epoch" else None
        started = store.get_run(run_id).started if by == "time" else None
        x = align_x(series.steps, series.timestamps, by, epoch_end_steps=ends, started=started)
        order = np.argsort(x, kind="stable")
        raw = series.values[order]
        curves.append(Curve(run_id, (labels or {}).get(run_id, run_id), metric, x[order],
                            ema_smooth(raw, smoothing), raw))
    return curves
