"""The report of one export: what was written, how closely it computes what torch computes, how fast it runs
here, and how long each part took. Printed by the CLI, shown by the app, and stored beside the export as an
artifact of its run (JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

REPORT_FORMAT = "neuralforge-export-report/1"


@dataclass
class ExportReport:
    format: str  # "onnx"
    title: str  # "ONNX"
    precision: str
    output: str  # where the export now is
    size_bytes: int
    graph: str  # the graph's name
    source: dict[str, Any]  # where the weights came from (WeightsSource.to_json)
    verification: str  # "parity" (run and compared), "structure" (checked, cannot run here), "skipped"
    parity: list[dict[str, Any]] = field(default_factory=list)  # one per input set (verify.Parity)
    tolerance: dict[str, float] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)  # a structural check's facts (names, shapes, ops)
    latency: list[dict[str, Any]] = field(default_factory=list)  # per batch: export_ms, torch_ms, ratio, runs
    seconds: dict[str, float] = field(default_factory=dict)  # prepare, convert, verify, latency, total
    facts: dict[str, Any] = field(default_factory=dict)  # what the conversion decided (route, opset, axes)
    notes: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)  # names under which the run keeps it
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.verification != "skipped"

    def to_json(self) -> dict[str, Any]:
        return {"report": REPORT_FORMAT, **asdict(self), "verified": self.verified}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportReport:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def parity_text(self) -> str:
        if self.verification == "skipped":
            return "not verified"
        if self.verification == "structure":
            return "structure checked (it cannot run here)"
        worst = max(self.parity, key=lambda p: p["max_abs"], default=None)
        if worst is None:
            return "verified"
        top1 = [p["top1"] for p in self.parity if p.get("top1") is not None]
        text = f"max |Δ| {worst['max_abs']:.2g}, mean |Δ| {max(p['mean_abs'] for p in self.parity):.2g}"
        return text + (f", top-1 {min(top1):.2%}" if top1 else "")

    def latency_text(self) -> str:
        return "; ".join(f"batch {m['batch']}: {m['export_ms']:.3g} ms vs torch {m['torch_ms']:.3g} ms "
                         f"({m['ratio']:.2f}×)" for m in self.latency if m.get("ratio") is not None)


def size_text(size: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def summary_line(data: dict[str, Any]) -> str:
    """One line for a stored report (``runs show``): format, precision, size, parity."""
    report = ExportReport.from_json(data)
    return (f"{report.title} {report.precision}, {size_text(report.size_bytes)}, {report.parity_text()}"
            + (f"; {report.latency_text()}" if report.latency else ""))
