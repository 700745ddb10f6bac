"""What pruning and distillation share: reading a trained run (refused without a checkpoint), creating the
new run linked to it, fine-tuning it with the ordinary training loop, and recording the before/after figures.

The figures come from :func:`measure_model`, the one place that measures: validation accuracy on the run's own
validation split (the same dataset, seed and split the run trained with), parameters, MACs for one example
(the graph's cost analysis, which equals torch's FlopCounterMode count), and the size and median latency of
the model exported to ONNX and run in onnxruntime on this CPU at batch 1."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.hooks import TrainingHooks

INIT_WEIGHTS = "init.safetensors"  # the starting weights of a derived run, in its folder (TrainConfig.init)
FIGURES_FILE = "optimization.json"
RUNTIMES = ("onnxruntime",)
LATENCY_RUNS = 30


class OptimizeError(UserError):
    """An optimisation that cannot run as asked; the message names the run, option or node at fault."""


@dataclass(frozen=True)
class TrainedRun:
    run_id: str
    folder: Path
    graph: Graph
    config: TrainConfig
    weights: Path  # the run's latest checkpoint weights (safetensors)


def load_trained_run(store: Any, run_id: str, role: str = "run") -> TrainedRun:
    """The run's graph, training settings and latest weights; refused, naming the run, when it has none."""
    from neuralforge_desktop.core.ir.serialize import load_graph
    from neuralforge_desktop.core.store.entities import NotFoundError
    from neuralforge_desktop.core.training.checkpoints import latest_checkpoint
    from neuralforge_desktop.core.training.runner import runs_root

    try:
        run = store.get_run(run_id)
    except NotFoundError:
        raise OptimizeError(f"{role} {run_id}: no such run in {store.path}") from None
    folder = runs_root(Path(store.path)) / run.id
    graph_file, config_file = folder / "graph.nfg", folder / "config.json"
    if not graph_file.exists() or not config_file.exists():
        raise OptimizeError(f"{role} {run.id} has no run folder with its graph and settings ({folder}); only "
                            "a run trained by NeuralForge can be optimised")
    tag = latest_checkpoint(folder / "checkpoints")
    if tag is None:
        raise OptimizeError(f"{role} {run.id} ({run.status}) has no checkpoints: train it for at least one epoch "
                            "before optimising it")
    config = TrainConfig.from_json(json.loads(config_file.read_text(encoding="utf-8")))
    return TrainedRun(run.id, folder, load_graph(graph_file), config, folder / "checkpoints" / f"{tag}.safetensors")


def load_model(graph: Graph, weights: Path | dict[str, Any]) -> Any:
    """The model built from ``graph`` holding ``weights`` (a safetensors file or a state dict), in eval mode."""
    from neuralforge_desktop.core.analysis.shapes import ShapeInference
    from neuralforge_desktop.core.build.torch_builder import build_model
    from neuralforge_desktop.core.training.setup import load_initial_weights, load_initial_weights_from

    model = build_model(graph, ShapeInference(graph).run())
    if isinstance(weights, Path):
        load_initial_weights(model, weights)
    else:
        load_initial_weights_from(model, weights, "the weights")
    return model.eval()


class Validation:
    """A run's validation split as tensors, loaded once for every model measured against it."""

    def __init__(self, graph: Graph, config: TrainConfig) -> None:
        from neuralforge_desktop.core.training.datasets import load_dataset
        from neuralforge_desktop.core.training.setup import bind_dataset, build_setup, to_tensors

        bundle = load_dataset(config.dataset, val_fraction=config.val_fraction, seed=config.seed,
                              normalize=config.normalize, limit=config.limit, options=dict(config.dataset_options))
        binding = bind_dataset(graph, bundle)
        setup = build_setup(graph, bundle)  # which output the loss reads, and the order of the model's inputs
        split = bundle.val if len(bundle.val) else bundle.train
        fields = [binding.fields[name] for name in setup.model.input_names]
        import torch

        self.x, self.y = to_tensors(split, torch.device("cpu"), setup.task, fields, bundle.input_name)
        self.fields = fields  # the dataset field each model input reads, in the order the model takes them
        self.output_index = setup.output_index
        self.task = setup.task
        self.bundle = bundle

    def outputs(self, model: Any, inputs: tuple[Any, ...]) -> Any:
        out = model(*inputs)
        return out[self.output_index] if isinstance(out, tuple) else out

    def accuracy(self, model: Any) -> float | None:
        import torch

        if self.task != "classification":
            return None
        model.eval()
        correct = 0
        with torch.no_grad():
            for start in range(0, len(self.y), 1024):
                batch = tuple(t[start:start + 1024] for t in self.x)
                correct += int((self.outputs(model, batch).argmax(dim=1) == self.y[start:start + 1024]).sum())
        return correct / max(len(self.y), 1)

    def example(self) -> tuple[Any, ...]:
        return tuple(t[:1] for t in self.x)


def measure_model(model: Any, graph: Graph, validation: Validation, runtime: str = "onnxruntime",
                  onnx_path: Path | None = None) -> dict[str, Any]:
    """The figures of the before/after table (see the module docstring). ``onnx_path``: keep the export there."""
    from neuralforge_desktop.core.analysis.cost import estimate_cost

    if runtime not in RUNTIMES:
        raise OptimizeError(f"runtime: pruning and distillation measure latency in {', '.join(RUNTIMES)}, "
                            f"not {runtime!r}")
    cost = estimate_cost(graph)
    with tempfile.TemporaryDirectory(prefix="nf-measure-") as scratch:
        path = onnx_path or Path(scratch) / "model.onnx"
        size, latency = _onnx_size_and_latency(model, validation.example(), path)
    return {"val_accuracy": validation.accuracy(model), "size_bytes": size, "params": cost.params,
            "macs": cost.macs, "latency_ms": latency}


