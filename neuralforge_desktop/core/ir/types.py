"""Tensor types that live on the graph's edges.

A dimension is either a concrete ``int`` or a symbol (``str``): ``"N"`` is the batch, other names (``"T"``
for a sequence length, say) are bound to concrete values only when a cost is asked for. A symbol may also
be a small expression that shape rules produce when they compute on a symbolic dimension, e.g.
``"(T-3)//2+1"``; such expressions are evaluated with the same bindings.
"""

from __future__ import annotations

import ast
import builtins
import enum
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.dim_algebra import canonical_dim

Dim = int | str

BATCH = "N"


class DType(enum.Enum):
    """Element types a port can carry (names match torch's)."""

    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int64 = "int64"
    int32 = "int32"
    bool = "bool"

    @property
    def itemsize(self) -> int:
        return _ITEMSIZE[self]

    # Looked up by value: hashing an enum member runs Python code, and shape inference asks this per port.
    @property
    def is_float(self) -> builtins.bool:  # plain `bool` here would name the member DType.bool
        return self._value_ in _FLOATS

    @property
    def is_int(self) -> builtins.bool:
        return self._value_ in _INTS


_FLOATS = frozenset({"float32", "float16", "bfloat16"})
_INTS = frozenset({"int64", "int32"})
_ITEMSIZE = {
    DType.float32: 4,
    DType.float16: 2,
    DType.bfloat16: 2,
    DType.int64: 8,
    DType.int32: 4,
    DType.bool: 1,
}


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """Shape and element type of one tensor. Shapes include the batch dimension."""

    shape: tuple[Dim, ...]
    dtype: DType = DType.float32

    @property
    def rank(self) -> int:
        return len(self.shape)

    def with_shape(self, shape: Sequence[Dim]) -> TensorSpec:
        return TensorSpec(tuple(shape), self.dtype)

    def __str__(self) -> str:
        return format_shape(self.shape)

    def numel(self, bindings: Mapping[str, int]) -> int:
        total = 1
        for d in self.shape:
            total *= resolve_dim(d, bindings)
        return total

    def nbytes(self, bindings: Mapping[str, int]) -> int:
        return self.numel(bindings) * self.dtype.itemsize


def format_shape(shape: Sequence[Dim], sep: str = "×") -> str:
    """``(N, 32, 14, 14)`` → ``N×32×14×14``; a scalar prints as ``scalar``."""
    if not shape:
        return "scalar"
    return sep.join(str(d) for d in shape)


def describe_shape(shape: Sequence[Dim]) -> str:
    """Tuple-like text for error messages: ``(N, 128)``."""
    return "(" + ", ".join(str(d) for d in shape) + ")"


_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
MAX_EXPRESSION_LENGTH = 1000
MAX_DIM_VALUE = 2**62  # far beyond any real tensor; keeps a hostile expression from building huge integers


class DimExpressionError(UserError, ValueError):
    """A dimension expression that is not plain integer arithmetic on numbers and bound symbols."""


def resolve_dim(dim: Dim, bindings: Mapping[str, int]) -> int:
    """Concrete value of a dimension under ``bindings`` (symbol → int).

    Raises ``KeyError`` naming the symbol when it is not bound and :class:`DimExpressionError` (a
    ``ValueError``) naming the expression when it is anything but ``+ - * // %`` on integers and symbols.
    """
    if isinstance(dim, int):
        return dim
    if dim in bindings:
        return int(bindings[dim])
    return evaluate_dim_expression(dim, bindings)


def evaluate_dim_expression(text: str, bindings: Mapping[str, int]) -> int:
    """Evaluate ``"(T-3)//2+1"`` by walking its syntax tree: nothing in it is ever executed as code."""
    if not isinstance(text, str) or len(text) > MAX_EXPRESSION_LENGTH:
        raise DimExpressionError(f"not a dimension expression: {str(text)[:60]!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise DimExpressionError(f"not a dimension expression: {text!r}") from None
    try:
        return _evaluate(tree.body, text, bindings)
    except RecursionError:
        raise DimExpressionError(f"dimension expression {text[:60]!r} is nested too deeply") from None


def _evaluate(node: ast.expr, text: str, bindings: Mapping[str, int]) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        value: int = node.value
    elif isinstance(node, ast.Name):
        if node.id not in bindings:
            raise KeyError(f"dimension symbol {node.id!r} has no value")
        value = int(bindings[node.id])
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _evaluate(node.operand, text, bindings)
        value = -operand if isinstance(node.op, ast.USub) else operand
    elif isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left = _evaluate(node.left, text, bindings)
        right = _evaluate(node.right, text, bindings)
        if isinstance(node.op, ast.FloorDiv | ast.Mod) and right == 0:
            raise DimExpressionError(f"dimension expression {text!r} divides by zero")
        value = _OPERATORS[type(node.op)](left, right)
    else:
        raise DimExpressionError(f"not a dimension expression: {text!r} (only integers, symbols, + - * // % "
                                 f"and parentheses)")
    if abs(value) > MAX_DIM_VALUE:
        raise DimExpressionError(f"dimension expression {text!r} is too large")
    return value


_OPERATORS: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


def dim_expr(dim: Dim, template: str) -> Dim:
    """Apply an integer formula to a dimension; ``template`` uses ``{}`` for the dimension.

    Concrete dimensions are computed; symbolic ones become an expression in canonical form
    (:mod:`.dim_algebra`), so equal sizes are spelled the same.
    """
    if isinstance(dim, int):
        return evaluate_dim_expression(template.format(dim), {})
    inner = dim if _NAME.fullmatch(dim) else f"({dim})"
    return canonical_dim(template.format(inner))


def dims_equal(a: Dim, b: Dim) -> bool:
    """Whether two dimensions are the same size for every value of their symbols that the canonical form
    can tell (``(N+-1)//1+1`` is ``N``)."""
    if a == b:
        return True
    if isinstance(a, int) and isinstance(b, int):
        return False
    return canonical_dim(str(a)) == canonical_dim(str(b))
