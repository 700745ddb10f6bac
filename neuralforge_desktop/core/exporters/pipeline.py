"""One export, start to end: :func:`export_graph` turns a graph and its weights into a verified file of the
chosen format and returns its :class:`~.report.ExportReport`.

1. Refuse what the user can fix before any work (:func:`preflight`, no torch): an unknown format or precision,
   a graph with errors, layers the target cannot take, an output in a missing or read-only folder, a run
   without checkpoints, a weights file that is not a complete safetensors file.
2. Build the model training builds, load the weights (a file from another graph names the first tensor that
   does not fit), and decide which axes stay dynamic: the batch, and each sequence size (T) at which torch
   also runs the model at another value.
3. Convert into a temporary folder beside the output, verify (:mod:`.verify`), time (:mod:`.latency`), and
   only then move the file into place and record it as an artifact of the run. A failure anywhere leaves
   nothing behind.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.exporters.base import ConvertJob, ExportError, ExportFormat, Progress
from neuralforge_desktop.core.exporters.placement import check_output, make_work_dir, place, remove_work_dir, size_of
from neuralforge_desktop.core.exporters.report import ExportReport
from neuralforge_desktop.core.exporters.source import Samples, WeightsSource, dataset_samples, resolve_source
from neuralforge_desktop.core.exporters.verify import RANDOM_INPUTS, class_dims, random_inputs
from neuralforge_desktop.core.exporters.verify import verify as verify_export
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import BATCH, TensorSpec

LATENCY_BATCHES = (1, 32)
EXAMPLE_BATCH = 2  # the batch the model is exported at
PROBE_BATCH = 3  # another batch (and T − 1 for each sequence size): the dynamic axes must hold there
_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


@dataclass
class ExportRequest:
    graph: Graph
    format: str
    output: Path
    precision: str = "fp32"
    run_id: str | None = None  # weights: this run's best checkpoint …
    weights: Path | None = None  # … or this safetensors file; neither: the seeded initial weights
    store: Path | None = None  # the experiment store (default: the user's)
    verify: bool = True
    calibration: str | None = None  # a dataset (name or path) for real samples, in place of the run's
    latency_batches: tuple[int, ...] = LATENCY_BATCHES
    work_dir: Path | None = None  # an empty folder beside the output (made, and removed, when not given)
    record: bool = True  # record the export as an artifact of its run


def check_graph(graph: Graph) -> Any:
    """The graph's shapes; a graph with errors is refused in one line naming the first."""
    from neuralforge_desktop.core.analysis.shapes import ShapeInference

    shapes = ShapeInference(graph).run()
    if shapes.errors:
        first = shapes.errors[0].message.splitlines()[0]
        more = f" (and {len(shapes.errors) - 1} more; see `neuralforge validate`)" if len(shapes.errors) > 1 else ""
        raise UserError(f"graph '{graph.name}' has errors, so it cannot be exported: {first}{more}")
    return shapes


def preflight(request: ExportRequest) -> tuple[ExportFormat, WeightsSource]:
    """Everything that can be refused without building the model; the format and where the weights come from."""
    from neuralforge_desktop.core.exporters.registry import check_precision, get_format
    from neuralforge_desktop.core.exporters.support import unsupported_nodes

    fmt = get_format(request.format)
    check_precision(fmt, request.precision)
    check_graph(request.graph)
    refused = unsupported_nodes(request.graph, fmt.name, request.precision)
    if refused:
        listed = "; ".join(f"'{node}': {why}" + (f" (use {fix})" if fix else "") for node, why, fix in refused)
        raise ExportError(f"{fmt.title} {request.precision} cannot take {len(refused)} node(s) of graph "
                          f"'{request.graph.name}': {listed}")
    check_output(request.output, fmt.suffix)
    source = resolve_source(run_id=request.run_id, weights=request.weights, store=request.store)
    if request.precision == "int8" and request.calibration is None and source.config is None:
        raise UserError("full int8 needs real examples to calibrate on: export a run that has a dataset, or give "
                        "--calibration DATASET")
    return fmt, source


def export_graph(request: ExportRequest, progress: Progress | None = None) -> ExportReport:
    started = time.perf_counter()
    say: Progress = progress or (lambda fraction, text: None)
    say(0.0, "checking the request")
    fmt, source = preflight(request)
    work = request.work_dir or make_work_dir(request.output)
    try:
        return _export(request, fmt, source, work, say, started)
    finally:
        if request.work_dir is None:
            remove_work_dir(work)


