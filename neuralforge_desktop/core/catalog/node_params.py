"""What a node's params are: the one place where a param a node (or its file) leaves out means its default.

The palette creates nodes with no params and files may omit any of them; the inspector shows the catalog's
defaults for what is missing. Every reader that needs a param's value (shapes, build, training, codegen) goes
through :func:`node_params`, so what a node shows is what it is everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neuralforge_desktop.core.catalog.spec import Params

if TYPE_CHECKING:
    from neuralforge_desktop.core.catalog.registry import Catalog
    from neuralforge_desktop.core.ir.graph import Node


def node_params(node: Node, cat: Catalog | None = None) -> Params:
    """The node's params with every missing one at its catalog default, validated (best effort: a value that
    does not validate falls back to its default; validation reports it elsewhere). A type no installed catalog
    knows keeps its saved params as they are."""
    if cat is None:
        from neuralforge_desktop.core.catalog.registry import catalog

        cat = catalog()
    layer = None if node.unknown is not None else cat.find(node.type)
    if layer is None:
        return Params(node.params)
    return layer.validate_params(node.params)[0]


def is_data_input(node: Node) -> bool:
    """An Input that feeds the model (role 'data', the default), not one holding a loss's labels."""
    from neuralforge_desktop.core.ir.graph import INPUT

    return node.type == INPUT and node_params(node).get("role") == "data"
