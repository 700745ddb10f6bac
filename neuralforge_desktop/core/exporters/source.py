"""What an export starts from: a graph and its weights, which come from a run in the store (its best checkpoint),
a safetensors file, or nowhere (the seeded initial weights, seed 0, as training starts from).

:func:`resolve_source` finds the weights and checks what can be checked without torch (the run and its
checkpoint exist, the file is a complete safetensors file), so a bad ``--run`` or ``--weights`` is refused before
a worker starts. :func:`load_model` builds the model training builds and loads the weights, naming the first
tensor that does not fit. :func:`dataset_samples` gives real inputs from the run's dataset for verification.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph

SEED = 0  # the seeded initial weights: what `neuralforge train --seed 0` starts from
MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit on the JSON header


@dataclass(frozen=True)
class WeightsSource:
    """Where the weights come from; ``path`` is None for the seeded initial weights."""

    kind: str  # "run" | "weights" | "init"
    path: Path | None = None
    run_id: str | None = None
    checksum: str | None = None  # the run's reproducibility checksum
    config: dict[str, Any] | None = None  # the run's training settings (its dataset, for real samples)
    tensors: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)  # name → (dtype, shape)
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path) if self.path else None, "run_id": self.run_id,
                "checksum": self.checksum, "description": self.description}


def resolve_source(*, run_id: str | None = None, weights: str | os.PathLike[str] | None = None,
                   store: str | os.PathLike[str] | None = None) -> WeightsSource:
    if run_id is not None and weights is not None:
        raise UserError("give the weights either as a run (--run) or as a file (--weights), not both")
    if weights is not None:
        path = Path(weights).expanduser()
        return WeightsSource("weights", path, tensors=read_header(path), description=f"weights file {path}")
    if run_id is not None:
        return _run_source(run_id, store)
    return WeightsSource("init", description=f"the seeded initial weights (seed {SEED}), not trained")


def _run_source(run_id: str, store_path: str | os.PathLike[str] | None) -> WeightsSource:
    from neuralforge_desktop.core.store.entities import NotFoundError
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.checkpoints import latest_checkpoint
    from neuralforge_desktop.core.training.runner import runs_root

    with Store(store_path) as store:
        try:
            run = store.get_run(run_id)
        except NotFoundError:
            raise UserError(f"no run {run_id!r} in {store.path}") from None
        folder = runs_root(Path(store.path)) / run.id
    best = folder / "checkpoints" / "best" / "best.safetensors"
    if best.is_file():
        path, which = best, "best checkpoint"
    else:  # a run stopped inside its first epoch has no best yet, but a checkpoint to resume from
        tag = latest_checkpoint(folder / "checkpoints") if (folder / "checkpoints").is_dir() else None
        if tag is None:
            raise UserError(f"run {run.id} ({run.status}) has no checkpoint in {folder / 'checkpoints'}: it "
                            f"saved no weights to export; train it (or resume it) past an epoch first")
        path, which = folder / "checkpoints" / f"{tag}.safetensors", f"checkpoint {tag}"
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None  # no real samples to verify on; the export itself does not need them
    return WeightsSource("run", path, run.id, run.checksum, config if isinstance(config, dict) else None,
                         read_header(path), f"run {run.id} ({which})")


def read_header(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The tensors a safetensors file holds (name → dtype, shape), after checking that the file is one and is
    complete: the header's byte ranges must cover the data that follows it exactly."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UserError(f"{path} is not a file: give a .safetensors weights file")
        with open(path, "rb") as handle:
            head = handle.read(8)
            length = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
                raise UserError(f"{path}: not a safetensors weights file (no valid header)")
            header = json.loads(handle.read(length).decode("utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such weights file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise UserError(f"{path}: not a safetensors weights file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise UserError(f"{path}: not a safetensors weights file (its header is not a table of tensors)")
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape = str(entry["dtype"]), tuple(int(d) for d in entry["shape"])
            start, stop = (int(v) for v in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            start, stop = 0, -1
        if not 0 <= start <= stop:
            raise UserError(f"{path}: not a safetensors weights file (tensor {name!r} is described wrongly)")
        end = max(end, stop)
        tensors[name] = (dtype, shape)
    data = size - 8 - length
    if end > data:
        raise UserError(f"{path}: truncated: its header describes {end:,} bytes of tensors but the file holds "
                        f"{data:,}")
    if end < data:
        raise UserError(f"{path}: damaged: {data - end:,} bytes follow the tensors its header describes")
    return tensors


# -- in the export worker (torch) ----------------------------------------------------------------------------
def load_model(graph: Graph, source: WeightsSource, shapes: Any = None) -> Any:
    """The model training builds for ``graph`` (eval mode), with the source's weights loaded."""
    import torch

    from neuralforge_desktop.core.build.torch_builder import build_model

    torch.manual_seed(SEED)  # as training seeds before it builds: the seeded initial weights are a run's first
    model = build_model(graph, shapes).eval()
    if source.path is not None:
        _check_fit(graph, model, source)
        _load(model, source.path)
    return model


