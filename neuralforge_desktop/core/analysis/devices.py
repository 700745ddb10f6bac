"""Device profiles for the latency estimate: this machine's CPU (calibrated) and common GPUs (spec sheets).

**This computer's CPU** is costed from its calibration (:mod:`.calibration`, :mod:`.latency`): real torch ops of
each kind of kernel, timed on this machine by ``neuralforge calibrate`` (or by the app in the background) and
saved with the date, the torch version and the thread count. Its :class:`DeviceProfile` carries that calibration
and summary figures taken from it (the best matrix-multiply rate, the bandwidth of large elementwise ops, the
cost of one eager call). Until a valid calibration exists (none yet, or one made on another processor, with
another torch or thread setting) the CPU falls back to a roofline measured with numpy in a fraction of a second
(a float32 matmul for GFLOP/s, an array copy for bandwidth, best of several runs, cached with the time and the
load average and measured again at a start that finds the machine idle when it was taken on a busy one); the
profile's ``source`` says which one is in use and why.

**GPUs** (T4, A10G, A100, H100) are spec-sheet rooflines, no GPU is measured here::

    compute = 2·MACs / (matmul peak · efficiency) + flops_extra / (vector peak · efficiency)
    memory  = (input + output + weight bytes) / (bandwidth · memory efficiency)
    time    = max(compute, memory) + launch overhead

Peaks are the dense (no sparsity) figures of the vendor's spec sheet; ``efficiency`` is the fraction of the peak
that real kernels reach (large cuBLAS/cuDNN kernels reach 60-80%; small ones much less, which the launch
overhead partly stands in for).

Precision. ``"fp32"`` (the default) uses the plain FP32 (CUDA core) peak for every op: PyTorch runs fp32
matmuls in full precision unless ``torch.backends.cuda.matmul.allow_tf32`` (or ``set_float32_matmul_precision``)
is changed. cuDNN convolutions *do* use TF32 by default on Ampere and newer, so in ``"fp32"`` the cost model
rates GPU convolutions at the TF32 peak (the T4 has none: its FP32 peak); ask for ``"tf32"`` to model TF32
matmuls as well. The per-op overhead of GPU profiles (20 µs) is eager PyTorch's, measured on an H100.
``"fp16"`` and ``"bf16"`` use the tensor-core peaks and 2-byte activations and weights. GPUs without a native
format (bf16 and tf32 on the T4) fall back to the fp32 peak. The CPU uses its measured fp32 figures for every
precision.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.analysis.calibration import Calibration, machine_fingerprint, read_calibration

PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
_ITEMSIZE = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2}
_CACHE_VERSION = 2  # 2: records when and under what load it was measured (1 did not: measure again)
_BUSY_LOAD_PER_CPU = 0.5  # a measurement taken at this load average per core or above is not trusted
_IDLE_LOAD_PER_CPU = 0.25  # at or below this the machine is idle enough to measure again
_FALLBACK_GFLOPS = 20.0
_FALLBACK_GBS = 5.0


@dataclass(frozen=True)
class DeviceProfile:
    """Throughput figures of one device and the roofline latency model built on them."""

    name: str
    title: str
    matmul_tflops: Mapping[str, float]  # dense peak per precision for matrix work (tensor cores where used)
    vector_tflops: float  # fp32 non-tensor peak, used for elementwise work
    bandwidth_gbs: float  # memory bandwidth, GB/s (10⁹ bytes)
    compute_efficiency: float
    memory_efficiency: float
    launch_overhead_us: float
    source: str
    kind: str = "gpu"  # "gpu" | "cpu"
    extra: Mapping[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = field(default=None, compare=False, repr=False)  # the CPU's, when valid

    @property
    def latency_model(self) -> str:
        """How latency is estimated on this device, in words (the Summary and JSON say it)."""
        if self.calibration is not None:
            return "calibrated: measured kernels of each kind on this machine"
        if self.kind == "gpu":
            return "spec-sheet roofline (no GPU is measured here)"
        reason = self.extra.get("uncalibrated_reason") or "not calibrated yet"
        return f"roofline from a quick measurement ({reason}; `neuralforge calibrate` measures each kind of op)"

    def matmul_flops_per_s(self, precision: str = "fp32") -> float:
        """Achievable FLOP/s for matrix work (peak × efficiency) at ``precision``."""
        _check_precision(precision)
        peak = self.matmul_tflops.get(precision) or self.matmul_tflops["fp32"]
        return peak * 1e12 * self.compute_efficiency

    def vector_flops_per_s(self) -> float:
        return self.vector_tflops * 1e12 * self.compute_efficiency

    def bytes_per_s(self) -> float:
        return self.bandwidth_gbs * 1e9 * self.memory_efficiency

    def kernel_seconds(self, macs: float, flops_extra: float, bytes_moved: float, precision: str = "fp32") -> float:
        """Roofline time of one kernel: max(compute, memory) + launch overhead (see the module docstring)."""
        compute = 2.0 * macs / self.matmul_flops_per_s(precision) + flops_extra / self.vector_flops_per_s()
        memory = bytes_moved / self.bytes_per_s()
        return max(compute, memory) + self.launch_overhead_us * 1e-6

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "matmul_tflops": dict(self.matmul_tflops),
            "vector_tflops": self.vector_tflops,
            "bandwidth_gbs": self.bandwidth_gbs,
            "compute_efficiency": self.compute_efficiency,
            "memory_efficiency": self.memory_efficiency,
            "launch_overhead_us": self.launch_overhead_us,
            "source": self.source,
            "latency_model": self.latency_model,
            **({"extra": dict(self.extra)} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeviceProfile:
        return cls(
            name=str(data["name"]),
            title=str(data["title"]),
            matmul_tflops={str(k): float(v) for k, v in dict(data["matmul_tflops"]).items()},
            vector_tflops=float(data["vector_tflops"]),
            bandwidth_gbs=float(data["bandwidth_gbs"]),
            compute_efficiency=float(data["compute_efficiency"]),
            memory_efficiency=float(data["memory_efficiency"]),
            launch_overhead_us=float(data["launch_overhead_us"]),
            source=str(data["source"]),
            kind=str(data.get("kind", "gpu")),
            extra=dict(data.get("extra", {})),
        )


def precision_itemsize(precision: str) -> int:
    """Bytes per floating-point element at ``precision``."""
    _check_precision(precision)
    return _ITEMSIZE[precision]


def _check_precision(precision: str) -> None:
    if precision not in _ITEMSIZE:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")


def _gpu(name: str, title: str, fp32: float, tf32: float, half: float, bf16: float, bandwidth: float,
         efficiency: float, source: str) -> DeviceProfile:
    return DeviceProfile(
        name=name,
        title=title,
        matmul_tflops={"fp32": fp32, "tf32": tf32, "fp16": half, "bf16": bf16},
        vector_tflops=fp32,
        bandwidth_gbs=bandwidth,
        compute_efficiency=efficiency,
        memory_efficiency=0.8,
        # Per-op cost of eager PyTorch (Python + dispatcher + launch), measured on an H100: small-batch forward
        # passes of the zoo CNNs take ~20 µs per op whatever the arithmetic.
        launch_overhead_us=20.0,
        source=source,
    )


GPU_PROFILES: dict[str, DeviceProfile] = {
    profile.name: profile
    for profile in (
        _gpu("t4", "NVIDIA T4 (16 GB GDDR6, 70 W)", 8.1, 8.1, 65.0, 8.1, 320.0, 0.5,
             "NVIDIA T4 Tensor Core GPU datasheet: 8.1 TFLOPS FP32, 65 TFLOPS mixed-precision FP16 tensor, "
             "320 GB/s. Turing has no TF32 or BF16 tensor cores: those use the FP32 peak. Efficiency 0.5: the "
             "70 W card throttles under sustained load."),
        _gpu("a10g", "NVIDIA A10G (24 GB GDDR6, AWS G5)", 31.2, 35.0, 70.0, 70.0, 600.0, 0.6,
             "NVIDIA A10G as published for AWS EC2 G5 instances (NVIDIA publishes no separate A10G datasheet): "
             "31.2 TFLOPS FP32, 35 TFLOPS TF32 and 70 TFLOPS FP16/BF16 tensor (dense), 600 GB/s GDDR6. The A10 "
             "datasheet lists higher tensor peaks (62.5 TF32, 125 FP16) with the same bandwidth."),
        _gpu("a100", "NVIDIA A100 SXM4 80 GB", 19.5, 156.0, 312.0, 312.0, 2039.0, 0.7,
             "NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM): 19.5 TFLOPS FP32, 156 TFLOPS TF32 and "
             "312 TFLOPS FP16/BF16 tensor (dense), 2,039 GB/s HBM2e."),
        _gpu("h100", "NVIDIA H100 SXM5 80 GB", 67.0, 494.7, 989.4, 989.4, 3350.0, 0.65,
             "NVIDIA H100 Tensor Core GPU datasheet (H100 SXM): 67 TFLOPS FP32, 494.7 TFLOPS TF32 and "
             "989.4 TFLOPS FP16/BF16 tensor (dense; the sheet's 989/1,979 figures are with sparsity), "
             "3.35 TB/s HBM3."),
    )
}


# -- CPU ---------------------------------------------------------------------------------------------------
def default_cpu_profile_path() -> Path:
    """Where the measured CPU profile is cached: ``<user data dir>/neuralforge/cpu_profile.json``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / "cpu_profile.json"


