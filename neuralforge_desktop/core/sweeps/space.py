"""The search space of a sweep, read from YAML.

A key without a dot is a training setting named as ``train``'s option (``lr``, ``batch_size``, ``optimizer``,
…); a key ``node.field`` is a graph setting (``conv1.out_channels``, ``block1.repeat``, ``dropout.p``). A list
is a categorical choice; ``{uniform: [lo, hi]}``, ``{log_uniform: [lo, hi]}`` and ``{int: [lo, hi]}`` are
ranges. Every mistake is a :class:`SpaceError` naming the file's line, the key and what is valid instead."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.training.config import ConfigError, TrainConfig

RANGE_KINDS = ("uniform", "log_uniform", "int")
# Settings a sweep keeps fixed for every trial: what data it sees and how it is measured, where and how it
# runs; not how it learns (trials measured on different data could not be compared).
FIXED_ONLY = frozenset({"dataset", "dataset_options", "metrics", "trust_code", "procs", "init", "device",
                        "threads", "checkpoint_minutes", "log_every", "val_fraction", "limit", "normalize",
                        "top_k", "diagnostics"})
MAX_GRID_POINTS_PER_RANGE = 1000


class SpaceError(UserError):
    """A search space that cannot be used; the message names the line and key."""


@dataclass(frozen=True)
class Dimension:
    """One searched setting. ``node``/``field`` are set for a graph setting, ``None`` for a training one."""

    name: str
    kind: str  # "choice" or one of RANGE_KINDS
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    node: str | None = None
    field: str | None = None

    @property
    def is_graph(self) -> bool:
        return self.node is not None

    def to_json(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"name": self.name, "kind": "choice", "choices": list(self.choices)}
        return {"name": self.name, "kind": self.kind, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple[Dimension, ...]
    raw: dict[str, Any]  # the mapping as read, saved with the sweep so a resume rebuilds the same space

    @property
    def graph_dimensions(self) -> list[Dimension]:
        return [d for d in self.dimensions if d.is_graph]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Ask an Optuna trial for a value of every dimension, by the dimension's name."""
        values: dict[str, Any] = {}
        for d in self.dimensions:
            if d.kind == "choice":
                values[d.name] = trial.suggest_categorical(d.name, list(d.choices))
            elif d.kind == "int":
                values[d.name] = trial.suggest_int(d.name, int(d.low), int(d.high))
            else:
                values[d.name] = trial.suggest_float(d.name, d.low, d.high, log=d.kind == "log_uniform")
        return values

    def grid(self) -> dict[str, list[Any]]:
        """The points of a grid search: every choice, every integer of an int range; a float range has none."""
        grid: dict[str, list[Any]] = {}
        for d in self.dimensions:
            if d.kind == "choice":
                grid[d.name] = list(d.choices)
            elif d.kind == "int" and d.high - d.low < MAX_GRID_POINTS_PER_RANGE:
                grid[d.name] = list(range(int(d.low), int(d.high) + 1))
            else:
                raise SpaceError(f"{d.name}: a grid search needs a list of values, not a {d.kind} range; give "
                                 f"the values to try as a list, or use --sampler random or tpe")
        return grid

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values())

    @staticmethod
    def split(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(training settings, graph settings) of one trial's values."""
        train = {k: v for k, v in values.items() if "." not in k}
        graph = {k: v for k, v in values.items() if "." in k}
        return train, graph


def parse_space_text(text: str, graph: Graph, base: TrainConfig, source: str = "space") -> SearchSpace:
    """Read a YAML search space and check every key against ``graph`` and the training settings."""
    import yaml  # type: ignore[import-untyped]

    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpaceError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict) or not raw:
        raise SpaceError(f"{source}: expected a mapping of settings to search, e.g. `lr: {{log_uniform: "
                         f"[1e-4, 1e-2]}}` or `conv1.out_channels: [16, 32]`")
    lines = {str(key.value): key.start_mark.line + 1 for key, _ in getattr(document, "value", [])}
    dimensions = []
    for key, value in raw.items():
        where = f"{source}:{lines.get(str(key), '?')}: {key}"
        dimensions.append(_dimension(str(key), value, where, graph, base))
    return SearchSpace(tuple(dimensions), {str(k): v for k, v in raw.items()})


def space_from_json(raw: Mapping[str, Any], graph: Graph, base: TrainConfig) -> SearchSpace:
    """The space saved with a sweep (already checked once; checked again against the saved graph)."""
    dims = tuple(_dimension(str(k), v, str(k), graph, base) for k, v in raw.items())
    return SearchSpace(dims, dict(raw))


def _dimension(key: str, value: Any, where: str, graph: Graph, base: TrainConfig) -> Dimension:
    kind, choices, low, high = _values(value, where)
    if "." in key:
        node_id, _, field_name = key.partition(".")
        _check_graph_key(node_id, field_name, where, graph)
        dim = Dimension(key, kind, choices, low, high, node=node_id, field=field_name)
        _check_graph_values(dim, where, graph)
    else:
        _check_train_key(key, where)
        dim = Dimension(key, kind, choices, low, high)
        _check_train_values(dim, where, base)
    return dim


