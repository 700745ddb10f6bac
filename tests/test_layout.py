"""The core layout, without Qt: nodes never overlap, data flows the way the orientation says, a wrapped layout
fits the room it is given (or comes as close as it can), and laying out is one undoable move."""

from __future__ import annotations

import itertools

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.canvas_edits import layout_edit
from neuralforge_desktop.core.edit.edits import MoveNodes
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.layout import (
    ORIENTATIONS,
    LayoutError,
    Spacing,
    layout_extent,
    layout_positions,
)

Sizes = dict[str, tuple[float, float]]


def chain(length: int) -> Graph:
    graph = Graph("chain")
    graph.add_node("Input", "x", {"shape": [8]})
    previous = "x"
    for i in range(length):
        graph.add_node("ReLU", f"relu{i}")
        graph.connect(previous, "y", f"relu{i}", "x")
        previous = f"relu{i}"
    graph.add_node("Output", "out")
    graph.connect(previous, "y", "out", "x")
    return graph


def varied_sizes(graph: Graph) -> Sizes:
    """Sizes as a canvas draws them: cards of a few widths and heights (summary rows, named ports)."""
    return {nid: (150.0 + 30.0 * (i % 3), 46.0 + 22.0 * (i % 4)) for i, nid in enumerate(graph.nodes)}


def assert_apart(positions: dict[str, tuple[float, float]], sizes: Sizes, gap: float = 20.0) -> None:
    for a, b in itertools.combinations(positions, 2):
        (ax, ay), (bx, by) = positions[a], positions[b]
        (aw, ah), (bw, bh) = sizes[a], sizes[b]
        apart = ax + aw + gap <= bx or bx + bw + gap <= ax or ay + ah + gap <= by or by + bh + gap <= ay
        assert apart, f"{a} at {positions[a]} {sizes[a]} and {b} at {positions[b]} {sizes[b]} overlap"


GRAPHS = ["mnist-cnn", "resnet18", "unet-small", "bert-base", "gpt2-small"]


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("name", GRAPHS)
def test_no_two_nodes_overlap_in_any_orientation(name: str, orientation: str) -> None:
    graph = zoo.build(name)
    sizes = varied_sizes(graph)
    positions = layout_positions(graph, sizes=sizes, orientation=orientation, area=(1200.0, 800.0))  # type: ignore[arg-type]
    assert set(positions) == set(graph.nodes)
    assert_apart(positions, sizes)


@pytest.mark.parametrize("name", GRAPHS)
def test_data_flows_right_in_a_row_and_down_in_a_column(name: str) -> None:
    graph = zoo.build(name)
    sizes = varied_sizes(graph)
    across = layout_positions(graph, sizes=sizes, orientation="horizontal")
    down = layout_positions(graph, sizes=sizes, orientation="vertical")
    for edge in graph.edges:
        assert across[edge.src][0] < across[edge.dst][0], edge
        assert down[edge.src][1] < down[edge.dst][1], edge
    width, height = layout_extent(down, sizes)
    assert height > 1.5 * width  # a model reads top to bottom, Netron-style


def test_a_chain_stays_on_one_line_and_a_loss_target_sits_beside_its_loss() -> None:
    graph = zoo.build("mnist-cnn")
    positions = layout_positions(graph, orientation="horizontal")
    main_line = ["image", "conv1", "relu1", "pool1", "conv2", "flatten", "fc1", "fc2", "logits"]
    assert len({positions[n][1] for n in main_line}) == 1
    label, loss, fc2 = positions["label"], positions["loss"], positions["fc2"]
    assert label[0] == fc2[0] and label[1] > fc2[1]  # one column before the loss, below the main line
    assert loss[0] > label[0]


def test_wrapped_rows_fit_the_room_when_they_can_and_read_left_to_right() -> None:
    graph = chain(20)
    area = (1600.0, 1000.0)
    positions = layout_positions(graph, orientation="wrapped", area=area)
    width, height = layout_extent(positions)
    assert width <= area[0] and height <= area[1]
    order = list(graph.nodes)
    rows = sorted({y for _, y in positions.values()})
    assert 2 <= len(rows) <= 4
    for a, b in itertools.pairwise(order):  # next in the chain: to the right, or the start of the next row
        (ax, ay), (bx, by) = positions[a], positions[b]
        assert (by == ay and bx > ax) or (by > ay and bx == min(x for x, _ in positions.values()))
    # The longest rows that fit: one more row would not be needed.
    fewer = layout_positions(graph, orientation="wrapped", area=(area[0] * 0.5, area[1]))
    assert len({y for _, y in fewer.values()}) > len(rows)


def test_a_wrapped_graph_too_big_for_the_room_takes_its_shape() -> None:
    graph = chain(120)
    area = (1600.0, 1000.0)
    wrapped = layout_extent(layout_positions(graph, orientation="wrapped", area=area))
    row = layout_extent(layout_positions(graph, orientation="horizontal"))
    scale = min(area[0] / wrapped[0], area[1] / wrapped[1])
    assert scale > 4 * min(area[0] / row[0], area[1] / row[1])  # drawn far larger than the single row
    aspect = wrapped[0] / wrapped[1]
    assert 0.8 < aspect / (area[0] / area[1]) < 1.6


def test_wider_spacing_leaves_room_for_wide_labels() -> None:
    graph = chain(3)
    narrow = layout_positions(graph, orientation="horizontal")
    wide = layout_positions(graph, orientation="horizontal", spacing=Spacing(column=200.0))
    assert wide["relu0"][0] - wide["x"][0] == narrow["relu0"][0] - narrow["x"][0] + 110.0


def test_an_unknown_orientation_is_refused_with_the_known_ones() -> None:
    with pytest.raises(LayoutError, match="'diagonal'.*horizontal, vertical, wrapped"):
        layout_positions(chain(2), orientation="diagonal")  # type: ignore[arg-type]


def test_layout_edit_is_one_move_that_keeps_the_top_left_corner_and_undoes() -> None:
    graph = zoo.build("resnet18")
    for i, node in enumerate(graph):
        node.position = (300.0 + 37.0 * i, 500.0 - 11.0 * i)
    before = {nid: node.position for nid, node in graph.nodes.items()}
    corner = (min(x for x, _ in before.values()), min(y for _, y in before.values()))
    edit = layout_edit(graph, None, {}, "vertical")
    assert isinstance(edit, MoveNodes) and edit.label == "Auto layout"
    undo = edit.apply(graph)
    after = {nid: node.position for nid, node in graph.nodes.items()}
    assert (min(x for x, _ in after.values()), min(y for _, y in after.values())) == corner
    assert layout_edit(graph, None, {}, "vertical") is None  # already laid out: nothing to move
    undo.apply(graph)
    assert {nid: node.position for nid, node in graph.nodes.items()} == before


def test_laying_out_a_selection_moves_only_the_selection() -> None:
    graph = zoo.build("mnist-cnn")
    chosen = ["conv1", "relu1", "pool1"]
    others = {nid: node.position for nid, node in graph.nodes.items() if nid not in chosen}
    edit = layout_edit(graph, chosen, {}, "vertical")
    assert edit is not None and set(edit.positions) <= set(chosen)
    edit.apply(graph)
    assert all(graph.nodes[nid].position == pos for nid, pos in others.items())
