"""Placing a node after another: downstream of it, clear of the rest, pushing what is in the way."""

from __future__ import annotations

import itertools

from neuralforge_desktop.core.edit.placement import Placement, place_downstream
from neuralforge_desktop.core.ir.graph import Graph

SIZE = (150.0, 46.0)


def chain(*positions: tuple[float, float]) -> Graph:
    graph = Graph("g")
    for i, pos in enumerate(positions):
        graph.add_node("ReLU", f"n{i}", position=pos)
        if i:
            graph.connect(f"n{i - 1}", "y", f"n{i}", "x")
    return graph


def boxes_after(graph: Graph, placed: Placement, new_size=SIZE) -> dict[str, tuple[float, float, float, float]]:
    out = {nid: (*placed.moves.get(nid, node.position), *SIZE) for nid, node in graph.nodes.items()}
    out["new"] = (*placed.position, *new_size)
    return out


def overlaps(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def assert_clear(boxes) -> None:
    for (na, a), (nb, b) in itertools.combinations(boxes.items(), 2):
        assert not overlaps(a, b), f"{na} {a} overlaps {nb} {b}"


def test_free_space_right_of_the_source_level_with_it_and_nothing_moves():
    graph = chain((0.0, 100.0))
    placed = place_downstream(graph, {}, "n0", SIZE)
    assert placed.position == (150.0 + 90.0, 100.0) and placed.moves == {}


def test_consecutive_placements_run_left_to_right_on_one_row():
    graph = chain((0.0, 0.0))
    source = "n0"
    xs = []
    for i in range(3):
        placed = place_downstream(graph, {}, source, SIZE)
        node = graph.add_node("ReLU", f"t{i}", position=placed.position)
        graph.connect(source, "y", node.id, "x")
        xs.append(placed.position[0])
        assert placed.position[1] == 0.0 and not placed.moves
        source = node.id
    assert xs == sorted(xs) and len(set(xs)) == 3


def test_a_second_consumer_goes_below_the_first_as_a_branch():
    graph = chain((0.0, 0.0), (240.0, 0.0))
    placed = place_downstream(graph, {}, "n0", SIZE)
    assert placed.position[0] == 240.0 and placed.position[1] >= 46.0 + 50.0
    assert_clear(boxes_after(graph, placed))


def test_nodes_in_the_way_shift_downstream_with_whatever_they_would_hit():
    graph = Graph("g")
    graph.add_node("ReLU", "src", position=(0.0, 0.0))
    graph.add_node("ReLU", "blocker", position=(260.0, 10.0))  # where the new node goes, unrelated
    graph.add_node("ReLU", "next", position=(430.0, 10.0))  # right behind the blocker
    graph.add_node("ReLU", "far_below", position=(260.0, 600.0))  # out of the way: stays
    placed = place_downstream(graph, {}, "src", SIZE)
    assert placed.position == (240.0, 0.0)
    assert set(placed.moves) == {"blocker", "next"}
    dx = placed.moves["blocker"][0] - 260.0
    assert dx > 0 and placed.moves["next"] == (430.0 + dx, 10.0)  # shifted together: their spacing kept
    assert placed.moves["blocker"][0] >= 240.0 + 150.0 + 90.0  # a full gap after the new node
    assert_clear(boxes_after(graph, placed))


def test_sizes_as_drawn_and_the_grid_are_respected():
    graph = chain((0.0, 0.0))
    placed = place_downstream(graph, {"n0": (184.0, 90.0)}, "n0", SIZE, grid=20.0)
    assert placed.position == (280.0, 0.0)  # 184 + 90 = 274, rounded up to the grid


def test_top_down_layout_places_below_and_shifts_down():
    graph = Graph("g")
    graph.add_node("ReLU", "src", position=(0.0, 0.0))
    graph.add_node("ReLU", "blocker", position=(0.0, 110.0))
    placed = place_downstream(graph, {"src": SIZE, "blocker": SIZE}, "src", SIZE, direction="down")
    assert placed.position == (0.0, 46.0 + 60.0)
    assert placed.moves["blocker"][0] == 0.0 and placed.moves["blocker"][1] > 110.0
    assert_clear(boxes_after(graph, placed))


def test_the_next_layer_is_wired_from_the_first_output_not_yet_used():
    from neuralforge_desktop.core.edit.canvas_edits import auto_connect_edge, new_node

    graph = Graph("g")
    graph.add_node("Split", "split", position=(0.0, 0.0))
    first = new_node(graph, "ReLU", (240.0, 0.0))
    edge, _ = auto_connect_edge(graph, None, "split", first)
    assert edge is not None and edge.src_port == "y0"
    graph.insert_node(first)
    graph.connect(edge.src, edge.src_port, edge.dst, edge.dst_port)
    second = new_node(graph, "ReLU", (240.0, 100.0))
    edge, _ = auto_connect_edge(graph, None, "split", second)
    assert edge is not None and edge.src_port == "y1"  # y0 already feeds the first ReLU