def _export(request: ExportRequest, fmt: ExportFormat, source: WeightsSource, work: Path, say: Progress,
            started: float) -> ExportReport:
    from neuralforge_desktop import __version__
    from neuralforge_desktop.core.codegen.plan import plan_model
    from neuralforge_desktop.core.exporters.source import load_model

    graph = request.graph.copy()  # binding a dataset's sizes (T) must not change the caller's graph
    shapes = check_graph(graph)
    plan = plan_model(graph, shapes)
    specs = [(n.id, s) for n, s in zip(plan.input_nodes, plan.input_specs, strict=True)]
    notes: list[str] = []
    samples = _samples(request, source, graph, [i for i, _ in specs], notes, say)
    say(0.08, f"building the model ({source.description})")
    model = load_model(graph, source, shapes)
    axes, example, probe, probe_sizes = _dynamic_axes(model, graph, specs, plan, notes)
    seconds = {"prepare": time.perf_counter() - started}

    made = work / request.output.name
    job = ConvertJob(model=model, example=example, input_names=[i for i, _ in specs],
                     output_names=[n.id for n in plan.output_nodes], output=made, precision=request.precision,
                     dynamic_axes=axes, probe=probe, representative=_representative(samples),
                     metadata=_metadata(graph, source, request.precision, __version__),
                     class_labels=samples.class_names if samples is not None else None,
                     progress=lambda f, text: say(0.15 + 0.4 * f, text))
    tick = time.perf_counter()
    fmt.convert(job)
    if not made.exists():
        raise ExportError(f"the {fmt.title} converter wrote no file")
    seconds["convert"] = time.perf_counter() - tick

    tick = time.perf_counter()
    report = ExportReport(
        format=fmt.name, title=fmt.title, precision=request.precision, output=str(request.output), size_bytes=0,
        graph=graph.name, source=source.to_json(), verification="skipped",
        tolerance=_tolerance(fmt, request.precision), notes=notes, versions=_versions(fmt, __version__))
    if request.verify:
        say(0.55, "verifying against torch")
        check_sizes, check_inputs = probe_sizes, probe if probe is not None else example
        if fmt.static_shapes:  # a file of fixed sizes: another batch (fed in slices), the graph's own lengths
            check_sizes = {k: (PROBE_BATCH if k == BATCH else graph.symbols.get(k, v)) for k, v in probe_sizes.items()}
            check_inputs = random_inputs(graph, specs, check_sizes, seed=0)
        sizes = ", ".join(f"{k}={v}" for k, v in check_sizes.items())
        sets = [(f"{RANDOM_INPUTS} (seed 0, {sizes})", check_inputs)]
        if samples is not None:
            sets.append((samples.description, tuple(_tensor(a) for a in samples.arrays)))
        parity, report.checks = verify_export(fmt, made, job, sets, class_dims(graph))
        report.parity = [p.to_json() for p in parity]
        report.verification = "parity" if fmt.run is not None else "structure"
    else:
        notes.append("not verified (verification was turned off)")
    seconds["verify"] = time.perf_counter() - tick

    tick = time.perf_counter()
    if fmt.session is not None:
        say(0.75, "timing the export beside torch")
        dynamic_batch = any(BATCH in a.values() for a in axes.values())
        report.latency = _latency(model, fmt.session(made), graph, specs,
                                  request.latency_batches if dynamic_batch else (EXAMPLE_BATCH,), say)
    seconds["latency"] = time.perf_counter() - tick

    say(0.97, f"moving the export to {request.output}")
    report.size_bytes = size_of(made)
    report.facts = dict(job.facts)
    place(made, request.output, work)
    if source.kind == "run" and request.record and source.run_id is not None:
        from neuralforge_desktop.core.exporters.record import artifact_names, record_export

        report.artifacts = list(artifact_names(request.output))
        report.seconds = _rounded({**seconds, "total": time.perf_counter() - started})
        record_export(request.store, source.run_id, request.output, report.to_json())
    elif request.record:  # a graph file's export: no run keeps it, the audit log still does
        from neuralforge_desktop.core.exporters.record import audit_unrecorded_export

        audit_unrecorded_export(request.store, report.to_json())
    report.seconds = _rounded({**seconds, "total": time.perf_counter() - started})
    say(1.0, f"exported {request.output}")
    return report


def _latency(model: Any, call: Any, graph: Graph, specs: list[tuple[str, TensorSpec]], batches: tuple[int, ...],
             say: Progress) -> list[dict[str, Any]]:
    from neuralforge_desktop.core.exporters import latency

    if not batches:
        return []
    sizes = {**graph.symbols}
    return latency.measure(model, call, lambda b: random_inputs(graph, specs, {**sizes, BATCH: b}, seed=1), batches,
                           progress=lambda f, text: say(0.75 + 0.2 * f, text))


def _rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in seconds.items()}


