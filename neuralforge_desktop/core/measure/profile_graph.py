"""Measure a graph's real latency: build the model, time its forward pass (and one training step), and time each
node with the torch profiler. Runs in the measuring worker (:mod:`.worker`), never in the app's process.

Forward: eval mode under ``no_grad``, warm-up first, then repeated runs in a few rounds; a
:class:`~.cpu_busy.CpuMeter` says how much other programs used the CPU during each round, and the median is
the median of the quietest undisturbed round (the best run and the spread come with it). Training step: train mode,
forward, a stand-in loss (the mean of the outputs), backward and an Adam update. Per node: every forward step
of the built model (and of the blocks inside it) runs inside a ``torch.profiler.record_function`` named after
its node, so the profiler's times map back to node paths
(``block/conv1``) exactly as the cost report names them; a block's time includes its body's.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from neuralforge_desktop.core.analysis.calibration import torch_version
from neuralforge_desktop.core.analysis.devices import load_average
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import resolve_dim
from neuralforge_desktop.core.measure.cpu_busy import CpuMeter, is_busy
from neuralforge_desktop.core.measure.results import graph_fingerprint
from neuralforge_desktop.core.measure.timing import Progress

LABEL = "nf::"  # prefix of the profiler ranges this module adds


def example_inputs(graph: Graph, shapes: ShapeInference, batch_size: int, device: Any) -> list[Any]:
    """Random inputs for the graph's data inputs, in the model's argument order."""
    import torch

    from neuralforge_desktop.core.codegen.plan import model_side
    from neuralforge_desktop.core.codegen.pytorch import index_high

    bindings = {"N": batch_size, **graph.symbols}
    generator = torch.Generator().manual_seed(0)
    order = model_side(graph, shapes, shapes.catalog)
    tensors = []
    for node in graph.input_nodes:
        if node.id not in order:
            continue
        spec = shapes.spec(node.id)
        if spec is None:
            raise ValueError(f"Input '{node.id}' has no shape")
        dims = [resolve_dim(d, bindings) for d in spec.shape]
        if spec.dtype.is_float:
            tensor = torch.randn(*dims, generator=generator, dtype=getattr(torch, spec.dtype.value))
        elif spec.dtype.value == "bool":
            tensor = torch.rand(*dims, generator=generator) > 0.5
        else:
            tensor = torch.randint(0, index_high(graph, node.id), dims, generator=generator,
                                   dtype=getattr(torch, spec.dtype.value))
        tensors.append(tensor.to(device))
    return tensors


def _sync(device: Any) -> None:
    import torch

    if getattr(device, "type", "cpu") == "cuda":
        torch.cuda.synchronize(device)


def time_runs(run: Callable[[], object], device: Any, *, budget: float = 2.0, warmup: float = 0.3,
              rounds: int = 5, min_reps: int = 3, max_reps: int = 300) -> dict[str, Any]:
    """Warm up for ``warmup`` seconds (at least twice), then ``rounds`` rounds of runs sharing ``budget``
    seconds. The figure (``median``) is the median of the quietest round: the lowest round median among the
    rounds other programs did not visibly disturb (among all rounds when every one was disturbed, and ``busy``
    says so) — on a shared machine, neighbours that use memory rather than CPU slow whole rounds down unseen.
    ``median_all`` is the median of every run of those rounds."""
    started = time.perf_counter()
    for i in range(1000):
        run()
        _sync(device)
        if i >= 1 and time.perf_counter() - started >= warmup:
            break
    quiet: list[list[float]] = []
    disturbed: list[list[float]] = []
    most: float | None = None
    per_round = max(1, max_reps // rounds)
    for _ in range(rounds):
        times: list[float] = []
        meter = CpuMeter().start()
        started = time.perf_counter()
        while len(times) < per_round and (len(times) < min_reps or time.perf_counter() - started < budget / rounds):
            t0 = time.perf_counter()
            run()
            _sync(device)
            times.append(time.perf_counter() - t0)
        others = meter.others()
        most = others if most is None or (others is not None and others > most) else most
        (disturbed if is_busy(others) else quiet).append(times)
    kept = quiet or disturbed
    ms = sorted(t * 1e3 for times in kept for t in times)
    quietest = min(statistics.median(times) for times in kept) * 1e3
    return {"median": quietest, "median_all": statistics.median(ms), "min": ms[0],
            "p90": ms[int(0.9 * (len(ms) - 1))], "reps": len(ms), "rounds": len(kept),
            "other_cores": None if most is None else round(most, 3), "busy": not quiet}


def _label_steps(module: Any, prefix: str) -> None:
    """Wrap each forward step of a built model (and of its blocks) in a profiler range named after its node."""
    from torch import nn
    from torch.profiler import record_function

    node_ids = getattr(module, "_step_nodes", ())
    attrs = getattr(module, "_step_attrs", ())
    steps = getattr(module, "_steps", None)
    if steps is None or not len(node_ids) == len(attrs) == len(steps):
        return
    wrapped = []
    for (fn, reads, writes), node_id, attr in zip(steps, node_ids, attrs, strict=True):
        def step(self: Any, *args: Any, _fn: Any = fn, _label: str = f"{LABEL}{prefix}{node_id}") -> Any:
            with record_function(_label):
                return _fn(self, *args)

        wrapped.append((step, reads, writes))
        child = getattr(module, attr, None) if attr else None
        if isinstance(child, nn.Module):
            copies = list(child) if isinstance(child, nn.Sequential | nn.ModuleList) else [child]
            for copy in copies:
                _label_steps(copy, f"{prefix}{node_id}/")
    module._steps = wrapped


def per_node_ms(model: Any, inputs: list[Any], device: Any, runs: int = 3) -> dict[str, float]:
    """Milliseconds per node path, averaged over ``runs`` profiled forward passes."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    _label_steps(model, "")
    activities = [ProfilerActivity.CPU]
    if getattr(device, "type", "cpu") == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with torch.no_grad():
        model(*inputs)
        _sync(device)
        with profile(activities=activities) as prof:
            for _ in range(runs):
                model(*inputs)
            _sync(device)
    times: dict[str, float] = {}
    for event in prof.key_averages():
        if event.key.startswith(LABEL):
            total_us = event.cpu_time_total
            device_us = getattr(event, "device_time_total", 0.0) or 0.0
            times[event.key[len(LABEL):]] = max(total_us, device_us) / 1e3 / runs
    return times


