"""The tensor arithmetic behind the diagnostics: strided samples, histograms and input statistics, computed on
the tensor's own device without a host synchronisation (the values are read once per record, together).

Nothing here draws random numbers: training's random streams (shuffling, dropout, augmentation) must not
see whether diagnostics ran, or a run with them would differ from one without (and exact resume would break).
Samples are therefore strided: every k-th value, which for activations and gradients laid out channel by
channel still visits every channel."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from neuralforge_desktop.core.training.coach.records import HIST_BINS, Histogram, InputStats

# At most this many values per histogram: 32 bins are well estimated from 64k values, and a sample this size
# costs the same whether the layer has a thousand values or a billion.
HIST_SAMPLE = 65_536
# At most this many input values per epoch's statistics (64 MB of float32): more does not change a mean.
INPUT_SAMPLE = 1 << 24


def strided_sample(tensors: Sequence[Any], limit: int = HIST_SAMPLE) -> Any:
    """At most ``limit`` values from ``tensors`` together, as one flat float32 tensor: every k-th value of
    each, so no full copy of a large tensor is ever made."""
    import torch

    total = sum(t.numel() for t in tensors)
    stride = max(1, math.ceil(total / limit))
    parts = [t.detach().reshape(-1)[::stride].float() for t in tensors]
    return torch.cat(parts)[:limit] if parts else torch.zeros(0)


def histogram_parts(values: Any) -> Any:
    """The finite values' histogram as one tensor on their device: ``[lo, hi, count_0 … count_31]``. The
    bins span [lo, hi] in equal widths; a constant tensor puts everything in the first bin."""
    import torch

    finite = torch.isfinite(values)
    lo = torch.where(finite, values, math.inf).amin() if values.numel() else values.new_tensor(math.inf)
    hi = torch.where(finite, values, -math.inf).amax() if values.numel() else values.new_tensor(-math.inf)
    width = (hi - lo).clamp_min(torch.finfo(torch.float32).tiny)
    index = ((values - lo) / width * HIST_BINS).nan_to_num(0.0, 0.0, 0.0).floor().clamp(0, HIST_BINS - 1).long()
    counts = torch.bincount(index, weights=finite.float(), minlength=HIST_BINS)
    return torch.cat([torch.stack([lo, hi]).float(), counts.float()])


def histogram_from(parts: Sequence[float]) -> Histogram | None:
    """The :class:`Histogram` of :func:`histogram_parts`' numbers once read; None when no value was finite."""
    lo, hi, *counts = parts
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return Histogram(lo=float(lo), hi=float(hi), counts=[int(round(c)) for c in counts])


def input_stats(x: Any, y: Any | None, classes: int | None, *, step: int, epoch: int) -> InputStats:
    """Per-channel mean and std (channel axis 1 for images and sequences, each feature for tabular rows),
    min and max of the inputs ``x`` as the model sees them, and the examples per class of ``y`` (when given).
    A huge dataset is sampled: every k-th example."""
    import torch

    stride = max(1, math.ceil(x.numel() / INPUT_SAMPLE))
    sample = x.detach()[::stride].float()
    if sample.dim() == 1:
        sample = sample[:, None]
    dims = [d for d in range(sample.dim()) if d != 1]
    std, mean = torch.std_mean(sample, dim=dims, correction=0)
    numbers = torch.cat([mean, std, sample.amin().reshape(1), sample.amax().reshape(1)]).tolist()
    channels = mean.numel()
    label_counts = None
    if y is not None and classes and not y.is_floating_point():
        labels = y.detach().reshape(-1)
        labels = labels[::max(1, math.ceil(labels.numel() / INPUT_SAMPLE))]
        labels = labels[(labels >= 0) & (labels < classes)]  # e.g. -100, the "ignore this position" label
        label_counts = torch.bincount(labels, minlength=classes).tolist()
    return InputStats(step=step, epoch=epoch, channel_mean=numbers[:channels],
                      channel_std=numbers[channels:2 * channels], min=numbers[-2], max=numbers[-1],
                      label_counts=label_counts)
