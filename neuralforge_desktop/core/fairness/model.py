"""The model under evaluation: a run's best checkpoint (run by torch) or a registry version ``NAME@V`` (its
verified ONNX file, run by onnxruntime), with what it needs to read a table the way its training did: the
feature columns in training order, the training split's normalisation and the class names.

Both come from the run's training settings (``config.json``): the table's loader options name the features
(else the training table's numeric columns other than the target), and the training dataset is loaded again
with the run's seed and split to get the very mean/std training normalised with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.errors import UserError


@dataclass
class ScoringModel:
    """``probabilities(x)`` takes raw feature rows (columns in ``features`` order) and returns N×classes."""

    ref: str
    run_id: str
    description: str
    features: list[str]
    target: str  # the training table's label column
    class_names: list[str] | None
    mean: np.ndarray | None
    std: np.ndarray | None
    run_logits: Callable[[np.ndarray], np.ndarray] = field(repr=False)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.mean is not None and self.std is not None:
            x = ((x - self.mean) / self.std).astype(np.float32)
        logits = np.asarray(self.run_logits(x), dtype=np.float64)
        if logits.ndim != 2 or logits.shape[1] < 2:
            raise UserError(f"{self.ref}: the model returns shape {logits.shape}; fairness needs a classifier "
                            "with one score per class")
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


def _is_registry_ref(ref: str) -> bool:
    return "@" in ref


def load_scoring_model(store: Any, ref: str) -> ScoringModel:
    """The model ``ref`` names (a run id, or ``NAME@V`` / ``NAME@stage`` in the registry)."""
    from neuralforge_desktop.core.training.runner import runs_root

    onnx_path: Path | None = None
    if _is_registry_ref(ref):
        from neuralforge_desktop.core.registry import resolve

        version = resolve(store, ref)
        run_id, onnx_path = version.run_id, Path(version.onnx_path)
        graph_path = Path(version.graph_path)
    else:
        from neuralforge_desktop.core.store.entities import NotFoundError

        try:
            run_id = store.get_run(ref).id
        except NotFoundError:
            raise UserError(f"no run {ref!r} in {store.path} (give a run id or a registry NAME@VERSION)") from None
        graph_path = runs_root(Path(store.path)) / run_id / "graph.nfg"
    config = _run_config(store, run_id)
    features, target, mean, std, class_names = _training_table(config, run_id)
    if onnx_path is not None:
        logits, what = _onnx_logits(onnx_path), f"{ref} (ONNX {onnx_path.name}, run {run_id})"
    else:
        logits, what = _torch_logits(store, run_id, graph_path), f"run {run_id} (best checkpoint)"
    return ScoringModel(ref, run_id, what, features, target, class_names, mean, std, logits)


def _run_config(store: Any, run_id: str) -> dict[str, Any]:
    import json

    from neuralforge_desktop.core.training.runner import runs_root

    path = runs_root(Path(store.path)) / run_id / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"run {run_id} has no readable training settings ({path}), so the columns its model "
                        "reads are unknown") from None
    if not isinstance(config, dict):
        raise UserError(f"{path}: expected the run's training settings as a JSON object")
    return config


def _training_table(config: dict[str, Any], run_id: str
                    ) -> tuple[list[str], str, np.ndarray | None, np.ndarray | None, list[str] | None]:
    """(feature columns, label column, mean, std, class names) of the run's training table."""
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.datasets import load_dataset
    from neuralforge_desktop.core.training.datasets.tables import TABLE_SUFFIXES, load_table

    cfg = TrainConfig.from_json(config)
    path = Path(cfg.dataset).expanduser()
    if path.suffix.lower() in TABLE_SUFFIXES and not path.is_file():
        where = (f"a path relative to the folder training started in, not found from {Path.cwd()}: run this from "
                 "that folder" if not path.is_absolute() else "which is no longer there")
        raise UserError(f"run {run_id} trained on the table {cfg.dataset!r}, {where}; the table tells which "
                        "columns the model reads and how training normalised them")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError(f"run {run_id} trained on {cfg.dataset!r}, not on a table (.csv/.tsv/.parquet), so the "
                        "columns its model reads are unknown; fairness evaluation needs a "
                        "model trained on a table")
    options = dict(cfg.dataset_options)
    raw = load_table(path, options)  # the loader's own choice of features, exactly as training made it
    features = [str(c) for c in raw.settings["features"]]
    bundle = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction, seed=cfg.seed, normalize=cfg.normalize,
                          limit=cfg.limit, options=options)
    if bundle.task != "classification":
        raise UserError(f"run {run_id} is a {bundle.task} model; fairness metrics need a classifier")
    norm = bundle.normalization or {}
    mean = std = None
    if norm.get("applies_to") == "x":
        mean = np.asarray(norm["mean"], dtype=np.float32).reshape(-1)
        std = np.asarray(norm["std"], dtype=np.float32).reshape(-1)
    return features, str(raw.settings["target"]), mean, std, bundle.class_names


def _torch_logits(store: Any, run_id: str, graph_path: Path) -> Callable[[np.ndarray], np.ndarray]:
    from neuralforge_desktop.core.exporters.source import load_model, resolve_source
    from neuralforge_desktop.core.ir.serialize import load_graph

    graph = load_graph(graph_path)
    model = load_model(graph, resolve_source(run_id=run_id, store=Path(store.path)))

    def run(x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = model(torch.from_numpy(x))
        first = out[0] if isinstance(out, tuple | list) else out
        return np.asarray(first.float().numpy())

    return run


def _onnx_logits(onnx_path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort  # type: ignore[import-untyped]

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    fixed = session.get_inputs()[0].shape[0]

    def run(x: np.ndarray) -> np.ndarray:
        if not isinstance(fixed, int):
            return np.asarray(session.run(None, {name: x})[0])
        parts = []  # a file exported with a fixed batch: run in chunks of it, the last one padded
        for start in range(0, len(x), fixed):
            chunk = x[start:start + fixed]
            pad = np.zeros((fixed - len(chunk), *chunk.shape[1:]), dtype=chunk.dtype)
            parts.append(np.asarray(session.run(None, {name: np.concatenate([chunk, pad])})[0])[:len(chunk)])
        return np.concatenate(parts)

    return run
