"""Verification: the same inputs through torch and through the exported file, compared output by output.

Inputs come in sets: seeded random ones (floats from a normal distribution, token ids within the vocabulary
they index, masks of 0 and 1) and, when the run has a dataset, real examples from it. For each set: the largest
and the mean absolute difference over every output element and, for outputs a classification loss reads, the
share of positions whose arg-max agrees. A set beyond the format's tolerance for the precision fails the export
with the figures. The tolerances hold for outputs of order one: float rounding grows with the values, so an
output whose largest magnitude is beyond 1 is allowed that many times the tolerance (its differences are
checked divided by that magnitude, and reported both ways). A format that cannot run its file here (Core ML
off macOS) is checked for structure instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.exporters.base import ConvertJob, ExportError, ExportFormat, Tolerance
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec, resolve_dim


@dataclass(frozen=True)
class Parity:
    """How one input set compares: torch against the exported file."""

    inputs: str  # what the set is: "random (seed 0, N=3, T=199)", "32 validation examples of mnist-10k"
    samples: int
    max_abs: float
    mean_abs: float
    top1: float | None  # share of arg-max agreement over class-score outputs; None without any
    worst_output: str  # the output with the largest difference
    scale: float = 1.0  # the largest output magnitude (at least 1): what the checked differences are divided by
    max_scaled: float = 0.0  # the differences divided by their output's scale: what the tolerance checks
    mean_scaled: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def failures(self, tolerance: Tolerance, judge_top1: bool = True) -> list[str]:
        times = f" (×{self.scale:.3g}, the outputs' magnitude)" if self.scale > 1 else ""
        problems = []
        if not self.max_scaled <= tolerance.max_abs:  # NaN fails too
            problems.append(f"max |Δ| {self.max_abs:.3g} > {tolerance.max_abs * self.scale:.3g}{times} in output "
                            f"'{self.worst_output}'")
        if not self.mean_scaled <= tolerance.mean_abs:
            problems.append(f"mean |Δ| {self.mean_abs:.3g} > {tolerance.mean_abs * self.scale:.3g}{times}")
        if judge_top1 and tolerance.top1 and self.top1 is not None and not self.top1 >= tolerance.top1:
            problems.append(f"top-1 agreement {self.top1:.2%} < {tolerance.top1:.0%}")
        return problems


def random_inputs(graph: Graph, specs: Sequence[tuple[str, TensorSpec]], bindings: Mapping[str, int],
                  seed: int = 0) -> tuple[Any, ...]:
    """Seeded random torch tensors for the model's inputs at the sizes ``bindings`` give (N, T …)."""
    import torch

    from neuralforge_desktop.core.codegen.pytorch import index_high

    generator = torch.Generator().manual_seed(seed)
    tensors = []
    for node_id, spec in specs:
        dims = [resolve_dim(d, bindings) for d in spec.shape]
        dtype = getattr(torch, spec.dtype.value)
        if spec.dtype.is_float:
            tensors.append(torch.randn(*dims, generator=generator).to(dtype))
        elif spec.dtype.value == "bool":
            tensors.append(torch.rand(*dims, generator=generator) > 0.5)
        else:
            tensors.append(torch.randint(0, index_high(graph, node_id), dims, generator=generator, dtype=dtype))
    return tuple(tensors)


def class_dims(graph: Graph) -> dict[str, int]:
    """Outputs holding class scores, with the axis of the classes: those a loss reading class labels (a
    cross-entropy, an NLL loss: its target is not a float) reads directly. Classes lie in dim 1 there."""
    cat = catalog()
    sources = set()
    for node in graph:
        layer = cat.find(node.type)
        if layer is None or not layer.is_loss:
            continue
        ports = {p.name: p for p in layer.input_ports({})}
        feed = graph.edge_into(node.id, "input")
        if "target" in ports and ports["target"].dtype != "float" and feed is not None:
            sources.add((feed.src, feed.src_port))
    result = {}
    for out in graph.output_nodes:
        edge = graph.edge_into(out.id, "x")
        if edge is not None and (edge.src, edge.src_port) in sources:
            result[out.id] = 1
    return result


