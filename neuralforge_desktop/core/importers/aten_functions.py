"""ATen operations → the torch calls the function rules (``torch_functions.map_call``) read.

An exported graph spells ``F.relu(x)`` as ``aten.relu.default(x)``, ``x.view(x.size(0), -1)`` as
``aten.view.default(x, [sym_size, -1])``, ``x[:, 0]`` as ``aten.select.int(x, 1, 0)``. Each rule rewrites one
such operation into the call torch.fx would have traced, so the one table of function rules serves both
tracers. A rule returns ``("function" | "method", target, args, kwargs)``, ``("same", input)`` for an operation
that changes nothing the graph sees, or None when the call has arguments the rules do not take.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

_FAR = 2**62  # ATen writes an open-ended slice ``x[:, 2:]`` with end 9223372036854775807

Made = tuple[Any, ...] | None
Rule = Callable[[tuple[Any, ...], dict[str, Any]], Made]


def _function(fn_name: str, *keep: str) -> Rule:
    """``aten.X(x, a, b)`` → ``F.X(x, keep[0]=a, …)`` (only positions listed; keywords as the functional's)."""
    def rule(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
        import torch
        from torch.nn import functional

        fn = getattr(functional, fn_name, None) or getattr(torch, fn_name)
        named = dict(zip(keep, args[1:], strict=False)) | kwargs
        if len(args) - 1 > len(keep) or set(named) - set(keep):
            return None
        return "function", fn, (args[0],), named

    return rule


def _gelu(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    from torch.nn import functional

    approximate = kwargs.get("approximate", args[1] if len(args) > 1 else "none")
    return "function", functional.gelu, (args[0],), {} if approximate == "none" else {"approximate": approximate}


def _elu(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    from torch.nn import functional

    alpha, scale, input_scale = (list(args[1:]) + [1.0, 1.0, 1.0])[:3]
    if scale != 1 or input_scale != 1 or kwargs:
        return None
    return "function", functional.elu, (args[0],), {"alpha": alpha}


def _hardtanh(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    from torch.nn import functional

    if tuple(args[1:]) == (0.0, 6.0) and not kwargs:  # F.relu6
        return "function", functional.relu6, (args[0],), {}
    return None


def _softmax(fn_name: str) -> Rule:
    def rule(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
        from torch.nn import functional

        dtype = kwargs.get("dtype", args[2] if len(args) > 2 else None)
        if dtype is not None:
            return None
        return "function", getattr(functional, fn_name), (args[0],), {"dim": args[1]}

    return rule


def _binary(op: Any) -> Rule:
    def rule(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
        return ("function", op, tuple(args), {}) if len(args) == 2 and not kwargs else None

    return rule


def _torch(fn_name: str, count: int) -> Rule:
    """``aten.X(x, …)`` → ``torch.X(x, …)`` with the first ``count`` positional arguments, no keywords."""
    def rule(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
        import torch

        if len(args) > count or kwargs:
            return None
        return "function", getattr(torch, fn_name), tuple(args), {}

    return rule


def _reduce(fn_name: str) -> Rule:
    def rule(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
        import torch

        keep = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
        if kwargs.get("dtype") is not None or len(args) > 3 or set(kwargs) - {"keepdim", "dtype"}:
            return None
        return "function", getattr(torch, fn_name), (args[0], list(args[1]), keep), {}

    return rule


def _method(name: str) -> Rule:
    """``aten.view(x, [n, -1])`` → ``x.view(n, -1)``, as the rules read a traced method call."""
    def rule(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
        if len(args) != 2 or kwargs:
            return None
        return "method", name, (args[0], *args[1]), {}

    return rule


def _pair(value: Any) -> Any:
    """ATen spells a square window ``[2, 2]``; the pooling layers read ``2`` (and a pair as a tuple)."""
    if isinstance(value, list | tuple):
        return value[0] if len(set(value)) == 1 and value else tuple(value)
    return value


def _max_pool(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    from torch.nn import functional

    x, kernel, stride, padding, dilation, ceil = (list(args) + [None, [], 0, 1, False][len(args) - 1:])[:6]
    if kwargs or _pair(dilation) != 1:
        return None
    return "function", functional.max_pool2d, (x, _pair(kernel), _pair(stride) if stride else None,
                                               _pair(padding)), {"ceil_mode": bool(ceil)}


def _avg_pool(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    from torch.nn import functional

    x, kernel, stride, padding, ceil, include, divisor = (list(args) + [None, [], 0, False, True, None][
        len(args) - 1:])[:7]
    if kwargs or not include or divisor is not None:
        return None
    return "function", functional.avg_pool2d, (x, _pair(kernel), _pair(stride) if stride else None,
                                               _pair(padding)), {"ceil_mode": bool(ceil)}


def _adaptive_pool(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    from torch.nn import functional

    if len(args) != 2 or kwargs:
        return None
    return "function", functional.adaptive_avg_pool2d, (args[0], _pair(args[1])), {}


def _select(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    x, dim, index = args
    if kwargs or not isinstance(dim, int) or dim < 0:
        return None
    return "function", operator.getitem, (x, (*[slice(None)] * dim, index) if dim else index), {}


def _slice(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    x, dim, start, end, step = (list(args) + [0, None, None, 1][len(args) - 1:])[:5]
    if kwargs or not isinstance(dim, int) or dim < 0:
        return None
    end = None if isinstance(end, int) and end >= _FAR else end
    if start in (0, None) and end is None and step == 1:  # x[:, :] picks everything
        return "same", x
    picked = slice(start or None, end, step if step != 1 else None)
    return "function", operator.getitem, (x, (*[slice(None)] * dim, picked) if dim else picked), {}


def _same(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    if set(kwargs) - {"memory_format"}:
        return None
    return "same", args[0]


def _size(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Made:
    return "method", "size", tuple(args), {}


RULES: dict[str, Rule] = {
    "aten.relu.default": _function("relu"),
    "aten.sigmoid.default": _torch("sigmoid", 1), "aten.tanh.default": _torch("tanh", 1),
    "aten.silu.default": _function("silu"), "aten.selu.default": _function("selu"),
    "aten.hardswish.default": _function("hardswish"), "aten.hardsigmoid.default": _function("hardsigmoid"),
    "aten.gelu.default": _gelu, "aten.elu.default": _elu, "aten.hardtanh.default": _hardtanh,
    "aten.leaky_relu.default": _function("leaky_relu", "negative_slope"),
    "aten.softmax.int": _softmax("softmax"), "aten.log_softmax.int": _softmax("log_softmax"),
    "aten.add.Tensor": _binary(operator.add), "aten.mul.Tensor": _binary(operator.mul),
    "aten.matmul.default": _binary(operator.matmul),
    "aten.cat.default": _torch("cat", 2), "aten.flatten.using_ints": _torch("flatten", 3),
    "aten.transpose.int": _torch("transpose", 3), "aten.squeeze.dim": _torch("squeeze", 2),
    "aten.unsqueeze.default": _torch("unsqueeze", 2), "aten.chunk.default": _torch("chunk", 3),
    "aten.mean.dim": _reduce("mean"), "aten.amax.default": _reduce("amax"),
    "aten.view.default": _method("view"), "aten.reshape.default": _method("reshape"),
    "aten.permute.default": _method("permute"),
    "aten.adaptive_avg_pool2d.default": _adaptive_pool,
    "aten.max_pool2d.default": _max_pool, "aten.avg_pool2d.default": _avg_pool,
    "aten.dropout.default": _function("dropout", "p", "training"),
    "aten.select.int": _select, "aten.slice.Tensor": _slice,
    "aten.sym_size.int": _size,
    "aten.contiguous.default": _same, "aten.clone.default": _same, "aten.alias.default": _same,
    "aten.detach.default": _same,
}
# ``out += x``, ``F.relu(out, inplace=True)``: later uses read the in-place node, so it is the same operation here
# (and where another view of the tensor would have seen the change, the read-back check tells)
RULES |= {f"aten.{name}_.{overload}": RULES[f"aten.{name}.{overload}"] for name, overload in (
    name.split(".")[1:] for name in (
    "aten.relu.default", "aten.sigmoid.default", "aten.tanh.default", "aten.silu.default", "aten.hardswish.default",
    "aten.hardsigmoid.default", "aten.elu.default", "aten.hardtanh.default", "aten.leaky_relu.default",
    "aten.add.Tensor", "aten.mul.Tensor"))}
