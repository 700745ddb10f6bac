"""The .nfg file format: round trips, atomic saves, error messages, unknown types and migrations."""

from __future__ import annotations

import copy
import json
import keyword
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.catalog.registry import Catalog, builtin_layers
from neuralforge_desktop.core.catalog.spec import LayerDef, ParamSpec
from neuralforge_desktop.core.ir import serialize
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph, Node
from neuralforge_desktop.core.ir.serialize import (
    FORMAT_MARKER,
    FORMAT_VERSION,
    GraphFileError,
    dumps,
    graph_from_dict,
    graph_to_dict,
    load_graph,
    loads,
    register_format_migration,
    save_graph,
    unregister_format_migration,
)

Doc = dict[str, Any]


def sample_graph() -> Graph:
    """Input → Conv2d → Flatten → Linear → Block(repeat 3) → Linear head → Output, with a tie."""
    c = Composer("mnist-mlp", author="Ada", tags=["demo", "ünïcode"], nested={"b": 1, "a": [1, 2.5]})
    x = c.input("image", [1, 8, 8])
    x = c.layer("Conv2d", x, "conv", out_channels=4, kernel_size=3, padding=1)
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "proj", out_features=32, notes="projects to the residual width")
    body = Composer("residual-mlp")
    y = body.input("x", [32])
    y = body.layer("Linear", y, "fc", out_features=32, bias=False)
    y = body.layer("Identity", y, "skip")
    body.output(y, "out")
    x = c.block("stage", body, x, repeat=3, label="MLP stage", notes="three copies")
    x = c.layer("Linear", x, "head", out_features=32, label="Head")
    c.output(x, "logits")
    c.tie("head", "weight", "proj", "weight")
    graph = c.done()
    graph.symbols["T"] = 128
    graph.nodes["proj"].position = (12.5, -3.25)
    graph.nodes["head"].trainable = False
    return graph


def sample_doc() -> Doc:
    return graph_to_dict(sample_graph())


def write(tmp_path: Path, doc: Doc | str | bytes, name: str = "model.nfg") -> Path:
    path = tmp_path / name
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2), encoding="utf-8")
    return path


def node_index(doc: Doc, node_id: str) -> int:
    return next(i for i, n in enumerate(doc["graph"]["nodes"]) if n["id"] == node_id)


# -- round trips -----------------------------------------------------------------------------------------
def test_round_trip_is_exact() -> None:
    text = dumps(sample_graph())
    again = dumps(loads(text))
    assert again == text
    assert graph_to_dict(loads(again)) == graph_to_dict(sample_graph())


def test_round_trip_keeps_every_field() -> None:
    graph = loads(dumps(sample_graph()))
    assert graph.name == "mnist-mlp"
    assert graph.symbols == {"T": 128}
    assert graph.meta == {"author": "Ada", "tags": ["demo", "ünïcode"], "nested": {"a": [1, 2.5], "b": 1}}
    assert list(graph.nodes) == ["image", "conv", "flat", "proj", "stage", "head", "logits"]
    assert graph.nodes["proj"].position == (12.5, -3.25)
    assert graph.nodes["proj"].notes == "projects to the residual width"
    assert graph.nodes["head"].label == "Head" and graph.nodes["head"].trainable is False
    assert graph.nodes["conv"].params == {"out_channels": 4, "kernel_size": 3, "padding": 1}
    stage = graph.nodes["stage"]
    assert stage.is_block and stage.repeat == 3 and stage.label == "MLP stage" and stage.notes == "three copies"
    assert stage.body is not None and stage.body.name == "residual-mlp"
    assert list(stage.body.nodes) == ["x", "fc", "skip", "out"]
    assert stage.body.nodes["fc"].params == {"out_features": 32, "bias": False}
    assert [str(e) for e in stage.body.edges] == ["x.y → fc.x", "fc.y → skip.x", "skip.y → out.x"]
    assert [str(e) for e in graph.edges] == [str(e) for e in sample_graph().edges]
    assert [(t.node, t.param, t.source, t.source_param) for t in graph.ties] == [("head", "weight", "proj", "weight")]
    assert infer_shapes(graph).ok