def _training_step(model: Any, inputs: list[Any], device: Any, budget: float) -> dict[str, Any]:
    import torch

    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-4) if params else None

    def step() -> None:
        out = model(*inputs)
        outputs = out if isinstance(out, tuple) else (out,)
        loss = sum(o.float().mean() for o in outputs if torch.is_tensor(o) and o.is_floating_point())
        if torch.is_tensor(loss) and loss.requires_grad:
            loss.backward()
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    try:
        return time_runs(step, device, budget=budget, warmup=0.2, rounds=3, min_reps=1, max_reps=60)
    finally:
        model.eval()


def profile_graph(graph: Graph, batch_size: int = 1, device_name: str = "cpu", *, training: bool = True,
                  budget: float = 2.0, progress: Progress | None = None) -> dict[str, Any]:
    """Measure ``graph`` (see the module docstring); a JSON-able result for :mod:`.results`."""
    import torch

    from neuralforge_desktop.core.build.torch_builder import build_model
    from neuralforge_desktop.core.training.setup import pick_device

    def say(fraction: float, text: str) -> None:
        if progress is not None:
            progress(fraction, text)

    device = pick_device(device_name)
    say(0.0, "building the model")
    shapes = ShapeInference(graph).run()
    torch.manual_seed(0)
    model = build_model(graph, shapes).to(device).eval()
    inputs = example_inputs(graph, shapes, batch_size, device)
    load = load_average()
    measured_at = time.time()
    say(0.1, "timing the forward pass")
    with torch.no_grad():
        forward = time_runs(lambda: model(*inputs), device, budget=budget)
    training_step: dict[str, Any] | None = None
    training_error = ""
    if training:
        say(0.55, "timing one training step")
        try:
            training_step = _training_step(model, inputs, device, budget / 2)
        except Exception as exc:  # e.g. BatchNorm refuses batch 1 in training; the forward figure still stands
            training_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    say(0.85, "timing each node (torch profiler)")
    profiled = per_node_ms(model, inputs, device)
    # the profiler's own cost inflates every op it records: keep each node's share, scaled so the top-level
    # nodes add up to the forward pass timed without it
    top = sum(ms for path, ms in profiled.items() if "/" not in path)
    scale = forward["median"] / top if top > 0 else 1.0
    nodes = {path: ms * scale for path, ms in profiled.items()}
    say(1.0, "done")
    return {
        "graph": graph.name, "graph_fingerprint": graph_fingerprint(graph), "batch_size": batch_size,
        "device": "cuda" if device.type == "cuda" else "cpu",
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "this computer's CPU",
        "torch": torch_version(), "threads": torch.get_num_threads(), "measured_at": measured_at,
        "load_average": load, "forward_ms": forward, "training_step_ms": training_step,
        "training_error": training_error, "nodes_ms": nodes, "nodes_profiler_ms": profiled,
    }
