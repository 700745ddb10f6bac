"""Reading a user's Python file into a custom-layer manifest: the class (or loss function), its parameters
from the ``__init__`` signature, its ports from ``forward``'s, and a check run of ``forward`` on the meta device.

This runs the user's own code in this process: it is called only when the user adds a layer they wrote (the
"New custom layer" dialog, ``neuralforge layers add``), the same consent as installing a plugin. Everything
here imports torch; nothing at catalog load time does (see :mod:`.user_layers`).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.catalog.user_layers import (
    LOSS,
    MODULE,
    CustomLayerError,
    Manifest,
    meta_run,
    parse_input,
)
from neuralforge_desktop.core.importers.custom import NotReproducible, closure_source
from neuralforge_desktop.core.ir.identifiers import is_identifier

_KINDS = {int: "int", float: "float", bool: "bool", str: "str"}
_KIND_NAMES = {"int": "int", "float": "float", "bool": "bool", "str": "str"}
_NEUTRAL: dict[str, Any] = {"int": 1, "float": 1.0, "bool": False, "str": ""}
_RESERVED_PORTS = {"self", "y", "loss"}


def load_file(path: Path, module_name: str) -> Any:
    """Import ``path`` as a fresh module (so ``inspect.getsource`` finds its classes); raises
    :class:`CustomLayerError` with the error the file raised."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise CustomLayerError(f"{path} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # getsource and dataclasses look the module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: any error is theirs to see, never ours to crash on
        sys.modules.pop(module_name, None)
        raise CustomLayerError(f"{path.name} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def _annotated_kind(param: inspect.Parameter) -> str | None:
    annotation = param.annotation
    if isinstance(annotation, str):  # ``from __future__ import annotations`` leaves the text
        return _KIND_NAMES.get(annotation.strip())
    return _KINDS.get(annotation) if isinstance(annotation, type) else None


def _kind(name: str, param: inspect.Parameter, given: Any) -> str:
    annotated = _annotated_kind(param)
    if annotated is not None:
        return annotated
    for value in (param.default, given):
        if value is not inspect.Parameter.empty and value is not None and type(value) in _KINDS:
            return _KINDS[type(value)]
    raise CustomLayerError(f"cannot tell the type of __init__ argument {name!r}: annotate it as int, float, "
                           "bool or str, or give it a default of one of those types")


def _params(cls: type, init: dict[str, Any]) -> list[dict[str, Any]]:
    """ParamSpec fields for every ``__init__`` argument; a required one takes the value given for the check
    run (or a neutral one) as its default, so a fresh node builds as the check did."""
    out: list[dict[str, Any]] = []
    for name, p in inspect.signature(cls).parameters.items():  # the constructor's arguments, self left out
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is None and name not in init and _annotated_kind(p) is None:
            continue  # an optional argument of no plain type (torch's size_average=None): it keeps its default
        kind = _kind(name, p, init.get(name, inspect.Parameter.empty))
        if name in init:
            default = init[name]
        elif p.default is not inspect.Parameter.empty:
            default = p.default
        else:
            default = _NEUTRAL[kind]
        if kind == "float" and isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        out.append({"name": name, "kind": kind, "default": default,
                    "required": p.default is inspect.Parameter.empty})
    unknown = set(init) - {p["name"] for p in out}
    if unknown:
        raise CustomLayerError(f"{cls.__name__}.__init__ takes no argument {sorted(unknown)[0]!r}")
    return out


def _ports(fn: Any, params: list[dict[str, Any]], skip_self: bool) -> list[str]:
    names = {p["name"] for p in params}
    args = list(inspect.signature(fn).parameters.values())[1 if skip_self else 0:]
    ports: list[str] = []
    for a in args:
        if a.kind in (a.VAR_POSITIONAL, a.VAR_KEYWORD):
            raise CustomLayerError(f"forward takes *{a.name}: name each input tensor as an argument")
        if a.default is not inspect.Parameter.empty:
            continue  # an optional argument keeps its default; ports are the tensors it needs
        port = a.name if a.name not in names | _RESERVED_PORTS else f"in_{a.name}"
        ports.append(port)
    if not ports:
        raise CustomLayerError("forward takes no input tensor")
    return ports


def describe(path: Path, name: str, *, inputs: list[str] | None = None, init: dict[str, Any] | None = None,
             loss: bool | None = None) -> Manifest:
    """The manifest for ``name`` (a class or loss function) in ``path``, checked by running ``forward`` on
    meta tensors of ``inputs`` (shape texts such as ``"N, 16, 8, 8"``; default ``(N, 16)`` per input)."""
    import torch
    from torch import nn

    if not is_identifier(name):
        raise CustomLayerError(f"{name!r} is not a Python name")
    module = load_file(path, f"neuralforge_user_layer_{name}")
    obj = getattr(module, name, None)
    if obj is None:
        raise CustomLayerError(f"{path.name} defines no {name!r}")
    init = dict(init or {})
    if inspect.isclass(obj) and issubclass(obj, nn.Module):
        params = _params(obj, init)
        ports = _ports(obj.forward, params, skip_self=True)
        kind = LOSS if issubclass(obj, nn.modules.loss._Loss) else MODULE
    elif inspect.isfunction(obj):
        params, kind = [], LOSS  # a plain function is taken as a loss: it has no weights to be a layer
        ports = _ports(obj, params, skip_self=False)
    else:
        raise CustomLayerError(f"{name!r} is neither an nn.Module subclass nor a loss function")
    try:
        source = closure_source(obj, vars(module))
    except NotReproducible as exc:
        raise CustomLayerError(f"{name} cannot be carried as source: {exc}") from exc
    if kind == LOSS and inspect.isfunction(obj):
        source = source.rstrip() + "\n\n\n" + _wrapper(name, ports)
    parsed = [parse_input(text) for text in (inputs or ["N, 16"] * len(ports))]
    shapes = [shape for shape, _ in parsed]
    if len(shapes) != len(ports):
        raise CustomLayerError(f"forward takes {len(ports)} input(s) ({', '.join(ports)}), "
                               f"{len(shapes)} sample shape(s) given")
    manifest = Manifest(name=name, class_name=_class_name(name, obj), kind=kind, source=source,
                        params=params, inputs=ports, sample=[[*s] for s in shapes],
                        dtypes=[dtype for _, dtype in parsed])
    try:
        samples = [(s, getattr(torch, manifest.dtype_of(i))) for i, s in enumerate(manifest.concrete_sample())]
        result = meta_run(manifest, {p["name"]: p["default"] for p in params}, samples)
    except CustomLayerError:
        raise
    except Exception as exc:  # the user's forward: report what it raised
        raise CustomLayerError(f"{name}'s forward failed on the sample {manifest.sample}: "
                               f"{type(exc).__name__}: {exc}") from exc
    if loss is None and kind == MODULE and result.out_shape == ():
        kind = LOSS  # a module that reduces to one number is a loss (a class not derived from _Loss)
    elif loss:
        kind = LOSS
    elif loss is False:
        kind = MODULE
    batch = samples[0][0][0] if samples[0][0] else None
    if kind == MODULE and result.out_shape and result.out_shape[0] != batch:
        # every layer keeps the batch axis first; one that does not would be a shape error on every node
        raise CustomLayerError(f"{name}'s forward returned shape {list(result.out_shape)} for the sample "
                               f"{manifest.sample}: a layer must keep the batch axis first")
    if kind == LOSS and len(ports) >= 2:
        # training feeds a loss the model's output on port "input" and the labels on "target", as torch's losses
        # name them; the user's own argument names do not matter, the call passes them by position
        ports = ["input", "target", *ports[2:]]
    return Manifest(**{**manifest.to_json(), "kind": kind, "inputs": ports})


def _class_name(name: str, obj: Any) -> str:
    if inspect.isclass(obj):
        return name
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) + "Module"  # my_loss → MyLossModule


def _wrapper(name: str, ports: list[str]) -> str:
    """A module around a loss function, so it is constructed and called like every other node."""
    args = ", ".join(ports)
    return (f"class {_class_name(name, None)}(nn.Module):\n"
            f'    """Calls the loss function {name}."""\n\n'
            f"    def forward(self, {args}):\n"
            f"        return {name}({args})\n")
