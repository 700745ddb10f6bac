"""Live per-node previews: one real sample through the model, and a small picture of every node's output.

``compute_previews(graph)`` builds the model with the project's one builder
(:func:`~neuralforge_desktop.core.build.torch_builder.build_model`, freshly seeded weights, or a run's
checkpoint: :func:`run_weights`),
feeds it one example — the first example of a dataset when one is named, loads offline and fits the graph's
data Inputs, else seeded random input of the Inputs' shapes — and summarises what each node wrote:

* an image-like output (rank 4, ``N×C×H×W`` with maps of at least 2×2): the first sample's channels (up to
  :data:`MAX_TILES`), each scaled to its own range and shrunk to at most :data:`TILE_PX` pixels a side, as
  ``uint8`` tiles;
* anything else (a ``C×1×1`` map after global pooling is a vector too): a histogram of its values;

with the shape and the min / mean / max of the whole output either way. Summaries are taken inside the
forward pass, as each step writes its value, by wrapping the built model's steps; so a node that is a plain
statement (``Flatten``, an addition) gets one as well as a node with a submodule, and the forward pass still
frees each activation once no later step reads it.

Nothing here knows about Qt or threads; torch is imported only when previews are computed. The editor runs
this in a background thread (see ``ui/canvas/previews.py``, which says why a thread and not a process).
"""

from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.graph import OUTPUT, Graph

MAX_TILES = 16  # channels shown of a feature map: a 4×4 grid still reads on a card
TILE_PX = 32  # a tile's longest side; larger maps are averaged down (previews are thumbnails)
BINS = 24  # histogram bars
MAX_NODES = 200  # above this, previews stay off unless asked for: the model is rebuilt on every edit
SEED = 0


@dataclass(frozen=True)
class NodePreview:
    """What one node's output looks like, small: either ``tiles`` (a feature map) or ``counts`` (a histogram)."""

    node_id: str
    shape: tuple[int, ...]
    dtype: str
    minimum: float
    mean: float
    maximum: float
    tiles: np.ndarray | None = None  # uint8, (tiles, height, width): one per channel of the first sample
    channels: int = 0  # channels of the map (tiles shows the first MAX_TILES of them)
    counts: tuple[int, ...] = ()  # histogram over [minimum, maximum] in BINS equal bins
    nonfinite: int = 0  # NaN and ±inf values, left out of the statistics and the histogram

    @property
    def kind(self) -> str:
        return "maps" if self.tiles is not None else "histogram"

    def describe(self) -> str:
        """One line for a tooltip: shape, then min / mean / max."""
        dims = "×".join(str(d) for d in self.shape) or "scalar"
        text = f"{dims} {self.dtype} · min {_num(self.minimum)} · mean {_num(self.mean)} · max {_num(self.maximum)}"
        if self.tiles is not None and self.channels > len(self.tiles):
            text += f" · first {len(self.tiles)} of {self.channels} channels shown"
        if self.nonfinite:
            text += f" · {self.nonfinite} NaN/inf"
        return text


@dataclass
class PreviewResult:
    """Previews by node id; ``source`` says what went in; ``error`` why there are none (a graph that cannot
    run yet is normal while editing, so it is reported, not raised)."""

    previews: dict[str, NodePreview] = field(default_factory=dict)
    source: str = ""
    error: str | None = None
    seconds: float = 0.0


