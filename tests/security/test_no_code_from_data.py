"""A graph file from a stranger never runs code: not when it is loaded, validated, summarised, turned into
source or built into a model.

Each payload would create a marker file if it ever ran. Every route must end either in a clear error that is
the user's to fix (naming the field) or in generated source that parses, builds, and leaves no marker.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.build.statement_check import check_statement
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.codegen.plan import GeneratedCodeError, PlanError, helper_name, literal, plan_model
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph, GraphError, Tie
from neuralforge_desktop.core.ir.serialize import GraphFileError, graph_to_dict, load_graph
from neuralforge_desktop.core.ir.types import DimExpressionError, resolve_dim

Doc = dict[str, Any]


def payload(marker: Path) -> str:
    """Python that creates ``marker`` when it runs."""
    return f"__import__('pathlib').Path({str(marker)!r}).touch()"


def base_graph() -> Graph:
    """Input → Linear a → Block blk (Linear inner) → Linear b (weight tied to a's) → Output."""
    body = Composer("inner-block")
    h = body.input("x", ["N", 8])
    body.output(body.layer("Linear", h, "inner", out_features=8), "y")
    c = Composer("small", description="A small model.")
    x = c.input("features", ["N", 8])
    x = c.layer("Linear", x, "a", out_features=8)
    x = c.block("blk", body, x)
    x = c.layer("Linear", x, "b", out_features=8)
    c.output(x, "out")
    c.tie("b", "weight", "a", "weight")
    return c.done()


def base_doc() -> Doc:
    return graph_to_dict(base_graph())


def _nodes(doc: Doc) -> list[Doc]:
    return doc["graph"]["nodes"]


def _node(doc: Doc, node_id: str) -> Doc:
    return next(n for n in _nodes(doc) if n["id"] == node_id)


# Each mutation puts the payload (or a quote that breaks naive code) where a name or literal is read.
def tie_param(doc: Doc, code: str) -> None:
    doc["graph"]["ties"][0]["param"] = f"weight = self.a.weight; {code}; self.b.weight"


def tie_source_param(doc: Doc, code: str) -> None:
    doc["graph"]["ties"][0]["source_param"] = f"weight; {code}; self.a.weight"


def node_id(doc: Doc, code: str) -> None:
    bad = f"a = None; {code}; a"
    _node(doc, "a")["id"] = bad
    for edge in doc["graph"]["edges"]:
        for key in ("src", "dst"):
            if edge[key] == "a":
                edge[key] = bad
    doc["graph"]["ties"][0]["source"] = bad


def block_name(doc: Doc, code: str) -> None:
    _node(doc, "blk")["body"]["name"] = f'x"""\n{code}\n"""'


def block_description(doc: Doc, code: str) -> None:
    _node(doc, "blk")["body"]["meta"]["description"] = f'ends in a quote" {code} "'


def graph_name(doc: Doc, code: str) -> None:
    doc["graph"]["name"] = f'm"""); {code}; ("""'


def description(doc: Doc, code: str) -> None:
    doc["graph"]["meta"]["description"] = f'"""\n{code}\n""" and a last quote"'


def quoted_description(doc: Doc, code: str) -> None:
    doc["graph"]["meta"]["description"] = 'Say "hi"'  # short enough for a one-line docstring


def title(doc: Doc, code: str) -> None:
    doc["graph"]["meta"]["title"] = f'"""\n{code}\n#\\'


def note(doc: Doc, code: str) -> None:
    _node(doc, "a")["notes"] = f'"""\n{code}\n"""'


def symbol(doc: Doc, code: str) -> None:
    doc["graph"]["symbols"][f"T = 1; {code}; T"] = 4


def dimension(doc: Doc, code: str) -> None:
    _node(doc, "features")["params"]["shape"] = ["N", code]


def string_param(doc: Doc, code: str) -> None:
    _node(doc, "a")["params"]["bias"] = f'"); {code}; ("'


def float_nan(doc: Doc, code: str) -> None:
    _node(doc, "a")["params"]["out_features"] = 8  # keep the shapes; the NaN goes into a float param below
    body = _node(doc, "blk")["body"]
    body["nodes"].insert(1, {"id": "drop", "type": "Dropout", "params": {"p": float("nan")}})
    for edge in body["edges"]:
        if edge["src"] == "x":
            edge["src"] = "drop"
            edge["src_port"] = "y"
    body["edges"].append({"src": "x", "src_port": "y", "dst": "drop", "dst_port": "x"})


MUTATIONS: dict[str, Callable[[Doc, str], None]] = {
    f.__name__: f for f in (tie_param, tie_source_param, node_id, block_name, block_description, graph_name,
                            description, quoted_description, title, note, symbol, dimension, string_param, float_nan)
}
# Where the error must point for payloads that cannot be accepted at all.
REFUSED_AT = {
    "tie_param": "ties[0]",
    "tie_source_param": "ties[0]",
    "node_id": "nodes[1].id",
    "symbol": "symbols",
}


def hostile_file(tmp_path: Path, mutation: str) -> tuple[Path, Path]:
    marker = tmp_path / "PAYLOAD_RAN"
    doc = base_doc()
    MUTATIONS[mutation](doc, payload(marker))
    path = tmp_path / "hostile.nfg"
    path.write_text(json.dumps(doc, indent=1))  # NaN is written as the bare NaN that Python's json reads
    return path, marker


def generated_source_is_inert(graph: Graph, marker: Path) -> None:
    """Generate, parse, import and build: or a UserError. Either way the payload never ran."""
    try:
        source = generate_pytorch(graph).source
    except UserError:
        assert not marker.exists()
        return
    ast.parse(source)
    namespace: dict[str, Any] = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # the test imports what a user would import
    namespace["build_model"]()
    assert not marker.exists(), "the generated module ran the payload"


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_hostile_file_loads_to_an_error_or_to_inert_code(tmp_path, mutation):
    path, marker = hostile_file(tmp_path, mutation)
    try:
        graph = load_graph(path)
    except GraphFileError as exc:
        assert mutation in REFUSED_AT, f"{mutation} should load: {exc}"
        assert REFUSED_AT[mutation] in str(exc) and "hostile.nfg" in str(exc)
        assert not marker.exists()
        return
    assert mutation not in REFUSED_AT, f"{mutation} must be refused when the file is read"
    generated_source_is_inert(graph, marker)
    with contextlib.suppress(UserError):
        build_model(graph)
    assert not marker.exists(), "building the model ran the payload"


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("command", ["validate", "summary", "codegen"])
def test_the_cli_never_runs_a_payload_and_never_writes_bad_code(tmp_path, capsys, mutation, command):
    path, marker = hostile_file(tmp_path, mutation)
    out = tmp_path / "model.py"
    status = main([command, str(path), *(["-o", str(out)] if command == "codegen" else [])])
    err = capsys.readouterr().err
    if command == "codegen" and status == 0:  # import the written module and build, as its user would
        namespace: dict[str, Any] = {}
        exec(compile(out.read_text(), str(out), "exec"), namespace)
        namespace["build_model"]()
    assert not marker.exists(), "the payload ran"
    if mutation in REFUSED_AT:
        assert status != 0 and REFUSED_AT[mutation] in err
    if command == "codegen" and status != 0:
        assert not out.exists() and err.startswith("neuralforge: ")


def test_a_tie_payload_in_a_file_is_refused_naming_the_field(tmp_path):
    path, marker = hostile_file(tmp_path, "tie_param")
    with pytest.raises(GraphFileError, match=r"ties\[0\].*tie param: expected an identifier"):
        load_graph(path)
    assert not marker.exists()


def test_a_tie_must_name_a_parameter_tensor_of_its_layer(tmp_path):
    doc = base_doc()
    doc["graph"]["ties"][0]["source_param"] = "running_mean"
    path = tmp_path / "tie.nfg"
    path.write_text(json.dumps(doc))
    with pytest.raises(GraphFileError, match=r"ties\[0\]\.source_param: Linear 'a' has no parameter tensor "
                                             r"'running_mean' \(it has bias, weight\)"):
        load_graph(path)


def test_a_tie_payload_set_behind_the_api_is_refused_by_codegen_and_builder(tmp_path):
    marker = tmp_path / "PAYLOAD_RAN"
    graph = base_graph()
    graph.ties = [Tie("b", f"weight = self.a.weight; {payload(marker)}; self.b.weight", "a", "weight")]
    with pytest.raises(PlanError, match=r"ties\[0\]\.param"):
        generate_pytorch(graph)
    with pytest.raises(PlanError, match=r"ties\[0\]\.param"):
        build_model(graph)
    generated_source_is_inert(graph, marker)


def test_the_graph_api_refuses_names_that_are_not_identifiers():
    graph = base_graph()
    for bad in ("a b", "x)", "class", "é", "x" * 65, ""):
        with pytest.raises(GraphError):
            graph.tie("b", bad or "?", "a", "weight")
        with pytest.raises(GraphError):
            graph.set_symbol(bad or "?", 3)
        if bad:
            with pytest.raises(GraphError):
                graph.add_node("Linear", bad)
            with pytest.raises(GraphError):
                graph.rename_node("a", bad)


def test_nan_in_a_float_param_is_a_param_error_naming_the_field(tmp_path):
    path, _ = hostile_file(tmp_path, "float_nan")
    graph = load_graph(path)
    with pytest.raises(PlanError, match="Dropout 'blk/drop' param 'p': must be a finite number"):
        generate_pytorch(graph)


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch x')", "T.__class__", "T**T", "(lambda: 1)()", "T if T else 1", "T/2",
    "[T][0]", "9" * 5000, "2" + "*2" * 80,
])
def test_dimension_expressions_are_evaluated_never_executed(text):
    with pytest.raises(DimExpressionError, match="dimension expression"):
        resolve_dim(text, {"T": 3})


