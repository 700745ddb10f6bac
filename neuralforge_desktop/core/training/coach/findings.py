"""What the Coach reports: a finding of one known kind, with the evidence behind it and, where one exists, a
fix the user can apply in one step. Plain data: it travels as JSON in ``coach`` events and ``coach --json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "lr_too_high", "lr_too_low", "loss_nan", "vanishing_gradients", "exploding_gradients", "dead_relu",
    "saturated_activations", "overfitting", "underfitting", "unnormalized_inputs", "class_imbalance",
    "softmax_before_cross_entropy", "data_leakage", "batchnorm_small_batch", "wrong_loss_for_task", "plateau",
)
SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Fix:
    """One click that addresses a finding: a graph edit (``kind="graph"``) or a change of training settings
    (``kind="config"``). ``action`` names what :mod:`.fixes` does; ``args`` are its arguments (a node id, a
    layer type, the new settings as ``TrainConfig`` field → value); ``label`` is the button's text."""

    kind: str  # graph | config
    action: str
    label: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "action": self.action, "label": self.label, "args": dict(self.args)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fix:
        return cls(kind=str(data["kind"]), action=str(data["action"]), label=str(data.get("label", "")),
                   args=dict(data.get("args") or {}))


@dataclass(frozen=True)
class Finding:
    """``evidence`` holds what a user needs to believe the finding: ``numbers`` (name → value), ``layer`` (a
    node path or None), ``steps`` ([first, last] training steps it covers), and ``series`` (name → list of
    [step, value] pairs) for the small plot beside it."""

    kind: str
    severity: str
    title: str
    explanation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: Fix | None = None
    step: int | None = None  # the training step at which it was found (None: before training)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: not a Coach finding kind: {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity: one of {', '.join(SEVERITIES)}, got {self.severity!r}")

    @property
    def key(self) -> tuple[str, str | None]:
        """What makes two findings the same one (reported once while a run goes on)."""
        return self.kind, self.evidence.get("layer")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "title": self.title,
                "explanation": self.explanation, "evidence": self.evidence,
                "fix": self.fix.to_json() if self.fix else None, "step": self.step}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        fix = data.get("fix")
        return cls(kind=str(data["kind"]), severity=str(data["severity"]), title=str(data.get("title", "")),
                   explanation=str(data.get("explanation", "")), evidence=dict(data.get("evidence") or {}),
                   fix=Fix.from_json(fix) if fix else None, step=data.get("step"))
