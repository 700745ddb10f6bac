"""``neuralforge import model.keras``: a Keras 3 model → a graph and its weights, checked against Keras.

Which catalog types a Keras class may become is read from the catalog's own Keras forms (each entry's
``KerasCall.layer``); each Keras layer is rebuilt as the torch module it corresponds to, from its config and
weights (kernels transposed into torch's layout), and the catalog's :class:`ModuleMapper` finds the params that
construct that module, as for a PyTorch import. Keras works channels-last (N, H, W, C); the catalog's layers are
PyTorch's (N, C, H, W). The graph takes the model's inputs as Keras does, and a Permute moves the channels
where a torch layer wants them, and back where a Keras-ordered op (Flatten, Dense on a sequence, the outputs)
needs them: every tensor is either in Keras' order or channels-first, and the importer tracks which.

Keras (and TensorFlow, its default backend) is imported only here, when a Keras model is imported.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.importers.import_torch import ImportReport, ImportResult, verify
from neuralforge_desktop.core.importers.onnx_import import keyed_for_code, plain_sizes
from neuralforge_desktop.core.importers.source import ImportSourceError
from neuralforge_desktop.core.importers.torch_modules import ModuleMapper
from neuralforge_desktop.core.ir.graph import INPUT, OUTPUT, Graph
from neuralforge_desktop.core.ir.layout import layered_layout
from neuralforge_desktop.core.ir.naming import sanitize
from neuralforge_desktop.core.ir.types import BATCH, DType, TensorSpec

EXAMPLE_BATCH = 2
SYMBOL_SIZE = 8
# where a tensor's channels are: Keras' order, moved to dim 1, or flattened from channels-first (a Dense layer
# reading it takes its kernel's rows in that order, so a Keras CNN imports without moving channels back)
KERAS, TORCH, FLAT = "keras", "torch", "flat"

# Keras activation names → torch modules (name, kwargs); "linear" is none at all.
_ACTIVATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "relu": ("ReLU", {}), "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}), "softmax": ("Softmax", {"dim": -1}),
    "log_softmax": ("LogSoftmax", {"dim": -1}), "gelu": ("GELU", {}), "silu": ("SiLU", {}),
    "swish": ("SiLU", {}), "elu": ("ELU", {"alpha": 1.0}), "selu": ("SELU", {}), "relu6": ("ReLU6", {}),
    "hard_sigmoid": ("Hardsigmoid", {}), "hard_silu": ("Hardswish", {}), "hard_swish": ("Hardswish", {}),
    "mish": ("Mish", {}), "leaky_relu": ("LeakyReLU", {"negative_slope": 0.2}),
}
_SPATIAL = {"Conv1D", "Conv2D", "Conv3D", "MaxPooling1D", "MaxPooling2D", "AveragePooling2D",
            "GlobalAveragePooling2D", "GlobalMaxPooling2D", "BatchNormalization"}
_SKIPPED = {"InputLayer"}
# layers whose torch form pads inside: an ops.pad before one (generated code writes it so) is its padding
PADDED = {"Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "MaxPooling1D", "MaxPooling2D"}


def catalog_forms(cat: Catalog) -> dict[str, list[str]]:
    """Keras class name → the catalog types whose Keras form is that class (read from each KerasCall)."""
    spec = TensorSpec((BATCH, 3, 8, 8), DType("float32"))
    table: dict[str, list[str]] = {}
    for layer in cat:
        call = layer.keras
        if call is None or call.layer is None:
            continue
        try:
            name = call.layer_class(layer.validate_params(layer.default_params())[0], {"x": spec})
        except Exception:  # a form that needs other inputs than an image to name its class: not mappable here
            continue
        if name:
            table.setdefault(name.removeprefix("layers."), []).append(layer.type)
    return table


def _keras() -> Any:
    try:
        import keras  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ImportSourceError(f"importing a Keras model needs Keras 3 installed ({exc})") from None
    return keras


def load_keras(source: str) -> tuple[Any, str]:
    """A Keras model from ``model.keras`` or ``file.py:factory`` (a function returning a model, or a model)."""
    path, _, name = source.partition(":") if source.count(":") == 1 and not source.endswith(".keras") \
        else (source, "", "")
    file = Path(path)
    if not file.is_file():
        raise ImportSourceError(f"no such file: {file}")
    keras = _keras()
    if not name:
        try:
            model = keras.saving.load_model(str(file), compile=False)
        except Exception as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImportSourceError(f"{file.name} is not a Keras model file Keras can load: {why}") from None
        return model, file.name
    try:
        namespace = runpy.run_path(str(file))
    except Exception as exc:
        raise ImportSourceError(f"{file.name} fails to run: {type(exc).__name__}: {exc}") from None
    if name not in namespace:
        raise ImportSourceError(f"{file.name} defines no {name!r}")
    model = namespace[name]
    if not isinstance(model, keras.Model) and callable(model):
        model = model()
    if not isinstance(model, keras.Model):
        raise ImportSourceError(f"{file.name}:{name} is not a Keras model or a function returning one")
    if _graph_of(model) is None and callable(namespace.get("example_input")):
        # a subclassed model (generated code is one): the layers and ops its call() runs on inputs shaped
        # like the file's example input, as a functional model sharing its layers and weights
        from neuralforge_desktop.core.importers.keras_ops import trace_subclassed

        traced = trace_subclassed(model, namespace["example_input"](), f"{file.name}:{name}")
        traced.traced_from = model  # what the import is checked against
        model = traced
    return model, f"{file.name}:{name}"


def _graph_of(model: Any) -> Any:
    """The functional graph of a model (a Sequential wraps one), or None for a subclassed model."""
    fn = model._functional if hasattr(model, "_functional") else model
    try:
        return fn if fn is not None and getattr(fn, "inputs", None) and hasattr(fn, "_nodes_by_depth") else None
    except (AttributeError, ValueError):  # a subclassed model that was never called on keras.Input
        return None


class KerasImporter:
    def __init__(self, model: Any, cat: Catalog, label: str, parent: KerasImporter | None = None) -> None:
        """``parent``: the importer of the model a block is part of, whose catalog tables the block's reuses."""
        import numpy as np

        from neuralforge_desktop.core.importers.keras_ops import OpForm, helper_classes, op_forms

        self.model, self.cat, self.label = model, cat, label
        self.forms: dict[str, list[str]] = parent.forms if parent else catalog_forms(cat)
        self.mapper: ModuleMapper = parent.mapper if parent else ModuleMapper(cat)
        self.op_forms: dict[str, list[OpForm]] = parent.op_forms if parent else op_forms(cat)
        self.helpers: frozenset[str] = parent.helpers if parent else helper_classes(cat)
        self.graph = Graph(sanitize(model.name or Path(label).stem, "model"))
        self.refs: dict[int, tuple[str, str, str]] = {}  # id(KerasTensor) → (node, port, layout)
        self.permuted: dict[tuple[int, str], tuple[str, str]] = {}
        self.flat_from: dict[int, tuple[int, ...]] = {}  # a FLAT tensor → the channels-first shape flattened
        self.shapes: dict[int, tuple[Any, ...]] = {}
        self.state: dict[str, Any] = {}
        self.node: Any = None  # the Keras graph node being converted
        self.params = 0
        self.problems: list[str] = []
        self.feeds: list[Any] = []
        rng = np.random.default_rng(0)
        # ops.pad results (→ what was padded, widths, value) and the layer that takes each as its own padding
        self.pads: dict[int, tuple[Any, Any, float]] = {}
        self.layer_pads: dict[int, tuple[Any, float]] = {}
        # a repeated block's name → (node, last copy, its outputs)
        self.chains: dict[str, tuple[str, int, tuple[int, ...]]] = {}
        self.masks: dict[int, tuple[Any, str]] = {}  # an attention mask → (the tensor it is built from, how)
        self.mask_in: list[tuple[Any, str]] = []  # the masks the attention layer being converted reads
        self.unusable: dict[int, str] = {}  # a tensor no catalog port gives → why
        fn = _graph_of(model)
        if fn is None:
            raise ImportSourceError(f"{label}: the model has no known input shape (build it with keras.Input, "
                                    "or give its file an example_input() to trace a subclassed model's call())")
        self.fn = fn
        for t in fn.inputs:
            self._add_input(t, rng)

    def _add_input(self, t: Any, rng: Any) -> None:
        shape: list[int | str] = []
        concrete = []
        for d in t.shape[1:]:
            if d is None:
                if "T" not in self.graph.symbols:
                    self.graph.set_symbol("T", SYMBOL_SIZE)
                shape.append("T")
                concrete.append(SYMBOL_SIZE)
            else:
                shape.append(int(d))
                concrete.append(int(d))
        dtype = str(t.dtype)
        node_id = self.graph.new_id(sanitize(t.name, "input"))
        self.graph.add_node(INPUT, node_id, {"shape": shape, "dtype": dtype})
        size = (EXAMPLE_BATCH, *concrete)
        self.feeds.append(rng.standard_normal(size).astype(dtype) if dtype.startswith("float")
                          else rng.integers(0, 2, size).astype(dtype))
        self.refs[id(t)] = (node_id, "y", KERAS)
        self.shapes[id(t)] = (EXAMPLE_BATCH, *concrete)

    # -- building ------------------------------------------------------------------------------------------

    def ref(self, t: Any, layout: str) -> tuple[str, str]:
        """``t``'s graph output in the wanted layout, a Permute added (once) where it is in the other."""
        node, port, have = self.refs[id(t)]
        if have == FLAT and layout != FLAT:
            return self._unflatten(t)
        rank = len(self.shapes[id(t)])
        if have == layout or rank < 3:
            return node, port
        key = (id(t), layout)
        if key not in self.permuted:
            dims = [0, rank - 1, *range(1, rank - 1)] if layout == TORCH else [0, *range(2, rank), 1]
            pid = self.graph.new_id(f"{node}_to_{'channels_first' if layout == TORCH else 'channels_last'}")
            self.graph.add_node("Permute", pid, {"dims": dims})
            self.graph.connect(node, port, pid, "x")
            self.permuted[key] = (pid, "y")
        return self.permuted[key]

    def _unflatten(self, t: Any) -> tuple[str, str]:
        """A channels-first flattening in Keras' order (channels last, then flattened), for a reader that is no
        Dense layer: reshape back, move the channels, flatten again."""
        key = (id(t), KERAS)
        if key not in self.permuted:
            node, port, _ = self.refs[id(t)]
            shape = list(self.flat_from[id(t)])
            rank = len(shape) + 1
            src = (node, port)
            for type_name, params in (("Reshape", {"shape": shape}), ("Permute", {"dims": [0, *range(2, rank), 1]}),
                                      ("Flatten", {})):
                nid = self.graph.new_id(f"{node}_channels_last_{type_name.lower()}")
                self.graph.add_node(type_name, nid, params)
                self.graph.connect(*src, nid, "x")
                src = (nid, "y")
            self.permuted[key] = src
        return self.permuted[key]

    def spec(self, t: Any, layout: str) -> TensorSpec:
        shape = self.shapes[id(t)]
        if layout == TORCH and len(shape) >= 3:
            shape = (shape[0], shape[-1], *shape[1:-1])
        return TensorSpec((BATCH, *shape[1:]), DType(str(t.dtype)))

    def add(self, name: str, type_name: str, params: dict[str, Any], inputs: list[tuple[str, Any]], layout: str,
            state: dict[str, Any] | None = None) -> str:
        node_id = self.graph.new_id(sanitize(name, "layer"))
        self.graph.add_node(type_name, node_id, params)
        for port, t in inputs:
            src, src_port = self.ref(t, layout)
            self.graph.connect(src, src_port, node_id, port)
        for key, value in (state or {}).items():
            self.state[f"{node_id}.{key}"] = value.detach().clone().contiguous()
        return node_id

    def add_module(self, name: str, keras_class: str, module: Any, x: Any, layout: str) -> str:
        found = self.mapper.map(module, {"x": self.spec(x, layout)})
        allowed = self.forms.get(keras_class)
        if found is None or (allowed is not None and found[0] not in allowed and keras_class != "Activation"):
            raise ImportSourceError(f"{self.label}: layer '{name}' ({keras_class}): no catalog layer constructs "
                                    f"{module!r}")
        self.params += sum(p.numel() for p in module.parameters())
        return self.add(name, found[0], plain_sizes(self.cat, *found), [("x", x)], layout, module.state_dict())

    def finish(self, name: str, node: str, out: Any, layout: str, activation: Any = None) -> None:
        """``out`` is ``node``'s result, then the layer's ``activation=`` as its own node after it (the catalog
        keeps activations separate)."""
        self.refs[id(out)] = (node, "y", layout)
        key = _activation_key(activation)
        if key is not None:
            self.apply(f"{name}_{key}", out, layout, activation)

    def apply(self, name: str, out: Any, layout: str, activation: Any) -> None:
        """The activation ``activation`` (a name, or (name, its one setting)) applied to ``out`` in place."""
        from torch import nn

        key = _activation_key(activation)
        if key is None:
            return
        if key not in _ACTIVATIONS:
            raise ImportSourceError(f"{self.label}: layer '{name}': activation {key!r} has no catalog layer")
        cls, kwargs = _ACTIVATIONS[key]
        if isinstance(activation, tuple):  # a setting of the activation layer (LeakyReLU's slope, ELU's alpha)
            kwargs = {next(iter(kwargs), "alpha"): activation[1]}
        if cls in ("Softmax", "LogSoftmax"):
            layout = KERAS  # over the last axis as Keras orders it
        act = self.add_module(name, "Activation", getattr(nn, cls)(**kwargs), out, layout)
        self.refs[id(out)] = (act, "y", layout)

    # -- the walk ------------------------------------------------------------------------------------------

    def convert(self) -> Graph:
        keras = _keras()

        from neuralforge_desktop.core.importers.keras_layers import convert_layer
        from neuralforge_desktop.core.importers.keras_ops import convert_block, convert_op, is_block, mask_op

        by_depth = self.fn._nodes_by_depth  # the order Keras' own Function runs the graph in
        for depth in sorted(by_depth, reverse=True):
            for node in by_depth[depth]:
                op = node.operation
                if op is None or node.is_input or type(op).__name__ in _SKIPPED:
                    continue
                ins = list(node.input_tensors)
                outs = list(node.output_tensors)
                if mask_op(self, node, ins, outs):
                    continue
                self.mask_in = [self.masks[id(t)] for t in ins if id(t) in self.masks]
                if self.mask_in and type(op).__name__ == "MultiHeadAttention":  # its rule connects the mask
                    ins = [t for t in ins if id(t) not in self.masks]
                if ins and id(ins[0]) in self.pads and type(op).__name__ in PADDED:
                    ins[0], widths, value = self.pads[id(ins[0])]
                    self.layer_pads[id(op)] = (widths, value)
                for t in ins:
                    if id(t) in self.unusable:
                        self.problems.append(f"'{op.name}' reads {self.unusable[id(t)]}")
                if not ins or not all(id(t) in self.refs for t in ins):
                    for t in outs:
                        if ins and id(t) not in self.refs:
                            self.unusable[id(t)] = f"the result of '{op.name}', which cannot be imported"
                    continue
                for t in outs:
                    self.shapes[id(t)] = (EXAMPLE_BATCH, *[SYMBOL_SIZE if d is None else int(d) for d in t.shape[1:]])
                try:
                    self.node = node  # a rule reading the call's keyword arguments finds them here
                    if isinstance(op, keras.layers.Layer) and is_block(self, op):
                        convert_block(self, op, ins, outs)
                    elif isinstance(op, keras.layers.Layer) or not isinstance(op, keras.Operation):
                        convert_layer(self, op, ins, outs)
                    else:
                        convert_op(self, node, ins, outs)
                    for t in outs:  # an elementwise layer keeps a flattening's order
                        if id(t) in self.refs and self.refs[id(t)][2] == FLAT and id(t) not in self.flat_from:
                            self.flat_from[id(t)] = self.flat_from[id(ins[0])]
                except ImportSourceError as exc:
                    self.problems.append(str(exc).removeprefix(f"{self.label}: "))
                    for t in outs:  # refer to the input so the walk can go on and report every problem
                        self.refs[id(t)] = self.refs[id(ins[0])]
                        self.unusable.pop(id(t), None)
        if self.problems:
            raise ImportSourceError(f"{self.label}: {len(self.problems)} layer(s) cannot be imported: "
                                    f"{'; '.join(self.problems)}")
        for t in self.fn.outputs:  # named after the layer that computes it, as Keras names outputs
            history = getattr(t, "_keras_history", None)
            base = "output" if len(self.fn.outputs) == 1 or history is None else history.operation.name
            node_id = self.graph.new_id(sanitize(base, "output"))
            self.graph.add_node(OUTPUT, node_id)
            src, port = self.ref(t, KERAS)
            self.graph.connect(src, port, node_id, "x")
        layered_layout(self.graph)
        return self.graph


