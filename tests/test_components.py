"""Components: built-ins instantiate, infer and compute; user components round-trip; hostile files fail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.components.builtin import builtin_components
from neuralforge_desktop.core.components.component import (
    Component,
    ComponentError,
    ExposedParam,
    exposed_with_defaults,
    find_target,
    from_block,
    insert_edit,
    instantiate,
    parse_expose,
)
from neuralforge_desktop.core.components.library import (
    add_to_library,
    component_to_dict,
    find_component,
    load_component,
    loads_component,
    remove_from_library,
    save_component,
    user_components,
)
from neuralforge_desktop.core.ir.graph import INPUT, OUTPUT, Graph

SYMBOLS = {"T": 6, "S": 5}
CHANGED: dict[str, dict[str, Any]] = {
    "self_attention": {"heads": 4, "dropout": 0.0},
    "transformer_encoder": {"heads": 2, "ffn": 64, "norm_first": True},
    "encoder_decoder": {"heads": 4, "ffn": 32},
    "residual_block": {"width": 24, "stride": 2},
    "squeeze_excitation": {"reduction": 8},
    "inverted_residual": {"out_channels": 16, "stride": 2, "expand": 4},
    "unet_stage": {"width": 8},
}
# Small inputs keep the forward passes fast; widths divisible by every head count above.
INPUTS: dict[str, list[list[int]]] = {
    "self_attention": [[6, 32]], "transformer_encoder": [[6, 32]], "encoder_decoder": [[5, 32], [6, 32]],
    "residual_block": [[16, 8, 8]], "squeeze_excitation": [[16, 8, 8]], "inverted_residual": [[8, 8, 8]],
    "unet_stage": [[3, 8, 8]],
}


def _host(component: Component, values: dict[str, Any]) -> tuple[Graph, str]:
    """A graph of suitable inputs → the inserted component → outputs."""
    shapes = INPUTS[component.name]
    graph = Graph("host")
    for i, shape in enumerate(shapes):
        graph.add_node(INPUT, f"in{i}", {"shape": shape})
    edit = insert_edit(graph, component, (0.0, 0.0), values=values, source=("in0", "y"), input_shapes=shapes)
    edit.apply(graph)
    block = graph.node(edit.node.id)
    assert block.body is not None
    for i, port in enumerate([n.id for n in block.body.input_nodes][1:], start=1):
        graph.connect(f"in{i}", "y", block.id, port)
    for out in block.body.output_nodes:
        graph.add_node(OUTPUT, f"out_{out.id}")
        graph.connect(block.id, out.id, f"out_{out.id}", "x")
    return graph, block.id


@pytest.mark.parametrize("name", sorted(CHANGED))
@pytest.mark.parametrize("changed", [False, True], ids=["defaults", "changed"])
def test_builtin_instantiates_infers_and_computes(name: str, changed: bool) -> None:
    import torch

    from neuralforge_desktop.core.build.torch_builder import build_model

    component = find_component(name, folder=None)
    values = CHANGED[name] if changed else {}
    graph, block_id = _host(component, values)
    body = graph.node(block_id).body
    assert body is not None
    for key, value in values.items():
        for target in component.param(key).targets:
            node, param = find_target(body, target)
            if node is not None:
                assert node.params[param] == value, target
    shapes = infer_shapes(graph)
    assert not shapes.errors, [str(d) for d in shapes.errors]
    model = build_model(graph, shapes).eval()
    with torch.no_grad():
        out = model(*[torch.randn(2, *shape) for shape in INPUTS[name]])
    first = out[0] if isinstance(out, tuple) else out
    assert first.shape[0] == 2 and torch.isfinite(first).all()


def test_residual_projection_only_when_needed() -> None:
    residual = find_component("residual_block")
    same = instantiate(residual, None, [[16, 8, 8]])  # the width defaults to the incoming 16 channels
    assert same.node("conv2").params["out_channels"] == 16
    wider = instantiate(residual, {"width": 32}, [[16, 8, 8]])
    assert "downsample" not in same.nodes
    assert wider.node("downsample").body is not None
    assert find_target(wider, "downsample/conv.out_channels")[0].params["out_channels"] == 32  # type: ignore[union-attr]


def test_unknown_or_invalid_values_are_refused() -> None:
    attention = find_component("self_attention")
    with pytest.raises(ComponentError, match="no parameter 'width'"):
        instantiate(attention, {"width": 3})
    with pytest.raises(ComponentError, match="heads"):
        instantiate(attention, {"heads": 0})


def test_every_builtin_is_listed_once() -> None:
    names = [c.name for c in builtin_components()]
    assert len(names) == len(set(names)) == 7


# -- user components ---------------------------------------------------------------------------------------
def _user_component() -> Component:
    graph, block_id = _host(find_component("unet_stage"), {"width": 8})
    block = graph.node(block_id)
    params = exposed_with_defaults(block.body, parse_expose(  # type: ignore[arg-type]
        ["width=conv1.out_channels,conv2.out_channels", "pool=pool.kernel_size:2"]))
    return from_block(block, "my_stage", params, title="My stage", description="two convs and a pool")


def test_save_load_round_trip(tmp_path: Any) -> None:
    component = _user_component()
    assert component.param("width").default == 8
    path = add_to_library(component, tmp_path)
    assert path.name == "my_stage.nfcomp"
    loaded, problems = user_components(tmp_path)
    assert not problems and [c.name for c in loaded] == ["my_stage"]
    again = loaded[0]
    assert component_to_dict(again) == component_to_dict(component)
    body = instantiate(again, {"width": 12}, [[5, 8, 8]])
    assert body.node("conv1").params["out_channels"] == body.node("conv2").params["out_channels"] == 12
    assert body.node("x").params["shape"] == [5, 8, 8]
    with pytest.raises(ComponentError, match="exists"):
        add_to_library(component, tmp_path)
    (tmp_path / "out").mkdir()
    exported = save_component(again, tmp_path / "out" / "shared.nfcomp")
    assert load_component(exported).title == "My stage"
    remove_from_library("my_stage", tmp_path)
    assert user_components(tmp_path) == ([], [])


def test_builtin_names_are_reserved(tmp_path: Any) -> None:
    component = _user_component()
    renamed = Component("residual_block", "x", "", component.body, component.params)
    with pytest.raises(ComponentError, match="built-in"):
        add_to_library(renamed, tmp_path)
    with pytest.raises(ComponentError, match="built in"):
        remove_from_library("residual_block", tmp_path)


def test_save_needs_real_targets() -> None:
    graph, block_id = _host(find_component("unet_stage"), {})
    with pytest.raises(ComponentError, match="no such node"):
        from_block(graph.node(block_id), "x1", [ExposedParam("w", 3, ("nope.out_channels",))])
    with pytest.raises(ComponentError, match="has no param"):
        from_block(graph.node(block_id), "x1", [ExposedParam("w", 3, ("conv1.width",))])
    with pytest.raises(ComponentError, match="not a block"):
        from_block(graph.node("in0"), "x1", [])


def _valid_doc() -> dict[str, Any]:
    return component_to_dict(_user_component())


def _nested(depth: int) -> dict[str, Any]:
    graph: dict[str, Any] = {"name": "g", "nodes": [], "edges": []}
    for _ in range(depth):
        graph = {"name": "g", "nodes": [{"id": "b", "type": "Block", "params": {"repeat": 1}, "body": graph}],
                 "edges": []}
    return {"format": "neuralforge-graph", "version": 1, "graph": graph}


HOSTILE: list[tuple[str, Any, str]] = [
    ("not json", b"\x00\xffnot json", "invalid JSON"),
    ("graph file", {"format": "neuralforge-graph", "version": 1}, "not a NeuralForge component"),
    ("newer format", {"version": 99}, "newer NeuralForge"),
    ("path in name", {"name": "../../etc/passwd"}, "component name"),
    ("unknown field", {"run": "import os"}, "unknown fields"),
    ("too many params", {"params": [{"name": f"p{i}", "default": 1, "targets": ["conv1.stride"]}
                                    for i in range(1000)]}, "at most 64"),
    ("missing target", {"params": [{"name": "w", "default": 1, "targets": ["ghost.out_channels"]}]},
     "no such node"),
    ("code as default", {"params": [{"name": "w", "default": {"__class__": "os.system"},
                                     "targets": ["conv1.out_channels"]}]}, "default"),
    ("bad graph", {"graph": {"format": "neuralforge-graph", "version": 1, "graph": {"nodes": "x"}}}, "graph"),
    ("nesting bomb", {"graph": _nested(200)}, "limit: depth"),
    ("huge repeat", {"graph": {"format": "neuralforge-graph", "version": 1, "graph": {
        "name": "g", "nodes": [{"id": "b", "type": "Block", "params": {"repeat": 10**9},
                                "body": {"name": "b", "nodes": [], "edges": []}}], "edges": []}}}, "repeat"),
]


@pytest.mark.parametrize(("case", "change", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_component_file_is_refused(tmp_path: Any, case: str, change: Any, message: str) -> None:
    path = tmp_path / "evil.nfcomp"
    if isinstance(change, bytes):
        path.write_bytes(change)
    else:
        doc = _valid_doc() if case != "graph file" else {}
        doc.update(change)
        path.write_text(json.dumps(doc))
    with pytest.raises(ComponentError, match=message) as info:
        load_component(path)
    assert "evil.nfcomp" in str(info.value)


def test_oversized_file_is_refused() -> None:
    from neuralforge_desktop.core.limits import Limits

    with pytest.raises(ComponentError, match="file_bytes"):
        loads_component(json.dumps(_valid_doc()), limits=Limits(file_bytes=100))


def test_a_bad_library_file_does_not_hide_the_others(tmp_path: Any) -> None:
    add_to_library(_user_component(), tmp_path)
    (tmp_path / "broken.nfcomp").write_text("{")
    found, problems = user_components(tmp_path)
    assert [c.name for c in found] == ["my_stage"] and problems and "broken.nfcomp" in problems[0]


def test_a_file_copied_in_under_another_name_is_skipped(tmp_path: Any) -> None:
    save_component(_user_component(), tmp_path / "other.nfcomp")
    found, problems = user_components(tmp_path)
    assert found == [] and "holds component 'my_stage'" in problems[0]