def _expected(model: Any) -> dict[str, tuple[int, ...]]:
    """The tensors a weights file for ``model`` holds: its state, tied tensors once (as checkpoints save them)."""
    seen: set[int] = set()
    result = {}
    for key, value in model.state_dict().items():
        ptr = value.data_ptr() if value.numel() else id(value)
        if ptr in seen:
            continue
        seen.add(ptr)
        result[key] = tuple(value.shape)
    return result


def _check_fit(graph: Graph, model: Any, source: WeightsSource) -> None:
    assert source.path is not None
    expected, held = _expected(model), source.tensors
    aliases = set(model.state_dict()) - set(expected)
    where = f"{source.path}: weights of another graph than '{graph.name}'"
    for key, shape in expected.items():
        if key not in held:
            raise UserError(f"{where}: it has no tensor '{key}' (the graph's is {_shape(shape)})")
        if held[key][1] != shape:
            raise UserError(f"{where}: '{key}' is {_shape(held[key][1])} in the file but {_shape(shape)} in the graph")
    for key, (_, shape) in held.items():
        if key not in expected and key not in aliases:
            raise UserError(f"{where}: the file holds '{key}' {_shape(shape)}, which the graph has no place for")


def _load(model: Any, path: Path) -> None:
    from safetensors.torch import load_file

    try:
        tensors = load_file(os.fspath(path), device="cpu")
    except Exception as exc:  # safetensors reports a damaged file in several ways; all mean "not usable"
        raise UserError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0][:200]})") from None
    model.load_state_dict(tensors, strict=False)  # names and shapes checked above; tied aliases load once


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


# -- real samples --------------------------------------------------------------------------------------------
@dataclass
class Samples:
    """Real inputs for verification (numpy, one array per model input, in input order)."""

    description: str
    arrays: list[Any]
    class_names: list[str] | None = None  # a classification dataset's labels, one per class


def dataset_samples(graph: Graph, input_ids: list[str], *, config: dict[str, Any] | None = None,
                    spec: str | None = None, limit: int = 32) -> Samples | None:
    """Up to ``limit`` examples of the run's dataset (with its settings) or of the dataset ``spec``, taken from
    its validation split (else test, else train); binds the graph's symbols (T) to the data's sizes, as
    training does. None when neither is given."""
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.datasets import load_dataset
    from neuralforge_desktop.core.training.setup import bind_dataset

    if spec is not None:
        bundle = load_dataset(spec, seed=SEED)
    elif config is not None:
        cfg = TrainConfig.from_json(config)
        bundle = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction, seed=cfg.seed, normalize=cfg.normalize,
                              limit=cfg.limit, options=dict(cfg.dataset_options))
    else:
        return None
    binding = bind_dataset(graph, bundle)
    split, which = bundle.val, "validation"
    if not len(split):
        split, which = (bundle.test, "test") if bundle.test is not None and len(bundle.test) else (bundle.train,
                                                                                                  "training")
    fields = [binding.fields[i] for i in input_ids]
    arrays = [(split.x if f == bundle.input_name else split.extra[f])[:limit] for f in fields]
    count = len(arrays[0]) if arrays else 0
    names = [str(n) for n in bundle.class_names] if bundle.task == "classification" and bundle.class_names else None
    return Samples(f"{count} {which} examples of {bundle.name}", arrays, names)
