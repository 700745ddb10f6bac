"""What to tell the user about a graph and a dataset before training starts, with a fix where one is known.

The worker's own checks (``setup.check_fit``) refuse only what cannot run: fewer class scores than classes.
A classifier whose last Linear gives 128 scores for 10 classes trains without error but wastes 118 outputs,
and a graph with no loss node trains with a default loss the user never chose; both deserve a word first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.node_params import node_params
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.edit.edits import Edit, SetParam
from neuralforge_desktop.core.ir.graph import Graph


@dataclass(frozen=True)
class Finding:
    """One mismatch between graph and dataset. ``fix`` (if any) is the edit that removes it; ``blocking``
    findings hold Start back until fixed or confirmed, the others are only told."""

    message: str
    fix: Edit | None = None
    fix_label: str = ""
    blocking: bool = True


def preflight(graph: Graph, shapes: ShapeInference, dataset: Any) -> list[Finding]:
    """Findings for training ``graph`` on ``dataset`` (anything with name, task and num_classes, e.g. a
    DatasetInfo). Only meaningful once the graph has no shape errors; returns nothing without a dataset."""
    if dataset is None or shapes.errors:
        return []
    findings: list[Finding] = []
    cat = catalog()
    has_loss = any((layer := cat.find(n.type)) is not None and layer.is_loss for n in graph)
    classes = getattr(dataset, "num_classes", None)
    if dataset.task == "classification" and classes:
        findings += _width_findings(graph, shapes, dataset.name, int(classes))
        if not has_loss:
            findings.append(Finding("no loss node: CrossEntropyLoss will be used for classification",
                                    blocking=False))
    elif dataset.task == "regression" and not has_loss:
        findings.append(Finding("no loss node: MSELoss will be used for regression", blocking=False))
    elif dataset.task == "language-modeling" and not has_loss:
        findings.append(Finding("no loss node: cross-entropy over the vocabulary at every position will be used "
                                "for language modelling", blocking=False))
    return findings


def _width_findings(graph: Graph, shapes: ShapeInference, dataset_name: str, classes: int) -> list[Finding]:
    """Each model Output giving one score vector whose width is not the number of classes."""
    findings = []
    for output_id, spec in shapes.graph_outputs().items():
        per_example = spec.shape[1:]
        if len(per_example) != 1 or not isinstance(per_example[0], int) or per_example[0] == classes:
            continue
        width = per_example[0]
        feed = graph.edge_into(output_id, "x")
        source = graph.node(feed.src) if feed is not None else None
        if source is not None and "out_features" in node_params(source):
            findings.append(Finding(
                f"{source.type} '{source.id}' gives {width} outputs but {dataset_name} has {classes} classes",
                fix=SetParam(source.id, "out_features", classes, label=f"Set {source.id}.out_features"),
                fix_label=f"Fix: set {source.id} out_features to {classes}"))
        else:
            findings.append(Finding(f"Output '{output_id}' gives {width} scores per example but {dataset_name} "
                                    f"has {classes} classes; give the last layer {classes} outputs"))
    return findings
