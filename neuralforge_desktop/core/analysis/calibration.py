"""This machine's CPU latency calibration: measured kernels of each kind, and predictions made from them.

``neuralforge calibrate`` (or the app, in the background) times real torch ops on this machine, kind by kind
(:mod:`neuralforge_desktop.core.measure.calibrate` does the timing; this module never imports torch), and saves
them here as JSON: one :class:`Table` of samples per kind of kernel, the fixed costs of eager PyTorch (a forward
step, a module call, a view), and when, under what load, with which torch version and how many threads it was
measured. A calibration made on another processor, with another torch version or another thread setting is
*stale*: the estimate does not use it and says why.

A table predicts a kernel from the samples nearest to it (inverse-distance weighting in log₂ of the kind's
sizes, of log(seconds per unit of work)): a 3×3 convolution with 128 channels on 28×28 positions takes the
efficiency of the measured convolutions most like it, never one rate for all of them. Below the smallest
sample the prediction is that sample's time, the kind's fixed cost.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.atomic import write_text_atomic

FORMAT = "neuralforge-cpu-calibration"
VERSION = 1
FILE_NAME = "cpu_calibration.json"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what changes torch's default thread count


@dataclass(frozen=True)
class Sample:
    """One measured op: its sizes (log₂, the kind's features), its work (MACs, elements or steps), and its time
    with cold caches (among many other ops, as in a large network) and with warm ones (``warm_seconds``: among a
    few, as in a small network; the cold time when not measured)."""

    features: tuple[float, ...]
    work: float
    seconds: float
    label: str = ""
    warm_seconds: float | None = None

    def time(self, warm: bool) -> float:
        return self.warm_seconds if warm and self.warm_seconds is not None else self.seconds

    def to_json(self) -> dict[str, Any]:
        data = {"features": [round(f, 4) for f in self.features], "work": self.work, "seconds": self.seconds,
                "label": self.label}
        return data if self.warm_seconds is None else {**data, "warm_seconds": self.warm_seconds}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sample:
        features = tuple(float(f) for f in data["features"])
        work, seconds = float(data["work"]), float(data["seconds"])
        warm = float(data["warm_seconds"]) if data.get("warm_seconds") is not None else None
        if not (work > 0 and seconds > 0 and (warm is None or warm > 0) and all(math.isfinite(f) for f in features)):
            raise ValueError(f"a sample needs positive work and times, got {dict(data)!r}")
        return cls(features, work, seconds, str(data.get("label", "")), warm)


@dataclass(frozen=True)
class Table:
    """Samples of one kind of kernel; :meth:`predict` interpolates between the nearest of them."""

    samples: tuple[Sample, ...]

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("a table needs at least one sample")
        width = len(self.samples[0].features)
        if any(len(s.features) != width for s in self.samples):
            raise ValueError("every sample of a table needs the same number of features")

    def floor(self, warm: bool = False) -> float:
        """The kind's fixed cost: the fastest sample's time."""
        return min(s.time(warm) for s in self.samples)

    def predict(self, features: Sequence[float], work: float, warm: bool = False) -> float:
        """Seconds for ``work`` units at ``features`` (log₂ sizes, as the samples were recorded), with cold or
        ``warm`` caches."""
        if len(features) != len(self.samples[0].features):
            raise ValueError(f"expected {len(self.samples[0].features)} features, got {len(features)}")
        nearest = sorted(((sum((a - b) ** 2 for a, b in zip(features, s.features, strict=True)), s)
                          for s in self.samples), key=lambda item: item[0])[:len(features) + 1]
        weights = [1.0 / (distance + 1e-3) for distance, _ in nearest]
        log_rate = sum(w * math.log(s.time(warm) / s.work) for w, (_, s) in zip(weights, nearest, strict=True))
        seconds = max(work, 0.0) * math.exp(log_rate / sum(weights))
        return max(seconds, self.floor(warm))

    def best_rate(self) -> float:
        """The most work per second any sample reached, caches warm (GFLOP/s-like figures for the summary)."""
        return max(s.work / s.time(True) for s in self.samples)

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.samples]

    @classmethod
    def from_json(cls, data: Sequence[Mapping[str, Any]]) -> Table:
        return cls(tuple(Sample.from_json(item) for item in data))


@dataclass(frozen=True)
class Calibration:
    """A measured calibration: ``tables`` by kind, ``overheads`` in seconds, and ``meta`` (how it was made)."""

    tables: Mapping[str, Table]
    overheads: Mapping[str, float]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def measured_at(self) -> float | None:
        stamp = self.meta.get("measured_at")
        return float(stamp) if isinstance(stamp, int | float) else None

    @property
    def under_load(self) -> bool:
        """Whether other programs kept the machine busy while it was measured (its figures may be high)."""
        return bool(self.meta.get("under_load"))

    def overhead(self, name: str) -> float:
        return float(self.overheads.get(name, 0.0))

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **dict(self.meta),
                "overheads": dict(self.overheads),
                "tables": {name: table.to_json() for name, table in sorted(self.tables.items())}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a CPU calibration (format {data.get('format')!r})")
        if data.get("version") != VERSION:
            raise ValueError(f"calibration version {data.get('version')!r}; this NeuralForge reads {VERSION}")
        tables = {str(name): Table.from_json(items) for name, items in dict(data["tables"]).items()}
        overheads = {str(k): float(v) for k, v in dict(data["overheads"]).items()}
        if any(not (v >= 0 and math.isfinite(v)) for v in overheads.values()):
            raise ValueError("overheads must be finite and not negative")
        meta = {k: v for k, v in data.items() if k not in ("format", "version", "tables", "overheads")}
        return cls(tables, overheads, meta)


# -- what a calibration is valid for ---------------------------------------------------------------------
def machine_fingerprint() -> dict[str, Any]:
    return {"machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count() or 1,
            "system": platform.system()}


def torch_version() -> str:
    """The installed torch's version, read without importing torch ("" when torch is not installed)."""
    module = sys.modules.get("torch")
    if module is not None and isinstance(getattr(module, "__version__", None), str):
        return str(module.__version__)
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return ""


def thread_setting() -> dict[str, str | None]:
    """The environment variables that change torch's default thread count, as set now."""
    return {name: os.environ.get(name) for name in THREAD_VARIABLES}


def environment_stamp() -> dict[str, Any]:
    """What a calibration records about where it was measured (torch's thread count is added by the timer)."""
    return {"fingerprint": machine_fingerprint(), "torch": torch_version(), "thread_setting": thread_setting()}


def stale_reason(calibration: Calibration) -> str | None:
    """Why ``calibration`` does not describe this machine as it is now, or None when it does."""
    meta = calibration.meta
    if meta.get("fingerprint") != machine_fingerprint():
        return "it was measured on another processor"
    if meta.get("torch") != torch_version():
        return f"it was measured with torch {meta.get('torch') or '?'}, this is torch {torch_version() or '?'}"
    if meta.get("thread_setting") != thread_setting():
        was = ", ".join(f"{k}={v}" for k, v in dict(meta.get("thread_setting") or {}).items() if v) or "defaults"
        now = ", ".join(f"{k}={v}" for k, v in thread_setting().items() if v) or "defaults"
        return f"the thread setting changed ({was} then, {now} now)"
    return None


# -- the file --------------------------------------------------------------------------------------------
def default_calibration_path() -> Path:
    """``<user data dir>/neuralforge/cpu_calibration.json``, beside the other cached device figures."""
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / FILE_NAME


def save_calibration(calibration: Calibration, path: str | Path | None = None) -> Path:
    target = Path(path) if path is not None else default_calibration_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, json.dumps(calibration.to_json(), indent=1))
    _MEMO.pop(str(target), None)
    return target


