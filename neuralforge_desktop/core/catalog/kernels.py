"""What a layer runs at inference, kernel by kernel: the description the latency model predicts from.

The idea is nn-Meter's (Zhang et al., MobiSys 2021): a model's latency is the sum of its kernels' latencies, and
each kernel is predicted from measured kernels *of the same kind* on the same machine, because a convolution, a
matrix product, a recurrent step and an elementwise op each have their own fixed cost and their own efficiency
curve. A catalog entry declares its kernels with a :data:`LatencyRule` (``LayerDef.latency``); the latency
model (``core/analysis/latency.py``) never asks for a type name.

Each :class:`Kernel` names its :class:`KernelKind` and the sizes the kind is predicted from (``dims``, documented
per kind below). ``launches`` runs the same kernel that many times one after another: a recurrent layer's time
steps, which cannot overlap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

Shapes = Mapping[str, tuple[int, ...]]


class KernelKind:
    """The kinds of work the CPU calibration measures (``dims`` in brackets)."""

    VIEW = "view"  # no data moved: a view, a dropout at inference; only the call itself costs
    CONV = "conv"  # [taps, in channels per group, out channels per group, groups, output positions]
    CONV_TRANSPOSE = "conv-transpose"  # as CONV
    MATMUL = "matmul"  # [batch, m, k, n]: batch × (m×k @ k×n); a Linear layer is batch 1, m = rows
    ATTENTION = "attention"  # [batch, query length, key length, embed, heads, key dim, value dim, masked]:
    # projections, scaled dot-product attention and the output projection of one multi-head attention call;
    # masked is 1 when a causal or padding mask goes in (torch then takes its slower, unfused path)
    RECURRENT = "recurrent"  # [gates, batch, input size, hidden size, first]; launches = time steps (one layer
    # and direction): the input projection of all steps at once, then one step per launch; ``first`` is 1 on the
    # kernel that starts the module call (its fixed cost is paid once, not per layer)
    ELEMENTWISE = "elementwise"  # [elements read and written]: cheap arithmetic (ReLU, add, multiply)
    ELEMENTWISE_MATH = "elementwise-math"  # [elements read and written]: exp/tanh/erf per element (GELU,
    # sigmoid, softmax)
    NORM_AFFINE = "norm-affine"  # [elements read and written]: a per-channel scale and shift (batch norm at
    # inference, with its running statistics)
    NORM_STATS = "norm-stats"  # [elements read and written]: statistics computed from the input (layer norm)
    POOL = "pool"  # [elements read and written, window size]
    REDUCE = "reduce"  # [elements read and written]: a mean or sum over whole dimensions
    GATHER = "gather"  # [elements gathered and written]: rows looked up in a table
    COPY = "copy"  # [elements read and written]: concatenation, resizing, making a tensor contiguous

    ALL = (VIEW, CONV, CONV_TRANSPOSE, MATMUL, ATTENTION, RECURRENT, ELEMENTWISE, ELEMENTWISE_MATH, NORM_AFFINE,
           NORM_STATS, POOL, REDUCE, GATHER, COPY)


class Kernel(NamedTuple):
    """One kernel of a layer's forward pass at inference (see :class:`KernelKind` for ``dims``)."""

    kind: str
    dims: tuple[int, ...] = ()
    launches: int = 1
    note: str = ""  # what this kernel is, for the per-kernel breakdown ("input projection")


LatencyRule = Callable[[Any, Shapes, Shapes], Sequence[Kernel]]  # (params, input shapes, output shapes)


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


def io_elements(x: Shapes, y: Shapes) -> int:
    """Elements read and written: every input and output tensor once."""
    return sum(numel(s) for s in x.values()) + sum(numel(s) for s in y.values())


# -- rules entries share -------------------------------------------------------------------------------------
def runs_view(p: Any, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    """A call that moves no data (a view, a dropout at inference)."""
    return (Kernel(KernelKind.VIEW),)


def runs_elementwise(p: Any, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    return (Kernel(KernelKind.ELEMENTWISE, (io_elements(x, y),)),)


def runs_elementwise_math(p: Any, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    return (Kernel(KernelKind.ELEMENTWISE_MATH, (io_elements(x, y),)),)


def runs_norm_affine(p: Any, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    return (Kernel(KernelKind.NORM_AFFINE, (io_elements(x, y),)),)


def runs_norm_stats(p: Any, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    return (Kernel(KernelKind.NORM_STATS, (io_elements(x, y),)),)


def runs_reduce(p: Any, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    return (Kernel(KernelKind.REDUCE, (io_elements(x, y),)),)


def runs_copy(p: Any, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    return (Kernel(KernelKind.COPY, (io_elements(x, y),)),)


def runs_gather(p: Any, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    """A lookup reads the rows it gathers (as many as it writes), not the whole table."""
    written = sum(numel(s) for s in y.values())
    return (Kernel(KernelKind.GATHER, (2 * written,)),)


def pool_kernel(window: int, x: Shapes, y: Shapes) -> Kernel:
    return Kernel(KernelKind.POOL, (io_elements(x, y), max(1, window)))


def matmul_kernel(m: int, k: int, n: int, batch: int = 1, note: str = "") -> Kernel:
    return Kernel(KernelKind.MATMUL, (max(1, batch), max(1, m), max(1, k), max(1, n)), note=note)


def linear_kernel(rows: int, in_features: int, out_features: int, note: str = "") -> Kernel:
    """``rows`` vectors through a dense layer: one matrix product (the bias add is fused into it)."""
    return matmul_kernel(rows, in_features, out_features, note=note)


def conv_kernel(kind: str, taps: int, cin: int, cout: int, groups: int, positions: int) -> Kernel:
    """A convolution: ``taps`` kernel positions, ``cin``/``cout`` channels in all (divided by ``groups`` here),
    ``positions`` output positions over the batch."""
    groups = max(1, groups)
    return Kernel(kind, (max(1, taps), max(1, cin // groups), max(1, cout // groups), groups, max(1, positions)))


def attention_kernel(batch: int, t: int, s: int, embed: int, heads: int, kdim: int, vdim: int,
                     masked: bool = False) -> Kernel:
    return Kernel(KernelKind.ATTENTION, (max(1, batch), max(1, t), max(1, s), max(1, embed), max(1, heads),
                                         max(1, kdim), max(1, vdim), int(masked)))


def recurrent_kernel(gates: int, batch: int, input_size: int, hidden: int, steps: int, note: str = "",
              first: bool = True) -> Kernel:
    return Kernel(KernelKind.RECURRENT, (max(1, gates), max(1, batch), max(1, input_size), max(1, hidden),
                                         int(first)), launches=max(1, steps), note=note)
