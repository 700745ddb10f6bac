"""A torch module → a catalog type and its settings, derived from the catalog itself.

Every catalog entry whose :class:`TorchCall` constructs a module class is a candidate for instances of that
exact class. Its settings are read from the instance where a param has the attribute's name (``out_channels``,
``kernel_size``, ``eps`` …) and searched for where not (``nhead`` lives on ``self_attn.num_heads``): each
unresolved param is tried over its choices and the values found on the module's attributes, keeping what makes
the module the catalog would construct agree with the real one on more points. A mapping counts only when they
agree on everything: every submodule's class, ``extra_repr``, plain attributes and parameter and buffer shapes,
compared on the meta device. No per-layer reader is written here, so a new catalog entry imports by itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, ParamError, ParamSpec
from neuralforge_desktop.core.ir.types import TensorSpec

_PLAIN = (bool, int, float, str, type(None))


def _plain(value: Any) -> bool:
    if isinstance(value, tuple | list):
        return all(_plain(v) for v in value)
    return isinstance(value, _PLAIN)


def config_of(module: Any) -> dict[str, Any]:
    """What a module's construction decided: per submodule its class, ``extra_repr``, plain attributes and
    parameter/buffer shapes."""
    found: dict[str, Any] = {}
    for name, sub in module.named_modules():
        attrs = {k: v for k, v in vars(sub).items()
                 if not k.startswith("_") and k != "training" and _plain(v)}
        found[name] = (type(sub).__name__, sub.extra_repr(),
                       tuple(sorted((k, repr(v)) for k, v in attrs.items())),
                       tuple((k, tuple(p.shape)) for k, p in sub.named_parameters(recurse=False)),
                       tuple((k, tuple(b.shape)) for k, b in sub.named_buffers(recurse=False)))
    return found


def _agreement(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    score = 0
    for key, value in a.items():
        other = b.get(key)
        if other is None:
            continue
        score += sum(1 for x, y in zip(value, other, strict=True) if x == y)
        score += len(set(value[2]) & set(other[2]))
    return score


def _candidates_by_class(cat: Catalog) -> dict[str, list[LayerDef]]:
    table: dict[str, list[LayerDef]] = {}
    for layer in cat:
        call = layer.torch
        if call is None or call.module is None:
            continue
        table.setdefault(call.module.removeprefix("nn."), []).append(layer)
    return table


def _attribute_values(module: Any) -> list[Any]:
    """Plain values found anywhere on the module: where an unreadable param's value is looked for."""
    values: list[Any] = []
    for tensor in [*module.parameters(), *module.buffers()]:
        values.extend(int(d) for d in tensor.shape)  # sizes only a weight's shape records (max_len)
    for sub in module.modules():
        for key, value in vars(sub).items():
            if not key.startswith("_") and key != "training" and isinstance(value, int | float | str | bool):
                values.append(value)
    return values


def _normalise(spec: ParamSpec, value: Any) -> Any:
    """A module attribute as the param's value: a tensor (``bias``) is True, None False, (3, 3) is 3."""
    if spec.kind == "bool" and not isinstance(value, bool):
        return None if value is None and spec.optional else value is not None
    if spec.kind in ("int", "float") and isinstance(value, tuple | list) and value and len(set(value)) == 1:
        return value[0]
    return value


def _read(layer: LayerDef, module: Any) -> tuple[dict[str, Any], list[ParamSpec]]:
    params = dict(layer.default_params())
    unresolved: list[ParamSpec] = []
    for spec in layer.params:
        if hasattr(module, spec.name):
            value = _normalise(spec, getattr(module, spec.name))
            try:
                params[spec.name] = spec.validate(value)
                continue
            except ParamError:
                pass
        unresolved.append(spec)
    return params, unresolved


def _tries(spec: ParamSpec, found: list[Any]) -> list[Any]:
    if spec.kind == "bool":
        return [True, False]
    if spec.kind == "choice":
        return list(spec.choices)
    if spec.kind == "int":
        return list(dict.fromkeys(v for v in [*range(1, 5), *found]
                                  if isinstance(v, int) and not isinstance(v, bool)))
    if spec.kind == "float":
        return list(dict.fromkeys(float(v) for v in found if isinstance(v, int | float) and not isinstance(v, bool)))
    if spec.kind == "str":
        return list(dict.fromkeys(v for v in found if isinstance(v, str)))
    return []


