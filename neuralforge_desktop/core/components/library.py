"""Component files (``.nfcomp``) and the user's component library.

A component file is data, read as strictly as a graph file and never executed::

    {"format": "neuralforge-component", "version": 1, "name": NAME, "title": TEXT, "description": TEXT,
     "params": [{"name", "default", "targets": ["NODE.PARAM", …], "help"} …],
     "graph": {the block body as in a .nfg file: {"format", "version", "graph"}}}

The body goes through the graph reader (:func:`graph_from_dict`) with its limits, so a hostile file fails the
same way a hostile graph does: with a :class:`ComponentError` naming the file and the field. User components
live in ``user_data_dir("neuralforge")/components/NAME.nfcomp``; a name is a plain word, so a file name can
never point outside that folder.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.components.builtin import builtin_components
from neuralforge_desktop.core.components.component import (
    PARAM_NAME,
    Component,
    ComponentError,
    ExposedParam,
    check_targets,
)
from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.ir.serialize import GraphFileError, graph_from_dict, graph_to_dict
from neuralforge_desktop.core.limits import DEFAULT_LIMITS, Limits, over_limit

FORMAT_MARKER = "neuralforge-component"
FORMAT_VERSION = 1
FILE_SUFFIX = ".nfcomp"
MAX_PARAMS = 64  # far above any real component; a table of thousands is a mistake or an attack
MAX_TARGETS = 256
MAX_TEXT = 4_000  # title, description, help
_KEYS = ("format", "version", "name", "title", "description", "params", "graph")
_PARAM_KEYS = ("name", "default", "targets", "help")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return (f"a component name is a letter then up to 63 letters, digits, '_' or '-', got "
                f"{str(name)[:40]!r}")
    return None


def library_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / "components"


# -- writing -----------------------------------------------------------------------------------------------
def component_to_dict(component: Component) -> dict[str, Any]:
    return {
        "format": FORMAT_MARKER, "version": FORMAT_VERSION, "name": component.name, "title": component.title,
        "description": component.description,
        "params": [{"name": p.name, "default": p.default, "targets": list(p.targets), "help": p.help}
                   for p in component.params],
        "graph": graph_to_dict(component.body),
    }


def dumps_component(component: Component) -> str:
    return json.dumps(component_to_dict(component), indent=2, sort_keys=False) + "\n"


def save_component(component: Component, path: str | os.PathLike[str]) -> Path:
    """Write ``component`` to ``path`` (atomically). Built-ins carry a builder, which a file cannot hold."""
    if component.builder is not None:
        raise ComponentError(f"{component.name!r} is built in and is built for its input; insert it and save "
                             "the block instead")
    problem = name_problem(component.name)
    if problem:
        raise ComponentError(problem)
    check_targets(component.body, component.params, f"component {component.name!r}")
    target = Path(path)
    write_text_atomic(target, dumps_component(component))
    return target


# -- reading -----------------------------------------------------------------------------------------------
def _fail(source: str | os.PathLike[str] | None, where: str, reason: str) -> ComponentError:
    parts = [Path(source).name if source else "", where, reason]
    return ComponentError(": ".join(p for p in parts if p))


def _text(data: dict[str, Any], key: str, source: Any) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _fail(source, key, f"expected text of at most {MAX_TEXT:,} characters")
    return value


def component_from_dict(data: Any, *, source: str | os.PathLike[str] | None = None,
                        limits: Limits = DEFAULT_LIMITS) -> Component:
    """Validate a parsed component document and build the component; nothing in it is executed."""
    if not isinstance(data, dict):
        raise _fail(source, "", "expected a JSON object")
    if data.get("format") != FORMAT_MARKER:
        raise _fail(source, "format", f"not a NeuralForge component file (expected {FORMAT_MARKER!r})")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(source, "version", f"expected a whole number, got {version!r}"[:100])
    if version > FORMAT_VERSION:
        raise _fail(source, "version", f"made by a newer NeuralForge (format {version}; this one reads "
                                       f"{FORMAT_VERSION})")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise _fail(source, "", f"unknown fields {', '.join(map(repr, unknown))[:200]}")
    name = data.get("name")
    problem = name_problem(name)
    if problem:
        raise _fail(source, "name", problem)
    assert isinstance(name, str)
    raw_params = data.get("params", [])
    if not isinstance(raw_params, list) or len(raw_params) > MAX_PARAMS:
        raise _fail(source, "params", f"expected a list of at most {MAX_PARAMS} parameters")
    params = [_param(p, i, source) for i, p in enumerate(raw_params)]
    try:
        body = graph_from_dict(data.get("graph"), source=source, limits=limits)
    except GraphFileError as exc:
        raise _fail(source, "graph" + (f".{exc.where}" if exc.where else ""), exc.reason) from None
    check_targets(body, params, (Path(source).name if source else f"component {name!r}"))
    if not body.input_nodes or not body.output_nodes:
        raise _fail(source, "graph", "a component needs at least one Input and one Output node")
    inputs = tuple(list(n.params.get("shape", [])) for n in body.input_nodes)
    return Component(name, _text(data, "title", source) or name, _text(data, "description", source), body,
                     tuple(params), example_inputs=inputs)


def _param(raw: Any, index: int, source: Any) -> ExposedParam:
    where = f"params[{index}]"
    if not isinstance(raw, dict) or set(raw) - set(_PARAM_KEYS):
        raise _fail(source, where, f"expected an object with fields {', '.join(_PARAM_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not PARAM_NAME.fullmatch(name):
        raise _fail(source, f"{where}.name", "expected an identifier of at most 64 characters")
    targets = raw.get("targets")
    if (not isinstance(targets, list) or not targets or len(targets) > MAX_TARGETS
            or not all(isinstance(t, str) and 0 < len(t) <= 512 for t in targets)):
        raise _fail(source, f"{where}.targets", f"expected 1 to {MAX_TARGETS} NODE.PARAM strings")
    default = raw.get("default")
    if not isinstance(default, int | float | str | bool | list) or len(json.dumps(default)) > MAX_TEXT:
        raise _fail(source, f"{where}.default", "expected a number, text, true/false or a short list")
    help_text = raw.get("help", "")
    if not isinstance(help_text, str) or len(help_text) > MAX_TEXT:
        raise _fail(source, f"{where}.help", "expected short text")
    return ExposedParam(name, default, tuple(targets), help_text)


def loads_component(text: str | bytes, *, source: str | os.PathLike[str] | None = None,
                    limits: Limits = DEFAULT_LIMITS) -> Component:
    if len(text) > limits.file_bytes:
        raise _fail(source, "", over_limit("the file size", len(text), limits.file_bytes, "file_bytes"))
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _fail(source, "", f"invalid JSON ({str(exc)[:120]})") from None
    return component_from_dict(data, source=source, limits=limits)


def load_component(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> Component:
    with open(path, "rb") as file:
        data = file.read(limits.file_bytes + 1)  # never more than the limit, whatever the file's size
    return loads_component(data, source=path, limits=limits)


# -- the library -------------------------------------------------------------------------------------------
def user_components(folder: Path | None = None) -> tuple[list[Component], list[str]]:
    """The user's components and, for each file that failed to load, a one-line reason (never raised:
    one bad file must not hide the rest)."""
    folder = folder or library_dir()
    found: list[Component] = []
    problems: list[str] = []
    if not folder.is_dir():
        return found, problems
    reserved = {c.name for c in builtin_components()}
    for path in sorted(folder.glob(f"*{FILE_SUFFIX}")):
        try:
            component = load_component(path)
        except (ComponentError, OSError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        # A file copied in by hand could hold another name, or a built-in's: listing it would make two
        # components answer to one name, and removing it by name would miss the file.
        if component.name != path.stem or component.name in reserved:
            problems.append(f"{path.name}: holds component {component.name!r}; add it with `neuralforge "
                            "components add` (or the palette's Import) instead of copying it in")
            continue
        found.append(component)
    return found, problems


def all_components(folder: Path | None = None) -> list[Component]:
    return builtin_components() + user_components(folder)[0]


def find_component(name: str, folder: Path | None = None) -> Component:
    for component in all_components(folder):
        if component.name == name:
            return component
    names = ", ".join(c.name for c in all_components(folder))
    raise ComponentError(f"no component {name!r}; available: {names}")


def add_to_library(component: Component, folder: Path | None = None, *, replace: bool = False) -> Path:
    """Store ``component`` as ``NAME.nfcomp`` in the library; a built-in's name is refused."""
    if any(c.name == component.name for c in builtin_components()):
        raise ComponentError(f"{component.name!r} is the name of a built-in component; choose another")
    problem = name_problem(component.name)
    if problem:
        raise ComponentError(problem)
    folder = folder or library_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{component.name}{FILE_SUFFIX}"
    if path.exists() and not replace:
        raise ComponentError(f"a component named {component.name!r} exists; remove it first or replace it")
    return save_component(component, path)


def remove_from_library(name: str, folder: Path | None = None) -> Path:
    problem = name_problem(name)
    if problem:
        raise ComponentError(problem)
    if any(c.name == name for c in builtin_components()):
        raise ComponentError(f"{name!r} is built in and cannot be removed")
    path = (folder or library_dir()) / f"{name}{FILE_SUFFIX}"
    if not path.exists():
        raise ComponentError(f"no user component {name!r}")
    path.unlink()
    return path