def test_file_layout_is_readable_json() -> None:
    text = dumps(sample_graph())
    doc = json.loads(text)
    assert list(doc) == ["format", "version", "graph"]
    assert doc["format"] == FORMAT_MARKER and doc["version"] == FORMAT_VERSION == 1
    assert list(doc["graph"]) == ["name", "symbols", "meta", "nodes", "edges", "ties"]
    conv = doc["graph"]["nodes"][1]
    assert list(conv) == ["id", "type", "type_version", "params", "position", "notes", "label", "trainable"]
    assert list(conv["params"]) == sorted(conv["params"])
    assert "body" in doc["graph"]["nodes"][4]
    assert text.endswith("}\n") and "ünïcode" in text  # UTF-8, not \u escapes
    assert '"position": [12.5, -3.25]' in text  # short flat values stay on one line
    assert '{"src": "image", "src_port": "y", "dst": "conv", "dst_port": "x"}' in text


def test_save_and_load_file(tmp_path: Path) -> None:
    path = tmp_path / "model.nfg"
    save_graph(sample_graph(), path)
    assert path.read_text(encoding="utf-8") == dumps(sample_graph())
    assert dumps(load_graph(path)) == dumps(sample_graph())
    assert [p.name for p in tmp_path.iterdir()] == ["model.nfg"]
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # a byte-order mark some editors add is accepted
    assert load_graph(path).name == "mnist-mlp"


def test_tuples_and_lone_surrogates_are_saved() -> None:
    graph = Graph("g")
    graph.insert_node(Node("a", "Conv2d", {"kernel_size": (3, 5)}, notes="bad \ud800 text"))
    loaded = loads(dumps(graph).encode("utf-8"))  # still valid UTF-8
    assert loaded.nodes["a"].params == {"kernel_size": [3, 5]}
    assert loaded.nodes["a"].notes == "bad \ud800 text"


def test_unsaveable_param_names_the_field(tmp_path: Path) -> None:
    graph = sample_graph()
    graph.nodes["conv"].params["kernel_size"] = {3, 5}
    with pytest.raises(GraphFileError, match=r"^model\.nfg: nodes\[1\]\.params\.kernel_size: cannot save"):
        save_graph(graph, tmp_path / "model.nfg")
    assert list(tmp_path.iterdir()) == []


