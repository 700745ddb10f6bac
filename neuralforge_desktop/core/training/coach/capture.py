"""What the Coach learns from inside a model while it trains: per-layer gradient and weight norms, the size of
each update, activation statistics, histograms, input statistics and the first NaN/Inf (see :mod:`.records`).

The training loop calls :class:`DiagnosticsCapture` at four points of a step (``start_step`` before the
forward pass, ``check_loss`` after it, ``after_backward`` before the optimizer step, ``after_update`` after
it) and once per epoch (``end_epoch``). Most steps are not capture steps: then each call is one comparison,
and the only per-step work is reading whether the loss is finite. On a capture step the model's forward
steps are wrapped for that one pass (the built model runs a list of step functions, see
``core/build/torch_builder.py``; swapping the list is cheaper than hooks and sees every node, functional ones
included), and every number of the record is read from the device in one transfer.

Layers are the nodes whose step calls a submodule, named by node path (``block/conv``); the copies of a
repeated block are told apart as ``block[0]/conv``, ``block[1]/conv`` (:func:`node_path` gives the graph's
path back). Level ``off`` builds no capture at all: the loop skips every call (four ``is not None`` tests).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.training.coach.records import (
    LEVELS,
    Histogram,
    Histograms,
    LayerStats,
    NonFinite,
    RunDiagnostics,
)
from neuralforge_desktop.core.training.coach.tensor_stats import (
    histogram_from,
    histogram_parts,
    input_stats,
    strided_sample,
)

# Layer statistics every BASIC_EVERY steps at "basic": a capture step of a small CPU model costs about two
# ordinary steps (the wrapped forward, a pass over weights and gradients, one device read), so 1 in 50 keeps
# the overhead near 2 % (benchmarks/diagnostics.py). Short epochs still get BASIC_PER_EPOCH records each, so
# a 10-step epoch shows a trend too.
BASIC_EVERY = 50
BASIC_PER_EPOCH = 4
# "full" is for looking closely at one run: five times as often, and histograms on every HIST_EVERY-th capture
# step (every 50 steps), as they cost a sample and a sort-free binning per layer.
FULL_EVERY = 10
FULL_PER_EPOCH = 10
HIST_EVERY = 5
# Exact zeros mean something only where the activation clamps at zero: a ReLU/ReLU6 unit that outputs 0 for
# every example is dead. LeakyReLU, ELU, GELU and SiLU are almost never exactly 0, so they get no zero fraction.
ZERO_CLAMPING = ("ReLU", "ReLU6")
SATURATION = {"Sigmoid": (0.01, 0.99), "Tanh": (-0.99, 0.99)}  # outputs beyond these are within 0.01 of a bound

Emit = Callable[[str, Any], None]
_COPY = re.compile(r"\[\d+\]/")


def node_path(layer: str) -> str:
    """The graph node path of a layer name: ``h[2]/attn`` → ``h/attn`` (copies of a repeated block share it)."""
    return _COPY.sub("/", layer)


def capture_interval(level: str, steps_per_epoch: int) -> int:
    """Steps between layer-statistics records at ``level`` (see the constants above)."""
    every, per_epoch = (FULL_EVERY, FULL_PER_EPOCH) if level == "full" else (BASIC_EVERY, BASIC_PER_EPOCH)
    return max(1, min(every, steps_per_epoch // per_epoch))


@dataclass
class _Layer:
    name: str
    module: Any
    params: list[Any]
    activation: str  # the module's class name when it is one of ZERO_CLAMPING or SATURATION, else ""


@dataclass
class _StepRecord:
    """What one capture step has gathered so far: device tensors, read together in :meth:`after_update`."""

    histograms: bool
    acts: dict[int, Any] = field(default_factory=dict)
    act_hists: dict[int, Any] = field(default_factory=dict)
    grads: dict[int, Any] = field(default_factory=dict)
    grad_hists: dict[int, Any] = field(default_factory=dict)
    before: dict[int, list[Any]] = field(default_factory=dict)
    # Mixed precision: the GradScaler's first steps overflow on purpose while it finds its scale, and it skips
    # them. An Inf gradient is then routine, not a finding.
    amp_scaled: bool = False


class DiagnosticsCapture:
    """Captures the diagnostics of one training run at ``level`` ("basic" or "full") and hands each record
    to ``emit(kind, record)``. ``inputs``: the training inputs, labels and class count for :meth:`end_epoch`."""

    def __init__(self, model: Any, level: str, emit: Emit, *, steps_per_epoch: int, device: Any = None,
                 amp: bool = False, amp_dtype: Any = None,
                 inputs: tuple[Any, Any | None, int | None] | None = None) -> None:
        if level not in LEVELS or level == "off":
            raise ValueError(f"diagnostics level: 'basic' or 'full' capture something, got {level!r}")
        self.model = model
        self.level = level
        self.emit = emit
        self.interval = capture_interval(level, steps_per_epoch)
        self.hist_interval = self.interval * HIST_EVERY if level == "full" else 0
        self.device = device
        self.amp, self.amp_dtype = amp, amp_dtype
        self.layers: list[_Layer] = []
        self._graph_modules: list[tuple[Any, list[tuple[str, int | None]]]] = []
        self._discover(model, "")
        self._inputs = inputs
        self._input_numbers: Any = None  # the training tensors do not change: their statistics are computed once
        self._record: _StepRecord | None = None
        self._installed: list[tuple[Any, Any]] = []
        self._first_bad: tuple[str, int | None] | None = None
        self.nonfinite_found = False

    # -- the model's layers ------------------------------------------------------------------------------

    def _discover(self, module: Any, prefix: str) -> None:
        from torch import nn

        if not _is_graph_module(module):  # not built from a graph: no layers to name, the loss is still watched
            return
        steps: list[tuple[str, int | None]] = []
        self._graph_modules.append((module, steps))
        for node_id, attr in zip(module._step_nodes, module._step_attrs, strict=True):
            name = prefix + node_id
            child = getattr(module, attr, None) if attr else None
            copies = list(child) if isinstance(child, nn.Sequential | nn.ModuleList) else [child]
            if _is_graph_module(child):
                self._discover(child, name + "/")
                steps.append((name, None))
            elif copies and all(_is_graph_module(c) for c in copies):  # a repeated block
                for index, copy in enumerate(copies):
                    self._discover(copy, f"{name}[{index}]/")
                steps.append((name, None))
            elif isinstance(child, nn.Module):
                kind = type(child).__name__
                activation = kind if kind in ZERO_CLAMPING or kind in SATURATION else ""
                params = list({id(p): p for p in child.parameters()}.values())
                self.layers.append(_Layer(name, child, params, activation))
                steps.append((name, len(self.layers) - 1))
            else:
                steps.append((name, None))  # a functional step: watched for NaN/Inf only

    def _install(self, observe: Callable[[str, int | None, Any], None]) -> None:
        """Wrap every forward step so that ``observe(node path, layer index or None, first output)`` sees it."""
        self._uninstall()
        for module, infos in self._graph_modules:
            original = module._steps
            wrapped = []
            for (fn, reads, writes), (name, layer) in zip(original, infos, strict=True):
                def step(this: Any, *args: Any, _fn: Any = fn, _name: str = name, _layer: int | None = layer) -> Any:
                    results = _fn(this, *args)
                    observe(_name, _layer, results[0] if results else None)
                    return results

                wrapped.append((step, reads, writes))
            self._installed.append((module, original))
            module._steps = wrapped

    def _uninstall(self) -> None:
        for module, original in self._installed:
            module._steps = original
        self._installed.clear()

    # -- the four calls of a training step ---------------------------------------------------------------

    def is_capture_step(self, step: int) -> bool:
        return step == 1 or step % self.interval == 0

    def start_step(self, step: int) -> None:
        """Before the forward pass of the batch that becomes global step ``step`` (counted from 1)."""
        if not self.layers or not self.is_capture_step(step):
            self._record = None
            return
        histograms = bool(self.hist_interval) and (step == 1 or step % self.hist_interval == 0)
        self._record = _StepRecord(histograms=histograms)
        self._install(self._observe_activation)

    def check_loss(self, loss: Any, inputs: Sequence[Any], step: int) -> None:
        """After the forward pass: end the activation capture, and the first time the loss is not finite,
        find where the NaN/Inf began (before the optimizer step, while the weights are as the forward saw them)."""
        import torch

        self._uninstall()
        if not self.nonfinite_found and not bool(torch.isfinite(loss.detach()).all()):
            self._record_nonfinite(step, inputs)

    def after_backward(self, scaler: Any = None, *, unscaled: bool = False) -> None:
        """Before the optimizer step: gradient norms (and histograms), and the weights as they were. ``scaler``:
        a mixed-precision GradScaler whose scale is still in the gradients unless ``unscaled``."""
        import torch

        record = self._record
        if record is None:
            return
        scale = 1.0
        record.amp_scaled = scaler is not None and scaler.is_enabled()
        if record.amp_scaled and not unscaled:
            scale = float(scaler.get_scale())
        for index, layer in enumerate(self.layers):
            grads = [_dense(p.grad.detach()) for p in layer.params if p.grad is not None]
            if grads:
                # float64: a gradient still multiplied by the loss scale (up to 2**24 and more) would overflow
                # float32 when squared, and the norm of a healthy step would read Inf.
                norms = torch.stack([torch.linalg.vector_norm(g, dtype=torch.float64) for g in grads])
                record.grads[index] = torch.linalg.vector_norm(norms) / scale
                if record.histograms:
                    record.grad_hists[index] = histogram_parts(strided_sample(grads) / scale)
            if layer.params:
                record.before[index] = [p.detach().clone() for p in layer.params]

    def after_update(self, step: int) -> None:
        """After the optimizer step that made global step ``step``: weight norms and update sizes, then the
        step's records, read from the device in one go."""
        import torch

        record, self._record = self._record, None
        if record is None:
            return
        pieces: list[Any] = []
        where: dict[tuple[str, int], slice] = {}
        size = 0

        def put(key: tuple[str, int], value: Any) -> None:
            nonlocal size
            flat = value.detach().float().reshape(-1)
            where[key] = slice(size, size + flat.numel())
            size += flat.numel()
            pieces.append(flat)

        for index, layer in enumerate(self.layers):
            if layer.params:
                put(("weight", index), _norm([p.detach() for p in layer.params]))
                before = record.before.get(index)
                if before is not None:
                    put(("moved", index), _norm([p.detach() - b for p, b in zip(layer.params, before, strict=True)]))
                    put(("before", index), _norm(before))
            for kind, values in (("grad", record.grads), ("act", record.acts), ("grad_hist", record.grad_hists),
                                 ("act_hist", record.act_hists)):
                if index in values:
                    put((kind, index), values[index])
        numbers = torch.cat([p.to(pieces[0].device) for p in pieces]).tolist() if pieces else []

        def read(kind: str, index: int) -> list[float] | None:
            span = where.get((kind, index))
            return None if span is None else numbers[span]

        self._emit_layers(step, read, skipped=record.amp_scaled)
        if record.histograms:
            self._emit_histograms(step, read)
        if not record.amp_scaled:
            self._check_gradients(step, read)

    def _emit_layers(self, step: int, read: Callable[[str, int], list[float] | None], *, skipped: bool) -> None:
        """``skipped``: a GradScaler was in use, so Inf gradients mean a skipped step (reported as None)."""
        stats = LayerStats(step=step, layers=[], grad_norm=[], weight_norm=[], update_ratio=[], act_mean=[],
                           act_std=[], act_zero_frac=[], act_sat_frac=[])
        for index, layer in enumerate(self.layers):
            grad, weight, act = read("grad", index), read("weight", index), read("act", index)
            moved, before = read("moved", index), read("before", index)
            stats.layers.append(layer.name)
            stats.grad_norm.append(grad[0] if grad and (math.isfinite(grad[0]) or not skipped) else None)
            stats.weight_norm.append(weight[0] if weight else None)
            stats.update_ratio.append(moved[0] / before[0] if moved and before and before[0] > 0 else None)
            stats.act_mean.append(act[0] if act else None)
            stats.act_std.append(act[1] if act else None)
            stats.act_zero_frac.append(act[2] if act and layer.activation in ZERO_CLAMPING else None)
            stats.act_sat_frac.append(act[2] if act and layer.activation in SATURATION else None)
        self.emit("layers", stats)

    def _emit_histograms(self, step: int, read: Callable[[str, int], list[float] | None]) -> None:
        def hist(kind: str, index: int) -> Histogram | None:
            parts = read(kind, index)
            return None if parts is None else histogram_from(parts)

        self.emit("histograms", Histograms(step=step, layers=[layer.name for layer in self.layers],
                                           grad=[hist("grad_hist", i) for i in range(len(self.layers))],
                                           act=[hist("act_hist", i) for i in range(len(self.layers))]))

    def _check_gradients(self, step: int, read: Callable[[str, int], list[float] | None]) -> None:
        # The loss was finite (or check_loss would have recorded it), yet a gradient may not be.
        if self.nonfinite_found:
            return
        for index, layer in enumerate(self.layers):
            grad = read("grad", index)
            if grad is not None and not math.isfinite(grad[0]):
                self._found(NonFinite(step=step, where="gradient", layer=layer.name))
                return

    # -- activations on a capture step, NaN/Inf when the loss goes bad -----------------------------------

    def _observe_activation(self, name: str, layer: int | None, output: Any) -> None:
        import torch

        record = self._record
        if layer is None or record is None:
            return
        y = _first_tensor(output)
        if y is None or not y.is_floating_point() or not y.numel():
            return
        y = y.detach()
        values = y.float()
        std, mean = torch.std_mean(values, correction=0)
        parts = [mean, std]
        kind = self.layers[layer].activation
        if kind in ZERO_CLAMPING:
            parts.append((values == 0).float().mean())
        elif kind in SATURATION:
            low, high = SATURATION[kind]
            parts.append(((values < low) | (values > high)).float().mean())
        record.acts[layer] = torch.stack(parts)
        if record.histograms:
            record.act_hists[layer] = histogram_parts(strided_sample([y]))

    def _observe_nonfinite(self, name: str, layer: int | None, output: Any) -> None:
        import torch

        y = _first_tensor(output)
        if (self._first_bad is None and y is not None and y.is_floating_point()
                and not bool(torch.isfinite(y).all())):
            self._first_bad = (name, layer)

    def _record_nonfinite(self, step: int, inputs: Sequence[Any]) -> None:
        """Run the batch's forward pass again, watching every step, to name the first node whose output is not
        finite. A layer whose own weights are already NaN/Inf got them from an earlier update: "gradient"."""
        import torch

        for name, x in zip(getattr(self.model, "input_names", ()), inputs, strict=False):
            if x.is_floating_point() and not bool(torch.isfinite(x).all()):
                self._found(NonFinite(step=step, where="activation", layer=name))
                return
        self._first_bad = None
        saved = [(b, b.detach().clone()) for b in self.model.buffers()]  # batch-norm statistics move in train mode
        device_type = getattr(self.device, "type", "cpu")
        forked = [torch.cuda.current_device()] if device_type == "cuda" else []
        # The same draws (dropout) as the step itself is not needed, but training's random streams must not move.
        with torch.random.fork_rng(devices=forked), torch.no_grad(), torch.autocast(
                device_type, dtype=self.amp_dtype, enabled=self.amp):
            self._install(self._observe_nonfinite)
            try:
                self.model(*inputs)
            finally:
                self._uninstall()
                with torch.no_grad():
                    for buffer, value in saved:
                        buffer.copy_(value)
        if self._first_bad is None:
            self._found(NonFinite(step=step, where="loss", layer=None))
            return
        name, layer = self._first_bad
        broken = layer is not None and not all(bool(torch.isfinite(p).all()) for p in self.layers[layer].params)
        self._found(NonFinite(step=step, where="gradient" if broken else "activation", layer=name))

    def _found(self, record: NonFinite) -> None:
        self.nonfinite_found = True
        self.emit("nonfinite", record)

    # -- once per epoch ----------------------------------------------------------------------------------

    def end_epoch(self, epoch: int, step: int) -> None:
        """The inputs' statistics and label counts for the epoch just trained (``epoch`` counted from 1)."""
        if self._inputs is None:
            return
        if self._input_numbers is None:
            x, y, classes = self._inputs
            self._input_numbers = input_stats(x, y, classes, step=step, epoch=epoch)
        self.emit("inputs", dataclasses.replace(self._input_numbers, step=step, epoch=epoch))


