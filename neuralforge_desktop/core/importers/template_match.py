"""Does a traced module call read as a catalog entry's forward template?

A template such as ``{y} = {self}({query}, {key}, {value}{?attention_mask:, key_padding_mask=
padding_mask({attention_mask})}, need_weights=False)[0]`` is rendered with stand-in names (each optional input
wired or not), parsed, and compared with the traced ``call_module`` node: positional and keyword arguments,
constants, calls of the catalog's own helper functions (traced as leaves), and the ``[0]`` that picks the
output. A match says which traced value feeds each input port, and which helper calls the template covers.
"""

from __future__ import annotations

import ast
import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.catalog.spec import LayerDef, Params
from neuralforge_desktop.core.codegen.plan import render

_PORT = "_nf_port_"
_OUT = "_nf_out_"
_SELF = "_nf_self"


@dataclass
class Match:
    ports: dict[str, Any]  # input port → traced node feeding it
    outputs: Any  # the output structure: port name, or nested lists of them
    index: int | None  # the call's result is ``call(...)[index]``
    covered: list[Any] = field(default_factory=list)  # helper-call nodes the template accounts for


def _is_node(value: Any) -> bool:
    from torch import fx

    return isinstance(value, fx.Node)


def _bind(expr: ast.expr, value: Any, found: Match) -> bool:
    if isinstance(expr, ast.Name) and expr.id.startswith(_PORT):
        port = expr.id[len(_PORT):]
        if not _is_node(value) or found.ports.get(port, value) is not value:
            return False
        found.ports[port] = value
        return True
    if isinstance(expr, ast.Constant):
        return not _is_node(value) and type(value) is type(expr.value) and value == expr.value
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub) and isinstance(expr.operand, ast.Constant):
        return not _is_node(value) and value == -expr.operand.value  # type: ignore[operator]
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and not expr.keywords:
        if not _is_node(value) or value.op != "call_function":
            return False
        if getattr(value.target, "__name__", None) != expr.func.id or value.kwargs:
            return False
        if len(value.args) != len(expr.args):
            return False
        if all(_bind(e, v, found) for e, v in zip(expr.args, value.args, strict=True)):
            found.covered.append(value)
            return True
        return False
    return False


def _outputs(target: ast.expr) -> Any:
    if isinstance(target, ast.Tuple):
        return [_outputs(e) for e in target.elts]
    assert isinstance(target, ast.Name)
    return target.id[len(_OUT):]


def match_template(layer: LayerDef, params: Params, node: Any) -> Match | None:
    """The way ``node`` (a traced ``call_module``) calls ``layer`` with ``params``, or None."""
    assert layer.torch is not None
    template = layer.torch.forward_template(params)
    if not template:
        return None
    inputs = layer.input_ports(params)
    optional = [p.name for p in inputs if p.optional]
    names: dict[str, str | list[str]] = {p.name: _PORT + p.name for p in inputs}
    names.update({p.name: _OUT + p.name for p in layer.output_ports(params)})
    names["self"] = _SELF
    for wired in itertools.product((False, True), repeat=len(optional)):  # fewest wires first: an
        # unwired optional input may fall back to another (MultiheadAttention's key and value to its query)
        unwired = [port for port, on in zip(optional, wired, strict=True) if not on]
        filled = dict(names)
        for port in inputs:  # as code generation fills an unwired input: its fallback input, or None
            if port.name in unwired:
                filled[port.name] = filled.get(port.fallback, "None") if port.fallback else "None"
        try:
            statement = ast.parse(render(template, filled, params, unwired)).body
        except (KeyError, SyntaxError):
            return None
        if len(statement) != 1 or not isinstance(statement[0], ast.Assign) or len(statement[0].targets) != 1:
            return None
        rhs, index = statement[0].value, None
        if isinstance(rhs, ast.Subscript):
            picked = rhs.slice
            if isinstance(picked, ast.Constant) and isinstance(picked.value, int):
                rhs, index = rhs.value, picked.value
        if not (isinstance(rhs, ast.Call) and isinstance(rhs.func, ast.Name) and rhs.func.id == _SELF):
            return None
        found = Match({}, _outputs(statement[0].targets[0]), index)
        keywords = {k.arg: k.value for k in rhs.keywords}
        if None in keywords or len(rhs.args) != len(node.args) or set(keywords) != set(node.kwargs):
            continue
        pairs: Sequence[tuple[ast.expr, Any]] = [*zip(rhs.args, node.args, strict=True),
                                                 *((keywords[k], node.kwargs[k]) for k in keywords)]
        if not all(_bind(expr, value, found) for expr, value in pairs):
            continue
        if index is not None and not all(u.op == "call_function" and u.target is operator.getitem
                                         and u.args[1] == index for u in node.users):
            continue
        if set(found.ports) == {p.name for p in inputs if not p.optional or p.name not in unwired}:
            return found
    return None


def helper_functions(cat: Any, module: Any) -> tuple[Any, ...]:
    """The catalog's helper functions that the traced module's forward calls as globals (generated code's
    ``causal_mask``, ``padding_mask``): traced as leaves, so the call stays one node a template can match."""
    import inspect

    from neuralforge_desktop.core.codegen.plan import helper_name

    sources = {helper_name(h): h.strip() for layer in cat if layer.torch is not None for h in layer.torch.helpers
               if h.lstrip().startswith("def ")}
    scope = getattr(type(module).forward, "__globals__", {})
    found = []
    for name, source in sources.items():
        fn = scope.get(name)
        if not inspect.isfunction(fn):
            continue
        try:
            same = inspect.getsource(fn).strip() == source
        except (OSError, TypeError):
            same = False
        if same:
            found.append(fn)
    return tuple(found)
