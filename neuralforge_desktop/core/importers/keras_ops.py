"""keras.ops operations → graph nodes, and subclassed models as the graph of layers and ops their ``call()`` runs.

A subclassed model (the Keras code NeuralForge generates is one) has no layer graph to read, but Keras 3 records
every layer call and every ``keras.ops`` operation made on symbolic tensors: calling ``model.call`` on
``keras.Input``s shaped from the file's ``example_input()`` gives a functional model of the same layers (the
same weights), whose nodes are layers (see keras_layers) and operations (here).

Which catalog type an operation is comes from the catalog's own Keras forms: an entry whose call template is
``{y} = ops.fn({x}, …)`` is the operation ``fn``, its ``{param}`` arguments read back from the operation's
attributes (the ops keep them under the argument's name). Entries whose template is code rather than one ops
call (``{x}[:, 0]``, ``+``, the ``ops.reshape`` of Flatten) are matched by the rules at the end.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.importers.source import ImportSourceError
from neuralforge_desktop.core.ir.types import BATCH, DType, TensorSpec

if TYPE_CHECKING:
    from neuralforge_desktop.core.importers.keras_import import KerasImporter

KERAS = "keras"
# one ops call on the node's single input: {y} = ops.fn({x}, args…)
_OPS_CALL = re.compile(r"^\{y\} = ops\.(\w+)\(\{x\}(?:, (.*))?\)$")
_PLACEHOLDER = re.compile(r"^\{(\w+)\}$")


@dataclass(frozen=True)
class OpForm:
    """A catalog type written as one ops call: its ``{param}`` arguments (keras argument → catalog param), the
    arguments it writes as literals and those it leaves at the function's defaults (keras argument → value).
    A template that depends on the settings (a function) is read at the default settings, which it then
    stands for."""

    type: str
    params: dict[str, str]
    literals: dict[str, Any]
    defaults: dict[str, Any]


def _op_key(name: str) -> str:
    """``leaky_relu`` (the function) and ``LeakyRelu`` (its operation class) → ``leakyrelu``."""
    return name.replace("_", "").lower()


def op_forms(cat: Catalog) -> dict[str, list[OpForm]]:
    """Operation key → the catalog types whose Keras form is that one ops call, read from the call templates."""
    spec = TensorSpec((BATCH, 3, 8, 8), DType("float32"))
    table: dict[str, list[OpForm]] = {}
    for layer in cat:
        call = layer.keras
        if call is None or call.layer is not None:
            continue
        try:  # the template at the default settings, on an image
            template = call.call_template(layer.validate_params(layer.default_params())[0], {"x": spec})
        except Exception:  # a form that needs other inputs to be written: not one op on one tensor
            continue
        form = _form(layer.type, template)
        if form is not None:
            table.setdefault(_op_key(form[0]), []).append(form[1])
    return table


def _form(type_name: str, template: str) -> tuple[str, OpForm] | None:
    import keras  # type: ignore[import-untyped]

    found = _OPS_CALL.match(template)
    fn = getattr(keras.ops, found.group(1), None) if found else None
    if found is None or fn is None:
        return None
    try:
        signature = list(inspect.signature(fn).parameters.values())[1:]  # after the tensor
    except (TypeError, ValueError):
        return None
    names = [p.name for p in signature]
    params: dict[str, str] = {}
    literals: dict[str, Any] = {}
    for i, arg in enumerate(_split(found.group(2) or "")):
        key, eq, value = arg.partition("=")
        name, value = (key.strip(), value.strip()) if eq else (names[i] if i < len(names) else "", arg)
        if not name:
            return None
        holder = _PLACEHOLDER.match(value)
        if holder:
            params[name] = holder.group(1)
            continue
        try:
            literals[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):  # an expression of params: not readable back by one attribute
            return None
    defaults = {p.name: p.default for p in signature
                if p.name not in params and p.name not in literals and p.default is not inspect.Parameter.empty}
    return found.group(1), OpForm(type_name, params, literals, defaults)


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [*parts, current.strip()] if current.strip() else parts


def _argument(node: Any, op: Any, name: str) -> Any:
    """The op's argument ``name``: ops keep their settings as attributes; some get them as call arguments."""
    if hasattr(op, name):
        return getattr(op, name)
    kwargs = getattr(getattr(node, "arguments", None), "kwargs", {}) or {}
    if name in kwargs:
        return kwargs[name]
    raise KeyError(name)


