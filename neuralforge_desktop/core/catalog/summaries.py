"""Pieces of the one-line parameter summaries that catalog entries declare (``LayerDef.summary``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dims(value: Any) -> str:
    """``(3, 3)`` → ``3×3``; ``()`` → ``scalar``."""
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value) if value else "scalar"
    return str(value)


def number(value: Any) -> str:
    """A param value as a summary shows it: ``0.5``, not ``0.5000``; tuples as :func:`dims`."""
    if isinstance(value, float):
        return f"{value:g}"
    return dims(value) if isinstance(value, list | tuple) else str(value)


def _same(values: Any) -> bool:
    return isinstance(values, list | tuple) and len(set(values)) == 1


def window(p: Mapping[str, Any]) -> str:
    """``3×3 /2``: the kernel, and the stride when it is neither 1 nor the kernel itself."""
    k = p.get("kernel_size")
    if k is None:
        return ""
    text = dims(k)
    stride = p.get("stride")
    # A stride equal to the kernel is pooling's default and says nothing new.
    if stride is not None and stride != k and not (_same(stride) and stride[0] == 1):
        text += f" /{stride[0] if _same(stride) else dims(stride)}"
    return text


def filters(p: Mapping[str, Any]) -> str:
    """``32 · 3×3``: a convolution's output channels and window."""
    return " · ".join(x for x in (str(p.get("out_channels", "")), window(p)) if x)


def dropout_rate(p: Mapping[str, Any]) -> str:
    return f"p = {number(p.get('p'))}"
