"""Memo tables for what a layer definition implies, keyed by the definition object itself.

Neither the type name nor ``id(layer)`` may key such a cache: a type name can be registered again with a new
definition (a plugin reloaded, a layer replaced), and an ``id`` is handed to a new object once the old one is
collected, so both would serve an answer computed for another definition. A :class:`LayerMemo` holds one table
per live ``LayerDef`` (found by identity, confirmed through a weak reference), drops it when the definition is
collected, and keeps at most ``limit`` entries per table, evicting the oldest.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from neuralforge_desktop.core.catalog.spec import LayerDef

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LayerMemo(Generic[K, V]):
    """``memo.get(layer, key, compute)``: ``compute()`` once per (definition, key) while the definition lives."""

    def __init__(self, limit: int = 256) -> None:
        if limit < 1:
            raise ValueError("a memo table needs room for at least one entry")
        self.limit = limit
        # LayerDef compares by value and holds unhashable fields, so tables are found by id and the weak
        # reference confirms the id still names the same object.
        self._tables: dict[int, tuple[weakref.ref[LayerDef], dict[K, V]]] = {}

    def get(self, layer: LayerDef, key: K, compute: Callable[[], V]) -> V:
        table = self._table(layer)
        try:
            return table[key]
        except KeyError:
            pass
        value = compute()
        if len(table) >= self.limit:
            del table[next(iter(table))]  # dicts keep insertion order: the oldest goes first
        table[key] = value
        return value

    def layers(self) -> int:
        """How many definitions have a table (only live ones: a collected definition's table is gone)."""
        return len(self._tables)

    def entries(self, layer: LayerDef) -> int:
        entry = self._tables.get(id(layer))
        return len(entry[1]) if entry is not None and entry[0]() is layer else 0

    def clear(self) -> None:
        self._tables.clear()

    def _table(self, layer: LayerDef) -> dict[K, V]:
        ident = id(layer)
        entry = self._tables.get(ident)
        if entry is not None and entry[0]() is layer:
            return entry[1]
        table: dict[K, V] = {}
        self._tables[ident] = (weakref.ref(layer, self._forgetter(ident)), table)
        return table

    def _forgetter(self, ident: int) -> Callable[[weakref.ref[LayerDef]], None]:
        tables = self._tables

        def forget(ref: weakref.ref[LayerDef]) -> None:
            entry = tables.get(ident)
            if entry is not None and entry[0] is ref:  # the id may already name a newer definition's table
                del tables[ident]

        return forget


_TOKENS: LayerMemo[None, int] = LayerMemo(limit=1)
_NEXT_TOKEN = itertools.count(1)


def layer_token(layer: LayerDef) -> int:
    """A number that names ``layer`` (by identity) and is never given to another definition in this process,
    for keys of caches that must not take the unhashable definition itself."""
    return _TOKENS.get(layer, None, lambda: next(_NEXT_TOKEN))
