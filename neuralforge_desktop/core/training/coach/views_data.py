"""The arrays the Diagnostics views draw, computed from a :class:`RunDiagnostics` (no Qt here).

* :func:`layer_matrix`: one per-layer statistic as a matrix layers × samples (NaN where a sample lacks it),
  for the gradient-flow heat map and the update/weight and activation charts;
* :func:`latest_values`: the newest value each layer has of a statistic (the gradient-flow bars);
* :func:`histogram_matrix`: one layer's gradient or activation histograms over time, resampled onto one
  common set of bins (each record has its own ``lo``/``hi``), each column a share of that sample's values;
* :func:`uniform_columns`: samples taken at uneven steps put on an even step grid, so an image whose
  columns are drawn at equal widths puts each sample at its real step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuralforge_desktop.core.training.coach.records import Histograms, LayerStats, RunDiagnostics

LAYER_STATS = ("grad_norm", "weight_norm", "update_ratio", "act_mean", "act_std", "act_zero_frac", "act_sat_frac")
HISTOGRAM_KINDS = ("grad", "act")
COMMON_BINS = 64  # the fewest common bins a histogram matrix gets
MAX_COMMON_BINS = 1024  # the most: a layer whose values shrank 30× keeps its newest samples' 32 bins apart
MAX_COLUMNS = 2000  # an even grid finer than this gains nothing on screen and costs memory


@dataclass
class LayerMatrix:
    """``values[i, j]``: layer ``layers[i]`` at sample ``j`` (taken after step ``steps[j]``); NaN: missing."""

    stat: str
    layers: list[str]
    steps: np.ndarray  # (samples,) int64
    values: np.ndarray  # (layers, samples) float64

    @property
    def empty(self) -> bool:
        return not self.layers or self.steps.size == 0


@dataclass
class HistogramMatrix:
    """``shares[b, j]``: the share of sample ``j``'s values that fell in bin ``b``, the bins being
    ``edges[b]``–``edges[b + 1]`` (equal widths from the lowest ``lo`` to the highest ``hi`` the layer's
    records have); a column sums to 1, or is NaN where that sample has no histogram for the layer."""

    layer: str
    kind: str  # grad | act
    steps: np.ndarray  # (samples,)
    edges: np.ndarray  # (bins + 1,)
    shares: np.ndarray  # (bins, samples)
    counts: np.ndarray  # (samples,) values sampled per column (0 where missing)
    ranges: np.ndarray  # (samples, 2) each sample's own lo and hi (NaN where missing)

    def newest_range(self) -> tuple[float, float]:
        """The value range of the newest sample that has one (where a view zooms to see it closely)."""
        present = np.flatnonzero(self.counts > 0)
        lo, hi = self.ranges[present[-1]]
        return float(lo), float(hi)


def layer_order(diag: RunDiagnostics) -> list[str]:
    """Every layer the records name, in model order (the first record that names a layer places it)."""
    seen: dict[str, None] = {}
    records: list[LayerStats | Histograms] = [*diag.layers, *diag.histograms]
    for record in records:
        for name in record.layers:
            seen.setdefault(name, None)
    return list(seen)


def _check_stat(stat: str) -> None:
    if stat not in LAYER_STATS:
        raise ValueError(f"stat: one of {', '.join(LAYER_STATS)}, got {stat!r}")


def layer_matrix(diag: RunDiagnostics, stat: str, only_with_values: bool = True) -> LayerMatrix:
    """``stat`` of every layer over the ``layers`` records. With ``only_with_values`` a layer that never
    has the statistic (a ReLU has no gradient norm) is left out rather than drawn as an empty row."""
    _check_stat(stat)
    records: list[LayerStats] = sorted(diag.layers, key=lambda r: r.step)
    layers = layer_order(RunDiagnostics(layers=records))
    row = {name: i for i, name in enumerate(layers)}
    values = np.full((len(layers), len(records)), np.nan)
    for j, record in enumerate(records):
        for name, value in zip(record.layers, getattr(record, stat), strict=False):
            if value is not None:
                values[row[name], j] = value
    steps = np.array([r.step for r in records], dtype=np.int64)
    if only_with_values and values.size:
        keep = ~np.all(np.isnan(values), axis=1)
        layers = [name for name, kept in zip(layers, keep, strict=True) if kept]
        values = values[keep]
    return LayerMatrix(stat, layers, steps, values)


def latest_values(matrix: LayerMatrix) -> np.ndarray:
    """Per layer, its newest value in ``matrix`` (NaN if it has none)."""
    out = np.full(len(matrix.layers), np.nan)
    for i, row in enumerate(matrix.values):
        present = np.flatnonzero(~np.isnan(row))
        if present.size:
            out[i] = row[present[-1]]
    return out


def histogram_layers(diag: RunDiagnostics, kind: str) -> list[str]:
    """Layers with at least one ``kind`` histogram, in model order."""
    _check_kind(kind)
    have = {name for record in diag.histograms
            for name, hist in zip(record.layers, getattr(record, kind), strict=False) if hist is not None}
    return [name for name in layer_order(diag) if name in have]


def _check_kind(kind: str) -> None:
    if kind not in HISTOGRAM_KINDS:
        raise ValueError(f"kind: one of {', '.join(HISTOGRAM_KINDS)}, got {kind!r}")


def histogram_matrix(diag: RunDiagnostics, layer: str, kind: str = "grad",
                     bins: int | None = None) -> HistogramMatrix | None:
    """``layer``'s ``kind`` histograms over time on ``bins`` common bins, or None if it has none. Without
    ``bins``, enough bins (from ``COMMON_BINS`` to ``MAX_COMMON_BINS``) that the narrowest sample's own bins
    stay apart: gradients often shrink tenfold over a run, and the late samples would otherwise fall into a
    single common bin.

    A record's counts are spread over the common bins assuming values are evenly spread inside each of its
    own bins (the only assumption a histogram allows): the count moved into a common bin is the source
    bin's count times the share of the source bin that the common bin overlaps."""
    _check_kind(kind)
    records: list[Histograms] = sorted(diag.histograms, key=lambda r: r.step)
    found = []
    for j, record in enumerate(records):
        if layer in record.layers:
            hist = getattr(record, kind)[record.layers.index(layer)]
            if hist is not None and sum(hist.counts) > 0:
                found.append((j, hist))
    if not found:
        return None
    lo = min(h.lo for _, h in found)
    hi = max(h.hi for _, h in found)
    if not hi > lo:  # every value sampled was the same number: one bin around it still shows where it is
        pad = abs(lo) * 0.05 or 1e-12
        lo, hi = lo - pad, hi + pad
    if bins is None:
        narrowest = min((h.hi - h.lo for _, h in found if h.hi > h.lo), default=hi - lo)
        bins = int(min(MAX_COMMON_BINS, max(COMMON_BINS, np.ceil(len(found[0][1].counts) * (hi - lo) / narrowest))))
    edges = np.linspace(lo, hi, bins + 1)
    ranges = np.full((len(records), 2), np.nan)
    shares = np.full((bins, len(records)), np.nan)
    counts = np.zeros(len(records), dtype=np.int64)
    for j, hist in found:
        source = np.asarray(hist.counts, dtype=np.float64)
        total = source.sum()
        if hist.hi > hist.lo:
            source_edges = np.linspace(hist.lo, hist.hi, len(source) + 1)
            # The cumulative count is piecewise linear between the source edges: read it at the common edges.
            cumulative = np.concatenate([[0.0], np.cumsum(source)])
            moved = np.diff(np.interp(edges, source_edges, cumulative))
        else:  # a point mass at lo
            moved = np.zeros(bins)
            moved[min(int(np.searchsorted(edges, hist.lo, side="right")) - 1, bins - 1)] = total
        shares[:, j] = moved / total
        counts[j] = int(total)
        ranges[j] = (hist.lo, hist.hi)
    return HistogramMatrix(layer, kind, np.array([r.step for r in records], dtype=np.int64), edges, shares, counts,
                           ranges)


def uniform_columns(steps: np.ndarray, values: np.ndarray,
                    max_columns: int = MAX_COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (rows × samples, sampled after ``steps``) on an even grid of steps: each grid column holds
    the latest sample taken at or before it. Returns (grid steps, grid values); evenly spaced samples (the
    usual case: a capture every N steps) come back unchanged unless there are more than ``max_columns``."""
    steps = np.asarray(steps, dtype=np.int64)
    if steps.size < 2:
        return steps, values
    gaps = np.diff(steps)
    if np.all(gaps == gaps[0]) and steps.size <= max_columns:
        return steps, values
    span = int(steps[-1] - steps[0])
    spacing = max(int(gaps[gaps > 0].min()) if np.any(gaps > 0) else 1, -(-span // (max_columns - 1)), 1)
    grid = np.arange(steps[0], steps[-1] + 1, spacing, dtype=np.int64)
    index = np.searchsorted(steps, grid, side="right") - 1
    return grid, values[..., index]
