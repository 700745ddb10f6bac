"""``neuralforge import model.onnx``: an ONNX file → a graph and its weights, checked against onnxruntime.

The file is run once in onnxruntime with every intermediate value as an output, so each node's real input and
output shapes are known (and shape arithmetic such as ``Shape → Gather → Concat → Reshape`` needs no symbolic
evaluation: the Reshape's result shape is read off). Standard ops that construct a torch module (Conv, Gemm,
BatchNormalization …) build that module from the attributes and initialisers, and the catalog's own
:class:`ModuleMapper` finds the catalog type and params that construct the same module: no per-layer table of
catalog params here, and the weights are in the generated code's layout because torch's constructor made them.
Ops without a module (Flatten, Concat, Add …) map to their catalog types directly. Other ops become custom-code
nodes whose PyTorch source is written from a generic template with the attributes as literals; an op with no
template is refused with its name and node. The result is checked like a torch import: the graph built,
loaded strictly, must give onnxruntime's outputs.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.catalog.custom_code import TYPE as CUSTOM
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.importers.custom import measure
from neuralforge_desktop.core.importers.import_torch import ImportReport, ImportResult, verify
from neuralforge_desktop.core.importers.onnx_ops import GENERIC, custom_source
from neuralforge_desktop.core.importers.onnx_rules import RULES, initializer
from neuralforge_desktop.core.importers.source import ImportSourceError
from neuralforge_desktop.core.importers.torch_modules import ModuleMapper
from neuralforge_desktop.core.ir.graph import INPUT, OUTPUT, Graph
from neuralforge_desktop.core.ir.layout import layered_layout
from neuralforge_desktop.core.ir.naming import sanitize
from neuralforge_desktop.core.ir.types import BATCH, DType, TensorSpec

EXAMPLE_BATCH = 2
SYMBOL_SIZE = 8  # a named size other than the batch (a sequence length) gets this in the example
_ALIAS_OPS = {"Identity", "Dropout"}  # no-ops in an inference graph


class OnnxOpError(ImportSourceError):
    """Ops the importer can neither map nor write as code (every one is named)."""


def node_attrs(node: Any) -> dict[str, Any]:
    import onnx

    out: dict[str, Any] = {}
    for a in node.attribute:
        value = onnx.helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, float):  # float32 in the file: 1e-5 reads 9.99999974e-06; 7 digits are its own
            value = float(f"{value:.7g}")
        elif isinstance(value, list):
            value = [v.decode() if isinstance(v, bytes) else v for v in value]
        if isinstance(value, int | float | str | list):
            out[a.name] = value
    return out


def load_onnx(path: str | os.PathLike[str]) -> Any:
    """The checked ModelProto; any problem with the file is one ImportSourceError."""
    import onnx

    file = Path(path)
    if not file.is_file():
        raise ImportSourceError(f"no such file: {file}")
    try:
        model = onnx.load(str(file))
        onnx.checker.check_model(model)
    except Exception as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportSourceError(f"{file.name} is not a valid ONNX model: {why}") from None
    if not model.graph.node:
        raise ImportSourceError(f"{file.name} is an ONNX model without nodes")
    return model


def _np_dtype_name(elem_type: int) -> str:
    import onnx

    return str(onnx.helper.tensor_dtype_to_np_dtype(elem_type))


def _run_all(model: Any, feeds: dict[str, Any]) -> dict[str, Any]:
    """Every value the model computes on ``feeds`` (each node output made a graph output)."""
    import onnx
    import onnxruntime as ort  # type: ignore[import-untyped]

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for node in probe.graph.node:
        for name in node.output:
            if name and name not in have:
                probe.graph.output.append(onnx.ValueInfoProto(name=name))
                have.add(name)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every value
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, feeds), strict=True))
    except Exception as exc:
        raise ImportSourceError(f"onnxruntime cannot run the model: {str(exc).splitlines()[0]}") from None


class OnnxImporter:
    """Converts one ONNX graph; ``refs`` maps each ONNX value to the graph node output that computes it."""

    def __init__(self, model: Any, cat: Catalog, label: str) -> None:
        import numpy as np

        self.model, self.cat, self.label = model, cat, label
        self.mapper = ModuleMapper(cat)
        g = model.graph
        self.graph = Graph(sanitize(g.name or Path(label).stem, "model"))
        self.consts: dict[str, Any] = {t.name: initializer(t) for t in g.initializer}
        self.refs: dict[str, tuple[str, str]] = {}
        self.time_major: dict[str, str] = {}  # a (T, N, …) transpose's result → the batch-first tensor it took
        self.state: dict[str, Any] = {}
        self.sources: list[str] = []
        self.custom: list[tuple[str, str]] = []
        self.params = 0
        self.unknown: list[str] = []
        self.class_names: dict[str, str] = {}
        rng = np.random.default_rng(0)
        self.feeds: dict[str, Any] = {}
        self.resizable: dict[str, list[int]] = {}
        self._other: dict[str, Any] | None = None
        for inp in g.input:
            if inp.name in self.consts:
                continue
            self._add_input(inp, rng)
        self.values = _run_all(model, self.feeds)
        self.values.update(self.feeds)
        self.dynamic = set(self.feeds)

    def _add_input(self, inp: Any, rng: Any) -> None:
        import numpy as np

        tensor = inp.type.tensor_type
        dims = list(tensor.shape.dim)
        if not dims:
            raise ImportSourceError(f"input '{inp.name}' has no batch dimension (a scalar); NeuralForge graphs "
                                    f"take batches")
        shape: list[int | str] = []
        concrete: list[int] = []
        batch = dims[0].dim_value or EXAMPLE_BATCH
        for d in dims[1:]:
            if d.dim_value:
                shape.append(d.dim_value)
                concrete.append(d.dim_value)
            else:  # a named size: kept as the graph's symbol
                symbol = sanitize(d.dim_param or "T", "T")
                if symbol not in self.graph.symbols:
                    self.graph.set_symbol(symbol, SYMBOL_SIZE)
                shape.append(symbol)
                concrete.append(int(self.graph.symbols[symbol]))
        dtype = _np_dtype_name(tensor.elem_type)
        node_id = self._new_id(inp.name, "input")
        self.graph.add_node(INPUT, node_id, {"shape": shape, "dtype": dtype})
        size = (batch, *concrete)
        # the axes that may take other sizes: another run at other sizes tells a reshape's -1 from a fixed size
        self.resizable[inp.name] = [i for i, d in enumerate(dims) if not d.dim_value]
        if dtype.startswith("float"):
            self.feeds[inp.name] = rng.standard_normal(size).astype(dtype)
        elif dtype == "bool":
            self.feeds[inp.name] = np.ones(size, dtype=bool)
        else:  # token ids: small ones are valid for any vocabulary
            self.feeds[inp.name] = rng.integers(0, 2, size).astype(dtype)
        self.refs[inp.name] = (node_id, "y")

    def _new_id(self, text: str, fallback: str) -> str:
        from neuralforge_desktop.core.importers.torch_fx import _RESERVED

        base = sanitize(text.strip("/").replace("/", "_").replace(".", "_").replace(":", "_"), fallback)
        if base in _RESERVED:
            base += "_"
        return self.graph.new_id(base)

    def _node_id(self, node: Any) -> str:
        """``/layer1/blocks.0/conv1/Conv`` → ``layer1_blocks_0_conv1``: the exporter's module path, when given."""
        name = node.name.strip("/")
        parts = name.split("/")
        if len(parts) > 1 and parts[-1].split("_")[0] == node.op_type:
            name = "/".join(parts[:-1])
        elif parts[-1].split("_")[0] == node.op_type or not name:
            name = node.op_type.lower()
        return self._new_id(name, node.op_type.lower())

    # -- helpers for the op rules ----------------------------------------------------------------------------

    def other_values(self) -> dict[str, Any] | None:
        """Every value on inputs one larger along each dynamic axis (None when the model has none, or does not
        run there)."""
        import numpy as np

        if self._other is None:
            feeds = {}
            for name, value in self.feeds.items():
                for axis in self.resizable[name]:
                    value = np.concatenate([value, value.take([0], axis=axis)], axis=axis)
                feeds[name] = value
            try:
                self._other = _run_all(self.model, feeds) if any(self.resizable.values()) else {}
            except ImportSourceError:
                self._other = {}
        return self._other or None


    def is_const(self, name: str) -> bool:
        return name in self.consts or (bool(name) and name in self.values and name not in self.dynamic)

    def const(self, name: str) -> Any:
        return self.consts[name] if name in self.consts else self.values[name]

    def spec(self, name: str) -> TensorSpec:
        value = self.values[name]
        return TensorSpec((BATCH, *value.shape[1:]), DType(str(value.dtype)))

    def add(self, onnx_node: Any, type_name: str, params: dict[str, Any], inputs: list[tuple[str, str]],
            outputs: list[tuple[str, str]], state: dict[str, Any] | None = None, notes: str = "") -> str:
        node_id = self._node_id(onnx_node)
        self.graph.add_node(type_name, node_id, params, notes=notes)
        for port, value in inputs:
            src, src_port = self.refs[value]
            self.graph.connect(src, src_port, node_id, port)
        for port, value in outputs:
            self.refs[value] = (node_id, port)
        for key, tensor in (state or {}).items():
            self.state[f"{node_id}.{key}"] = tensor
        return node_id

    def add_module(self, onnx_node: Any, module: Any, x: str, y: str) -> bool:
        """``module`` as the catalog layer that constructs it (False when none does)."""
        found = self.mapper.map(module, {"x": self.spec(x)})
        if found is None:
            return False
        type_name, params = found
        params = plain_sizes(self.cat, type_name, params)
        state = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}
        self.params += sum(p.numel() for p in module.parameters())
        self.add(onnx_node, type_name, params, [("x", x)], [("y", y)], state)
        return True

    # -- the walk ------------------------------------------------------------------------------------------

    def convert(self) -> tuple[Graph, list[Any], list[Any]]:
        import torch

        consumers: dict[str, list[Any]] = {}
        for node in self.model.graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        self.consumers = consumers
        self.skip: set[int] = set()
        self.from_shape: set[str] = set()
        for node in self.model.graph.node:
            if node.op_type == "Shape" or not any(i in self.dynamic for i in node.input):
                if node.op_type == "Shape" or any(i in self.from_shape for i in node.input):
                    self.from_shape.update(node.output)  # holds the example's batch size
                continue  # shape arithmetic and constants: read from their values where needed
            self.dynamic.update(o for o in node.output if o)
            if id(node) in self.skip:
                continue  # folded into the node before it
            if any(i in self.dynamic and i not in self.refs and i not in self.time_major for i in node.input):
                if not self.unknown:
                    raise ImportSourceError(f"{self.label}: node '{node.name}' ({node.op_type}) reads a value no "
                                            f"imported node computes; please report this model")
                continue  # fed by an op already reported as unknown
            if node.op_type in _ALIAS_OPS:
                self.refs[node.output[0]] = self.refs[node.input[0]]
                continue
            rule = RULES.get(node.op_type)
            if rule is None or not rule(self, node, node_attrs(node)):
                self._custom(node)
        if self.unknown:
            raise OnnxOpError(f"{self.label}: {len(self.unknown)} op(s) NeuralForge can neither map to a layer nor "
                              f"write as PyTorch code: {'; '.join(self.unknown)}")
        outputs = []
        for out in self.model.graph.output:
            if out.name not in self.refs:
                raise ImportSourceError(f"output '{out.name}' does not depend on any input (a constant)")
            node_id = self._new_id(out.name, "output")
            self.graph.add_node(OUTPUT, node_id)
            src, port = self.refs[out.name]
            self.graph.connect(src, port, node_id, "x")
            outputs.append(torch.from_numpy(self.values[out.name].copy()))
        inputs = [torch.from_numpy(self.feeds[i.name].copy()) for i in self.model.graph.input if i.name in self.feeds]
        layered_layout(self.graph)
        return self.graph, inputs, outputs

    def _custom(self, node: Any) -> None:
        """The op as a custom-code node written from its generic template, or noted as unknown."""
        import torch

        attrs = node_attrs(node)
        where = f"{node.op_type} (node '{node.name or node.output[0]}')"
        if node.op_type not in GENERIC:
            self.unknown.append(where)
            return
        dyn = [n for n in node.input if n and n in self.dynamic]
        consts = {i: self.const(n) for i, n in enumerate(node.input) if n and n not in self.dynamic}
        if any(n in self.from_shape for n in node.input):  # as code it would keep the example's batch size
            self.unknown.append(f"{where}, whose operands are computed from an input's shape")
            return
        outs = [o for o in node.output if o]
        made = custom_source(node.op_type, "Cls", list(node.input), dyn, consts, attrs)
        if made is None:
            self.unknown.append(f"{where} with attributes {json.dumps(attrs)}")
            return
        text, buffers = made
        base = f"Onnx{node.op_type}"
        taken = set(self.class_names.values())
        class_name = self.class_names.get(text) or next(
            name for name in (base if i == 1 else f"{base}{i}" for i in range(1, len(taken) + 2)) if name not in taken)
        self.class_names[text] = class_name
        source = text.replace("class Cls(", f"class {class_name}(")
        kwargs = {"shapes": [[i, list(consts[i].shape), str(consts[i].dtype)] for i in buffers]} if buffers else {}
        namespace: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "math": math}
        exec(compile(source, f"<onnx {node.op_type}>", "exec"), namespace)  # trusted: our own template, not the file's
        module = namespace[class_name](**kwargs)
        state = {f"c{i}": torch.from_numpy(consts[i].copy()) for i in buffers}
        module.load_state_dict(state)
        ins = [torch.from_numpy(self.values[n].copy()) for n in dyn]
        with torch.no_grad():
            got = module(*ins)
        got = list(got) if isinstance(got, tuple | list) else [got]
        reason = f"ONNX {where} has no catalog layer with these settings; kept as PyTorch code" + (
            f" (attributes {json.dumps(attrs)})" if attrs else "")
        params = {"class_name": class_name, "source": source, "init_kwargs": json.dumps(kwargs),
                  "num_inputs": len(dyn), "num_outputs": len(outs),
                  "measured": json.dumps(measure(module, ins, got))}
        node_id = self.add(node, CUSTOM, params, [(f"x{i}", n) for i, n in enumerate(dyn)],
                           [(f"y{i}", n) for i, n in enumerate(outs)], state, notes=reason)
        self.custom.append((node_id, reason))
        self.sources.append(source)