RANDOM_INPUTS = "random inputs"  # the label of the seeded random input set


def compare(label: str, expected: Sequence[Any], got: Sequence[Any], names: Sequence[str],
            classes: Mapping[str, int]) -> Parity:
    """Parity of ``got`` (the file's outputs) against ``expected`` (torch's), both numpy, in output order."""
    import numpy as np

    if len(got) != len(expected):
        raise ExportError(f"the exported file returns {len(got)} outputs where the graph has {len(expected)} "
                          f"({', '.join(names)})")
    worst, worst_name, total, count = -1.0, names[0] if names else "", 0.0, 0
    worst_scaled, total_scaled, scale = 0.0, 0.0, 1.0
    agree = positions = 0
    samples = 0
    for name, want, have in zip(names, expected, got, strict=True):
        want, have = np.asarray(want), np.asarray(have)
        samples = max(samples, int(want.shape[0]) if want.ndim else 1)
        if want.shape != have.shape:
            raise ExportError(f"output '{name}' is {tuple(have.shape)} in the exported file but {tuple(want.shape)} "
                              f"in torch ({label})")
        diff = np.abs(want.astype(np.float64) - have.astype(np.float64))
        biggest = float(diff.max()) if diff.size else 0.0
        magnitude = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
        if math.isnan(biggest) or biggest > worst:
            worst, worst_name = (math.nan if math.isnan(biggest) else biggest), name
        worst_scaled = max(worst_scaled, biggest / magnitude) if not math.isnan(biggest) else math.nan
        scale = max(scale, magnitude)
        total += float(diff.sum())
        total_scaled += float(diff.sum()) / magnitude
        count += diff.size
        axis = classes.get(name)
        if axis is not None and want.ndim > axis and want.shape[axis] > 1:
            agree += int((want.argmax(axis) == have.argmax(axis)).sum())
            positions += want.size // want.shape[axis]
    return Parity(label, samples, max(worst, 0.0) if not math.isnan(worst) else worst,
                  total / count if count else 0.0, agree / positions if positions else None, worst_name,
                  scale, worst_scaled, total_scaled / count if count else 0.0)


def torch_outputs(model: Any, inputs: Sequence[Any]) -> list[Any]:
    import torch

    with torch.inference_mode():
        out = model(*inputs)
    return [t.float().numpy() if t.is_floating_point() else t.numpy() for t in (out if isinstance(out, tuple)
                                                                               else (out,))]


def verify(fmt: ExportFormat, path: Path, job: ConvertJob, sets: Sequence[tuple[str, Sequence[Any]]],
           classes: Mapping[str, int]) -> tuple[list[Parity], dict[str, Any]]:
    """Parity of every input set (torch tensors per set), or the format's structural check where it cannot run
    the file here. Raises :class:`ExportError` with the figures when a set is beyond the tolerance."""
    if fmt.run is None:
        if fmt.check is None:
            raise ExportError(f"{fmt.title} can neither run nor check its file here, so the export cannot be "
                              f"verified; export with --no-verify to skip verification")
        return [], fmt.check(path, job)
    tolerance = fmt.tolerances[job.precision]
    results = []
    for label, inputs in sets:
        expected = torch_outputs(job.model, inputs)
        got = fmt.run(path, [_numpy(t) for t in inputs])
        parity = compare(label, expected, got, job.output_names, classes)
        # random inputs give an untrained model near-tied class scores: one flip in a few samples is noise, so
        # top-1 agreement is judged on real examples only (it is still reported for the random ones)
        problems = parity.failures(tolerance, judge_top1=not label.startswith(RANDOM_INPUTS))
        if problems:
            raise ExportError(f"verification failed: the {fmt.title} {job.precision} export differs from torch on "
                              f"{label}: {'; '.join(problems)}; nothing was written")
        results.append(parity)
    return results, {}


def _numpy(tensor: Any) -> Any:
    return tensor.detach().cpu().numpy()
