"""Versions registered from an optimised run (one made by ``neuralforge optimize``: tags ``parent_run``,
``optimization`` and ``optimized_model``, the name of its model artifact).

Such a run has no checkpoint of its own: what it made is the optimised model file, and that file is what the
version deploys. So registration copies it instead of exporting the float weights, and the gates measure it
in onnxruntime: its accuracy on the parent run's validation split (with the optimisation's own measuring,
:mod:`neuralforge_desktop.core.optimize.measure`), and its parity as top-1 agreement with the parent's float
model, since quantisation changes every output by design and a max |difference| bound would always fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.optimize.lineage import METHOD_TAG, MODEL_TAG, PARENT_TAG
from neuralforge_desktop.core.registry.entities import RegistryError


@dataclass(frozen=True)
class OptimisedModel:
    """An optimised run's model file, the method that made it and the run it was made from."""

    path: Path
    method: str
    parent_run: str


def optimised_model(store: Any, run: Any) -> OptimisedModel | None:
    """The run's optimised ONNX model, or None for a run that was trained (no ``optimized_model`` tag)."""
    artifact = run.tags.get(MODEL_TAG)
    if not artifact:
        return None
    parent = run.tags.get(PARENT_TAG, "")
    if not parent:
        raise RegistryError(f"run {run.id} names an optimised model ({artifact}) but no parent run "
                            f"(tag {PARENT_TAG}), so its float model is unknown")
    if not artifact.endswith(".onnx"):
        raise RegistryError(f"run {run.id}'s optimised model {artifact} is not an ONNX file; a registered version "
                            "is served in onnxruntime: optimise with --runtime onnxruntime to register it")
    try:
        path = store.artifact_path(run.id, artifact)
    except KeyError:
        raise RegistryError(f"run {run.id} names {artifact} as its optimised model, but has no such "
                            "artifact") from None
    return OptimisedModel(Path(path), run.tags.get(METHOD_TAG, "optimised"), parent)


def parent_of(store: Any, run_id: str) -> str | None:
    """The parent run of an optimised run, None for a trained one."""
    run = store.get_run(run_id)
    return run.tags.get(PARENT_TAG) if run.tags.get(MODEL_TAG) else None


def load_parent(store: Any, parent_run: str) -> Any:
    """The parent run's float model (graph, weights source, torch model) as the gates load a trained version."""
    from neuralforge_desktop.core.exporters.source import load_model, resolve_source
    from neuralforge_desktop.core.ir.serialize import load_graph
    from neuralforge_desktop.core.registry.measure import Loaded
    from neuralforge_desktop.core.registry.tables import GRAPH_FILE

    try:
        graph_file = store.artifact_path(parent_run, GRAPH_FILE)
    except KeyError:
        raise RegistryError(f"parent run {parent_run} has no graph artifact ({GRAPH_FILE})") from None
    graph = load_graph(graph_file)
    source = resolve_source(run_id=parent_run, store=Path(store.path))
    return Loaded(graph, source, load_model(graph.copy(), source))


def runtime_metrics(parent: Any, onnx_path: Path) -> tuple[dict[str, float], str]:
    """The optimised ONNX file's top-1 accuracy in onnxruntime on the parent run's validation split."""
    from neuralforge_desktop.core.optimize.measure import accuracy, runtime_session, validation_data

    if parent.source.config is None:
        raise RegistryError(f"run {parent.source.run_id} has no training settings (config.json), so its "
                            "validation split is unknown")
    data = validation_data(parent.graph.copy(), parent.source.config)
    value = accuracy(runtime_session(onnx_path, "onnxruntime"), data)
    if value is None:
        raise RegistryError(f"{data.description} have no class labels, so the optimised model's accuracy "
                            "cannot be measured")
    return {"acc": value}, f"{data.description} (the optimised ONNX file in onnxruntime)"