def _values(value: Any, where: str) -> tuple[str, tuple[Any, ...], float, float]:
    hint = "give a list of choices or one of {uniform: [lo, hi]}, {log_uniform: [lo, hi]}, {int: [lo, hi]}"
    if isinstance(value, list):
        if not value:
            raise SpaceError(f"{where}: an empty list: nothing to choose from")
        bad = [v for v in value if v is not None and not isinstance(v, bool | int | float | str)]
        if bad:
            raise SpaceError(f"{where}: a choice must be a number, a string, true/false or null, got {bad[0]!r}")
        return "choice", tuple(_yaml_number(v) for v in value), 0.0, 0.0
    if not isinstance(value, dict) or len(value) != 1:
        raise SpaceError(f"{where}: {hint}, got {value!r}")
    (kind, bounds), = value.items()
    if isinstance(bounds, list):
        bounds = [_yaml_number(b) for b in bounds]
    if kind not in RANGE_KINDS:
        raise SpaceError(f"{where}: unknown range {kind!r}; {hint}")
    if (not isinstance(bounds, list) or len(bounds) != 2
            or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)):
        raise SpaceError(f"{where}: {kind} takes two numbers [lo, hi], got {bounds!r}")
    low, high = float(bounds[0]), float(bounds[1])
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SpaceError(f"{where}: {kind} bounds must be finite, got {bounds!r}")
    if kind == "int" and not all(float(b).is_integer() for b in bounds):
        raise SpaceError(f"{where}: int takes two whole numbers, got {bounds!r}")
    if low >= high:
        raise SpaceError(f"{where}: an empty range [{bounds[0]}, {bounds[1]}]: lo must be below hi")
    if kind == "log_uniform" and low <= 0:
        raise SpaceError(f"{where}: log_uniform needs lo above 0, got {bounds[0]}")
    return kind, (), low, high


def _yaml_number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` (no dot) as a string: such a string is the number it spells."""
    if isinstance(value, str) and any(c.isdigit() for c in value):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "e" not in value.lower() and "." not in value else number
    return value


def _check_train_key(key: str, where: str) -> None:
    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in FIXED_ONLY]
    if key in FIXED_ONLY:
        raise SpaceError(f"{where}: {key} is fixed for every trial (give it as the option of `sweep`); "
                         f"searchable training settings: {', '.join(names)}")
    if key not in names:
        raise SpaceError(f"{where}: no training setting {key!r} (a graph setting is written node.field); "
                         f"training settings: {', '.join(names)}")


def _check_train_values(dim: Dimension, where: str, base: TrainConfig) -> None:
    """Every choice and both ends of a range must make a valid TrainConfig (a typed value the config takes)."""
    wanted = type(getattr(base, dim.name))
    samples: Sequence[Any] = dim.choices if dim.kind == "choice" else (dim.low, dim.high)
    for value in samples:
        if dim.kind == "int" or (wanted is int and dim.kind == "choice" and isinstance(value, float)
                                 and value.is_integer()):
            value = int(value)
        try:
            dataclasses.replace(base, **{dim.name: value}).validate()
        except ConfigError as exc:
            raise SpaceError(f"{where}: {value!r} is not a valid value ({exc})") from None
        except TypeError:
            raise SpaceError(f"{where}: {value!r} is not a valid value") from None


def _check_graph_key(node_id: str, field_name: str, where: str, graph: Graph) -> None:
    from neuralforge_desktop.core.catalog.registry import catalog

    if node_id not in graph.nodes:
        raise SpaceError(f"{where}: no node {node_id!r} in {graph.name}; nodes: {', '.join(graph.nodes)}")
    node = graph.nodes[node_id]
    fields = _fields_of(node, catalog())
    if field_name not in fields:
        raise SpaceError(f"{where}: {node.type} {node_id!r} has no field {field_name!r}; fields: "
                         f"{', '.join(fields) or 'none'}")


def _fields_of(node: Any, cat: Any) -> list[str]:
    if node.is_block:
        return ["repeat"]
    layer = cat.find(node.type)
    return [] if layer is None else [spec.name for spec in layer.params]


def _check_graph_values(dim: Dimension, where: str, graph: Graph) -> None:
    """Each choice (or both ends of a range) must pass the layer's own parameter check."""
    from neuralforge_desktop.core.catalog.registry import catalog

    assert dim.node is not None and dim.field is not None
    node = graph.nodes[dim.node]
    samples: Sequence[Any] = dim.choices if dim.kind == "choice" else (dim.low, dim.high)
    for value in samples:
        if dim.kind == "int":
            value = int(value)
        if node.is_block:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SpaceError(f"{where}: repeat must be a whole number ≥ 1, got {value!r}")
            continue
        layer = catalog().get(node.type)
        _params, errors = layer.validate_params({**node.params, dim.field: value})
        mine = [e for e in errors if e.field == dim.field] or errors
        if mine:
            raise SpaceError(f"{where}: {value!r} is not valid for {node.type} {dim.node!r} ({mine[0].message})")
