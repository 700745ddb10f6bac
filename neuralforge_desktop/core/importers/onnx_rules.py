"""ONNX op → catalog layer rules. Each rule returns False to leave the node to custom code.

Ops that construct a torch module build it from the node's attributes and initialisers; the catalog's
:class:`ModuleMapper` then finds the layer type and params that construct the same module, so weights come out
in the layout torch's own constructor gives them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neuralforge_desktop.core.importers.onnx_import import OnnxImporter

Rule = Callable[["OnnxImporter", Any, dict[str, Any]], bool]
ParamsRule = Callable[["OnnxImporter", Any, dict[str, Any]], "dict[str, Any] | None"]


def initializer(proto: Any) -> Any:
    from onnx import numpy_helper

    return numpy_helper.to_array(proto)


def _t(array: Any) -> Any:
    import torch

    return torch.from_numpy(array.copy())


def _one(values: Any) -> Any:
    """(2, 2) as 2, as one writes it (the catalog's modules are built from its scalar params)."""
    values = tuple(values)
    return values[0] if values and len(set(values)) == 1 else values


def _pads(attrs: dict[str, Any], rank: int) -> int | tuple[int, ...] | None:
    """Symmetric ONNX pads as torch padding (None when asymmetric or auto-padded)."""
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        return None
    pads = attrs.get("pads", [0] * (2 * rank))
    begin, end = pads[:rank], pads[rank:]
    return tuple(begin) if begin == end else None


def _conv(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    from torch import nn

    x, w = node.input[0], node.input[1]
    b = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if not imp.is_const(w) or (b is not None and not imp.is_const(b)):
        return False
    weight = imp.const(w)
    rank = weight.ndim - 2
    padding = _pads(attrs, rank)
    group = attrs.get("group", 1)
    if padding is None or rank not in (1, 2, 3):
        return False
    cls: Any
    extra: dict[str, Any] = {}
    if node.op_type == "ConvTranspose":
        if rank != 2 or attrs.get("output_shape"):
            return False
        cls = nn.ConvTranspose2d
        out_ch, in_ch = weight.shape[1] * group, weight.shape[0]
        extra["output_padding"] = _one(attrs.get("output_padding", [0] * rank))
    else:
        cls = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[rank - 1]
        out_ch, in_ch = weight.shape[0], weight.shape[1] * group
    module = cls(in_ch, out_ch, _one(weight.shape[2:]), stride=_one(attrs.get("strides", [1] * rank)),
                 padding=_one(padding), dilation=_one(attrs.get("dilations", [1] * rank)), groups=group,
                 bias=b is not None, **extra)
    module.weight.data = _t(weight)
    if b is not None:
        module.bias.data = _t(imp.const(b))
    return imp.add_module(node, module.eval(), x, node.output[0])


def _linear_module(weight: Any, bias: Any | None) -> Any:
    """An nn.Linear holding ``weight`` as (out, in)."""
    from torch import nn

    module = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    module.weight.data = _t(weight)
    if bias is not None:
        module.bias.data = _t(bias.reshape(-1))
    return module


def _gemm(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    x, w = node.input[0], node.input[1]
    c = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or not imp.is_const(w):
        return False
    weight = imp.const(w) if attrs.get("transB", 0) else imp.const(w).T
    bias = imp.const(c) * attrs.get("beta", 1.0) if c is not None and imp.is_const(c) else None
    if c is not None and (bias is None or bias.size != weight.shape[0]):
        return False
    return imp.add_module(node, _linear_module(weight, bias), x, node.output[0])


def _matmul(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    a, b = node.input[0], node.input[1]
    if a in imp.dynamic and b in imp.dynamic:
        imp.add(node, "MatMul", {}, [("a", a), ("b", b)], [("y", node.output[0])])
        return True
    if not imp.is_const(b) or imp.const(b).ndim != 2:
        return False
    weight, bias, out = imp.const(b).T, None, node.output[0]
    users = imp.consumers.get(out, [])
    if len(users) == 1 and users[0].op_type == "Add" and out not in {o.name for o in imp.model.graph.output}:
        add = users[0]  # MatMul + Add of a vector: one Linear, as torch exports nn.Linear on 3-d inputs
        other = add.input[1] if add.input[0] == out else add.input[0]
        if imp.is_const(other) and imp.const(other).size == weight.shape[0]:
            bias, out = imp.const(other), add.output[0]
            imp.skip.add(id(add))
            imp.dynamic.add(out)
    return imp.add_module(node, _linear_module(weight, bias), a, out)


def _module_rule(make: Callable[[dict[str, Any], Any], Any | None]) -> Rule:
    """A rule for an op that is one parameter-free torch module built from its attributes."""

    def rule(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
        module = make(attrs, imp.values[node.input[0]])
        return module is not None and imp.add_module(node, module, node.input[0], node.output[0])
    return rule


def _pool(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    from torch import nn

    kernel = attrs.get("kernel_shape", [])
    rank = len(kernel)
    padding = _pads(attrs, rank)
    if padding is None or any(d != 1 for d in attrs.get("dilations", [1] * rank)):
        return False
    stride = tuple(attrs.get("strides", [1] * rank))
    ceil = bool(attrs.get("ceil_mode", 0))
    if node.op_type == "MaxPool":
        if rank not in (1, 2) or len(node.output) > 1 and node.output[1]:
            return False
        cls = nn.MaxPool1d if rank == 1 else nn.MaxPool2d
        module: Any = cls(_one(kernel), _one(stride), _one(padding), ceil_mode=ceil)
    else:
        if rank != 2:
            return False
        module = nn.AvgPool2d(_one(kernel), _one(stride), _one(padding), ceil_mode=ceil,
                              count_include_pad=bool(attrs.get("count_include_pad", 0)))
    return imp.add_module(node, module, node.input[0], node.output[0])


def _batchnorm(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    import torch
    from torch import nn

    x, *rest = node.input[:5]
    if len(rest) < 4 or not all(imp.is_const(n) for n in rest) or attrs.get("training_mode", 0):
        return False
    rank = imp.values[x].ndim
    if rank not in (2, 3, 4):
        return False
    scale, bias, mean, var = (imp.const(n) for n in rest)
    cls = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
    module = cls(scale.shape[0], eps=attrs.get("epsilon", 1e-5), momentum=round(1 - attrs.get("momentum", 0.9), 6))
    module.load_state_dict({"weight": _t(scale), "bias": _t(bias), "running_mean": _t(mean),
                            "running_var": _t(var), "num_batches_tracked": torch.tensor(0)})
    return imp.add_module(node, module.eval(), x, node.output[0])


def _layernorm(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    from torch import nn

    x, scale = node.input[0], node.input[1]
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if not imp.is_const(scale) or (bias is not None and not imp.is_const(bias)) or \
            (len(node.output) > 1 and any(node.output[1:])):
        return False
    shape = imp.values[x].shape
    axis = attrs.get("axis", -1) % len(shape)
    if axis == 0:
        return False
    module = nn.LayerNorm(tuple(shape[axis:]), eps=attrs.get("epsilon", 1e-5), bias=bias is not None)
    module.weight.data = _t(imp.const(scale).reshape(shape[axis:]))
    if bias is not None:
        module.bias.data = _t(imp.const(bias).reshape(shape[axis:]))
    return imp.add_module(node, module, x, node.output[0])


def _gather(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    from torch import nn

    data, index = node.input
    axis = attrs.get("axis", 0)
    if imp.is_const(data) and index in imp.dynamic and axis == 0 and imp.const(data).ndim == 2:
        table = imp.const(data)  # a lookup into a weight matrix: an embedding
        module = nn.Embedding(table.shape[0], table.shape[1])
        module.weight.data = _t(table)
        return imp.add_module(node, module, index, node.output[0])
    if data in imp.dynamic and imp.is_const(index) and imp.const(index).ndim == 0:
        rank = imp.values[data].ndim
        if axis % rank == 0:
            return False
        imp.add(node, "Select", {"dim": axis % rank, "index": int(imp.const(index))}, [("x", data)],
                [("y", node.output[0])])
        return True
    return False


def _dims(imp: OnnxImporter, node: Any, attrs: dict[str, Any], key: str) -> list[int] | None:
    """Axes from the attribute (older opsets) or the second input (newer)."""
    if key in attrs:
        return list(attrs[key])
    if len(node.input) > 1 and node.input[1]:
        return [int(v) for v in imp.const(node.input[1]).reshape(-1)] if imp.is_const(node.input[1]) else None
    return []


def _simple(type_name: str, params: ParamsRule
            ) -> Rule:
    """A rule for an op that is one catalog type on its one input, given params (None: not this way)."""

    def rule(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
        found = params(imp, node, attrs)
        if found is None:
            return False
        imp.add(node, type_name, found, [("x", node.input[0])], [("y", node.output[0])])
        return True
    return rule


def _reshape(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> dict[str, Any] | None:
    before, after = imp.values[node.input[0]].shape, imp.values[node.output[0]].shape
    if not after or after[0] != before[0]:
        return None  # the batch itself reshaped: not a per-example layer
    if len(after) == 2 and len(before) > 2:
        return {"__type": "Flatten"}
    shape: list[int] = list(after[1:])
    other = imp.other_values()
    if other is not None:  # sizes that follow an input's dynamic size (a sequence length) become the -1
        moved = other[node.output[0]].shape
        if len(moved) != len(after) or moved[0] != other[node.input[0]].shape[0]:
            return None
        changing = [i for i in range(1, len(after)) if moved[i] != after[i]]
        if len(changing) > 1:
            return None  # two sizes follow the input: no one -1 says that
        shape = [-1 if i in changing else after[i] for i in range(1, len(after))]
    return {"shape": shape}


def _reshape_rule(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    found = _reshape(imp, node, attrs)
    if found is None:
        return False
    type_name = found.pop("__type", "Reshape")
    imp.add(node, type_name, found, [("x", node.input[0])], [("y", node.output[0])])
    return True


def _variadic(type_name: str) -> Rule:
    def rule(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
        ins = list(node.input)
        if not all(n in imp.dynamic for n in ins):
            return False  # a constant operand: custom code holds it
        shapes = {imp.values[n].shape for n in ins}
        if type_name != "Concat" and len(shapes) > 1:
            return False  # broadcasting: the catalog's Add/Multiply take equal shapes
        params: dict[str, Any] = {"num_inputs": len(ins)}
        if type_name == "Concat":
            rank = imp.values[ins[0]].ndim
            if attrs.get("axis", 0) % rank == 0:
                return False
            params["dim"] = attrs.get("axis", 0) % rank
        imp.add(node, type_name, params, [(f"x{i}", n) for i, n in enumerate(ins)], [("y", node.output[0])])
        return True
    return rule


def _activation(name: str, **fixed: Any) -> Callable[[dict[str, Any], Any], Any]:
    def make(attrs: dict[str, Any], x: Any) -> Any:
        from torch import nn

        return getattr(nn, name)(**{k: (attrs.get(v[0], v[1]) if isinstance(v, tuple) else v)
                                    for k, v in fixed.items()})
    return make


def _softmax(cls: str) -> Callable[[dict[str, Any], Any], Any]:
    def make(attrs: dict[str, Any], x: Any) -> Any:
        from torch import nn

        axis = attrs.get("axis", -1)
        return None if axis % x.ndim == 0 else getattr(nn, cls)(dim=axis)
    return make


def _only_user(imp: OnnxImporter, value: str, op: str) -> Any | None:
    """The one node that reads ``value``, when it is an ``op`` and ``value`` is no graph output."""
    users = imp.consumers.get(value, [])
    outputs = {o.name for o in imp.model.graph.output}
    return users[0] if len(users) == 1 and users[0].op_type == op and value not in outputs else None


def _other(node: Any, value: str) -> str:
    return node.input[1] if node.input[0] == value else node.input[0]


def _scalar(imp: OnnxImporter, name: str, want: float) -> bool:
    return imp.is_const(name) and imp.const(name).size == 1 and abs(float(imp.const(name)) - want) < 1e-4


def _fuse(imp: OnnxImporter, node: Any, chain: list[Any], module: Any) -> bool:
    """``chain`` (the nodes after ``node``) computes ``module`` of node's input: one layer for all of them."""
    out = chain[-1].output[0]
    for n in chain:
        imp.skip.add(id(n))
        imp.dynamic.update(n.output)
    return imp.add_module(node, module, node.input[0], out)


def _gelu(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    """x · ½ (1 + erf(x / √2)), as torch's exporter writes GELU before opset 20."""
    from torch import nn

    x = node.input[0]
    if node.op_type != "Div" or not _scalar(imp, node.input[1], 2 ** 0.5):
        return False
    erf = _only_user(imp, node.output[0], "Erf")
    add = _only_user(imp, erf.output[0], "Add") if erf is not None else None
    if erf is None or add is None or not _scalar(imp, _other(add, erf.output[0]), 1.0):
        return False
    mul = _only_user(imp, add.output[0], "Mul")
    if not mul or _other(mul, add.output[0]) != x:
        return False
    half = _only_user(imp, mul.output[0], "Mul")
    if not half or not _scalar(imp, _other(half, mul.output[0]), 0.5):
        return False
    return _fuse(imp, node, [erf, add, mul, half], nn.GELU())


def _sigmoid(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    """Sigmoid, or x · sigmoid(x) (SiLU as exported)."""
    from torch import nn

    mul = _only_user(imp, node.output[0], "Mul")
    if mul is not None and _other(mul, node.output[0]) == node.input[0]:
        return _fuse(imp, node, [mul], nn.SiLU())
    return imp.add_module(node, nn.Sigmoid(), node.input[0], node.output[0])


_RECURRENT = ("LSTM", "GRU", "RNN")
# ONNX gate blocks in torch's order: LSTM i o f c → i f c o; GRU z r h → r z h; RNN has one
_GATES = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}


def _transpose(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    perm = list(attrs.get("perm", []))
    users = imp.consumers.get(node.output[0], [])
    if perm == [1, 0, 2] and users and all(u.op_type in _RECURRENT and u.input[0] == node.output[0] for u in users):
        imp.time_major[node.output[0]] = node.input[0]  # the recurrent layer takes the batch-first tensor
        return True
    if not perm or perm[0] != 0:
        return False
    imp.add(node, "Permute", {"dims": perm}, [("x", node.input[0])], [("y", node.output[0])])
    return True


def _zero_or_absent(imp: OnnxImporter, name: str) -> bool:
    return not name or (imp.is_const(name) and not imp.const(name).any())


def _plain_layer(imp: OnnxImporter, node: Any) -> bool:
    """One forward layer from a zero state whose last states nothing reads: what torch's module computes."""
    attrs = _attrs_of(node)
    ins = list(node.input) + [""] * 8
    outputs = {o.name for o in imp.model.graph.output}
    if attrs.get("direction", "forward") != "forward" or ins[4] or attrs.get("clip") or attrs.get("activations") \
            or any(o and (imp.consumers.get(o) or o in outputs) for o in node.output[1:]):
        return False
    if not all(imp.is_const(n) for n in ins[1:3]) or (ins[3] and not imp.is_const(ins[3])):
        return False
    if not _zero_or_absent(imp, ins[5]) or (node.op_type == "LSTM" and (not _zero_or_absent(imp, ins[6]) or ins[7])):
        return False
    # torch's GRU applies the reset gate after the recurrent product
    return node.op_type != "GRU" or attrs.get("linear_before_reset", 0) == 1


def _recurrent(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    """LSTM/GRU/RNN layers as torch exports a ``batch_first=True`` module: Transpose → op → Squeeze(1), once
    per layer (each layer reads the Squeeze before it) → Transpose. The catalog layer's ``y`` is the final
    Transpose's result."""
    import numpy as np
    from torch import nn

    op = node.op_type
    source = imp.time_major.get(node.input[0])
    if source is None:
        return False
    layers, folded = [node], []
    while True:
        if not _plain_layer(imp, layers[-1]):
            return False
        squeeze = _only_user(imp, layers[-1].output[0], "Squeeze")
        if squeeze is None or _dims(imp, squeeze, _attrs_of(squeeze), "axes") != [1]:
            return False
        folded.append(squeeze)
        following = _only_user(imp, squeeze.output[0], op)
        if following is None or following.input[0] != squeeze.output[0] or \
                _attrs_of(following).get("hidden_size") != attrs["hidden_size"]:
            break
        layers.append(following)
    last = folded[-1].output[0]  # (T, N, H): read back batch-first, or by the next recurrent layer as it is
    users = imp.consumers.get(last, [])
    backs = [u for u in users if u.op_type == "Transpose" and list(_attrs_of(u).get("perm", [])) == [1, 0, 2]]
    if last in {o.name for o in imp.model.graph.output} or not users or \
            any(u not in backs and not (u.op_type in _RECURRENT and u.input[0] == last) for u in users):
        return False
    hidden, order = attrs["hidden_size"], _GATES[op]

    def gates(a: Any) -> Any:
        return np.concatenate([a[g * hidden:(g + 1) * hidden] for g in order])

    biased = {bool(n.input[3]) if len(n.input) > 3 else False for n in layers}
    if len(biased) != 1:
        return False
    kwargs: dict[str, Any] = {"batch_first": True, "bias": biased.pop(), "num_layers": len(layers)}
    w0 = imp.const(node.input[1])[0]
    module = getattr(nn, op)(w0.shape[1], hidden, **kwargs)
    for k, layer in enumerate(layers):
        getattr(module, f"weight_ih_l{k}").data = _t(gates(imp.const(layer.input[1])[0]))
        getattr(module, f"weight_hh_l{k}").data = _t(gates(imp.const(layer.input[2])[0]))
        if kwargs["bias"]:
            bias = imp.const(layer.input[3])[0]
            half = bias.shape[0] // 2
            getattr(module, f"bias_ih_l{k}").data = _t(gates(bias[:half]))
            getattr(module, f"bias_hh_l{k}").data = _t(gates(bias[half:]))
    for n in [*layers[1:], *folded, *backs]:
        imp.skip.add(id(n))
        imp.dynamic.update(n.output)
    batch_first = f"{last}:batch_first"
    imp.time_major[last] = batch_first
    imp.values[batch_first] = np.swapaxes(imp.values[last], 0, 1)  # its example value, for the next layer's spec
    if not imp.add_module(node, module, source, batch_first):
        return False
    for t in backs:
        imp.refs[t.output[0]] = imp.refs[batch_first]
    return True


def _attrs_of(node: Any) -> dict[str, Any]:
    from neuralforge_desktop.core.importers.onnx_import import node_attrs

    return node_attrs(node)


def _resize(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    """Resize of an image by one scale on both sides, nearest or bilinear as torch's Upsample does it."""
    from torch import nn

    x = imp.values[node.input[0]]
    scales = node.input[2] if len(node.input) > 2 else ""
    if x.ndim != 4 or not scales or not imp.is_const(scales) or imp.const(scales).size != 4 or \
            (len(node.input) > 3 and node.input[3]):
        return False
    factors = [float(v) for v in imp.const(scales)]
    if factors[:2] != [1.0, 1.0] or factors[2] != factors[3]:
        return False
    mode, where = attrs.get("mode", "nearest"), attrs.get("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest" and where == "asymmetric" and attrs.get("nearest_mode", "round_prefer_floor") == "floor":
        module = nn.Upsample(scale_factor=factors[2], mode="nearest")
    elif mode == "linear" and where in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        module = nn.Upsample(scale_factor=factors[2], mode="bilinear", align_corners=where == "align_corners")
    else:
        return False
    return imp.add_module(node, module, node.input[0], node.output[0])


def _global_pool(attrs: dict[str, Any], x: Any) -> Any:
    from torch import nn

    return nn.AdaptiveAvgPool2d(1) if x.ndim == 4 else None  # ONNX keeps the 1×1, as AdaptiveAvgPool2d(1) does


def _clip(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> bool:
    from torch import nn

    bounds = [float(imp.const(n)) if n and imp.is_const(n) else None for n in list(node.input[1:3]) + [""] * 2][:2]
    lo, hi = attrs.get("min", bounds[0]), attrs.get("max", bounds[1])
    module = nn.ReLU6() if (lo, hi) == (0.0, 6.0) else nn.ReLU() if lo == 0.0 and hi is None else None
    return module is not None and imp.add_module(node, module, node.input[0], node.output[0])


def _mean(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> dict[str, Any] | None:
    axes = _dims(imp, node, attrs, "axes")
    rank = imp.values[node.input[0]].ndim
    if not axes or any(a % rank == 0 for a in axes):
        return None
    return {"dim": [a % rank for a in axes], "keepdim": bool(attrs.get("keepdims", 1))}


def _one_axis(key: str) -> ParamsRule:
    def params(imp: OnnxImporter, node: Any, attrs: dict[str, Any]) -> dict[str, Any] | None:
        axes = _dims(imp, node, attrs, "axes")
        rank = imp.values[node.output[0] if key == "unsqueeze" else node.input[0]].ndim
        if not axes or len(axes) != 1 or axes[0] % rank == 0:
            return None
        return {"dim": axes[0] % rank}
    return params


RULES: dict[str, Rule] = {
    "Conv": _conv,
    "ConvTranspose": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Gather": _gather,
    "Clip": _clip,
    "Relu": _module_rule(_activation("ReLU")),
    "Sigmoid": _sigmoid,
    "Div": _gelu,
    "Tanh": _module_rule(_activation("Tanh")),
    "LeakyRelu": _module_rule(_activation("LeakyReLU", negative_slope=("alpha", 0.01))),
    "Elu": _module_rule(_activation("ELU", alpha=("alpha", 1.0))),
    "Selu": _module_rule(lambda a, x: None if "alpha" in a or "gamma" in a else _activation("SELU")(a, x)),
    "Gelu": _module_rule(_activation("GELU", approximate=("approximate", "none"))),
    "HardSwish": _module_rule(_activation("Hardswish")),
    "Mish": _module_rule(_activation("Mish")),
    "HardSigmoid": _module_rule(lambda a, x: _activation("Hardsigmoid")(a, x)
                                if abs(a.get("alpha", 0.2) - 1 / 6) < 1e-6 and a.get("beta", 0.5) == 0.5 else None),
    "Softmax": _module_rule(_softmax("Softmax")),
    "LogSoftmax": _module_rule(_softmax("LogSoftmax")),
    "GlobalAveragePool": _module_rule(_global_pool),
    "Flatten": _simple("Flatten", lambda imp, n, a: {} if a.get("axis", 1) == 1 else None),
    "Reshape": _reshape_rule,
    "Resize": _resize,
    "Transpose": _transpose,
    "LSTM": _recurrent,
    "GRU": _recurrent,
    "RNN": _recurrent,
    "Concat": _variadic("Concat"),
    "Add": _variadic("Add"),
    "Mul": _variadic("Multiply"),
    "ReduceMean": _simple("Mean", _mean),
    "Squeeze": _simple("Squeeze", _one_axis("squeeze")),
    "Unsqueeze": _simple("Unsqueeze", _one_axis("unsqueeze")),
}
