"""Custom-code nodes for what an importer cannot map: the source that reproduces it, and its measurements.

A module becomes its class's source plus what that source needs from its file (functions, classes,
constants, ``import`` lines), constructed with the ``__init__`` arguments read back from the instance. A traced
function call (``torch.where(x > 0, x, y)``, a call into the user's own helper) becomes a small module whose
``forward`` is torch.fx's own code for that call and the non-tensor values it needs (``x.size(0)`` …).
Measurements (shapes, parameters, buffers, MACs) come from running it: on the meta device where it can run
there, on the recorded real inputs where the code needs values (data-dependent control flow).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import textwrap
import types
from typing import Any

from neuralforge_desktop.core.ir.identifiers import is_identifier

_PROVIDED = {"torch", "nn", "F", "math"}  # names generated code and the builder already define


class NotReproducible(Exception):
    """The code cannot be carried as source (the message says why)."""


def _dtype(t: Any) -> str:
    return str(t.dtype).removeprefix("torch.")


def measure(module: Any, inputs: list[Any], outputs: list[Any]) -> dict[str, Any]:
    """Shapes (batch excluded), counts and MACs of ``module`` as run on ``inputs``."""
    import copy

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    unique = {id(p): p for p in module.parameters()}
    macs = 0
    counter = FlopCounterMode(display=False)
    try:
        meta = copy.deepcopy(module).to("meta")
        with counter, torch.no_grad():
            meta(*[t.to("meta") for t in inputs])
        macs = counter.get_total_flops() // 2
    except Exception:  # code that needs real values (data-dependent control flow): count on the real inputs
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            module(*inputs)
        macs = counter.get_total_flops() // 2
    return {
        "inputs": [[list(t.shape[1:]), _dtype(t)] for t in inputs],
        "outputs": [[list(t.shape[1:]), _dtype(t)] for t in outputs],
        "params": sum(p.numel() for p in unique.values()),
        "buffers": sum(b.numel() for b in module.buffers()),
        "macs": int(macs) // max(1, int(inputs[0].shape[0]) if inputs and inputs[0].dim() else 1),  # per example
    }


def _free_names(source: str) -> set[str]:
    tree = ast.parse(source)
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    stores = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    args = {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
            for a in (*n.args, *n.kwonlyargs, *n.posonlyargs, *([n.vararg] if n.vararg else []),
                      *([n.kwarg] if n.kwarg else []))}
    return loads - stores - defined - args - set(dir(builtins))


def closure_source(obj: Any, namespace: dict[str, Any]) -> str:
    """``obj``'s source with what it needs from ``namespace`` (its module's globals) before it."""
    parts: dict[str, str] = {}
    imports: list[str] = []

    def need(name: str, value: Any, seen: set[str]) -> None:
        if name in seen or name in _PROVIDED:
            return
        seen.add(name)
        if isinstance(value, types.ModuleType):
            line = f"import {value.__name__}" + (f" as {name}" if name != value.__name__ else "")
            if value.__name__ != name and "." in value.__name__ and name == value.__name__.rsplit(".", 1)[1]:
                line = f"from {value.__name__.rsplit('.', 1)[0]} import {name}"
            imports.append(line)
            return
        if inspect.isclass(value) or inspect.isfunction(value):
            module = getattr(value, "__module__", "") or ""
            if module.split(".")[0] in ("torch", "math", "typing", "collections", "functools", "itertools"):
                imports.append(f"from {module} import {value.__name__}"
                               + (f" as {name}" if name != value.__name__ else ""))
                return
            try:
                source = textwrap.dedent(inspect.getsource(value))
            except (OSError, TypeError):
                raise NotReproducible(f"the source of {name!r} is not available") from None
            for free in sorted(_free_names(source)):
                if free in namespace:
                    need(free, namespace[free], seen)
                elif free not in _PROVIDED:
                    raise NotReproducible(f"{name!r} uses {free!r}, which its file does not define")
            parts[name] = source
            return
        if isinstance(value, int | float | str | bool | type(None) | tuple):
            parts[name] = f"{name} = {value!r}\n"
            return
        raise NotReproducible(f"it uses {name!r}, a {type(value).__name__} that cannot be written as source")

    need(obj.__name__, obj, set())
    text = "\n".join(dict.fromkeys(imports)) + ("\n\n\n" if imports else "")
    text += "\n\n".join(p.rstrip() + "\n" for p in parts.values())
    ast.parse(text)  # what is carried must at least be Python
    return text


def init_kwargs(module: Any) -> dict[str, Any]:
    """The constructor arguments of ``module``, read back from attributes of the same names."""
    kwargs: dict[str, Any] = {}
    cls = type(module)
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if hasattr(module, p.name) and _jsonable(getattr(module, p.name)):
            value = getattr(module, p.name)
            kwargs[p.name] = list(value) if isinstance(value, tuple) else value
        elif p.default is not inspect.Parameter.empty:
            if not _jsonable(p.default):
                raise NotReproducible(f"{cls.__name__}.__init__'s default for {p.name!r} is not a plain value")
        else:
            raise NotReproducible(f"{cls.__name__}.__init__ takes {p.name!r}, which the module does not keep as "
                                  f"self.{p.name}, so its value cannot be read back")
    return kwargs


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def rename_class(source: str, old: str, new: str) -> str:
    """``source`` with the top-level class ``old`` called ``new`` (two imported classes may share a name)."""
    if old == new:
        return source
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == old:
            lines = source.splitlines(keepends=True)
            line = lines[node.lineno - 1]
            lines[node.lineno - 1] = line.replace(f"class {old}", f"class {new}", 1)
            return "".join(lines)
    return source


def function_module_source(fx_node: Any, class_name: str) -> tuple[str, list[Any]]:
    """A module class running one traced call (with the non-tensor values it needs) and the tensor nodes it
    takes, in order."""
    import torch
    from torch import fx

    inputs: list[fx.Node] = []
    needed: list[fx.Node] = []

    def visit(n: fx.Node) -> None:
        if n in needed or n in inputs:
            return
        example = n.meta.get("nf_value")
        if n is not fx_node and isinstance(example, torch.Tensor):
            inputs.append(n)
            return
        if n.op in ("placeholder", "get_attr", "call_module"):
            raise NotReproducible(f"it reads {n.op} {n.target!r} directly")
        for a in n.all_input_nodes:
            visit(a)
        needed.append(n)

    visit(fx_node)
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for i, n in enumerate(inputs):
        env[n] = graph.placeholder(f"x{i}")
    for n in needed:
        env[n] = graph.node_copy(n, lambda a: env[a])
    graph.output(env[fx_node])
    code = graph.python_code(root_module="self")
    header = []
    import re

    for name, value in code.globals.items():
        if name in _PROVIDED or name in dir(builtins) or not re.search(rf"\b{re.escape(name)}\b", code.src):
            continue
        if isinstance(value, float):
            header.append(f"{name} = float({str(value)!r})")
            continue
        if isinstance(value, types.ModuleType):
            header.append(f"import {value.__name__} as {name}" if value.__name__ != name else f"import {name}")
        elif inspect.isfunction(value) or inspect.isclass(value):
            header.append(closure_source(value, value.__globals__ if inspect.isfunction(value) else {}))
        else:
            raise NotReproducible(f"it uses {name!r}, a {type(value).__name__} that cannot be written as source")
    import re as _re

    # fx frees each input after its last use (``;  x0 = None``): noise in code a person reads
    src = _re.sub(r";\s+(?:\w+\s*=\s*)+None$", "", code.src.strip(), flags=_re.MULTILINE)
    body = textwrap.indent(src, "    ")
    source = ("\n".join(header) + "\n\n\n" if header else "") + f"class {class_name}(nn.Module):\n{body}\n"
    ast.parse(source)
    if not is_identifier(class_name):
        raise NotReproducible(f"{class_name!r} is no class name")
    return source, inputs
