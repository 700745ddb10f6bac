"""Which dataset field each data Input of a graph reads, checked before anything is trained.

A dataset has one or more named input fields (``DatasetBundle.fields()``: images have one, text datasets have
``input_ids``, ``token_type_ids`` and ``attention_mask``, an npz archive one per key it was asked for). The
rules, in order:

1. An Input reads the field named like its id (or, failing that, like its label).
2. A graph with a single data Input reads the dataset's main field when no field has its name: a one-input
   graph trains on any dataset as it always has (Input ``image`` on MNIST, ``tokens`` on IMDB's ids).
3. With several data Inputs, every one must be named after a field; fields that no Input reads stay unused.
4. Each Input's shape (batch excluded) must match its field's: a number the same number, a name such as T
   the field's size (the same name the same size in every Input); an integer Input needs integer data.

Every problem is reported, each naming the Input and the field. The Train panel shows them before a run
(:func:`training_problems`) and ``setup.bind_dataset`` refuses a run with them, so both say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.catalog.node_params import is_data_input, node_params
from neuralforge_desktop.core.ir.graph import Graph, Node
from neuralforge_desktop.core.ir.types import BATCH
from neuralforge_desktop.core.training.datasets.types import InputField


@dataclass
class Binding:
    """The outcome of matching: the field each data Input reads (by node id, in the graph's input order), the
    sizes the Inputs' symbols take, and the fields no Input reads."""

    fields: dict[str, str] = field(default_factory=dict)
    symbols: dict[str, int] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)


def dataset_fields(dataset: Any) -> list[InputField] | None:
    """The named inputs of a loaded dataset (a DatasetBundle) or of a listed one (a DatasetInfo, whose dtype
    may be unknown); None when nothing is known about them (no dataset, or a path not yet loaded)."""
    if dataset is None:
        return None
    if callable(getattr(dataset, "fields", None)):
        return list(dataset.fields())
    listed = getattr(dataset, "fields", None)
    if listed:
        return list(listed)
    shape = getattr(dataset, "input_shape", None)
    return None if shape is None else [InputField("inputs", tuple(shape))]


def data_inputs(graph: Graph) -> list[Node]:
    return [n for n in graph.input_nodes if is_data_input(n)]


def match_inputs(graph: Graph, fields: Sequence[InputField] | None, dataset_name: str
                 ) -> tuple[Binding, list[str]]:
    """(binding, problems) for feeding ``graph`` from a dataset with these ``fields``; problems empty if it fits."""
    inputs = data_inputs(graph)
    binding = Binding()
    if not inputs:
        return binding, ["training needs a data Input to feed the model; this graph has none"]
    if fields is None:
        return binding, []
    by_name = {f.name: f for f in fields}
    problems: list[str] = []
    bound_by: dict[str, str] = {}  # symbol → the Input that bound it
    for node in inputs:
        found = by_name.get(node.id) or (by_name.get(node.label) if node.label else None)
        if found is None and len(inputs) == 1:
            found = fields[0]
        if found is None:
            names = ", ".join(f.describe() for f in fields)
            problems.append(f"Input '{node.id}' has no dataset field of its name: with several data Inputs each "
                            f"reads the field named like it, and dataset {dataset_name} has {names}; rename the "
                            f"Input to the field it should read")
            continue
        binding.fields[node.id] = found.name
        problems += _check_field(node, found, dataset_name, len(fields) > 1, binding.symbols, bound_by)
    binding.unused = [f.name for f in fields if f.name not in binding.fields.values()]
    return binding, problems


def _check_field(node: Node, data: InputField, dataset_name: str, named: bool, symbols: dict[str, int],
                 bound_by: dict[str, str]) -> list[str]:
    params = node_params(node)
    declared = list(params.shape)
    actual = list(data.shape)
    where = f" in field '{data.name}'" if named else ""
    mismatch = (f"Input '{node.id}' has shape {tuple(declared)} but dataset {dataset_name} gives {tuple(actual)} "
                f"per example{where}")
    if len(declared) != len(actual):
        return [mismatch]
    problems = []
    for want, got in zip(declared, actual, strict=True):
        if isinstance(want, str) and want != BATCH:
            if want in symbols and symbols[want] != int(got):
                problems.append(f"Input '{node.id}' needs {want} = {got} for dataset {dataset_name}{where}, but "
                                f"Input '{bound_by[want]}' needs {want} = {symbols[want]}")
            else:
                symbols[want] = int(got)
                bound_by[want] = node.id
        elif want != got:
            return [mismatch]
    if data.dtype is not None and (params.dtype in ("int64", "int32")) != (data.dtype == "int64"):
        problems.append(f"Input '{node.id}' is {params.dtype} but dataset {dataset_name} gives {data.dtype}{where}")
    return problems


def training_problems(graph: Graph, shapes: Any, dataset: Any = None) -> list[str]:
    """Why ``graph`` cannot be trained on ``dataset`` (a DatasetInfo or a loaded bundle; None: not chosen
    yet), one message each; empty if it can. Shape errors come first, each naming its node."""
    problems = [f"{d.node}: {d.message}" if d.node else d.message for d in shapes.errors]
    if problems:
        return problems
    name = getattr(dataset, "name", "")
    return match_inputs(graph, dataset_fields(dataset), name)[1]