def plain_sizes(cat: Catalog, type_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """A module layer's ``[3, 3]`` as ``3``, as one writes it (torch stores the pair; both build the same)."""
    layer = cat.get(type_name)
    out = dict(params)
    for key, value in params.items():
        if isinstance(value, list) and len(value) > 1 and len(set(value)) == 1 and isinstance(value[0], int):
            trial = {**out, key: value[0]}
            if not layer.validate_params(trial)[1]:
                out = trial
    return out


def keyed_for_code(graph: Graph, state: dict[str, Any], cat: Catalog) -> dict[str, Any]:
    """``node.param`` keys as the generated code names its modules (it renames an id that would shadow a
    name it uses, ``conv2d`` → ``conv2d_1``)."""
    from neuralforge_desktop.core.codegen.plan import plan_model

    attrs = {step.node.id: step.attr for step in plan_model(graph, cat=cat).steps if step.attr}
    out: dict[str, Any] = {}
    for key, value in state.items():
        node, _, rest = key.partition(".")
        out[f"{attrs.get(node, node)}.{rest}"] = value
    return out


def import_onnx(path: str | os.PathLike[str], *, cat: Catalog | None = None) -> ImportResult:
    """Import an ONNX file (see the module docstring); checked against onnxruntime before it is returned."""
    cat = cat or catalog()
    model = load_onnx(path)
    label = Path(path).name
    importer = OnnxImporter(model, cat, label)
    graph, inputs, expected = importer.convert()
    graph.meta["imported_from"] = label
    types: dict[str, int] = {}
    for node in graph:
        if node.type not in (INPUT, OUTPUT):
            types[node.type] = types.get(node.type, 0) + 1
    nodes = sum(types.values())
    report = ImportReport(label, nodes, nodes - len(importer.custom), 0, 0, importer.custom, types,
                          importer.params, outputs=[n.id for n in graph.output_nodes])
    state = keyed_for_code(graph, importer.state, cat)
    result = ImportResult(graph, state, report, list(dict.fromkeys(importer.sources)))
    report.max_abs_diff = verify(result, inputs, expected, cat)
    return result