def _cpu_profile(gflops: float, gbs: float, source: str, extra: Mapping[str, Any]) -> DeviceProfile:
    return DeviceProfile(
        name="cpu",
        title=f"this computer's CPU ({os.cpu_count() or 1} logical cores)",
        matmul_tflops={p: gflops / 1000.0 for p in PRECISIONS},
        vector_tflops=gflops / 1000.0,
        bandwidth_gbs=gbs,
        compute_efficiency=0.8,  # the measured rate is a large GEMM's; other kernels reach somewhat less
        memory_efficiency=1.0,  # the measured bandwidth is already what a copy achieves
        launch_overhead_us=2.0,
        source=source,
        kind="cpu",
        extra=dict(extra),
    )


def fallback_cpu_profile(reason: str) -> DeviceProfile:
    """Conservative constants used when the CPU cannot be measured; ``source`` names the reason."""
    return _cpu_profile(_FALLBACK_GFLOPS, _FALLBACK_GBS,
                        f"fallback constants ({_FALLBACK_GFLOPS:g} GFLOP/s, {_FALLBACK_GBS:g} GB/s): "
                        f"measuring this CPU failed ({reason})", {"measured": False})


def load_average() -> float | None:
    """The machine's 1-minute load average, or None where the system has none (Windows)."""
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None


