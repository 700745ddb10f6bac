"""How much of the CPU other programs use while we time something.

Timing on a shared machine is only meaningful when nothing else runs: torch splits an op over its threads and
waits for the slowest, so one other busy process on a 2-core machine can stretch a 5 µs op to a scheduler tick
(4-8 ms) — seen here, repeatedly. :class:`CpuMeter` counts the CPU time other processes used between
:meth:`~CpuMeter.start` and :meth:`~CpuMeter.others`, from ``/proc/stat`` (all CPUs, including time the hypervisor
gave to other machines) minus this process's own time (``/proc/self/stat``, all its threads). Where ``/proc`` is
missing (macOS, Windows) it falls back to the load average, or says it cannot tell.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

BUSY_CORES = 0.25  # other programs using this many cores (on average) make a timing round untrustworthy


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _system_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot, or None without ``/proc/stat``."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    total = sum(values)
    return total - idle, total


def _own_ticks() -> int | None:
    """Clock ticks this process (all its threads) has run, user + system."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (name) ": state is field 3 of stat(5)
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


@dataclass
class CpuMeter:
    """Other programs' CPU use over an interval, in cores (0.0 idle … the core count)."""

    _start: tuple[int, int, int] | None = None
    _started_at: float = 0.0

    def start(self) -> CpuMeter:
        system, own = _system_ticks(), _own_ticks()
        self._start = (system[0], system[1], own) if system is not None and own is not None else None
        self._started_at = time.monotonic()
        return self

    def others(self) -> float | None:
        """Cores other programs used on average since :meth:`start`; None when this system cannot tell."""
        if self._start is None:
            return _load_fallback()
        system, own = _system_ticks(), _own_ticks()
        if system is None or own is None:
            return _load_fallback()
        busy, total = system[0] - self._start[0], system[1] - self._start[1]
        if total <= 0:
            return 0.0
        others = max(0, busy - (own - self._start[2]))
        return cpu_count() * others / total

    def elapsed(self) -> float:
        return time.monotonic() - self._started_at


def _load_fallback() -> float | None:
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None


def others_now(seconds: float = 1.0) -> float | None:
    """Cores other programs use, measured over ``seconds`` of sleeping."""
    meter = CpuMeter().start()
    time.sleep(seconds)
    return meter.others()


def is_busy(others: float | None) -> bool:
    return others is not None and others >= BUSY_CORES


def wait_until_idle(timeout: float, on_busy: Callable[[float, float], None] | None = None,
                    probe: float = 1.0) -> float | None:
    """Wait (up to ``timeout`` seconds) until other programs leave the CPU; return their last use in cores.

    ``on_busy(cores, waited)`` is called after each busy probe. Returns as soon as a probe is idle; after the
    timeout returns the busy figure, which the caller refuses or accepts."""
    waited = 0.0
    while True:
        others = others_now(probe)
        waited += probe
        if not is_busy(others) or waited >= timeout:
            return others
        if on_busy is not None:
            on_busy(others or 0.0, waited)
