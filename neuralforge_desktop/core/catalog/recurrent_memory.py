"""What the recurrent layers keep for the backward pass, as torch runs them on the CPU.

GRU and the plain RNN run step by step: the input projections of all steps are computed at once (keeping the
layer's input, as a matrix), then every step keeps the previous hidden state for the recurrent weights'
gradient and its own gate values — the RNN its new state, the GRU its three gates, two copies it must keep
because it updates them in place and its candidate state. The zero initial states are one tensor for all
layers and directions. Between stacked layers dropout keeps its mask and the dropped output.

The LSTM runs as one oneDNN kernel per layer and direction, which keeps the input, initial and final states,
the output and a workspace whose size oneDNN chooses. :func:`lstm_workspace_bytes` follows oneDNN's layout as
far as it shows from outside (gate and state rows padded, parts rounded to 4 KiB pages); it is within 13 % of
the sizes measured, and marked inexact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from neuralforge_desktop.core.catalog.autograd_rules import dropout_keeps, linear_keeps
from neuralforge_desktop.core.catalog.memory_spec import (
    CONTIGUOUS,
    Autograd,
    Layout,
    Placement,
    Saved,
    SavedRule,
)

Shapes = Mapping[str, tuple[int, ...]]
_GATES = {"GRU": 3, "RNN": 1}
_PAGE = 4096


def _row(width: int) -> int:
    """oneDNN's padded row length (floats): a multiple of 16, and not of 256 (cache-set conflicts)."""
    padded = -(-width // 16) * 16
    return padded + 16 if padded % 256 == 0 else padded


def _pages(nbytes: int) -> int:
    return -(-nbytes // _PAGE) * _PAGE


def lstm_workspace_bytes(steps: int, batch: int, features: int, hidden: int) -> int:
    """The workspace oneDNN keeps for one LSTM layer and direction: the gates of every step (twice), the
    layer and iteration states and the cell states of every step and the initial one, and two more pages."""
    gates = _pages(steps * batch * _row(4 * hidden) * 4)
    states = _pages(2 * (steps + 1) * batch * _row(max(features, hidden)) * 4)
    cells = _pages(2 * (steps + 1) * batch * _row(hidden) * 4)
    return 2 * gates + 2 * states + cells + 2 * _PAGE


def _steps_batch(p: Any, shape: tuple[int, ...]) -> tuple[int, int]:
    return (shape[1], shape[0]) if p.batch_first else (shape[0], shape[1])


def _time_major(p: Any, shape: tuple[int, ...], grad: Autograd) -> tuple[tuple[int, ...], Layout]:
    """The (T, N, features) tensor the first layer reads: batch-first input is transposed to time-major."""
    layout = grad.layout("x")
    if p.batch_first:
        return (shape[1], shape[0], shape[2]), layout.permuted(shape, [1, 0, 2])
    return shape, layout


def recurrent_saves(kind: str) -> SavedRule:
    if kind == "LSTM":
        return _lstm_saves

    def saves(p: Any, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
        steps, batch = _steps_batch(p, x["x"])
        hidden, directions, layers = p.hidden_size, 2 if p.bidirectional else 1, p.num_layers
        state = batch * hidden
        gates = _GATES[kind]
        features = x["x"][-1]
        time_major, layout = _time_major(p, x["x"], grad)
        folds = layout.viewed(time_major, (steps * batch, features)) is not None
        kept: list[Saved] = []
        if grad.trains_params:
            kept.append(Saved.inner(directions * layers * state))  # the zero initial states, one tensor
        for layer in range(layers):
            width = features if layer == 0 else directions * hidden
            shape = (steps, batch, width)
            if layer == 0:  # each direction projects the input: one shared view, or one copy each
                for _ in range(1 if folds else directions):
                    kept += linear_keeps("x", time_major, layout, grad.needs("x"), grad.trains_params, p.bias,
                                         gates * hidden)
            else:
                if p.dropout > 0:
                    kept += dropout_keeps(p.dropout, math.prod(shape))
                if grad.trains_params:
                    kept.append(Saved.inner(math.prod(shape)))  # the stacked (or dropped) output below
            for _ in range(directions):
                if kind == "RNN":  # each new state (the nonlinearity's output); h₀ is counted above
                    kept.append(Saved.inner(steps * state))
                else:  # gates (3H), two copies kept for in-place products, the candidate (H) per step
                    kept.append(Saved.inner(steps * (gates + 3) * state))
                    if grad.trains_params:  # the states h₁ … h_{T−1} the recurrent product keeps
                        kept.append(Saved.inner((steps - 1) * state))
        return kept

    return saves


def _lstm_saves(p: Any, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    steps, batch = _steps_batch(p, x["x"])
    hidden, directions, layers = p.hidden_size, 2 if p.bidirectional else 1, p.num_layers
    state = batch * hidden
    features = x["x"][-1]
    kept: list[Saved] = []
    time_major, layout = _time_major(p, x["x"], grad)
    if layout.is_contiguous(time_major):
        kept.append(Saved.input("x"))
    else:
        kept.append(Saved.inner(steps * batch * features))  # made contiguous once, for both directions
    kept += [Saved.inner(directions * layers * state), Saved.inner(directions * layers * state)]  # h₀, c₀
    for layer in range(layers):
        width = features if layer == 0 else directions * hidden
        if layer > 0:
            below = steps * batch * width
            if p.dropout > 0:
                kept += dropout_keeps(p.dropout, below)
                kept.append(Saved.inner(below))  # the dropped output the layer reads
            elif directions == 2:
                kept.append(Saved.inner(below))  # both directions concatenated
        for _ in range(directions):
            kept += [Saved.inner(steps * state), Saved.inner(state), Saved.inner(state)]  # output, h_T, c_T
            kept.append(Saved.inner(lstm_workspace_bytes(steps, batch, width, hidden), "uint8", exact=False))
            if not p.bias:  # without biases the kernel gets copies of the weights
                kept.append(Saved.inner(4 * hidden * (width + hidden)))
    return kept


def recurrent_layout(p: Any, x: Shapes, layout: Layout) -> Placement:
    """The outputs are new; a batch-first ``y`` is the time-major result transposed (a view of it)."""
    if not p.batch_first:
        return Placement(view=False)
    batch, steps = x["x"][0], x["x"][1]
    width = (2 if p.bidirectional else 1) * p.hidden_size
    return Placement(view=False, ports=(("y", CONTIGUOUS.permuted((steps, batch, width), [1, 0, 2])),))