def _activation_key(activation: Any) -> str | None:
    """"relu" for "relu", ("leaky_relu", 0.1) or keras.activations.relu; None for no activation."""
    if isinstance(activation, tuple):
        activation = activation[0]
    if isinstance(activation, dict):  # a serialized function
        activation = activation.get("config", activation.get("class_name"))
    key = activation if isinstance(activation, str) or activation is None else getattr(activation, "__name__", "?")
    return None if key in (None, "linear") else str(key)


def import_keras(source: str | os.PathLike[str], *, cat: Catalog | None = None) -> ImportResult:
    """Import ``model.keras`` or ``file.py:factory`` (see the module docstring), checked against Keras."""
    import torch

    cat = cat or catalog()
    model, label = load_keras(str(source))
    importer = KerasImporter(model, cat, label)
    graph = importer.convert()
    graph.meta["imported_from"] = label
    try:
        reference = getattr(model, "traced_from", model)  # a traced subclassed model: checked against itself
        if reference is not model:  # a subclassed model's call() takes its inputs as arguments
            expected = reference(*importer.feeds, training=False)
        else:
            expected = reference(importer.feeds if len(importer.feeds) > 1 else importer.feeds[0], training=False)
    except Exception as exc:
        raise ImportSourceError(f"{label}: Keras cannot run the model: {exc}") from None
    outs = expected if isinstance(expected, list | tuple) else [expected]
    want = [torch.from_numpy(_numpy(o).copy()) for o in outs]
    types: dict[str, int] = {}
    blocks = folded = 0
    for _, node in graph.walk():  # blocks' bodies too, as a PyTorch import counts them
        if node.type not in (INPUT, OUTPUT):
            types[node.type] = types.get(node.type, 0) + 1
            blocks += node.is_block
            folded += node.is_block and node.repeat > 1
    nodes = sum(types.values())
    report = ImportReport(label, nodes, nodes - blocks, blocks, folded, [], types, importer.params,
                          outputs=[n.id for n in graph.output_nodes])
    result = ImportResult(graph, keyed_for_code(graph, importer.state, cat), report, [])
    inputs = [torch.from_numpy(f.copy()) for f in importer.feeds]
    report.max_abs_diff = verify(result, inputs, want if len(want) > 1 else want[0], cat)
    return result


def _numpy(value: Any) -> Any:
    import numpy as np

    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)
