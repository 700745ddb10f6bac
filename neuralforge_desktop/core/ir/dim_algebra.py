"""A canonical form for symbolic sizes, so that sizes that are equal compare equal.

Shape rules compute on symbolic dimensions (``N``, ``T``) and write the result as text (``"(T-3)//2+1"``).
Written naively, the same size can come out in many spellings: a 1×1 convolution over an axis of size ``N``
gives ``"(N+-1)//1+1"``, which is ``N``, and a graph that is valid would be refused as "not broadcastable".

Here an expression is read as a polynomial with integer coefficients in *atoms*: the symbols, and the parts
that cannot be simplified (a floor division or remainder that does not come out exact). Floor division and
remainder by a constant are simplified where that holds for every integer value of the symbols:
``(c·P + b) // c = P + b // c``, ``(c·P + b) % c = b % c``, and a common factor of the divisor and all
coefficients cancels. The polynomial is then printed in one fixed order (higher degree first, then by name,
the constant last): ``2*T+4``, ``N*T``, ``(T-3)//2+1``. The text stays an expression
:func:`~neuralforge_desktop.core.ir.types.evaluate_dim_expression` evaluates to the same value.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from functools import lru_cache

# monomial (sorted atom texts, repeated for powers; () for the constant) → coefficient
Poly = dict[tuple[str, ...], int]

MAX_CANONICAL_LENGTH = 1000  # longer texts are kept as they are (evaluation bounds them anyway)


class NotCanonical(ValueError):
    """Text that is not integer arithmetic on symbols: left as it is, evaluation reports it."""


@lru_cache(maxsize=4096)
def canonical_dim(text: str) -> int | str:
    """The canonical spelling of a dimension expression: an ``int`` when it is constant, a bare symbol when it
    is one, else the expression in canonical order. Text that is not a dimension expression is returned
    unchanged (evaluating it raises the error that names it)."""
    if text.isidentifier():
        return text
    if len(text) > MAX_CANONICAL_LENGTH:
        return text
    try:
        poly = _poly(ast.parse(text.strip(), mode="eval").body)
    except (SyntaxError, ValueError, RecursionError, MemoryError, ZeroDivisionError):
        return text
    return render(poly)


def add_dims(dims: Iterable[int | str]) -> int | str:
    """The canonical sum of dimensions (``T, T, 4`` → ``2*T+4``)."""
    total: Poly = {}
    for dim in dims:
        _add_into(total, _dim_poly(dim), 1)
    return render(total)


def multiply_dims(dims: Iterable[int | str]) -> int | str:
    """The canonical product of dimensions (``8, T`` → ``8*T``)."""
    product: Poly = {(): 1}
    for dim in dims:
        product = _mul(product, _dim_poly(dim))
    return render(product)


def _dim_poly(dim: int | str) -> Poly:
    if isinstance(dim, int):
        return {(): dim} if dim else {}
    if dim.isidentifier():
        return {(dim,): 1}
    try:
        return _poly(ast.parse(dim.strip(), mode="eval").body)
    except (SyntaxError, ValueError, RecursionError, MemoryError, ZeroDivisionError):
        return {(f"({dim})",): 1}  # opaque: kept as one factor


# -- reading ---------------------------------------------------------------------------------------------
def _poly(node: ast.expr) -> Poly:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return {(): node.value} if node.value else {}
    if isinstance(node, ast.Name):
        return {(node.id,): 1}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _poly(node.operand)
        return inner if isinstance(node.op, ast.UAdd) else {m: -c for m, c in inner.items()}
    if isinstance(node, ast.BinOp):
        left, right = _poly(node.left), _poly(node.right)
        if isinstance(node.op, ast.Add):
            out = dict(left)
            _add_into(out, right, 1)
            return out
        if isinstance(node.op, ast.Sub):
            out = dict(left)
            _add_into(out, right, -1)
            return out
        if isinstance(node.op, ast.Mult):
            return _mul(left, right)
        if isinstance(node.op, ast.FloorDiv):
            return _floordiv(left, right)
        if isinstance(node.op, ast.Mod):
            return _mod(left, right)
    raise NotCanonical(ast.dump(node))


def _add_into(target: Poly, other: Poly, sign: int) -> None:
    for mono, coeff in other.items():
        value = target.get(mono, 0) + sign * coeff
        if value:
            target[mono] = value
        else:
            target.pop(mono, None)


def _mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            _add_into(out, {tuple(sorted(ma + mb)): ca * cb}, 1)
    return out


def _constant(poly: Poly) -> int | None:
    if not poly:
        return 0
    if len(poly) == 1 and () in poly:
        return poly[()]
    return None


def _floordiv(num: Poly, den: Poly) -> Poly:
    divisor = _constant(den)
    if divisor == 0:
        raise ZeroDivisionError("division by zero in a dimension expression")
    if divisor is None or divisor < 0:
        return {(f"{_atom(num)}//{_atom(den)}",): 1}
    if divisor == 1:
        return dict(num)
    const = num.get((), 0)
    terms = {m: c for m, c in num.items() if m}
    if all(c % divisor == 0 for c in terms.values()):  # (d·P + b) // d = P + b // d, for every integer P
        out = {m: c // divisor for m, c in terms.items()}
        if const // divisor:
            out[()] = const // divisor
        return out
    common = math.gcd(divisor, const, *terms.values())
    if common > 1:  # (g·P) // (g·d) = P // d
        num = {m: c // common for m, c in num.items()}
        divisor //= common
        if divisor == 1:
            return num
    return {(f"{_atom(num)}//{divisor}",): 1}


def _mod(num: Poly, den: Poly) -> Poly:
    divisor = _constant(den)
    if divisor == 0:
        raise ZeroDivisionError("division by zero in a dimension expression")
    if divisor is not None and divisor > 0:
        if divisor == 1:
            return {}
        if all(c % divisor == 0 for m, c in num.items() if m):  # (d·P + b) % d = b % d
            rest = num.get((), 0) % divisor
            return {(): rest} if rest else {}
    return {(f"{_atom(num)}%{_atom(den)}",): 1}


# -- writing ---------------------------------------------------------------------------------------------
def _atom(poly: Poly) -> str:
    """A polynomial as one factor: a bare name or number, else in parentheses."""
    text = render(poly)
    if isinstance(text, int):
        return str(text) if text >= 0 else f"({text})"
    return text if text.isidentifier() else f"({text})"


def _order(mono: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    return (-len(mono), mono)


def render(poly: Poly) -> int | str:
    """The canonical text of a polynomial (an ``int`` when it is constant)."""
    const = poly.get((), 0)
    terms = sorted((m for m in poly if m), key=_order)
    if not terms:
        return const
    parts: list[str] = []
    for mono in terms:
        coeff = poly[mono]
        alone = len(mono) == 1 and coeff == 1  # "x//2" may stand bare in a sum; in a product or negated it may not
        factors = "*".join(f if f.isidentifier() or alone else f"({f})" for f in mono)
        magnitude = abs(coeff)
        body = factors if magnitude == 1 else f"{magnitude}*{factors}"
        parts.append(("-" if coeff < 0 else "+") + body)
    if const:
        parts.append(f"{const:+d}")
    text = "".join(parts)
    return text[1:] if text.startswith("+") else text
