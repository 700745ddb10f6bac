"""What the model registry holds, as frozen values: a registered model, its versions, the approvals and stage
transitions of a version, and references such as ``mnist``, ``mnist@3`` or ``mnist@production``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError

STAGES = ("none", "staging", "production", "archived")
PROMOTION_TARGETS = ("staging", "production", "archived")  # a version never goes back to "none"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class RegistryError(UserError):
    """A registry request that cannot be done as asked (unknown model or version, a refused promotion)."""


@dataclass(frozen=True)
class Ref:
    """A parsed reference: the model's name and either a version number, a stage, or neither (the latest)."""

    name: str
    version: int | None = None
    stage: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{self.stage}" if self.stage else self.name


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RegistryError(f"model name {name!r}: use 1–100 letters, digits, '_', '.' or '-', starting with a "
                            "letter or digit")
    return name


def parse_ref(ref: str) -> Ref:
    """``name``, ``name@3`` or ``name@production`` (any stage); anything else is refused naming the part at fault."""
    name, at, rest = ref.strip().partition("@")
    check_name(name)
    if not at:
        return Ref(name)
    if rest.isdigit() and int(rest) > 0:
        return Ref(name, version=int(rest))
    if rest in STAGES:
        return Ref(name, stage=rest)
    raise RegistryError(f"{ref!r}: after '@' give a version number (1, 2, …) or a stage ({', '.join(STAGES)})")


@dataclass(frozen=True)
class Approval:
    who: str
    when: float
    comment: str


@dataclass(frozen=True)
class Transition:
    from_stage: str | None  # None for the registration itself
    to_stage: str
    who: str
    when: float
    comment: str


@dataclass(frozen=True)
class VersionFile:
    name: str  # "model.onnx", "graph.nfg", "export-report.json", "documents/model_card.md" …
    kind: str  # "onnx" | "graph" | "export-report" | "document"
    sha256: str
    size: int
    path: Path


@dataclass(frozen=True)
class GateRecord:
    """A gate evaluation as recorded: whether every check passed, the policy and each check's result."""

    passed: bool
    policy: dict[str, Any]
    checks: list[dict[str, Any]]
    who: str
    when: float


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    run_id: str
    stage: str
    onnx_path: Path
    graph_path: Path
    input_shape: tuple[int, ...]  # the first model input's shape, without the batch
    metrics: dict[str, float]  # the run's latest metrics when it was registered
    description: str = ""
    created: float = 0.0
    created_by: str = ""
    files: tuple[VersionFile, ...] = ()
    approvals: tuple[Approval, ...] = ()
    transitions: tuple[Transition, ...] = ()
    gates: tuple[GateRecord, ...] = field(default=(), repr=False)  # newest last

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def file(self, name: str) -> VersionFile | None:
        return next((f for f in self.files if f.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "run_id": self.run_id, "stage": self.stage,
            "description": self.description, "onnx_path": str(self.onnx_path), "graph_path": str(self.graph_path),
            "input_shape": list(self.input_shape), "metrics": self.metrics, "created": self.created,
            "created_by": self.created_by,
            "files": [{"name": f.name, "kind": f.kind, "sha256": f.sha256, "size": f.size} for f in self.files],
            "approvals": [{"who": a.who, "when": a.when, "comment": a.comment} for a in self.approvals],
            "transitions": [{"from": t.from_stage, "to": t.to_stage, "who": t.who, "when": t.when,
                             "comment": t.comment} for t in self.transitions],
            "gates": [{"passed": g.passed, "who": g.who, "when": g.when, "checks": g.checks} for g in self.gates],
        }


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    tags: dict[str, str]
    created: float
    versions: tuple[ModelVersion, ...] = ()

    @property
    def production(self) -> ModelVersion | None:
        return next((v for v in self.versions if v.stage == "production"), None)

    @property
    def latest(self) -> ModelVersion | None:
        return self.versions[-1] if self.versions else None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "tags": self.tags, "created": self.created,
                "versions": [v.to_json() for v in self.versions]}