class ModuleMapper:
    """Maps module instances to ``(type, params)``; remembers what it built per configuration."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self.by_class = _candidates_by_class(cat)
        self._helpers: dict[str, Any] = {}

    def candidates(self, module: Any) -> list[LayerDef]:
        from torch import nn

        cls = type(module)
        found = []
        for layer in self.by_class.get(cls.__name__, []):
            assert layer.torch is not None and layer.torch.module is not None
            if layer.torch.module.startswith("nn."):
                if getattr(nn, cls.__name__, None) is cls:
                    found.append(layer)
            elif self._same_helper(layer, cls):
                found.append(layer)
        return found

    def _same_helper(self, layer: LayerDef, cls: type) -> bool:
        """A catalog helper class (``PositionalEmbedding``) counts when the user's class has its source."""
        assert layer.torch is not None
        try:
            mine = inspect.getsource(cls).strip()
        except (OSError, TypeError):
            return False
        return any(h.strip() == mine for h in layer.torch.helpers)

    def _factory(self, layer: LayerDef) -> Any:
        from torch import nn
        from torch.nn import functional

        assert layer.torch is not None and layer.torch.module is not None
        name = layer.torch.module
        if name.startswith("nn."):
            return getattr(nn, name.removeprefix("nn."))
        if name not in self._helpers:
            import math

            import torch

            ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": functional, "math": math}
            for helper in layer.torch.helpers:
                exec(compile(helper, "<neuralforge helper>", "exec"), ns)  # trusted: catalog source
            self._helpers[name] = ns[name]
        return self._helpers[name]

    def same(self, layer: LayerDef, params: dict[str, Any], inputs: Mapping[str, TensorSpec], module: Any) -> bool:
        """Whether ``params`` construct exactly ``module`` (a forward-only flag such as ``causal`` may vary)."""
        built = self._build(layer, params, inputs)
        return built is not None and config_of(built) == config_of(module)

    def _build(self, layer: LayerDef, params: dict[str, Any], inputs: Mapping[str, TensorSpec]) -> Any | None:
        import torch

        validated, errors = layer.validate_params(params)
        if errors:
            return None
        assert layer.torch is not None
        try:
            kwargs = layer.torch.init(validated, inputs) if layer.torch.init else {}
            with torch.device("meta"):
                return self._factory(layer)(**kwargs)
        except Exception:  # a combination the layer refuses: not this one
            return None

    def map(self, module: Any, inputs: Mapping[str, TensorSpec]) -> tuple[str, dict[str, Any]] | None:
        """The catalog type and params that construct exactly ``module`` given these inputs, or None."""
        want = config_of(module)
        for layer in self.candidates(module):
            params, unresolved = _read(layer, module)
            built = self._build(layer, params, inputs)
            if built is not None and config_of(built) == want:
                return layer.type, self._simplest(layer, params, inputs, want)
            found = _attribute_values(module)
            best = _agreement(want, config_of(built)) if built is not None else -1
            for _ in range(2):  # coordinate ascent: each unresolved param alone, twice over
                for spec in unresolved:
                    for value in _tries(spec, found):
                        trial = {**params, spec.name: value}
                        candidate = self._build(layer, trial, inputs)
                        if candidate is None:
                            continue
                        config = config_of(candidate)
                        if config == want:
                            return layer.type, self._simplest(layer, trial, inputs, want)
                        score = _agreement(want, config)
                        if score > best:
                            best, params = score, trial
        return None

    def _simplest(self, layer: LayerDef, params: dict[str, Any], inputs: Mapping[str, TensorSpec],
                  want: Mapping[str, Any]) -> dict[str, Any]:
        """The same module with as many params left at their defaults as give it (``MaxPool2d(2)``'s stride
        stays "same as the kernel", as written)."""
        defaults = layer.default_params()
        for spec in layer.params:
            if params.get(spec.name) == defaults.get(spec.name):
                continue
            trial = {**params, spec.name: defaults.get(spec.name)}
            built = self._build(layer, trial, inputs)
            if built is not None and config_of(built) == want:
                params = trial
        return plain_params(layer, params)


def plain_params(layer: LayerDef, params: dict[str, Any]) -> dict[str, Any]:
    """Params as plain JSON values, only those that differ from the defaults, written as a person would
    (``kernel_size`` 3 rather than [3, 3])."""
    validated, _ = layer.validate_params(params)
    defaults, _ = layer.validate_params(layer.default_params())
    out: dict[str, Any] = {}
    for spec in layer.params:
        value = validated[spec.name]
        if value == defaults.get(spec.name):
            continue
        if spec.kind == "int_or_tuple" and isinstance(value, tuple) and value and len(set(value)) == 1:
            out[spec.name] = value[0]
        else:
            out[spec.name] = list(value) if isinstance(value, tuple) else value
    return out
