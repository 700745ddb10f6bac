"""Which layers each export target takes, at which precisions: derived from the catalog, never written twice.

A layer's catalog entry declares what a target cannot take of it (``LayerDef.export_limits``, see
:mod:`neuralforge_desktop.core.catalog.export_spec`); everything else is taken. From that:

* :func:`support_matrix` — every layer type × target × precision: supported, supported except under a
  condition, or not, with the reason and a replacement where one exists. ``docs/export-support.md`` is this
  matrix as Markdown (:func:`markdown`; ``python -m neuralforge_desktop.core.exporters.support --markdown``).
* :func:`unsupported_nodes` — the nodes of one graph a target cannot take at a precision, with the reason and
  a suggestion: the export pipeline asks before any work starts and refuses, naming them.
* :func:`graph_support` — the same question for one graph over every target and precision (``export --check``).

TFLite files are made by litert-torch, which lowers to TFLite builtin ops only: a layer TFLite takes needs no
select-TF ops (the catalog export test checks every converted file for custom and ``Flex`` ops). Losses are
training-only: they are left out of every exported model, so they are never a reason to refuse an export.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from neuralforge_desktop.core.analysis.shapes import NodeShapes, ShapeInference
from neuralforge_desktop.core.catalog.export_spec import ExportLimit
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.exporters.base import ExportFormat
from neuralforge_desktop.core.ir.graph import Graph

# (node id, why the target cannot take it, a replacement to suggest or "")
Unsupported = tuple[str, str, str]

TARGETS = ("onnx", "tflite", "coreml")  # every format, in the order the docs show them
STRUCTURAL = ("Input", "Output", "Block")  # not layers: a block's body is checked node by node

SUPPORTED = "supported"
PARTIAL = "partial"  # supported except for some params or input shapes (the limit's condition)
UNSUPPORTED = "unsupported"
TRAINING_ONLY = "training only"  # losses: left out of exported models

_PACKAGE = "neuralforge_desktop.core.exporters"
_NOTES = {
    "tflite": "litert-torch lowers to TFLite builtin ops: no select-TF ops are needed. Shapes are fixed when the "
              "file is made (batch 1 where the batch axis leads).",
    "coreml": "ML program for iOS 16 / macOS 13; prediction is compared on macOS only, elsewhere the package's "
              "spec is checked.",
}


@dataclass(frozen=True)
class Support:
    """Whether one target takes one layer type at one precision."""

    layer: str
    target: str
    precision: str
    status: str  # SUPPORTED | PARTIAL | UNSUPPORTED | TRAINING_ONLY
    reason: str = ""
    condition: str = ""  # PARTIAL: the params or shapes that are refused
    suggestion: str = ""

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


def exporters() -> list[ExportFormat]:
    """The formats of this installation, in :data:`TARGETS` order. A format module is cheap to import (its
    framework loads only when it converts), so listing needs none of the export packages."""
    found = []
    for name in TARGETS:
        qualified = f"{_PACKAGE}.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:  # a build without this format
                continue
            raise
        found.append(module.EXPORTER)
    return found


def target_limits(layer: LayerDef, target: str, precision: str) -> list[ExportLimit]:
    """The limits of ``layer`` that concern ``target`` at ``precision`` (for some node or every node)."""
    return [limit for limit in layer.export_limits if limit.applies(target, precision)]


def layer_support(layer: LayerDef, target: str, precision: str) -> Support:
    """What ``target`` makes of ``layer`` at ``precision``, from the entry's declared limits."""
    if layer.is_loss:
        return Support(layer.type, target, precision, TRAINING_ONLY, "left out of exported models")
    limits = target_limits(layer, target, precision)
    total = [limit for limit in limits if limit.when is None]
    if total:
        return Support(layer.type, target, precision, UNSUPPORTED, total[0].reason, "", total[0].suggestion)
    if limits:
        return Support(layer.type, target, precision, PARTIAL, "; ".join(limit.reason for limit in limits),
                       "; ".join(limit.condition for limit in limits),
                       "; ".join(limit.suggestion for limit in limits if limit.suggestion))
    return Support(layer.type, target, precision, SUPPORTED)


def _layers(cat: Catalog | None = None) -> list[LayerDef]:
    return [layer for layer in (cat or catalog()) if layer.type not in STRUCTURAL]


def support_matrix(cat: Catalog | None = None) -> list[Support]:
    """Every layer type × target × precision the target offers, in catalog order."""
    return [layer_support(layer, fmt.name, precision)
            for layer in _layers(cat) for fmt in exporters() for precision in fmt.precisions]


# -- one graph --------------------------------------------------------------------------------------------------

def _nodes(shapes: ShapeInference, prefix: str = "") -> Iterator[tuple[str, str, NodeShapes]]:
    """(node path, type, inferred node) for every node, blocks' bodies included (a repeated body once)."""
    for node_id, result in shapes.results.items():
        node = shapes.graph.nodes[node_id]
        path = f"{prefix}{node_id}"
        yield path, node.type, result
        seen: set[int] = set()
        for body in (result.first_body, result.body):
            if body is not None and id(body.graph) not in seen:
                seen.add(id(body.graph))
                yield from _nodes(body, f"{path}/")


