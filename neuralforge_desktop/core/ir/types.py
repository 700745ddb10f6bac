"""Tensor types that live on the graph's edges.

A dimension is either a concrete ``int`` or a symbol (``str``): ``"N"`` is the batch, other names (``"T"``
for a sequence length, say) are bound to concrete values only when a cost is asked for. A symbol may also
be a small expression that shape rules produce when they compute on a symbolic dimension, e.g.
``"(T-3)//2+1"``; such expressions are evaluated with the same bindings.
"""

from __future__ import annotations

import builtins
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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


_SAFE_EXPR = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$|^[A-Za-z_0-9+\-*/() ]+$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def resolve_dim(dim: Dim, bindings: Mapping[str, int]) -> int:
    """Concrete value of a dimension under ``bindings`` (symbol → int).

    Raises ``KeyError`` naming the symbol when it is not bound.
    """
    if isinstance(dim, int):
        return dim
    if dim in bindings:
        return int(bindings[dim])
    if not _SAFE_EXPR.match(dim):
        raise ValueError(f"not a dimension expression: {dim!r}")
    names = set(_NAME.findall(dim))
    missing = sorted(n for n in names if n not in bindings)
    if missing:
        raise KeyError(f"dimension symbol {missing[0]!r} has no value")
    value = eval(dim, {"__builtins__": {}}, {n: int(bindings[n]) for n in names})  # safe: pattern-checked above
    return int(value)


def dim_expr(dim: Dim, template: str) -> Dim:
    """Apply an integer formula to a dimension; ``template`` uses ``{}`` for the dimension.

    Concrete dimensions are computed; symbolic ones become an expression string.
    """
    if isinstance(dim, int):
        return int(eval(template.format(dim), {"__builtins__": {}}, {}))  # safe: our own formula
    inner = dim if _NAME.fullmatch(dim) else f"({dim})"
    return template.format(inner)


def dims_equal(a: Dim, b: Dim) -> bool:
    return a == b
