"""Checking a finished random graph against torch: the product's model builds and runs, output shapes,
parameter and buffer counts, MACs against ``FlopCounterMode``, the bytes autograd keeps for backward
(``saved_tensors_hooks``) against the memory estimate, and the inference peak against the tensors torch holds.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.memory_check import (
    example_inputs,
    measure_inference_peak,
    measure_saved_bytes,
    measure_training_step,
)
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import resolve_dim

from random_graphs import BATCH, Built

# torch's FlopCounterMode has no formula for these kernels (see test_catalog_conformance.TORCH_COUNTS_NOTHING)
TORCH_COUNTS_NOTHING = {"LSTM", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d"}
INEXACT_TOLERANCE = 0.3  # saved bytes whose size the kernel library picks may be off by this share
# Layers whose inference temporaries torch keeps inside fused kernels or builds differently by path (the
# fast attention path, oneDNN's LSTM): their peak is not compared
OPAQUE_AT_INFERENCE = {"MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer", "LSTM", "GRU",
                       "RNN", "SqueezeExcite"}


def check_graph(built: Built) -> list[str]:
    """Everything about ``built`` that disagrees with torch, as readable lines (empty when all agree)."""
    graph = built.graph
    where = f"seed {built.seed}"
    shapes = ShapeInference(graph).run()
    if not shapes.ok:
        return [f"{where}: the finished graph has errors: " + "; ".join(d.message for d in shapes.errors)]
    problems: list[str] = []
    report = estimate_cost(graph, shapes, batch_size=BATCH, device="t4")
    if report.uncounted:
        problems.append(f"{where}: not costed: {report.uncounted}")
    torch.manual_seed(built.seed)
    try:
        model = build_model(graph, shapes)
    except Exception as exc:
        return problems + [f"{where}: the model does not build: {exc}"]
    # ids in [0, 1], as the generator fed them (integer arithmetic on them stays within the tables)
    inputs = [t if t.is_floating_point() else t % 2 for t in example_inputs(graph, shapes, BATCH, seed=built.seed)]
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    if (report.params, report.buffers) != (params, buffers):
        problems.append(f"{where}: params/buffers {report.params}/{report.buffers}, torch {params}/{buffers}")
    model.eval()
    try:
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            out = model(*inputs)
    except Exception as exc:
        return problems + [f"{where}: the model does not run: {type(exc).__name__}: {exc}"]
    outs = list(out) if isinstance(out, tuple) else [out]
    bindings = {"N": BATCH, **graph.symbols}
    for name, value in zip(model.output_names, outs, strict=True):
        spec = shapes.graph_outputs().get(name)
        if spec is not None and tuple(resolve_dim(d, bindings) for d in spec.shape) != tuple(value.shape):
            problems.append(f"{where}: output {name}: core {spec}, torch {tuple(value.shape)}")
    uncounted_macs = sum(r.macs for r in report.rows if _torch_counts_nothing(r.path, r.type, shapes))
    ours, theirs = 2 * (report.macs - uncounted_macs), counter.get_total_flops()
    if abs(ours - theirs) > 0.02 * max(theirs, 1):
        problems.append(f"{where}: 2×MACs {ours:,} (without the kernels torch does not count), torch {theirs:,}")
    kinds = {n.type for _, n in graph.walk()}
    if not kinds & OPAQUE_AT_INFERENCE:
        estimated_peak = report.peak_inference_activation_bytes
        measured_peak = measure_inference_peak(model, inputs)
        if estimated_peak != measured_peak:
            problems.append(f"{where}: inference peak: estimated {estimated_peak:,} B, measured {measured_peak:,} B")
    if not any(catalog().find(n.type) is not None and catalog().get(n.type).saves is None for _, n in graph.walk()):
        measured = _measured_saved(graph, shapes, model, inputs, built)
        estimated = report.saved_activation_bytes
        slack = INEXACT_TOLERANCE * report.memory.inexact_saved_bytes
        if abs(estimated - measured) > slack:
            problems.append(f"{where}: saved for backward: estimated {estimated:,} B, autograd {measured:,} B "
                            f"(inexact part {report.memory.inexact_saved_bytes:,} B)")
    return problems


def _torch_counts_nothing(path: str, type_name: str, shapes: ShapeInference) -> bool:
    """Kernels torch's FlopCounterMode has no formula for: the list above, and a matrix product with a vector
    operand (``dot``, ``mv``)."""
    if type_name in TORCH_COUNTS_NOTHING:
        return True
    if type_name != "MatMul" or "/" in path:
        return False
    result = shapes.results.get(path)
    if result is None or "a" not in result.inputs or "b" not in result.inputs:
        return False
    a, b = result.inputs["a"].rank, result.inputs["b"].rank
    return b == 1 or (a == 1 and b >= 3)  # dot or mv (a vector times a batch of matrices may fold into mv)


def _measured_saved(graph: Graph, shapes: ShapeInference, model: Any, inputs: list[torch.Tensor],
                    built: Built) -> int:
    """What autograd keeps for the model, and for its loss when the graph has one (as training builds it)."""
    if built.loss is None:
        return measure_saved_bytes(model, inputs)
    return measure_training_step(graph, shapes, BATCH, seed=built.seed)
