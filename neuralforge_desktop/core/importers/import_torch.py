"""``neuralforge import``: a PyTorch model in the user's code → a graph file and its weights beside it.

The result is checked before anything is written: the model built from the graph (the same plan the code
generator prints), loaded strictly with the converted weights, must compute what the original module
computes on the same input. Nothing is written when any step fails.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.build.code_trust import trust
from neuralforge_desktop.core.catalog.custom_code import TYPE as CUSTOM
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.importers.custom import measure
from neuralforge_desktop.core.importers.source import (
    ImportSourceError,
    InputSpec,
    LoadedSource,
    example_inputs,
    load_source,
)
from neuralforge_desktop.core.importers.torch_fx import Converted, ImportContext, ModuleLevel, NotGraphable
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Graph
from neuralforge_desktop.core.ir.layout import layered_layout
from neuralforge_desktop.core.ir.serialize import save_graph

TOLERANCE = 1e-5


class ImportCheckError(UserError):
    """The imported graph does not reproduce the original module (a bug to report, with the figures)."""


@dataclass
class ImportReport:
    source: str
    nodes: int = 0
    mapped: int = 0
    blocks: int = 0
    folded: int = 0
    custom: list[tuple[str, str]] = field(default_factory=list)
    types: dict[str, int] = field(default_factory=dict)
    params: int = 0
    max_abs_diff: float = 0.0
    outputs: list[str] = field(default_factory=list)
    exported: list[tuple[str, str]] = field(default_factory=list)  # (module path, why torch.fx failed there)
    left_out: list[str] = field(default_factory=list)  # submodules never called on these inputs (weights dropped)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "nodes": self.nodes, "mapped": self.mapped, "blocks": self.blocks,
                "folded": self.folded, "custom": [{"node": n, "reason": r} for n, r in self.custom],
                "types": self.types, "params": self.params, "max_abs_diff": self.max_abs_diff,
                "outputs": self.outputs,
                "exported": [{"module": m or "(model)", "fx_failure": r} for m, r in self.exported],
                "left_out": self.left_out}

    def lines(self) -> list[str]:
        out = [f"imported {self.source}: {self.nodes} nodes ({self.mapped} mapped to catalog layers, "
               f"{self.blocks} blocks, {self.folded} folded into repeats, {len(self.custom)} custom code)",
               f"parameters: {self.params:,}; outputs match the original within {self.max_abs_diff:.2g}"]
        for node, reason in self.custom:
            out.append(f"  custom code '{node}': {reason}")
        for module, reason in self.exported:
            out.append(f"  traced with torch.export: '{module or 'the model'}' (torch.fx failed: {reason})")
        if self.left_out:
            out.append(f"  not called on these input shapes, so not in the graph (nor their weights): "
                       f"{', '.join(self.left_out)}")
        return out


@dataclass
class ImportResult:
    graph: Graph
    state: dict[str, Any]  # weights keyed for the generated code
    report: ImportReport
    sources: list[str]  # custom code the graph carries


def _example(specs: list[InputSpec], loaded: LoadedSource, batch: int = 2) -> list[Any]:
    import torch

    maker = getattr(loaded.namespace, "example_input", None)
    if callable(maker):
        value = maker()
        tensors = list(value) if isinstance(value, tuple | list) else [value]
        if [tuple(t.shape[1:]) for t in tensors][: len(specs)] == [s.shape for s in specs]:
            return tensors[: len(specs)]
    gen = torch.Generator().manual_seed(0)
    made = []
    for s in specs:
        dtype = getattr(torch, s.dtype)
        if dtype.is_floating_point:
            made.append(torch.randn((batch, *s.shape), generator=gen, dtype=dtype))
        elif dtype == torch.bool:
            made.append(torch.ones((batch, *s.shape), dtype=dtype))
        else:  # token ids: small ones are valid for any vocabulary
            made.append(torch.randint(0, 2, (batch, *s.shape), generator=gen, dtype=dtype))
    return made


def load_weights(model: Any, path: str | os.PathLike[str]) -> None:
    """Load a state_dict (safetensors, or a torch file read with ``weights_only=True``) strictly."""
    import torch

    file = Path(path)
    if not file.is_file():
        raise ImportSourceError(f"no weights file {file}")
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(file))
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ImportSourceError(f"{file.name} is not a readable state_dict: {exc}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    own = model.state_dict()
    for key, value in own.items():
        if key not in state:
            raise ImportSourceError(f"{file.name} has no weight {key!r} (the model needs {tuple(value.shape)})")
        if tuple(state[key].shape) != tuple(value.shape):
            raise ImportSourceError(f"{file.name}: {key!r} is {tuple(state[key].shape)}, the model's is "
                                    f"{tuple(value.shape)}")
    extra = [k for k in state if k not in own]
    if extra:
        raise ImportSourceError(f"{file.name} has {extra[0]!r}, which the model does not have")
    model.load_state_dict(state, strict=True)


def _whole_as_custom(loaded: LoadedSource, specs: list[InputSpec], inputs: list[Any], reason: str,
                     ctx: ImportContext) -> Converted:
    """The model as one custom-code node, when even its top level is no graph."""
    from neuralforge_desktop.core.importers import custom

    module = loaded.module
    cls = type(module)
    try:
        source = custom.closure_source(cls, vars(loaded.namespace))
        kwargs = custom.init_kwargs(module)
    except custom.NotReproducible as exc:
        raise ImportSourceError(f"{loaded.label} cannot be imported: {reason}; and it cannot be kept as code: "
                                f"{exc}") from None
    import json

    import torch

    with torch.no_grad():
        out = module(*inputs)
    outputs = list(out) if isinstance(out, tuple | list) else [out]
    converted = Converted(Graph(cls.__name__))
    graph = converted.graph
    for s in specs:
        graph.add_node(INPUT, s.name, {"shape": list(s.shape), "dtype": s.dtype})
    node_id = "model"
    graph.add_node(CUSTOM, node_id, {"class_name": cls.__name__, "source": source, "init_kwargs": json.dumps(kwargs),
                                     "num_inputs": len(specs), "num_outputs": len(outputs),
                                     "measured": json.dumps(measure(module, inputs, outputs))}, notes=reason)
    for i, s in enumerate(specs):
        graph.connect(s.name, "y", node_id, f"x{i}")
    for i in range(len(outputs)):
        graph.add_node(OUTPUT, f"output{i}" if len(outputs) > 1 else "output")
        graph.connect(node_id, f"y{i}", f"output{i}" if len(outputs) > 1 else "output", "x")
    converted.keymap[""] = node_id
    converted.custom.append((node_id, reason))
    converted.sources.append(source)
    layered_layout(graph)
    return converted


def _convert_state(original: dict[str, Any], keymap: dict[str, str],
                   aliases: list[tuple[str, str]] = (),  # type: ignore[assignment]
                   exported: list[str] = (), left_out: list[str] | None = None) -> dict[str, Any]:  # type: ignore[assignment]
    """The weights keyed for the generated code. A weight of a submodule that a level traced with torch.export
    never calls (a branch these input shapes do not take) is not in the graph: it goes to ``left_out``."""
    state: dict[str, Any] = {}
    for key, value in original.items():
        best = max((p for p in keymap if p == "" or key == p or key.startswith(p + ".")), key=len, default=None)
        if best is None and left_out is not None and any(p == "" or key.startswith(p + ".") for p in exported):
            left_out.append(key)
            continue
        if best is None:
            raise ImportCheckError(f"weight {key!r} belongs to no imported node")
        new = keymap[best] + key[len(best):] if best else f"{keymap[best]}.{key}"
        state[new] = value.detach().clone().contiguous()
    for node, first in aliases:  # a tied node's keys hold the same tensors (a strict load wants both)
        for key in [k for k in state if k.startswith(first + ".")]:
            state[node + key[len(first):]] = state[key].clone()  # equal values; files hold no shared tensors
    return state


def _tie_shared(graph: Graph, module: Any, keymap: dict[str, str]) -> None:
    """Parameters one module shares with another (a language-model head tied to its embedding) become ties,
    so the weight is counted and trained once."""
    seen: dict[int, tuple[str, str]] = {}
    for key, param in module.named_parameters(remove_duplicate=False):
        owner, _, name = key.rpartition(".")
        node = keymap.get(owner)
        if node is None or "." in node or node not in graph:
            continue
        first = seen.setdefault(id(param), (node, name))
        if first != (node, name) and not any(t.node == node and t.param == name for t in graph.ties):
            graph.tie(node, name, first[0], first[1])


def import_torch(source: str, inputs: list[InputSpec] | None = None, *, kwargs: dict[str, Any] | None = None,
                 weights: str | os.PathLike[str] | None = None, cat: Catalog | None = None,
                 check: bool = True) -> ImportResult:
    """Import ``source`` (``file.py:Name`` / ``package.module:Name``); see the module docstring. ``check=False``
    leaves out building the graph's model to compare outputs (the code view's Apply: no weights are written)."""
    import torch

    cat = cat or catalog()
    torch.manual_seed(0)  # the module's own init, the same on every import of the same code
    loaded = load_source(source, kwargs)
    if weights is not None:
        load_weights(loaded.module, weights)
    specs = example_inputs(loaded, list(inputs or []))
    tensors = _example(specs, loaded)
    recorded: dict[int, list[Any]] = {}
    expected = _run_original(loaded, specs, tensors, recorded)
    ctx = ImportContext(cat, vars(loaded.namespace))
    ctx.recorded = {key: calls[0] for key, calls in recorded.items() if len(calls) == 1}
    try:
        with torch.no_grad():
            level = ModuleLevel(ctx, loaded.module, type(loaded.module).__name__, tensors, "")
            converted = level.convert()
            _name_inputs(converted.graph, specs)
    except NotGraphable as exc:
        converted = _whole_as_custom(loaded, specs, tensors, str(exc), ctx)
    left_out: list[str] = []
    state = _convert_state(loaded.module.state_dict(), converted.keymap, converted.aliases,
                           [path for path, _ in converted.exported], left_out)
    graph = converted.graph
    _tie_shared(graph, loaded.module, converted.keymap)
    graph.meta["imported_from"] = loaded.label
    report = _report(loaded.label, converted, graph, loaded.module, left_out)
    result = ImportResult(graph, state, report, list(dict.fromkeys(converted.sources)))
    if check:
        report.max_abs_diff = verify(result, tensors, expected, cat)
    else:
        trust(result.sources)  # the user's own code, as in verify
    return result


def _run_original(loaded: LoadedSource, specs: list[InputSpec], tensors: list[Any],
                  recorded: dict[int, list[Any]]) -> Any:
    """The module's outputs on the example, and each submodule's outputs in ``recorded`` (by module);
    a failure names the innermost submodule that raised."""
    import torch

    names = {m: n for n, m in loaded.module.named_modules()}
    stack: list[str] = []
    def enter(module: Any, args: Any) -> None:
        stack.append(names[module])

    def leave(module: Any, args: Any, output: Any) -> None:
        stack.pop()
        recorded.setdefault(id(module), []).append(output)

    hooks = [m.register_forward_pre_hook(enter) for m in names]
    hooks += [m.register_forward_hook(leave) for m in names]
    try:
        with torch.no_grad():
            return loaded.module(*tensors)
    except Exception as exc:
        where = f" in submodule '{stack[-1]}' ({type(loaded.module.get_submodule(stack[-1])).__name__})" \
            if stack and stack[-1] else ""
        shapes = ", ".join(f"{s.name} (N, {', '.join(map(str, s.shape))})" for s in specs)
        raise ImportSourceError(f"{loaded.label}: forward fails on inputs {shapes}{where}: "
                                f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    finally:
        for hook in hooks:
            hook.remove()


def _name_inputs(graph: Graph, specs: list[InputSpec]) -> None:
    """Input nodes carry forward's argument names (fx may have suffixed them)."""
    for node, spec in zip(graph.input_nodes, specs, strict=False):
        if node.id != spec.name and spec.name not in graph:
            graph.rename_node(node.id, spec.name)