def _matches(node: Any, op: Any, name: str, default: Any) -> bool:
    """The argument the form leaves out is at its default (or not kept where it can be read)."""
    try:
        return bool(_plain(_argument(node, op, name)) == _plain(default))
    except KeyError:
        return True


def _plain(value: Any) -> Any:
    """Tuples as lists, and one axis as itself (ops keep ``axis=1`` as ``(1,)``)."""
    value = list(value) if isinstance(value, tuple) else value
    return value[0] if isinstance(value, list) and len(value) == 1 and isinstance(value[0], int) else value


def convert_op(imp: KerasImporter, node: Any, ins: list[Any], outs: list[Any]) -> None:
    """One recorded keras.ops operation as a catalog node, computed on its inputs as they are."""
    op = node.operation
    cls = type(op).__name__
    rule = _RULES.get(cls)
    if rule is not None:
        rule(imp, node, ins, outs)
        return
    for form in imp.op_forms.get(_op_key(cls), []):
        if not all(_matches(node, op, k, v) for k, v in form.defaults.items()):
            continue
        try:
            if any(_plain(_argument(node, op, k)) != _plain(v) for k, v in form.literals.items()):
                continue
            params = {p: _plain(_argument(node, op, k)) for k, p in form.params.items()}
        except KeyError:
            continue
        _single(imp, op.name, form.type, params, ins, outs)
        return
    raise ImportSourceError(f"{imp.label}: operation '{op.name}' ({cls}): no catalog layer's Keras form is it")


def _single(imp: KerasImporter, name: str, type_name: str, params: dict[str, Any], ins: list[Any],
            outs: list[Any], ports: tuple[str, ...] = ("x",)) -> None:
    if len(outs) != 1:
        raise ImportSourceError(f"{imp.label}: operation '{name}': {len(outs)} outputs")
    node = imp.add(name, type_name, params, list(zip(ports, ins, strict=True)), KERAS)
    imp.finish(name, node, outs[0], KERAS)


def _reshape(imp: KerasImporter, node: Any, ins: list[Any], outs: list[Any]) -> None:
    """Flatten is written as a reshape to (batch, everything else); any other reshape keeps its shape."""
    shape = list(node.operation.newshape)
    size = imp.shapes[id(ins[0])]
    if len(shape) == 2 and shape[0] == -1 and len(size) > 2 and shape[1] == prod(size[1:]):
        _single(imp, node.operation.name, "Flatten", {}, ins, outs)
    elif shape and shape[0] == -1:
        _single(imp, node.operation.name, "Reshape", {"shape": shape[1:]}, ins, outs)
    else:
        raise ImportSourceError(f"{imp.label}: operation '{node.operation.name}': a reshape of the batch "
                                "dimension has no catalog form")


def _elementwise(type_name: str) -> Callable[[KerasImporter, Any, list[Any], list[Any]], None]:
    def rule(imp: KerasImporter, node: Any, ins: list[Any], outs: list[Any]) -> None:
        if len(ins) != 2 or imp.shapes[id(ins[0])] != imp.shapes[id(ins[1])]:
            raise ImportSourceError(f"{imp.label}: operation '{node.operation.name}': only two tensors of one "
                                    "shape have a catalog form (no broadcasting)")
        _single(imp, node.operation.name, type_name, {"num_inputs": 2}, ins, outs, ("x0", "x1"))
    return rule


