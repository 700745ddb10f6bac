"""The export support matrix and the pre-flight check, derived from the catalog's export limits: what a user
sees before an export starts (the nodes a target cannot take, with a replacement) and the committed table in
docs/export-support.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.exporters import support
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.zoo.entry import body

DOC = Path(__file__).resolve().parent.parent / "docs" / "export-support.md"


def _grouped_conv3d_graph(in_block: bool):
    c = Composer("grouped-3d")
    x = c.input("volume", [4, 6, 6, 6])
    if in_block:
        inner, h = body("stage", [4, 6, 6, 6])
        h = inner.layer("Conv3d", h, "conv", out_channels=4, kernel_size=3, padding=1, groups=2)
        inner.output(h, "y")
        x = c.block("stage", inner.done(), x, repeat=2)
    else:
        x = c.layer("Conv3d", x, "conv", out_channels=4, kernel_size=3, padding=1, groups=2)
    x = c.layer("ReLU", x, "act")
    c.output(x, "out")
    return c.done()


def test_matrix_covers_every_layer_target_and_precision():
    matrix = support.support_matrix()
    formats = support.exporters()
    layers = [layer for layer in catalog() if layer.type not in support.STRUCTURAL]
    assert len(matrix) == len(layers) * sum(len(fmt.precisions) for fmt in formats)
    by_key = {(s.layer, s.target, s.precision): s for s in matrix}
    for layer in layers:
        for fmt in formats:
            for precision in fmt.precisions:
                entry = by_key[(layer.type, fmt.name, precision)]
                limits = [limit for limit in layer.export_limits if limit.applies(fmt.name, precision)]
                if layer.is_loss:
                    assert entry.status == support.TRAINING_ONLY
                elif not limits:
                    assert entry.status == support.SUPPORTED and not entry.reason
                else:
                    assert entry.status in (support.PARTIAL, support.UNSUPPORTED) and entry.reason


def test_refused_nodes_are_named_with_a_replacement():
    graph = _grouped_conv3d_graph(in_block=False)
    (refused,) = support.unsupported_nodes(graph, "tflite", "fp32")
    node, reason, suggestion = refused
    assert node == "conv" and "groups > 1" in reason and suggestion
    assert support.unsupported_nodes(graph, "coreml", "fp32") == []


def test_nodes_inside_a_block_are_named_by_their_path():
    graph = _grouped_conv3d_graph(in_block=True)
    assert [n for n, _, _ in support.unsupported_nodes(graph, "tflite", "int8")] == ["stage/conv"]


def test_ungrouped_layer_of_a_partly_supported_type_passes():
    c = Composer("plain-3d")
    x = c.input("volume", [4, 6, 6, 6])
    x = c.layer("Conv3d", x, "conv", out_channels=4, kernel_size=3)
    c.output(x, "out")
    assert support.unsupported_nodes(c.done(), "tflite", "fp32") == []


def test_losses_never_refuse_an_export():
    from neuralforge_desktop.core import zoo

    graph = zoo.build("mnist-cnn")  # has a CrossEntropyLoss: training only, left out of the exported model
    for (target, precision), refused in support.graph_support(graph).items():
        assert refused == [], (target, precision)


def test_committed_doc_is_the_generated_matrix():
    generated = subprocess.run([sys.executable, "-m", "neuralforge_desktop.core.exporters.support", "--markdown"],
                               capture_output=True, text=True, check=True).stdout
    assert generated == support.markdown()
    assert DOC.read_text(encoding="utf-8") == generated, (
        "docs/export-support.md is stale: python -m neuralforge_desktop.core.exporters.support --markdown "
        "> docs/export-support.md")