def test_dimension_expressions_keep_their_arithmetic():
    bindings = {"T": 10, "N": 2}
    assert resolve_dim("(T-3)//2+1", bindings) == 4
    assert resolve_dim("2*T+N%3-(-1)", bindings) == 23
    with pytest.raises(KeyError, match="'Q'"):
        resolve_dim("Q+1", bindings)


def test_a_description_that_closes_the_docstring_still_gives_working_code(tmp_path):
    marker = tmp_path / "PAYLOAD_RAN"
    graph = copy.deepcopy(base_graph())
    graph.meta["description"] = f'"""\n{payload(marker)}\n"""\\'
    source = generate_pytorch(graph).source
    ast.parse(source)
    generated_source_is_inert(graph, marker)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1e400, 10**400])
def test_a_float_param_must_be_finite(value):
    layer = catalog().get("Dropout")
    _, errors = layer.validate_params({"p": value})
    assert [(e.field, e.message) for e in errors] == [("p", "must be a finite number")]


def test_literals_have_exact_python_forms():
    for value in (float("nan"), float("inf"), -float("inf"), 0.1, 'q"\\\n\u2028\ud800', (1, None, True), 10**30):
        text = literal(value)
        back = eval(text, {"__builtins__": {"float": float}})  # trusted: the test's own literal
        assert repr(back) == repr(tuple(value) if isinstance(value, list) else value)
    with pytest.raises(GeneratedCodeError, match="Please report this"):
        literal(object())


@pytest.mark.parametrize("name", [e.name for e in zoo.list_models()])
def test_every_zoo_template_generates_code_that_parses_and_passes_the_builder_check(name):
    graph = zoo.build(name)
    ast.parse(generate_pytorch(graph).source)
    plan = plan_model(graph)
    for step in plan.all_steps():
        if step.statement:
            check_statement(step.statement, {"self", *step.inputs, *step.outputs, *PLAN_NAMES,
                                             *(helper_name(h) for h in plan.all_helpers())}, step.node.id)


PLAN_NAMES = ("torch", "nn", "F", "math")


def test_the_builder_check_refuses_what_a_template_never_holds():
    for source in ("y = x.__class__", "import os", "y = open('f')", "y = (lambda: x)()", "def f(): pass",
                   "y = [a for a in x]", "y = x; del x", "y = __import__('os')"):
        with pytest.raises(GeneratedCodeError):
            check_statement(source, {"x", "y", "self"}, "test")
