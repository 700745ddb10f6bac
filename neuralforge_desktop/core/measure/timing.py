"""Timing many short ops robustly on a machine that other programs share.

Every case is warmed up, then timed in several *rounds*: a round runs every case once, each case repeated
enough times to take a few milliseconds (the round's figure is the median of those runs, so one run that a
thread wake-up stretched to a scheduler tick does not count), cases interleaved so a disturbance hits different
cases in different rounds. Rounds are split into chunks of about a tenth of a second, and a
:class:`~.cpu_busy.CpuMeter` says whether other programs used the CPU during each chunk: only undisturbed
measurements count. Each case keeps its best (lowest) undisturbed time; cases without enough undisturbed rounds
get more rounds, up to a limit, after which the result says it was measured under load.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from neuralforge_desktop.core.measure.cpu_busy import CpuMeter, is_busy

Progress = Callable[[float, str], None]  # (fraction done, what is being measured)


@dataclass
class Case:
    """One op to time: ``fn`` runs it once."""

    name: str
    fn: Callable[[], object]
    reps: int = 1
    clean: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        values = self.clean or self.busy
        return min(values) if values else float("nan")


@dataclass
class TimingResult:
    seconds: dict[str, float]  # best time per call, by case name
    rounds: int
    busy_chunks: int
    chunks: int
    most_others: float | None  # the most cores other programs used during a chunk
    under_load: bool  # some case never got enough undisturbed rounds


def _warm_up(case: Case, round_target: float) -> None:
    case.fn()
    case.fn()
    start = time.perf_counter()
    case.fn()
    one = max(time.perf_counter() - start, 1e-7)
    case.reps = max(1, min(2000, int(round_target / one)))


def time_cases(cases: list[Case], *, rounds: int = 5, min_clean: int = 3, max_rounds: int = 12,
               round_target: float = 0.004, chunk_target: float = 0.1, progress: Progress | None = None,
               cancelled: Callable[[], bool] | None = None) -> TimingResult:
    """Time ``cases`` (see the module docstring); ``progress`` hears how far it got."""
    for i, case in enumerate(cases):
        if progress is not None:
            progress(0.2 * i / max(1, len(cases)), f"warming up {case.name}")
        _warm_up(case, round_target)
    busy_chunks = chunks = 0
    most: float | None = None
    done = 0
    while done < max_rounds:
        todo = [c for c in cases if done < rounds or len(c.clean) < min_clean]
        if not todo:
            break
        chunk: list[tuple[Case, float]] = []
        meter = CpuMeter().start()
        for j, case in enumerate(todo):
            if cancelled is not None and cancelled():
                raise InterruptedError("timing was cancelled")
            runs = []
            give_up = time.perf_counter() + 4 * round_target  # stalls on a busy machine must not stretch a round
            for _ in range(case.reps):
                start = time.perf_counter()
                case.fn()
                runs.append(time.perf_counter() - start)
                if start > give_up and len(runs) >= 5:
                    break
            chunk.append((case, statistics.median(runs)))
            if meter.elapsed() >= chunk_target or j == len(todo) - 1:
                others = meter.others()
                most = others if most is None or (others is not None and others > most) else most
                disturbed = is_busy(others)
                busy_chunks += disturbed
                chunks += 1
                for measured, seconds in chunk:
                    (measured.busy if disturbed else measured.clean).append(seconds)
                chunk = []
                meter = CpuMeter().start()
                if progress is not None:
                    progress(0.2 + 0.8 * min(1.0, (done + (j + 1) / len(todo)) / rounds),
                             f"round {done + 1}: {case.name}" + (" (machine busy: repeating)" if disturbed else ""))
        done += 1
    return TimingResult({c.name: c.best for c in cases}, done, busy_chunks, chunks, most,
                        any(len(c.clean) < min_clean for c in cases))
