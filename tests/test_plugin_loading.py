"""Loading plugin layers through entry points: each is stamped with its source without being mutated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, replace
from typing import Any

import pytest

from neuralforge_desktop.core.catalog import registry
from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.catalog.tensor_ops import CONCAT


@dataclass
class _Dist:
    name: str


@dataclass
class _EntryPoint:
    name: str
    provides: Callable[[], Any]
    dist: _Dist | None

    def load(self) -> Callable[[], Any]:
        return self.provides


def _install(monkeypatch: pytest.MonkeyPatch, *points: _EntryPoint) -> None:
    monkeypatch.setattr(registry, "entry_points", lambda group: list(points) if group == registry.PLUGIN_GROUP else [])


def test_plugin_layers_are_stamped_with_their_distribution_and_left_as_written(monkeypatch) -> None:
    unstamped = replace(CONCAT, type="Glue")
    stamped = replace(CONCAT, type="Weld", plugin="welding-kit")
    _install(monkeypatch, _EntryPoint("tools", lambda: [unstamped, stamped], _Dist("glue-kit")))
    cat = Catalog()
    cat.load_plugins()
    assert cat.plugin_errors == []
    assert cat.get("Glue").plugin == "glue-kit"
    assert unstamped.plugin == ""  # the plugin's own definition is not mutated
    assert cat.get("Weld") is stamped  # a layer that names its plugin is registered as it is
    with pytest.raises(FrozenInstanceError):
        cat.get("Glue").plugin = "other"  # type: ignore[misc]


def test_a_second_catalog_stamps_its_own_copy_and_a_broken_plugin_is_reported(monkeypatch) -> None:
    layer = replace(CONCAT, type="Glue")

    def broken() -> list[Any]:
        raise RuntimeError("no layers today")

    _install(monkeypatch, _EntryPoint("glue", lambda: [layer], None), _EntryPoint("bad", broken, None))
    first, second = Catalog(), Catalog()
    first.load_plugins()
    second.load_plugins()
    assert first.get("Glue").plugin == second.get("Glue").plugin == "glue"  # no dist: the entry point's name
    assert first.plugin_errors == ["plugin 'bad' failed to load: no layers today"]
