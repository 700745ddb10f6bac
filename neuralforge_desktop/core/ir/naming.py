"""One place that turns free text into safe, unique Python identifiers."""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Iterable

_INVALID = re.compile(r"[^0-9a-zA-Z_]+")
_RESERVED = frozenset({"self", "torch", "nn", "F", "math", "super", "input", "type", "id", "object", "list"})


@functools.lru_cache(maxsize=65536)  # pure, and called for every name of every code generation
def sanitize(text: str, fallback: str = "v", reserved: frozenset[str] = _RESERVED) -> str:
    """``"conv 1-a"`` → ``"conv_1_a"``; never empty, never a keyword, never starting with a digit."""
    name = _INVALID.sub("_", text).strip("_") or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or name in reserved:
        name = f"{name}_"
    return name


def camel_case(text: str) -> str:
    """``"mnist-cnn"`` → ``"MnistCnn"``."""
    parts = [p for p in _INVALID.split(text) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return name if not name[0].isdigit() else f"Model{name}"


class Namespace:
    """Hands out identifiers: sanitised, de-duplicated, stable for the same request key."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken: set[str] = set(taken)
        self._by_key: dict[object, str] = {}

    def name(self, text: str, key: object | None = None) -> str:
        if key is not None and key in self._by_key:
            return self._by_key[key]
        base = sanitize(text)
        candidate = base
        n = 1
        while candidate in self._taken:
            candidate = f"{base}_{n}"
            n += 1
        self._taken.add(candidate)
        if key is not None:
            self._by_key[key] = candidate
        return candidate

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def __contains__(self, name: str) -> bool:
        return name in self._taken


def unique_id(base: str, taken: Iterable[str] | set[str]) -> str:
    """``base`` itself if free, else ``base_1``, ``base_2`` …; ids are identifiers so they name modules."""
    existing = taken if isinstance(taken, set | dict) else set(taken)
    # Node ids only need to be identifiers ("input" is fine); code generation renames what would shadow.
    base = sanitize(base.lower(), "node", reserved=frozenset())
    if base not in existing:
        return base
    n = 1
    while f"{base}_{n}" in existing:
        n += 1
    return f"{base}_{n}"