def _per_cpu(load: float) -> float:
    return load / (os.cpu_count() or 1)


def measured_under_load(profile: DeviceProfile) -> bool:
    """Whether ``profile`` was measured while other work kept the machine busy (its figures may be off)."""
    if profile.calibration is not None:
        return profile.calibration.under_load
    load = profile.extra.get("load_average")
    return isinstance(load, int | float) and _per_cpu(float(load)) >= _BUSY_LOAD_PER_CPU


def machine_is_idle() -> bool:
    load = load_average()
    return load is not None and _per_cpu(load) <= _IDLE_LOAD_PER_CPU


def measured_when(profile: DeviceProfile) -> str | None:
    """When a measured profile was measured, in local time ("2026-12-02 03:50"); None for spec sheets."""
    stamp = profile.extra.get("measured_at")
    if not isinstance(stamp, int | float):
        return None
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def measure_cpu_profile(matmul_size: int = 1024, copy_mib: int = 64, repeats: int = 7) -> DeviceProfile:
    """Measure this CPU: best-of-``repeats`` float32 matmul (GFLOP/s) and array copy (GB/s, read + write).

    The best run is the one least disturbed by other work. Takes a few tenths of a second. Falls back to
    :func:`fallback_cpu_profile` when anything goes wrong.
    """
    load = load_average()  # read before measuring, so our own work does not count
    measured_at = time.time()
    try:
        import numpy as np

        n = int(matmul_size)
        rng = np.random.default_rng(0)
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        out = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=out)  # warm up the BLAS threads
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - start)
        gflops = 2.0 * n**3 / best / 1e9
        count = copy_mib * 1024 * 1024 // 4
        src = np.ones(count, dtype=np.float32)
        dst = np.empty_like(src)
        np.copyto(dst, src)
        best_copy = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            np.copyto(dst, src)
            best_copy = min(best_copy, time.perf_counter() - start)
        gbs = 2.0 * src.nbytes / best_copy / 1e9
        if not (gflops > 0 and gbs > 0) or gflops == float("inf") or gbs == float("inf"):
            raise ValueError(f"implausible measurement: {gflops} GFLOP/s, {gbs} GB/s")
    except Exception as exc:  # measuring is best effort; the estimate must still work
        return fallback_cpu_profile(f"{type(exc).__name__}: {exc}")
    load_note = "" if load is None else f", load average {load:.2f} on {os.cpu_count() or 1} cores"
    return _cpu_profile(
        gflops, gbs,
        f"measured on this machine {time.strftime('%Y-%m-%d %H:%M', time.localtime(measured_at))}{load_note}: "
        f"float32 {n}×{n} matmul {gflops:.1f} GFLOP/s, {copy_mib} MiB copy {gbs:.1f} GB/s, best of {repeats} "
        f"(numpy {np.__version__})",
        {"measured": True, "fingerprint": machine_fingerprint(), "measured_at": measured_at,
         "load_average": load, "repeats": repeats},
    )


_CPU_MEMO: dict[str, DeviceProfile] = {}
_CALIBRATED: dict[str, tuple[Calibration, DeviceProfile]] = {}


