"""Short texts a node shows on the canvas: the one-line parameter summary and the wrapped Concept Mode lines.

The summary of a layer is declared by its catalog entry (``LayerDef.summary``), so a plugin layer reads like a
built-in; only a block, whose summary depends on its body rather than its params, is described here. Kept free
of Qt so the wording can be tested and reused (the minimap tooltip, exported images).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Node


def param_summary(node: Node, layer: LayerDef | None, params: Mapping[str, Any] | None) -> str:
    """One line such as ``32 · 3×3`` for a Conv2d; empty when nothing differs from the defaults."""
    if node.type == BLOCK:
        body = node.body
        inner = 0 if body is None else sum(1 for n in body if n.type not in (INPUT, OUTPUT))
        return f"{inner} layer{'s' if inner != 1 else ''}"
    if layer is None or params is None:
        return ""
    return layer.summarize(params)


def wrap(text: str, width: float, measure: Callable[[str], float], max_lines: int) -> list[str]:
    """Greedy word wrap to ``width``; the last allowed line ends with an ellipsis when text remains."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for i, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if measure(candidate) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            current = ""
            rest = " ".join(words[i:])
            last = lines[-1]
            while last and measure(last + " …") > width:
                last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
            lines[-1] = (last + " …") if rest else last
            break
    if current:
        lines.append(current)
    return lines[:max_lines]
