"""What the export tests share: a ConvertJob for a graph built the product's way, and parity figures computed
the way export verification computes them (differences divided by the outputs' magnitude, at least 1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.memory_check import example_inputs
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.exporters.base import ConvertJob, Tolerance
from neuralforge_desktop.core.ir.graph import Graph

# the sequence length the text templates are exported at in tests: the LSTM is unrolled step by step, and at
# the template's T = 200 its conversion alone takes half a minute
TEST_SEQUENCE = 24


def zoo_graph(name: str) -> Graph:
    graph = zoo.build(name)
    if "T" in graph.symbols:
        graph.symbols["T"] = TEST_SEQUENCE
    return graph


@dataclass
class Case:
    graph: Graph
    shapes: ShapeInference
    model: Any

    def inputs(self, batch: int, seed: int = 0) -> list[torch.Tensor]:
        return example_inputs(self.graph, self.shapes, batch, seed=seed)

    def torch_outputs(self, inputs: Sequence[torch.Tensor]) -> list[np.ndarray]:
        with torch.no_grad():
            out = self.model(*inputs)
        return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


def build_case(graph: Graph, seed: int = 0) -> Case:
    torch.manual_seed(seed)
    return Case(graph, ShapeInference(graph).run(), build_model(graph).eval())


def job_for(case: Case, output: Path, precision: str = "fp32", batch: int = 2, **extra: Any) -> ConvertJob:
    """The job the export pipeline would make: the graph's names, axis 0 marked as the batch (N)."""
    model = case.model
    return ConvertJob(model=model, example=tuple(case.inputs(batch)), input_names=list(model.input_names),
                      output_names=list(model.output_names), output=output, precision=precision,
                      dynamic_axes={name: {0: "N"} for name in model.input_names},
                      metadata={"graph": case.graph.name, "version": "test"}, **extra)


@dataclass(frozen=True)
class Diff:
    max_abs: float
    mean_abs: float
    max_scaled: float  # divided by the outputs' largest magnitude (at least 1), as verification checks them
    mean_scaled: float
    top1: float | None

    def within(self, tolerance: Tolerance) -> bool:
        return self.max_scaled <= tolerance.max_abs and self.mean_scaled <= tolerance.mean_abs and (
            not tolerance.top1 or self.top1 is None or self.top1 >= tolerance.top1)


def diff(expected: Sequence[np.ndarray], got: Sequence[np.ndarray], classes: bool = False) -> Diff:
    assert len(expected) == len(got)
    worst = total = worst_scaled = total_scaled = 0.0
    count = agree = positions = 0
    for want, have in zip(expected, got, strict=True):
        want, have = np.asarray(want), np.asarray(have)
        assert want.shape == have.shape, (want.shape, have.shape)
        delta = np.abs(want.astype(np.float64) - have.astype(np.float64))
        magnitude = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
        biggest = float(delta.max()) if delta.size else 0.0
        worst, worst_scaled = max(worst, biggest), max(worst_scaled, biggest / magnitude)
        total += float(delta.sum())
        total_scaled += float(delta.sum()) / magnitude
        count += delta.size
        if classes:
            agree += int((want.argmax(-1) == have.argmax(-1)).sum())
            positions += want.size // want.shape[-1]
    return Diff(worst, total / max(count, 1), worst_scaled, total_scaled / max(count, 1),
                agree / positions if positions else None)
