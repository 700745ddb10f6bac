"""Code → graph: `neuralforge sync` and the edits behind the code view's Apply."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch
from neuralforge_desktop.core.importers.sync import import_text, sync_plan

from .test_round_trip import ROUND_TRIP


def _edited(name: str, *changes: tuple[str, str]) -> tuple:
    graph = zoo.build(name)
    source = generate_pytorch(graph).source
    for old, new in changes:
        assert old in source, old
        source = source.replace(old, new)
    return graph, sync_plan(graph, import_text(source))


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_unchanged_code_is_no_edit(name: str) -> None:
    graph, plan = _edited(name)  # blocks, repeats, symbols (T), init-only settings, losses outside the code
    assert plan.empty, plan.lines


def test_an_added_layer_is_one_node_and_its_wires_nothing_else_moves() -> None:
    graph, plan = _edited("mnist-cnn", ("        fc2 = self.fc2(dropout)",
                                        "        dropout = torch.tanh(dropout)\n        fc2 = self.fc2(dropout)"))
    before = {nid: graph.node(nid).position for nid in graph.nodes}
    undo = plan.edit.apply(graph)
    assert plan.lines[0] == "added Tanh 'tanh'"
    assert graph.producers("tanh") == ["dropout"] and graph.producers("fc2") == ["tanh"]
    assert all(graph.node(nid).position == pos for nid, pos in before.items())
    assert "loss" in graph.nodes and "label" in graph.nodes  # training-only nodes are not in the code: kept
    undo.apply(graph)
    assert "tanh" not in graph.nodes and graph.producers("fc2") == ["dropout"]


def test_a_removed_layer_is_removed_and_the_chain_rewired() -> None:
    graph, plan = _edited("mnist-cnn", ("        dropout = self.dropout(relu3)  # N×128\n", ""),
                          ("fc2 = self.fc2(dropout)", "fc2 = self.fc2(relu3)"))
    plan.edit.apply(graph)
    assert "dropout" not in graph.nodes and graph.producers("fc2") == ["relu3"]


def test_a_change_inside_a_block_replaces_that_block_only() -> None:
    graph, plan = _edited("resnet18", ("self.conv = nn.Conv2d(64, 128, kernel_size=1, stride=2, bias=False)",
                                       "self.conv = nn.Conv2d(64, 128, kernel_size=1, stride=2, bias=True)"))
    assert plan.lines == ["changed block 'layer2'"]
    position = graph.node("layer2").position
    plan.edit.apply(graph)
    downsample = graph.node("layer2").body.node("block0").body.node("downsample").body.node("conv")
    assert downsample.params.get("bias", True) is True and graph.node("layer2").position == position


def test_cli_sync_updates_the_file_and_a_bad_file_leaves_it(tmp_path, capsys) -> None:
    graph_path, code = tmp_path / "m.nfg", tmp_path / "m.py"
    assert main(["new", "--template", "mnist-cnn", "-o", str(graph_path)]) == 0
    assert main(["codegen", str(graph_path), "-o", str(code)]) == 0
    code.write_text(code.read_text().replace("nn.Linear(3136, 128)", "nn.Linear(3136, 256)")
                    .replace("nn.Linear(128, 10)", "nn.Linear(256, 10)"))
    capsys.readouterr()
    assert main(["sync", str(code), str(graph_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"changed": True, "written": True, "changes": ["fc1.out_features: 128 → 256"]}
    saved = graph_path.read_bytes()
    code.write_text(code.read_text() + "\nbroken = (\n")
    assert main(["sync", str(code), str(graph_path)]) == 1
    assert "SyntaxError" in capsys.readouterr().err
    assert graph_path.read_bytes() == saved
