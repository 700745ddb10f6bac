"""A realistic RunDiagnostics without training: a 6-layer CNN (conv1, relu1, conv2, relu2, conv3, fc; the
ReLUs have no weights) over 500 steps, captured every 10 steps, histograms every 50. Gradients shrink
towards the early layers (conv1 about 300× below fc) and over training; update/weight ratios sit around
1e-3 for the late layers and well below it for conv1; ReLU outputs die a little as training goes on."""

from __future__ import annotations

import numpy as np

from neuralforge_desktop.core.training.coach.records import (
    HIST_BINS,
    Histogram,
    Histograms,
    LayerStats,
    NonFinite,
    RunDiagnostics,
)

LAYERS = ["conv1", "relu1", "conv2", "relu2", "block1/conv3", "fc"]
WEIGHTED = {"conv1": 0, "conv2": 1, "block1/conv3": 2, "fc": 3}  # depth among the layers with weights
STEPS = 500


def _histogram(rng: np.random.Generator, spread: float, relu: bool = False) -> Histogram:
    values = rng.normal(0.0, spread, 4000)
    if relu:
        values = np.maximum(values, 0.0)
    counts, edges = np.histogram(values, bins=HIST_BINS)
    return Histogram(lo=float(edges[0]), hi=float(edges[-1]), counts=[int(c) for c in counts])


def synthetic_cnn_diagnostics(steps: int = STEPS, every: int = 10, hist_every: int = 50, seed: int = 0,
                              nonfinite: bool = False) -> RunDiagnostics:
    rng = np.random.default_rng(seed)
    diag = RunDiagnostics(level="full")
    for step in range(every, steps + 1, every):
        progress = step / steps
        grad, weight, ratio = [], [], []
        mean, std, zero, sat = [], [], [], []
        for name in LAYERS:
            depth = WEIGHTED.get(name)
            if depth is None:  # a ReLU: no parameters; its output is the part that can die
                for out in (grad, weight, ratio, sat):
                    out.append(None)
                zero.append(float(np.clip(0.45 + 0.2 * progress + rng.normal(0, 0.01), 0, 1)))
                mean.append(0.4 - 0.1 * progress)
                std.append(0.6)
                continue
            # ~7× smaller per layer towards the input, and falling as the loss does
            g = 0.5 * 7.0 ** (depth - 3) * np.exp(-2.0 * progress) * np.exp(rng.normal(0, 0.15))
            w = 4.0 + depth + 0.5 * progress
            grad.append(float(g))
            weight.append(float(w))
            ratio.append(float(0.05 * g / w * np.exp(rng.normal(0, 0.1))))
            mean.append(float(rng.normal(0, 0.05)))
            std.append(1.0 + 0.1 * depth)
            zero.append(None)
            sat.append(None)
        diag.add("layers", LayerStats(step, list(LAYERS), grad, weight, ratio, mean, std, zero, sat))
        if step % hist_every == 0:
            grads = [None if (d := WEIGHTED.get(n)) is None else
                     _histogram(rng, 0.02 * 7.0 ** (d - 3) * np.exp(-2.0 * progress)) for n in LAYERS]
            acts = [_histogram(rng, 1.0 + 0.3 * progress, relu=n.startswith("relu")) for n in LAYERS]
            diag.add("histograms", Histograms(step, list(LAYERS), grads, acts))
    if nonfinite:
        diag.add("nonfinite", NonFinite(step=steps - 5, where="gradient", layer="fc"))
    return diag
