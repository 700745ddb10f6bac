"""Diagnostics of one run as plain records: what :mod:`.capture` measures while training, what the store
keeps (one compressed row per record, see ``core/store/diagnostics.py``), and what the rules and the analyst
views read. Layers are graph node paths (``block1/conv2`` inside blocks), in the model's order; a value that
does not apply to a layer (no weights, no activation statistic) is None.

Record kinds, each with its ``step`` (the global training step after which it was taken):

* ``layers``: per-layer gradient norm, weight norm, update/weight ratio and activation statistics;
* ``histograms``: 32-bin histograms of each layer's gradients and activations (sampled on large tensors);
* ``inputs``: per-channel mean/std and min/max of the inputs, and the label histogram, once per epoch;
* ``nonfinite``: the first NaN/Inf and where it appeared (the loss, a layer's output, a layer's gradient).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RECORD_KINDS = ("layers", "histograms", "inputs", "nonfinite")
LEVELS = ("off", "basic", "full")  # `train --diagnostics`
HIST_BINS = 32

Value = float | None


@dataclass
class LayerStats:
    step: int
    layers: list[str]
    grad_norm: list[Value]  # L2 norm of the layer's parameter gradients (all its parameters together)
    weight_norm: list[Value]  # L2 norm of its parameters
    update_ratio: list[Value]  # ‖Δw‖ / ‖w‖ of the optimizer step just taken
    act_mean: list[Value]  # of the layer's output
    act_std: list[Value]
    act_zero_frac: list[Value]  # exact zeros in the output: ReLU-family layers only
    act_sat_frac: list[Value]  # outputs within 0.01 of a bound: sigmoid (0, 1) and tanh (-1, 1) only


@dataclass
class Histogram:
    """32 bins from ``lo`` to ``hi`` (equal widths); ``counts`` sum to the number of values sampled."""

    lo: float
    hi: float
    counts: list[int]


@dataclass
class Histograms:
    step: int
    layers: list[str]
    grad: list[Histogram | None]
    act: list[Histogram | None]


@dataclass
class InputStats:
    step: int
    epoch: int
    channel_mean: list[float]  # per input channel (the one feature axis for tabular data)
    channel_std: list[float]
    min: float
    max: float
    label_counts: list[int] | None  # classification: examples per class in this epoch's training data


@dataclass
class NonFinite:
    step: int
    where: str  # loss | activation | gradient
    layer: str | None  # the first layer (in model order) where it appeared; None for the loss


@dataclass
class RunDiagnostics:
    """Everything captured for one run, oldest first. ``level`` is the capture level the run used."""

    level: str = "basic"
    layers: list[LayerStats] = field(default_factory=list)
    histograms: list[Histograms] = field(default_factory=list)
    inputs: list[InputStats] = field(default_factory=list)
    nonfinite: list[NonFinite] = field(default_factory=list)

    def add(self, kind: str, record: Any) -> None:
        getattr(self, kind).append(record)

    def series(self, stat: str, layer: str) -> list[tuple[int, float]]:
        """One layer's statistic over time, e.g. ``series("grad_norm", "conv1")``, skipping missing values."""
        out: list[tuple[int, float]] = []
        for rec in self.layers:
            if layer in rec.layers:
                value = getattr(rec, stat)[rec.layers.index(layer)]
                if value is not None:
                    out.append((rec.step, value))
        return out


def record_to_json(record: Any) -> dict[str, Any]:
    return asdict(record)


def record_from_json(kind: str, data: dict[str, Any]) -> Any:
    if kind == "layers":
        return LayerStats(**data)
    if kind == "histograms":
        def hist(h: dict[str, Any] | None) -> Histogram | None:
            return None if h is None else Histogram(**h)
        return Histograms(step=data["step"], layers=data["layers"], grad=[hist(h) for h in data["grad"]],
                          act=[hist(h) for h in data["act"]])
    if kind == "inputs":
        return InputStats(**data)
    if kind == "nonfinite":
        return NonFinite(**data)
    raise ValueError(f"not a diagnostics record kind: {kind!r}")