def _num(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


# -- the sample ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _dataset_example(spec: str) -> tuple[str, tuple[tuple[str, Any], ...], tuple[Any, ...]]:
    """(name, fields, arrays) of the first training example of dataset ``spec``, normalised as training sees
    it; loaded once per spec (a few hundred ms for mnist-10k), so edits after the first cost nothing here."""
    from neuralforge_desktop.core.training.datasets import load_dataset

    bundle = load_dataset(spec, limit=8, seed=SEED)
    split = bundle.train
    fields = tuple(bundle.fields())
    arrays = [np.asarray(split.x[:1])]
    for f in fields[1:]:
        arrays.append(np.asarray(split.extra[f.name][:1]))
    return bundle.name, tuple((f.name, f) for f in fields), tuple(arrays)


def dataset_inputs(graph: Graph, spec: str, input_names: list[str]) -> tuple[list[Any], str] | str:
    """One example of dataset ``spec`` for the model's inputs ``input_names`` (in argument order) and a note
    saying which; or, when it cannot be used, the reason (a string)."""
    import torch

    from neuralforge_desktop.core.training.binding import match_inputs
    from neuralforge_desktop.core.training.datasets import DatasetError

    try:
        name, named_fields, arrays = _dataset_example(spec)
    except (DatasetError, OSError, ValueError) as exc:
        return f"dataset {spec} could not be read ({exc})"
    fields = [f for _, f in named_fields]
    binding, problems = match_inputs(graph, fields, name)
    if problems:
        return problems[0]
    by_field = {f.name: array for f, array in zip(fields, arrays, strict=True)}
    missing = [name for name in input_names if name not in binding.fields]
    if missing:
        return f"no dataset field for Input '{missing[0]}'"
    tensors = [torch.as_tensor(by_field[binding.fields[name]]) for name in input_names]
    return tensors, f"first example of {name}"


def random_inputs(graph: Graph, shapes: ShapeInference) -> list[Any]:
    """Seeded random input of the data Inputs' shapes, batch 1 (the same helper the latency profiler uses)."""
    from neuralforge_desktop.core.measure.profile_graph import example_inputs

    return example_inputs(graph, shapes, 1, "cpu")


def run_weights(run_id: str, store: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The weights file of a run (its best checkpoint, else its latest) and a description of it, found as
    ``neuralforge export --run`` finds them. Raises ``UserError`` when the run saved none."""
    from neuralforge_desktop.core.exporters.source import resolve_source

    source = resolve_source(run_id=run_id, store=store)
    assert source.path is not None
    return source.path, source.description


def load_fitting_weights(model: Any, path: str | os.PathLike[str]) -> str:
    """Load the tensors of the safetensors file ``path`` that fit ``model`` by name and shape (a graph edited
    since the run keeps the weights of the layers it did not change); returns a note saying how many."""
    from safetensors.torch import load_file

    try:
        weights = load_file(os.fspath(path), device="cpu")
    except Exception as exc:  # safetensors reports a damaged file in several ways; all mean "not usable"
        raise ValueError(f"{path}: not a readable safetensors file ({exc})") from None
    own = model.state_dict()
    fitting = {k: v for k, v in weights.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    model.load_state_dict(fitting, strict=False)
    return f"{len(fitting)} of {len(own)} tensors"


# -- summaries -------------------------------------------------------------------------------------------
def summarize(node_id: str, value: Any, max_tiles: int = MAX_TILES, tile_px: int = TILE_PX,
              bins: int = BINS) -> NodePreview | None:
    """The preview of one output tensor, or None for a value that is not a tensor (a tuple of states)."""
    import torch

    if not isinstance(value, torch.Tensor):
        return None
    data = value.detach()
    if data.is_complex():
        data = data.abs()
    data = data.to("cpu", torch.float64)
    finite = torch.isfinite(data)
    values = data[finite]
    nonfinite = data.numel() - values.numel()
    if values.numel():
        lo, mean, hi = float(values.min()), float(values.mean()), float(values.max())
    else:
        lo = mean = hi = math.nan
    tiles = None
    counts: tuple[int, ...] = ()
    channels = 0
    if data.dim() == 4 and data.shape[0] >= 1 and data.shape[2] >= 2 and data.shape[3] >= 2:
        channels = int(data.shape[1])
        tiles = _tiles(data[0, :max_tiles], tile_px)
    elif values.numel():
        span = hi - lo
        if span > 0:
            counts = tuple(int(c) for c in torch.histc(values, bins=bins, min=lo, max=hi).tolist())
        else:  # one value throughout: a single full bar in the middle
            counts = tuple(values.numel() if i == bins // 2 else 0 for i in range(bins))
    return NodePreview(node_id, tuple(int(d) for d in value.shape), str(value.dtype).removeprefix("torch."),
                       lo, mean, hi, tiles, channels, counts, int(nonfinite))


def _tiles(maps: Any, tile_px: int) -> np.ndarray:
    """``C×H×W`` float maps → ``uint8`` tiles, each scaled to its own range (a feature map's pattern matters,
    not its scale: the tooltip has the numbers) and averaged down to fit ``tile_px``."""
    import torch
    from torch.nn import functional as F

    maps = torch.nan_to_num(maps, nan=0.0, posinf=0.0, neginf=0.0)
    height, width = maps.shape[-2:]
    scale = tile_px / max(height, width)
    if scale < 1:
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        maps = F.adaptive_avg_pool2d(maps[None], size)[0]
    flat = maps.reshape(maps.shape[0], -1)
    lo = flat.min(dim=1).values[:, None, None]
    hi = flat.max(dim=1).values[:, None, None]
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    scaled = ((maps - lo) / span * 255.0).round().clamp(0, 255)
    return scaled.to(torch.uint8).numpy().copy()


# -- running the model -----------------------------------------------------------------------------------
def compute_previews(graph: Graph, *, dataset: str | None = None, weights: str | os.PathLike[str] | None = None,
                     weights_note: str = "", seed: int = SEED) -> PreviewResult:
    """Previews of every node the model computes (Inputs and Outputs included), for one sample of
    ``dataset`` (or seeded random input), with the seeded initial weights or those of the safetensors file
    ``weights`` that still fit (``weights_note`` names it in the result's ``source``). ``graph`` is only
    read; the editor hands over a copy, because this runs in another thread while the user goes on editing."""
    started = time.perf_counter()
    shapes = ShapeInference(graph).run()
    if shapes.errors:
        return PreviewResult(error=f"the graph has {len(shapes.errors)} error(s): {shapes.errors[0].message}",
                             seconds=time.perf_counter() - started)
    import torch

    from neuralforge_desktop.core.build.torch_builder import build_model
    from neuralforge_desktop.core.errors import UserError

    try:
        torch.manual_seed(seed)  # the same draws as a seeded training run's initial weights
        model = build_model(graph, shapes)
        loaded = load_fitting_weights(model, weights) if weights is not None else ""
        model.eval()  # dropout off, batch norm on running statistics: what inference shows
        inputs: list[Any] | None = None
        source = "random input (seed 0)"
        if dataset:
            found = dataset_inputs(graph, dataset, list(model.input_names))
            if isinstance(found, str):
                source = f"random input (seed 0): {found}"
            else:
                inputs, source = found
        if inputs is None:
            inputs = random_inputs(graph, shapes)
        previews: dict[str, NodePreview] = {}
        for node_id, tensor in zip(model.input_names, inputs, strict=False):
            _keep(previews, summarize(node_id, tensor))
        steps = model._steps
        model._steps = [(_recording(fn, node_id, previews), reads, writes)
                        for (fn, reads, writes), node_id in zip(steps, model._step_nodes, strict=True)]
        with torch.no_grad():
            model(*inputs)
        model._steps = steps
    except (UserError, RuntimeError, ValueError, TypeError, IndexError) as exc:
        # An edit in progress (mismatched sizes a shape rule cannot see, a dataset the graph does not fit)
        # must not break the editor: the canvas shows the reason instead of thumbnails.
        return PreviewResult(error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
    if loaded:
        source += f"; weights of {weights_note or weights} ({loaded})"
    for node in graph.nodes_of_type(OUTPUT):  # an Output shows what reaches it
        edge = next(iter(graph.incoming(node.id).values()), None)
        if edge is not None and edge.src in previews:
            previews[node.id] = _renamed(previews[edge.src], node.id)
    return PreviewResult(previews, source, None, time.perf_counter() - started)


def _recording(fn: Any, node_id: str, previews: dict[str, NodePreview]) -> Any:
    """A builder step that also summarises the first value it writes (a node's main output)."""
    def step(module: Any, *args: Any) -> Any:
        results = fn(module, *args)
        if results:
            _keep(previews, summarize(node_id, results[0]))
        return results
    return step


def _keep(previews: dict[str, NodePreview], preview: NodePreview | None) -> None:
    if preview is not None:
        previews[preview.node_id] = preview


def _renamed(preview: NodePreview, node_id: str) -> NodePreview:
    from dataclasses import replace

    return replace(preview, node_id=node_id)