def _report(label: str, converted: Converted, graph: Graph, module: Any, left_out: list[str]) -> ImportReport:
    types: Counter[str] = Counter()
    nodes = blocks = mapped = 0
    for _, node in graph.walk():
        if node.type in (INPUT, OUTPUT):
            continue
        nodes += 1
        types[node.type] += 1
        blocks += node.is_block
        mapped += node.type not in (BLOCK, CUSTOM)
    unused = set(left_out)
    unique = {id(p): p for key, p in module.named_parameters() if key not in unused}
    custom = list(dict.fromkeys(converted.custom))
    modules = list(dict.fromkeys(key.rpartition(".")[0] for key in left_out))
    return ImportReport(label, nodes, mapped, blocks, converted.folded, custom, dict(types),
                        sum(p.numel() for p in unique.values()), exported=list(converted.exported),
                        left_out=modules)


def verify(result: ImportResult, inputs: list[Any], expected: Any, cat: Catalog) -> float:
    """Build the graph, load the converted weights strictly and compare outputs; returns max |Δ|."""
    import torch

    from neuralforge_desktop.core.build.torch_builder import build_model

    trust(result.sources)  # importing one's own code is consent to run what was imported from it
    with torch.device("meta"):  # no initialisation to pay for: every tensor is replaced by an imported one
        model = build_model(result.graph, cat=cat).eval()
    missing, unexpected = model.load_state_dict(result.state, strict=False, assign=True)
    if not missing and any(t.is_meta for t in [*model.parameters(), *model.buffers()]):
        model = build_model(result.graph, cat=cat).eval()  # a tensor no state_dict holds: build it for real
        missing, unexpected = model.load_state_dict(result.state, strict=False)
    if missing or unexpected:
        raise ImportCheckError(f"the imported graph's weights do not line up: missing {missing[:3]}, "
                               f"unexpected {unexpected[:3]}")
    with torch.no_grad():
        got = model(*inputs)
    want = [t for t in (expected if isinstance(expected, tuple | list) else [expected])]
    have = [t for t in (got if isinstance(got, tuple | list) else [got])]
    if len(want) != len(have):
        raise ImportCheckError(f"the imported graph returns {len(have)} tensors, the module {len(want)}")
    worst = 0.0
    for i, (a, b) in enumerate(zip(want, have, strict=True)):
        if tuple(a.shape) != tuple(b.shape):
            raise ImportCheckError(f"output {i}: the imported graph gives {tuple(b.shape)}, the module "
                                   f"{tuple(a.shape)}")
        if a.numel():
            worst = max(worst, float((a.double() - b.double()).abs().max()))
    scale = max((float(t.abs().max()) for t in want if t.numel() and t.is_floating_point()), default=1.0)
    if worst > TOLERANCE * max(1.0, scale):
        raise ImportCheckError(f"the imported graph's outputs differ from the module's by {worst:.3g} "
                               f"(tolerance {TOLERANCE:g}); please report this model")
    return worst


def write_import(result: ImportResult, out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``OUT.nfg`` and ``OUT.safetensors`` beside it (each atomically)."""
    from safetensors.torch import save

    from neuralforge_desktop.core.ir.atomic import write_bytes_atomic

    graph_path = Path(out)
    weights_path = graph_path.with_suffix(".safetensors")
    graph_path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(weights_path, save(result.state))
    save_graph(result.graph, graph_path)
    return graph_path, weights_path