def cpu_profile(path: str | Path | None = None, *, refresh: bool = False,
                calibration_path: str | Path | None = None) -> DeviceProfile:
    """This computer's CPU: calibrated when a valid calibration is saved (see :mod:`.calibration`), else the
    quick numpy roofline of :func:`roofline_cpu_profile` (``path``, ``refresh``), which says why."""
    calibration, reason = read_calibration(calibration_path)
    if calibration is not None:
        key = str(calibration_path)
        cached = _CALIBRATED.get(key)
        if cached is None or cached[0] is not calibration:
            cached = _CALIBRATED[key] = (calibration, calibrated_cpu_profile(calibration))
        return cached[1]
    profile = roofline_cpu_profile(path, refresh=refresh)
    if profile.extra.get("uncalibrated_reason") != reason:
        profile = replace(profile, extra={**profile.extra, "uncalibrated_reason": reason})
        _CPU_MEMO[str(Path(path) if path is not None else default_cpu_profile_path())] = profile
    return profile


def calibrated_cpu_profile(calibration: Calibration) -> DeviceProfile:
    """The CPU profile of a calibration: its summary figures, and the calibration the latency model reads."""
    meta = calibration.meta
    matmul, elementwise = calibration.tables.get("matmul"), calibration.tables.get("elementwise")
    gflops = 2.0 * matmul.best_rate() / 1e9 if matmul is not None else _FALLBACK_GFLOPS  # work = MACs
    gbs = 4.0 * elementwise.best_rate() / 1e9 if elementwise is not None else _FALLBACK_GBS  # work = elements
    load = meta.get("load_average")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(calibration.measured_at or 0))
    busy = ", while other programs kept the machine busy" if calibration.under_load else ""
    load_note = f", load average {load:.2f}" if isinstance(load, int | float) else ""
    samples = sum(len(t.samples) for t in calibration.tables.values())
    source = (f"calibrated on this machine {when} with torch {meta.get('torch') or '?'} on {meta.get('threads', '?')} "
              f"threads{load_note}{busy}: {samples} ops of {len(calibration.tables)} kinds timed, best of "
              f"{meta.get('rounds', '?')} rounds")
    extra = {"measured": True, "calibrated": True, "measured_at": calibration.measured_at, "load_average": load,
             "under_load": calibration.under_load, "torch": meta.get("torch"), "threads": meta.get("threads")}
    return DeviceProfile(
        name="cpu",
        title=f"this computer's CPU ({os.cpu_count() or 1} logical cores)",
        matmul_tflops={p: gflops / 1000.0 for p in PRECISIONS},
        vector_tflops=gflops / 1000.0,
        bandwidth_gbs=gbs,
        compute_efficiency=0.8,
        memory_efficiency=1.0,
        launch_overhead_us=calibration.overhead("view") * 1e6,
        source=source,
        kind="cpu",
        extra=extra,
        calibration=calibration,
    )


def roofline_cpu_profile(path: str | Path | None = None, *, refresh: bool = False) -> DeviceProfile:
    """The quick CPU roofline: from memory, else from the JSON cache at ``path``, else measured once and cached.

    ``path`` defaults to :func:`default_cpu_profile_path`. A cache written on another machine (different
    processor or core count) is measured again, and so is one measured on a busy machine when this one is idle
    now. A fallback profile is never written to the cache.
    """
    target = Path(path) if path is not None else default_cpu_profile_path()
    key = str(target)
    if not refresh and key in _CPU_MEMO:
        return _CPU_MEMO[key]
    profile = None if refresh else _read_cached(target)
    if profile is not None and measured_under_load(profile) and machine_is_idle():
        profile = None  # its figures were taken while other work ran: the idle machine gives truer ones
    if profile is None:
        profile = measure_cpu_profile()
        if profile.extra.get("measured"):
            _write_cached(target, profile)
    _CPU_MEMO[key] = profile
    return profile


def _read_cached(path: Path) -> DeviceProfile | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != _CACHE_VERSION or data.get("fingerprint") != machine_fingerprint():
            return None
        return DeviceProfile.from_json(data["profile"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_cached(path: Path, profile: DeviceProfile) -> None:
    data = {"version": _CACHE_VERSION, "fingerprint": machine_fingerprint(), "profile": profile.to_json()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only data directory only costs a re-measurement at the next start


# -- lookup ------------------------------------------------------------------------------------------------
def device_names() -> list[str]:
    return ["cpu", *GPU_PROFILES]


def get_device(device: str | DeviceProfile, *, cpu_profile_path: str | Path | None = None,
               calibration_path: str | Path | None = None) -> DeviceProfile:
    """Profile by name (``cpu``, ``t4``, ``a10g``, ``a100``, ``h100``; case-insensitive), or ``device`` itself."""
    if isinstance(device, DeviceProfile):
        return device
    name = device.strip().lower()
    if name == "cpu":
        return cpu_profile(cpu_profile_path, calibration_path=calibration_path)
    try:
        return GPU_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown device {device!r}; expected one of {', '.join(device_names())}") from None
