"""Starting ranges for a search space, from the values a graph and a training config hold now: what the app's
Sweep dialog offers when a row is added for a node's field or a training setting (the user edits them)."""

from __future__ import annotations

import dataclasses
from typing import Any

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.sweeps.space import FIXED_ONLY
from neuralforge_desktop.core.training.config import TrainConfig

# Fields that tune nothing a search would learn from (names, flags of the data layout).
_NOT_SEARCHED_KINDS = ("str", "dims")
_OPTIMIZERS = ["adam", "adamw", "sgd"]


def searchable_fields(graph: Graph, node_id: str) -> list[str]:
    """The fields of node ``node_id`` a space can name (``repeat`` for a block), as the space checks them."""
    from neuralforge_desktop.core.catalog.registry import catalog

    node = graph.nodes[node_id]
    if node.is_block:
        return ["repeat"]
    layer = catalog().find(node.type)
    if layer is None:
        return []
    return [spec.name for spec in layer.params if spec.kind not in _NOT_SEARCHED_KINDS]


def searchable_settings() -> list[str]:
    """The training settings a space can name (every TrainConfig field not fixed for all trials)."""
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name not in FIXED_ONLY]


def suggest_node_range(graph: Graph, node_id: str, field_name: str) -> Any:
    """A range around the field's current value, as a space file writes it: halve to double a size, a float
    between half and twice (within the field's bounds), every choice of a choice, both values of a flag."""
    from neuralforge_desktop.core.catalog.registry import catalog

    node = graph.nodes[node_id]
    if node.is_block:
        repeat = int(getattr(node, "repeat", 1) or 1)
        return {"int": [max(1, repeat - 1), repeat + 1]}
    layer = catalog().get(node.type)
    spec = next(p for p in layer.params if p.name == field_name)
    value = node.params.get(field_name, spec.default)
    if spec.kind == "bool":
        return [True, False]
    if spec.kind == "choice":
        return list(spec.choices)
    if spec.kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return {"int": _bounded(max(1, value // 2), max(value * 2, value + 1), spec.minimum, spec.maximum)}
    if spec.kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            return {"uniform": _bounded(0.0, float(spec.maximum or 1.0), spec.minimum, spec.maximum)}
        high = value * 2
        if spec.maximum is not None and high >= spec.maximum:  # halfway to the bound, not the bound itself
            high = (value + spec.maximum) / 2  # (a dropout of 1 drops everything)
        return {"uniform": _bounded(value / 2, high, spec.minimum, spec.maximum)}
    return [value]


def suggest_setting_range(name: str, config: TrainConfig) -> Any:
    """A range around a training setting's value in ``config``: a decade either side of a learning rate,
    half to double a batch size, the common optimizers …"""
    value = getattr(config, name)
    if name == "lr":
        return {"log_uniform": [value / 10, min(value * 10, 1.0)]}
    if name == "weight_decay":
        return {"log_uniform": [1e-6, 1e-2]}
    if name == "optimizer":
        return list(dict.fromkeys([value, *_OPTIMIZERS]))
    if name == "batch_size":
        return sorted({max(1, value // 2), value, value * 2})
    if isinstance(value, bool):
        return [True, False]
    if isinstance(value, int):
        return {"int": [max(1, value // 2), max(value * 2, value + 1)]}
    if isinstance(value, float):
        return {"uniform": [value / 2, value * 2]} if value > 0 else {"uniform": [0.0, 0.5]}
    return [value]


def _bounded(low: float, high: float, minimum: float | None, maximum: float | None) -> list[Any]:
    if minimum is not None:
        low = max(low, minimum)
    if maximum is not None:
        high = min(high, maximum)
    kind = int if isinstance(low, int) and isinstance(high, int) else float
    return [kind(low), kind(high)]
