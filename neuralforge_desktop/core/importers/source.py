"""Find the user's model: ``path/to/file.py:Name`` or ``package.module:Name``, constructed with given kwargs.

This runs the user's own code (it is what they asked to import), in the process that imports: the CLI, or
a worker process the app starts, never the UI process. Every failure is one :class:`ImportSourceError`
that says what was wrong and where (the file and line of the user's code when their code raised).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.types import DType

_SHAPE = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*)=([^:]*)(?::([a-z0-9]+))?$")


class ImportSourceError(UserError):
    """The source could not be found, imported, constructed or run on the given inputs."""


@dataclass(frozen=True)
class InputSpec:
    """One forward argument: per-example shape (batch excluded) and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


@dataclass
class LoadedSource:
    module: Any  # the nn.Module
    namespace: types.ModuleType  # the Python module that defines it (for example_input and custom code)
    label: str  # "file.py:Name"


def parse_input(text: str) -> InputSpec:
    """``x=3,32,32`` or ``tokens=20:int64`` → an :class:`InputSpec`."""
    match = _SHAPE.match(text.strip())
    if not match:
        raise ImportSourceError(f"--input {text!r}: expected NAME=D1,D2,…[:DTYPE], e.g. x=3,32,32 or tokens=20:int64")
    name, dims, dtype = match.group(1), match.group(2), match.group(3) or "float32"
    try:
        shape = tuple(int(d) for d in dims.split(",") if d.strip()) if dims.strip() else ()
    except ValueError:
        raise ImportSourceError(f"--input {text!r}: dimensions must be whole numbers, got {dims!r}") from None
    if any(d < 1 for d in shape):
        raise ImportSourceError(f"--input {text!r}: dimensions must be at least 1")
    if dtype not in {d.value for d in DType}:
        choices = ", ".join(d.value for d in DType)
        raise ImportSourceError(f"--input {text!r}: unknown dtype {dtype!r} (one of {choices})")
    return InputSpec(name, shape, dtype)


def _user_frame(exc: BaseException, file: Path | None) -> str:
    """``file.py:12`` of the deepest frame in the user's file (or the deepest frame at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if file is not None and Path(f.filename).resolve() == file.resolve()]
    chosen = mine or list(frames)
    if not chosen:
        return ""
    return f"{Path(chosen[-1].filename).name}:{chosen[-1].lineno}"


def _last_line(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _load_file(path: Path) -> types.ModuleType:
    if not path.is_file():
        raise ImportSourceError(f"no file {path}")
    name = "_neuralforge_import_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportSourceError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # the file's own sibling imports work as they do when it is run
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise ImportSourceError(f"{path.name}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    except BaseException as exc:  # the user's code may raise anything, SystemExit included
        sys.modules.pop(name, None)
        raise ImportSourceError(f"{path} does not import: {_last_line(exc)} (at {_user_frame(exc, path)})") from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def load_source(source: str, kwargs: dict[str, Any] | None = None) -> LoadedSource:
    """Import ``source`` and return the module it names, constructed with ``kwargs``."""
    from torch import nn

    where, sep, attr = source.rpartition(":")
    if not sep or not where or not attr:
        raise ImportSourceError(f"{source!r}: expected path/to/file.py:Name or package.module:Name")
    file: Path | None = None
    if where.endswith(".py") or "/" in where or "\\" in where:
        file = Path(where)
        namespace = _load_file(file)
    else:
        try:
            namespace = importlib.import_module(where)
        except BaseException as exc:
            raise ImportSourceError(f"{where} does not import: {_last_line(exc)}") from None
    target = getattr(namespace, attr, None)
    label = f"{Path(where).name if file else where}:{attr}"
    if target is None:
        defined = sorted(n for n, v in vars(namespace).items()
                         if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
                         and getattr(v, "__module__", None) == namespace.__name__)
        raise ImportSourceError(f"{label}: {where} defines no {attr!r}"
                                + (f" (it defines {', '.join(defined)})" if defined else ""))
    if not callable(target):
        raise ImportSourceError(f"{label} is a {type(target).__name__}, not an nn.Module class or a function")
    try:
        model = target(**(kwargs or {}))
    except BaseException as exc:
        raise ImportSourceError(f"{label}(**{kwargs or {}}) failed: {_last_line(exc)} "
                                f"(at {_user_frame(exc, file)})") from None
    if not isinstance(model, nn.Module):
        raise ImportSourceError(f"{label} gave a {type(model).__name__}, not an nn.Module")
    return LoadedSource(model.eval(), namespace, label)


def forward_arguments(model: Any) -> list[str]:
    """The tensor arguments of ``model.forward`` in order (``self``, ``*args`` and ``**kwargs`` left out)."""
    params = inspect.signature(model.forward).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def example_inputs(loaded: LoadedSource, given: list[InputSpec]) -> list[InputSpec]:
    """The input specs in forward's order: from ``--input``, else from the file's ``example_input()``."""
    names = forward_arguments(loaded.module)
    if given:
        by_name = {g.name: g for g in given}
        unknown = [g.name for g in given if g.name not in names]
        if unknown:
            raise ImportSourceError(f"{loaded.label}: forward() has no argument {unknown[0]!r} "
                                    f"(it takes {', '.join(names) or 'none'})")
        required = [p.name for p in inspect.signature(loaded.module.forward).parameters.values()
                    if p.name in names and p.default is inspect.Parameter.empty]
        missing = [n for n in required if n not in by_name]
        if missing:
            raise ImportSourceError(f"{loaded.label}: no shape for forward argument {missing[0]!r}; "
                                    f"give --input {missing[0]}=D1,D2,… (per example, batch excluded)")
        return [by_name[n] for n in names if n in by_name]
    maker = getattr(loaded.namespace, "example_input", None)
    if not callable(maker):
        raise ImportSourceError(f"{loaded.label}: no input shapes; give --input NAME=D1,D2,… for each of "
                                f"forward's arguments ({', '.join(names)}), batch excluded, or define "
                                "example_input() in the file")
    try:
        value = maker()
    except BaseException as exc:
        raise ImportSourceError(f"example_input() failed: {_last_line(exc)}") from None
    tensors = list(value) if isinstance(value, tuple | list) else [value]
    import torch

    if not tensors or not all(isinstance(t, torch.Tensor) and t.dim() >= 1 for t in tensors):
        raise ImportSourceError("example_input() must return a batched tensor or a tuple of them")
    return [InputSpec(name, tuple(t.shape[1:]), str(t.dtype).removeprefix("torch."))
            for name, t in zip(names, tensors, strict=False)]
