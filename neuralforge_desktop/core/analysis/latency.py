"""Latency per node: from this machine's calibration (CPU) or from a spec-sheet roofline (GPUs).

**Calibrated (this computer's CPU).** A node's forward step in eager PyTorch costs the step itself (the model's
forward loop calling it), a module call when the layer is an ``nn.Module``, and each of its kernels
(:mod:`neuralforge_desktop.core.catalog.kernels`), every kernel predicted from measured kernels of its kind
(:mod:`.calibration`). So a recurrent layer costs its input projection plus T steps, each with its own fixed
cost and its own small matrix product; a batch-1 dense layer costs reading its weights; a tiny model costs its
calls. A block adds its module calls; the whole model adds one call. Kernels run one after another (torch
eager on a CPU does not overlap them). Each kernel has two measured figures, with the caches cold (as in a
network far larger than the last-level cache) and warm (as in one that fits an eighth of it); a network takes
the blend its size calls for: the weights and activations one pass touches, against the cache size the
calibration read (:meth:`CalibratedLatency.warmth`). A layer that declares no kernels is costed by the roofline
below with rates taken from the calibration.

**Roofline (GPU spec sheets, or a CPU not calibrated yet).** One kernel per node::

    max(2·MACs / matmul rate + flops_extra / vector rate, bytes moved / bandwidth) + launch overhead

with layers that declare ``Trait.NO_KERNEL`` free, lookups reading only the rows they gather, and convolutions
at the convolution rate (TF32 on GPUs that have it). The GPU figures are the vendors' spec sheets: no GPU is
measured here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

from neuralforge_desktop.core.analysis.calibration import Calibration
from neuralforge_desktop.core.analysis.devices import DeviceProfile, precision_itemsize
from neuralforge_desktop.core.catalog.kernels import Kernel, KernelKind
from neuralforge_desktop.core.catalog.spec import LayerDef, Params, Trait

Shapes = dict[str, tuple[int, ...]]

# Overheads the calibration measures (seconds), by name
STEP = "step"  # one forward step of the built model (the loop, the step function), no torch call
MODULE = "module"  # calling an nn.Module (hooks check, forward dispatch)
GRAPH = "graph"  # entering a built (sub)model's forward: its loop and variables
VIEW = "view"  # a torch call that moves no data
ATTENTION_CALL = "attention"  # a multi-head attention call beyond its projections and attention kernel
ATTENTION_MASKED_CALL = "attention-masked"  # the same with a mask: torch leaves its fused path for Python's
SEQUENTIAL = "sequential"  # an nn.Sequential container around repeated blocks
INTERLEAVED = "interleaved"  # what a step costs beyond its parts when steps of different kinds follow each other
RECURRENT_CALL = "recurrent"  # a recurrent layer's call beyond its input projection and its steps, by gates


def recurrent_call(gates: int) -> str:
    """The overhead name of a recurrent call with ``gates`` gates (an LSTM's differs from a GRU's: torch runs
    them differently)."""
    return f"{RECURRENT_CALL}-{gates}"


class RawCosts(Protocol):
    """What the cost model knows of one node (``cost._Raw``)."""

    @property
    def params(self) -> int | None: ...
    @property
    def buffers(self) -> int | None: ...
    @property
    def macs(self) -> int | None: ...
    @property
    def flops_extra(self) -> int | None: ...
    @property
    def io_float(self) -> int: ...
    @property
    def io_other_bytes(self) -> int: ...
    @property
    def activation_bytes(self) -> int | None: ...
    @property
    def kernels(self) -> tuple[Kernel, ...] | None: ...


def node_kernels(layer: LayerDef, params: Params, x: Shapes, y: Shapes, notes: list[str]) -> tuple[Kernel, ...] | None:
    """The kernels ``layer`` declares for these shapes; None when it declares none (or its rule failed)."""
    rule = layer.latency
    if rule is None:
        return (Kernel(KernelKind.VIEW),) if Trait.NO_KERNEL in layer.traits else None
    try:
        return tuple(rule(params, x, y))
    except Exception as exc:  # a faulty (plugin) rule is reported, never fatal
        notes.append(f"latency rule failed: {exc}")
        return None


def touched_bytes(layer: LayerDef, raw: RawCosts) -> float:
    """Bytes of weights (only the gathered rows of a lookup) and outputs one node touches in a forward pass."""
    weights = 0 if Trait.LOOKUP in layer.traits else (raw.params or 0) + (raw.buffers or 0)
    return 4.0 * weights + (raw.activation_bytes or 0)


class LatencyModel(Protocol):
    name: str  # "calibrated" | "roofline"

    def node_seconds(self, layer: LayerDef, raw: RawCosts, has_step: bool) -> tuple[float, float]:
        """(with cold caches, with warm caches)"""
        ...

    def block_seconds(self, repeat: int) -> float: ...

    def model_call_seconds(self) -> float: ...

    def warmth(self, footprint_bytes: float) -> float:
        """How much of the warm-cache figure to take for a network that touches ``footprint_bytes`` per pass."""
        ...


# -- roofline --------------------------------------------------------------------------------------------
class RooflineLatency:
    """The spec-sheet (or uncalibrated CPU) roofline: one kernel per node, no per-call costs beyond launch."""

    name = "roofline"

    def __init__(self, profile: DeviceProfile, precision: str = "fp32") -> None:
        self.itemsize = precision_itemsize(precision)
        self.matmul_rate = profile.matmul_flops_per_s(precision)
        # cuDNN runs fp32 convolutions in TF32 by default on Ampere and newer
        self.conv_rate = profile.matmul_flops_per_s("tf32" if precision == "fp32" and profile.kind == "gpu"
                                                    else precision)
        self.vector_rate = profile.vector_flops_per_s()
        self.byte_rate = profile.bytes_per_s()
        self.launch_s = profile.launch_overhead_us * 1e-6

    def node_seconds(self, layer: LayerDef, raw: RawCosts, has_step: bool) -> tuple[float, float]:
        seconds = 0.0 if Trait.NO_KERNEL in layer.traits else self.kernel_seconds(layer, raw)
        return seconds, seconds

    def kernel_seconds(self, layer: LayerDef, raw: RawCosts) -> float:
        weights = 0 if Trait.LOOKUP in layer.traits else (raw.params or 0) + (raw.buffers or 0)
        moved = (raw.io_float + weights) * self.itemsize + raw.io_other_bytes
        rate = self.conv_rate if Trait.CONVOLUTION in layer.traits else self.matmul_rate
        compute = 2.0 * (raw.macs or 0) / rate + (raw.flops_extra or 0) / self.vector_rate
        return max(compute, moved / self.byte_rate) + self.launch_s

    def block_seconds(self, repeat: int) -> float:
        return 0.0

    def model_call_seconds(self) -> float:
        return 0.0

    def warmth(self, footprint_bytes: float) -> float:
        return 0.0


# -- calibrated ------------------------------------------------------------------------------------------
def _log2(value: float) -> float:
    return math.log2(max(value, 1.0))


DEFAULT_CACHE_BYTES = 8 << 20  # a last-level cache, where the calibration could not read the machine's


class CalibratedLatency:
    """The calibrated model: each node from :class:`CalibratedKernels` with cold and with warm caches, blended by
    how much of the network fits in the last-level cache (:meth:`warmth`)."""

    name = "calibrated"

    def __init__(self, calibration: Calibration, fallback: DeviceProfile) -> None:
        self.cold = CalibratedKernels(calibration, fallback, warm=False)
        self.warm = CalibratedKernels(calibration, fallback, warm=True)
        cache = calibration.meta.get("cache_bytes")
        self.cache_bytes = float(cache) if isinstance(cache, int | float) and cache > 0 else DEFAULT_CACHE_BYTES

    def node_seconds(self, layer: LayerDef, raw: RawCosts, has_step: bool) -> tuple[float, float]:
        return self.cold.node_seconds(layer, raw, has_step), self.warm.node_seconds(layer, raw, has_step)

    def block_seconds(self, repeat: int) -> float:
        return self.cold.block_seconds(repeat)

    def model_call_seconds(self) -> float:
        return self.cold.model_call_seconds()

    def warmth(self, footprint_bytes: float) -> float:
        """1 (warm) for a network whose weights and activations fit in an eighth of the last-level cache, 0
        (cold) for one as large as the cache or larger, in between on a log scale."""
        if footprint_bytes <= self.cache_bytes / 8:
            return 1.0
        if footprint_bytes >= self.cache_bytes:
            return 0.0
        return math.log(self.cache_bytes / footprint_bytes) / math.log(8.0)


class CalibratedKernels:
    """Predictions from a :class:`Calibration` with cold or ``warm`` caches: per-call costs plus each kernel from
    its kind's table."""

    def __init__(self, calibration: Calibration, fallback: DeviceProfile, warm: bool = False) -> None:
        self.warm = warm
        self.calibration = calibration
        self.tables = calibration.tables
        self.fallback = RooflineLatency(fallback)
        self.step_s = calibration.overhead(STEP) + calibration.overhead(INTERLEAVED)
        self.module_s = calibration.overhead(MODULE)
        self.graph_s = calibration.overhead(GRAPH)
        self.view_s = calibration.overhead(VIEW)
        self._predictors: dict[str, Callable[[tuple[int, ...]], float]] = {
            KernelKind.VIEW: lambda dims: self.view_s,
            KernelKind.CONV: self._conv,
            KernelKind.CONV_TRANSPOSE: lambda dims: self._table(KernelKind.CONV_TRANSPOSE, _conv_features(dims),
                                                                _conv_macs(dims)),
            KernelKind.MATMUL: lambda dims: self.matmul(*dims),
            KernelKind.ATTENTION: self._attention,
            KernelKind.POOL: lambda dims: self._table(KernelKind.POOL, (_log2(dims[0]), _log2(dims[1])), dims[0]),
        }

    # per node --------------------------------------------------------------------------------------------
    def node_seconds(self, layer: LayerDef, raw: RawCosts, has_step: bool) -> float:
        if not has_step:
            return 0.0
        seconds = self.step_s
        if layer.torch is not None and layer.torch.module is not None:
            seconds += self.module_s
        if raw.kernels is None:  # a layer that declares no kernels: one generic kernel, as on the roofline
            return seconds + self.view_s + self.fallback.kernel_seconds(layer, raw)
        return seconds + sum(self.kernel_seconds(k) for k in raw.kernels)

    def block_seconds(self, repeat: int) -> float:
        """The block's own step and calls (its body's nodes are costed one by one)."""
        calls = repeat * (self.module_s + self.graph_s)
        container = self.module_s + self.calibration.overhead(SEQUENTIAL) if repeat > 1 else 0.0
        return self.step_s + calls + container

    def model_call_seconds(self) -> float:
        return self.module_s + self.graph_s

    # per kernel ------------------------------------------------------------------------------------------
    def kernel_seconds(self, kernel: Kernel) -> float:
        predict = self._predictors.get(kernel.kind)
        if kernel.kind == KernelKind.RECURRENT:
            return self._recurrent(kernel)
        if predict is None:
            if kernel.kind not in self.tables:
                return self.view_s  # a kind this calibration has no samples of: at least the call
            elements = kernel.dims[0] if kernel.dims else 1
            return self._table(kernel.kind, (_log2(elements),), elements) * kernel.launches
        return predict(kernel.dims) * kernel.launches

    def _table(self, name: str, features: Sequence[float], work: float) -> float:
        table = self.tables.get(name)
        if table is None:
            return self.view_s
        return table.predict(features, work, self.warm)

    def matmul(self, batch: int, m: int, k: int, n: int) -> float:
        if batch > 1 and "bmm" in self.tables:
            return self._table("bmm", (_log2(batch), _log2(m), _log2(k), _log2(n)), batch * m * k * n)
        return batch * self._table(KernelKind.MATMUL, (_log2(m), _log2(k), _log2(n)), m * k * n)

    def _conv(self, dims: tuple[int, ...]) -> float:
        taps, cin, cout, groups, positions = dims
        if cin == 1 and groups > 1 and "conv-depthwise" in self.tables:
            return self._table("conv-depthwise", (_log2(taps), _log2(groups * cout), _log2(positions)),
                               _conv_macs(dims))
        return self._table(KernelKind.CONV, _conv_features(dims), _conv_macs(dims))

    def _attention(self, dims: tuple[int, ...]) -> float:
        masked = len(dims) > 7 and dims[7] and ATTENTION_MASKED_CALL in self.calibration.overheads
        call = self.calibration.overhead(ATTENTION_MASKED_CALL if masked else ATTENTION_CALL)
        return call + self.attention_parts(dims[:7])

    def attention_parts(self, dims: tuple[int, ...]) -> float:
        """The projections, the attention kernel and the output projection of one attention call."""
        batch, t, s, embed, heads, kdim, vdim = dims
        if t == s and kdim == embed and vdim == embed:  # self-attention: q, k and v in one packed projection
            projections = self.matmul(1, batch * t, embed, 3 * embed)
        else:
            projections = (self.matmul(1, batch * t, embed, embed) + self.matmul(1, batch * s, kdim, embed)
                           + self.matmul(1, batch * s, vdim, embed))
        head = max(1, embed // heads)
        core = self._table("sdpa", (_log2(batch * heads), _log2(t), _log2(s), _log2(head)),
                           2 * batch * heads * t * s * head)
        out = self.matmul(1, batch * t, embed, embed)
        return projections + core + out

    def _recurrent(self, kernel: Kernel) -> float:
        gates, batch, input_size, hidden, first = kernel.dims
        steps = kernel.launches
        projection = self.matmul(1, batch * steps, input_size, gates * hidden)  # all steps' inputs at once
        call = self.calibration.overhead(recurrent_call(gates)) if first else 0.0  # once per module call
        return call + projection + steps * self.recurrent_step(gates, batch, hidden)

    def recurrent_step(self, gates: int, batch: int, hidden: int) -> float:
        """One time step: its fixed cost, the hidden-state matrix product and the gate arithmetic."""
        name = f"recurrent-{gates}"
        if name not in self.tables:  # a cell this calibration did not measure: the nearest gate count
            known = sorted((abs(int(key.rsplit("-", 1)[1]) - gates), key) for key in self.tables
                           if key.startswith("recurrent-"))
            if not known:
                return self.view_s + self.matmul(1, batch, hidden, gates * hidden)
            name = known[0][1]
        return self._table(name, (_log2(batch), _log2(hidden)), 1.0)


def _conv_features(dims: tuple[int, ...]) -> tuple[float, ...]:
    taps, cin, cout, groups, positions = dims
    return _log2(taps), _log2(cin), _log2(cout), _log2(positions)


def _conv_macs(dims: tuple[int, ...]) -> int:
    taps, cin, cout, groups, positions = dims
    return taps * cin * cout * groups * positions


def latency_model(profile: DeviceProfile, precision: str = "fp32") -> LatencyModel:
    """The calibrated model when ``profile`` carries this machine's calibration, else its roofline."""
    precision_itemsize(precision)  # an unknown precision is refused here, whichever model answers
    if profile.calibration is not None:
        return CalibratedLatency(profile.calibration, profile)
    return RooflineLatency(profile, precision)