# -- atomic saves ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("crash_in", ["replace", "fsync", "write"])
def test_crash_mid_save_keeps_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_in: str) -> None:
    path = tmp_path / "model.nfg"
    save_graph(sample_graph(), path)
    before = path.read_bytes()
    changed = sample_graph()
    changed.nodes["head"].params["out_features"] = 10

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(f"simulated crash in {crash_in}")

    monkeypatch.setattr(os, crash_in, crash)
    with pytest.raises(OSError, match="simulated crash"):
        save_graph(changed, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.nfg"]  # no temporary file left behind


def test_permissions_and_symlinks(tmp_path: Path) -> None:
    path = tmp_path / "model.nfg"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    save_graph(sample_graph(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # an overwritten file keeps its permissions
    umask = os.umask(0o022)
    try:
        save_graph(sample_graph(), tmp_path / "new.nfg")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.nfg").stat().st_mode) == 0o644  # a new one gets the usual ones
    link = tmp_path / "link.nfg"
    link.symlink_to(path)
    save_graph(Graph("through-link"), link)
    assert link.is_symlink() and load_graph(path).name == "through-link"


# -- malformed files -------------------------------------------------------------------------------------
_DELETE = object()


def _set(path: tuple[Any, ...], value: Any = _DELETE) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return edit


def _delete(path: tuple[Any, ...]) -> Callable[[Doc], None]:
    return _set(path)


def _add_edge(src: str, dst: str, dst_port: str = "x") -> Callable[[Doc], None]:
    return lambda doc: doc["graph"]["edges"].append({"src": src, "src_port": "y", "dst": dst, "dst_port": dst_port})


N = ("graph", "nodes")
MALFORMED: list[tuple[str, Callable[[Doc], None], str]] = [
    ("marker", _set(("format",), "something-else"), "model.nfg: format: not a NeuralForge graph file"),
    ("version type", _set(("version",), "1"), "model.nfg: version: expected an integer, got '1'"),
    ("newer", _set(("version",), 3),
     "model.nfg: written by a newer NeuralForge (format 3); this version reads up to 1"),
    ("old without migration", _set(("version",), 0), "model.nfg: version: format 0 is not supported"),
    ("no graph", _delete(("graph",)), "model.nfg: graph: missing"),
    ("no nodes", _delete(("graph", "nodes")), "model.nfg: nodes: missing"),
    ("position", _set((*N, 2, "position"), "abc"), "model.nfg: nodes[2].position: expected [x, y] numbers, got 'abc'"),
    ("position length", _set((*N, 2, "position"), [1]), "nodes[2].position: expected [x, y] numbers, got [1]"),
    ("position bool", _set((*N, 2, "position"), [True, 0]), "nodes[2].position: expected [x, y] numbers"),
    ("params type", _set((*N, 1, "params"), [3]), "model.nfg: nodes[1].params: expected an object, got [3]"),
    ("edge dst", _set(("graph", "edges", 4, "dst"), "conv9"), "model.nfg: edges[4].dst: no node 'conv9'"),
    ("edge port type", _set(("graph", "edges", 0, "src_port"), 7), "edges[0].src_port: expected text, got 7"),
    ("edge missing", _delete(("graph", "edges", 1, "dst_port")), "edges[1].dst_port: missing"),
    ("port fed twice", _add_edge("image", "head"), "edges[6]: input head.x is already fed by stage.out"),
    ("cycle", _add_edge("head", "conv", "w"), "edges[6]: connecting head.y → conv.w would make a cycle"),
    ("duplicate id", _set((*N, 3, "id"), "conv"), "model.nfg: nodes[3].id: duplicate node id 'conv'"),
    ("bad id", _set((*N, 0, "id"), "my image"), "nodes[0].id: expected an identifier"),
    ("missing type", _delete((*N, 1, "type")), "model.nfg: nodes[1].type: missing"),
    ("type version", _set((*N, 1, "type_version"), 0), "nodes[1].type_version: expected a positive integer"),
    ("trainable", _set((*N, 5, "trainable"), "yes"), "nodes[5].trainable: expected true or false, got 'yes'"),
    ("notes", _set((*N, 5, "notes"), None), "nodes[5].notes: expected text, got None"),
    ("typo", lambda doc: doc["graph"]["nodes"][0].update(postion=[1, 2]), "nodes[0].postion: unknown field"),
    ("block body", _delete((*N, 4, "body")), "model.nfg: nodes[4].body: a Block needs a body graph"),
    ("body elsewhere", _set((*N, 1, "body"), {"nodes": []}), "nodes[1].body: only Block nodes have a body"),
    ("nested", _set((*N, 4, "body", "nodes", 1, "position"), [0, "x"]),
     "model.nfg: nodes[4].body.nodes[1].position: expected [x, y] numbers"),
    ("nested edge", _set((*N, 4, "body", "edges", 0, "src"), "nope"), "nodes[4].body.edges[0].src: no node 'nope'"),
    ("tie", _set(("graph", "ties", 0, "source"), "gone"), "model.nfg: ties[0].source: no node 'gone'"),
    ("symbol", _set(("graph", "symbols", "T"), "long"), "model.nfg: symbols.T: expected an integer, got 'long'"),
    ("meta", _set(("graph", "meta"), "x"), "model.nfg: meta: expected an object, got 'x'"),
    ("huge position", _set((*N, 0, "position"), [10**400, 0]), "nodes[0].position: expected [x, y] numbers"),
]


@pytest.mark.parametrize(("edit", "message"), [(e, m) for _, e, m in MALFORMED], ids=[n for n, _, _ in MALFORMED])
def test_malformed_file_names_the_field(tmp_path: Path, edit: Callable[[Doc], None], message: str) -> None:
    doc = sample_doc()
    edit(doc)
    with pytest.raises(GraphFileError) as info:
        load_graph(write(tmp_path, doc))
    assert message in str(info.value)
    assert info.value.file == str(tmp_path / "model.nfg")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "neuralforge-graph",\n  "version": 1,\n  "graph": {', "model.nfg: invalid JSON at line 3, column"),
        ("", "model.nfg: the file is empty"),
        (b"\xff\xfe{}", "model.nfg: not UTF-8 text"),
        ("[1, 2]", "model.nfg: expected an object, got [1, 2]"),
        ("[" * 100_000, "model.nfg: invalid JSON"),
        ("9" * 5000, "model.nfg: invalid JSON"),
    ],
    ids=["truncated", "empty", "not utf-8", "list", "deep", "huge number"],
)
def test_unreadable_text(tmp_path: Path, content: str | bytes, message: str) -> None:
    with pytest.raises(GraphFileError) as info:
        load_graph(write(tmp_path, content))
    assert str(info.value).startswith(message)


def test_invalid_json_reports_line_and_column() -> None:
    text = dumps(sample_graph()).replace('"trainable": true', '"trainable": tru', 1)
    with pytest.raises(GraphFileError) as info:
        loads(text, source="model.nfg")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if '"trainable": tru' in s)
    assert info.value.line == line and info.value.column is not None


def test_bad_param_values_load_and_validation_reports_them() -> None:
    doc = sample_doc()
    doc["graph"]["nodes"][node_index(doc, "head")]["params"] = {"out_features": "many", "colour": "red"}
    graph = graph_from_dict(doc)
    assert graph.nodes["head"].params == {"out_features": "many", "colour": "red"}
    fields = {d.field for d in infer_shapes(graph).errors if d.node == "head"}
    assert {"out_features", "colour"} <= fields
    assert dumps(loads(dumps(graph))) == dumps(graph)


def test_loading_does_not_modify_the_input() -> None:
    doc = sample_doc()
    frozen = copy.deepcopy(doc)
    graph = graph_from_dict(doc)
    graph.nodes["conv"].params["out_channels"] = 99
    assert doc == frozen


# -- unknown layer types ---------------------------------------------------------------------------------
def _with_plugin_node(doc: Doc) -> Doc:
    """Turn the ``flat`` node into a layer of a plugin that is not installed, with an unusual record."""
    i = node_index(doc, "flat")
    doc["graph"]["nodes"][i] = {
        "type": "FancyPlugin.Warp",  # a different key order and raw number spellings must survive
        "id": "flat",
        "params": {"zeta": [1, {"deep": None}], "alpha": 1.0, "mode": "wild"},
        "type_version": 7,
        "position": [100.0, 20],
        "body": {"anything": ["the plugin", "owns this"]},
    }
    return doc


def test_unknown_type_is_kept_and_saved_back_unchanged() -> None:
    doc = _with_plugin_node(sample_doc())
    graph = graph_from_dict(doc)
    node = graph.nodes["flat"]
    assert node.type == "FancyPlugin.Warp" and node.unknown is not None and node.type_version == 7
    assert node.params == {"zeta": [1, {"deep": None}], "alpha": 1.0, "mode": "wild"}
    assert [str(e) for e in graph.edges if "flat" in (e.src, e.dst)] == ["conv.y → flat.x", "flat.y → proj.x"]
    diagnostics = [d for d in infer_shapes(graph).diagnostics if d.node == "flat"]
    assert [d.code for d in diagnostics] == ["unknown-type"]
    saved = json.loads(dumps(graph))
    assert saved == doc
    record = saved["graph"]["nodes"][node_index(saved, "flat")]
    assert list(record) == ["type", "id", "params", "type_version", "position", "body"]
    assert json.dumps(record) == json.dumps(doc["graph"]["nodes"][node_index(doc, "flat")])
    text = dumps(graph)
    assert dumps(loads(text)) == text


def test_moved_unknown_node_updates_only_what_changed() -> None:
    doc = _with_plugin_node(sample_doc())
    graph = graph_from_dict(doc)
    graph.nodes["flat"].position = (300.0, 40.5)
    graph.nodes["flat"].notes = "moved"
    graph.rename_node("flat", "warp")
    record = graph_to_dict(graph)["graph"]["nodes"][2]
    expected = dict(doc["graph"]["nodes"][2], id="warp", position=[300, 40.5], notes="moved")
    assert record == expected
    assert list(record) == ["type", "id", "params", "type_version", "position", "body", "notes"]


# -- migrations ------------------------------------------------------------------------------------------
@pytest.fixture
def format_zero_migration() -> Iterator[None]:
    """Format 0 (a pre-release) called the node list "layers" and had no per-node type versions."""

    def upgrade(doc: Doc) -> Doc:
        graph = doc["graph"]
        graph["nodes"] = graph.pop("layers")
        for node in graph["nodes"]:
            node["type_version"] = 1
        return doc

    register_format_migration(0, upgrade)
    try:
        yield
    finally:
        unregister_format_migration(0)


def test_registered_format_migration_is_applied(format_zero_migration: None) -> None:
    old = sample_doc()
    old["version"] = 0
    old["graph"]["layers"] = old["graph"].pop("nodes")
    for node in old["graph"]["layers"]:
        del node["type_version"]
    assert 0 in serialize.format_migrations()
    graph = graph_from_dict(old)
    assert dumps(graph) == dumps(sample_graph())
    assert "layers" in old["graph"]  # the caller's data is untouched


def test_format_migrations_chain_in_order(format_zero_migration: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serialize, "FORMAT_VERSION", 2)
    seen: list[int] = []

    def to_two(doc: Doc) -> Doc:
        seen.append(doc["version"])
        doc["graph"]["meta"]["migrated"] = True
        return doc

    register_format_migration(1, to_two)
    try:
        doc = sample_doc()
        doc["version"] = 0
        doc["graph"]["layers"] = doc["graph"].pop("nodes")
        graph = graph_from_dict(doc)
    finally:
        unregister_format_migration(1)
    assert seen == [1] and graph.meta["migrated"] is True
    assert graph_to_dict(graph)["version"] == 2


def test_broken_or_duplicate_format_migration() -> None:
    register_format_migration(0, lambda doc: doc["nope"])
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_format_migration(0, lambda doc: doc)
        doc = sample_doc()
        doc["version"] = 0
        with pytest.raises(GraphFileError, match="migrating from format 0 to 1 failed"):
            graph_from_dict(doc)
    finally:
        unregister_format_migration(0)


def _scale_layer(version: int, migrate: Callable[[int, dict[str, Any]], dict[str, Any]] | None) -> LayerDef:
    return LayerDef(type="Scale", category="Test", description="multiplies by a constant", math="y = s·x",
                    shape=lambda p, x: {"y": x["x"]}, params=(ParamSpec("scale", "float", 1.0),),
                    version=version, migrate=migrate)


def _catalog_with(layer: LayerDef) -> Catalog:
    cat = Catalog()
    cat.register_all(builtin_layers())
    cat.register(layer)
    return cat


def _scale_doc(type_version: int) -> Doc:
    graph = Graph("scaled")
    graph.insert_node(Node("s", "Scale", {"factor": 2.5}, type_version=type_version))
    return graph_to_dict(graph)


def test_layer_migration_is_applied() -> None:
    calls: list[tuple[int, dict[str, Any]]] = []

    def migrate(old: int, params: dict[str, Any]) -> dict[str, Any]:
        calls.append((old, dict(params)))
        return {"scale": params.pop("factor")}

    cat = _catalog_with(_scale_layer(2, migrate))
    graph = graph_from_dict(_scale_doc(1), cat)
    assert calls == [(1, {"factor": 2.5})]
    assert graph.nodes["s"].params == {"scale": 2.5} and graph.nodes["s"].type_version == 2
    assert graph_to_dict(graph)["graph"]["nodes"][0]["type_version"] == 2
    assert graph_from_dict(graph_to_dict(graph), cat).nodes["s"].params == {"scale": 2.5}
    assert len(calls) == 1  # current files are not migrated again


def test_layer_migration_failure_names_the_node() -> None:
    cat = _catalog_with(_scale_layer(2, lambda old, params: params["missing"]))
    with pytest.raises(GraphFileError, match=r"nodes\[0\]: cannot migrate Scale params from version 1 to 2"):
        graph_from_dict(_scale_doc(1), cat, source="m.nfg")


def test_newer_layer_version_loads_as_saved() -> None:
    cat = _catalog_with(_scale_layer(2, None))
    graph = graph_from_dict(_scale_doc(5), cat)
    assert graph.nodes["s"].type_version == 5 and graph.nodes["s"].params == {"factor": 2.5}
    assert graph_from_dict(_scale_doc(1), cat).nodes["s"].type_version == 2  # no migrate: version bumped


# -- property-based --------------------------------------------------------------------------------------
IDS = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: not keyword.iskeyword(s))
COORD = st.floats(allow_nan=False, allow_infinity=False)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def graphs(draw: st.DrawFn, depth: int = 0) -> Graph:
    graph = Graph(draw(st.text(max_size=10)))
    ids = draw(st.lists(IDS, min_size=2, max_size=9, unique=True))
    for i, node_id in enumerate(ids):
        kind = "Input" if i == 0 else "Output" if i == len(ids) - 1 else draw(
            st.sampled_from(["Linear", "Identity", "Flatten", "Block"] if depth < 1 else ["Linear", "Flatten"]))
        params: dict[str, Any] = dict(draw({
            "Input": st.fixed_dictionaries({"shape": st.lists(st.integers(1, 64), max_size=3), "role": st.just(
                "data"), "dtype": st.sampled_from(["float32", "int64"])}),
            "Linear": st.fixed_dictionaries({"out_features": st.integers(-5, 10**6), "bias": st.booleans()}),
            "Flatten": st.dictionaries(st.sampled_from(["start_dim", "end_dim"]), st.integers(-3, 3)),
            "Block": st.fixed_dictionaries({"repeat": st.integers(1, 4)}),
        }.get(kind, st.just({}))))
        if draw(st.booleans()):
            params["extra"] = draw(JSON_VALUES)  # unexpected values load as given
        body = draw(graphs(depth + 1)) if kind == "Block" else None
        node = Node(node_id, kind, params, position=(draw(COORD), draw(COORD)), notes=draw(st.text(max_size=12)),
                    label=draw(st.text(max_size=6)), trainable=draw(st.booleans()), body=body)
        graph.insert_node(node)
        if i:
            src = draw(st.sampled_from(ids[:i]))
            if graph.nodes[src].type != "Output":
                graph.connect(src, "y", node_id, "x")
    for node_id in draw(st.lists(st.sampled_from(ids), max_size=2, unique=True)):
        graph.tie(node_id, "weight", draw(st.sampled_from(ids)), "weight")
    graph.symbols = draw(st.dictionaries(st.from_regex(r"[A-Z][a-z]?", fullmatch=True),
                                     st.integers(-(2**63), 2**63 - 1), max_size=2))
    graph.meta = draw(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=3))
    return graph


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_round_trip(graph: Graph) -> None:
    text = dumps(graph)
    loaded = loads(text)
    assert dumps(loaded) == text
    assert graph_to_dict(loaded) == graph_to_dict(graph)
    for node_id, node in graph.nodes.items():
        assert loaded.nodes[node_id].position == node.position


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


