"""The arrays the Diagnostics views draw: layers × samples matrices, newest values, histograms resampled onto
common bins (counts kept, values in the right place), and uneven samples put on an even step grid."""

from __future__ import annotations

import numpy as np
import pytest

from neuralforge_desktop.core.training.coach.records import Histogram, Histograms, LayerStats, RunDiagnostics
from neuralforge_desktop.core.training.coach.views_data import (
    histogram_layers,
    histogram_matrix,
    latest_values,
    layer_matrix,
    layer_order,
    uniform_columns,
)
from tests.coach.synthetic_diagnostics import LAYERS, synthetic_cnn_diagnostics


def _stats(step: int, layers: list[str], grad: list[float | None]) -> LayerStats:
    none = [None] * len(layers)
    return LayerStats(step, layers, grad, none, none, none, none, none, none)


def test_layer_matrix_puts_each_value_at_its_layer_and_step_and_drops_layers_without_the_stat() -> None:
    diag = RunDiagnostics(layers=[_stats(20, ["a", "relu", "b"], [2.0, None, 4.0]),
                                  _stats(10, ["a", "relu", "b"], [1.0, None, 3.0]),
                                  _stats(30, ["a", "relu"], [5.0, None])])
    matrix = layer_matrix(diag, "grad_norm")
    assert matrix.layers == ["a", "b"]
    assert matrix.steps.tolist() == [10, 20, 30]  # sorted by step whatever the record order
    assert matrix.values[0].tolist() == [1.0, 2.0, 5.0]
    assert matrix.values[1, :2].tolist() == [3.0, 4.0] and np.isnan(matrix.values[1, 2])  # b missing at 30
    assert latest_values(matrix).tolist() == [5.0, 4.0]  # b's newest is the one at step 20
    kept = layer_matrix(diag, "grad_norm", only_with_values=False)
    assert kept.layers == ["a", "relu", "b"] and np.all(np.isnan(kept.values[1]))


def test_layer_matrix_of_the_synthetic_cnn_shows_gradients_shrinking_towards_the_input() -> None:
    diag = synthetic_cnn_diagnostics()
    matrix = layer_matrix(diag, "grad_norm")
    assert matrix.layers == ["conv1", "conv2", "block1/conv3", "fc"]
    assert matrix.values.shape == (4, 50)
    latest = latest_values(matrix)
    assert latest[0] < latest[1] < latest[2] < latest[3]
    assert layer_order(diag) == LAYERS


def test_unknown_statistic_or_kind_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="grad_norm"):
        layer_matrix(RunDiagnostics(), "gradnorm")
    with pytest.raises(ValueError, match="grad, act"):
        histogram_matrix(RunDiagnostics(), "a", "activation")


def test_histograms_with_different_ranges_land_on_common_bins_at_their_true_values() -> None:
    narrow = Histogram(lo=0.0, hi=1.0, counts=[10] + [0] * 31)  # all values in [0, 1/32)
    wide = Histogram(lo=-4.0, hi=4.0, counts=[0] * 31 + [20])  # all values in [3.75, 4]
    diag = RunDiagnostics(histograms=[Histograms(1, ["a"], [narrow], [None]), Histograms(2, ["a"], [wide], [None])])
    hm = histogram_matrix(diag, "a", "grad", bins=32)
    assert hm is not None
    assert hm.edges[0] == -4.0 and hm.edges[-1] == 4.0  # the union of both records' ranges
    assert np.allclose(hm.shares.sum(axis=0), 1.0)
    assert hm.counts.tolist() == [10, 20]
    # [0, 1/32) lies inside common bin 16 ([0, 0.25)); [3.75, 4] is the last common bin.
    assert hm.shares[16, 0] == pytest.approx(1.0) and hm.shares[31, 1] == pytest.approx(1.0)