def _get_item(imp: KerasImporter, node: Any, ins: list[Any], outs: list[Any]) -> None:
    """``x[:, …, i]`` (full slices, then one index) is Select."""
    args: tuple[Any, ...] = tuple(getattr(getattr(node, "arguments", None), "args", ()))
    key = args[1] if len(args) > 1 else None
    key = key if isinstance(key, tuple) else (key,)
    *lead, last = key
    if isinstance(last, int) and lead and all(k == slice(None) for k in lead):
        _single(imp, node.operation.name, "Select", {"dim": len(lead), "index": last}, ins[:1], outs)
        return
    raise ImportSourceError(f"{imp.label}: operation '{node.operation.name}': indexing by {key!r} has no "
                            "catalog form")


def _pad(imp: KerasImporter, node: Any, ins: list[Any], outs: list[Any]) -> None:
    """Kept for the convolution or pooling layer that reads it (torch pads inside those); any other reader is
    refused."""
    op = node.operation
    try:
        value = _argument(node, op, "constant_values")
    except KeyError:
        value = None
    if getattr(op, "mode", "constant") != "constant":
        raise ImportSourceError(f"{imp.label}: operation '{op.name}': only constant padding has a catalog form")
    imp.pads[id(outs[0])] = (ins[0], op.pad_width, 0.0 if value is None else float(value))
    imp.unusable[id(outs[0])] = f"ops.pad '{op.name}', which only a convolution or pooling layer may read"


def _concatenate(imp: KerasImporter, node: Any, ins: list[Any], outs: list[Any]) -> None:
    axis = int(node.operation.axis) % len(imp.shapes[id(ins[0])])
    if axis == 0:
        raise ImportSourceError(f"{imp.label}: operation '{node.operation.name}': concatenating along the batch "
                                "has no catalog form")
    _single(imp, node.operation.name, "Concat", {"num_inputs": len(ins), "dim": axis}, ins, outs,
            tuple(f"x{i}" for i in range(len(ins))))


def _gelu(imp: KerasImporter, node: Any, ins: list[Any], outs: list[Any]) -> None:
    approximate = "tanh" if getattr(node.operation, "approximate", True) else "none"
    _single(imp, node.operation.name, "GELU", {"approximate": approximate}, ins, outs)


# operations whose catalog form is code rather than a single ops call on one tensor
_RULES: dict[str, Callable[[KerasImporter, Any, list[Any], list[Any]], None]] = {
    "Reshape": _reshape, "Add": _elementwise("Add"), "Multiply": _elementwise("Multiply"),
    "GetItem": _get_item, "Gelu": _gelu, "Pad": _pad, "Concatenate": _concatenate,
}


def trace_subclassed(model: Any, example: Any, label: str) -> Any:
    """A functional model of the layers and ops ``model.call`` runs, on inputs shaped like ``example``
    (batch left open)."""
    import keras

    examples = example if isinstance(example, tuple | list) else (example,)
    try:
        names = [p for p in inspect.signature(model.call).parameters if p not in ("training", "mask")]
    except (TypeError, ValueError):
        names = []
    inputs = []
    for i, array in enumerate(examples):
        name = names[i] if i < len(names) else f"input_{i}"
        inputs.append(keras.Input(batch_shape=(None, *array.shape[1:]), dtype=str(array.dtype), name=name))
    try:
        outputs = model.call(*inputs)
        return keras.Model(inputs, outputs, name=model.name)
    except Exception as exc:
        raise ImportSourceError(f"{label}: call() cannot be traced on symbolic inputs: {type(exc).__name__}: "
                                f"{exc}") from None


# the expression generated code's padding_mask() builds from an (N, S) mask: torch's key padding mask given to
# the catalog's MultiheadAttention as its attention_mask input
PADDING_MASK = "expand_dims(logical_or(cast,logical_not(any(cast))))"
_MASK_OPS = {"Cast": "cast", "Any": "any", "LogicalNot": "logical_not", "LogicalOr": "logical_or",
             "ExpandDims": "expand_dims"}


