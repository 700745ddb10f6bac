"""What an optimisation reports: the model before and after, measured the same way, side by side.

:class:`ModelFigures` holds one model's figures; :class:`OptimizeResult` the two, the runs and the files;
:func:`format_table` prints them as the before/after table the CLI shows, :meth:`OptimizeResult.to_json` as data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ModelFigures:
    """One model file measured: accuracy on the run's validation split (None when the task has no accuracy),
    bytes on disk, parameters and multiply-accumulates per example (from the graph), and the median latency of
    one example in the target runtime on this CPU."""

    file: str
    accuracy: float | None
    size_bytes: int
    params: int | None
    macs: int | None
    latency_ms: float
    examples: int = 0  # validation examples the accuracy was measured on
    latency_runs: int = 0  # timed runs behind the median

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OptimizeResult:
    parent_run: str
    run_id: str
    method: str
    runtime: str
    before: ModelFigures
    after: ModelFigures
    artifacts: dict[str, str] = field(default_factory=dict)  # artifact name in the new run → file written
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # the options the method used

    def to_json(self) -> dict[str, Any]:
        return {"parent_run": self.parent_run, "run_id": self.run_id, "method": self.method,
                "runtime": self.runtime, "before": self.before.to_json(), "after": self.after.to_json(),
                "change": changes(self.before, self.after), "artifacts": dict(self.artifacts),
                "notes": list(self.notes), "settings": dict(self.settings)}


def changes(before: ModelFigures, after: ModelFigures) -> dict[str, float | None]:
    """Accuracy in points (after − before), the other figures as ratios after / before."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or not b else round(a / b, 4)

    points = None if before.accuracy is None or after.accuracy is None else round(
        100 * (after.accuracy - before.accuracy), 2)
    return {"accuracy_points": points, "size_ratio": ratio(after.size_bytes, before.size_bytes),
            "params_ratio": ratio(after.params, before.params), "macs_ratio": ratio(after.macs, before.macs),
            "latency_ratio": ratio(after.latency_ms, before.latency_ms)}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def _bytes(value: int) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value} B"


def _count(value: int | None) -> str:
    if value is None:
        return "—"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return str(value)


def format_table(result: OptimizeResult) -> str:
    """The before/after table, one row per figure, with the change in the last column."""
    change = changes(result.before, result.after)

    def times(key: str) -> str:
        value = change[key]
        return "—" if value is None else f"×{value:.3g}"

    points = change["accuracy_points"]
    rows = [
        ("", "before", "after", "change"),
        ("validation accuracy", _percent(result.before.accuracy), _percent(result.after.accuracy),
         "—" if points is None else f"{points:+.2f} points"),
        ("size on disk", _bytes(result.before.size_bytes), _bytes(result.after.size_bytes), times("size_ratio")),
        ("parameters", _count(result.before.params), _count(result.after.params), times("params_ratio")),
        ("MACs per example", _count(result.before.macs), _count(result.after.macs), times("macs_ratio")),
        (f"latency, batch 1 ({result.runtime})", f"{result.before.latency_ms:.3f} ms",
         f"{result.after.latency_ms:.3f} ms", times("latency_ratio")),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{result.method}: run {result.parent_run} → new run {result.run_id}"]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    examples = result.after.examples
    lines.append(f"  accuracy on {examples} validation examples; latency the median of "
                 f"{result.after.latency_runs} runs on this CPU")
    lines += [f"  note: {note}" for note in result.notes]
    lines += [f"  {name}: {path}" for name, path in result.artifacts.items()]
    return "\n".join(lines)
