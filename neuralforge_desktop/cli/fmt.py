"""Human-readable numbers and tables for terminal output."""

from __future__ import annotations

import shutil
from collections.abc import Sequence


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """1 → '1 run', 3 → '3 runs' (``nouns`` for irregular plurals)."""
    return f"{n:,} {noun if n == 1 else (nouns or noun + 's')}"


def terminal_width() -> int:
    """The terminal's width in columns (80 when output is not a terminal and COLUMNS is unset)."""
    return shutil.get_terminal_size((80, 24)).columns


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in '…' when cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


def count(n: float) -> str:
    """11689512 → '11.69 M'."""
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:g}"


def nbytes(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def millis(ms: float) -> str:
    return f"{ms * 1000:.0f} µs" if ms < 1 else f"{ms:.2f} ms"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    rule = "  ".join("─" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])
