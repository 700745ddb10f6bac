"""Which lines of the shown code an edit changed: worked out away from the editor, applied to it cheaply.

Re-setting thousands of highlighted lines costs far more than generating them, so the code view swaps only the
lines that differ. Finding them (a line diff of up to ~18,000 lines) is itself slow, and needs no Qt, so it
runs with the code generation in the background.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

Hunk = tuple[int, int, int, int]  # old lines [i1, i2) become new lines [j1, j2)


@dataclass(frozen=True)
class ShownCode:
    """Generated code (or why there is none), with the hunks turning ``base`` (the text shown when the code was
    requested) into it; no hunks when replacing the whole text is simpler."""

    result: object  # a GeneratedCode, or the exception explaining why there is no code
    base: str
    hunks: list[Hunk]


def changed_line_hunks(old: str, new: str) -> list[Hunk]:
    """The hunks turning ``old`` into ``new`` line by line; none for a large rewrite or one that touches the
    last line (where replacing everything is simpler)."""
    if not old or old == new:
        return []
    before, after = old.split("\n"), new.split("\n")
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    hunks = [(i1, i2, j1, j2) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]
    changed = sum(max(i2 - i1, j2 - j1) for i1, i2, j1, j2 in hunks)
    if not hunks or changed > len(after) // 4 or hunks[-1][1] >= len(before) or hunks[-1][3] >= len(after):
        return []
    return hunks


def shown_code(result: object, base: str) -> ShownCode:
    """``result`` with the hunks from ``base`` to its source (none for an error)."""
    source = getattr(result, "source", None)
    return ShownCode(result, base, changed_line_hunks(base, source) if isinstance(source, str) else [])
