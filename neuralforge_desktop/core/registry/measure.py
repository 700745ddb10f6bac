"""The measurements the gates compare against a policy, taken afresh rather than read from the store:

* the validation metrics of the run's best checkpoint, with the evaluation training itself uses, on the run's
  own validation split (same dataset, limit, split fraction and seed as the run);
* the version's ONNX file against torch on validation examples (max |difference| and top-1 agreement);
* the ONNX file's median latency in onnxruntime on this CPU.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.registry.entities import ModelVersion, RegistryError

_ORT_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int64)": "int64",
               "tensor(int32)": "int32", "tensor(float16)": "float16", "tensor(bool)": "bool"}


@dataclass
class Loaded:
    """The version's graph, the run's weights source and the model built with them (eval mode)."""

    graph: Any
    source: Any
    model: Any


def load(store: Any, version: ModelVersion) -> Loaded:
    from neuralforge_desktop.core.exporters.source import load_model, resolve_source
    from neuralforge_desktop.core.ir.serialize import load_graph

    graph = load_graph(version.graph_path)
    source = resolve_source(run_id=version.run_id, store=Path(store.path))
    return Loaded(graph, source, load_model(graph.copy(), source))


def validation_metrics(loaded: Loaded) -> tuple[dict[str, float], str]:
    """The checkpoint's metrics on the run's validation split, and a description of that split."""
    from neuralforge_desktop.core.training import evaluation
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.parts import build_parts

    if loaded.source.config is None:
        raise RegistryError(f"run {loaded.source.run_id} has no training settings (config.json), so its "
                            "validation split is unknown")
    config = TrainConfig.from_json(loaded.source.config)
    parts = build_parts(loaded.graph.copy(), config)
    if parts.x_val is None or parts.y_val is None:
        raise RegistryError(f"run {loaded.source.run_id}'s dataset {config.dataset!r} has no validation split")
    parts.model.load_state_dict(loaded.model.state_dict())
    metrics = evaluation.validation_metrics(parts)
    return metrics, f"{len(parts.y_val)} validation examples of {parts.bundle.name}"


def _session(onnx_path: Path) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    return ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])


def _feed(session: Any, arrays: list[Any]) -> dict[str, Any]:
    import numpy as np

    inputs = session.get_inputs()
    if len(inputs) != len(arrays):
        raise RegistryError(f"the ONNX file takes {len(inputs)} inputs where the graph has {len(arrays)}")
    return {i.name: np.ascontiguousarray(a, dtype=_ORT_DTYPES.get(i.type, a.dtype)) for i, a in zip(inputs, arrays,
                                                                                                   strict=True)}


def samples(loaded: Loaded, limit: int) -> tuple[list[Any], str]:
    from neuralforge_desktop.core.exporters.source import dataset_samples

    found = dataset_samples(loaded.graph.copy(), list(loaded.model.input_names), config=loaded.source.config,
                            limit=limit)
    if found is None:
        raise RegistryError(f"run {loaded.source.run_id} has no dataset to take validation examples from")
    return found.arrays, found.description


def parity(loaded: Loaded, onnx_path: Path, limit: int) -> dict[str, Any]:
    """onnxruntime against torch on up to ``limit`` validation examples: the largest |difference| over every
    output, and the share of examples whose top class agrees (classification outputs)."""
    import numpy as np
    import torch

    arrays, description = samples(loaded, limit)
    session = _session(onnx_path)
    feed = _feed(session, arrays)
    got = session.run(None, feed)
    with torch.inference_mode():
        out = loaded.model(*(torch.from_numpy(np.asarray(a)) for a in feed.values()))
    expected = [t.float().numpy() for t in (out if isinstance(out, tuple | list) else (out,))]
    if len(expected) != len(got):
        raise RegistryError(f"the ONNX file returns {len(got)} outputs where torch returns {len(expected)}")
    worst = max(float(np.max(np.abs(g.astype(np.float64) - e))) if e.size else 0.0
                for g, e in zip(got, expected, strict=True))
    first, want = got[0], expected[0]
    top1 = float(np.mean(first.argmax(axis=1) == want.argmax(axis=1))) if first.ndim == 2 else None
    return {"max_abs_diff": worst, "top1_agreement": top1, "inputs": description}


def latency(loaded: Loaded, onnx_path: Path, runs: int, batch: int) -> dict[str, Any]:
    """The median (and p90) of ``runs`` onnxruntime calls at ``batch`` examples, after three warm-up calls."""
    import numpy as np

    arrays, _ = samples(loaded, batch)
    if len(arrays[0]) < batch:  # a tiny validation split: repeat its examples up to the batch
        arrays = [np.resize(a, (batch, *a.shape[1:])) for a in arrays]
    session = _session(onnx_path)
    feed = _feed(session, arrays)
    for _ in range(3):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[min(len(times) - 1, int(0.9 * len(times)))],
            "runs": runs, "batch": batch}
