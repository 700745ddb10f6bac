"""The one grammar for names that end up in generated Python source.

A graph file comes from anyone, and its node ids, tie parameters, symbols and port names become attribute
names, variables and comments in the generated module and the built model. Every one of them must be a
plain ASCII identifier of at most 64 characters that is not a Python keyword: then no value can close a
string, open a call or reach past the name it stands for. Serialisation checks this when a file is read,
the graph API when a node, tie or symbol is made, and the code generator again before it writes a line.

A tie also has to name a parameter tensor the layer really has (``weight``, ``bias``): the layer's
``param_sizes`` declares them. A layer that declares none (a plugin's) is checked when the model is built.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NoReturn

from neuralforge_desktop.core.errors import UserError

if TYPE_CHECKING:
    from neuralforge_desktop.core.catalog.registry import Catalog
    from neuralforge_desktop.core.ir.graph import Graph, Tie

MAX_LENGTH = 64
MAX_NAME_LENGTH = 200  # a graph's free-text name (the class name is derived from it)
_IDENTIFIER = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_LENGTH - 1}}}")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
GRAMMAR = f"letters, digits and underscores, not starting with a digit, at most {MAX_LENGTH} characters"


class IdentifierError(UserError):
    """A name that cannot stand in generated code; the message names the field and the bad value."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}" if where else reason)


def identifier_problem(value: object) -> str | None:
    """Why ``value`` is not a safe identifier, or ``None`` when it is one."""
    if not isinstance(value, str):
        return f"expected an identifier ({GRAMMAR}), got {_show(value)}"
    if not _IDENTIFIER.fullmatch(value):
        return f"expected an identifier ({GRAMMAR}), got {_show(value)}"
    if keyword.iskeyword(value):
        return f"{value!r} is a Python keyword and cannot be a name"
    return None


def is_identifier(value: object) -> bool:
    return identifier_problem(value) is None


def check_identifier(value: object, where: str) -> str:
    """``value`` itself when it is a safe identifier; otherwise :class:`IdentifierError` naming ``where``."""
    problem = identifier_problem(value)
    if problem is not None:
        raise IdentifierError(where, problem)
    assert isinstance(value, str)
    return value


def is_dotted_name(value: object) -> bool:
    """``nn.Conv2d`` or ``SqueezeExcite``: identifiers joined by dots (a catalog's module names)."""
    return isinstance(value, str) and _DOTTED.fullmatch(value) is not None and not any(
        keyword.iskeyword(part) for part in value.split("."))


def name_problem(value: object) -> str | None:
    """Why a graph's free-text name is unusable. Any text is safe in generated code (it is written as an
    escaped literal and reduced to letters and digits for the class name); only its length is bounded."""
    if not isinstance(value, str):
        return f"expected text, got {_show(value)}"
    if len(value) > MAX_NAME_LENGTH:
        return f"longer than {MAX_NAME_LENGTH} characters"
    return None


def tie_problems(graph: Graph, tie: Tie, cat: Catalog | None) -> Iterator[tuple[str, str]]:
    """``(field, reason)`` for each way ``tie`` cannot become ``self.a.param = self.b.source_param``."""
    for field, node_id, param in (("param", tie.node, tie.param), ("source_param", tie.source, tie.source_param)):
        problem = identifier_problem(param)
        if problem is not None:
            yield field, problem
            continue
        node = graph.nodes.get(node_id)
        if node is None or cat is None or node.unknown is not None or node.is_block:
            continue  # a missing node is the graph's error; an unknown type keeps what the file says; a
            # Block's module has only its copies' parameters, which building the model reports
        layer = cat.find(node.type)
        if layer is not None and layer.param_sizes and param not in layer.param_sizes:
            known = ", ".join(sorted(layer.param_sizes))
            yield field, f"{node.type} {node_id!r} has no parameter tensor {param!r} (it has {known})"


def graph_problems(graph: Graph, cat: Catalog | None = None, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(JSON path, reason)`` for every name in ``graph`` (not its blocks' bodies) that codegen cannot use.

    Paths follow the file layout (``nodes[2].id``, ``ties[0].param``) under ``prefix``.
    """
    def at(key: str) -> str:
        return f"{prefix}.{key}" if prefix else key

    problem = name_problem(graph.name)
    if problem is not None:
        yield at("name"), problem
    for name in graph.symbols:
        problem = identifier_problem(name)
        if problem is not None:
            yield f"{at('symbols')}.{name}", problem
    for i, node in enumerate(graph.nodes.values()):
        problem = identifier_problem(node.id)
        if problem is not None:
            yield f"{at('nodes')}[{i}].id", problem
    for edge in graph.edges:  # reported by its ends: the canonical edge order is not the file's
        for field in ("src_port", "dst_port"):
            problem = identifier_problem(getattr(edge, field))
            if problem is not None:
                yield f"{at('edges')}({edge.src} → {edge.dst}).{field}", problem
    for i, tie in enumerate(graph.ties):
        for field, reason in tie_problems(graph, tie, cat):
            yield f"{at('ties')}[{i}].{field}", reason


def check_graph(graph: Graph, cat: Catalog | None = None, prefix: str = "",
                fail: Callable[[str, str], NoReturn] | None = None) -> None:
    """Raise on the first name in ``graph`` that generated code cannot hold: through ``fail(where, reason)``
    when given (the file reader's error), else :class:`IdentifierError`."""
    for where, reason in graph_problems(graph, cat, prefix):
        if fail is not None:
            fail(where, reason)
        raise IdentifierError(where, reason)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