def _onnx_size_and_latency(model: Any, example: tuple[Any, ...], path: Path) -> tuple[int, float]:
    import warnings

    import onnxruntime  # type: ignore[import-untyped]
    import torch

    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f"input{i}" for i in range(len(example))]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        try:
            torch.onnx.export(model, example, str(path), input_names=names, opset_version=17, dynamo=False)
        except Exception as exc:  # the exporter fails in many ways; each means "no latency in this runtime"
            raise OptimizeError(f"the model cannot be exported to ONNX to measure its size and latency "
                                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                                "`neuralforge export` says more") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {name: t.numpy() for name, t in zip(names, example, strict=True)}
    session.run(None, feed)  # warm-up: the first call allocates
    times = []
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    return path.stat().st_size, round(statistics.median(times), 4)


def create_derived_run(store: Any, parent: TrainedRun, graph: Graph, method: str,
                       start_weights: dict[str, Any] | None, epochs: int, extra_tags: dict[str, Any] | None = None
                       ) -> tuple[str, Path, TrainConfig]:
    """A new run of ``graph`` linked to ``parent`` (tags ``parent_run``, ``optimization``) that starts from
    ``start_weights`` (None: a fresh initialisation, from the parent's seed) and trains with the parent's
    settings for ``epochs``; returns its id, folder and settings."""
    from safetensors.torch import save

    from neuralforge_desktop.core.ir.atomic import write_bytes_atomic
    from neuralforge_desktop.core.training.runner import prepare_run

    # fine-tuning runs in this one process: a data-parallel parent's process count does not apply
    derived = replace(parent.config, init=INIT_WEIGHTS if start_weights is not None else None, epochs=max(epochs, 1),
                      procs=None)
    experiment = store.get_run(parent.run_id).experiment
    tags = {"parent_run": parent.run_id, "optimization": method, **(extra_tags or {})}
    run_id, folder = prepare_run(graph, derived, store, experiment, name=None, tags=tags)
    if start_weights is not None:
        weights = {k: v.detach().cpu().contiguous() for k, v in start_weights.items()}
        write_bytes_atomic(folder / INIT_WEIGHTS, save(weights))
    return run_id, folder, derived


def finetune(store: Any, run_id: str, folder: Path, graph: Graph, config: TrainConfig, epochs: int,
             hooks: TrainingHooks | None = None) -> None:
    """Train the derived run (``config`` from :func:`create_derived_run`) in this process with the ordinary loop
    (checkpoints, metrics, events in the run folder). With 0 ``epochs`` the starting weights become the run's
    only checkpoint."""
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.events import FailedEvent, encode_event

    if epochs <= 0:
        _checkpoint_start_weights(store, run_id, folder, graph, hooks)
        return
    failures: list[FailedEvent] = []
    with (folder / "events.jsonl").open("a", encoding="utf-8") as log:
        def sink(event: Any) -> None:
            log.write(encode_event(event) + "\n")
            if isinstance(event, FailedEvent):
                failures.append(event)

        result = Trainer(graph, config, run_id, folder, sink, store, hooks=hooks).run()
    if result.status != "finished":
        reason = failures[-1].error if failures else result.status
        raise OptimizeError(f"fine-tuning run {run_id} did not finish: {reason}")


def _checkpoint_start_weights(store: Any, run_id: str, folder: Path, graph: Graph,
                              hooks: TrainingHooks | None) -> None:
    from neuralforge_desktop.core.training.checkpoints import save_checkpoint

    model = load_model(graph, folder / INIT_WEIGHTS)
    if hooks is not None and hooks.prepare_model is not None:
        hooks.prepare_model(model)
    path = save_checkpoint(folder / "checkpoints", "epoch-0000", model, {"epoch": 0, "global_step": 0})
    store.log_artifact(run_id, path, "model.safetensors", kind="weights")
    store.set_status(run_id, "finished")


def final_weights(folder: Path) -> Path:
    from neuralforge_desktop.core.training.checkpoints import latest_checkpoint

    tag = latest_checkpoint(folder / "checkpoints")
    assert tag is not None, "a finished derived run has a checkpoint"
    return folder / "checkpoints" / f"{tag}.safetensors"


def record_figures(store: Any, run_id: str, folder: Path, method: str, parent_run: str,
                   before: dict[str, Any], after: dict[str, Any], details: dict[str, Any]) -> Path:
    """The before/after table as metrics of the new run and as its ``optimization.json`` artifact."""
    from neuralforge_desktop.core.ir.atomic import write_text_atomic

    metrics = {f"optimize/{side}/{key}": float(value) for side, figures in (("before", before), ("after", after))
               for key, value in figures.items() if isinstance(value, int | float)}
    metrics.update({f"optimize/{k}": float(v) for k, v in details.items() if isinstance(v, int | float)})
    store.log_metrics(run_id, metrics, 0)
    store.flush()
    path = folder / FIGURES_FILE
    write_text_atomic(path, json.dumps({"method": method, "parent_run": parent_run, "new_run": run_id,
                                        "before": before, "after": after, "details": details}, indent=2))
    store.log_artifact(run_id, path, FIGURES_FILE, kind="report")
    return path
