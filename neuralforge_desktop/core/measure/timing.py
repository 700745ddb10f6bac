"""Timing many short ops robustly, in the context a network runs them in, on a machine others share.

An op timed alone in a tight loop runs faster than the same op inside a network: there, the op before it was a
different one, so the caches hold other data, the worker threads come from other work and the allocator hands
out other memory. How much faster depends on the network: a small one keeps all its weights and activations
in the caches, a large one streams them from memory. So every case is timed twice, *interleaved* with other
cases, one call at a time:

* **warm**: in small groups of different cases of about the same size (eight, like the layers of a small
  network), so a group of small ones keeps its data in the caches; a case that is a whole small network
  itself (``alone``) is repeated on its own, as such a network runs again and again;
* **cold**: among all the cases at once, whose data is far larger than any cache, like a large network.

A round makes several passes over the groups (warm), then over all the cases (cold), in a shuffled order, every
call timed on its own; the round's figure for a case is the lower quartile of its calls. Several rounds follow, and each
case keeps its best (lowest) round. Passes are grouped into chunks of about a tenth of a second, and a
:class:`~.cpu_busy.CpuMeter` says whether other programs used the CPU during each chunk: only calls in
undisturbed chunks count. Cases without enough undisturbed rounds get more rounds, up to a limit, after which
the result says it was measured under load.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from neuralforge_desktop.core.measure.cpu_busy import CpuMeter, is_busy

Progress = Callable[[float, str], None]  # (fraction done, what is being measured)
GROUP = 8  # cases per warm group
WARM, COLD = 0, 1


@dataclass
class Case:
    """One op to time: ``fn`` runs it once. Per phase (warm, cold): round figures, undisturbed or not."""

    name: str
    fn: Callable[[], object]
    alone: bool = False  # warm phase: repeated on its own (a whole small network, run again and again)
    clean: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    busy: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))

    def best(self, phase: int) -> float:
        values = self.clean[phase] or self.busy[phase]
        return min(values) if values else float("nan")

    def settled(self, min_clean: int) -> bool:
        return all(len(values) >= min_clean for values in self.clean)


@dataclass
class TimingResult:
    cold: dict[str, float]  # best time per call among all the cases, by case name
    warm: dict[str, float]  # best time per call within a small group
    rounds: int
    busy_chunks: int
    chunks: int
    most_others: float | None  # the most cores other programs used during a chunk
    under_load: bool  # some case never got enough undisturbed rounds


def _warm_up(case: Case) -> float:
    """Run the case three times; the last call's time."""
    case.fn()
    case.fn()
    start = time.perf_counter()
    case.fn()
    return time.perf_counter() - start


@dataclass
class _Meter:
    """Chunks of passes, and what other programs did during each."""

    target: float
    busy_chunks: int = 0
    chunks: int = 0
    most: float | None = None
    meter: CpuMeter = field(default_factory=lambda: CpuMeter().start())

    def due(self) -> bool:
        return self.meter.elapsed() >= self.target

    def close(self) -> bool:
        """End the chunk; whether other programs disturbed it."""
        others = self.meter.others()
        self.most = others if self.most is None or (others is not None and others > self.most) else self.most
        disturbed = is_busy(others)
        self.busy_chunks += disturbed
        self.chunks += 1
        self.meter = CpuMeter().start()
        return disturbed


def _run_phase(groups: list[list[Case]], passes: int, phase: int, meter: _Meter, shuffle: Callable[[list], None],
               cancelled: Callable[[], bool] | None, report: Callable[[float, bool], None]) -> None:
    clean: dict[int, list[float]] = {}
    disturbed_calls: dict[int, list[float]] = {}
    chunk: list[tuple[Case, float]] = []
    steps = len(groups) * passes
    for g, group in enumerate(groups):
        for pass_number in range(passes):
            order = list(group)
            shuffle(order)
            for case in order:
                if cancelled is not None and cancelled():
                    raise InterruptedError("timing was cancelled")
                start = time.perf_counter()
                case.fn()
                chunk.append((case, time.perf_counter() - start))
            last = g == len(groups) - 1 and pass_number == passes - 1
            if meter.due() or last:
                disturbed = meter.close()
                for measured, seconds in chunk:
                    (disturbed_calls if disturbed else clean).setdefault(id(measured), []).append(seconds)
                chunk = []
                report((g * passes + pass_number + 1) / steps, disturbed)
    for group in groups:
        for case in group:
            calls = clean.get(id(case), [])
            if len(calls) >= max(3, passes // 2):
                case.clean[phase].append(lower_quartile(calls))
            else:
                case.busy[phase].append(lower_quartile(calls + disturbed_calls.get(id(case), [])))


def lower_quartile(values: list[float]) -> float:
    """The round's figure for a case: the lower quartile of its calls. Small ops run in a fast and a slow mode
    (torch's worker threads still spinning from the op before, or asleep and woken by a 50 µs system call), and
    which mode a call meets changes from round to round; within a network one op follows the other, so the
    threads spin and the fast mode is the one a network meets. The median flips between the modes from one
    calibration to the next; the lower quartile stays with the fast one."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 4]


def time_cases(cases: list[Case], *, rounds: int = 5, min_clean: int = 3, max_rounds: int = 12,
               round_target: float = 0.5, chunk_target: float = 0.1, progress: Progress | None = None,
               cancelled: Callable[[], bool] | None = None) -> TimingResult:
    """Time ``cases`` (see the module docstring); ``progress`` hears how far it got."""
    sizes: dict[int, float] = {}
    for i, case in enumerate(cases):
        if progress is not None:
            progress(0.1 * i / max(1, len(cases)), f"warming up {case.name}")
        sizes[id(case)] = _warm_up(case)
    one_pass = sum(sizes.values())
    passes = max(5, min(40, int(round_target / max(one_pass, 1e-6))))
    rng = random.Random(0)
    meter = _Meter(chunk_target)
    done = 0
    while done < max_rounds:
        todo = [c for c in cases if done < rounds or not c.settled(min_clean)]
        if not todo:
            break
        mixed = list(todo)
        rng.shuffle(mixed)
        by_size = sorted((c for c in todo if not c.alone), key=lambda c: sizes[id(c)])
        groups = [by_size[i:i + GROUP] for i in range(0, len(by_size), GROUP)]  # cases of about the same size
        groups += [[c] for c in todo if c.alone]
        for phase, phase_groups in ((WARM, groups), (COLD, [mixed])):
            def report(fraction: float, disturbed: bool, phase: int = phase, done: int = done) -> None:
                if progress is not None:
                    progress(0.1 + 0.9 * min(1.0, (done + (phase + fraction) / 2) / rounds),
                             f"round {done + 1}, {'warm' if phase == WARM else 'cold'} caches"
                             + (" (machine busy: repeating)" if disturbed else ""))

            _run_phase(phase_groups, passes, phase, meter, rng.shuffle, cancelled, report)
        done += 1
    return TimingResult({c.name: c.best(COLD) for c in cases}, {c.name: c.best(WARM) for c in cases}, done,
                        meter.busy_chunks, meter.chunks, meter.most, any(not c.settled(min_clean) for c in cases))
