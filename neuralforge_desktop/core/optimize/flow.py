"""The steps every optimisation method shares: the parent's float model exported as the "before" file, a work
folder whose files are moved into place only when complete, and the measuring and recording of the result.

A method's shape (see :mod:`.quantize`)::

    parent = load_parent(store, run_id)
    with child_run(store, parent, method, settings) as (new_run, folder), work_dir(options, folder) as (work, out):
        before = export_float(parent, work / "model-fp32.onnx", options.runtime)
        ... make work / "model-METHOD.onnx" ...
        files = {"before": place_file(before, out), "after": place_file(after, out)}
        return finish(store, parent, new_run, options, method, files, notes, settings)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.lineage import ParentRun, record_result
from neuralforge_desktop.core.optimize.measure import EvaluationData, measure_models, validation_data
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.result import OptimizeResult
from neuralforge_desktop.core.store.sqlite_store import Store


def finish(store: Store, parent: ParentRun, new_run: str, options: OptimizeOptions, method: str,
           files: dict[str, Path], notes: list[str], settings: dict[str, Any], *, after_graph: Graph | None = None,
           data: EvaluationData | None = None) -> OptimizeResult:
    """Measure the files ``before`` (the parent's model) and ``after`` alike, record the new run, and return the
    result. ``after_graph``: the optimised model's graph when it is not the parent's (a pruned or student graph),
    for its parameter and MAC counts; ``data``: the examples to measure on (default: the parent's validation
    split)."""
    data = data if data is not None else validation_data(parent.graph.copy(), parent.config)
    graphs = {"before": parent.graph, "after": after_graph if after_graph is not None else parent.graph}
    figures = measure_models(files, options.runtime, data, graphs, runs=options.latency_runs)
    model_name = f"optimized/{files['after'].name}"
    result = OptimizeResult(parent_run=parent.run.id, run_id=new_run, method=method, runtime=options.runtime,
                            before=figures["before"], after=figures["after"],
                            artifacts={model_name: str(files["after"]),
                                       f"optimized/baseline-{files['before'].name}": str(files["before"])},
                            notes=notes, settings=settings)
    record_result(store, result, model_name)
    from neuralforge_desktop.core.audit import record_event

    record_event(store, "optimize.finished", new_run, {"parent_run": parent.run.id, "method": method,
                                                       "runtime": options.runtime, "settings": settings})
    return result


def export_float(parent: ParentRun, output: Path, runtime: str, precision: str = "fp32") -> Path:
    """The parent's best weights exported to ``output`` by the exporter (ONNX for onnxruntime, TFLite for
    LiteRT), unverified: the measured accuracy is the check."""
    return export_run_model(parent.graph, parent.run.id, parent.store_path, output, runtime, precision)


def export_run_model(graph: Graph, run_id: str, store_path: Path, output: Path, runtime: str,
                     precision: str = "fp32") -> Path:
    """Run ``run_id``'s best weights (else its latest checkpoint) in ``graph`` exported to ``output`` for
    ``runtime``, as ``neuralforge export`` does it: the model of a pruned or distilled run is measured from the
    same kind of file as the parent's."""
    from neuralforge_desktop.core.exporters.pipeline import ExportRequest, export_graph

    fmt = "onnx" if runtime == "onnxruntime" else "tflite"
    export_graph(ExportRequest(graph=graph, format=fmt, output=output, precision=precision, run_id=run_id,
                               store=store_path, verify=False, latency_batches=(), record=False))
    return output


def work_dir(options: OptimizeOptions, run_folder: Path) -> Any:
    """A context giving (a temporary folder beside the output folder, the output folder): files are made in the
    first and moved into the second when complete, so a failure leaves no half-written model."""
    out = Path(options.output_dir).expanduser() if options.output_dir is not None else run_folder / "optimized"

    @contextlib.contextmanager
    def context() -> Iterator[tuple[Path, Path]]:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"output folder {out}: cannot create it ({exc.strerror or exc})") from None
        work = Path(tempfile.mkdtemp(prefix=".optimize-", dir=out))
        try:
            yield work, out
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return context()


def place_file(made: Path, out: Path) -> Path:
    target = out / made.name
    if made.is_dir():
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(os.fspath(made), os.fspath(target))
    else:
        os.replace(made, target)
    return target