_MEMO: dict[str, tuple[int, Calibration | None, str]] = {}


def read_calibration(path: str | Path | None = None) -> tuple[Calibration | None, str]:
    """The calibration saved at ``path`` and "" — or None and why there is none (missing, unreadable, stale).

    Re-reads the file only when it changed (a background calibration may have replaced it)."""
    target = Path(path) if path is not None else default_calibration_path()
    key = str(target)
    try:
        stamp = target.stat().st_mtime_ns
    except OSError:
        _MEMO.pop(key, None)
        return None, "not calibrated yet"
    cached = _MEMO.get(key)
    if cached is not None and cached[0] == stamp:
        calibration, reason = cached[1], cached[2]
    else:
        try:
            calibration, reason = Calibration.from_json(json.loads(target.read_text(encoding="utf-8"))), ""
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            calibration, reason = None, f"the saved calibration is unreadable ({exc})"
        _MEMO[key] = (stamp, calibration, reason)
    if calibration is not None:
        stale = stale_reason(calibration)
        if stale:
            return None, f"the saved calibration is out of date: {stale}"
    return calibration, reason


def calibration_token(path: str | Path | None = None) -> str:
    """Changes whenever the saved calibration file does (caches of CPU estimates key on it)."""
    target = Path(path) if path is not None else default_calibration_path()
    try:
        return str(target.stat().st_mtime_ns)
    except OSError:
        return "none"


def measured_when(calibration: Calibration) -> str:
    stamp = calibration.measured_at
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp is not None else "?"
