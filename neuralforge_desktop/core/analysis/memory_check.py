"""The ground truth for the activation-memory estimate: what PyTorch's autograd really keeps.

:func:`measure_saved_bytes` runs one forward pass of a built model in training mode under
``torch.autograd.graph.saved_tensors_hooks`` and adds up the memory of every tensor autograd saves for the
backward pass, each block of memory (a storage, which views share) once, parameters and buffers left out —
the figure :mod:`.memory` estimates as ``saved_bytes``. :func:`measure_training_step` does it for a graph as
training runs it: the model built as the trainer builds it and, when the graph has a loss, the loss on random
targets. :func:`measure_inference_peak` watches every tensor an inference pass makes (a dispatch mode sees
each kernel's outputs; a finaliser on each block of memory sees it freed) and reports the most alive at once —
the figure :mod:`.memory` estimates as ``peak_inference_bytes``. torch is imported only when these run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import resolve_dim


def example_inputs(graph: Graph, shapes: ShapeInference, batch_size: int, seed: int = 0,
                   device: str = "cpu") -> list[Any]:
    """Random tensors for the model's data inputs, in the model's input order, at ``batch_size`` (integer
    inputs hold valid indices for the tables they feed)."""
    import torch

    from neuralforge_desktop.core.catalog.node_params import is_data_input
    from neuralforge_desktop.core.codegen.pytorch import index_high

    generator = torch.Generator().manual_seed(seed)
    bindings = {"N": batch_size, **graph.symbols}
    tensors = []
    for node in graph.input_nodes:
        if not is_data_input(node):
            continue
        spec = shapes.spec(node.id)
        assert spec is not None, f"input {node.id!r} has no shape"
        dims = [resolve_dim(d, bindings) for d in spec.shape]
        dtype = getattr(torch, spec.dtype.value)
        if dtype.is_floating_point:
            tensor = torch.randn(*dims, generator=generator).to(dtype)
        elif dtype == torch.bool:
            tensor = torch.rand(*dims, generator=generator) > 0.5
        else:
            tensor = torch.randint(0, index_high(graph, node.id), dims, generator=generator, dtype=dtype)
        tensors.append(tensor.to(device))
    return tensors


def measure_saved_bytes(model: Any, inputs: Sequence[Any]) -> int:
    """Bytes of the tensors autograd keeps for backward in one training-mode forward pass of ``model``:
    each storage once, parameters and buffers left out."""
    import torch

    model.train()
    excluded = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    kept: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        pointer = storage.data_ptr()
        if pointer not in excluded and (pointer or storage.nbytes()):
            kept.setdefault(pointer, storage.nbytes())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(*inputs)
    return sum(kept.values())


def measure_training_step(graph: Graph, shapes: ShapeInference, batch_size: int, seed: int = 0) -> int:
    """Bytes autograd keeps for one training step of ``graph`` at ``batch_size``: the model's forward pass
    and, when the graph has a loss, the loss on random targets (class indices for a classification loss)."""
    import torch

    from neuralforge_desktop.core.catalog.registry import catalog
    from neuralforge_desktop.core.training.setup import build_setup

    torch.manual_seed(seed)
    inputs = example_inputs(graph, shapes, batch_size, seed)
    cat = catalog()
    losses = [n for n in graph if (layer := cat.find(n.type)) is not None and layer.is_loss]
    if not losses:
        from neuralforge_desktop.core.build.torch_builder import build_model

        return measure_saved_bytes(build_model(graph, shapes), inputs)
    setup = build_setup(graph, _Task("classification"))
    result = shapes.results[losses[0].id]
    bindings = {"N": batch_size, **graph.symbols}
    prediction, target_spec = result.inputs["input"], result.inputs["target"]
    dims = [resolve_dim(d, bindings) for d in target_spec.shape]
    generator = torch.Generator().manual_seed(seed)
    if target_spec.dtype.is_float:
        target = torch.randn(*dims, generator=generator)
    else:
        classes = resolve_dim(prediction.shape[1], bindings) if prediction.rank > 1 else 2
        target = torch.randint(0, classes, dims, generator=generator, dtype=getattr(torch, target_spec.dtype.value))

    class Step(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = setup.model

        def forward(self, *xs: torch.Tensor) -> torch.Tensor:
            out = self.model(*xs)
            outs = out if isinstance(out, tuple) else (out,)
            return setup.loss_fn(outs[setup.output_index], target)

    return measure_saved_bytes(Step(), inputs)


class _Task:
    """The little of a dataset bundle the training setup reads when a graph names its own loss."""

    def __init__(self, task: str) -> None:
        self.task = task


def measure_inference_peak(model: Any, inputs: Sequence[Any]) -> int:
    """The most activation memory alive at once during one inference pass of ``model`` on ``inputs`` (which
    count throughout: the caller holds them), parameters and buffers left out."""
    import weakref

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    model.eval()
    skipped = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}

    class Watch(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.live = self.peak = 0
            self.alive: set[int] = set()

        def track(self, tensor: torch.Tensor) -> None:
            storage = tensor.untyped_storage()
            pointer, size = storage.data_ptr(), storage.nbytes()
            if pointer in skipped or pointer in self.alive or size == 0:
                return
            self.alive.add(pointer)
            self.live += size
            self.peak = max(self.peak, self.live)
            weakref.finalize(storage, self.free, pointer, size)  # storages keep one Python object: freed once

        def free(self, pointer: int, size: int) -> None:
            self.alive.discard(pointer)
            self.live -= size

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            for item in tree_flatten(out)[0]:
                if isinstance(item, torch.Tensor):
                    self.track(item)
            return out

    watch = Watch()
    with torch.no_grad(), watch:
        for tensor in inputs:
            watch.track(tensor)
        model(*inputs)
    return watch.peak