BASE_DOC = _with_plugin_node(sample_doc())
BASE_PATHS = list(_paths(BASE_DOC))
BASE_TEXT = dumps(graph_from_dict(BASE_DOC))
WRONG = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) | st.lists(
    st.integers(), max_size=3) | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)


def _load_or_error(text: str | bytes) -> None:
    try:
        graph = loads(text, source="fuzz.nfg")
    except GraphFileError as exc:
        assert str(exc).startswith("fuzz.nfg: ")
        return
    assert dumps(loads(dumps(graph))) == dumps(graph)  # whatever loads can be saved and loads the same


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_corrupted_structure_raises_only_graph_file_error(data: st.DataObject) -> None:
    doc = copy.deepcopy(BASE_DOC)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(doc)) or [("graph",)]))
        parent: Any = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(WRONG)
        except (KeyError, IndexError, TypeError):
            continue
    _load_or_error(json.dumps(doc))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(BASE_TEXT)), st.integers(0, len(BASE_TEXT)), st.text(max_size=3), st.sampled_from(
    ["truncate", "replace", "insert"]))
def test_corrupted_text_raises_only_graph_file_error(start: int, end: int, junk: str, how: str) -> None:
    start, end = min(start, end), max(start, end)
    text = {"truncate": BASE_TEXT[:start], "replace": BASE_TEXT[:start] + junk + BASE_TEXT[end:],
            "insert": BASE_TEXT[:start] + junk + BASE_TEXT[start:]}[how]
    _load_or_error(text)
    _load_or_error(text.encode("utf-8", "surrogatepass")[: max(0, start - 1)])
