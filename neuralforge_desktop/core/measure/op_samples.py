"""The real torch ops the CPU calibration times, kind by kind (see ``core/catalog/kernels.py`` for the kinds).

Each :class:`OpSample` is one op at one size, with the features its table predicts from (log₂ of the kind's
sizes, exactly as ``core/analysis/latency.py`` computes them for a graph's kernels) and its work (MACs for
matrix kinds, elements read and written for memory-bound kinds, one step for recurrent steps). The sizes span
what networks use — tiny ops, where the fixed cost dominates, up to the large convolutions and the 268 MB
matrix-vector product of a batch-1 classifier head — without being any one model's layers. Ops run as
torch's functional calls, the way a module's forward runs them; the eager call overheads (a forward step, a
module call, entering a built model) are timed through the builder's own forward loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from neuralforge_desktop.core.analysis import latency as names
from neuralforge_desktop.core.catalog import kernels
from neuralforge_desktop.core.catalog.kernels import Kernel, KernelKind


@dataclass
class OpSample:
    table: str  # a table name, or "overhead:<name>" for the harness timings
    label: str
    features: tuple[float, ...]
    work: float
    fn: Callable[[], object]
    extra: tuple[int, ...] = ()  # sizes a derived table needs (recurrent: gates, batch, hidden, steps)


def _lg(*values: float) -> tuple[float, ...]:
    return tuple(math.log2(max(v, 1.0)) for v in values)


def build_samples(torch: Any) -> list[OpSample]:
    """Every op the calibration times (allocates their tensors: a few hundred MB at most)."""
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(0)

    def randn(*shape: int) -> Any:
        return torch.randn(*shape, generator=gen)

    samples: list[OpSample] = []
    samples += _overheads(torch)

    # matrix products: a Linear layer's (rows, in, out), batch 1, and batched products
    shapes = [(m, k, n) for m in (1, 16, 128, 1024)
              for k, n in ((64, 64), (256, 1024), (1024, 256), (1024, 1024), (4096, 4096)) if m * k * n <= 2 ** 31]
    shapes += [(1, 16384, 4096), (1, 768, 32768), (1, 16, 16)]
    for m, k, n in shapes:
        x, w, b = randn(m, k), randn(n, k), randn(n)
        samples.append(OpSample(KernelKind.MATMUL, f"linear {m}×{k} → {n}", _lg(m, k, n), m * k * n,
                                _call(F.linear, x, w, b)))
    for bt, m, k, n in ((4, 16, 16, 16), (12, 128, 64, 128), (12, 128, 128, 64), (48, 256, 64, 256)):
        a, c = randn(bt, m, k), randn(bt, k, n)
        samples.append(OpSample("bmm", f"bmm {bt}×({m}×{k} @ {k}×{n})", _lg(bt, m, k, n), bt * m * k * n,
                                _call(torch.bmm, a, c)))
    for heads, t, head in ((2, 8, 8), (2, 128, 64), (4, 200, 32), (12, 128, 64), (12, 512, 64)):
        q, k_, v = randn(1, heads, t, head), randn(1, heads, t, head), randn(1, heads, t, head)
        samples.append(OpSample("sdpa", f"attention {heads} heads × {t}² × {head}", _lg(heads, t, t, head),
                                2 * heads * t * t * head, _call(F.scaled_dot_product_attention, q, k_, v)))

    # convolutions: (kernel, in, out, output size, stride)
    convs = [(3, 16, 32, 8, 1), (3, 16, 16, 56, 1), (3, 32, 32, 112, 1), (3, 64, 64, 56, 1), (3, 64, 64, 14, 1),
             (3, 128, 128, 28, 1), (3, 256, 256, 14, 1), (3, 512, 512, 7, 1), (3, 256, 256, 56, 1),
             (3, 1, 32, 28, 1), (3, 3, 64, 224, 1), (3, 3, 32, 112, 2), (3, 3, 16, 32, 1),
             (1, 16, 16, 8, 1), (1, 16, 64, 112, 1), (1, 64, 256, 56, 1), (1, 256, 64, 56, 1), (1, 128, 512, 28, 1),
             (1, 512, 2048, 7, 1), (1, 2048, 512, 7, 1),
             (7, 3, 64, 112, 2), (5, 1, 8, 28, 1), (5, 8, 16, 10, 1), (5, 32, 64, 28, 1)]
    for size, cin, cout, out, stride in convs:
        pad = size // 2
        x = randn(1, cin, out * stride, out * stride)
        w, b = randn(cout, cin, size, size), randn(cout)
        samples.append(OpSample(KernelKind.CONV, f"conv {size}×{size} {cin}→{cout} at {out}×{out}",
                                _lg(size * size, cin, cout, out * out), size * size * cin * cout * out * out,
                                _call(F.conv2d, x, w, b, stride, pad)))
    for channels, out, stride in ((16, 8, 1), (32, 112, 1), (96, 56, 2), (144, 56, 1), (192, 28, 1), (384, 14, 1),
                                  (960, 7, 1)):
        x = randn(1, channels, out * stride, out * stride)
        w, b = randn(channels, 1, 3, 3), randn(channels)
        samples.append(OpSample("conv-depthwise", f"depthwise 3×3 {channels} at {out}×{out}",
                                _lg(9, channels, out * out), 9 * channels * out * out,
                                _call(F.conv2d, x, w, b, stride, 1, 1, channels)))
    for size, cin, cout, side in ((2, 16, 8, 8), (2, 64, 32, 28), (2, 128, 64, 14), (2, 256, 128, 7),
                                  (2, 32, 16, 56), (3, 64, 32, 28)):
        x, w = randn(1, cin, side, side), randn(cin, cout, size, size)
        samples.append(OpSample(KernelKind.CONV_TRANSPOSE, f"transposed conv {size}×{size} {cin}→{cout} from "
                                f"{side}×{side}", _lg(size * size, cin, cout, side * side),
                                size * size * cin * cout * side * side,
                                _call(F.conv_transpose2d, x, w, randn(cout), 2, (size - 1) // 2, size % 2)))

    # memory-bound kinds: work = elements read and written
    for n in (2 ** 10, 2 ** 14, 2 ** 17, 2 ** 20, 2 ** 22):
        x = randn(n)
        samples.append(OpSample(KernelKind.ELEMENTWISE, f"relu {n:,}", _lg(2 * n), 2 * n, _call(torch.relu, x)))
        samples.append(OpSample(KernelKind.ELEMENTWISE_MATH, f"gelu {n:,}", _lg(2 * n), 2 * n, _call(F.gelu, x)))
    for n in (2 ** 12, 2 ** 18):
        x = randn(n // 128, 128)
        samples.append(OpSample(KernelKind.ELEMENTWISE_MATH, f"tanh {n:,}", _lg(2 * n), 2 * n, _call(torch.tanh, x)))
        samples.append(OpSample(KernelKind.ELEMENTWISE_MATH, f"softmax {n:,}", _lg(2 * n), 2 * n,
                                _call(torch.softmax, x, -1)))
    for channels, side in ((16, 8), (64, 56), (64, 112), (256, 14), (512, 7), (32, 112)):
        x = randn(1, channels, side, side)
        stats = (randn(channels), randn(channels).abs() + 1, randn(channels), randn(channels))
        n = x.numel()
        samples.append(OpSample(KernelKind.NORM_AFFINE, f"batch norm {channels}×{side}×{side}", _lg(2 * n), 2 * n,
                                _call(F.batch_norm, x, *stats, False)))
    for t, e in ((8, 16), (128, 128), (128, 768), (512, 768), (200, 128)):
        x, g, b = randn(1, t, e), randn(e), randn(e)
        samples.append(OpSample(KernelKind.NORM_STATS, f"layer norm {t}×{e}", _lg(2 * t * e), 2 * t * e,
                                _call(F.layer_norm, x, (e,), g, b)))
    for channels, side, window, stride in ((8, 8, 2, 2), (32, 28, 2, 2), (64, 112, 2, 2), (64, 112, 3, 2),
                                           (256, 28, 2, 2)):
        x = randn(1, channels, side, side)
        out = channels * (side // stride) ** 2
        samples.append(OpSample(KernelKind.POOL, f"max pool {window}×{window} {channels}×{side}×{side}",
                                _lg(x.numel() + out, window * window), x.numel() + out,
                                _call(F.max_pool2d, x, window, stride, window // 2 if window % 2 else 0)))
    for channels, side in ((512, 7), (2048, 7)):
        x = randn(1, channels, side, side)
        samples.append(OpSample(KernelKind.POOL, f"adaptive average pool {channels}×{side}×{side} → 1",
                                _lg(x.numel() + channels, side * side), x.numel() + channels,
                                _call(F.adaptive_avg_pool2d, x, 1)))
    for shape, dims in (((1, 16, 8), (1,)), ((1, 200, 128), (1,)), ((1, 512, 7, 7), (2, 3)),
                        ((1, 64, 56, 56), (2, 3))):
        x = randn(*shape)
        n = x.numel()
        samples.append(OpSample(KernelKind.REDUCE, f"mean of {'×'.join(map(str, shape))}", _lg(n), n,
                                _call(torch.mean, x, dims)))
    for t, e in ((8, 16), (128, 128), (128, 768), (512, 768)):
        table, ids = randn(30000 if e > 16 else 100, e), torch.randint(0, 100, (1, t), generator=gen)
        samples.append(OpSample(KernelKind.GATHER, f"embedding {t} × {e}", _lg(2 * t * e), 2 * t * e,
                                _call(F.embedding, ids, table)))
    for channels, side in ((8, 8), (64, 56), (128, 112), (256, 28)):
        a, c = randn(1, channels, side, side), randn(1, channels, side, side)
        n = 4 * a.numel()
        samples.append(OpSample(KernelKind.COPY, f"concat 2×{channels}×{side}×{side}", _lg(n), n,
                                _call(torch.cat, [a, c], 1)))

    # recurrent layers: one layer at several sequence lengths; the slope is the per-step time, what is left at
    # zero steps the call's fixed cost (derived once the matrix products, which give the input projections, are
    # known)
    nn = torch.nn
    for gates, module in ((4, nn.LSTM), (3, nn.GRU), (1, nn.RNN)):
        for batch, hidden in ((1, 16), (1, 64), (1, 128), (1, 256), (1, 512), (8, 128)):
            layer = module(hidden, hidden, batch_first=True).eval()
            for steps in RECURRENT_STEPS:
                x = randn(batch, steps, hidden)
                samples.append(OpSample(f"recurrent-{gates}", f"{module.__name__}({hidden}) × {steps} steps, "
                                        f"batch {batch}", _lg(batch, hidden), 1.0, _call(layer, x),
                                        (gates, batch, hidden, steps)))
    # a tiny multi-head attention: its fixed cost beyond the projections and the attention kernel
    mha = nn.MultiheadAttention(16, 2, batch_first=True).eval()
    x = randn(1, 4, 16)
    samples.append(OpSample("overhead:" + names.ATTENTION_CALL, "multi-head attention 16-d, 2 heads, 4 tokens",
                            (), 1.0, lambda: mha(x, x, x, need_weights=False), (1, 4, 16, 2)))
    causal = torch.ones(4, 4, dtype=torch.bool).triu(1)  # as the built model passes it (made by its own kernels)
    samples.append(OpSample("overhead:" + names.ATTENTION_MASKED_CALL, "the same with a causal mask", (), 1.0,
                            lambda: mha(x, x, x, need_weights=False, attn_mask=causal, is_causal=True),
                            (1, 4, 16, 2)))
    return samples


def _call(fn: Callable[..., Any], *args: Any) -> Callable[[], object]:
    return lambda: fn(*args)


HARNESS_STEPS = 64
RECURRENT_STEPS = (8, 32, 128)
MIXED_REPEATS = 4  # the mixed sequence below, repeated: 4 × 8 steps


def _overheads(torch: Any) -> list[OpSample]:
    """The eager calls around kernels, timed through the model builder's own forward loop."""
    from neuralforge_desktop.core.build.torch_builder import _graph_module_class

    graph_module = _graph_module_class()
    plan = SimpleNamespace(input_vars=["x"], output_vars=["x"], input_nodes=[], output_nodes=[])
    x = torch.randn(1, 8)

    def harness(step: Callable[..., tuple[Any]], count: int) -> Any:
        model = graph_module(plan)
        model.ident = torch.nn.Identity()
        model._steps = [(step, ("x",), ("x",))] * count
        model._release = [()] * count
        return model

    plain = harness(lambda self, x: (x,), HARNESS_STEPS)
    mixed = harness(lambda self, x: (x,), 0)
    mixed_steps = []
    for i, layer in enumerate(mixed_layers(torch) * MIXED_REPEATS):
        setattr(mixed, f"m{i}", layer)
        mixed_steps.append((_module_step(f"m{i}"), ("x",), ("x",)))
    mixed._steps = mixed_steps
    mixed._release = [()] * len(mixed_steps)
    calling = harness(lambda self, x: (self.ident(x),), HARNESS_STEPS)
    empty = harness(lambda self, x: (x,), 0)
    sequential = torch.nn.Sequential()
    return [
        OpSample("overhead:" + names.STEP, f"{HARNESS_STEPS} forward steps", (), HARNESS_STEPS, _call(plain, x)),
        OpSample("overhead:" + names.MODULE, f"{HARNESS_STEPS} steps calling a module", (), HARNESS_STEPS,
                 _call(calling, x)),
        OpSample("overhead:" + names.GRAPH, "calling a built model with no steps", (), 1.0, _call(empty, x)),
        OpSample("overhead:" + names.SEQUENTIAL, "an empty nn.Sequential", (), 1.0, _call(sequential, x)),
        OpSample("overhead:" + names.VIEW, "a view (x.view)", (), 1.0, lambda: x.view(-1)),
        OpSample("overhead:" + names.INTERLEAVED, f"{len(mixed_steps)} steps of different small layers", (),
                 len(mixed_steps), _call(mixed, torch.randn(1, 16))),
    ]


def mixed_layers(torch: Any) -> list[Any]:
    """Small layers of different kinds one after another, as a network runs them (16 features); the kernels
    each runs are :data:`MIXED_KERNELS`."""
    nn = torch.nn
    return [nn.Linear(16, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 16), nn.Tanh(), nn.Dropout(0.1).eval(),
            nn.Linear(16, 16), nn.Sigmoid()]


MIXED_KERNELS = (kernels.linear_kernel(1, 16, 16), Kernel(KernelKind.ELEMENTWISE, (32,)),
                 Kernel(KernelKind.NORM_STATS, (32,)), kernels.linear_kernel(1, 16, 16),
                 Kernel(KernelKind.ELEMENTWISE_MATH, (32,)), Kernel(KernelKind.VIEW), kernels.linear_kernel(1, 16, 16),
                 Kernel(KernelKind.ELEMENTWISE_MATH, (32,)))


def _module_step(attr: str) -> Callable[..., tuple[Any]]:
    def step(self: Any, x: Any) -> tuple[Any]:
        return (getattr(self, attr)(x),)

    return step
