"""The model zoo: architecture templates (no weights) that open as editable graphs.

    from neuralforge_desktop.core import zoo
    graph = zoo.build("resnet18")      # a fresh Graph, laid out, with graph.meta["zoo"] == "resnet18"
    for entry in zoo.list_models(): ...

Each family lives in its own module and lists its entries in ``ENTRIES``; ``reference_params`` is the
trainable parameter count of the implementation named in ``reference`` (tied weights counted once).
"""

from __future__ import annotations

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.zoo import bert, generative, nlp, resnet, segmentation, tabular, vision
from neuralforge_desktop.core.zoo.entry import TASKS, ZooEntry

__all__ = ["TASKS", "UnknownModelError", "ZooEntry", "build", "get_model", "list_models"]

_FAMILIES = (vision, resnet, segmentation, nlp, bert, generative, tabular)


class UnknownModelError(UserError, KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        known = ", ".join(entry.name for entry in list_models())
        return f"no model {self.name!r} in the zoo (known: {known})"


def _registry() -> dict[str, ZooEntry]:
    entries: dict[str, ZooEntry] = {}
    for family in _FAMILIES:
        for entry in family.ENTRIES:
            if entry.name in entries:
                raise ValueError(f"zoo model {entry.name!r} is defined twice")
            entries[entry.name] = entry
    return entries


_REGISTRY = _registry()


def list_models(task: str | None = None) -> list[ZooEntry]:
    """Every entry (optionally only one task's), in catalogue order: vision first, then text, generative …"""
    return [e for e in _REGISTRY.values() if task is None or e.task == task]


def get_model(name: str) -> ZooEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(name) from None


def build(name: str) -> Graph:
    """A fresh graph of the named template, laid out, with ``meta`` saying where it came from."""
    entry = get_model(name)
    graph = entry.build()
    graph.name = entry.name
    graph.meta.update({"zoo": entry.name, "task": entry.task, "description": entry.description})
    return graph