def start_capture(parts: Any, level: str, store: Any | None, run_id: str, *, main: bool = True,
                  resume: bool = False) -> tuple[RunDiagnostics, DiagnosticsCapture | None]:
    """The run's diagnostics so far (a resumed run's records from the store) and the capture that adds to them
    and to the store (None at level "off", and in every process of a data-parallel job but the first)."""
    from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics

    loaded = load_run_diagnostics(store, run_id) if resume and store is not None else None
    diagnostics = loaded or RunDiagnostics(level=level)
    diagnostics.level = level
    if level == "off" or not main:
        return diagnostics, None

    def emit(kind: str, record: Any) -> None:
        diagnostics.add(kind, record)
        if store is not None:
            store.log_diagnostic(run_id, kind, record)

    x = next((t for t in parts.x_train if t.is_floating_point()), None)
    labels = parts.y_train if parts.task == "classification" else None
    inputs = None if x is None else (x, labels, parts.bundle.num_classes)
    capture = DiagnosticsCapture(parts.model, level, emit, steps_per_epoch=parts.steps_per_epoch,
                                 device=parts.device, amp=parts.amp, amp_dtype=parts.amp_dtype, inputs=inputs)
    capture.nonfinite_found = bool(diagnostics.nonfinite)  # recorded once per run, resumes included
    return diagnostics, capture


def _is_graph_module(module: Any) -> bool:
    return hasattr(module, "_step_nodes") and hasattr(module, "_steps")


def _first_tensor(output: Any) -> Any:
    import torch

    while isinstance(output, tuple | list) and output:
        output = output[0]
    return output if isinstance(output, torch.Tensor) else None


def _dense(tensor: Any) -> Any:
    return tensor.coalesce().values() if tensor.is_sparse else tensor


def _norm(tensors: list[Any]) -> Any:
    import torch

    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t.float()) for t in tensors]))
