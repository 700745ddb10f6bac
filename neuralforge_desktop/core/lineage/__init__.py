"""Lineage: from a served prediction back to the model version, the runs, the graph, the data and the code that
made it, and forward from a dataset to every model trained on it."""

from neuralforge_desktop.core.lineage.graph import NODE_KINDS, Lineage, LineageEdge, LineageNode
from neuralforge_desktop.core.lineage.walk import ACCEPTED_REFS, lineage_of, lineage_of_dataset

__all__ = ["ACCEPTED_REFS", "NODE_KINDS", "Lineage", "LineageEdge", "LineageNode", "lineage_of",
           "lineage_of_dataset"]