def test_a_source_bin_split_by_a_common_edge_is_shared_by_overlap() -> None:
    half = Histogram(lo=0.0, hi=2.0, counts=[8, 0])  # 8 values spread over [0, 1)
    other = Histogram(lo=0.5, hi=1.0, counts=[0, 4])  # 4 values in [0.75, 1)
    diag = RunDiagnostics(histograms=[Histograms(1, ["a"], [half], [None]), Histograms(2, ["a"], [other], [None])])
    hm = histogram_matrix(diag, "a", "grad", bins=4)  # common edges 0, .5, 1, 1.5, 2
    assert hm is not None
    assert hm.shares[:, 0].tolist() == pytest.approx([0.5, 0.5, 0.0, 0.0])
    assert hm.shares[:, 1].tolist() == pytest.approx([0.0, 1.0, 0.0, 0.0])


def test_histogram_of_a_layer_missing_at_some_steps_or_constant_or_absent() -> None:
    diag = synthetic_cnn_diagnostics()
    assert histogram_layers(diag, "grad") == ["conv1", "conv2", "block1/conv3", "fc"]
    assert histogram_layers(diag, "act") == LAYERS
    assert histogram_matrix(diag, "relu1", "grad") is None
    hm = histogram_matrix(diag, "relu1", "act")
    assert hm is not None and hm.shares.shape == (64, 10)
    assert hm.edges[0] == pytest.approx(0.0)  # ReLU outputs: nothing below zero
    zeros = Histogram(lo=0.0, hi=0.0, counts=[5] + [0] * 31)
    flat = RunDiagnostics(histograms=[Histograms(3, ["a", "b"], [zeros, None], [None, None])])
    hm = histogram_matrix(flat, "a", "grad", bins=8)
    assert hm is not None and hm.edges[0] < 0.0 < hm.edges[-1]
    assert np.nansum(hm.shares) == pytest.approx(1.0) and hm.shares[4, 0] == 1.0  # the bin holding 0


def test_uneven_samples_are_held_on_an_even_grid() -> None:
    steps = np.array([10, 20, 30, 60])
    values = np.array([[1.0, 2.0, 3.0, 4.0]])
    grid, held = uniform_columns(steps, values)
    assert grid.tolist() == [10, 20, 30, 40, 50, 60]
    assert held.tolist() == [[1.0, 2.0, 3.0, 3.0, 3.0, 4.0]]
    even = np.array([5, 10, 15])
    same_grid, same = uniform_columns(even, values[:, :3])
    assert same_grid is even and same is not None and same.shape == (1, 3)
    long_grid, long_values = uniform_columns(np.array([0, 1, 100_000]), np.zeros((2, 3)), max_columns=100)
    assert len(long_grid) <= 100 and long_values.shape == (2, len(long_grid))


def test_shrinking_gradients_get_enough_common_bins_to_keep_the_newest_sample_resolved() -> None:
    wide = Histogram(lo=-1.0, hi=1.0, counts=[1] * 32)
    narrow = Histogram(lo=-0.01, hi=0.01, counts=[0] * 15 + [5, 5] + [0] * 15)  # 100× narrower
    diag = RunDiagnostics(histograms=[Histograms(10, ["a"], [wide], [None]), Histograms(20, ["a"], [narrow], [None])])
    hm = histogram_matrix(diag, "a", "grad")
    assert hm is not None and hm.shares.shape == (1024, 2)  # capped; 32 × 100 would be 3,200
    assert hm.newest_range() == (-0.01, 0.01)
    inside = (hm.edges[:-1] >= -0.01) & (hm.edges[1:] <= 0.01)
    assert np.count_nonzero(inside) >= 8  # the narrow sample's range spans several common bins, not one
    centre = hm.edges[:-1][hm.shares[:, 1] > 0]
    assert np.all(np.abs(centre) < 0.002)  # and its values sit at its centre, where its histogram put them
    assert hm.shares[:, 1].sum() == pytest.approx(1.0)
