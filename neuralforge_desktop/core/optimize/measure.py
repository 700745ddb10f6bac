"""Measuring a model file the same way for every method, so that before and after are comparable.

* size: the bytes of the file (of every file in a package folder);
* accuracy: the top-1 accuracy of the file, run in the target runtime, on the whole validation split of the
  parent run's dataset (its test split when it has no validation split), loaded with the run's own settings;
* latency: one example at a time in the target runtime, the median of ``runs`` calls after a warm-up call; the
  models compared are timed in turns (one call each per round), so a disturbance from other programs falls on
  all of them alike;
* parameters and MACs per example: from the graph (:func:`~neuralforge_desktop.core.analysis.cost.estimate_cost`),
  the same counts ``neuralforge summary`` shows.

The runtime is the export format's own runner (:mod:`neuralforge_desktop.core.exporters`): onnxruntime for
``.onnx`` files, LiteRT for ``.tflite`` ones.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.result import ModelFigures

RUNTIME_FORMATS = {"onnxruntime": "onnx", "litert": "tflite"}
ACCURACY_BATCH = 256  # examples per runtime call while measuring accuracy


@dataclass
class EvaluationData:
    """Examples of one split: the inputs (numpy, one array per graph input, in input order) and the labels (None
    when the task has no accuracy)."""

    description: str
    inputs: list[Any]
    labels: Any | None
    task: str

    def __len__(self) -> int:
        return int(len(self.inputs[0])) if self.inputs else 0

    def first(self, count: int) -> list[Any]:
        return [a[:count] for a in self.inputs]


def run_dataset(graph: Graph, config: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """The parent run's dataset loaded with its training settings, and the field each graph input reads (in
    input order). Binds the graph's sizes (T) to the data's, as training does."""
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.datasets import load_dataset
    from neuralforge_desktop.core.training.setup import bind_dataset

    cfg = TrainConfig.from_json(dict(config))
    bundle = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction, seed=cfg.seed, normalize=cfg.normalize,
                          limit=cfg.limit, options=dict(cfg.dataset_options))
    binding = bind_dataset(graph, bundle)
    return bundle, list(binding.fields.values())  # in the graph's input order, as the model takes them


def _arrays(bundle: Any, split: Any, fields: Sequence[str]) -> list[Any]:
    return [split.x if f == bundle.input_name else split.extra[f] for f in fields]


def validation_data(graph: Graph, config: Mapping[str, Any]) -> EvaluationData:
    """The run's validation split (else its test split): what accuracy before and after is measured on."""
    bundle, fields = run_dataset(graph, config)
    split, which = bundle.val, "validation"
    if split is None or not len(split):
        split, which = bundle.test, "test"
    if split is None or not len(split):
        raise UserError(f"dataset {bundle.name} has no validation or test examples to measure accuracy on; "
                        f"train the run with a validation fraction above 0")
    labels = split.y if bundle.task == "classification" else None
    return EvaluationData(f"{len(split)} {which} examples of {bundle.name}", _arrays(bundle, split, fields), labels,
                          bundle.task)


def training_samples(graph: Graph, config: Mapping[str, Any], count: int) -> EvaluationData:
    """The first ``count`` examples of the run's training split (shuffled when the dataset was split), for
    calibration and fine-tuning."""
    bundle, fields = run_dataset(graph, config)
    split = bundle.train
    labels = split.y[:count]
    return EvaluationData(f"{min(count, len(split))} training examples of {bundle.name}",
                          [a[:count] for a in _arrays(bundle, split, fields)], labels, bundle.task)


def runtime_session(path: Path, runtime: str) -> Callable[[Sequence[Any]], list[Any]]:
    """A loaded model in ``runtime``: inputs (numpy, graph input order) → outputs (numpy, output order)."""
    from neuralforge_desktop.core.exporters.registry import get_format

    fmt = get_format(RUNTIME_FORMATS[runtime])
    if fmt.session is None:
        raise UserError(f"{fmt.title} files cannot be run here, so they cannot be measured")
    return fmt.session(path)


def accuracy(call: Callable[[Sequence[Any]], list[Any]], data: EvaluationData) -> float | None:
    """Top-1 accuracy of the first output over the examples; None when they have no class labels."""
    import numpy as np

    if data.labels is None or not len(data):
        return None
    correct = 0
    for start in range(0, len(data), ACCURACY_BATCH):
        chunk = [np.ascontiguousarray(a[start:start + ACCURACY_BATCH]) for a in data.inputs]
        scores = np.asarray(call(chunk)[0])
        predicted = scores.reshape(scores.shape[0], scores.shape[1], -1).argmax(axis=1)[:, 0]
        correct += int((predicted == data.labels[start:start + ACCURACY_BATCH]).sum())
    return correct / len(data)


def latencies(calls: Mapping[str, Callable[[Sequence[Any]], list[Any]]], example: Sequence[Any],
              runs: int) -> dict[str, float]:
    """The median milliseconds of each call on ``example``, timed in turns after one warm-up call each."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call(example)
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call(example)
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def size_on_disk(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def graph_counts(graph: Graph) -> tuple[int | None, int | None]:
    """Parameters and MACs of one example of ``graph`` (None where the graph cannot be costed)."""
    from neuralforge_desktop.core.analysis.cost import estimate_cost

    try:
        report = estimate_cost(graph, batch_size=1)
    except Exception:  # a graph the estimator cannot take still gets measured files; its counts stay unknown
        return None, None
    return report.params, report.macs


def measure_models(files: Mapping[str, Path], runtime: str, data: EvaluationData,
                   graphs: Mapping[str, Graph], *, runs: int) -> dict[str, ModelFigures]:
    """Every file measured in ``runtime`` on the same examples; ``graphs`` gives each file's graph for its
    parameter and MAC counts (a quantised file keeps its parent's graph)."""
    import numpy as np

    calls = {name: runtime_session(path, runtime) for name, path in files.items()}
    example = [np.ascontiguousarray(a[:1]) for a in data.inputs]
    medians = latencies(calls, example, runs)
    figures = {}
    for name, path in files.items():
        params, macs = graph_counts(graphs[name])
        figures[name] = ModelFigures(file=str(path), accuracy=accuracy(calls[name], data),
                                     size_bytes=size_on_disk(path), params=params, macs=macs,
                                     latency_ms=round(medians[name], 4), examples=len(data), latency_runs=runs)
    return figures
