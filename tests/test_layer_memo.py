"""Caches of what a layer definition implies follow the definition, not its type name or its id()."""

from __future__ import annotations

from dataclasses import replace

from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.layer_memo import LayerMemo, layer_token
from neuralforge_desktop.core.catalog.registry import Catalog, builtin_layers
from neuralforge_desktop.core.catalog.spec import LayerDef, Params, PortSpec, TorchCall
from neuralforge_desktop.core.catalog.tensor_ops import CONCAT
from neuralforge_desktop.core.codegen.plan import plan_model
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec


def _catalog(*extra: LayerDef) -> Catalog:
    cat = Catalog()
    cat.register_all(builtin_layers())
    cat.register_all(extra)
    return cat


def _graph(join_inputs: dict[str, str], params: dict[str, object]) -> Graph:
    graph = Graph("join")
    for source in join_inputs.values():
        graph.add_node("Input", source, {"shape": [4], "dtype": "float32"})
    graph.add_node("Join", "join", params)
    graph.add_node("Output", "out")
    for port, source in join_inputs.items():
        graph.connect(source, "y", "join", port)
    graph.connect("join", "y", "out", "x")
    return graph


def _join_statement(graph: Graph, cat: Catalog) -> str:
    plan = plan_model(graph, ShapeInference(graph, cat).run(), cat)
    return next(step.statement for step in plan.steps if step.node.id == "join")


def _same_shape(p: Params, x: dict[str, TensorSpec]) -> dict[str, TensorSpec]:
    return {"y": x["x"]}


def test_codegen_follows_a_type_registered_again_with_variadic_ports() -> None:
    single = LayerDef("Join", "Merge", "passes its input on", "y = x", _same_shape,
                      torch=TorchCall(forward="{y} = {x}"))
    cat = _catalog(single)
    assert _join_statement(_graph({"x": "a"}, {}), cat) == "join = a"
    cat.register(replace(CONCAT, type="Join"), replace=True)  # same name, now variadic
    statement = _join_statement(_graph({"x0": "a", "x1": "b", "x2": "c"}, {"num_inputs": 3, "dim": 1}), cat)
    assert statement == "join = torch.cat([a, b, c], dim=1)"


def test_codegen_expands_each_definitions_ports_by_its_own_names() -> None:
    cat = _catalog(replace(CONCAT, type="Join"))
    graph = _graph({"x0": "a", "x1": "b"}, {})
    assert _join_statement(graph, cat) == "join = torch.cat([a, b], dim=1)"
    renamed = replace(CONCAT, type="Join", inputs=(replace(CONCAT.inputs[0], name="t"),),
                      torch=TorchCall(forward="{y} = torch.cat([{t}], dim={dim})"),
                      shape=lambda p, x: CONCAT.shape(p, {"x" + k[1:]: v for k, v in x.items()}))
    cat.register(renamed, replace=True)
    assert _join_statement(_graph({"t0": "a", "t1": "b"}, {}), cat) == "join = torch.cat([a, b], dim=1)"


def test_cost_follows_a_type_registered_again_with_another_count_rule() -> None:
    linear = _catalog().get("Linear")
    cat = _catalog()
    graph = Graph("one")
    graph.add_node("Input", "x", {"shape": [8], "dtype": "float32"})
    graph.add_node("Linear", "fc", {"out_features": 4})
    graph.add_node("Output", "out")
    graph.connect("x", "y", "fc", "x")
    graph.connect("fc", "y", "out", "x")
    assert estimate_cost(graph, ShapeInference(graph, cat).run(), device="t4").params == 8 * 4 + 4
    cat.register(replace(linear, param_count=lambda p, x: 7), replace=True)
    assert estimate_cost(graph, ShapeInference(graph, cat).run(), device="t4").params == 7


def _layer(name: str = "Memo") -> LayerDef:
    return LayerDef(name, "Test", "", "", _same_shape, inputs=(PortSpec("x"),))


def test_memo_drops_a_collected_definitions_table_and_never_serves_it_to_a_new_one() -> None:
    memo: LayerMemo[str, str] = LayerMemo()
    old = [_layer() for _ in range(200)]
    old_ids = {id(layer) for layer in old}
    for layer in old:
        memo.get(layer, "k", lambda: "old")
    del old, layer  # a LayerDef holds no cycles: each is freed here, and its table with it
    assert memo.layers() == 0
    new = [_layer() for _ in range(200)]  # CPython hands freed memory, so freed ids, to new objects
    assert old_ids & {id(layer) for layer in new}, "no id was reused: the check below would prove nothing"
    assert {memo.get(layer, "k", lambda: "new") for layer in new} == {"new"}


def test_memo_tables_are_bounded_and_per_definition() -> None:
    memo: LayerMemo[int, int] = LayerMemo(limit=3)
    a, b = _layer(), _layer()  # equal by value, different definitions
    assert a == b
    calls: list[int] = []
    for key in range(5):
        memo.get(a, key, lambda k=key: calls.append(k) or k)
    assert memo.entries(a) == 3 and memo.entries(b) == 0
    assert memo.get(a, 4, lambda: -1) == 4 and memo.get(a, 0, lambda: -1) == -1  # oldest evicted
    assert memo.get(b, 4, lambda: 40) == 40
    assert calls == [0, 1, 2, 3, 4]


def test_layer_tokens_name_definitions_not_values() -> None:
    a, b = _layer(), _layer()
    assert layer_token(a) == layer_token(a) != layer_token(b)
