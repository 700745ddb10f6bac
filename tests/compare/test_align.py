"""Curves aligned by step, epoch and time, and TensorBoard's smoothing, on series written through the store."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuralforge_desktop.core.compare.align import align_x, ema_smooth, epoch_positions, run_curves
from neuralforge_desktop.core.store.sqlite_store import Store

from .helpers import log_curve


def tensorboard_smooth(values, weight):
    """TensorBoard's own loop (vz_line_chart2's resmoothDataset), written out for comparison."""
    out, last, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        out.append(last / (1 - weight ** count))
    return out


def test_epoch_positions_put_epoch_ends_on_whole_numbers_and_steps_between():
    ends = np.array([10, 20, 30])
    assert epoch_positions(np.array([10, 20, 30]), ends).tolist() == [1.0, 2.0, 3.0]
    assert epoch_positions(np.array([0, 5, 15, 25]), ends).tolist() == [0.0, 0.5, 1.5, 2.5]
    assert epoch_positions(np.array([35]), ends).tolist() == [3.5]  # a resumed run's steps past the last end
    assert np.isnan(epoch_positions(np.array([5]), np.array([]))).all()  # no finished epoch: no epoch axis


def test_align_by_time_counts_from_the_runs_start():
    x = align_x(np.array([1, 2]), np.array([105.0, 110.0]), "time", started=100.0)
    assert x.tolist() == [5.0, 10.0]
    assert align_x(np.array([1, 2]), np.array([105.0, 110.0]), "time").tolist() == [0.0, 5.0]
    with pytest.raises(ValueError, match="align by one of"):
        align_x(np.array([1]), np.array([1.0]), "wall")  # type: ignore[arg-type]


def test_smoothing_matches_tensorboards_loop():
    rng = np.random.default_rng(3)
    values = rng.normal(1.0, 0.3, 200)
    values[17] = math.nan
    for weight in (0.0, 0.6, 0.9, 0.99):
        ours = ema_smooth(values, weight)
        theirs = tensorboard_smooth(values, weight)
        assert np.allclose(ours, theirs, equal_nan=True)
    assert ema_smooth(np.array([4.0, 4.0, 4.0]), 0.9).tolist() == pytest.approx([4.0, 4.0, 4.0])  # debiased
    with pytest.raises(ValueError, match="smoothing weight"):
        ema_smooth(values, 1.0)


def test_run_curves_from_the_store(tmp_path):
    store = Store(tmp_path / "store.db")
    try:
        runs = [store.create_run("cmp", f"r{i}", environment={}) for i in range(3)]
        for i, run in enumerate(runs[:2]):
            log_curve(store, run.id, "val/acc", [0.5 + i * 0.1, 0.6 + i * 0.1, 0.7 + i * 0.1],
                      first_step=10 * (i + 1), every=10 * (i + 1), start=run.started)
            log_curve(store, run.id, "epoch_seconds", [2.0, 2.0, 2.0], first_step=10 * (i + 1), every=10 * (i + 1),
                      start=run.started)
        ids = [r.id for r in runs]
        by_step = run_curves(store, ids, "val/acc", "step", labels={runs[0].id: "first"})
        assert [c.run_id for c in by_step] == ids[:2]  # the third logged nothing: no curve
        assert by_step[0].label == "first" and by_step[1].label == ids[1]
        assert by_step[0].x.tolist() == [10, 20, 30] and by_step[1].x.tolist() == [20, 40, 60]
        by_epoch = run_curves(store, ids, "val/acc", "epoch")
        assert [c.x.tolist() for c in by_epoch] == [[1, 2, 3], [1, 2, 3]]  # different step counts, same epochs
        by_time = run_curves(store, ids, "val/acc", "time")
        assert by_time[0].x.tolist() == pytest.approx([0.0, 2.0, 4.0])
        smooth = run_curves(store, ids, "val/acc", "step", smoothing=0.6)
        assert smooth[0].raw.tolist() == pytest.approx([0.5, 0.6, 0.7])
        assert smooth[0].y.tolist() == pytest.approx(tensorboard_smooth([0.5, 0.6, 0.7], 0.6))
    finally:
        store.close()
