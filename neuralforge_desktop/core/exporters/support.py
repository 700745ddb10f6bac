"""Which nodes of a graph an export target cannot take, asked before any export work starts.

The answer is derived from the catalog (each layer's entry says which targets take it at which precisions);
until the entries carry that, every layer is taken and the check finds nothing. The export pipeline calls
:func:`unsupported_nodes` first and refuses the export, naming every node it returns.
"""

from __future__ import annotations

from neuralforge_desktop.core.ir.graph import Graph

# (node id, why the target cannot take it, a replacement to suggest or "")
Unsupported = tuple[str, str, str]


def unsupported_nodes(graph: Graph, format: str, precision: str) -> list[Unsupported]:
    """The nodes of ``graph`` that ``format`` cannot export at ``precision``; empty when it takes them all."""
    return []
