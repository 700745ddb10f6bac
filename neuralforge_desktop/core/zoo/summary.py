"""What a template is at a glance: its size, its cost and what goes in and comes out (the gallery shows this).

Worked out from the template's graph the same way the Summary panel works out an open graph's numbers, so the
two always agree; a few milliseconds per template.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import format_shape
from neuralforge_desktop.core.zoo.entry import ZooEntry


@dataclass(frozen=True)
class TemplateSummary:
    name: str
    params: int | None  # trainable + frozen parameters, counted from the graph (None: it does not infer)
    macs: int | None  # multiply-accumulates for one sample
    inputs: tuple[str, ...]  # "image N×1×28×28" for each data input (label inputs for a loss left out)
    outputs: tuple[str, ...]  # "logits N×10" for each output
    bindings: tuple[tuple[str, int], ...]  # sizes assumed for symbolic dims (T) when counting MACs

    @property
    def flow(self) -> str:
        """``image N×1×28×28 → logits N×10``."""
        return f"{', '.join(self.inputs) or '—'} → {', '.join(self.outputs) or '—'}"


def summarize(entry: ZooEntry, graph: Graph | None = None) -> TemplateSummary:
    """The summary of ``entry`` (built fresh unless its ``graph`` is given)."""
    from neuralforge_desktop.core.edit.document import Document

    document = Document(graph if graph is not None else entry.build())
    graph = document.graph
    shapes = document.shapes.results
    inputs: list[str] = []
    for node in graph.input_nodes:
        if node.params.get("role") == "target":
            continue
        spec = next(iter(shapes[node.id].outputs.values()), None) if node.id in shapes else None
        inputs.append(f"{node.id} {format_shape(spec.shape)}" if spec is not None else node.id)
    outputs: list[str] = []
    for node in graph.output_nodes:
        spec = next(iter(shapes[node.id].inputs.values()), None) if node.id in shapes else None
        outputs.append(f"{node.id} {format_shape(spec.shape)}" if spec is not None else node.id)
    try:
        cost = document.cost()
        params: int | None = int(cost.params)
        macs: int | None = int(cost.macs)
        bindings = tuple(sorted((str(k), int(v)) for k, v in cost.bindings.items()))
    except Exception:  # a template that does not infer yet still opens; only its numbers are unknown
        params = macs = None
        bindings = ()
    return TemplateSummary(entry.name, params, macs, tuple(inputs), tuple(outputs), bindings)
