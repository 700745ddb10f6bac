"""Traced function and method calls → catalog types (``F.relu``, ``torch.cat``, ``x.view``, ``+``, ``@`` …).

Each rule reads a call the way the catalog entry's forward template writes it, so the code NeuralForge
generates imports back to the same node; anything else is left to the caller, which keeps it as custom code.
A rule returns the type, its params and the traced tensors for its input ports, in port order.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Value = Callable[[Any], Any]  # fx node → the real value it had when the model ran


@dataclass
class Mapped:
    type: str
    params: dict[str, Any]
    inputs: list[Any]  # fx nodes, one per input port in order


def _is_node(a: Any) -> bool:
    from torch import fx

    return isinstance(a, fx.Node)


def _tensor(a: Any, value: Value) -> bool:
    import torch

    return _is_node(a) and isinstance(value(a), torch.Tensor)


def _arg(node: Any, index: int, name: str, default: Any = None) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _literal(a: Any) -> bool:
    if isinstance(a, tuple | list):
        return all(_literal(x) for x in a)
    return isinstance(a, int | float | bool | str | type(None)) and not _is_node(a)


def _batch_size_of(a: Any, x: Any) -> bool:
    """``a`` is ``t.size(0)`` or ``t.shape[0]`` as traced: the batch size, which every tensor here shares."""
    if not _is_node(a):
        return False
    if a.op == "call_method" and a.target == "size" and len(a.args) == 2 and a.args[1] == 0:
        return True
    if a.op == "call_function" and a.target is operator.getitem and a.args[1] == 0:
        src = a.args[0]
        return _is_node(src) and src.op == "call_function" and src.target is getattr and src.args[1] == "shape"
    return False


_ACTIVATIONS = {  # functional or method name → catalog type, and the keyword it carries
    "relu": ("ReLU", None), "relu6": ("ReLU6", None), "sigmoid": ("Sigmoid", None), "tanh": ("Tanh", None),
    "silu": ("SiLU", None), "gelu": ("GELU", "approximate"), "elu": ("ELU", "alpha"), "selu": ("SELU", None),
    "hardswish": ("Hardswish", None), "hardsigmoid": ("Hardsigmoid", None),
    "leaky_relu": ("LeakyReLU", "negative_slope"), "softmax": ("Softmax", "dim"),
    "log_softmax": ("LogSoftmax", "dim"),
}


def _name_of(node: Any) -> str:
    if node.op == "call_method":
        return str(node.target)
    target = node.target
    module = getattr(target, "__module__", "") or ""
    name = getattr(target, "__name__", "")
    if module.startswith("torch") or target in (operator.add, operator.mul, operator.matmul, operator.getitem):
        return name
    return ""


def map_call(node: Any, value: Value) -> Mapped | None:
    """The catalog form of a traced ``call_function``/``call_method`` node, or None."""
    name = _name_of(node)
    if not name:
        return None
    x = node.args[0] if node.args else None
    if name in ("add", "mul") and node.op == "call_function" and len(node.args) == 2 and not node.kwargs:
        a, b = node.args
        if _tensor(a, value) and _tensor(b, value) and value(a).shape == value(b).shape:
            return Mapped("Add" if name == "add" else "Multiply", {"num_inputs": 2}, [a, b])
        return None
    if name == "matmul" and len(node.args) == 2 and all(_tensor(a, value) for a in node.args):
        return Mapped("MatMul", {}, list(node.args))
    if name == "cat":
        tensors, dim = x, _arg(node, 1, "dim", 0)
        if isinstance(tensors, list | tuple) and all(_tensor(t, value) for t in tensors) and isinstance(dim, int):
            return Mapped("Concat", {"dim": dim, "num_inputs": len(tensors)}, list(tensors))
        return None
    if not _tensor(x, value):
        return None
    rank = value(x).dim()
    if name in _ACTIVATIONS:
        kind, keyword = _ACTIVATIONS[name]
        extra = {k: v for k, v in node.kwargs.items()
                 if k not in ("inplace", "_stacklevel") and not (k == "dtype" and v is None)}
        positional = list(node.args[1:])
        params: dict[str, Any] = {}
        if keyword is not None:
            if positional:
                params[keyword] = positional.pop(0)
            if keyword in extra:
                params[keyword] = extra.pop(keyword)
        if positional or extra or not _literal(list(params.values())):
            return None
        return Mapped(kind, params, [x])
    if name in ("max_pool2d", "avg_pool2d") and node.op == "call_function" and rank == 4:
        kernel = _arg(node, 1, "kernel_size")
        stride = _arg(node, 2, "stride")
        padding = _arg(node, 3, "padding", 0)
        # fx spells out every default; only those must hold
        defaults = {"dilation": 1, "return_indices": False, "count_include_pad": True, "divisor_override": None}
        extra = {k: v for k, v in node.kwargs.items() if k not in ("kernel_size", "stride", "padding", "ceil_mode")}
        if any(defaults.get(k, object()) != v for k, v in extra.items()) or len(node.args) > 4:
            return None
        ceil = node.kwargs.get("ceil_mode", False)
        if not _literal([kernel, stride, padding, ceil]):
            return None
        params = {"kernel_size": kernel, "padding": padding, "ceil_mode": ceil}
        if stride not in (None, [], ()):
            params["stride"] = stride
        return Mapped("MaxPool2d" if name == "max_pool2d" else "AvgPool2d", params, [x])
    if name == "adaptive_avg_pool2d" and node.op == "call_function" and rank == 4:
        size = _arg(node, 1, "output_size")
        if _literal(size) and len(node.args) + len(node.kwargs) == 2:
            return Mapped("AdaptiveAvgPool2d", {"output_size": size}, [x])
        return None
    if name == "dropout" and node.op == "call_function":
        p = _arg(node, 1, "p", 0.5)
        extra = {k: v for k, v in node.kwargs.items() if k not in ("p", "training", "inplace")}
        if not extra and isinstance(p, float) and len(node.args) <= 2:
            return Mapped("Dropout", {"p": p}, [x])  # `training=self.training` is what the layer does
        return None
    if name == "flatten":
        start, end = _arg(node, 1, "start_dim", 0), _arg(node, 2, "end_dim", -1)
        if isinstance(start, int) and isinstance(end, int):
            return Mapped("Flatten", {"start_dim": start, "end_dim": end}, [x])
        return None
    if name in ("view", "reshape") and len(node.args) >= 2 and not node.kwargs:
        sizes = node.args[1:]
        if len(sizes) == 1 and isinstance(sizes[0], tuple | list):
            sizes = tuple(sizes[0])
        per_example = value(x)[0].numel() if value(x).dim() else 0
        # x.view(-1, 400): the -1 is the batch when the rest is one example
        batch_first = _batch_size_of(sizes[0], x) or (
            sizes[0] == -1 and all(isinstance(s, int) and s > 0 for s in sizes[1:])
            and math.prod(sizes[1:]) == per_example)
        if batch_first and all(isinstance(s, int) for s in sizes[1:]):
            rest = list(sizes[1:])
            if rest == [-1]:
                return Mapped("Flatten", {"start_dim": 1, "end_dim": -1}, [x])
            return Mapped("Reshape", {"shape": rest}, [x])
        return None
    if name == "permute" and node.op == "call_method":
        dims = list(node.args[1:])
        if len(dims) == 1 and isinstance(dims[0], tuple | list):
            dims = list(dims[0])
        if dims and all(isinstance(d, int) for d in dims):
            return Mapped("Permute", {"dims": dims}, [x])
        return None
    if name == "transpose":
        d0, d1 = _arg(node, 1, "dim0"), _arg(node, 2, "dim1")
        if isinstance(d0, int) and isinstance(d1, int):
            return Mapped("Transpose", {"dim0": d0, "dim1": d1}, [x])
        return None
    if name in ("squeeze", "unsqueeze"):
        dim = _arg(node, 1, "dim")
        if isinstance(dim, int):
            return Mapped(name.capitalize(), {"dim": dim}, [x])
        return None
    if name in ("mean", "amax"):
        dim, keep = _arg(node, 1, "dim"), _arg(node, 2, "keepdim", False)
        dims = list(dim) if isinstance(dim, tuple | list) else [dim]
        if not all(isinstance(d, int) for d in dims) or not isinstance(keep, bool):
            return None
        if rank == 4 and sorted(d % 4 for d in dims) == [2, 3] and not keep:
            return Mapped("GlobalAvgPool2d" if name == "mean" else "GlobalMaxPool2d", {}, [x])
        if name == "mean":
            return Mapped("Mean", {"dim": dims, "keepdim": keep}, [x])
        return None
    if name == "chunk":
        chunks, dim = _arg(node, 1, "chunks"), _arg(node, 2, "dim", 0)
        if isinstance(chunks, int) and isinstance(dim, int):
            return Mapped("Split", {"num_outputs": chunks, "dim": dim}, [x])
        return None
    if name == "getitem":
        return _subscript(x, node.args[1], rank)
    return None


def _subscript(x: Any, item: Any, rank: int) -> Mapped | None:
    """``x[:, 0]`` → Select, ``x[:, 2:5]`` → Slice; leading full slices pick the dimension."""
    items = list(item) if isinstance(item, tuple) else [item]
    full = slice(None)
    leading = 0
    while leading < len(items) - 1 and items[leading] == full:
        leading += 1
    rest = items[leading:]
    if len(rest) != 1:
        return None
    last = rest[0]
    if isinstance(last, int) and not isinstance(last, bool):
        return Mapped("Select", {"dim": leading, "index": last}, [x])
    if isinstance(last, slice) and all(v is None or isinstance(v, int) for v in (last.start, last.stop, last.step)):
        return Mapped("Slice", {"dim": leading, "start": last.start or 0, "end": last.stop,
                                "step": last.step or 1}, [x])
    return None