def mask_op(imp: KerasImporter, node: Any, ins: list[Any], outs: list[Any]) -> bool:
    """An op building an attention mask from a boolean or integer input (recorded as (input, expression), no
    node), or False for any other op. What reads such a mask other than an attention layer is refused."""
    cls = type(node.operation).__name__
    if cls not in _MASK_OPS or len(outs) != 1:
        return False
    if cls == "Cast":
        t = ins[0]
        if id(t) not in imp.refs or str(outs[0].dtype) != "bool" or "float" in str(t.dtype):
            return False
        root, expr = t, "cast"
    else:
        found = [imp.masks.get(id(t)) for t in ins]
        roots = {id(f[0]) for f in found if f is not None}
        if None in found or len(roots) != 1:
            return False
        root = found[0][0]  # type: ignore[index]
        expr = f"{_MASK_OPS[cls]}({','.join(f[1] for f in found if f is not None)})"
    imp.masks[id(outs[0])] = (root, expr)
    imp.unusable[id(outs[0])] = f"the attention mask '{node.operation.name}' builds, which only an attention reads"
    return True


def helper_classes(cat: Catalog) -> frozenset[str]:
    """The classes the catalog's Keras forms paste into generated code (StackedRecurrent, …): layers, not
    blocks, however they are written."""
    from neuralforge_desktop.core.codegen.plan import helper_names

    return frozenset(n for layer in cat if layer.keras is not None for h in layer.keras.helpers
                     for n in helper_names(h))


def is_block(imp: KerasImporter, layer: Any) -> bool:
    """A layer class of the user's file (generated code's block classes): its call() is traced as a Block's
    body. Keras' own classes and the catalog's helpers are layers."""
    cls = type(layer)
    return (not cls.__module__.startswith("keras") and cls.__name__ not in imp.helpers
            and callable(getattr(layer, "call", None)))


def convert_block(imp: KerasImporter, layer: Any, ins: list[Any], outs: list[Any]) -> None:
    """A block layer as a Block node whose body is its call() imported one level down. Generated code runs a
    repeated block as a list of copies named ``name.0``, ``name.1``, … each fed the last one's output: one
    Block with that repeat, each copy's weights under ``node.i.``."""
    import keras

    from neuralforge_desktop.core.importers.keras_import import KerasImporter
    from neuralforge_desktop.core.ir.graph import BLOCK
    from neuralforge_desktop.core.ir.naming import sanitize

    label = f"{imp.label}/{layer.name}"
    try:
        names = [p for p in inspect.signature(layer.call).parameters if p not in ("training", "mask")]
    except (TypeError, ValueError):
        names = []
    inputs = [keras.Input(batch_shape=tuple(t.shape), dtype=str(t.dtype),
                          name=names[i] if i < len(names) else f"x{i}") for i, t in enumerate(ins)]
    try:
        traced = keras.Model(inputs, layer.call(*inputs), name=sanitize(layer.name, "block"))
    except Exception as exc:
        raise ImportSourceError(f"{label}: call() cannot be traced on symbolic inputs: {type(exc).__name__}: "
                                f"{exc}") from None
    sub = KerasImporter(traced, imp.cat, label, imp)
    body = sub.convert()
    found = re.fullmatch(r"(.+)\.(\d+)", layer.name)
    base, index = (found.group(1), int(found.group(2))) if found else (layer.name, None)
    chain = imp.chains.get(base)
    if index and chain is not None and chain[1] == index - 1 and tuple(id(t) for t in ins) == chain[2]:
        node = chain[0]  # the next copy of a repeated block: the same node, one more repeat
        imp.graph.set_param(node, "repeat", index + 1)
    else:
        node = imp.graph.new_id(sanitize(base, "block"))
        imp.graph.add_node(BLOCK, node, {"repeat": 1}, body=body)
        for port, t in zip([n.id for n in body.input_nodes], ins, strict=True):
            imp.graph.connect(*imp.ref(t, KERAS), node, port)
    prefix = f"{node}." if index is None else f"{node}.{index}."
    for key, value in sub.state.items():
        imp.state[prefix + key] = value
    imp.params += sub.params
    for port, t in zip([n.id for n in body.output_nodes], outs, strict=True):
        imp.refs[id(t)] = (node, port, KERAS)
    imp.chains[base] = (node, index if index is not None else -1, tuple(id(t) for t in outs))
