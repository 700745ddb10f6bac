"""What the builder agrees to compile: a forward statement made of names it knows and nothing else.

The model builder runs each planned forward statement as a small compiled function, the same text the code
generator prints. The text comes from catalog templates (project or plugin code) filled with variable and
attribute names derived from a graph file and with parameter literals. Names are checked against the
identifier grammar when the file is read and again when the model is planned; this is the last look before
``compile``: the statement must parse, and its syntax tree may hold only expressions, assignments and the
block loop, only names the step reads, writes or the namespace provides, and no ``_private`` or dunder
attribute (``x.__class__`` is how escapes from a restricted ``exec`` begin).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from neuralforge_desktop.core.codegen.plan import GeneratedCodeError

# Builtins a template may call; the rest of builtins (open, __import__, eval, getattr …) are not names here.
ALLOWED_BUILTINS = frozenset({"len", "range", "tuple", "list", "int", "float", "min", "max", "sum", "slice"})
_STATEMENTS = (ast.Module, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.For, ast.Pass)
_EXPRESSIONS = (
    ast.Name, ast.Attribute, ast.Call, ast.keyword, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Constant,
    ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Starred,
    ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.expr_context,
)


def check_statement(source: str, known: Iterable[str], where: str) -> ast.Module:
    """Parse ``source`` and refuse anything but plain tensor code over ``known`` names (plus what it assigns).

    Raises :class:`GeneratedCodeError`: text that fails here got past the identifier checks, which is a bug.
    """
    try:
        tree = ast.parse(source, filename=f"<{where}>")
    except (SyntaxError, ValueError) as exc:
        raise GeneratedCodeError(f"the forward statement of {where} does not parse: {exc}") from exc
    allowed = set(known) | ALLOWED_BUILTINS
    allowed |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(tree):
        if not isinstance(node, _STATEMENTS + _EXPRESSIONS):
            raise GeneratedCodeError(f"the forward statement of {where} holds a {type(node).__name__}: {source!r}")
        if isinstance(node, ast.Name) and node.id not in allowed:
            raise GeneratedCodeError(f"the forward statement of {where} uses an unknown name {node.id!r}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise GeneratedCodeError(f"the forward statement of {where} reaches a private attribute "
                                     f"{node.attr!r}")
    return tree
