"""What multi-head attention and the Transformer layers keep for the backward pass (torch on the CPU).

``nn.MultiheadAttention`` (batch first, ``need_weights=False``) transposes its inputs to time-major, projects
them (``F.linear``: it keeps each input as a matrix, a copy when the transposed input is not contiguous) into
one tensor for self-attention (q, k and v side by side), two for cross-attention (q; k and v) or three, then
runs scaled dot-product attention. Without dropout torch takes its fused kernel, which keeps q, k, v, the
output and the log-sum-exp per query; with dropout it takes the reference path, which keeps the scaled q and
k, the attention probabilities, the dropout mask and the dropped probabilities (three tensors of N·h·T·S),
v, and a contiguous copy of the output for the output projection. The result is the time-major output
transposed back: a view whose memory is not in (N, T, E) order.

A Transformer layer adds its LayerNorms (input, mean and 1/σ per position), dropouts (a float mask each)
and the feed-forward block (the hidden layer of N·T·dim_feedforward, kept by the activation, the dropout
and the second linear layer).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.catalog.autograd_rules import dropout_keeps, linear_keeps
from neuralforge_desktop.core.catalog.memory_spec import CONTIGUOUS, Autograd, Layout, Placement, Saved

Shapes = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class Source:
    """A (N, L, features) tensor attention reads: how it is kept when kept as it is, its layout, and whether
    it carries a gradient."""

    kept: Saved
    shape: tuple[int, ...]
    layout: Layout
    needs_grad: bool


def _port(port: str, x: Shapes, grad: Autograd) -> Source:
    return Source(Saved.input(port), x[port], grad.layout(port), grad.needs(port))


def _fresh(name: str, shape: tuple[int, ...]) -> Source:
    """A contiguous tensor made inside the layer (a LayerNorm's output)."""
    return Source(Saved.inner(math.prod(shape), name=name), shape, CONTIGUOUS, True)


def _projected(src: Source, trains: bool, bias: bool, out_features: int) -> list[Saved]:
    """What ``F.linear(src.transpose(0, 1), …)`` keeps of its input."""
    n, length, features = src.shape
    time_major = (length, n, features)
    kept = linear_keeps("_", time_major, src.layout.permuted(src.shape, [1, 0, 2]), src.needs_grad, trains, bias,
                        out_features)
    return [src.kept if s.kind == "input" else s for s in kept]


def attention_keeps(query: Source, key: Source, value: Source, key_is_query: bool, value_is_key: bool,
                    heads: int, dropout: float, bias: bool, trains: bool, tag: str = "") -> list[Saved]:
    """What one ``nn.MultiheadAttention`` call keeps (training, ``need_weights=False``); ``tag`` keeps the
    names of its inner tensors apart from another call's in the same layer."""
    n, t, e = query.shape
    s = key.shape[1]
    packed = key.shape[2] == e and value.shape[2] == e  # one in-projection weight (kdim = vdim = embed_dim)
    kept: list[Saved] = []
    if packed and key_is_query and value_is_key:
        kept += _projected(query, trains, bias, 3 * e)
        q = k = v = Saved.inner(3 * n * t * e, name=tag + "qkv")
    elif packed and value_is_key:
        kept += _projected(query, trains, bias, e) + _projected(key, trains, bias, 2 * e)
        q, kv = Saved.inner(n * t * e, name=tag + "q"), Saved.inner(2 * n * s * e, name=tag + "kv")
        k = v = kv
    else:  # three projections (a tensor passed twice is projected twice: two copies, or one shared view)
        kept += _projected(query, trains, bias, e) + _projected(key, trains, bias, e)
        kept += _projected(value, trains, bias, e)
        q, k, v = (Saved.inner(n * length * e, name=tag + name) for name, length in (("q", t), ("k", s), ("v", s)))
    scores = n * heads * t * s
    if dropout == 0:  # the fused kernel
        kept += [q, k, v, Saved.inner(n * t * e), Saved.inner(n * heads * t, "float32")]  # output, log-sum-exp
        return kept
    kept += [Saved.inner(n * t * e), Saved.inner(n * s * e)]  # q and kᵀ scaled
    kept += [Saved.inner(scores)] + dropout_keeps(dropout, scores) + [Saved.inner(scores)]  # probabilities
    kept.append(v)
    if trains:
        kept.append(Saved.inner(n * t * e))  # the output made contiguous for the output projection
    return kept


# -- nn.MultiheadAttention ------------------------------------------------------------------------------
def mha_saves(p: Any, x: Shapes, grad: Autograd) -> list[Saved]:
    key_port = "key" if "key" in x else "query"
    value_port = "value" if "value" in x else key_port
    query, key, value = _port("query", x, grad), _port(key_port, x, grad), _port(value_port, x, grad)
    return attention_keeps(query, key, value, grad.same_tensor("query", key_port) or key_port == "query",
                           grad.same_tensor(key_port, value_port) or value_port == key_port,
                           p.num_heads, p.dropout, p.bias, grad.trains_params)


def _time_major_result(x: Shapes) -> Layout:
    """The (T, N, E) result seen as (N, T, E)."""
    n, t, e = x["query"] if "query" in x else x["x"]
    return CONTIGUOUS.permuted((t, n, e), [1, 0, 2])


def mha_layout(p: Any, x: Shapes, layout: Layout) -> Placement:
    return Placement(view=False, layout=_time_major_result(x))


# -- Transformer layers ---------------------------------------------------------------------------------
def _layer_norm(kept: Saved, rows: int) -> list[Saved]:
    return [kept, Saved.inner(rows, "float32"), Saved.inner(rows, "float32")]


def _feed_forward(p: Any, src: Source, trains: bool) -> list[Saved]:
    """linear1 → activation → dropout → linear2 → dropout."""
    n, t, e = src.shape
    hidden = n * t * p.dim_feedforward
    kept = [src.kept if s.kind == "input" else s
            for s in linear_keeps("_", src.shape, CONTIGUOUS, True, trains, p.bias, p.dim_feedforward)]
    activated = Saved.inner(hidden, name="activated")
    if p.activation == "relu":
        kept.append(activated)  # ReLU keeps its output
    else:
        kept.append(Saved.inner(hidden))  # GELU keeps its input, the first linear layer's output
    dropped = activated
    if p.dropout > 0:
        kept += dropout_keeps(p.dropout, hidden)
        dropped = Saved.inner(hidden, name="dropped")
    if trains:
        kept.append(dropped)  # the second linear layer's input
    return kept + dropout_keeps(p.dropout, n * t * e)


def transformer_saves(decoder: bool) -> Any:
    def saves(p: Any, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
        n, t, e = x["x"]
        rows, size = n * t, n * t * e
        trains = grad.trains_params
        source = _port("x", x, grad)
        memory = _port("memory", x, grad) if decoder else None
        blocks = ["self", "cross", "ff"] if decoder else ["self", "ff"]
        kept: list[Saved] = []
        for i, block in enumerate(blocks):
            if p.norm_first:  # h = x + block(norm(x)): the norm keeps the running sum
                kept += _layer_norm(source.kept, rows)
                inner = _fresh(f"norm{i}", (n, t, e))
            else:  # h = norm(x + block(x)): the norm keeps the sum; its output is the next block's input
                inner = source
            if block == "ff":
                kept += _feed_forward(p, inner, trains)
            else:
                other = memory if block == "cross" and memory is not None else inner
                kept += attention_keeps(inner, other, other, other is inner, True, p.nhead, p.dropout, p.bias,
                                        trains, tag=f"{block}.")
                kept += dropout_keeps(p.dropout, size)
            summed = Saved.inner(size, name=f"sum{i}")
            if p.norm_first:
                source = Source(summed, (n, t, e), source.layout, True)
            else:
                kept += _layer_norm(summed, rows)
                source = _fresh(f"norm{i}", (n, t, e))
        return kept

    return saves


def transformer_layout(p: Any, x: Shapes, layout: Layout) -> Placement:
    """Post-norm ends in a LayerNorm (new, contiguous); pre-norm in a sum laid out like the input."""
    return Placement(view=False, layout=layout.dense(x["x"]) if p.norm_first else CONTIGUOUS)