def _refusals(shapes: ShapeInference, target: str, precision: str) -> list[Unsupported]:
    out: list[Unsupported] = []
    reported: set[str] = set()
    for path, type_name, result in _nodes(shapes):
        layer = shapes.catalog.find(type_name)
        if layer is None or layer.is_loss or type_name in STRUCTURAL or path in reported:
            continue
        for limit in layer.export_limits:
            if limit.applies(target, precision, result.params or {}, result.inputs):
                what = f"{layer.display_name}" + (f" with {limit.condition}" if limit.condition else "")
                out.append((path, f"{what}: {limit.reason}", limit.suggestion))
                reported.add(path)
                break
    return out


def unsupported_nodes(graph: Graph, format: str, precision: str) -> list[Unsupported]:
    """The nodes of ``graph`` that ``format`` cannot export at ``precision``, each with the reason and a
    replacement to suggest (or ""); empty when it takes them all. Nodes inside blocks are named by their path
    (``encoder/attn``)."""
    return _refusals(ShapeInference(graph).run(), format, precision)


def graph_support(graph: Graph) -> dict[tuple[str, str], list[Unsupported]]:
    """(target, precision) → the nodes of ``graph`` refused there, for every format and precision."""
    shapes = ShapeInference(graph).run()
    return {(fmt.name, precision): _refusals(shapes, fmt.name, precision)
            for fmt in exporters() for precision in fmt.precisions}


# -- the docs -----------------------------------------------------------------------------------------------------

_MARK = {SUPPORTED: "✓", PARTIAL: "◐", UNSUPPORTED: "✗", TRAINING_ONLY: "—"}


def markdown(cat: Catalog | None = None) -> str:
    """The whole matrix as the Markdown page ``docs/export-support.md``."""
    formats = exporters()
    columns = [(fmt, precision) for fmt in formats for precision in fmt.precisions]
    matrix = {(s.layer, s.target, s.precision): s for s in support_matrix(cat)}
    lines = [
        "# Export support by layer",
        "",
        "Generated from the layer catalog by `python -m neuralforge_desktop.core.exporters.support --markdown`;",
        "do not edit by hand. A test converts every layer's catalog examples to every target and checks this",
        "table against what really converts.",
        "",
        f"{_MARK[SUPPORTED]} supported · {_MARK[PARTIAL]} supported except for the settings in the notes · "
        f"{_MARK[UNSUPPORTED]} not supported · {_MARK[TRAINING_ONLY]} training only (losses are left out of "
        "exported models)",
        "",
    ]
    for fmt in formats:
        note = _NOTES.get(fmt.name)
        if note:
            lines.append(f"- **{fmt.title}**: {note}")
    lines += ["", "| Layer | " + " | ".join(f"{fmt.name} {p}" for fmt, p in columns) + " |",
              "|---|" + ":-:|" * len(columns)]
    notes: list[str] = []
    for layer in _layers(cat):
        cells = []
        for fmt, precision in columns:
            support = matrix[(layer.type, fmt.name, precision)]
            cells.append(_MARK[support.status])
        lines.append(f"| {layer.type} | " + " | ".join(cells) + " |")
        notes.extend(_layer_notes(layer, formats))
    if notes:
        lines += ["", "## Limits", ""] + notes
    lines += ["", "## Verification tolerances", "",
              "An export fails when its outputs differ from torch's on the same inputs by more than this, "
              "divided by the outputs' largest magnitude when that is above 1; top-1: the least share of samples "
              "whose highest class score agrees, for classifiers.", "",
              "| Format | Precision | max abs | mean abs | top-1 |", "|---|---|--:|--:|--:|"]
    for fmt in formats:
        for precision in fmt.precisions:
            tol = fmt.tolerances[precision]
            top1 = f"{tol.top1:.0%}" if tol.top1 else ""
            lines.append(f"| {fmt.title} | {precision} | {tol.max_abs:g} | {tol.mean_abs:g} | {top1} |")
    return "\n".join(lines) + "\n"


def _layer_notes(layer: LayerDef, formats: Iterable[ExportFormat]) -> list[str]:
    titles = {fmt.name: fmt.title for fmt in formats}
    notes = []
    for limit in layer.export_limits:
        if limit.target not in titles:
            continue
        where = titles[limit.target] + (f" ({', '.join(limit.precisions)})" if limit.precisions else "")
        when = f" with {limit.condition}" if limit.condition else ""
        instead = f" Instead: {limit.suggestion}." if limit.suggestion else ""
        notes.append(f"- **{layer.type}**{when}, {where}: {limit.reason}.{instead}")
    return notes


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["--markdown"]:
        print("usage: python -m neuralforge_desktop.core.exporters.support --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