def _samples(request: ExportRequest, source: WeightsSource, graph: Graph, input_ids: list[str], notes: list[str],
             say: Progress) -> Samples | None:
    """Real examples (from --calibration, else the run's dataset); a run's dataset that cannot be read any more
    only costs the real-sample check, and says so. Binds the graph's sizes (T) to the data's, as training did."""
    if request.calibration is None and source.config is None:
        return None
    if not (request.verify or request.precision == "int8"):
        return None
    say(0.03, "reading real examples")
    if request.calibration is not None:
        return dataset_samples(graph, input_ids, spec=request.calibration)
    try:
        return dataset_samples(graph, input_ids, config=source.config)
    except UserError as exc:
        if request.precision == "int8":  # without the examples there is nothing to calibrate on
            raise
        notes.append(f"no real examples to verify on: {str(exc).splitlines()[0]}")
        return None


def _dynamic_axes(model: Any, graph: Graph, specs: list[tuple[str, TensorSpec]], plan: Any, notes: list[str]
                  ) -> tuple[dict[str, dict[int, str]], tuple[Any, ...], tuple[Any, ...] | None, dict[str, int]]:
    """Which named sizes stay dynamic in the export, the example inputs it is made from, and the probe inputs
    (other values of every dynamic size, None when there is none) with their sizes. The batch stays dynamic when
    torch runs another batch; a sequence size when torch also runs it one shorter (a learned position table
    may cap it, a reshape may fix it)."""
    names = {d for _, spec in specs for d in spec.shape if isinstance(d, str) and _SYMBOL.fullmatch(d)}
    bound = {**graph.symbols}
    missing = sorted(n for n in names if n != BATCH and n not in bound)
    if missing:
        raise UserError(f"graph '{graph.name}': give {', '.join(missing)} a value in the graph's symbols; the "
                        f"export is made at one size of each")
    dynamic = [BATCH] if BATCH in names else []
    dynamic += sorted(n for n in names if n != BATCH and bound[n] > 1)
    used = {BATCH, *names}
    example_sizes = {k: v for k, v in {BATCH: EXAMPLE_BATCH, **bound}.items() if k in used}
    example = random_inputs(graph, specs, example_sizes, seed=0)
    probe: tuple[Any, ...] | None = None
    probe_sizes = example_sizes
    while dynamic:
        probe_sizes = {**example_sizes, **{n: (PROBE_BATCH if n == BATCH else bound[n] - 1) for n in dynamic}}
        probe = random_inputs(graph, specs, probe_sizes, seed=0)
        if _runs(model, probe):
            break
        probe, probe_sizes = None, example_sizes
        fixed = dynamic.pop()
        if fixed == BATCH:
            notes.append(f"the model does not run at another batch size, so the export's batch is fixed at "
                         f"{EXAMPLE_BATCH}")
        else:
            notes.append(f"the model only runs at {fixed} = {bound[fixed]}, so the export's {fixed} is fixed")
    axes: dict[str, dict[int, str]] = {}
    for name, shape in [*((i, s.shape) for i, s in specs),
                        *((n.id, s.shape) for n, s in zip(plan.output_nodes, plan.output_specs, strict=True))]:
        axes[name] = {axis: str(d) for axis, d in enumerate(shape)
                      if isinstance(d, str) and set(_SYMBOL.findall(d)) and set(_SYMBOL.findall(d)) <= set(dynamic)}
    return axes, example, probe, probe_sizes


def _runs(model: Any, inputs: tuple[Any, ...]) -> bool:
    import torch

    try:
        with torch.inference_mode():
            model(*inputs)
    except Exception:  # any failure at that size means the size is not free
        return False
    return True


def _tensor(array: Any) -> Any:
    import torch

    return torch.from_numpy(array.copy())


def _representative(samples: Samples | None) -> Callable[[], Any] | None:
    if samples is None:
        return None
    arrays = samples.arrays

    def examples() -> Any:
        for i in range(len(arrays[0]) if arrays else 0):
            yield tuple(a[i:i + 1] for a in arrays)

    return examples


def _metadata(graph: Graph, source: WeightsSource, precision: str, version: str) -> dict[str, str]:
    meta = {"neuralforge.version": version, "neuralforge.graph": graph.name, "neuralforge.weights":
            source.description, "neuralforge.precision": precision}
    if source.run_id:
        meta["neuralforge.run_id"] = source.run_id
    if source.checksum:
        meta["neuralforge.checksum"] = source.checksum
    return meta


def _tolerance(fmt: ExportFormat, precision: str) -> dict[str, float]:
    tolerance = fmt.tolerances.get(precision)
    return {} if tolerance is None else {"max_abs": tolerance.max_abs, "mean_abs": tolerance.mean_abs,
                                         "top1": tolerance.top1}


def _versions(fmt: ExportFormat, version: str) -> dict[str, str]:
    versions = {"neuralforge": version}
    for name in ("torch", *fmt.requires):
        module = sys.modules.get(name)
        if module is not None and isinstance(getattr(module, "__version__", None), str):
            versions[name] = module.__version__
    return versions
