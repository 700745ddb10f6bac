"""PyTorch source for ONNX ops outside the catalog: one generic template per op.

Each template turns the op's operands (``x0`` … for tensors computed from the inputs, ``self.c1`` … for
constant tensors, carried as buffers in the weights file) and its attributes into one PyTorch expression; the
attributes, and the constant inputs that act as settings (a Slice's starts, a ReduceSum's axes), are written
into the source as literals, so the node's code says exactly what the ONNX node did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Template = Callable[[list[str], dict[str, Any], dict[int, Any]], str]

_TORCH_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
                 10: "float16", 11: "float64", 16: "bfloat16"}


def _lit(consts: dict[int, Any], i: int) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in consts[i].reshape(-1)]


def _unary(expr: str) -> Template:
    return lambda ops, attrs, consts: expr.format(*ops)


def _binary(op: str) -> Template:
    return lambda ops, attrs, consts: f"{ops[0]} {op} {ops[1]}"


def _axes(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> list[int] | None:
    if "axes" in attrs:
        return list(attrs["axes"])
    return _lit(consts, 1) if 1 in consts else None


def _reduce(method: str) -> Template:
    def expr(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
        axes = _axes(ops, attrs, consts)
        keep = bool(attrs.get("keepdims", 1))
        if not axes:
            if attrs.get("noop_with_empty_axes", 0):
                return ops[0]
            axes_text = f"tuple(range({ops[0]}.dim()))"
        else:
            axes_text = repr(tuple(axes))
        return f"{ops[0]}.{method}(dim={axes_text}, keepdim={keep})"
    return expr


def _slice(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    starts = attrs.get("starts") or _lit(consts, 1)
    ends = attrs.get("ends") or _lit(consts, 2)
    axes = attrs.get("axes") or (_lit(consts, 3) if 3 in consts else list(range(len(starts))))
    steps = _lit(consts, 4) if 4 in consts else [1] * len(starts)
    big = 2 ** 62  # ONNX writes "to the end" as INT64_MAX
    parts = {a: f"{s}:{'' if e >= big else e}{'' if st == 1 else ':' + str(st)}"
             for a, s, e, st in zip(axes, starts, ends, steps, strict=True)}
    if any(a < 0 for a in parts):
        return f"{ops[0]}[..., {', '.join(parts[a] for a in sorted(parts))}]" if len(parts) == 1 else ""
    return f"{ops[0]}[{', '.join(parts.get(i, ':') for i in range(max(parts) + 1))}]"


def _clip(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    lo = attrs.get("min", _lit(consts, 1)[0] if 1 in consts else None)
    hi = attrs.get("max", _lit(consts, 2)[0] if 2 in consts else None)
    return f"torch.clamp({ops[0]}, min={lo!r}, max={hi!r})"


def _gather(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    return f"{ops[0]}[(slice(None),) * {attrs.get('axis', 0)} + ({ops[1]}.long(),)]"


def _flatten(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    return f"{ops[0]}.reshape(math.prod({ops[0]}.shape[:{attrs.get('axis', 1)}]), -1)"


def _cast(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    to = _TORCH_DTYPES.get(int(attrs.get("to", 1)))
    return f"{ops[0]}.to(torch.{to})" if to else ""


def _softmax(fn: str) -> Template:
    return lambda ops, attrs, consts: f"torch.{fn}({ops[0]}, dim={attrs.get('axis', -1)})"


def _pad(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    pads = attrs.get("pads") or _lit(consts, 1)
    mode = attrs.get("mode", "constant")
    value = _lit(consts, 2)[0] if 2 in consts else attrs.get("value", 0.0)
    if 3 in consts or mode not in ("constant", "reflect", "edge"):
        return ""
    half = len(pads) // 2
    torch_pads: list[int] = []
    for axis in reversed(range(half)):  # F.pad lists the last axis first, (begin, end) each
        torch_pads += [pads[axis], pads[axis + half]]
    while torch_pads[-2:] == [0, 0] and len(torch_pads) > 2:
        torch_pads = torch_pads[:-2]
    mode = {"edge": "replicate"}.get(mode, mode)
    extra = f", value={value!r}" if mode == "constant" else ""
    return f"F.pad({ops[0]}, {tuple(torch_pads)!r}, mode={mode!r}{extra})"


def _transpose(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    perm = attrs.get("perm")
    if not perm:
        return f"{ops[0]}.permute(*reversed(range({ops[0]}.dim())))"
    return f"{ops[0]}.permute({', '.join(map(str, perm))})"


def _concat(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    return f"torch.cat([{', '.join(ops)}], dim={attrs.get('axis', 0)})"


def _where(ops: list[str], attrs: dict[str, Any], consts: dict[int, Any]) -> str:
    return f"torch.where({ops[0]}.bool(), {ops[1]}, {ops[2]})"


# op → (template, the input positions that are settings written as literals, not operands)
GENERIC: dict[str, tuple[Template, frozenset[int]]] = {
    "Exp": (_unary("torch.exp({0})"), frozenset()),
    "Log": (_unary("torch.log({0})"), frozenset()),
    "Sqrt": (_unary("torch.sqrt({0})"), frozenset()),
    "Abs": (_unary("torch.abs({0})"), frozenset()),
    "Neg": (_unary("-{0}"), frozenset()),
    "Erf": (_unary("torch.erf({0})"), frozenset()),
    "Reciprocal": (_unary("1 / {0}"), frozenset()),
    "Floor": (_unary("torch.floor({0})"), frozenset()),
    "Ceil": (_unary("torch.ceil({0})"), frozenset()),
    "Sin": (_unary("torch.sin({0})"), frozenset()),
    "Cos": (_unary("torch.cos({0})"), frozenset()),
    "Sign": (_unary("torch.sign({0})"), frozenset()),
    "Not": (_unary("torch.logical_not({0})"), frozenset()),
    "Softplus": (_unary("F.softplus({0})"), frozenset()),
    "Softsign": (_unary("F.softsign({0})"), frozenset()),
    "Relu": (_unary("torch.relu({0})"), frozenset()),
    "Sigmoid": (_unary("torch.sigmoid({0})"), frozenset()),
    "Tanh": (_unary("torch.tanh({0})"), frozenset()),
    "Add": (_binary("+"), frozenset()),
    "Sub": (_binary("-"), frozenset()),
    "Mul": (_binary("*"), frozenset()),
    "Div": (_binary("/"), frozenset()),
    "Pow": (_unary("torch.pow({0}, {1})"), frozenset()),
    "MatMul": (_binary("@"), frozenset()),
    "Equal": (_binary("=="), frozenset()),
    "Less": (_binary("<"), frozenset()),
    "Greater": (_binary(">"), frozenset()),
    "And": (_unary("torch.logical_and({0}, {1})"), frozenset()),
    "Or": (_unary("torch.logical_or({0}, {1})"), frozenset()),
    "Max": (_unary("torch.maximum({0}, {1})"), frozenset()),
    "Min": (_unary("torch.minimum({0}, {1})"), frozenset()),
    "Where": (_where, frozenset()),
    "Concat": (_concat, frozenset()),
    "Gather": (_gather, frozenset()),
    "Transpose": (_transpose, frozenset()),
    "Flatten": (_flatten, frozenset()),
    "Cast": (_cast, frozenset()),
    "Softmax": (_softmax("softmax"), frozenset()),
    "LogSoftmax": (_softmax("log_softmax"), frozenset()),
    "Clip": (_clip, frozenset({1, 2})),
    "Slice": (_slice, frozenset({1, 2, 3, 4})),
    "Pad": (_pad, frozenset({1, 2, 3})),
    "ReduceMean": (_reduce("mean"), frozenset({1})),
    "ReduceSum": (_reduce("sum"), frozenset({1})),
    "ReduceMax": (_reduce("amax"), frozenset({1})),
    "ReduceMin": (_reduce("amin"), frozenset({1})),
    "GlobalMaxPool": (_unary("torch.amax({0}, dim=tuple(range(2, {0}.dim())), keepdim=True)"), frozenset()),
    "GlobalAveragePool": (_unary("{0}.mean(dim=tuple(range(2, {0}.dim())), keepdim=True)"), frozenset()),
}


def custom_source(op: str, class_name: str, inputs: list[str], dynamic: list[str], consts: dict[int, Any],
                  attrs: dict[str, Any]) -> tuple[str, list[int]] | None:
    """The class for one ONNX node and the constant inputs it keeps as buffers, or None when its template
    cannot express this use of the op."""
    template, settings = GENERIC[op]
    args = [f"x{i}" for i in range(len(dynamic))]
    ops: list[str] = []
    literals: set[int] = set()
    k = 0
    for i, name in enumerate(inputs):
        if not name:
            ops.append("None")
        elif i in consts and i not in settings and consts[i].size == 1 and consts[i].ndim <= 1:
            ops.append(repr(consts[i].reshape(-1)[0].item()))  # a scalar reads better as a number
            literals.add(i)
        elif i in consts:
            ops.append(f"self.c{i}")
        else:
            ops.append(args[k])
            k += 1
    try:
        expr = template(ops, attrs, consts)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if not expr:
        return None
    described = ", ".join(f"{k}={v!r}" for k, v in sorted(attrs.items())) or "none"
    buffers = [i for i in consts if i not in settings and i not in literals]
    lines = [f"class {class_name}(nn.Module):", f'    """ONNX {op}, kept as code. Attributes: {described}."""', ""]
    if buffers:
        lines += [
            "    def __init__(self, shapes=()) -> None:",
            "        super().__init__()",
            "        # constant operands of the ONNX node (input position, shape, dtype); values in the weights file",
            "        for key, shape, dtype in shapes:",
            '            self.register_buffer(f"c{key}", torch.zeros(shape, dtype=getattr(torch, dtype)))',
            "",
        ]
    lines += [
        f"    def forward(self, {', '.join(args)}):",
        f"        return {expr}",
        "",
    ]
    return "\n".join(lines), buffers
