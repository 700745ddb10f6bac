"""What one Coach evaluation gives: the findings, and the rules that could not run, each with the reason (no
diagnostics, no validation split …), so a silent Coach is never mistaken for a healthy run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.training.coach.findings import SEVERITIES, Finding


@dataclass(frozen=True)
class NotApplied:
    kind: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "reason": self.reason}


@dataclass
class CoachReport:
    findings: list[Finding] = field(default_factory=list)
    not_applied: list[NotApplied] = field(default_factory=list)

    @property
    def worst(self) -> str | None:
        """The highest severity among the findings (None when there are none)."""
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=SEVERITIES.index)

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def to_json(self) -> dict[str, Any]:
        return {"findings": [f.to_json() for f in self.findings],
                "not_applied": [n.to_json() for n in self.not_applied]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CoachReport:
        return cls([Finding.from_json(f) for f in data.get("findings") or []],
                   [NotApplied(str(n["kind"]), str(n["reason"])) for n in data.get("not_applied") or []])
