"""The catalog: every known layer type, built-ins first, then plugins (entry point group below)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import replace
from importlib.metadata import entry_points

from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.errors import UserError

PLUGIN_GROUP = "neuralforge.layers"
_FAMILIES = (
    "io",
    "core",
    "tensor_ops",
    "selection",
    "conv",
    "pooling",
    "norm",
    "activation",
    "dropout",
    "recurrent",
    "embedding",
    "attention",
    "resize",
    "losses",
    "custom_code",
    "block",
)
log = logging.getLogger(__name__)


class UnknownLayerError(KeyError, UserError):
    """A layer type no catalog entry (built-in or installed plugin) defines: the user installs the plugin."""

    def __init__(self, type_name: str) -> None:
        super().__init__(type_name)
        self.type_name = type_name

    def __str__(self) -> str:
        return f"unknown layer type {self.type_name!r} (is the plugin that defines it installed?)"


class Catalog:
    def __init__(self) -> None:
        self._defs: dict[str, LayerDef] = {}
        self.plugin_errors: list[str] = []

    def register(self, layer: LayerDef, *, replace: bool = False) -> LayerDef:
        if layer.type in self._defs and not replace:
            raise ValueError(f"layer type {layer.type!r} is already registered")
        self._defs[layer.type] = layer
        return layer

    def register_all(self, layers: Iterable[LayerDef]) -> None:
        for layer in layers:
            self.register(layer)

    def unregister(self, type_name: str) -> None:
        self._defs.pop(type_name, None)

    def get(self, type_name: str) -> LayerDef:
        try:
            return self._defs[type_name]
        except KeyError:
            raise UnknownLayerError(type_name) from None

    def find(self, type_name: str) -> LayerDef | None:
        return self._defs.get(type_name)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._defs

    def __iter__(self) -> Iterator[LayerDef]:
        return iter(self._defs.values())

    def __len__(self) -> int:
        return len(self._defs)

    def types(self) -> list[str]:
        return list(self._defs)

    def categories(self) -> dict[str, list[LayerDef]]:
        result: dict[str, list[LayerDef]] = {}
        for layer in self._defs.values():
            result.setdefault(layer.category, []).append(layer)
        return result

    def load_plugins(self) -> None:
        """Register layers from installed plugins; a broken plugin is reported, never fatal."""
        for ep in entry_points(group=PLUGIN_GROUP):
            try:
                provided = ep.load()
                layers = provided() if callable(provided) else provided
                source = ep.dist.name if ep.dist else ep.name
                for layer in layers:
                    # A copy stamped with its source: the plugin's own (frozen) definition stays as it wrote it,
                    # and everything in NeuralForge reads layers through the catalog, so all see the stamp.
                    self.register(layer if layer.plugin else replace(layer, plugin=source))
            except Exception as exc:  # a plugin must not take the app down
                message = f"plugin {ep.name!r} failed to load: {exc}"
                self.plugin_errors.append(message)
                log.warning(message)


_CATALOG: Catalog | None = None


def builtin_layers() -> list[LayerDef]:
    layers: list[LayerDef] = []
    for family in _FAMILIES:
        module = importlib.import_module(f"neuralforge_desktop.core.catalog.{family}")
        layers.extend(module.LAYERS)
    return layers


def catalog() -> Catalog:
    """The process-wide catalog: built-ins, installed plugins and the user's custom layers, loaded on first use."""
    global _CATALOG
    if _CATALOG is None:
        cat = Catalog()
        cat.register_all(builtin_layers())
        cat.load_plugins()
        from neuralforge_desktop.core.catalog import user_layers

        user_layers.load_into(cat)  # the user's own layers (manifests only: no torch import at start)
        _CATALOG = cat
    return _CATALOG


def get_layer(type_name: str) -> LayerDef:
    return catalog().get(type_name)
