"""Calibrate this CPU for the latency estimate: time real torch ops of every kind (:mod:`.op_samples`) and turn
the times into a :class:`~neuralforge_desktop.core.analysis.calibration.Calibration`.

Timing runs in torch eager under ``no_grad`` with torch's default thread count, the way a built model runs.
It waits for the machine to be idle first (other programs stretch multi-threaded ops many times over), keeps
each op's best undisturbed time over several rounds, repeats rounds that other programs disturbed, and refuses
(:class:`MachineBusy`) when it never gets a quiet machine — unless told to measure anyway, in which case the
calibration is marked as measured under load and is measured again when the machine is next idle.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from neuralforge_desktop.core.analysis import latency as names
from neuralforge_desktop.core.analysis.calibration import Calibration, Sample, Table, environment_stamp
from neuralforge_desktop.core.analysis.devices import load_average
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.measure.cpu_busy import cpu_count, is_busy, wait_until_idle
from neuralforge_desktop.core.measure.op_samples import (
    HARNESS_STEPS,
    MIXED_KERNELS,
    MIXED_REPEATS,
    OpSample,
    build_samples,
)
from neuralforge_desktop.core.measure.timing import Case, Progress, time_cases


class MachineBusy(UserError):
    """Other programs kept the CPU busy, so nothing trustworthy could be measured."""


def calibrate(progress: Progress | None = None, *, wait: float = 120.0, force: bool = False, rounds: int = 8,
              cancelled: Callable[[], bool] | None = None) -> Calibration:
    """Measure this CPU (about ten seconds when idle). ``wait``: seconds to wait for other programs to leave
    the CPU; ``force``: measure even so, marking the result as measured under load."""
    import torch

    cores = cpu_count()
    if not force:
        def waiting(others: float, waited: float) -> None:
            if progress is not None:
                progress(0.0, f"waiting for the machine to be idle: other programs use {others:.1f} of {cores} "
                         f"cores ({waited:.0f} s of {wait:.0f} s)")

        others = wait_until_idle(wait, waiting)
        if is_busy(others):
            raise MachineBusy(f"other programs kept {others:.1f} of {cores} cores busy for {wait:.0f} s; nothing "
                              "was measured (busy cores stretch torch's multi-threaded ops many times over). "
                              "Calibrate when the machine is idle, or pass --force to measure anyway")
    load = load_average()
    started = time.time()
    with torch.no_grad():
        samples = build_samples(torch)
        cases = [Case(f"{i}: {s.label}", s.fn, alone=s.table.startswith("overhead:")) for i, s in enumerate(samples)]
        result = time_cases(cases, rounds=rounds, min_clean=min(3, rounds), max_rounds=rounds + 4,
                            progress=progress, cancelled=cancelled)
        threads = torch.get_num_threads()
    if result.under_load and not force:
        raise MachineBusy(f"other programs used up to {result.most_others or 0:.1f} of {cores} cores while "
                          f"measuring, in {result.busy_chunks} of {result.chunks} stretches, even after "
                          f"{result.rounds} rounds; nothing was saved. Calibrate when the machine is idle, or "
                          "pass --force to keep figures measured under load")
    cold = [result.cold[case.name] for case in cases]
    warm = [result.warm[case.name] for case in cases]
    tables, overheads = assemble(samples, cold, warm)
    meta = {**environment_stamp(), "measured_at": started, "seconds": round(time.time() - started, 2),
            "threads": threads, "load_average": load, "rounds": result.rounds, "chunks": result.chunks,
            "busy_chunks": result.busy_chunks,
            "most_other_cores": None if result.most_others is None else round(result.most_others, 3),
            "under_load": result.under_load, "cores": cores, "cache_bytes": last_level_cache(),
            "pid": os.getpid()}
    return Calibration(tables, overheads, meta)


def _line(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares slope and intercept of (x, y) points."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    return slope, mean_y - slope * mean_x


def last_level_cache() -> int | None:
    """The size of this CPU's largest cache in bytes, from Linux's sysfs (None where it cannot be read)."""
    sizes = []
    for entry in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        try:
            text = entry.read_text().strip().upper()
            scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
            sizes.append(int(text.rstrip("KMG")) * scale)
        except (OSError, ValueError):
            continue
    return max(sizes) if sizes else None


def assemble(samples: list[OpSample], cold: list[float],
             warm: list[float]) -> tuple[dict[str, Table], dict[str, float]]:
    """Tables and overheads from the samples' best times, with cold and with warm caches (derived kinds use the
    matrix-product table; the eager call overheads, small and repeated, come from the warm times)."""
    cold_of = dict(zip((id(s) for s in samples), cold, strict=True))
    warm_of = dict(zip((id(s) for s in samples), warm, strict=True))
    by_name = {s.table: warm_of[id(s)] for s in samples if s.table.startswith("overhead:")}

    def overhead(name: str) -> float:
        return by_name["overhead:" + name]

    plain = overhead(names.STEP)  # entering the model, then HARNESS_STEPS steps that call nothing
    empty = overhead(names.GRAPH)  # entering the model, no steps
    step = max(0.0, (plain - empty) / HARNESS_STEPS)
    module = max(0.0, (overhead(names.MODULE) - plain) / HARNESS_STEPS)
    overheads = {names.STEP: step, names.MODULE: module, names.GRAPH: max(0.0, empty - module),
                 names.SEQUENTIAL: max(0.0, overhead(names.SEQUENTIAL) - module), names.VIEW: overhead(names.VIEW)}
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        if not sample.table.startswith(("overhead:", "recurrent-")):  # derived below
            grouped[sample.table].append(Sample(sample.features, sample.work, cold_of[id(sample)], sample.label,
                                                warm_of[id(sample)]))
    tables = {name: Table(tuple(items)) for name, items in grouped.items()}

    from neuralforge_desktop.core.analysis.devices import fallback_cpu_profile
    from neuralforge_desktop.core.analysis.latency import CalibratedKernels

    so_far = Calibration(tables, overheads)
    predict = {True: CalibratedKernels(so_far, fallback_cpu_profile("calibrating"), warm=True),
               False: CalibratedKernels(so_far, fallback_cpu_profile("calibrating"), warm=False)}
    if "overhead:" + names.INTERLEAVED in by_name:
        parts = MIXED_REPEATS * sum(step + module + predict[True].kernel_seconds(k) for k in MIXED_KERNELS)
        mixed = overhead(names.INTERLEAVED) - empty - parts
        overheads[names.INTERLEAVED] = max(0.0, mixed / (MIXED_REPEATS * len(MIXED_KERNELS)))

    # recurrent layers: the same layer at several lengths; a straight line through (steps, time beyond the input
    # projection) gives the per-step time (its slope) and the call's fixed cost (what is left at zero steps)
    runs: dict[tuple[int, ...], list[tuple[OpSample, int, dict[bool, float]]]] = defaultdict(list)
    for sample in samples:
        if sample.table.startswith("recurrent-"):
            gates, batch, hidden, count = sample.extra
            beyond = {w: (warm_of if w else cold_of)[id(sample)] - predict[w].matmul(1, batch * count, hidden,
                                                                                      gates * hidden)
                      for w in (True, False)}
            runs[(gates, batch, hidden)].append((sample, count, beyond))
    per_steps: dict[str, list[Sample]] = defaultdict(list)
    fixed: dict[str, list[float]] = defaultdict(list)
    for points in runs.values():
        if len(points) < 2:
            continue
        sample = points[0][0]
        lines = {w: _line([(count, beyond[w]) for _, count, beyond in points]) for w in (True, False)}
        step_s = {w: max(lines[w][0], 1e-7) for w in (True, False)}
        per_steps[sample.table].append(Sample(sample.features, 1.0, step_s[False], sample.label, step_s[True]))
        fixed[sample.table].append(lines[True][1] - module)
    tables.update({name: Table(tuple(items)) for name, items in per_steps.items()})
    for name, values in fixed.items():
        overheads[names.recurrent_call(int(name.rsplit("-", 1)[1]))] = max(0.0, statistics.median(values))

    for sample in samples:
        if sample.table in ("overhead:" + names.ATTENTION_CALL, "overhead:" + names.ATTENTION_MASKED_CALL):
            batch, t, embed, heads = sample.extra
            attention = predict[True].attention_parts((batch, t, t, embed, heads, embed, embed))
            overheads[sample.table.split(":", 1)[1]] = max(0.0, warm_of[id(sample)] - module - attention)
    return tables, overheads
