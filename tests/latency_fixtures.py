"""A made-up but self-consistent CPU calibration, for tests that need one without timing anything.

Every kind gets samples from simple laws (a fixed cost plus work at a rate), so a test can work out what the
latency model must predict: 1 GFLOP of matrix work per 10 ms, 1 µs per forward step, and so on."""

from __future__ import annotations

import math
import time
from typing import Any

from neuralforge_desktop.core.analysis import latency as names
from neuralforge_desktop.core.analysis.calibration import Calibration, Sample, Table, environment_stamp
from neuralforge_desktop.core.catalog.kernels import KernelKind

MAC_RATE = 5e10  # MACs per second (100 GFLOP/s)
ELEMENT_RATE = 1e9  # elements read and written per second
FIXED = 2e-6  # every kernel's fixed cost, seconds
STEP_SECONDS = {1: 5e-6, 3: 12e-6, 4: 15e-6}  # one recurrent step, by gate count (batch 1, any size)
OVERHEADS = {names.STEP: 1e-6, names.MODULE: 1.5e-6, names.GRAPH: 2e-6, names.SEQUENTIAL: 1e-6, names.VIEW: 1e-6,
             names.INTERLEAVED: 0.5e-6, names.ATTENTION_CALL: 10e-6, names.recurrent_call(1): 15e-6,
             names.recurrent_call(3): 20e-6, names.recurrent_call(4): 25e-6}


def _lg(*values: float) -> tuple[float, ...]:
    return tuple(math.log2(v) for v in values)


def _compute(features_work: list[tuple[tuple[float, ...], float]]) -> Table:
    return Table(tuple(Sample(f, w, FIXED + w / MAC_RATE) for f, w in features_work))


def _memory(sizes: tuple[int, ...] = (1 << 10, 1 << 16, 1 << 22)) -> Table:
    return Table(tuple(Sample(_lg(n), n, FIXED + n / ELEMENT_RATE) for n in sizes))


def make_calibration(**meta: Any) -> Calibration:
    tables = {
        KernelKind.MATMUL: _compute([(_lg(m, k, n), m * k * n) for m in (1, 128) for k, n in ((16, 16), (1024, 1024))]),
        "bmm": _compute([(_lg(b, 64, 64, 64), b * 64 ** 3) for b in (1, 16)]),
        "sdpa": _compute([(_lg(h, t, t, 64), 2 * h * t * t * 64) for h, t in ((2, 16), (12, 256))]),
        KernelKind.CONV: _compute([(_lg(9, c, c, p), 9 * c * c * p) for c, p in ((16, 64), (256, 3136))]),
        "conv-depthwise": _compute([(_lg(9, c, p), 9 * c * p) for c, p in ((16, 64), (256, 3136))]),
        KernelKind.CONV_TRANSPOSE: _compute([(_lg(4, c, c, p), 4 * c * c * p) for c, p in ((16, 64), (256, 3136))]),
        KernelKind.POOL: Table(tuple(Sample(_lg(n, 4), n, FIXED + n / ELEMENT_RATE) for n in (1 << 10, 1 << 22))),
        **{kind: _memory() for kind in (KernelKind.ELEMENTWISE, KernelKind.ELEMENTWISE_MATH, KernelKind.NORM_AFFINE,
                                        KernelKind.NORM_STATS, KernelKind.REDUCE, KernelKind.GATHER,
                                        KernelKind.COPY)},
        **{f"recurrent-{gates}": Table(tuple(Sample(_lg(1, h), 1.0, seconds) for h in (16, 512)))
           for gates, seconds in STEP_SECONDS.items()},
    }
    stamp = {**environment_stamp(), "measured_at": time.time(), "threads": 2, "load_average": 0.1, "rounds": 5,
             "under_load": False, "seconds": 9.0}
    return Calibration(tables, dict(OVERHEADS), {**stamp, **meta})
